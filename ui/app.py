"""The chat page's wiring: the chat, Index and Eval tabs (ui.chat, ui.documents, ui.evalview) laid out in one page
and joined to their views; `launch` serves it."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from rag.errors import RagError
from rag.examples import example_questions
from rag.feedback import MAX_CORRECTION_CHARS, FeedbackLog
from rag.pipeline import MAX_QUESTION_CHARS, Pipeline
from rag.settings import Settings
from ui.chat import (
    ALL,
    DEFAULT_K,
    SOURCES_PLACEHOLDER,
    Loader,
    md_escape,
    message_text,
    respond,
    sources_panel,
    user_turns,
)
from ui.documents import (
    DOCUMENT_HEADERS,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_FILES,
    UPLOAD_CACHE_S,
    UPLOAD_SUFFIXES,
    discard_uploaded,
    document_choices,
    documents_table,
    index_summary,
    ingest_uploads,
    newest_first,
    remove_documents,
)
from ui.evalview import eval_view
from ui.net import check_port, in_flight, is_loopback, server_name
from ui.upload_gate import UploadGate

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



def build_demo(pipeline: Pipeline, loader: Loader | None = None) -> gr.Blocks:
    """Wire the page; nothing is loaded or served until the page is launched and used.

    With a `loader` (started by `launch`), questions, uploads and the document list wait for it.
    """
    lock = threading.Lock()  # one upload at a time; questions read the index as it was meanwhile
    upload_dir = pipeline.upload_dir
    feedback = FeedbackLog(pipeline.settings.home)

    def loaded() -> str | None:
        """None once the index is open, else why not (after waiting for it)."""
        try:
            if loader is not None:
                loader.wait()
        except RagError as exc:
            return str(exc)
        return None

    def chat(message: str, history: list, sections: list[str], rated: list, district: str, body: str, k: float):
        question = (message or "").strip()
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        earlier = user_turns(history)
        history = [*(history or []), {"role": "user", "content": question}]
        answered: list = []
        for text, sources in respond(question, history[:-1], district, body, k, pipeline, loader=loader,
                                     answered=answered):
            shown = [*history, {"role": "assistant", "content": text}]
            if sources:
                sections = [*sections, sources]
            yield "", shown, sections, sources_panel(sections) if sources else gr.skip(), gr.skip()
        # what a 👍/👎 on this answer refers to: the answer as `rag ask --json` gives it, and the questions before it
        answer = answered[-1] if answered else None
        yield (gr.skip(), gr.skip(), gr.skip(), gr.skip(),
               [*rated, {"answer": answer.to_json() if answer is not None else None, "history": earlier}])

    def rate(rated: list, like: gr.LikeData):
        """A 👍/👎 on an answer: kept in RAG_HOME/feedback.jsonl; a 👎 opens the correction box."""
        turn = like.index if isinstance(like.index, int) else like.index[0]
        entry = rated[(turn - 1) // 2] if turn % 2 == 1 and 0 <= (turn - 1) // 2 < len(rated) else None
        if entry is None or entry["answer"] is None:
            return None, gr.update(visible=False), "这条消息不是答案,无法评价。", "", False
        fid = feedback.add(entry["answer"], entry["history"], like.liked is True)
        if like.liked is True:
            return fid, gr.update(visible=False), "已记下:答案正确 👍", "", False
        return fid, gr.update(visible=True), "已记下 👎。愿意的话,写下正确答案(或勾选「文章里没有答案」)。", "", False

    def save_correction(fid: str | None, correction: str, no_answer: bool):
        if not fid:
            return gr.update(visible=False), "先在答案上点 👎,再写更正。", gr.skip()
        text = (correction or "").strip()
        if not text and not no_answer:
            return gr.update(visible=True), "请写出正确答案,或勾选「文章里没有答案」。", gr.skip()
        try:
            feedback.correct(fid, text, no_answer)
        except ValueError as exc:
            return gr.update(visible=True), str(exc), gr.skip()
        return gr.update(visible=False), "已记下更正,谢谢。`rag eval --from-feedback` 会把它变成评测题。", ""

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
        return message_text(evt.value)

    def refresh_index(query: str = ""):
        problem = loaded()
        if problem:
            return (f"索引无法打开: {md_escape(problem)}", [], gr.update(choices=[ALL]), gr.update(choices=[], value=[]),
                    gr.update(choices=[ALL]))
        docs = newest_first(pipeline)
        rows = documents_table(docs, query or "")
        districts = pipeline.districts()
        bodies = sorted({b for d in docs for b in d.body.split("、") if b})
        return (index_summary(rows, query or ""), rows, gr.update(choices=[ALL, *districts], visible=bool(districts)),
                gr.update(choices=document_choices(docs), value=[]),
                gr.update(choices=[ALL, *bodies], visible=bool(bodies)))

    examples_cache: dict = {}
    examples_lock = threading.Lock()

    def refresh_examples():
        """Example questions from the indexed articles (rag.examples), worked out again when the index changed."""
        if loaded():
            return gr.skip()
        docs = pipeline.documents()
        key = (len(docs), max((d.ingested for d in docs), default=""), sum(d.chunks for d in docs))
        with examples_lock:
            if examples_cache.get("key") != key:
                examples_cache.update(key=key, value=example_questions(pipeline, documents=docs))
            found = examples_cache["value"]
        return gr.update(examples=[{"text": q} for q in found] or None)

    def upload(files: list[str] | None, replace: bool, query: str,
               progress=gr.Progress()):  # noqa: B008 - Gradio injects progress this way
        problem = loaded()
        if problem:
            return (f"索引无法打开: {md_escape(problem)}", *refresh_index(query), None)
        try:
            status, problems = ingest_uploads(files, pipeline, upload_dir,
                                              lambda f, what: progress(f, desc=what), lock=lock, replace=replace)
        finally:
            discard_uploaded(files)  # kept (under RAG_HOME/uploads) or refused: Gradio's copy is not needed
        for p in problems:
            gr.Warning(p)
        return (status, *refresh_index(query), None)

    def delete(paths: list[str] | None, query: str):
        problem = loaded()
        status = f"索引无法打开: {md_escape(problem)}" if problem else remove_documents(paths, pipeline, lock=lock)
        return (status, *refresh_index(query))

    # Gradio's upload cache: files older than UPLOAD_CACHE_S removed every UPLOAD_CACHE_S, all of them at shutdown
    with gr.Blocks(title="新闻问答 · rag", analytics_enabled=False,
                   delete_cache=(UPLOAD_CACHE_S, UPLOAD_CACHE_S)) as demo:
        gr.Markdown("## 新闻问答\n答案只来自已索引的新闻稿;每个 [n] 都能点开,看到原文段落。")
        with gr.Tab("问答"):
            sections = gr.State([])
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="对话", elem_id="rag-chat", height=520,
                        placeholder="问一个关于已索引文章的问题,或点一个示例(示例取自你的文章)。追问会沿用上文,"
                                    "例如先问某地某项数字,再问“那去年呢?”",
                    )
                    with gr.Row():
                        msg = gr.Textbox(placeholder="输入问题,回车发送", show_label=False, scale=5,
                                         elem_id="rag-input", autofocus=True, max_length=MAX_QUESTION_CHARS)
                        send = gr.Button("发送", variant="primary", scale=1, min_width=80)
                    with gr.Row():
                        clear = gr.Button("清空对话", size="sm", elem_id="rag-clear")
                    rated = gr.State([])
                    rated_id = gr.State(None)
                    with gr.Group(visible=False, elem_id="rag-correction") as correction_box:
                        correction = gr.Textbox(label="👎 正确的答案是?(可选,写给评测集)", max_lines=3,
                                                max_length=MAX_CORRECTION_CHARS, elem_id="rag-correction-text")
                        no_answer = gr.Checkbox(False, label="文章里没有答案(应当拒答)", elem_id="rag-no-answer")
                        save_fix = gr.Button("保存更正", size="sm", elem_id="rag-correction-save")
                    feedback_status = gr.Markdown(elem_id="rag-feedback-status")
                with gr.Column(scale=2):
                    with gr.Accordion("筛选", open=True):
                        # facets read from the indexed articles (none shown where the articles have no such values)
                        district = gr.Dropdown([ALL], value=ALL, label="地点", elem_id="rag-district", visible=False)
                        body = gr.Radio([ALL], value=ALL, label="机构", elem_id="rag-body", visible=False)
                        k = gr.Slider(1, 10, value=DEFAULT_K, step=1, label="来源数", elem_id="rag-k")
                    gr.Markdown("### 来源")
                    panel = gr.HTML(SOURCES_PLACEHOLDER, elem_id="rag-sources", js_on_load=SOURCES_JS)

        with gr.Tab("索引"):
            summary = gr.Markdown()
            with gr.Row():
                doc_query = gr.Textbox(placeholder="按标题或文件名查找", show_label=False, scale=4,
                                       elem_id="rag-doc-search")
                refresh = gr.Button("刷新列表", scale=1, min_width=80)
            docs = gr.Dataframe(headers=DOCUMENT_HEADERS, interactive=False, wrap=True, elem_id="rag-docs",
                                column_widths=["34%", "12%", "10%", "7%", "9%", "14%", "14%"])
            with gr.Row():
                chosen = gr.Dropdown([], multiselect=True, label="选择要删除的文档", scale=4, elem_id="rag-delete-choice")
                delete_btn = gr.Button("删除所选", variant="stop", scale=1, min_width=80, elem_id="rag-delete")
            files = gr.File(label=f"上传文档:{' '.join(UPLOAD_SUFFIXES)}(一次至多 {MAX_UPLOAD_FILES} 个,"
                                  f"每个不超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB)",
                            file_count="multiple", file_types=list(UPLOAD_SUFFIXES), elem_id="rag-upload")
            replace = gr.Checkbox(False, label="替换同名的已上传文档(上传更正后的新版本)", elem_id="rag-replace")
            add = gr.Button("加入索引", variant="primary", elem_id="rag-add")
            status = gr.Markdown(elem_id="rag-ingest-status")

        with gr.Tab("评测"):
            eval_md = gr.Markdown(elem_id="rag-eval")
            eval_charts = gr.HTML()
            reload_eval = gr.Button("重新读取", size="sm")

        # A question sent while an answer is still streaming waits for it instead of being dropped.
        chat_io = {"fn": chat, "inputs": [msg, chatbot, sections, rated, district, body, k],
                   "outputs": [msg, chatbot, sections, panel, rated], "trigger_mode": "always_last"}
        msg.submit(**chat_io)
        send.click(**chat_io)
        chatbot.example_select(pick_example, None, msg).then(**chat_io)
        clear.click(lambda: ("", [], [], SOURCES_PLACEHOLDER, []), None, [msg, chatbot, sections, panel, rated],
                    queue=False)
        chatbot.clear(lambda: ([], SOURCES_PLACEHOLDER, []), None, [sections, panel, rated], queue=False)
        chatbot.like(rate, rated, [rated_id, correction_box, feedback_status, correction, no_answer])
        save_fix.click(save_correction, [rated_id, correction, no_answer], [correction_box, feedback_status, correction])
        index_outputs = [summary, docs, district, chosen, body]
        add.click(upload, [files, replace, doc_query], [status, *index_outputs, files]).then(
            refresh_examples, None, chatbot)
        delete_btn.click(delete, [chosen, doc_query], [status, *index_outputs]).then(refresh_examples, None, chatbot)
        refresh.click(refresh_index, doc_query, index_outputs)
        doc_query.change(refresh_index, doc_query, index_outputs, trigger_mode="always_last")
        reload_eval.click(eval_view, None, [eval_md, eval_charts])
        demo.load(refresh_index, None, index_outputs).then(refresh_examples, None, chatbot).then(
            eval_view, None, [eval_md, eval_charts])
        gr.api(ask, api_name="ask")  # Client(url).predict("问题", api_name="/ask") -> {"answer", "citations", ...}
    return demo


def _theme() -> gr.themes.Base:
    return gr.themes.Default(font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "ui-sans-serif",
                                   "system-ui", "sans-serif"])


def private_upload_cache() -> Path:
    """Gradio keeps every file posted to its upload route in GRADIO_TEMP_DIR; this process gets a folder of its own
    inside it, removed when the UI stops (Ctrl-C or `kill`), and the folders of UIs that died are removed at start."""
    from gradio.utils import get_upload_folder

    base = Path(get_upload_folder())  # GRADIO_TEMP_DIR, or Gradio's folder in the system's temporary one
    for old in base.glob("rag-ui-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    cache = base / f"rag-ui-{os.getpid()}"
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(cache)
    atexit.register(shutil.rmtree, cache, True)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill`: leave through atexit, the cache removed
    return cache


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860,
           auth: tuple[str, str] | None = None) -> None:
    """Serve the page at once; the index opens (the bundled corpus indexed into an empty store) in the background."""
    check_port(host, port)  # before anything slow, not after
    private_upload_cache()
    pipeline = Pipeline.from_settings(settings)
    print("opening the index in the background; the page is served meanwhile", file=sys.stderr)
    loader = Loader(pipeline).start()
    if not is_loopback(host) and not auth:  # `rag ui` asks for --insecure first
        print(f"warning: serving on {host} without --auth: anyone who can reach this port can use it",
              file=sys.stderr)
    demo = build_demo(pipeline, loader)
    try:
        # questions of different sessions overlap in the pipeline as they do in `rag serve` (ui.net.in_flight)
        demo.queue(default_concurrency_limit=in_flight()).launch(
            server_name=server_name(host), server_port=port, auth=auth, share=False, prevent_thread_lock=False,
            footer_links=["gradio", "settings"], ssr_mode=False, mcp_server=False,
            max_file_size=MAX_UPLOAD_BYTES, theme=_theme(), css=CSS,
            app_kwargs={"middleware": [Middleware(UploadGate, max_files=MAX_UPLOAD_FILES, max_bytes=MAX_UPLOAD_BYTES,
                                                  suffixes=UPLOAD_SUFFIXES)]},
        )
    except OSError as exc:  # the port was taken since the check
        raise RagError(f"cannot listen on {host}:{port}; pick a free port with --port N") from exc
