"""The one-shot path: `rag ask`, `rag doctor` and an unchanged `rag ingest` load no torch, transformers, gradio
or LangChain's runnables (their imports alone cost seconds); the LangChain Runnable gives the same answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.chain import Chain
from vectorstore.store import Index

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "sentence_transformers", "gradio", "langchain_core.runnables", "langsmith",
         "langchain_chroma")
PROBE = """
import json, sys
from rag.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"rc": code, "loaded": [m for m in HEAVY if m in sys.modules]}))
""".replace("HEAVY", repr(HEAVY))


def _probe(home: Path, *args: str) -> tuple[dict, str]:
    """Run `rag ARGS` in a new process; (its exit code and the heavy modules it imported, its output)."""
    env = {**os.environ, "RAG_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stdout


def test_ask_loads_no_heavy_library(corpus_index: Index) -> None:
    result, out = _probe(corpus_index.home, "ask", "二七区新增多少学位?", "--json")
    assert result == {"rc": 0, "loaded": []}
    assert "1.04万" in json.loads(out.splitlines()[0])["answer"]


def test_doctor_and_an_unchanged_ingest_load_no_heavy_library(store_copy: Path) -> None:
    result, out = _probe(store_copy, "doctor", "--json")
    assert result == {"rc": 0, "loaded": []}
    assert json.loads(out.splitlines()[0])["embedding"]["dim"] == 384
    result, out = _probe(store_copy, "ingest", "--json")
    assert result == {"rc": 0, "loaded": []}
    report = json.loads(out.splitlines()[0])
    assert report["added"] == report["removed"] == report["updated"] == 0 and report["unchanged"] == report["chunks"] > 100


def test_the_langchain_runnable_answers_as_the_chain_does(corpus_index: Index) -> None:
    from langchain_core.runnables import Runnable

    chain = Chain(corpus_index)
    runnable = chain.runnable()
    assert isinstance(runnable, Runnable)
    for question, history in [("二七区新增多少学位?", []), ("有多少所学校投入使用?", ["二七区新增多少学位?"]),
                              ("金水区2020年新增了多少学位?", [])]:
        inputs = {"question": question, "history": history, "k": 5, "mode": "hybrid", "district": None, "body": None}
        direct, via = chain.invoke(inputs), runnable.invoke(inputs)
        assert (via.answer, via.refused, via.citations) == (direct.answer, direct.refused, direct.citations)
    assert [a.answer for a in runnable.batch([{"question": "二七区新增多少学位?"}, {"question": "金水区新增多少学位?"}])] \
        == [chain.invoke({"question": q}).answer for q in ("二七区新增多少学位?", "金水区新增多少学位?")]


def test_the_langchain_retriever_returns_the_index_search_as_documents(corpus_index: Index) -> None:
    from langchain_core.retrievers import BaseRetriever

    from rag.retrieval import IndexRetriever

    retriever = IndexRetriever(index=corpus_index, k=5, where={"district": "二七区"}, keyword_query="新增 学位",
                               understand=False)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("二七区新增多少学位")
    hits = corpus_index.search("二七区新增多少学位", k=5, where={"district": "二七区"}, keyword_query="新增 学位")
    assert [d.id for d in docs] == [h.chunk.id for h in hits] and len(docs) == 5
    assert "1.04万" in docs[0].page_content
    assert docs[0].metadata["source"] == "001_187c4b3ab0ed4735.txt" and docs[0].metadata["rank"] == 1
