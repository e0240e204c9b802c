"""`rag serve`, an OpenAI-compatible endpoint, driven by the official `openai` client: cited answers, streamed
and not, follow-ups from the whole `messages` list, OpenAI-style errors with the right status, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from processes import free_port, serving, wait_for_port
from readme import snippet

from ui.openai_api import MODEL_ID, ApiError, build_app, content, conversation
from vectorstore.store import Index

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-test-7f3a"
QUESTION = "二七区新增多少学位?"
SERVER_START_S = 120


def _env(home: Path, **extra: str) -> dict[str, str]:
    cache = os.environ.get("RAG_CACHE_DIR") or str(Path("~/.cache/rag-zh").expanduser())
    return {**os.environ, "RAG_HOME": str(home), "RAG_CACHE_DIR": cache, **extra}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, corpus_index: Index):
    """`python -m rag serve --port N` over a copy of the indexed corpus, its key from RAG_API_KEY."""
    root = tmp_path_factory.mktemp("serve")
    home = root / "home"
    shutil.copytree(corpus_index.home, home)
    port = free_port()
    log = root / "server.log"
    with serving([sys.executable, "-m", "rag", "serve", "--port", str(port)], port, log, SERVER_START_S,
                 env=_env(home, RAG_API_KEY=KEY), what="`rag serve`"):
        yield {"url": f"http://127.0.0.1:{port}/v1", "home": home, "log": log}


@pytest.fixture
def client(served):
    from openai import OpenAI

    return OpenAI(base_url=served["url"], api_key=KEY, max_retries=0, timeout=60)


def _request(url: str, body: bytes | None = None, key: str | None = KEY, method: str | None = None) -> tuple[int, dict]:
    """(status, parsed JSON body) of a raw request, errors included."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8")
        assert "Traceback" not in text, text
        return exc.code, json.loads(text)


def test_the_openai_client_gets_the_answer_with_its_citations_as_rag_ask_json_gives_them(served, client) -> None:
    got = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}])
    text = got.choices[0].message.content
    print("\n" + text)
    assert "新增优质学位1.04万个" in text.split("\n")[0] and "[1]" in text.split("\n")[0]
    assert "\n\n来源:\n\n[1] 「" in text and "001_187c4b3ab0ed4735.txt" in text
    assert got.model == MODEL_ID and got.choices[0].finish_reason == "stop" and got.choices[0].message.role == "assistant"
    cited = got.model_extra["citations"]
    assert got.model_extra["refused"] is False
    assert cited[0]["source"] == "001_187c4b3ab0ed4735.txt" and "1.04万" in cited[0]["quote"]
    ask = subprocess.run([sys.executable, "-m", "rag", "ask", QUESTION, "--json"], cwd=ROOT, env=_env(served["home"]),
                         capture_output=True, text=True, timeout=120, check=True)
    assert cited == json.loads(ask.stdout)["citations"]


def test_a_streamed_answer_ends_with_its_citations(client) -> None:
    whole = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}])
    chunks = list(client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}],
                                                 stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content and "新增优质学位1.04万个" in text.split("\n")[0]
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and [c.choices[0].finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert last.model_extra["citations"] == whole.model_extra["citations"]
    assert "citations" not in (chunks[0].model_extra or {})


def test_usage_counts_the_tokens_in_and_out_streamed_or_not(client) -> None:
    from tokenizers import Tokenizer

    from rag.settings import Settings

    settings = Settings.from_env()
    tokenizer = Tokenizer.from_file(str(settings.cache_dir / "models" / "multilingual-e5-small" / "tokenizer.json"))
    count = lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)  # noqa: E731
    messages = [{"role": "system", "content": "你是新闻助手。"}, {"role": "user", "content": QUESTION}]
    got = client.chat.completions.create(model=MODEL_ID, messages=messages)
    assert got.usage.prompt_tokens == count("你是新闻助手。") + count(QUESTION)
    assert got.usage.completion_tokens == count(got.choices[0].message.content) > 10
    assert got.usage.total_tokens == got.usage.prompt_tokens + got.usage.completion_tokens
    chunks = list(client.chat.completions.create(model=MODEL_ID, messages=messages, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.model_dump() == got.usage.model_dump()
    assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-2].model_extra["citations"]
    plain = list(client.chat.completions.create(model=MODEL_ID, messages=messages, stream=True))
    assert all(c.usage is None and c.choices for c in plain)  # usage in a stream only when asked for


def test_langchain_chat_openai_gets_the_cited_answer_and_usage(served) -> None:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=MODEL_ID, base_url=served["url"], api_key=KEY, max_retries=0, timeout=60)
    reply = llm.invoke(QUESTION)
    assert "新增优质学位1.04万个" in reply.content and "来源:" in reply.content and "001_187c4b3ab0ed4735.txt" in reply.content
    assert reply.usage_metadata["output_tokens"] > 10 and reply.usage_metadata["input_tokens"] > 0
    pieces = list(ChatOpenAI(model=MODEL_ID, base_url=served["url"], api_key=KEY, max_retries=0, timeout=60,
                             stream_usage=True).stream(QUESTION))
    whole = pieces[0]
    for p in pieces[1:]:
        whole += p
    assert whole.content == reply.content and whole.usage_metadata["total_tokens"] == reply.usage_metadata["total_tokens"]


def test_the_readme_openai_snippet_runs_as_written(served, capsys) -> None:
    code = snippet("### OpenAI-compatible endpoint")
    code = code.replace('"http://127.0.0.1:8000/v1"', repr(served["url"])).replace('"sk-demo"', repr(KEY))
    scope: dict = {}
    exec(code, scope)  # noqa: S102 - the README's own code, against this test's server
    printed = capsys.readouterr().out
    assert "新增优质学位1.04万个" in printed and "14所" in printed
    assert scope["citations"][0]["source"] == "001_187c4b3ab0ed4735.txt" and "14所" in scope["citations"][0]["quote"]


def test_a_follow_up_is_answered_from_the_whole_conversation(client) -> None:
    first = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}])
    messages = [{"role": "system", "content": "你是新闻助手。"},
                {"role": "user", "content": QUESTION},
                {"role": "assistant", "content": first.choices[0].message.content},
                {"role": "user", "content": [{"type": "text", "text": "有多少所学校投入使用?"}]}]
    for stream in (False, True):
        if stream:
            chunks = list(client.chat.completions.create(model=MODEL_ID, messages=messages, stream=True))
            text, cited = "".join(c.choices[0].delta.content or "" for c in chunks), chunks[-1].model_extra["citations"]
        else:
            got = client.chat.completions.create(model=MODEL_ID, messages=messages)
            text, cited = got.choices[0].message.content, got.model_extra["citations"]
        print("\n" + text)
        assert "14所" in text.split("\n")[0] and cited and "14所" in cited[0]["quote"]
    # A follow-up whose answer the conversation decides: alone, "其中" is another district's count (119件).
    earlier = "惠济区政协三届四次会议以来收到多少件提案?"
    reply = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": earlier}])
    follow = {"role": "user", "content": "其中立案了多少件?"}
    got = client.chat.completions.create(model=MODEL_ID, messages=[
        {"role": "user", "content": earlier}, {"role": "assistant", "content": reply.choices[0].message.content}, follow])
    alone = client.chat.completions.create(model=MODEL_ID, messages=[follow])
    print("\n" + got.choices[0].message.content.split("\n")[0], "| alone:", alone.choices[0].message.content.split("\n")[0])
    assert "125件" in got.choices[0].message.content.split("\n")[0]
    assert "125件" not in alone.choices[0].message.content.split("\n")[0]


def test_models_lists_the_one_model_and_every_route_needs_the_key(served, client) -> None:
    from openai import AuthenticationError, OpenAI

    assert [m.id for m in client.models.list()] == [MODEL_ID]
    assert client.models.retrieve(MODEL_ID).id == MODEL_ID
    wrong = OpenAI(base_url=served["url"], api_key="sk-wrong", max_retries=0)
    with pytest.raises(AuthenticationError) as err:
        wrong.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}])
    assert err.value.status_code == 401 and err.value.code == "invalid_api_key"
    for key in (None, "sk-wrong"):
        status, body = _request(f"{served['url']}/models", key=key)
        assert status == 401 and body["error"]["code"] == "invalid_api_key"


def test_bad_requests_get_openai_errors_with_the_right_status(served, client) -> None:
    import openai

    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    assert err.value.status_code == 404 and err.value.code == "model_not_found" and MODEL_ID in err.value.message
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")
    for messages in ([], [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "好"}],
                     [{"role": "robot", "content": QUESTION}], [{"role": "user", "content": ""}],
                     [{"role": "user", "content": "问" * 501}]):
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(model=MODEL_ID, messages=messages)
        assert err.value.status_code == 400 and err.value.type == "invalid_request_error", messages
    url = f"{served['url']}/chat/completions"
    for raw, param in [(b"{not json", None), (b'{"model": "rag-zh-news"}', "messages"), (b"[1, 2]", None),
                       ('{"model": "rag-zh-news", "messages": [{"role": "user", "content": "\\ud800二七区"}]}'.encode(), "messages"),
                       (b'{"model": "rag-zh-news", "messages": [{"role": "user", "content": 7}]}', "messages[0].content"),
                       (b'{"messages": [{"role": "user", "content": "hi"}]}', "model"),
                       (b'{"model": "rag-zh-news", "stream": "yes", "messages": [{"role": "user", "content": "hi"}]}', "stream"),
                       (b'{"model": "\xff"}', None)]:
        status, body = _request(url, raw)
        assert status == 400 and body["error"]["type"] == "invalid_request_error" and body["error"]["message"], raw
        assert body["error"]["param"] == param, (raw, body)
    # a body nested a thousand deep (which once exhausted the parser's recursion: a 500, then a reset connection)
    for deep in (b"[" * 1000 + b"]" * 1000, b'{"model": "rag-zh-news", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}"):
        status, body = _request(url, deep)
        assert status == 400 and "levels deep" in body["error"]["message"], body
    status, body = _request(f"{served['url']}/completions", b"{}")
    assert status == 404 and "/v1/chat/completions" in body["error"]["message"]
    status, body = _request(f"{served['url']}/models", b"{}", method="POST")
    assert status == 405 and body["error"]["message"]
    # and the server still answers
    assert client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}]) \
        .choices[0].message.content.split("\n")[0].endswith("新增优质学位1.04万个。[1]")
    assert "Traceback" not in served["log"].read_text(errors="replace")


def test_build_app_without_a_key_serves_anyone_on_a_real_uvicorn(corpus_index: Index, tmp_path: Path, settings) -> None:
    import uvicorn
    from openai import OpenAI

    from rag.pipeline import Pipeline
    from rag.settings import Settings

    home = tmp_path / "home"
    shutil.copytree(corpus_index.home, home)
    pipeline = Pipeline(Settings(home=home, cache_dir=settings.cache_dir, embed_model=settings.embed_model))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(pipeline), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port, SERVER_START_S)
        status, body = _request(f"http://127.0.0.1:{port}/v1/models", key=None)
        assert status == 200 and body["data"][0]["id"] == MODEL_ID
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="anything", max_retries=0)
        got = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}],
                                             extra_body={"k": 3})
        assert "1.04万" in got.choices[0].message.content and got.model_extra["citations"]
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_the_conversation_is_the_users_turns_and_ends_with_a_question() -> None:
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "甲问题"},
                {"role": "assistant", "content": "答[1]"}, {"role": "user", "content": [{"type": "text", "text": "乙"},
                                                                                        {"type": "image_url", "image_url": {"url": "x"}}]}]
    assert conversation(messages) == ("乙", ["甲问题"])
    pasted = [{"role": "user", "content": "文" * 501}, {"role": "assistant", "content": "太长"}, *messages]
    assert conversation(pasted) == ("乙", ["甲问题"])
    for bad in (None, [], "hi", [{"role": "user"}, {"role": "assistant", "content": "x"}], [{"content": "x"}]):
        with pytest.raises(ApiError) as err:
            conversation(bad)
        assert err.value.status == 400


def test_the_message_text_keeps_the_markers_and_lists_each_source() -> None:
    from rag.types import Answer, Citation

    c = Citation(n=1, source="a.txt", paragraph=3, title="标题", district="", quote="原句。", score=0.5, reporter="张三")
    assert content(Answer("问", "答。[1]", False, [c])) == "答。[1]\n\n来源:\n\n[1] 「原句。」——张三. 标题[N]. (a.txt, 第3段)"
    assert content(Answer("问", "语料中没有。", True, [])) == "语料中没有。"


def test_serve_refuses_a_network_host_without_a_key_or_insecure(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "rag", "serve", "--host", "0.0.0.0", "--port", "8999"], cwd=ROOT,
                          env={k: v for k, v in _env(tmp_path / "h").items() if k != "RAG_API_KEY"},
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("error: ") and "--api-key" in proc.stderr and "--insecure" in proc.stderr


def test_serve_on_a_taken_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "rag", "serve", "--port", str(port)], cwd=ROOT,
                              env=_env(tmp_path / "h"), capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and proc.stderr.startswith("error: cannot listen") and "--port" in proc.stderr


def test_building_the_app_opens_nothing(settings) -> None:
    from rag.pipeline import Pipeline

    build_app(Pipeline(settings), api_key=KEY)
    assert not settings.home.exists(), "building the app must not open the store"
