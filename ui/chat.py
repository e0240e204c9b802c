"""The chat view: a question answered as it streams in, each [n] linked to its source card (the quote marked in its
paragraph, with buttons that copy the citation), and the loader that opens the index in the background."""

from __future__ import annotations

import html
import re
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from rag import cite
from rag.errors import RagError
from rag.pipeline import Pipeline
from rag.types import Answer, Citation
from vectorstore.errors import first_line

ALL = "全部"
DEFAULT_K = 5
# The pipeline answers in one piece; a few steps make it read as it arrives without slowing it down noticeably.
STREAM_STEPS = 8
STREAM_DELAY_S = 0.03
PENDING = '<span class="rag-pending">正在检索…</span>'
GENERATING = '<span class="rag-pending">正在生成回答,逐句核对…</span>'
LOADING = '<span class="rag-pending">正在加载索引(页面先开,首次回答稍等几秒)…</span>'
SOURCES_PLACEHOLDER = '<div class="rag-empty">提问后,这里显示答案中每个 [n] 的来源段落。</div>'


def message_text(content: Any) -> str:
    """The text of a Gradio message content: a string, a list of parts, or one part."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(message_text(part) for part in content).strip()
    return ""


def user_turns(history: Sequence[Any] | None) -> list[str]:
    """The earlier user questions, oldest first, from Gradio messages (or old (user, bot) pairs)."""
    turns: list[str] = []
    for message in history or []:
        if isinstance(message, dict):
            if message.get("role") == "user":
                turns.append(message_text(message.get("content")).strip())
        elif isinstance(message, (list, tuple)) and message:
            turns.append(message_text(message[0]).strip())
    return [t for t in turns if t]


def _choice(value: str | None) -> str | None:
    return None if not value or value == ALL else value


# HTML and Markdown specials as character references, in one pass so no reference is escaped twice.
_MD_ESCAPES = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'\\`*_[]{}()#+-!|~$"})


def md_escape(text: str) -> str:
    """Text shown through the chat's Markdown renderer exactly as written."""
    return text.translate(_MD_ESCAPES)


def format_answer(answer: Answer, turn: int) -> str:
    """The chat message: the answer with each [n] linked to its card; a refusal carries a 未找到 badge. In LLM mode
    a model's answer that passed the check carries 已核对, and why the model's answer (or a sentence of it) is not
    shown follows the answer."""
    badge = '<span class="rag-badge rag-refused">未找到</span>' if answer.refused else ""
    if answer.generator == "llm" and answer.verified and not answer.refused:
        badge += '<span class="rag-badge rag-checked" title="每个数字都已在所引原文中核对">已核对</span>'
    note = ""
    if answer.verified is False:
        note = "模型的回答未通过核对或无法取得,以下为原文摘录。"
        badge += '<span class="rag-badge rag-refused">原文摘录</span>'
    if answer.warnings:
        note += " ".join(answer.warnings)
    note = f'<span class="rag-warn">{md_escape(note)}</span>' if note else ""
    known = {c.n for c in answer.citations}
    parts = re.split(r"\[(\d+)\]", answer.answer)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(md_escape(part))
        elif int(part) in known:
            out.append(f'<a class="rag-cite" href="#src-{turn}-{int(part)}">&#91;{int(part)}&#93;</a>')
        else:
            out.append(f"&#91;{int(part)}&#93;")
    return badge + "".join(out) + note


def _error_message(text: str) -> str:
    return f'<span class="rag-badge rag-error">出错</span>{md_escape(text)}'


class Loader:
    """Opens the index (indexing the bundled corpus into an empty store) and warms the question path in a
    background thread, so the page is served at once; whatever needs the index waits for it."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.done = threading.Event()
        self.error: str | None = None

    def start(self) -> Loader:
        threading.Thread(target=self._run, name="rag-loader", daemon=True).start()
        return self

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            report = self.pipeline.ensure_ingested()
            if report is not None:
                print(f"indexed the bundled corpus: {report.chunks} chunks", file=sys.stderr)
            self.pipeline.warm_up()
            print(f"ready to answer ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        except RagError as exc:
            self.error = str(exc)
            print(f"error: {exc}", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - shown in the page and the log instead of a dead thread
            self.error = f"加载失败: {type(exc).__name__}: {first_line(exc)}"
            print(f"error: {self.error}", file=sys.stderr)
        finally:
            self.done.set()

    def wait(self) -> None:
        """Block until loaded; RagError if loading failed."""
        self.done.wait()
        if self.error:
            raise RagError(self.error)


def respond(message: str, history: Sequence[Any], district: str | None, body: str | None, k: float,
            pipeline: Pipeline, *, loader: Loader | None = None,
            answered: list | None = None) -> Iterator[tuple[str, str]]:
    """Answer one chat message: yields (message text, sources HTML) as the answer streams in, sources last.
    `answered`, when given, gets the Answer appended (None for a question that got an error instead)."""
    if answered is not None:
        answered.append(None)
    question = (message or "").strip()
    if not question:
        yield _error_message("问题是空的;请输入一个问题,例如:二七区新增多少学位?"), ""
        return
    earlier = user_turns(history)
    turn = len(earlier) + 1
    yield (PENDING if loader is None or loader.done.is_set() else LOADING), ""
    streamed = False
    try:
        if loader is not None:
            loader.wait()
        for answer in pipeline.ask_stream(question, earlier, k=int(k or DEFAULT_K), district=_choice(district),
                                          body=_choice(body)):
            if isinstance(answer, str):  # a chat model's answer, as far as it has been checked
                streamed = True
                yield (md_escape(answer) + " ▍" if answer else GENERATING), ""
    except RagError as exc:
        yield _error_message(str(exc)), ""
        return
    if not answer.refused and not streamed:  # an extractive answer comes whole: show it the same way
        shown = re.sub(r"\[\d+\]", "", answer.answer)
        step = max(1, -(-len(shown) // STREAM_STEPS))
        for end in range(step, len(shown), step):
            yield md_escape(shown[:end]) + " ▍", ""
            time.sleep(STREAM_DELAY_S)
    if answered is not None:
        answered[-1] = answer
    yield format_answer(answer, turn), render_sources(answer, turn)


# -- sources ----------------------------------------------------------------
def _quote_span(context: str, quote: str) -> tuple[int, int] | None:
    """Where the quote stands in its paragraph, ignoring whitespace differences."""
    if not quote:
        return None
    at = context.find(quote)
    if at >= 0:
        return at, at + len(quote)
    pattern = r"\s*".join(re.escape(ch) for ch in quote if not ch.isspace())
    m = re.search(pattern, context) if pattern else None
    return m.span() if m else None


def highlight(context: str, quote: str) -> str:
    """The paragraph, escaped, with the quote inside it marked; the quote alone when it is not found there."""
    span = _quote_span(context, quote)
    if span is None:
        before = f"{html.escape(context)}<br>" if context else ""
        return f"{before}<mark>{html.escape(quote)}</mark>"
    a, b = span
    return f"{html.escape(context[:a])}<mark>{html.escape(context[a:b])}</mark>{html.escape(context[b:])}"


def _copy_button(text: str, label: str, kind: str = "rag-copy") -> str:
    esc = html.escape
    return f'<button type="button" class="rag-copy {kind}" data-cite="{esc(text, quote=True)}" title="{esc(text, quote=True)}">{label}</button>'


# Where a document came from, as a source card says it.
ORIGINS = {"upload": "用户上传", "file": "本地导入", "bundled": "示例语料"}


def render_card(c: Citation, turn: int = 1) -> str:
    """One source card: title, district, body, reporter, outlet and date, paragraph number, the quote marked in
    its paragraph, and a button that copies rag.cite.formatted(citation)."""
    esc = html.escape
    added = c.ingested.replace("T", " ").rstrip("Z")
    origin = f"{ORIGINS[c.origin]} {added} UTC" if c.origin in ORIGINS and added else ORIGINS.get(c.origin, "")
    printed = " ".join(x for x in (c.outlet, c.date, f"第{c.page}版" if c.page and (c.outlet or c.date) else "") if x)
    meta = [esc(x) for x in (c.district, c.body, f"记者 {c.reporter}" if c.reporter else "", printed,
                             cite.place(c), c.source, origin) if x]
    if c.url.startswith(("http://", "https://")):
        meta.append(f'<a href="{esc(c.url, quote=True)}" target="_blank" rel="noopener noreferrer">原文</a>')
    return (
        f'<article class="rag-card" id="src-{turn}-{c.n}" data-n="{c.n}">'
        f'<div class="rag-card-title"><span class="rag-n">[{c.n}]</span>{esc(c.title or c.source)}</div>'
        f'<div class="rag-meta">{" · ".join(meta)}</div>'
        f'<blockquote class="rag-context">{highlight(c.context or c.quote, c.quote)}</blockquote>'
        f"{_copy_button(cite.formatted(c), '复制引用')}"
        "</article>"
    )


def render_sources(answer: Answer, turn: int = 1) -> str:
    """The cards for one answer, one per [n], in a section the [n] links of that answer point into."""
    esc = html.escape
    head = f"第{turn}问:{esc(answer.question)}"
    if answer.resolved_question and answer.resolved_question != answer.question:
        head += f"<br>理解为:{esc(answer.resolved_question)}"
    parts = [f'<section class="rag-turn" data-turn="{turn}"><div class="rag-turn-head">{head}</div>']
    if answer.refused:
        parts.append('<div class="rag-note"><span class="rag-badge rag-refused">未找到</span>语料中没有能回答这个问题的段落。</div>')
        if answer.citations:
            parts.append('<div class="rag-note">最接近的段落(未用于回答):</div>')
    elif not answer.citations:
        parts.append('<div class="rag-note">这条答案没有引用来源。</div>')
    else:  # the answer with all its citations, as `rag ask --cite-format` prints it
        parts.append('<div class="rag-copy-all">'
                     f"{_copy_button(cite.gbt7714(answer), '复制答案与参考文献 (GB/T 7714)', 'rag-copy-gbt')} "
                     f"{_copy_button(cite.markdown(answer), '复制 Markdown', 'rag-copy-md')}</div>")
    parts += [render_card(c, turn) for c in answer.citations]
    parts.append("</section>")
    return "".join(parts)


def sources_panel(sections: Sequence[str]) -> str:
    """Every answer's section; CSS shows the newest, a click on an older [n] shows that one."""
    return "".join(sections) if sections else SOURCES_PLACEHOLDER
