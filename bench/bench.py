"""Speed and memory of the pipeline: model conversion/load, ingest, per-question latency (rerun: make bench)."""

from __future__ import annotations

import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from rag.pipeline import Pipeline
    from rag.settings import Settings
    from vectorstore.e5_convert import convert

    settings = Settings.from_env()
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        convert(Path(tmp) / "model", progress=lambda _m: None)
        out["convert_s"] = time.perf_counter() - t
    home = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    try:
        p = Pipeline.from_settings(Settings(home=home, cache_dir=settings.cache_dir, embed_model=settings.embed_model))
        t = time.perf_counter()
        _ = p.embedder.model
        out["model_load_s"] = time.perf_counter() - t
        t = time.perf_counter()
        report = p.ingest()
        out["ingest_s"] = time.perf_counter() - t
        out["chunks"] = report.chunks
        paras = [c.text for c in p.index.chunks]
        t = time.perf_counter()
        p.embedder.embed_documents(paras)
        out["encode_paragraphs_per_s"] = len(paras) / (time.perf_counter() - t)
        questions = [json.loads(line) for line in (ROOT / "evals/dev.jsonl").read_text().splitlines() if line.strip()]
        p.ask("二七区新增多少学位?")  # warm
        embed_ms, query_ms, ask_ms = [], [], []
        for q in questions:
            t = time.perf_counter()
            vec = p.embedder.embed_query(q["question"])
            embed_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            p.index.vectorstore.similarity_search_by_vector_with_relevance_scores(vec, k=8)
            query_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            p.ask(q["question"], q.get("history") or [])
            ask_ms.append((time.perf_counter() - t) * 1000)
        out["embed_query_ms_p50"] = statistics.median(embed_ms)
        out["chroma_query_ms_p50"] = statistics.median(query_ms)
        out["ask_ms_p50"] = statistics.median(ask_ms)
        out["ask_ms_p95"] = sorted(ask_ms)[int(0.95 * (len(ask_ms) - 1))]
        out["ask_over_embed_plus_query"] = out["ask_ms_p50"] / (out["embed_query_ms_p50"] + out["chroma_query_ms_p50"])
        out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        shutil.rmtree(home, ignore_errors=True)
    for k, v in out.items():
        print(f"{k:28s} {v:10.2f}")


if __name__ == "__main__":
    main()
