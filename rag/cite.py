"""Citations in the forms a writer pastes: Markdown footnotes, GB/T 7714-2015 references, CSL-JSON.

Every form lists what is known of the article and leaves out what is not: no outlet, no date, no URL is made up.
Authors are the reporters (记者) of the byline, or a sidecar's `reporters`; correspondents (通讯员), usually staff
of the body reported on, and photographers are not listed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.types import Answer, Citation

FORMATS = ("markdown", "gbt7714", "csl-json")
MAX_AUTHORS = 3  # GB/T 7714-2015 8.1.2: the first three, then "等"
_MARKER = re.compile(r"\[(\d+)\]")
_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_[]<>"})
_CJK = re.compile(r"[\u3400-\u9fff]")


def authors(c: Citation) -> list[str]:
    return [name for name in c.reporter.split("、") if name.strip()]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def reference(c: Citation) -> str:
    """The article as a GB/T 7714-2015 newspaper reference, unnumbered:
    `张三. 标题[N]. 某某日报, 2021-02-05(5).`, `[N/OL]` and the URL when it is known online."""
    return _reference(c, _plain, _plain)


def _reference(c: Citation, esc: Callable[[str], str], link: Callable[[str], str]) -> str:
    names = [esc(name) for name in authors(c)]
    who = ", ".join(names[:MAX_AUTHORS]) + (", 等" if len(names) > MAX_AUTHORS else "")
    parts = [who] if who else []
    parts.append(f"{esc(_one_line(c.title or Path(c.source).stem))}[{'N/OL' if c.url else 'N'}]")
    where = ", ".join(esc(x) for x in (c.outlet, c.date) if x)
    if where:
        parts.append(where + (f"({esc(c.page)})" if c.page else ""))
    if c.url:
        parts.append(link(c.url))
    return ". ".join(parts) + "."


def place(c: Citation) -> str:
    """Where in its file the quote stands: "第3段", or "第2页 第3段" in a file with pages (a PDF)."""
    return (f"第{c.file_page}页 " if c.file_page else "") + f"第{c.paragraph}段"


def formatted(c: Citation) -> str:
    """The quote in 「」, its article's reference and where in the file it stands: one citation to paste."""
    return f"「{_one_line(c.quote)}」——{reference(c)} ({c.source}, {place(c)})"


def _footnote(c: Citation) -> str:
    """formatted(c) in Markdown: text escaped, the URL a link, the file name code."""
    source = f"`{c.source}`" if "`" not in c.source else _md(c.source)
    return f"[^{c.n}]: 「{_md(_one_line(c.quote))}」——{_reference(c, _md, lambda url: f'<{url}>')} ({source}, {place(c)})"


def _plain(text: str) -> str:
    return text


def markdown(answer: Answer) -> str:
    """The answer with `[^n]` footnotes, each the quote in 「」 and its reference."""
    known = {c.n for c in answer.citations}
    parts = _MARKER.split(answer.answer)
    text = "".join(_md(p) if i % 2 == 0 else (f"[^{p}]" if int(p) in known else _md(f"[{p}]"))
                   for i, p in enumerate(parts))
    return "\n\n".join([text, *(_footnote(c) for c in answer.citations)]) + "\n"


def _md(text: str) -> str:
    return text.translate(_MARKDOWN_SPECIALS)


def gbt7714(answer: Answer) -> str:
    """The answer with its `[n]` markers, then the numbered references (GB/T 7714-2015, 顺序编码制)."""
    refs = [f"[{c.n}] {reference(c)}" for c in answer.citations]
    return "\n\n".join([answer.answer, "参考文献:\n" + "\n".join(refs)] if refs else [answer.answer]) + "\n"


def csl(answer: Answer) -> list[dict]:
    """CSL-JSON items (type article-newspaper), one per article cited, its quotes in `note`; none for a refusal
    (its citation is the nearest paragraph, not a source)."""
    if answer.refused:
        return []
    items: dict[tuple[str, str], dict] = {}
    for c in answer.citations:
        key = (c.source, c.title)
        if key not in items:
            stem = Path(c.source).stem
            taken = sum(1 for s, _ in items if s == c.source)
            item: dict = {"id": stem if not taken else f"{stem}-{taken + 1}", "type": "article-newspaper",
                          "title": _one_line(c.title or stem)}
            if authors(c):
                item["author"] = [{"literal": name} for name in authors(c)]
            if c.outlet:
                item["container-title"] = c.outlet
            if c.date:
                item["issued"] = {"date-parts": [[int(x) for x in c.date.split("-")]]}
            if c.page:
                item["page"] = c.page
            if c.url:
                item["URL"] = c.url
            if _CJK.search(c.title + c.quote):
                item["language"] = "zh-CN"
            item["note"] = ""
            items[key] = item
        note = f"[{c.n}] {c.source}, 第{c.paragraph}段: 「{_one_line(c.quote)}」"
        items[key]["note"] = "\n".join(x for x in (items[key]["note"], note) if x)
    return list(items.values())


def csl_json(answer: Answer) -> str:
    """csl(answer) as a JSON array, for Zotero and other reference managers."""
    return json.dumps(csl(answer), ensure_ascii=False, indent=2) + "\n"


def render(answer: Answer, fmt: str) -> str:
    """The answer and its citations in one of FORMATS."""
    if fmt == "markdown":
        return markdown(answer)
    if fmt == "gbt7714":
        return gbt7714(answer)
    if fmt == "csl-json":
        return csl_json(answer)
    raise ValueError(f"unknown citation format {fmt!r}; use one of {', '.join(FORMATS)}")
