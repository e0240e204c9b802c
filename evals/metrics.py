"""Scoring rules of ../shared/README.md as small pure functions: one question, one rule, one number."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ANSWER_LIMIT = 200  # longer answers are pasted paragraphs, not answers: they never count as correct

_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class CitedText:
    """The parts of a citation that can support an answer (a projection of rag.types.Citation)."""

    source: str
    quote: str
    title: str = ""
    district: str = ""


def norm(text: str) -> str:
    """NFKC, then every whitespace character removed: how answers, quotes and evidence are compared."""
    return _WS.sub("", unicodedata.normalize("NFKC", text or ""))


def strip_ws(text: str) -> str:
    """Whitespace removed and nothing else: 'verbatim, whitespace aside'."""
    return _WS.sub("", text or "")


def contains_evidence(text: str, evidence: Sequence[str]) -> bool:
    """A retrieved chunk is a hit when it holds at least one evidence snippet."""
    hay = norm(text)
    return any(norm(e) and norm(e) in hay for e in evidence)


def first_hit_rank(texts: Sequence[str], evidence: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved text that holds evidence; None when none does."""
    for rank, text in enumerate(texts, 1):
        if contains_evidence(text, evidence):
            return rank
    return None


def hit_at(rank: int | None, k: int) -> float:
    """1.0 when the first hit is within the top k, else 0.0."""
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None) -> float:
    """1/rank of the first hit, 0.0 when nothing retrieved holds evidence."""
    return 1.0 / rank if rank else 0.0


def answer_correct(answer: str, must: Sequence[Sequence[str]], limit: int = ANSWER_LIMIT) -> bool:
    """The `must` rule: every group has a string in the answer, and the answer is at most `limit` characters."""
    if len(answer or "") > limit:
        return False
    got = norm(answer)
    return all(any(norm(s) and norm(s) in got for s in group) for group in must)


def groups_supported(must: Sequence[Sequence[str]], citations: Iterable[CitedText], sources: Sequence[str]) -> bool:
    """Every must group occurs in a citation from a gold source: its quote, title or district."""
    gold = set(sources)
    texts = [norm(c.quote) + "\n" + norm(c.title) + "\n" + norm(c.district) for c in citations if c.source in gold]
    return all(any(norm(s) and any(norm(s) in t for t in texts) for s in group) for group in must)


def supported(answer: str, must: Sequence[Sequence[str]], citations: Iterable[CitedText], sources: Sequence[str],
              limit: int = ANSWER_LIMIT) -> bool:
    """A correct answer whose every must group is also found in a citation from a gold source."""
    return answer_correct(answer, must, limit) and groups_supported(must, citations, sources)


def quote_verbatim(quote: str, source_text: str) -> bool:
    """The quote stands in its source file as written, whitespace aside (no NFKC: verbatim means verbatim)."""
    q = strip_ws(quote)
    return bool(q) and q in strip_ws(source_text)


def refusal_correct(answerable: bool, refused: bool) -> bool:
    """Refused exactly when the corpus does not hold the answer."""
    return refused != answerable


def false_refusal(answerable: bool, refused: bool) -> bool:
    """An answerable question that was refused."""
    return answerable and refused


def mean(values: Iterable[float | bool]) -> float | None:
    """Arithmetic mean; None for no values (the metric does not apply, which is not the same as 0)."""
    vals = [float(v) for v in values]
    return sum(vals) / len(vals) if vals else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between order statistics, as numpy's default."""
    vals = sorted(float(v) for v in values)
    if not vals:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q={q} is outside 0..100")
    pos = (len(vals) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)
