"""Checking a written answer against its sources: each `[n]` a real source, each figure in a quote it cites.

For answers not cut from the sources by the extractive answerer (a chat model's): a number that moved ("1.4万"
for "1.04万"), a marker past the last source, a figure with no marker at all. Written forms that mean the same
are the same: full-width digits, thousands separators, 万/亿 against the plain number, Chinese numerals,
多/余 (an answer that drops "多" from "700多万" keeps its number, and is not flagged for it).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from rag.values import dates, figures, percents

MARKER = re.compile(r"\[(\d+)\]")
# A sentence: up to its end mark or the end of its line (a list item), with the [n] markers after it.
SENTENCE = re.compile(r"[^。!?;！？；\n]+(?:[。!?;！？；]|(?=\n)|$)(?:[ \t]*\[\d+\])*")
_NUMBER = re.compile(r"(\d+(?:\.\d+)?|[〇零一二两三四五六七八九十百千]+)(?:多|余)?(万|亿)?(?:多|余)?")
_SCALE = {"万": 10_000, "亿": 100_000_000, None: 1}
_NUMBER_CHARS = frozenset("0123456789〇零一二两三四五六七八九十百千")
_CN_NUMERAL = re.compile(r"[〇零一二两三四五六七八九十百千]")


@dataclass(frozen=True)
class Check:
    """Whether an answer holds up against its sources, and what does not."""

    verified: bool
    warnings: tuple[str, ...] = ()


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(",", "").replace("号", "日")


@functools.lru_cache(maxsize=4096)
def value(surface: str) -> float | None:
    """The number a figure's text stands for ("1.04万" -> 10400, "三十六" -> 36, "７００多" -> 700), or None."""
    m = _NUMBER.match(_norm(surface))
    if not m:
        return None
    digits, scale = m.group(1), m.group(2)
    if digits[0].isdigit():
        number = float(digits)
    else:
        import cn2an

        try:
            number = float(cn2an.cn2an(digits, "smart"))
        except (ValueError, KeyError):
            return None
    return number * _SCALE[scale]


def claims(text: str) -> list[str]:
    """The figures, percentages and dates a text states, as written (markers aside). A numeral inside a person's
    name ("张三", "陈一鸣", by jieba's part-of-speech tags) states nothing."""
    text = _norm(MARKER.sub(" ", text))  # "１．０４万" is 1.04万
    found = [*dates(text), *percents(text), *figures(text)]
    spans: list[tuple[int, int]] = _names(text) if _CN_NUMERAL.search(text) else []
    out = []
    for v in sorted(found, key=lambda v: (v.start, -(v.end - v.start))):
        if any(a <= v.start < b for a, b in spans):
            continue  # a figure inside a date or a percentage already taken
        spans.append((v.start, v.end))
        out.append(v.text)
    return out


def _names(text: str) -> list[tuple[int, int]]:
    """The character spans of the persons' names in the text."""
    from vectorstore.places import tagged

    out, at = [], 0
    for word, flag in tagged(text):
        if flag == "nr":
            out.append((at, at + len(word)))
        at += len(word)
    return out


def _stated(claim: str, text: str) -> bool:
    """The claim occurs in the text as a whole figure: not "4万" in "1.04万", "2月" in "12月", "14亿" in "114亿",
    nor "1.04" in "1.04万" (a magnitude dropped)."""
    for m in re.finditer(re.escape(claim), text):
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        if before and (before in _NUMBER_CHARS or before == "."):
            continue
        if after and claim[-1] in _NUMBER_CHARS and (after in _NUMBER_CHARS or after in ".万亿"):
            continue
        return True
    return False


def holds(claim: str, quote: str) -> bool:
    """The quote states the claim: the same text as a whole figure, or a figure of the same value."""
    if _stated(_norm(claim), _norm(quote)):
        return True
    want = value(claim)
    if want is None or any(c in claim for c in "年月日%％‰"):
        return False
    return any(value(f) == want for f in claims(quote))


def verify(answer: str, quotes: Mapping[int, str]) -> Check:
    """Check every sentence of `answer`: its `[n]` markers name sources in `quotes` (n -> the quote cited), and
    each figure or date it states is in the quote of one of the sources it cites. A sentence that states one
    and cites nothing is flagged too."""
    warnings: list[str] = []
    for sentence in (s.strip() for s in SENTENCE.findall(answer)):
        if not sentence:
            continue
        cited = [int(n) for n in MARKER.findall(sentence)]
        for n in cited:
            if n not in quotes:
                warnings.append(f"[{n}] names no source (there are {len(quotes)})")
        stated = claims(sentence)
        known = [quotes[n] for n in cited if n in quotes]
        if stated and not cited:
            warnings.append(f"「{MARKER.sub('', sentence)}」 states {'、'.join(stated)} and cites no source")
            continue
        for claim in stated:
            if known and not any(holds(claim, q) for q in known):
                where = "、".join(f"[{n}]" for n in cited if n in quotes)
                warnings.append(f"{claim} is not in the quote of {where}")
    return Check(verified=not warnings, warnings=tuple(dict.fromkeys(warnings)))
