"""The chat UI's plain functions: respond over the real pipeline, source cards, uploads, the eval view."""

import html
import json
import re
from pathlib import Path

import gradio as gr
import pytest

from rag import cite
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Answer, Citation
from ui import evalview
from ui.app import build_demo
from ui.chat import ALL, LOADING, PENDING, Loader, format_answer, render_card, render_sources, respond, user_turns
from ui.documents import MAX_UPLOAD_BYTES, ingest_uploads
from ui.evalview import eval_view, find_eval_file
from ui.net import is_loopback, server_name

ARTICLE = """金水区人大常委会工作报告解读

记者 王明

2020年,金水区人大常委会围绕全区中心工作,依法履行监督职责,全年召开常委会会议9次,审议议题36项,推动解决了一批群众关心的热点难点问题。

金水区人大常委会持续关注教育民生,督促区政府新建改扩建中小学校8所,新增学位6200个,有效缓解了入学难问题。
"""


@pytest.fixture(scope="module")
def pipeline(corpus_index) -> Pipeline:
    """A pipeline over the session's indexed bundled corpus (read only: questions, no ingest)."""
    base = Settings.from_env()
    return Pipeline(Settings(home=corpus_index.home, cache_dir=base.cache_dir, embed_model=base.embed_model))


def _run(message, history=(), district=ALL, body=ALL, k=5, pipeline=None) -> list[tuple[str, str]]:
    return list(respond(message, list(history), district, body, k, pipeline))


def _visible(markup: str) -> str:
    """What a reader sees: tags dropped, character references decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


# -- respond, with the real pipeline ------------------------------------------
@pytest.mark.slow
def test_answer_streams_in_then_ends_with_its_source_card(pipeline):
    steps = _run("二七区新增多少学位?", pipeline=pipeline)
    assert steps[0] == (PENDING, "")
    assert len(steps) > 3, "the answer should arrive in several steps"
    streamed = [_visible(text).rstrip(" ▍") for text, _ in steps[1:-1]]
    assert all(b.startswith(a) for a, b in zip(streamed, streamed[1:], strict=False))
    assert all(sources == "" for _, sources in steps[:-1])

    text, sources = steps[-1]
    assert "1.04万" in _visible(text)
    assert '<a class="rag-cite" href="#src-1-1">' in text
    assert 'id="src-1-1"' in sources
    marked = re.search(r"<mark>(.*?)</mark>", sources).group(1)
    assert "庆泰路小学" in marked and "1.04万" in marked
    assert re.search(r"第\d+段", sources)
    for field in ("二七区", "人大", "景静", "001_187c4b3ab0ed4735.txt", "复制引用"):
        assert field in sources


@pytest.mark.slow
@pytest.mark.parametrize(
    "history",
    [
        [{"role": "user", "content": "二七区新增多少学位?"}, {"role": "assistant", "content": "新增优质学位1.04万个。[1]"}],
        # Gradio 6 may hand content over as a list of parts.
        [{"role": "user", "content": [{"type": "text", "text": "二七区新增多少学位?"}]},
         {"role": "assistant", "content": [{"type": "text", "text": "新增优质学位1.04万个。[1]"}]}],
    ],
)
def test_follow_up_uses_the_conversation(pipeline, history):
    text, sources = _run("有多少所学校投入使用?", history, pipeline=pipeline)[-1]
    assert "14所" in _visible(text)
    assert 'href="#src-2-1"' in text and 'id="src-2-1"' in sources  # second question, its own cards


@pytest.mark.slow
def test_refusal_is_shown_as_a_refusal_not_an_answer(pipeline):
    steps = _run("金水区2020年新增了多少学位?", pipeline=pipeline)
    text, sources = steps[-1]
    assert len(steps) == 2, "a refusal is shown at once, not streamed"
    assert 'class="rag-badge rag-refused">未找到' in text
    assert "rag-refused" in sources and "rag-card" not in sources


@pytest.mark.slow
def test_district_filter_and_source_count_reach_the_pipeline(pipeline):
    text, sources = _run("收到多少件提案?", district="惠济区", body="政协", k=3, pipeline=pipeline)[-1]
    districts = re.findall(r'<div class="rag-meta">([^ <]+)', sources)
    assert districts and set(districts) == {"惠济区"}
    assert "135" in _visible(text)


def test_an_empty_message_gets_an_error_line_not_an_answer():
    (text, sources), = _run("   ", pipeline=None)
    assert "rag-error" in text and "二七区新增多少学位" in _visible(text) and sources == ""


# -- rendering ------------------------------------------------------------------
def _citation(**kw) -> Citation:
    base = dict(n=1, source="a.txt", paragraph=3, title="标题", district="二七区", quote="乙句。", score=0.5,
                body="人大", reporter="景静", context="甲句。乙句。丙句。")
    return Citation(**{**base, **kw})


def test_card_marks_the_quote_inside_its_paragraph_and_escapes_everything():
    c = _citation(title="<script>alert(1)</script>", reporter='A"B', quote="乙 <b>句", context="甲句。乙<b>句。丙")
    html_ = render_sources(Answer("q<i>", "乙句。[1]", False, [c]), turn=4)
    assert "<script>" not in html_ and "<b>" not in html_ and "<i>" not in html_
    assert "&lt;script&gt;" in html_
    # whitespace differences between quote and paragraph do not lose the highlight
    assert "甲句。<mark>乙&lt;b&gt;句</mark>。丙" in html_
    assert 'id="src-4-1"' in html_ and 'data-turn="4"' in html_
    assert f'data-cite="{html.escape(cite.formatted(c), quote=True)}"' in html_


def test_card_shows_where_and_when_it_was_published_and_the_answer_copies_as_the_cli_prints():
    c = _citation(outlet="某某日报", date="2021-02-05", page="5", url="https://example.com/a?b=1&c=2")
    a = Answer("q", "乙句。[1]", False, [c])
    html_ = render_sources(a)
    assert "某某日报 2021-02-05 第5版" in html_
    assert '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">原文</a>' in html_
    for text in (cite.gbt7714(a), cite.markdown(a), cite.formatted(c)):
        assert f'data-cite="{html.escape(text, quote=True)}"' in html_
    # a refusal's nearest paragraph is not offered as the answer's source
    assert "rag-copy-gbt" not in render_sources(Answer("q", "没有。最接近的段落见[1]。", True, [c]))
    assert 'href="javascript' not in render_sources(Answer("q", "a[1]", False, [_citation(url="javascript:alert(1)")]))


def test_a_quote_missing_from_its_paragraph_is_still_shown():
    html_ = render_sources(Answer("q", "x[1]", False, [_citation(quote="别处的话", context="甲句。")]))
    assert "甲句。" in html_ and "<mark>别处的话</mark>" in html_


def test_answer_links_known_markers_and_keeps_markdown_literal():
    a = Answer("q", "共*3*项[1],见[2]。", False, [_citation()])
    text = format_answer(a, turn=2)
    assert '<a class="rag-cite" href="#src-2-1">&#91;1&#93;</a>' in text
    assert "src-2-2" not in text and "&#91;2&#93;" in text  # no card for [2]: not a link
    assert "*" not in text and _visible(text) == "共*3*项[1],见[2]。"
    refused = format_answer(Answer("q", "语料中没有。", True), turn=1)
    assert refused.startswith('<span class="rag-badge rag-refused">未找到</span>')


def test_user_turns_reads_gradio_messages_oldest_first():
    history = [
        {"role": "user", "content": "一"},
        {"role": "assistant", "content": "答"},
        {"role": "user", "content": [{"type": "text", "text": "二"}]},
        {"role": "assistant", "content": "答"},
    ]
    assert user_turns(history) == ["一", "二"]
    assert user_turns([("一", "答"), ["二", None]]) == ["一", "二"]
    assert user_turns(None) == []


# -- uploads ----------------------------------------------------------------------
def test_uploads_are_checked_before_anything_is_indexed(tmp_path):
    (tmp_path / "a.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "big.pdf").write_bytes(b"a" * (MAX_UPLOAD_BYTES + 1))
    (tmp_path / "empty.md").write_bytes(b"")
    files = [tmp_path / "a.xls", tmp_path / "big.pdf", tmp_path / "empty.md"]
    status, problems = ingest_uploads(files, pipeline=None, upload_dir=tmp_path / "uploads")
    assert [p.split(":")[0] for p in problems] == ["a.xls", "big.pdf", "empty.md"]
    assert "不支持的文件类型 .xls;支持 .txt .md .pdf .docx" in problems[0]
    assert "超过 20 MB 上限" in problems[1] and "空" in problems[2]
    assert all("\n" not in p for p in problems)
    assert not (tmp_path / "uploads").exists()
    assert ingest_uploads([], pipeline=None, upload_dir=tmp_path)[1] == ["没有选择文件"]


@pytest.mark.slow
def test_an_uploaded_article_is_kept_indexed_and_answerable(tmp_path, settings):
    upload = tmp_path / "gradio-tmp" / "金水区新闻.txt"
    upload.parent.mkdir()
    upload.write_text(ARTICLE, encoding="utf-8")
    p = Pipeline(settings)
    seen: list[float] = []
    status, problems = ingest_uploads([upload], p, settings.home / "uploads", lambda f, what: seen.append(f))
    assert problems == [] and "新增 2 个段落" in status
    (kept,) = (settings.home / "uploads").glob("*/金水区新闻.txt")  # one folder per content
    assert kept.read_text(encoding="utf-8") == ARTICLE
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    assert [(d.source, d.district, d.chunks) for d in p.documents()] == [("金水区新闻.txt", "金水区", 2)]
    text, sources = list(respond("金水区新增多少学位?", [], ALL, ALL, 5, p))[-1]
    assert "6200" in _visible(text) and "金水区新闻.txt" in sources
    # the same upload again changes nothing
    assert "新增 0 个段落" in ingest_uploads([upload], p, settings.home / "uploads")[0]


@pytest.mark.slow
def test_an_upload_competes_on_content_beside_an_article_of_its_name(corpus_index, tmp_path):
    import shutil

    home = tmp_path / "home"
    shutil.copytree(corpus_index.home, home)
    base = Settings.from_env()
    p = Pipeline(Settings(home=home, cache_dir=base.cache_dir, embed_model=base.embed_model))
    drop = tmp_path / "gradio-tmp"
    drop.mkdir()
    fake = drop / "001_187c4b3ab0ed4735.txt"  # a bundled article's file name
    fake.write_text("二七区今年新增优质学位99万个。\n", encoding="utf-8")
    assert ingest_uploads([fake], p, p.upload_dir)[1] == []
    # beside the article of that name, not in its place; ranked by what it says, and its card says it was uploaded
    assert sorted(d.origin for d in p.documents() if d.source == fake.name) == ["file", "upload"]
    answer = p.ask("二七区新增多少学位?")
    assert {c.quote for c in answer.citations} & {"持续跟踪督导中小学、幼儿园新建项目建设,庆泰路小学等14所中小学、幼儿园投入使用,新增优质学位1.04万个。",
                                                  "二七区今年新增优质学位99万个。"}
    hit = p.search("二七区今年新增优质学位99万个", k=8)[0]
    assert hit.chunk.source == fake.name and hit.chunk.origin == "upload" and hit.chunk.ingested
    card = render_card(Citation(1, fake.name, 1, "", "二七区", "二七区今年新增优质学位99万个。", 1.0,
                                origin="upload", ingested=hit.chunk.ingested))
    assert "用户上传" in card

    # Another file under an uploaded name is held back until the user says it replaces the old one; then it
    # does, in one step; the same file again is a no-op.
    (drop / "evil.txt").write_text("青石县新建学校3所。\n", encoding="utf-8")
    assert ingest_uploads([drop / "evil.txt"], p, p.upload_dir)[1] == []
    (drop / "evil.txt").write_text("青石县新建学校5所。\n", encoding="utf-8")
    status, problems = ingest_uploads([drop / "evil.txt"], p, p.upload_dir)
    assert len(problems) == 1 and "同名" in problems[0] and "替换" in problems[0]
    assert [f.read_text(encoding="utf-8") for f in p.upload_dir.glob("*/evil.txt")] == ["青石县新建学校3所。\n"]
    status, problems = ingest_uploads([drop / "evil.txt"], p, p.upload_dir, replace=True)
    assert problems == [] and "替换了 1 篇旧版本" in status
    assert [f.read_text(encoding="utf-8") for f in p.upload_dir.glob("*/evil.txt")] == ["青石县新建学校5所。\n"]
    assert [d.chunks for d in p.documents() if d.source == "evil.txt"] == [1]
    assert "5所" in p.ask("青石县新建学校几所?").answer
    assert "新增 0 个段落" in ingest_uploads([drop / "evil.txt"], p, p.upload_dir)[0]

    # A file the index rejects is not kept.
    (drop / "binary.txt").write_bytes(bytes(range(256)) * 4)
    status, problems = ingest_uploads([drop / "binary.txt"], p, p.upload_dir)
    assert problems and "binary" in problems[0]
    assert not list(p.upload_dir.glob("*/binary.txt"))


# -- loading in the background --------------------------------------------------------
@pytest.mark.slow
def test_a_question_sent_while_the_index_opens_shows_a_note_then_its_answer(pipeline):
    import threading

    gate = threading.Event()

    class Slow(Pipeline):
        def warm_up(self) -> None:
            gate.wait(10)
            super().warm_up()

    loader = Loader(Slow(pipeline.settings)).start()
    steps = respond("二七区新增多少学位?", [], ALL, ALL, 5, loader.pipeline, loader=loader)
    assert next(steps) == (LOADING, "")  # shown at once, while loading is held back
    assert not loader.done.is_set()
    gate.set()
    text, sources = list(steps)[-1]
    assert "1.04万" in _visible(text) and sources
    assert loader.done.is_set() and loader.error is None


def test_a_store_that_cannot_open_is_said_in_the_chat_not_a_dead_page(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    base = Settings.from_env()
    loader = Loader(Pipeline(Settings(home=blocked, cache_dir=base.cache_dir, embed_model=base.embed_model)))
    loader.start().done.wait(60)
    assert loader.error
    text, sources = list(respond("二七区新增多少学位?", [], ALL, ALL, 5, loader.pipeline, loader=loader))[-1]
    assert "出错" in text and sources == ""


# -- eval tab -------------------------------------------------------------------------
def test_eval_view_shows_overall_and_per_type_charts(tmp_path):
    run = {"set": "evals/dev.jsonl", "n": 4, "overall": {"hit@1": 0.75, "latency_ms_p50": 31.4},
           "by_type": {"factoid": {"hit@1": 1.0}, "<followup>": {"hit@1": 0.5}}, "n_by_type": {"factoid": 2}}
    path = tmp_path / "last_run.json"
    path.write_text(json.dumps(run), encoding="utf-8")
    summary, charts = eval_view(path)
    assert "| hit@1 | 75.0% |" in summary and "| latency_ms_p50 | 31 ms |" in summary
    assert "factoid · n=2" in charts and "&lt;followup&gt;" in charts and 'style="width:50.0%"' in charts


def test_eval_view_without_a_run_or_with_a_broken_file(tmp_path, monkeypatch):
    monkeypatch.setattr(evalview, "EVAL_FILES", (tmp_path / "last_run.json", tmp_path / "baseline.json"))
    assert eval_view()[0].startswith("no eval run yet")
    (tmp_path / "baseline.json").write_text('{"overall": {"mrr": 0.9}}', encoding="utf-8")
    assert "| mrr | 90.0% |" in eval_view()[0]
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert eval_view(broken)[0].startswith("cannot read broken.json")


def test_the_latest_run_is_preferred_over_the_baseline(tmp_path):
    last, base = tmp_path / "last_run.json", tmp_path / "baseline.json"
    base.write_text("{}", encoding="utf-8")
    assert find_eval_file((last, base)) == base
    last.write_text("{}", encoding="utf-8")
    assert find_eval_file((last, base)) == last


# -- the page -----------------------------------------------------------------------------
def test_building_the_page_loads_and_serves_nothing(settings):
    demo = build_demo(Pipeline(settings))
    assert isinstance(demo, gr.Blocks)
    assert not settings.home.exists(), "building the page must not open the store"
    assert not getattr(demo, "is_running", False)


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert is_loopback("[::1]")
    # Gradio builds http://HOST:PORT: an IPv6 host needs its brackets (`--host ::` crashed without them).
    assert server_name("::") == server_name("[::]") == "[::]" and server_name("0.0.0.0") == "0.0.0.0"


def test_nothing_starts_on_import():
    import subprocess
    import sys

    code = "import threading, ui.app; print(threading.active_count())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "1"
