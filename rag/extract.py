"""The candidates stage: every sentence of the retrieved passages as an answer candidate (`Span`) with the
features the fitted ranker scores it by (`FEATURES`, rag.ranker), and the checks no score overrules (`decided`).

Inside a sentence, the value that answers and the clause window around it are rag.window's; how much of the
question a text holds is rag.matching's; the asked thing is read from the question by rag.query.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from rag.matching import FUNCTION_CHARS, content_chars, coverage, whole_words, word_weight
from rag.people import names_in
from rag.query import Intent, asked_head, asked_object, unmatched_words
from rag.ranker import model
from rag.values import Value
from rag.window import TITLE_WORD_SHARE, pick_value, strip_end, values, window_for
from vectorstore.places import stem
from vectorstore.script import simplified
from vectorstore.sentences import sentences
from vectorstore.types import Chunk, Hit

MAX_ANSWER_CHARS = 160  # a sentence longer than this is cut to its clause window: a paragraph's worth is no answer
LEAD_SHARE = 0.9  # a sentence naming the thing asked, after a semicolon, shares the subject of the clauses before it
# ("今年一季度,全县生猪出栏12万头;平均收购价为每公斤14元")


@dataclass(frozen=True)
class Span:
    """A candidate answer: a clause window inside one sentence of one chunk."""

    chunk: Chunk
    rank: int  # retrieval rank of the chunk, 1-based
    sentence: str
    text: str  # the clause window, verbatim
    score: float
    coverage: float  # share of the question's word weight found in the sentence
    chunk_coverage: float
    typed: float  # 0..1: how well the best value in the window fits the wanted type
    value: Value | None = None
    anchored: bool = True  # one of the question's two most specific words is in the sentence or its paragraph
    place_ok: bool = True  # the paragraph is about, or names, the question's place
    year_ok: bool = True  # the sentence does not date itself to years other than the one asked
    # share of the question's word weight in the whole article, counted when the sentence names the thing a figure
    # is asked of and carries the figure ("救护车4辆" of an article whose other paragraphs name the accident); else 0
    article_coverage: float = 0.0
    features: Mapping[str, float] = field(default_factory=dict, compare=False, repr=False)


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

    def overlap(i: int) -> int:
        a = sum(len(p) for p in pieces[:i])
        return max(0, min(a + len(pieces[i]), at + len(window)) - max(a, at))

    return pieces[max(range(len(pieces)), key=overlap)].strip()


def _other_years(sentence: str, year: int) -> bool:
    """The sentence dates itself, and not to the year asked ("2025年,全县将…" for a question about 2024); a year it
    compares with ("比2023年的…", "较2023年") does not date it."""
    named = {int(y) for y in re.findall(r"(?<![比较与和同])((?:19|20)\d\d)年", sentence)}
    return bool(named) and year not in named


def place_fits(intent: Intent, chunk: Chunk) -> bool:
    """The paragraph is about the question's place, or names it (in full or by its stem)."""
    if not intent.places:
        return True
    here = simplified(" ".join((chunk.district, chunk.places, chunk.title, chunk.section, chunk.text)))
    return any(p in here or stem(p) in here for p in intent.places)


# The features a candidate sentence is scored by (rag.ranker fits their weights on labelled data; evals/fit.py).
FEATURES = (
    "cov", "pick", "chunk_cov", "ctx_cov", "art_cov", "bigram", "unigram", "lcs", "cov_gap", "bigram_gap",
    "prev_cov", "next_cov", "typed_q", "typed_miss", "want_fact", "focused", "anchored", "missing",
    "inv_rank", "inv_dense_rank", "inv_kw_rank", "dense", "dense_gap", "body_same", "body_other",
    "year_chunk_other", "year_sent_other", "place_other", "first_sent", "log_len", "absent_share",
    "sdense", "sdense_gap", "inv_sdense_rank",
)

# What tells whether the clause window around the value suffices as the answer, or the whole sentence is needed.
WINDOW_FEATURES = ("typed_q", "want_fact", "win_share", "win_bigram_loss", "win_value", "log_len")

# Question words and particles: what a question adds around the words it shares with its answer.
_ASKING = re.compile(r"为什么|为何|什么|多少|哪些|哪个|哪里|哪儿|哪一|哪|怎么样|怎样|怎么|如何|是谁|谁|几|吗|呢|请问|是否|"
                     r"有没有|是不是|[^\u4e00-\u9fff\w]")


def question_core(text: str) -> str:
    """The question without its question words and punctuation: the words its answer sentence tends to repeat."""
    return _ASKING.sub("", text)


def _longest_shared(core: str, sentence: str, longest: int = 24) -> int:
    """Length of the longest piece of the question's core that the sentence holds (0 or at least 2)."""
    size = min(len(core), longest)
    while size >= 2:
        if any(core[i : i + size] in sentence for i in range(len(core) - size + 1)):
            return size
        size -= 1
    return 0


def candidates(intent: Intent, hits: Sequence[Hit | Chunk], idf: dict[str, float],
               absent: frozenset[str] = frozenset(), articles: Mapping[str, str] | None = None,
               scorer: Callable[[Mapping[str, float]], float] | None = None,
               similarity: Callable[[list[str]], Sequence[float]] | None = None) -> list[Span]:
    """Every sentence of the retrieved passages as an answer candidate with its features, best first.

    `hits`: search hits best first (plain chunks are taken as ranked, with no retrieval scores).
    `absent`: question words found nowhere in the index; they cannot tell passages apart.
    `articles`: each chunk's whole article by source; the question's subject may be named only in another paragraph
    ("青岩理工学院…申请了几件专利" answered by "累计申请专利12件" of the article about it).
    `scorer`: features -> score (default: the fitted ranker of rag.ranker).
    `similarity`: sentences -> their cosine with the question, each embedded on its own (vectorstore.sentences);
    without it the three `sdense` features are left out, which the fitted model reads as average.
    """
    if scorer is None:
        scorer = model().sentence_logit
    tokens = [*intent.topic, *([intent.person] if intent.person else []), *content_chars(absent & set(intent.topic))]
    context = [*intent.context]
    # the two rarest words: whole words and the ones they begin or end with ("修路" of 修路架桥), not a part jieba's
    # search mode finds across a word's inside ("长江" of 市长江大桥)
    words = [t for t in intent.topic if len(t) > 1 and t not in absent
             and not any(t != o and t in o and not (o.startswith(t) or o.endswith(t)) for o in intent.topic)]
    specific = sorted(words, key=lambda t: -word_weight(t, idf))[:2]
    articles = articles or {}
    focus = asked_head(intent) if intent.want in ("number", "percent", "date", "time") else ""
    missing = unmatched_words(intent, absent)
    core = question_core(intent.text)
    grams = {core[i : i + 2] for i in range(len(core) - 1)}
    chars = {c for c in core if c not in FUNCTION_CHARS}
    whole = whole_words(tuple(tokens))
    absent_share = sum(1 for t in whole if t in absent) / len(whole) if whole else 0.0
    ranked = [(h, None) if isinstance(h, Chunk) else (h.chunk, h) for h in hits]
    top_dense = max((h.extra.get("dense", 0.0) for _, h in ranked if h is not None), default=0.0)
    spans: list[Span] = []
    rows: list[dict[str, float]] = []
    for rank, (chunk, hit) in enumerate(ranked, 1):
        # matched as Simplified (a Traditional paragraph against a question in either script); quoted as written
        full = simplified(" ".join((chunk.section, chunk.title, chunk.text)))
        title = simplified(chunk.title)
        chunk_cov = coverage(tokens, full, idf)
        ctx_cov = coverage(context, full, idf) if context else 0.0
        place_ok = place_fits(intent, chunk)
        # "Who reported it" is answered by the byline as printed, nothing else.
        texts = ([chunk.byline] if chunk.byline else []) if intent.reporter else sentences(chunk.text)
        plains = [simplified(t) for t in texts]
        covs = [coverage(tokens, plain, idf) for plain in plains]
        lead = ""  # the clauses before a semicolon, of the same full sentence
        # the article's title states what all its sentences are about: its words tell them apart less
        titled_words = bool(title) and any(t in title for t in tokens)
        told = {t: word_weight(t, idf) * (TITLE_WORD_SHARE if t in title else 1.0) for t in tokens} if titled_words \
            else idf
        article = simplified(articles.get(chunk.source, ""))
        dense = hit.extra.get("dense", 0.0) if hit is not None else 0.0
        for i, (sent, plain) in enumerate(zip(texts, plains, strict=True)):
            cov = covs[i]
            pick = coverage(tokens, plain, told) if titled_words else cov
            found = values(intent, plain, chunk)
            value, fit = pick_value(intent, plain, found, tokens, idf)
            window = plain if sent == chunk.byline else window_for(intent, plain, value, tokens, idf, title)
            window_plain = window
            at = plain.find(window)
            window = sent[at : at + len(window)] if at >= 0 else sent  # the same offsets in the text as written
            typed = fit if intent.want != "fact" else 1.0
            focused = bool(focus) and typed > 0 and focus in plain
            if focused and lead:
                cov = max(cov, LEAD_SHARE * coverage(tokens, lead + plain, idf))
                pick = max(pick, LEAD_SHARE * coverage(tokens, lead + plain, told))
            lead = lead + plain if plain.rstrip().endswith((";", "；")) else ""
            year_ok = not (intent.year and _other_years(plain, intent.year))
            anchored = not specific or any(t in plain or t in full or t in article for t in specific)
            art_cov = coverage(tokens, f"{full} {article}", idf) if focused else 0.0
            span = Span(chunk, rank, sent, strip_end(window), 0.0, cov, chunk_cov, typed, value, anchored,
                        place_ok, year_ok, art_cov)
            rows.append({
                "cov": cov, "pick": pick, "chunk_cov": chunk_cov, "ctx_cov": ctx_cov, "art_cov": art_cov,
                "bigram": sum(g in plain for g in grams) / len(grams) if grams else 0.0,
                "unigram": sum(c in plain for c in chars) / len(chars) if chars else 0.0,
                "lcs": _longest_shared(core, plain) / max(len(core), 1),
                "prev_cov": covs[i - 1] if i else 0.0, "next_cov": covs[i + 1] if i + 1 < len(covs) else 0.0,
                "typed_q": typed if intent.want != "fact" else 0.0,
                "typed_miss": float(intent.want != "fact" and typed <= 0), "want_fact": float(intent.want == "fact"),
                "focused": float(focused), "anchored": float(anchored),
                "missing": float(bool(missing) and not counted_as_asked(intent, span, missing)),
                "inv_rank": 1.0 / rank,
                "inv_dense_rank": 1.0 / hit.dense_rank if hit is not None and hit.dense_rank else 0.0,
                "inv_kw_rank": 1.0 / hit.keyword_rank if hit is not None and hit.keyword_rank else 0.0,
                "dense": dense, "dense_gap": dense - top_dense,
                "body_same": float(bool(intent.body) and chunk.body == intent.body),
                "body_other": float(bool(intent.body and chunk.body) and chunk.body != intent.body),
                "year_chunk_other": float(bool(intent.year and chunk.year) and chunk.year != intent.year),
                "year_sent_other": float(not year_ok), "place_other": float(not place_ok),
                "first_sent": float(i == 0), "log_len": math.log1p(len(sent)), "absent_share": absent_share,
                "win_share": len(span.text) / max(len(sent), 1),
                "win_bigram_loss": (sum(g in plain for g in grams) - sum(g in window_plain for g in grams))
                / len(grams) if grams else 0.0,
                "win_value": float(value is not None and window_plain.find(value.text) >= 0),
            })
            spans.append(span)
    if rows:
        best_cov = max(r["cov"] for r in rows)
        best_gram = max(r["bigram"] for r in rows)
        for r in rows:
            r["cov_gap"] = r["cov"] - best_cov
            r["bigram_gap"] = r["bigram"] - best_gram
        if similarity is not None:
            sims = [float(x) for x in similarity([s.sentence for s in spans])]
            order = sorted(range(len(sims)), key=lambda i: -sims[i])
            best_sim = sims[order[0]]
            for place, i in enumerate(order):
                rows[i].update(sdense=sims[i], sdense_gap=best_sim - sims[i], inv_sdense_rank=1.0 / (1 + place))
    out = [replace(s, score=scorer(r), features=r) for s, r in zip(spans, rows, strict=True)]
    out.sort(key=lambda s: -s.score)
    return out


def counted_as_asked(intent: Intent, span: Span, missing: Sequence[str]) -> bool:
    """Is a thing the index never names still answered by the span?

    Three paraphrases pass: a colloquial suffix ("村子" by "9个村"), a word jieba cut across ("雪下" of 雪下了多少, by
    "降雪量…毫米": its content characters are in the sentence), and a head noun counted in the measure word
    the question asks for ("多少个新的招生名额" by "新增学位3200个": the head 名额 is the thing counted, the
    same 个 counts it). A missing modifier is a different thing ("外资企业" is no "内资企业") and stays refused.
    """
    def cut_across(w: str) -> bool:
        chars = content_chars([w])
        return bool(chars) and all(c in span.sentence for c in chars)

    rest = [w for w in missing if not (w[-1] in "子儿" and len(w) > 1 and w[:-1] in span.sentence) and not cut_across(w)]
    if not rest:
        return True
    thing = asked_object(intent.text)
    v = span.value
    return (len(rest) == 1 and thing.endswith(rest[0]) and bool(intent.unit) and v is not None
            and v.unit.startswith(intent.unit))


def answer_text(span: Span, limit: int = MAX_ANSWER_CHARS) -> str:
    """What the answer says: the clause window around the value when the fitted window model is sure enough that it
    holds the answer (rag.ranker.CLAUSE_SURE), else the whole sentence; a sentence too long to be an answer is cut to
    its window all the same (`limit`: an answer of several sides shares one answer's length)."""
    whole = strip_end(span.sentence)
    if span.text == whole or len(whole) > limit or model().clause_suffices(span.features):
        return span.text
    return whole


def decided(intent: Intent, span: Span) -> bool:
    """What no score overrules (the fitted confidence decides everything else): an answer about another place, or
    dated to another year than the one asked, is no answer to the question; nor is a figure when the thing it is asked
    of is a word no paragraph of the index holds ("碳排放总量" in a corpus that never writes it: `unmatched_words`, with
    its paraphrases let through by `counted_as_asked`)."""
    return span.place_ok and span.year_ok and not span.features.get("missing")


def person_in(intent: Intent, sentence: str) -> str:
    """The person an answer names (for "他/她" in the next turn)."""
    found = names_in(sentence, intent.roles)
    return found[0].text if found else ""
