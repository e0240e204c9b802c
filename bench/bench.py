"""Speed and memory, cold and warm, beside a naive LangChain pipeline measured in the same run (rerun: make bench).

Cold figures are new processes on a built index with a warm file cache (the median of `--runs`, peak RSS of the
slowest); warm figures are per question in one process over the dev set. The naive pipeline is what a LangChain
tutorial writes: HuggingFaceEmbeddings on the same converted model + LangChain's Chroma over the same
collection + `as_retriever().invoke(question)`; it retrieves and stops (no answer), so the comparison flatters it.

Writes bench/results.json and prints a table (the README's figures come from it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, cold_run, percentile, quiet_environment, run

QUESTION = "二七区新增多少学位?"
# langchain-huggingface 1.2 pins huggingface-hub<2 while this project's transformers needs 2.x; its one class
# only wraps sentence-transformers, so it is installed beside the venv without its dependencies, for this only.
NAIVE_PACKAGE = "langchain-huggingface==1.2.3"

NAIVE = r"""
import sys, time
t0 = time.perf_counter()
import chromadb
from chromadb.config import Settings
from langchain_chroma import Chroma
from langchain_huggingface import HuggingFaceEmbeddings
model, store, collection, question = sys.argv[1:5]
emb = HuggingFaceEmbeddings(model_name=model, model_kwargs={"device": "cpu"},
                            encode_kwargs={"normalize_embeddings": True, "prompt": "passage: "},
                            query_encode_kwargs={"normalize_embeddings": True, "prompt": "query: "})
client = chromadb.PersistentClient(path=store, settings=Settings(anonymized_telemetry=False))
retriever = Chroma(client=client, collection_name=collection, embedding_function=emb).as_retriever(search_kwargs={"k": 5})
docs = retriever.invoke(question)
first = time.perf_counter() - t0
assert docs, "the naive pipeline found nothing"
if len(sys.argv) > 5:  # warm: one question after another in this process
    import json
    laps = []
    for q in json.loads(open(sys.argv[5], encoding="utf-8").read()):
        t = time.perf_counter(); retriever.invoke(q); laps.append((time.perf_counter() - t) * 1000)
    print(json.dumps(laps))
print(f"first {first:.3f}", file=sys.stderr)
"""


def _naive_env(env: dict[str, str], extra: Path) -> dict[str, str]:
    if not (extra / "langchain_huggingface").is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--target", str(extra), NAIVE_PACKAGE], check=True)
    return {**env, "PYTHONPATH": str(extra)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="new processes per cold figure (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args()
    quiet_environment()

    # The cold figures come first, while this process is small: a child's peak RSS counts what it was forked from.
    questions = [json.loads(line) for line in (ROOT / "evals/dev.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    home = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    out: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
                 "runs": args.runs}
    try:
        env = {**os.environ, "RAG_HOME": str(home)}
        rag = [sys.executable, "-m", "rag"]

        # Ingest in a new process (the model is loaded there: passages go through sentence-transformers).
        t = time.perf_counter()
        chunks = json.loads(run([*rag, "ingest", "--json"], env))["chunks"]
        ingest_s = time.perf_counter() - t
        doctor = json.loads(run([*rag, "doctor", "--json"], env))

        # Cold: new processes, index built, file cache warm (one unmeasured run of each first).
        run([*rag, "ask", QUESTION, "--json"], env)
        naive_env = _naive_env(env, ROOT / ".venv" / "bench-extra")
        naive_cmd = [sys.executable, "-c", NAIVE, doctor["embedding"]["path"], doctor["store"]["location"],
                     doctor["store"]["collection"], QUESTION]
        run(naive_cmd, naive_env)
        cold = {
            "rag ask --json": cold_run([*rag, "ask", QUESTION, "--json"], env, args.runs),
            "naive LangChain first answer": cold_run(naive_cmd, naive_env, args.runs),
            "rag doctor --json": cold_run([*rag, "doctor", "--json"], env, args.runs),
            "rag ingest (unchanged)": cold_run([*rag, "ingest"], env, args.runs),
            "rag --help": cold_run([*rag, "--help"], env, args.runs),
        }
        cold["ask / naive"] = round(cold["rag ask --json"]["median_s"] / cold["naive LangChain first answer"]["median_s"], 3)
        out["cold"] = cold

        # Warm: one process, question after question (as `rag ask --batch` and the UI do).
        from rag.pipeline import Pipeline
        from rag.settings import Settings

        settings = Settings.from_env(env)
        p = Pipeline.from_settings(settings)
        p.ask(QUESTION)
        laps = []
        for q in questions:
            t = time.perf_counter()
            p.ask(q["question"], q.get("history") or [])
            laps.append((time.perf_counter() - t) * 1000)
        qfile = home / "questions.json"
        qfile.write_text(json.dumps([q["question"] for q in questions], ensure_ascii=False), encoding="utf-8")
        naive_laps = json.loads(run([*naive_cmd, str(qfile)], naive_env))
        out["warm_ms"] = {
            "rag ask p50": round(statistics.median(laps), 1), "rag ask p95": round(percentile(laps, 0.95), 1),
            "naive retrieve p50": round(statistics.median(naive_laps), 1),
            "naive retrieve p95": round(percentile(naive_laps, 0.95), 1), "questions": len(laps)}

        # Ingest throughput against the bare model's on the same paragraphs (sentence-transformers, batches of 32).
        paragraphs = [c.text for c in p.index.chunks]
        p.embedder.embed_documents(paragraphs[:8])  # loads the model
        t = time.perf_counter()
        p.embedder.embed_documents(paragraphs)
        encode_s = time.perf_counter() - t
        out["ingest"] = {"chunks": chunks, "ingest_s": round(ingest_s, 2),
                         "ingest_paragraphs_per_s": round(chunks / ingest_s, 1),
                         "bare_encode_paragraphs_per_s": round(len(paragraphs) / encode_s, 1)}
    finally:
        shutil.rmtree(home, ignore_errors=True)

    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"chunks {out['ingest']['chunks']}; ingest {out['ingest']['ingest_s']} s "
          f"({out['ingest']['ingest_paragraphs_per_s']} paragraphs/s; bare encode "
          f"{out['ingest']['bare_encode_paragraphs_per_s']}/s)")
    print(f"{'cold (new process)':34s} {'median s':>9s} {'min':>6s} {'max':>6s} {'peak MB':>8s}")
    for name, fig in cold.items():
        if isinstance(fig, dict):
            print(f"{name:34s} {fig['median_s']:9.2f} {fig['min_s']:6.2f} {fig['max_s']:6.2f} {fig['peak_rss_mb']:8.0f}")
    print(f"rag ask / naive first answer: {cold['ask / naive']:.2f}")
    for name, v in out["warm_ms"].items():
        print(f"warm {name:30s} {v}")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
