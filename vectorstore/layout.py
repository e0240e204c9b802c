"""A laid-out page as text: its lines (a PDF's text layer, a scan's OCR boxes) put in reading order and joined
into paragraphs, one blank line between paragraphs, as the chunker reads a plain-text page.

Reading order is a recursive XY cut: a region splits into columns where a vertical strip holds no line, or
else at its widest horizontal gap (a headline's, a rule's), and each part is read in turn; a part that does not
split is one column, read top to bottom. Within a column a paragraph ends where the next line is indented, where a
line ends a sentence short of the column's right edge, at a gap taller than a line, or where the type size changes
(a heading). Numbers are in page units; only their ratios to the type size matter.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

# Fractions of the type size (a line's height): the narrowest vertical strip that separates columns, the
# shortest gap between lines that separates regions, and the indentation and shortfall that end a paragraph.
COLUMN_GAP = 0.8
REGION_GAP = 0.9
INDENT = 1.2
SHORT_LINE = 1.5
# A line this much taller or shorter than its column's usual line is set in other type (a heading, a caption);
# OCR boxes of one type size differ by up to ~20 %.
OTHER_TYPE = 0.3
# A paragraph set this much larger than the page's text, and no longer than a headline, is a headline.
HEADLINE = 1.25
MAX_HEADLINE = 60
# The head and foot of a page: this fraction of its text's height at either end.
MARGIN = 0.06
SENTENCE_END = "。！？!?…”」』\"')）:：;；"
_PAGE_NUMBER = re.compile(r"^[-—\s]*\d{1,3}[-—\s]*$")
# OCR reads some digits, Latin letters and points as their full-width forms ("120０", "1．3").
_FULL_WIDTH = {**{0xFF10 + i: 0x30 + i for i in range(10)}, **{0xFF21 + i: 0x41 + i for i in range(26)},
               **{0xFF41 + i: 0x61 + i for i in range(26)}}
_FULL_POINT = re.compile(r"(?<=\d)．(?=\d)")


@dataclass(frozen=True)
class Line:
    """A run of text on one baseline with its box; `size` is the box's height."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    type_size: float = 0.0  # a merged row's: the median height of its boxes (0: the box's own height)

    @property
    def size(self) -> float:
        return self.type_size or max(self.y1 - self.y0, 1e-6)


def _gap_walk(spans: list[tuple[float, float]]):
    """(width, middle) of each gap between the union of the spans, in order."""
    end = None
    for lo, hi in sorted(spans):
        if end is not None and lo > end:
            yield lo - end, (lo + end) / 2
        end = hi if end is None else max(end, hi)


def _gaps(spans: list[tuple[float, float]], min_gap: float) -> list[float]:
    """The middles of the gaps of at least `min_gap` between the union of the spans."""
    return [middle for width, middle in _gap_walk(spans) if width >= min_gap]


def _widest_gap(spans: list[tuple[float, float]], min_gap: float) -> float | None:
    """The middle of the widest gap of at least `min_gap` (the last of equals), or None."""
    best, where = min_gap, None
    for width, middle in _gap_walk(spans):
        if width >= best:
            best, where = width, middle
    return where


def regions(lines: Sequence[Line], size: float | None = None) -> list[list[Line]]:
    """The page's columns and blocks in reading order, each a list of lines (see the module's doc)."""
    lines = list(lines)
    if len(lines) <= 1:
        return [lines] if lines else []
    size = size or statistics.median(line.size for line in lines)
    first = lines[0]
    if all(first.y0 <= (line.y0 + line.y1) / 2 <= first.y1 for line in lines):
        return [lines]  # one row of text (a masthead's name, date and page): not columns
    parts: list[list[Line]] = []
    columns = _gaps([(line.x0, line.x1) for line in lines], COLUMN_GAP * size)
    if columns:
        parts = [[] for _ in range(len(columns) + 1)]
        for line in lines:
            parts[sum(line.x0 > c for c in columns)].append(line)
        # Columns are stacks of lines: a strip beside a one-line piece (a masthead's parts over a headline) is
        # not a column break while the region also splits across.
        if sum(len(_rows(part)) > 1 for part in parts) >= 2:
            return [r for part in parts for r in regions(part, size)]
    cut = _widest_gap([(line.y0, line.y1) for line in lines], REGION_GAP * size)
    if cut is not None:
        above = [line for line in lines if line.y0 < cut]
        below = [line for line in lines if line.y0 >= cut]
        return regions(above, size) + regions(below, size)
    if parts:
        return [r for part in parts for r in regions(part, size)]
    return [lines]


def _rows(lines: list[Line]) -> list[Line]:
    """Boxes on one baseline (an OCR engine splits a line at its spaces) merged into one line, top to bottom."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: (ln.y0 + ln.y1) / 2):
        mid = (line.y0 + line.y1) / 2
        if rows and rows[-1][-1].y0 <= mid <= rows[-1][-1].y1:
            rows[-1].append(line)
        else:
            rows.append([line])
    merged = []
    for row in rows:
        row.sort(key=lambda ln: ln.x0)
        text = row[0].text
        for a, b in zip(row, row[1:], strict=False):
            text += (" " if b.x0 - a.x1 > 0.5 * a.size else "") + b.text
        merged.append(Line(min(ln.x0 for ln in row), min(ln.y0 for ln in row),
                           max(ln.x1 for ln in row), max(ln.y1 for ln in row), text,
                           statistics.median(ln.size for ln in row)))
    return merged


def _join(left: str, right: str) -> str:
    """Two lines of one paragraph: Chinese runs on; a space only between two Latin words or numbers."""
    if left and right and left[-1].isascii() and left[-1].isalnum() and right[0].isascii() and right[0].isalnum():
        return left + " " + right
    return left + right


def _other_type(line: Line, size: float) -> bool:
    return abs(line.size - size) > OTHER_TYPE * size


def ocr_text(text: str) -> str:
    """An OCR engine's text with full-width digits and Latin letters as a page prints them ("120０" -> "1200")."""
    return _FULL_POINT.sub(".", text.translate(_FULL_WIDTH))


class Paragraph(NamedTuple):
    text: str
    size: float  # its type size: its lines' median height
    indented: bool  # its first line is set in from the column's edge


def paragraphs(region: list[Line]) -> list[Paragraph]:
    """One column's lines as paragraphs."""
    rows = _rows(region)
    if not rows:
        return []
    size = statistics.median(r.size for r in rows)
    left = min(r.x0 for r in rows)
    right = max(r.x1 for r in rows)
    out: list[tuple[bool, list[Line]]] = []
    prev: Line | None = None
    for row in rows:
        text = row.text.strip()
        if not text:
            continue
        indented = row.text[:1] in " \u3000" or row.x0 - left > INDENT * size
        new = (prev is None or indented
               or row.y0 - prev.y1 > size
               or _other_type(row, size) != _other_type(prev, size)
               or (prev.x1 < right - SHORT_LINE * size and prev.text.rstrip()[-1:] in SENTENCE_END))
        if new:
            out.append((indented, []))
        out[-1][1].append(row)
        prev = row
    result = []
    for indented, para in out:
        text = para[0].text.strip()
        for row in para[1:]:
            text = _join(text, row.text.strip())
        result.append(Paragraph(text, statistics.median(r.size for r in para), indented))
    return result


def page_text(lines: Sequence[Line]) -> str:
    """A page's text: its paragraphs in reading order, a blank line between them, a headline (set larger than the
    page's text) marked as a markdown heading so that the articles of one page stay apart; a bare page number
    dropped."""
    lines = [line for line in lines if line.text.strip()]
    if not lines:
        return ""
    top, bottom = min(line.y0 for line in lines), max(line.y1 for line in lines)
    margin = MARGIN * (bottom - top)
    # A page number stands alone at the head or foot of the page, often on the line of a credit or the masthead.
    lines = [line for line in lines
             if not (_PAGE_NUMBER.match(line.text) and (line.y1 <= top + margin or line.y0 >= bottom - margin))]
    if not lines:
        return ""
    size = statistics.median(line.size for line in lines)
    out: list[str] = []
    last = None  # (text, type size) of the paragraph before
    before: list[Line] = []  # the region before
    for region in regions(lines):
        beside = bool(before) and min(ln.y0 for ln in region) < max(ln.y1 for ln in before) \
            and min(ln.x0 for ln in region) > min(ln.x0 for ln in before)
        for i, (text, para_size, indented) in enumerate(paragraphs(region)):
            if _PAGE_NUMBER.match(text):
                continue
            headline = para_size >= HEADLINE * size and len(text) <= MAX_HEADLINE
            if (i == 0 and beside and last and not headline and not last[0].startswith("#")
                    and last[0].rstrip()[-1:] not in SENTENCE_END and abs(para_size - last[1]) <= OTHER_TYPE * size
                    and not indented):
                # a paragraph cut by the column's end runs on at the head of the next column
                out[-1] = _join(out[-1], text)
                last = (out[-1], last[1])
                continue
            out.append(f"# {text}" if headline else text)
            last = (out[-1], para_size)
        before = region
    return "\n\n".join(out)

