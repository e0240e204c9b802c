"""Hostile and broken input through the real `rag` command and the real store: one line, the right exit
status, no traceback, no secret, nothing lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.settings import BUNDLED_CORPUS
from vectorstore.errors import mask_url, scrub
from vectorstore.reading import decode
from vectorstore.store import Index

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "二七区新增多少学位?"
ARTICLE = """青石县举办中学生运动会

本报讯(记者 李明)11月20日,青石县第十二届中学生田径运动会在县体育场开幕,全县23所中学的1860名运动员参加比赛。

本届运动会设男子、女子共42个比赛项目,县实验中学以金牌18枚位列金牌榜第一。
"""


def rag(*args: str | bytes, home: Path, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "RAG_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "rag", *args], env=full, cwd=ROOT, capture_output=True,
                          input=stdin.encode() if stdin else None, timeout=300, check=False)


def one_line_error(proc: subprocess.CompletedProcess, rc: int = 2) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == rc, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ")
    return err


@pytest.fixture
def home(store_copy: Path) -> Path:
    return store_copy


# -- 3. a store that cannot open; secrets ------------------------------------------------
def test_mask_url_hides_passwords_tokens_and_query_values() -> None:
    assert mask_url("http://admin:SECRET@127.0.0.1:1") == "http://admin:***@127.0.0.1:1"
    assert mask_url("https://TOKEN@api.example.com/v1?key=abc&x=1") == "https://***@api.example.com/v1?key=***&x=***"
    assert mask_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert mask_url("http://[::1]:8000/") == "http://[::1]:8000/"
    assert "SECRET" not in scrub("failed: http://admin:SECRET@h:1 (SECRET)", "http://admin:SECRET@h:1")
    assert mask_url("admin:SECRET@localhost:8000") == "***@localhost:8000"  # no scheme: still a credential


@pytest.mark.parametrize("name", ["RAG_CHROMA_URL", "RAG_LLM_BASE_URL"])
@pytest.mark.parametrize("url", ["admin:SECRET@localhost:8000", "http://admin:SECRET@[::1:8000/", "http://[::1:8000/v1",
                                 "http://localhost:99999", "ftp://host/", "http://"])
def test_a_malformed_url_is_one_line_naming_it_without_its_secret(name: str, url: str) -> None:
    """Each once gave a password in clear, or "InvalidURL … (this is a bug)"."""
    from rag.settings import Settings

    with pytest.raises(RagError) as err:
        Settings.from_env({name: url, "RAG_LLM_MODEL": "m"})
    message = str(err.value)
    assert message.startswith(f"{name}=") and "not a valid http(s) URL" in message and "SECRET" not in message
    assert "\n" not in message


@pytest.mark.slow
def test_an_unreachable_server_is_one_line_without_its_password(tmp_path: Path) -> None:
    env = {"RAG_CHROMA_URL": "http://admin:SECRET@127.0.0.1:1/?key=KEYVALUE", "RAG_LLM_BASE_URL": "https://u:LLMPASS@llm.example/v1",
           "RAG_LLM_MODEL": "some-model"}
    err = one_line_error(rag("ask", QUESTION, home=tmp_path / "h", env=env))
    assert "cannot open the Chroma store" in err and "SECRET" not in err and "KEYVALUE" not in err
    doctor = rag("doctor", "--json", home=tmp_path / "h", env=env)
    assert doctor.returncode == 1 and b"Traceback" not in doctor.stderr
    report = json.loads(doctor.stdout)
    text = doctor.stdout.decode()
    assert "SECRET" not in text and "KEYVALUE" not in text and "LLMPASS" not in text
    assert report["store"]["location"] == "http://admin:***@127.0.0.1:1/?key=***"
    assert report["llm"]["base_url"] == "https://u:***@llm.example/v1"


@pytest.mark.slow
def test_a_home_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    err = one_line_error(rag("ask", QUESTION, home=blocked))
    assert "cannot open the Chroma store" in err and "Not a directory" in err


# -- 4. invalid text --------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("args", [
    ["ask", "二七区\udcff新增多少学位?"],  # how Python hands over the byte 0xff of a UTF-8 terminal
    ["search", "\udcff\udcfe"],
])
def test_undecodable_bytes_in_arguments_are_one_line(args: list[str], home: Path) -> None:
    raw = [a.encode("utf-8", "surrogateescape") for a in args]
    err = one_line_error(rag(*raw, home=home))
    assert "not valid text" in err and "0xff" in err


@pytest.mark.slow
@pytest.mark.parametrize(("line", "says"), [
    ('{"id": "b", "question": "\\ud800二七区"}', "lone surrogate U+D800"),
    ('{"id": "b", "question": ""}', "'question' must be a non-empty string"),
    ('{"id": "b", "question": "二七区?", "history": ["\\udfff"]}', "history item is not valid text"),
])
def test_a_bad_batch_line_is_named_before_anything_is_answered(line: str, says: str, home: Path, tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text('{"id": "a", "question": "二七区新增多少学位?"}\n' + line + "\n", encoding="utf-8")
    proc = rag("ask", "--batch", str(batch), "--json", home=home)
    err = one_line_error(proc)
    assert f"{batch}:2" in err and says in err
    assert proc.stdout == b""  # line 1 was not answered and then abandoned
    proc = rag("eval", "--set", str(batch), home=home)
    if '"question": ""' in line:  # an eval set may hold a question no one wrote (public sets do): skipped, said
        assert proc.returncode == 0 and b"1 line(s) with an empty question skipped" in proc.stderr
    else:
        assert f"{batch}:2" in one_line_error(proc) and proc.stdout == b""


@pytest.mark.slow
def test_an_unwritable_eval_output_is_said_before_the_run(home: Path, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x", encoding="utf-8")
    proc = rag("eval", "--set", str(ROOT / "evals" / "dev.jsonl"), "--json", str(not_a_folder / "run.json"), home=home)
    assert "--json" in one_line_error(proc) and proc.stdout == b""  # no metrics table: the run never started


# -- 6. smaller ones ----------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("question", ["？？？！！。", "的", "……", "吗?"])
def test_a_question_with_nothing_to_look_for_is_refused_without_citations(question: str, home: Path) -> None:
    proc = rag("ask", question, "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["refused"] is True and answer["citations"] == []


@pytest.mark.slow
def test_ingest_of_a_missing_path_or_a_link_loop_fails_and_touches_nothing(home: Path, tmp_path: Path) -> None:
    before = Index(home, None, "multilingual-e5-small").count()
    err = one_line_error(rag("ingest", str(tmp_path / "no-such-path"), str(BUNDLED_CORPUS), home=home))
    assert "no such file or folder" in err and "nothing was ingested" in err
    loop_a, loop_b = tmp_path / "a.txt", tmp_path / "b.txt"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    assert "symbolic link loop" in one_line_error(rag("ingest", str(loop_a), home=home))
    assert Index(home, None, "multilingual-e5-small").count() == before


@pytest.mark.slow
def test_utf16_files_are_read_and_links_to_nowhere_are_listed(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "bom.txt").write_bytes(ARTICLE.encode("utf-16"))  # Notepad's "Unicode"
    (folder / "le.txt").write_bytes(ARTICLE.replace("青石县", "白河县").encode("utf-16-le"))
    (folder / "loop1.txt").symlink_to(folder / "loop2.txt")
    (folder / "loop2.txt").symlink_to(folder / "loop1.txt")
    (folder / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    proc = rag("ingest", str(folder), "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["added"] == 4
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert reasons == {"loop1.txt": "symbolic link loop", "loop2.txt": "symbolic link loop",
                       "gone.txt": "broken symbolic link"}
    answer = json.loads(rag("ask", "白河县运动会有多少名运动员参加?", "--json", home=home).stdout)
    assert "1860" in answer["answer"] and answer["citations"][0]["source"] == "le.txt"


def test_utf16_decoding_leaves_binary_files_refused() -> None:
    assert decode(ARTICLE.encode("utf-16-be"))[0] == ARTICLE
    for data in (bytes(range(256)) * 8, b"\x00\x01\x02" * 300, b"\x7fELF\x02\x01\x01\x00" + bytes(2000)):
        with pytest.raises(ValueError, match="binary"):
            decode(data)


@pytest.mark.slow
def test_the_ui_refuses_a_network_host_without_auth_or_insecure(tmp_path: Path) -> None:
    err = one_line_error(rag("ui", "--host", "0.0.0.0", "--port", "7999", home=tmp_path / "h"))
    assert "--auth" in err and "--insecure" in err


# -- 5. a long-lived process sees what another one added ---------------------------------------
@pytest.mark.slow
def test_a_running_pipeline_answers_from_what_rag_ingest_added(home: Path, tmp_path: Path) -> None:
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    base = Settings.from_env()
    p = Pipeline(Settings(home=home, cache_dir=base.cache_dir, embed_model=base.embed_model))
    assert p.ask("青石县运动会有多少名运动员参加?").refused
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "sports.txt").write_text(ARTICLE, encoding="utf-8")
    assert rag("ingest", str(folder), home=home).returncode == 0
    p.index._checked = 0.0  # the check runs at most once a second; do not sleep for it
    answer = p.ask("青石县运动会有多少名运动员参加?")
    assert not answer.refused and "1860" in answer.answer and answer.citations[0].source == "sports.txt"
    assert "1.04万" in p.ask(QUESTION).answer  # and the rest still answers, dense search included


@pytest.mark.slow
def test_a_page_pasted_as_a_question_and_an_empty_query_are_one_line(home: Path) -> None:
    err = one_line_error(rag("ask", "二七区新增多少学位" * 100, home=home))
    assert "900 characters long" in err and "at most 500" in err
    assert "query is empty" in one_line_error(rag("search", "  ", home=home))


@pytest.mark.slow
def test_control_characters_never_reach_the_terminal(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "esc.txt").write_text(ARTICLE.replace("1860名", "1860名\x1b[2J\x1b]0;owned\x07"), encoding="utf-8")
    assert rag("ingest", str(folder), home=home).returncode == 0
    for args in (["ask", "青石县运动会有多少名运动员参加?"], ["search", "青石县运动会运动员"]):
        out = rag(*args, home=home).stdout.decode()
        # (the ";" inside the escape sequence ends a sentence: which half answers is the ranker's business)
        assert ("1860" in out or args[0] == "ask") and "\x1b" not in out and "\x07" not in out


@pytest.mark.slow
def test_a_link_out_of_the_folder_is_skipped_and_never_indexed(home: Path, tmp_path: Path) -> None:
    """A folder holding a link to a file elsewhere (/etc/passwd, say) once indexed that file and quoted it."""
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n内部账号密码清单:管理员口令为青石县2024。\n", encoding="utf-8")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "passwd.txt").symlink_to(outside)
    (folder / "inner.txt").symlink_to(folder / "a.txt")  # a link that stays inside is read
    report = json.loads(rag("ingest", str(folder), "--json", home=home).stdout)
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert "outside the folder" in reasons["passwd.txt"] and "inner.txt" not in reasons
    hits = json.loads(rag("search", "管理员口令 账号密码", "--json", home=home).stdout)
    assert not any("口令" in h["text"] or h["source"] == "passwd.txt" for h in hits)


@pytest.mark.slow
def test_names_with_newlines_and_bidi_overrides_print_escaped(home: Path, tmp_path: Path) -> None:
    """A file name with a newline or a right-to-left override once reached the terminal raw (a forged line, a
    name shown backwards)."""
    folder = tmp_path / "docs"
    folder.mkdir()
    tricky = "运动会\u202etxt.exe"
    (folder / f"{tricky}.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "two\nlines.pdf").write_bytes(b"%PDF-1.4")
    ingest = rag("ingest", str(folder), home=home)
    assert ingest.returncode == 0, ingest.stderr
    outputs = [ingest.stderr.decode(), rag("ask", "青石县运动会有多少名运动员参加?", home=home).stdout.decode(),
               rag("search", "青石县运动会运动员", home=home).stdout.decode()]
    assert "two\\nlines.pdf" in outputs[0]
    assert "\\u202etxt.exe" in outputs[1] and "\\u202etxt.exe" in outputs[2]
    for out in outputs:
        assert "\u202e" not in out and "two\nlines" not in out


def test_a_reader_that_stops_early_gets_no_error(home: Path) -> None:
    """`rag ask … | head -1`: the reader may close the pipe before the answer is written (here `true` closes it
    at once); the command ends quietly, as cat does, rather than reporting a bug."""
    proc = subprocess.run(f"{sys.executable} -m rag ask '二七区新增多少学位?' | true", shell=True, cwd=ROOT,
                          env={**os.environ, "RAG_HOME": str(home)}, capture_output=True, timeout=300, check=False)
    assert proc.stderr.decode() == ""
