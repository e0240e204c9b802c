"""Several clients on one Chroma server (`chroma run`): what one adds, the others find, by keyword and by meaning,
in a new process and in one that was already running."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from processes import free_port, serving

from rag.settings import BUNDLED_CORPUS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHROMA = Path(sys.executable).parent / "chroma"
ARTICLE = """白河县举办中学生运动会

本报讯(记者 李明)11月20日,白河县第十二届中学生田径运动会在县体育场开幕,全县23所中学的1860名运动员参加比赛。

本届运动会设男子、女子共42个比赛项目,县实验中学以金牌18枚位列金牌榜第一。
"""
SECOND = """青山县新建垃圾分类处理中心

本报讯(记者 王芳)青山县垃圾分类处理中心近日建成投用,日处理能力达到450吨,总投资1.2亿元。
"""


@pytest.fixture
def server(tmp_path: Path):
    if not CHROMA.is_file():
        pytest.skip("the chroma command is not installed")
    port = free_port()
    with serving([str(CHROMA), "run", "--path", str(tmp_path / "server-data"), "--port", str(port)], port,
                 tmp_path / "chroma.log", 60, what="`chroma run`"):
        yield f"http://127.0.0.1:{port}"


def rag(home: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAG_HOME": str(home), "RAG_CHROMA_URL": url}
    return subprocess.run([sys.executable, "-m", "rag", *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)


def test_what_one_client_adds_the_other_finds_by_keyword_and_by_meaning(server: str, tmp_path: Path) -> None:
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    a_home, b_home = tmp_path / "client-a", tmp_path / "client-b"
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(next(BUNDLED_CORPUS.glob("001_*.txt")), docs)
    (docs / "sports.txt").write_text(ARTICLE, encoding="utf-8")
    assert rag(a_home, server, "ingest", str(docs)).returncode == 0

    # Client B, a new process with its own (empty) RAG_HOME, finds the article both ways.
    for mode in ("bm25", "dense"):
        hits = json.loads(rag(b_home, server, "search", "白河县中学生运动会运动员人数", "--mode", mode, "--json").stdout)
        assert hits and hits[0]["source"] == "sports.txt", (mode, hits[:2])
    answer = json.loads(rag(b_home, server, "ask", "白河县运动会有多少名运动员参加?", "--json").stdout)
    assert "1860" in answer["answer"] and answer["citations"][0]["source"] == "sports.txt"

    # A running client (B's pipeline, already answering) sees what A adds next, without a restart.
    base = Settings.from_env()
    running = Pipeline(Settings(home=b_home, cache_dir=base.cache_dir, embed_model=base.embed_model, chroma_url=server))
    assert running.ask("青山县垃圾分类处理中心日处理能力是多少?").refused
    (docs / "waste.txt").write_text(SECOND, encoding="utf-8")
    assert rag(a_home, server, "ingest", str(docs)).returncode == 0
    running.index._checked = 0.0  # it looks at most once a second
    answer = running.ask("青山县垃圾分类处理中心日处理能力是多少?")
    assert not answer.refused and "450吨" in answer.answer and answer.citations[0].source == "waste.txt"
    assert [h.chunk.source for h in running.search("垃圾分类处理中心 日处理能力", mode="bm25")][:1] == ["waste.txt"]
