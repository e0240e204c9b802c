"""Extractive answers: pick the sentence and clause that state the fact asked for, cite it verbatim."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.query import ROLES, Intent
from vectorstore.types import Chunk

MAX_ANSWER_CHARS = 120
_SENTENCE = re.compile(r"[^。!?;!?;]+(?:[。!?;!?;]+[”」』]?|$)")
_CLAUSE_BREAK = set(",,;;::")
_OPEN, _CLOSE = "“‘《(「『【(", "”’》)」』】)"
_NUM = re.compile(r"\d+(?:\.\d+)?(?:多|余)?(?:万|亿)?(?:多|余)?|[一二三四五六七八九十两百千]+(?:多|余)?(?:万|亿)?")
_NUM_UNIT = r"(?:\d+(?:\.\d+)?|[一二三四五六七八九十两百千]+)(?:多|余)?(?:万|亿)?(?:多|余)?\s*{unit}"
_DIGIT_UNIT = r"\d+(?:\.\d+)?(?:多|余)?(?:万|亿)?(?:多|余)?\s*{unit}"
_DOCUMENT_Q = re.compile(r"文件|规定|办法|决定|通知|条例|制度|报告")
_DATE = re.compile(r"\d{1,2}月\d{1,2}日")
_NAME = r"([\u4e00-\u9fa5]{2,3}?)(?=受|向|在|作|主持|代表|表示|指出|说|肯定|强调|出席|讲话|带队|率|等|,|,|。|$)"
_LIST_ITEMS = re.compile(r"[^、,,“”()()]{2,12}(?:、[^、,,“”()()]{2,12}){2,}")


@dataclass(frozen=True)
class Span:
    """A candidate answer: a clause window inside one sentence of one chunk."""

    chunk: Chunk
    rank: int  # retrieval rank of the chunk, 1-based
    sentence: str
    text: str  # the clause window, verbatim
    score: float
    coverage: float  # share of the question's topic weight found in the sentence
    chunk_coverage: float
    typed: bool  # carries the kind of fact asked for (a number with the right unit, a name, a date, a list)
    anchored: bool = True  # one of the question's two most specific words is in the sentence or its paragraph
    unit_match: bool = False  # a figure in digits with the unit asked for


def sentences(text: str) -> list[str]:
    return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def verbatim_quote(chunk: Chunk, sentence: str, window: str) -> str:
    """The sentence, cut at a repaired backwards column break so that the quote is contiguous in the file."""
    start = chunk.text.find(sentence)
    cuts = [int(b) - start for b in chunk.breaks.split(",") if b] if start >= 0 else []
    cuts = [c for c in cuts if 0 < c < len(sentence)]
    if not cuts:
        return sentence.strip()
    pieces, last = [], 0
    for c in [*cuts, len(sentence)]:
        pieces.append(sentence[last:c])
        last = c
    at = sentence.find(window)
    if at < 0:
        return max(pieces, key=len).strip()
    # The piece holding most of the answer.
    def overlap(i: int) -> int:
        a = sum(len(p) for p in pieces[:i])
        return max(0, min(a + len(pieces[i]), at + len(window)) - max(a, at))
    return pieces[max(range(len(pieces)), key=overlap)].strip()


def clauses(sentence: str) -> list[str]:
    """Split at commas, semicolons and colons that are not inside quotes or brackets."""
    out, depth, cur = [], 0, ""
    for ch in sentence:
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        cur += ch
        if depth == 0 and ch in _CLAUSE_BREAK:
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


def _weight(token: str, idf: dict[str, float]) -> float:
    return idf.get(token, 3.0 if len(token) > 1 else 1.0)


def coverage(tokens: Sequence[str], text: str, idf: dict[str, float]) -> float:
    if not tokens:
        return 0.0
    total = sum(_weight(t, idf) for t in tokens)
    got = sum(_weight(t, idf) for t in tokens if t in text)
    return got / total if total else 0.0


def typed_score(intent: Intent, text: str) -> float:
    """How well the text carries the kind of fact asked for: 1 for a figure in digits with the
    asked unit, less for a figure in Chinese numerals ("两个分站") or without the unit."""
    if intent.kind not in ("number", "comparison"):
        return 1.0 if typed_match(intent, text) else 0.0
    unit = re.escape(intent.unit) if intent.unit else ""
    if unit and re.search(_DIGIT_UNIT.format(unit=unit), text):
        return 1.0
    if unit and _counts(text, intent.unit):
        return 0.5
    if re.search(r"\d", text):
        return 0.6 if not unit else 0.3
    return 0.3 if _NUM.search(text) else 0.0


def _counts(text: str, unit: str) -> list[str]:
    """Figures with the unit, leaving out ordinals ("第六次", "十六届人大五次会议")."""
    pattern = _NUM_UNIT.format(unit=re.escape(unit)) if unit else _NUM.pattern
    out = []
    for m in re.finditer(pattern, text):
        before, after = text[max(0, m.start() - 1) : m.start()], text[m.end() : m.end() + 2]
        if before == "第" or after.startswith(("会议", "全会", "会")) or text[m.end() - 1 : m.end() + 1] == "届":
            continue
        out.append(m.group(0))
    return out


def typed_match(intent: Intent, text: str) -> bool:
    """Does the text carry the kind of fact the question wants?"""
    kind = intent.kind
    if kind in ("number", "comparison"):
        return bool(_counts(text, intent.unit))
    if kind == "date":
        return _DATE.search(text) is not None
    if kind == "person":
        return re.search(f"{_role_pattern(intent)}{_NAME}", text) is not None
    if kind == "name":
        if _DOCUMENT_Q.search(intent.text):
            return re.search(r"《[^》]{2,60}》", text) is not None
        return re.search(r"《[^》]{2,60}》|“[^”]{2,40}”", text) is not None
    if kind == "list":
        return _LIST_ITEMS.search(text) is not None or len(re.findall(r"《[^》]{2,60}》", text)) >= 2
    return True


def _strip_end(text: str) -> str:
    return re.sub(r"[,,;;::、。 ]+$", "", text)


def best_window(intent: Intent, sentence: str, idf: dict[str, float]) -> str:
    """The shortest run of clauses holding the typed fact and the most topic words."""
    parts = clauses(sentence)
    if len(sentence) <= 40 or len(parts) == 1:
        return sentence
    tokens = (*intent.topic, *intent.context[:2], intent.person) if intent.person else (*intent.topic, *intent.context[:2])
    best, best_score = sentence, -1.0
    for i in range(len(parts)):
        for j in range(i, min(len(parts), i + 3)):
            window = "".join(parts[i : j + 1])
            score = coverage(tokens, window, idf) + 0.6 * typed_score(intent, window)
            score -= 0.04 * (j - i)  # prefer fewer clauses
            if score > best_score + 1e-9:
                best, best_score = window, score
    # Two neighbouring clauses that state parallel facts ("街道…14个,社区…67个") belong together.
    return best


def candidates(intent: Intent, chunks: Sequence[Chunk], idf: dict[str, float],
               absent: frozenset[str] = frozenset()) -> list[Span]:
    """Every sentence of the retrieved chunks as a scored answer candidate, best first.

    `absent`: question words found nowhere in the index; they cannot tell passages apart.
    """
    tokens = [*intent.topic]
    context = [*intent.context]
    if intent.person:
        tokens.append(intent.person)
    spans = []
    specific = sorted((t for t in intent.topic if len(t) > 1 and t not in absent), key=lambda t: -_weight(t, idf))[:2]
    for rank, chunk in enumerate(chunks, 1):
        full = " ".join((chunk.section, chunk.title, chunk.text))
        chunk_cov = coverage(tokens, full, idf)
        ctx_cov = coverage(context, full, idf) if context else 0.0
        for sent in sentences(chunk.text):
            cov = coverage(tokens, sent, idf)
            window = best_window(intent, sent, idf)
            typed = typed_match(intent, window)
            score = (1.0 * cov + 0.35 * chunk_cov + 0.25 * ctx_cov
                     + 0.5 * typed_score(intent, window)
                     + 0.25 / rank)
            if intent.body and chunk.body:
                score += 0.15 if chunk.body == intent.body else -0.25
            if intent.year and chunk.year and chunk.year != intent.year:
                score -= 0.1
            if intent.kind == "person" and intent.role and intent.role in sent:
                score += 0.3
            anchored = not specific or any(t in sent or t in chunk.text for t in specific)
            unit_match = bool(intent.unit) and re.search(_DIGIT_UNIT.format(unit=re.escape(intent.unit)), window) is not None
            spans.append(Span(chunk, rank, sent, _strip_end(window), score, cov, chunk_cov, typed, anchored, unit_match))
    spans.sort(key=lambda s: -s.score)
    return spans


def answerable(intent: Intent, span: Span) -> bool:
    """Refuse when the best evidence does not state the fact asked for."""
    if intent.kind in ("person", "date") and not span.typed:
        return False
    if intent.kind == "person" and intent.role and intent.role not in span.sentence:
        return False
    if not intent.topic:
        return span.typed
    strongest = max(span.coverage, span.chunk_coverage * 0.85)
    if intent.kind == "number":
        if not span.anchored:
            return False
        if not span.typed:
            return strongest >= 0.75
        if span.unit_match and span.rank == 1 and strongest >= 0.2:
            return True  # a paraphrase: the top passage states a figure with the very unit asked for
    if intent.kind == "comparison" and span.typed and strongest >= 0.25:
        return True  # each side of a comparison shares only part of the question's words
    return strongest >= 0.45 or (span.typed and strongest >= 0.3)


def _role_pattern(intent: Intent) -> str:
    """A 主席 question is not answered by a 副主席."""
    if not intent.role:
        return "(?:" + "|".join(ROLES) + ")"
    return ("" if intent.role.startswith("副") else "(?<!副)") + re.escape(intent.role)


def person_in(intent: Intent, sentence: str) -> str:
    m = re.search(f"{_role_pattern(intent)}{_NAME}", sentence)
    return m.group(1) if m else ""
