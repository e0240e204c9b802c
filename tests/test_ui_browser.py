"""End to end: `rag ui` on a free port, driven through Debian's Chromium: a question, its source, a follow-up."""

import contextlib
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from processes import free_port, serving
from readme import snippet

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOT = ROOT / "docs" / "ui-screenshot.png"
# A fresh RAG_HOME: the server indexes the bundled corpus and loads the model before it listens.
SERVER_START_S = 300
ANSWER_MS = 120_000
NEWEST_BOT = '[data-testid="bot"] >> nth=-1'


@pytest.fixture
def server(tmp_path: Path, rag_env: Path):
    """`python -m rag ui --port N` with RAG_HOME in tmp and the shared model cache; stopped afterwards."""
    yield from _serve(tmp_path, rag_env)


@pytest.fixture
def indexed_server(tmp_path: Path, rag_env: Path, corpus_index):
    """The same over a copy of the session's indexed corpus (no indexing at start)."""
    shutil.copytree(corpus_index.home, rag_env)
    yield from _serve(tmp_path, rag_env)


def _serve(tmp_path: Path, rag_env: Path):
    with _served(tmp_path, rag_env) as url:
        yield url


@contextlib.contextmanager
def _served(tmp_path: Path, rag_env: Path):
    port = free_port()
    with serving([sys.executable, "-m", "rag", "ui", "--port", str(port)], port, tmp_path / "server.log",
                 SERVER_START_S, env={**os.environ, "RAG_HOME": str(rag_env)}, what="`rag ui`"):
        yield f"http://127.0.0.1:{port}/"


@pytest.fixture
def page():
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is missing; install it with `make browser` (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.grant_permissions(["clipboard-read", "clipboard-write"])
            yield context.new_page()
        finally:
            browser.close()


def _ask(page, question: str, turn: int) -> float:
    """Send a question; return once its answer is complete (its source section has arrived)."""
    started = time.monotonic()
    box = page.locator("#rag-input textarea")
    box.fill(question)
    box.press("Enter")
    page.locator(f'#rag-sources .rag-turn[data-turn="{turn}"]').wait_for(state="attached", timeout=ANSWER_MS)
    return time.monotonic() - started


def test_the_ask_api_answers_gradio_client_with_citations(server, capsys):
    """`rag ui` serves its page before the index is open; /ask waits for it and answers as `rag ask --json`."""
    from gradio_client import Client

    client = Client(server, verbose=False)
    got = client.predict("二七区新增多少学位?", api_name="/ask")
    assert "1.04万" in got["answer"] and not got["refused"]
    assert got["citations"][0]["source"] == "001_187c4b3ab0ed4735.txt" and "1.04万" in got["citations"][0]["quote"]
    follow = client.predict("有多少所学校投入使用?", ["二七区新增多少学位?"], api_name="/ask")
    assert "14所" in follow["answer"]
    assert client.predict("？？？", api_name="/ask")["refused"] is True
    # A lone surrogate (JSON "\ud800", which gradio_client cannot even send) is an error event for the
    # caller, not a crashed handler; the server answers the next question as before.
    event = _call(server, "ask", '{"data": ["\\ud800二七区新增多少学位?", null]}')
    assert event.startswith("event: error") and "not valid text" in event, event
    assert "1.04万" in client.predict("二七区新增多少学位?", api_name="/ask")["answer"]
    # the README's Gradio snippet, as written, against this server
    capsys.readouterr()
    exec(snippet("### Gradio API").replace('"http://127.0.0.1:7860/"', repr(server)), {})  # noqa: S102
    printed = capsys.readouterr().out
    assert "新增优质学位1.04万个" in printed and "14所" in printed


def _call(server: str, api: str, body: str) -> str:
    """POST raw JSON to Gradio's HTTP API and return the first event of the result stream."""
    import json
    import urllib.request

    post = urllib.request.Request(f"{server}gradio_api/call/{api}", data=body.encode("utf-8"),
                                  headers={"Content-Type": "application/json"})
    event_id = json.loads(urllib.request.urlopen(post, timeout=30).read())["event_id"]
    with urllib.request.urlopen(f"{server}gradio_api/call/{api}/{event_id}", timeout=60) as stream:
        return stream.read().decode("utf-8", "replace")


def test_gradios_own_upload_route_keeps_the_upload_limit_and_leaves_no_files(tmp_path, rag_env, corpus_index):
    """The raw upload route once took any file up to 50 MB, of any type and any number, past the limits of the
    upload box, and kept it on disk after the UI stopped."""
    import httpx

    from ui.documents import MAX_UPLOAD_BYTES, MAX_UPLOAD_FILES

    shutil.copytree(corpus_index.home, rag_env)
    cache = tmp_path / "gradio-cache"
    port = free_port()
    with serving([sys.executable, "-m", "rag", "ui", "--port", str(port)], port, tmp_path / "server.log",
                 SERVER_START_S, env={**os.environ, "RAG_HOME": str(rag_env), "GRADIO_TEMP_DIR": str(cache)},
                 what="`rag ui`"):
        url = f"http://127.0.0.1:{port}/gradio_api/upload"
        big = httpx.post(url, files={"files": ("big.txt", b"a" * (MAX_UPLOAD_BYTES + 1024), "text/plain")}, timeout=60)
        assert big.status_code == 413, big.text
        # the type and count limits of the upload box hold here too, and the refused files are not kept
        exe = httpx.post(url, files={"files": ("tool.exe", b"MZ" + b"\0" * 4096, "application/octet-stream")}, timeout=60)
        assert exe.status_code == 415 and ".exe" in exe.text, exe.text
        many = httpx.post(url, files=[("files", (f"n{i}.txt", b"x", "text/plain")) for i in range(MAX_UPLOAD_FILES + 1)],
                          timeout=60)
        assert many.status_code == 413 and str(MAX_UPLOAD_FILES) in many.text, many.text
        assert not any(p.is_file() for p in cache.rglob("*"))
        small = httpx.post(url, files={"files": ("small.txt", "青石县新修道路12公里。".encode(), "text/plain")}, timeout=60)
        assert small.status_code == 200 and small.json()[0].startswith(str(cache)), small.text
        assert any(p.is_file() for p in cache.rglob("*"))
    assert not any(p.is_file() for p in cache.rglob("*"))  # removed when the UI stopped


def test_a_question_is_answered_while_an_upload_is_being_indexed(indexed_server, tmp_path):
    """Uploads no longer hold the index: a second session asks while the first one's upload is indexed."""
    from gradio_client import Client, handle_file

    big = tmp_path / "县域新闻汇编.txt"  # ~700 distinct paragraphs (~60 KB): ~30 s of chunking and embedding here
    big.write_text("县域新闻汇编\n\n" + "\n\n".join(
        f"第{i}期:某县第{i % 37 + 1}镇今年新修乡村道路{i * 3 % 97 + 5}公里,投入资金{i * 7 % 89 + 11}万元,"
        f"惠及群众{i * 13 % 900 + 100}户。" for i in range(700)) + "\n", encoding="utf-8")
    uploader, asker = Client(indexed_server, verbose=False), Client(indexed_server, verbose=False)
    assert "1.04万" in asker.predict("二七区新增多少学位?", api_name="/ask")["answer"]  # the index is open
    job = uploader.submit([handle_file(str(big))], False, "", api_name="/upload")
    deadline = time.monotonic() + 60
    while job.status().code.name not in ("PROCESSING", "PROGRESS", "ITERATING") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)  # well inside the upload: the model loads, the file is read and chunked
    assert not job.done(), job.result()
    started = time.monotonic()
    got = asker.predict("二七区新增多少学位?", api_name="/ask")
    took = time.monotonic() - started
    assert "1.04万" in got["answer"]
    assert not job.done(), "the upload finished before the question was answered: make the file bigger"
    print(f"answered in {took:.2f} s while the upload was being indexed")
    assert took < 3
    status = job.result(timeout=240)[0]
    assert "新增 701 个段落" in status or "新增 700 个段落" in status, status
    after = asker.predict("第5期某县道路修了多少公里?", api_name="/ask")
    assert "县域新闻汇编.txt" in {c["source"] for c in after["citations"]}


def test_question_source_card_and_follow_up_in_a_real_browser(server, page, tmp_path, rag_env):
    from playwright.sync_api import expect

    started = time.monotonic()
    page.goto(server, timeout=60_000)
    page.locator("#rag-input textarea").wait_for(timeout=60_000)
    load_s = time.monotonic() - started

    first_s = _ask(page, "二七区新增多少学位?", 1)
    expect(page.locator(NEWEST_BOT)).to_contain_text("1.04万")
    card = page.locator('#rag-sources .rag-turn[data-turn="1"] .rag-card').first
    expect(card).to_be_visible()
    expect(card.locator("mark")).to_contain_text("庆泰路小学")
    expect(card).to_contain_text("二七区")
    expect(card).to_contain_text("景静")

    follow_s = _ask(page, "有多少所学校投入使用?", 2)
    expect(page.locator(NEWEST_BOT)).to_contain_text("14所")
    expect(page.locator('[data-testid="bot"]')).to_have_count(2)
    expect(page.locator('#rag-sources .rag-turn[data-turn="2"] .rag-card').first).to_be_visible()

    shot = tmp_path / "ui-screenshot.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("RAG_UPDATE_SCREENSHOT"):  # refresh the README's picture on purpose, not on every run
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
    print(f"page {load_s:.1f} s, first answer {first_s:.1f} s, follow-up {follow_s:.1f} s; screenshot {shot}")

    # [1] in the first answer brings back that answer's card; its button copies the formatted citation.
    page.locator('[data-testid="bot"] a.rag-cite').first.click()
    expect(page.locator("#src-1-1")).to_be_visible()
    expect(page.locator("#src-2-1")).to_be_hidden()
    page.locator("#src-1-1 button.rag-copy").click()
    expect(page.locator("#src-1-1 button.rag-copy")).to_have_text("已复制")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("「") and "庆泰路小学" in copied and "001_187c4b3ab0ed4735.txt" in copied
    assert "景静. 解读二七区人大常委会工作报告" in copied
    # The answer's own button copies what `rag ask --cite-format gbt7714` prints.
    whole = page.locator('#rag-sources .rag-turn[data-turn="1"] button.rag-copy-gbt')
    whole.click()
    expect(whole).to_have_text("已复制")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.split("\n")[0].endswith("新增优质学位1.04万个。[1]") and "\n参考文献:\n[1] 景静. 解读二七区人大常委会工作报告" in copied
    expect(whole).to_have_text("复制答案与参考文献 (GB/T 7714)", timeout=5000)

    # A refusal is shown as one, with its badge.
    _ask(page, "金水区2020年新增了多少学位?", 3)
    expect(page.locator(NEWEST_BOT).locator(".rag-refused")).to_have_text("未找到")

    # Feedback on the first two answers, kept and turned into eval items.
    _rate_the_first_two_answers(page, rag_env, tmp_path)

    page.locator("#rag-clear").click()
    expect(page.locator('[data-testid="bot"]')).to_have_count(0)


def test_llm_mode_in_a_real_browser_checked_answer_then_one_replaced(tmp_path, rag_env, corpus_index, page):
    """LLM mode end to end: `rag ui` with a scripted OpenAI-compatible model; a checked answer carries 已核对 and
    links its source; a changed figure is never shown, the extractive answer stands in with 原文摘录 and why."""
    from llm_server import Reply, number_of, scripted_llm, user_of

    def script(body: dict) -> Reply:
        if "<资料" not in user_of(body):
            return Reply("二七区新增了多少学位?")  # a follow-up rewritten
        n = number_of(body, "1.04万")
        figure = "1.4万" if "学位数" in user_of(body) else "1.04万"
        return Reply(f"二七区新增优质学位{figure}个[{n}]。", piece_chars=2)

    shutil.copytree(corpus_index.home, rag_env)
    with scripted_llm(script) as llm:
        port = free_port()
        env = {**os.environ, "RAG_HOME": str(rag_env), "RAG_LLM_BASE_URL": llm.base_url, "RAG_LLM_MODEL": "scripted"}
        with serving([sys.executable, "-m", "rag", "ui", "--port", str(port)], port, tmp_path / "server.log",
                     SERVER_START_S, env=env, what="`rag ui`"):
            page.goto(f"http://127.0.0.1:{port}/")
            _ask(page, "二七区新增多少学位?", 1)
            newest = page.locator(NEWEST_BOT)
            assert "已核对" in newest.inner_text() and "1.04万" in newest.inner_text()
            assert "庆泰路小学" in page.locator('#rag-sources .rag-turn[data-turn="1"]').inner_text()
            _ask(page, "二七区的新增学位数是多少?", 2)
            text = page.locator(NEWEST_BOT).inner_text()
            assert "原文摘录" in text and "1.04万" in text and "1.4万 is not in the quote" in text
            assert "已核对" not in text
            page.screenshot(path=str(tmp_path / "llm.png"))


def test_documents_view_uploads_finds_and_deletes_a_word_file(indexed_server, page, tmp_path):
    """The Index tab: a .docx uploaded (with progress), found by its title, then deleted."""
    from playwright.sync_api import expect

    sys.path.insert(0, str(ROOT))
    from tests.documents import MARKET, word_file

    draft = word_file(tmp_path / "农贸市场.docx", MARKET)
    page.goto(indexed_server, timeout=60_000)
    page.get_by_role("tab", name="索引").click()
    expect(page.locator("#rag-docs")).to_contain_text("002_66608173c0941186.txt", timeout=60_000)
    page.locator("#rag-upload input[type=file]").set_input_files(str(draft))
    page.locator("#rag-add").click()
    expect(page.locator("#rag-ingest-status")).to_contain_text("已处理 1 个文件", timeout=ANSWER_MS)
    page.locator("#rag-doc-search textarea, #rag-doc-search input").first.fill("农贸市场")
    expect(page.locator("#rag-docs")).to_contain_text(MARKET.title, timeout=30_000)
    expect(page.locator("#rag-docs")).not_to_contain_text("002_66608173c0941186.txt", timeout=30_000)

    page.locator("#rag-delete-choice input").click()
    page.get_by_role("option", name=re.compile("农贸市场.docx")).click()
    page.locator("#rag-delete").click()
    expect(page.locator("#rag-ingest-status")).to_contain_text("已删除 1 篇文档", timeout=60_000)
    expect(page.locator("#rag-docs")).not_to_contain_text(MARKET.title, timeout=30_000)


def _rate_the_first_two_answers(page, rag_env: Path, tmp_path: Path) -> None:
    """👍 on the first answer (二七区's places), 👎 with a correction on the follow-up; both kept, and
    `rag eval --from-feedback` makes them eval items."""
    from click.testing import CliRunner
    from playwright.sync_api import expect

    from evals.runner import load_set
    from rag.cli import main
    from rag.feedback import FeedbackLog

    page.get_by_role("button", name=re.compile("^like$", re.I)).nth(0).click()
    expect(page.locator("#rag-feedback-status")).to_contain_text("答案正确")
    page.get_by_role("button", name=re.compile("^dislike$", re.I)).nth(1).click()
    box = page.locator("#rag-correction-text textarea")
    expect(box).to_be_visible()
    box.fill("庆泰路小学等14所")
    page.locator("#rag-correction-save").click()
    expect(page.locator("#rag-feedback-status")).to_contain_text("已记下更正")
    expect(box).to_be_hidden()
    entries = FeedbackLog(rag_env).entries()
    assert [(e["question"], e["verdict"]) for e in entries] == [("二七区新增多少学位?", "up"), ("有多少所学校投入使用?", "down")]
    assert entries[1]["correction"] == "庆泰路小学等14所" and entries[1]["history"] == ["二七区新增多少学位?"]
    out = tmp_path / "feedback-set.jsonl"
    result = CliRunner().invoke(main, ["eval", "--from-feedback", str(out)], env={"RAG_HOME": str(rag_env)})
    assert result.exit_code == 0, result.output
    approved, corrected = load_set(out)
    assert approved.history == () and ("1.04万",) in approved.must  # each figure the approved answer states
    assert corrected.history == ("二七区新增多少学位?",) and corrected.must == (("庆泰路小学等14所",),)


def test_a_corpus_that_is_not_the_sample_gets_its_own_filters_and_examples(tmp_path, rag_env, page):
    """Only the user's articles (a county's flood and market news): no 人大/政协 control, no sample question; the
    examples are questions about these articles, and one answers with its figure."""
    from documents import FLOOD, MARKET
    from playwright.sync_api import expect

    from rag.pipeline import Pipeline
    from rag.settings import Settings

    folder = tmp_path / "articles"
    folder.mkdir()
    for name, article in (("flood.txt", FLOOD), ("market.txt", MARKET)):
        (folder / name).write_text(article.title + "\n\n" + "\n\n".join(article.paragraphs), encoding="utf-8")
    Pipeline.from_settings(Settings.from_env()).ingest([folder])
    with _served(tmp_path, rag_env) as url:
        page.goto(url, timeout=60_000)
        page.locator("#rag-input textarea").wait_for(timeout=60_000)
        chat = page.locator("#rag-chat")
        expect(chat.get_by_text("多少").first).to_be_visible(timeout=60_000)
        examples = [t for t in chat.get_by_text("多少").all_inner_texts() if t.strip()]
        assert examples and all("二七区" not in e and "政协" not in e for e in examples), examples
        assert any(w in "".join(examples) for w in ("摊位", "群众", "水库", "样品")), examples
        expect(page.locator("#rag-body")).to_be_hidden()  # no 人大/政协 in these articles: no such filter
        assert "政协" not in page.locator("body").inner_text()
        chat.get_by_text("多少").first.click()
        page.locator('#rag-sources .rag-turn[data-turn="1"]').wait_for(state="attached", timeout=ANSWER_MS)
        expect(page.locator(NEWEST_BOT)).to_contain_text(re.compile(r"\d"))
        expect(page.locator(NEWEST_BOT).locator(".rag-refused")).to_have_count(0)


def test_with_auth_every_route_asks_for_it(tmp_path, rag_env, corpus_index):
    """`rag ui --auth`: the upload route and the API are refused without the login, as the page is."""
    import httpx

    shutil.copytree(corpus_index.home, rag_env)
    port = free_port()
    with serving([sys.executable, "-m", "rag", "ui", "--port", str(port), "--auth", "editor:s3cret"], port,
                 tmp_path / "server.log", SERVER_START_S, env={**os.environ, "RAG_HOME": str(rag_env)}, what="`rag ui`"):
        base = f"http://127.0.0.1:{port}"
        upload = httpx.post(f"{base}/gradio_api/upload", files={"files": ("a.txt", "某县新建学校3所。".encode(), "text/plain")},
                            timeout=60)
        assert upload.status_code == 401, upload.text
        call = httpx.post(f"{base}/gradio_api/call/ask", json={"data": ["二七区新增多少学位?", []]}, timeout=60)
        assert call.status_code == 401, call.text
        with httpx.Client(base_url=base, timeout=60) as client:
            assert client.post("/login", data={"username": "editor", "password": "s3cret"}).status_code == 200
            ok = client.post("/gradio_api/upload", files={"files": ("a.txt", "某县新建学校3所。".encode(), "text/plain")})
            assert ok.status_code == 200, ok.text
