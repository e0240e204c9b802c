"""The chat page: cited answers streamed in, source cards beside them, an Index tab and an Eval tab."""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import gradio as gr

from rag import cite
from rag.errors import RagError
from rag.pipeline import MAX_QUESTION_CHARS, Pipeline
from rag.settings import PROJECT_ROOT, Settings
from rag.types import Answer, Citation
from ui.net import check_port, is_loopback, server_name
from vectorstore.errors import first_line

ALL = "全部"
BODIES = (ALL, "人大", "政协")
DEFAULT_K = 5
EXAMPLES = (
    "二七区新增多少学位?",
    "惠济区2020年全区优良天数有多少天?",
    "中原区人大常委会主任是谁?",
    "2021年郑州国际货运班列开行了多少班?",
    "郑州市政协与哪些城市的政协达成了跨区域协商共识?",
)
UPLOAD_SUFFIXES = (".txt", ".md")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Gradio's own hard stop; our 5 MB check below gives the clear message.
SERVER_MAX_FILE_SIZE = "50mb"
EVAL_FILES = (PROJECT_ROOT / "evals" / "last_run.json", PROJECT_ROOT / "evals" / "baseline.json")
# The pipeline answers in one piece; a few steps make it read as it arrives without slowing it down noticeably.
STREAM_STEPS = 8
STREAM_DELAY_S = 0.03
PENDING = '<span class="rag-pending">正在检索…</span>'
GENERATING = '<span class="rag-pending">正在生成回答,逐句核对…</span>'
LOADING = '<span class="rag-pending">正在加载索引(页面先开,首次回答稍等几秒)…</span>'
SOURCES_PLACEHOLDER = '<div class="rag-empty">提问后,这里显示答案中每个 [n] 的来源段落。</div>'

CSS = """
.rag-badge { display:inline-block; padding:0 .5em; margin-right:.4em; border-radius:.6em; font-size:.85em; font-weight:600; }
.rag-refused { background:#fff4e5; color:#9a4b00; border:1px solid #f5c38a; }
.rag-error { background:#fdecea; color:#a61b1b; border:1px solid #f3b4b0; }
.rag-checked { background:#e8f5e9; color:#1b5e20; border:1px solid #a5d6a7; }
.rag-warn { display:block; margin-top:.4em; font-size:.85em; color:#7a5a00; }
.rag-pending { color:var(--body-text-color-subdued); }
#rag-chat a.rag-cite { color:var(--link-text-color, #2563eb); text-decoration:none; font-weight:600; cursor:pointer; }
#rag-sources .rag-turn:not(:last-child) { display:none; }
#rag-sources .rag-empty, #rag-sources .rag-note, #rag-sources .rag-turn-head { color:var(--body-text-color-subdued); font-size:.9em; }
#rag-sources .rag-turn-head { margin:0 0 .5em; }
.rag-card { border:1px solid var(--border-color-primary); border-radius:.5em; padding:.6em .8em; margin:0 0 .7em;
            background:var(--block-background-fill); transition:outline-color .3s; }
.rag-card.rag-flash { outline:3px solid #f5b400; }
.rag-card-title { font-weight:600; }
.rag-n { color:var(--link-text-color, #2563eb); margin-right:.3em; }
.rag-meta { font-size:.82em; color:var(--body-text-color-subdued); margin:.2em 0 .4em; }
.rag-context { font-size:.92em; line-height:1.6; margin:0 0 .4em; padding-left:.6em; border-left:3px solid var(--border-color-primary); }
.rag-context mark { background:#fde68a; color:#111; padding:0 .1em; }
.rag-copy { font-size:.82em; padding:.15em .6em; border:1px solid var(--border-color-primary); border-radius:.4em;
            background:var(--button-secondary-background-fill); cursor:pointer; }
.rag-copy-all { margin:0 0 .6em; }
.rag-charts { display:flex; flex-wrap:wrap; gap:1em; }
.rag-chart { border:1px solid var(--border-color-primary); border-radius:.5em; padding:.6em .8em; min-width:260px; flex:1; }
.rag-chart h4 { margin:0 0 .4em; }
.rag-bar-row { display:grid; grid-template-columns:10em 1fr 4.5em; gap:.4em; align-items:center; font-size:.85em; margin:.15em 0; }
.rag-bar { background:var(--background-fill-secondary); border-radius:.3em; height:.9em; }
.rag-bar > div { background:#4f46e5; border-radius:.3em; height:100%; }
"""

# Runs once in the page: [n] links in answers show their card; copy buttons copy their data-cite (rag.cite's output).
SOURCES_JS = """
if (!window.__ragUi) {
  window.__ragUi = true;
  const show = (turn, n) => {
    const panel = document.getElementById('rag-sources');
    if (!panel) return;
    const sections = panel.querySelectorAll('.rag-turn');
    if (![...sections].some(s => s.dataset.turn === turn)) return;
    sections.forEach(s => { s.style.display = s.dataset.turn === turn ? 'block' : 'none'; });
    const card = document.getElementById(`src-${turn}-${n}`);
    if (!card) return;
    card.scrollIntoView({block: 'nearest', behavior: 'smooth'});
    card.classList.add('rag-flash');
    setTimeout(() => card.classList.remove('rag-flash'), 1600);
  };
  const copy = async (text) => {
    try { await navigator.clipboard.writeText(text); return; } catch (e) { /* not a secure context: fall back */ }
    const area = document.createElement('textarea');
    area.value = text; document.body.appendChild(area); area.select();
    document.execCommand('copy'); area.remove();
  };
  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const link = target && target.closest('a[href^="#src-"]');
    if (link) {
      event.preventDefault(); event.stopPropagation();
      const m = link.getAttribute('href').match(/^#src-(\\d+)-(\\d+)$/);
      if (m) show(m[1], m[2]);
      return;
    }
    const button = target && target.closest('button.rag-copy');
    if (button) {
      const label = button.dataset.label || button.textContent;
      button.dataset.label = label;
      copy(button.dataset.cite || '').then(() => {
        button.textContent = '已复制';
        setTimeout(() => { button.textContent = label; }, 1500);
      });
    }
  }, true);
}
"""


# -- chat -------------------------------------------------------------------
def _text(content: Any) -> str:
    """The text of a Gradio message content: a string, a list of parts, or one part."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(_text(part) for part in content).strip()
    return ""


def user_turns(history: Sequence[Any] | None) -> list[str]:
    """The earlier user questions, oldest first, from Gradio messages (or old (user, bot) pairs)."""
    turns: list[str] = []
    for message in history or []:
        if isinstance(message, dict):
            if message.get("role") == "user":
                turns.append(_text(message.get("content")).strip())
        elif isinstance(message, (list, tuple)) and message:
            turns.append(_text(message[0]).strip())
    return [t for t in turns if t]


def _choice(value: str | None) -> str | None:
    return None if not value or value == ALL else value


# HTML and Markdown specials as character references, in one pass so no reference is escaped twice.
_MD_ESCAPES = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'\\`*_[]{}()#+-!|~$"})


def _md_escape(text: str) -> str:
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
    note = f'<span class="rag-warn">{_md_escape(note)}</span>' if note else ""
    known = {c.n for c in answer.citations}
    parts = re.split(r"\[(\d+)\]", answer.answer)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(_md_escape(part))
        elif int(part) in known:
            out.append(f'<a class="rag-cite" href="#src-{turn}-{int(part)}">&#91;{int(part)}&#93;</a>')
        else:
            out.append(f"&#91;{int(part)}&#93;")
    return badge + "".join(out) + note


def _error_message(text: str) -> str:
    return f'<span class="rag-badge rag-error">出错</span>{_md_escape(text)}'


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
            pipeline: Pipeline, *, loader: Loader | None = None) -> Iterator[tuple[str, str]]:
    """Answer one chat message: yields (message text, sources HTML) as the answer streams in, sources last."""
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
                yield (_md_escape(answer) + " ▍" if answer else GENERATING), ""
    except RagError as exc:
        yield _error_message(str(exc)), ""
        return
    if not answer.refused and not streamed:  # an extractive answer comes whole: show it the same way
        shown = re.sub(r"\[\d+\]", "", answer.answer)
        step = max(1, -(-len(shown) // STREAM_STEPS))
        for end in range(step, len(shown), step):
            yield _md_escape(shown[:end]) + " ▍", ""
            time.sleep(STREAM_DELAY_S)
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


def render_card(c: Citation, turn: int = 1) -> str:
    """One source card: title, district, body, reporter, outlet and date, paragraph number, the quote marked in
    its paragraph, and a button that copies Citation.formatted()."""
    esc = html.escape
    uploaded = f"用户上传 {c.ingested.replace('T', ' ').rstrip('Z')} UTC" if c.origin == "upload" else ""
    printed = " ".join(x for x in (c.outlet, c.date, f"第{c.page}版" if c.page and (c.outlet or c.date) else "") if x)
    meta = [esc(x) for x in (uploaded, c.district, c.body, f"记者 {c.reporter}" if c.reporter else "", printed,
                             f"第{c.paragraph}段", c.source) if x]
    if c.url.startswith(("http://", "https://")):
        meta.append(f'<a href="{esc(c.url, quote=True)}" target="_blank" rel="noopener noreferrer">原文</a>')
    return (
        f'<article class="rag-card" id="src-{turn}-{c.n}" data-n="{c.n}">'
        f'<div class="rag-card-title"><span class="rag-n">[{c.n}]</span>{esc(c.title or c.source)}</div>'
        f'<div class="rag-meta">{" · ".join(meta)}</div>'
        f'<blockquote class="rag-context">{highlight(c.context or c.quote, c.quote)}</blockquote>'
        f"{_copy_button(c.formatted(), '复制引用')}"
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


# -- index ------------------------------------------------------------------
def documents_table(pipeline: Pipeline) -> list[list[Any]]:
    return [[d.title or d.source, d.district, d.body, d.chunks, d.source] for d in pipeline.documents()]


def index_summary(rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return "索引是空的:上传 .txt / .md 文件,或运行 `rag ingest`。"
    return f"已索引 **{len(rows)}** 篇文档,共 **{sum(int(r[3]) for r in rows)}** 个段落。"


def check_upload(path: Path) -> str | None:
    """Why this uploaded file cannot be indexed, or None when it can."""
    if path.suffix.lower() not in UPLOAD_SUFFIXES:
        return f"不支持的文件类型 {path.suffix or '(无扩展名)'};只接受 .txt 或 .md"
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"读不到文件:{exc.strerror or exc}"
    if size > MAX_UPLOAD_BYTES:
        return f"文件 {size / 1024 / 1024:.1f} MB,超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB 上限"
    if size == 0:
        return "文件是空的"
    return None


def ingest_uploads(files: Sequence[str | Path] | None, pipeline: Pipeline, upload_dir: Path,
                   progress: Callable[[float, str], None] | None = None,
                   *, lock: AbstractContextManager | None = None) -> tuple[str, list[str]]:
    """Check, keep (under upload_dir) and index uploaded files; returns (status Markdown, one line per problem)."""
    if not files:
        return "请先选择要上传的 .txt 或 .md 文件。", ["没有选择文件"]
    problems: list[str] = []
    accepted: list[Path] = []
    created: list[Path] = []  # folders this call made: removed again if their file is not indexed
    for f in files:
        path = Path(f)
        reason = check_upload(path)
        if reason:
            problems.append(f"{path.name}:{reason}")
            continue
        # One folder per content: the same file again is the same document (a no-op); another file under a taken
        # name (or a bundled article's name) is another document, kept beside it, never in its place.
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        folder = upload_dir / digest
        kept = folder / path.name
        if not kept.is_file():
            if not folder.exists():
                created.append(folder)
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, kept)
        accepted.append(kept)
    lines: list[str] = []
    if accepted:

        def report(done: int, total: int, what: str) -> None:
            if progress:
                progress(done / max(total, 1), what)

        try:
            with lock or nullcontext():
                result = pipeline.ingest(accepted, progress=report)
        except RagError as exc:
            problems.append(f"索引失败:{exc}")
            rejected = {str(p) for p in accepted}
        else:
            problems += [f"{Path(p).name}:{r}" for p, r in result.skipped]
            rejected = {str(p) for p, _ in result.skipped}
            lines.append(f"已处理 {len(accepted) - len(result.skipped)} 个文件:新增 {result.added} 个段落,"
                         f"未变 {result.unchanged},删除 {result.removed};索引共 {result.chunks} 个段落。")
        for folder in created:  # a file that was not indexed is not kept
            if any(str(f) in rejected for f in folder.iterdir()):
                shutil.rmtree(folder, ignore_errors=True)
    lines += [f"✗ {p}" for p in problems]
    return "\n\n".join(lines), problems


# -- eval -------------------------------------------------------------------
def find_eval_file(candidates: Sequence[Path] | None = None) -> Path | None:
    """The latest `rag eval --json` run, else the committed baseline, else None."""
    return next((p for p in (EVAL_FILES if candidates is None else candidates) if p.is_file()), None)


def _fmt(metric: str, value: Any) -> str:
    if not isinstance(value, (int, float)):
        return html.escape(str(value))
    if "latency" in metric or metric.endswith("_ms"):
        return f"{value:.0f} ms"
    return f"{value:.1%}" if 0 <= value <= 1 else f"{value:g}"


def _chart(name: str, metrics: dict[str, Any], n: Any = None) -> str:
    esc = html.escape
    title = esc(name) + (f" · n={esc(str(n))}" if n is not None else "")
    rows = []
    for metric, value in metrics.items():
        ratio = isinstance(value, (int, float)) and 0 <= value <= 1 and "latency" not in metric
        bar = f'<div class="rag-bar"><div style="width:{value * 100:.1f}%"></div></div>' if ratio else "<div></div>"
        rows.append(f'<div class="rag-bar-row"><span>{esc(metric)}</span>{bar}<span>{_fmt(metric, value)}</span></div>')
    return f'<div class="rag-chart"><h4>{title}</h4>{"".join(rows)}</div>'


def eval_view(path: Path | None = None) -> tuple[str, str]:
    """(Markdown summary with the overall table, HTML charts per question type) from a `rag eval --json` file."""
    path = path or find_eval_file()
    if path is None:
        return "no eval run yet — run `rag eval --json evals/last_run.json` (or `make eval`).", ""
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
        overall = run.get("overall", {})
        by_type = run.get("by_type", {})
        if not isinstance(overall, dict) or not isinstance(by_type, dict):
            raise ValueError("'overall' and 'by_type' must be objects")
    except (OSError, ValueError, AttributeError) as exc:
        return f"cannot read {path.name}: {exc}; re-run `rag eval --json {path}`.", ""
    counts = run.get("n_by_type", {}) if isinstance(run.get("n_by_type"), dict) else {}
    try:
        shown = path.relative_to(PROJECT_ROOT)
    except ValueError:
        shown = path
    info = " · ".join(f"{k}: {run[k]}" for k in ("set", "n", "mode") if run.get(k) is not None)
    lines = [f"**{shown}**" + (f" — {info}" if info else ""), "", "| metric | overall |", "| --- | --- |"]
    lines += [f"| {m} | {_fmt(m, v)} |" for m, v in overall.items()]
    charts = [_chart("overall", overall, run.get("n"))]
    charts += [_chart(t, m, counts.get(t)) for t, m in by_type.items() if isinstance(m, dict)]
    if not by_type:
        lines += ["", "_this run has no per-type metrics._"]
    return "\n".join(lines), f'<div class="rag-charts">{"".join(charts)}</div>'


# -- page -------------------------------------------------------------------
def build_demo(pipeline: Pipeline, loader: Loader | None = None) -> gr.Blocks:
    """Wire the page; nothing is loaded or served until the page is launched and used.

    With a `loader` (started by `launch`), questions, uploads and the document list wait for it.
    """
    lock = threading.Lock()  # one upload at a time; questions read the index as it was meanwhile
    upload_dir = pipeline.upload_dir

    def loaded() -> str | None:
        """None once the index is open, else why not (after waiting for it)."""
        try:
            if loader is not None:
                loader.wait()
        except RagError as exc:
            return str(exc)
        return None

    def chat(message: str, history: list, sections: list[str], district: str, body: str, k: float):
        question = (message or "").strip()
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        history = [*(history or []), {"role": "user", "content": question}]
        for text, sources in respond(question, history[:-1], district, body, k, pipeline, loader=loader):
            shown = [*history, {"role": "assistant", "content": text}]
            if sources:
                sections = [*sections, sources]
            yield "", shown, sections, sources_panel(sections) if sources else gr.skip()

    def ask(question: str, history: list[str] | None = None) -> dict:
        """One question (and the conversation's earlier questions) -> the answer and its citations, as `rag ask --json`."""
        problem = loaded()
        if problem:
            raise gr.Error(problem)
        if not isinstance(question, str) or not question.strip():
            raise gr.Error("the question is empty")
        earlier = [h for h in (history or []) if isinstance(h, str) and h.strip()]
        try:
            return pipeline.ask(question, earlier).to_json()
        except RagError as exc:
            raise gr.Error(str(exc)) from exc

    def pick_example(evt: gr.SelectData) -> str:
        return _text(evt.value)

    def refresh_index():
        problem = loaded()
        if problem:
            return f"索引无法打开: {_md_escape(problem)}", [], gr.update(choices=[ALL])
        rows = documents_table(pipeline)
        districts = pipeline.districts()
        return index_summary(rows), rows, gr.update(choices=[ALL, *districts])

    def upload(files: list[str] | None, progress=gr.Progress()):  # noqa: B008 - Gradio injects progress this way
        problem = loaded()
        if problem:
            return (f"索引无法打开: {_md_escape(problem)}", *refresh_index(), None)
        status, problems = ingest_uploads(files, pipeline, upload_dir,
                                          lambda f, what: progress(f, desc=what), lock=lock)
        for p in problems:
            gr.Warning(p)
        return (status, *refresh_index(), None)

    with gr.Blocks(title="新闻问答 · rag", analytics_enabled=False) as demo:
        gr.Markdown("## 新闻问答\n答案只来自已索引的新闻稿;每个 [n] 都能点开,看到原文段落。")
        with gr.Tab("问答"):
            sections = gr.State([])
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="对话", elem_id="rag-chat", height=520,
                        examples=[{"text": q} for q in EXAMPLES],
                        placeholder="问一个关于新闻稿的问题,或点一个示例。追问会沿用上文,例如先问“二七区新增多少学位?”,再问“有多少所学校投入使用?”",
                    )
                    with gr.Row():
                        msg = gr.Textbox(placeholder="输入问题,回车发送", show_label=False, scale=5,
                                         elem_id="rag-input", autofocus=True, max_length=MAX_QUESTION_CHARS)
                        send = gr.Button("发送", variant="primary", scale=1, min_width=80)
                    with gr.Row():
                        clear = gr.Button("清空对话", size="sm", elem_id="rag-clear")
                with gr.Column(scale=2):
                    with gr.Accordion("筛选", open=True):
                        district = gr.Dropdown([ALL], value=ALL, label="区", elem_id="rag-district")
                        body = gr.Radio(list(BODIES), value=ALL, label="机构", elem_id="rag-body")
                        k = gr.Slider(1, 10, value=DEFAULT_K, step=1, label="来源数", elem_id="rag-k")
                    gr.Markdown("### 来源")
                    panel = gr.HTML(SOURCES_PLACEHOLDER, elem_id="rag-sources", js_on_load=SOURCES_JS)

        with gr.Tab("索引"):
            summary = gr.Markdown()
            docs = gr.Dataframe(headers=["标题", "区", "机构", "段落数", "文件"], interactive=False,
                                wrap=True, column_widths=["46%", "10%", "12%", "8%", "24%"], elem_id="rag-docs")
            files = gr.File(label=f"上传 .txt / .md(每个不超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB)",
                            file_count="multiple", file_types=list(UPLOAD_SUFFIXES), elem_id="rag-upload")
            with gr.Row():
                add = gr.Button("加入索引", variant="primary")
                refresh = gr.Button("刷新列表")
            status = gr.Markdown(elem_id="rag-ingest-status")

        with gr.Tab("评测"):
            eval_md = gr.Markdown(elem_id="rag-eval")
            eval_charts = gr.HTML()
            reload_eval = gr.Button("重新读取", size="sm")

        # A question sent while an answer is still streaming waits for it instead of being dropped.
        chat_io = {"fn": chat, "inputs": [msg, chatbot, sections, district, body, k],
                   "outputs": [msg, chatbot, sections, panel], "trigger_mode": "always_last"}
        msg.submit(**chat_io)
        send.click(**chat_io)
        chatbot.example_select(pick_example, None, msg).then(**chat_io)
        clear.click(lambda: ("", [], [], SOURCES_PLACEHOLDER), None, [msg, chatbot, sections, panel], queue=False)
        chatbot.clear(lambda: ([], SOURCES_PLACEHOLDER), None, [sections, panel], queue=False)
        add.click(upload, files, [status, summary, docs, district, files])
        refresh.click(refresh_index, None, [summary, docs, district])
        reload_eval.click(eval_view, None, [eval_md, eval_charts])
        demo.load(refresh_index, None, [summary, docs, district]).then(eval_view, None, [eval_md, eval_charts])
        gr.api(ask, api_name="ask")  # Client(url).predict("问题", api_name="/ask") -> {"answer", "citations", ...}
    return demo


def _theme() -> gr.themes.Base:
    return gr.themes.Default(font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "ui-sans-serif",
                                   "system-ui", "sans-serif"])


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860,
           auth: tuple[str, str] | None = None) -> None:
    """Serve the page at once; the index opens (the bundled corpus indexed into an empty store) in the background."""
    check_port(host, port)  # before anything slow, not after
    pipeline = Pipeline.from_settings(settings)
    print("opening the index in the background; the page is served meanwhile", file=sys.stderr)
    loader = Loader(pipeline).start()
    if not is_loopback(host) and not auth:  # `rag ui` asks for --insecure first
        print(f"warning: serving on {host} without --auth: anyone who can reach this port can use it",
              file=sys.stderr)
    demo = build_demo(pipeline, loader)
    try:
        demo.queue().launch(
            server_name=server_name(host), server_port=port, auth=auth, share=False, prevent_thread_lock=False,
            footer_links=["gradio", "settings"], ssr_mode=False, mcp_server=False,
            max_file_size=SERVER_MAX_FILE_SIZE, theme=_theme(), css=CSS,
        )
    except OSError as exc:  # the port was taken since the check
        raise RagError(f"cannot listen on {host}:{port}; pick a free port with --port N") from exc
