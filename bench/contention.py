"""Warm questions on a busy machine: alone, beside a second `rag` process answering, and beside a large ingest.

The foreground is one process that opens the store, warms up, and asks the dev set's questions --rounds times,
timing each (`Pipeline.ask`, the query embedded anew each time); the background is a loop of `rag ask --batch`
over the same set, or `rag ingest` of --ingest-paragraphs synthetic paragraphs into a store of its own. Each is
run with the threads as the `rag` command sets them (vectorstore/threads.py), and with other spin counts in both
processes (SETTINGS), libgomp's default among them. Prints p50 per question and the ratio to the quiet machine;
writes bench/contention.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, quiet_environment

DEV = ROOT / "evals" / "dev.jsonl"
FOREGROUND = r"""
import json, statistics, sys, time
from rag.pipeline import Pipeline
questions = [json.loads(line)["question"] for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
p = Pipeline.from_settings()
p.warm_up()
for q in questions[:5]:
    p.ask(q)
times = []
for _ in range(int(sys.argv[2])):
    for q in questions:
        p.index._queries.clear()  # each question embedded anew, as a question not asked before
        t = time.perf_counter()
        p.ask(q)
        times.append((time.perf_counter() - t) * 1000)
print(json.dumps({"p50_ms": statistics.median(times), "mean_ms": statistics.fmean(times), "n": len(times)}))
"""


# The thread settings tried, as environment variables in both processes. GOMP_SPINCOUNT is how long an idle
# OpenMP thread spins before it sleeps (libgomp's unit: loop turns, ~100,000 a millisecond; it takes precedence
# over OMP_WAIT_POLICY); 300,000 is libgomp's own default, what runs when nobody sets anything.
SETTINGS = {
    "as set (vectorstore/threads.py)": {},
    "2 threads, no spinning": {"OMP_NUM_THREADS": "2", "GOMP_SPINCOUNT": "0"},
    "2 threads, spin 10,000": {"OMP_NUM_THREADS": "2", "GOMP_SPINCOUNT": "10000"},
    "2 threads, libgomp's default": {"OMP_NUM_THREADS": "2", "GOMP_SPINCOUNT": "300000"},
    "1 thread": {"OMP_NUM_THREADS": "1"},
}


def _env(home: Path, setting: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, "RAG_HOME": str(home)}
    for name in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "GOMP_SPINCOUNT"):
        env.pop(name, None)
    return {**env, **setting}


def _foreground(home: Path, spin: dict[str, str], rounds: int) -> dict:
    out = subprocess.run([sys.executable, "-c", FOREGROUND, str(DEV), str(rounds)], env=_env(home, spin), cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _background(kind: str, home: Path, other_home: Path, corpus: Path, spin: dict[str, str]) -> subprocess.Popen:
    rag = str(Path(sys.executable).with_name("rag"))
    if kind == "answering":
        script = f"while true; do '{rag}' ask --batch '{DEV}' --json > /dev/null; done"
        env = _env(home, spin)
    else:
        shutil.rmtree(other_home, ignore_errors=True)
        script = f"'{rag}' ingest '{corpus}' --json > /dev/null"
        env = _env(other_home, spin)
    return subprocess.Popen(["bash", "-c", script], env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop(proc: subprocess.Popen) -> bool:
    """Stop the background; whether it was still running (a finished ingest did not overlap the whole run)."""
    running = proc.poll() is None
    if running:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the dev set's questions")
    parser.add_argument("--ingest-paragraphs", type=int, default=3000)
    parser.add_argument("--settle-s", type=float, default=12.0, help="seconds the background runs before timing")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "contention.json")
    args = parser.parse_args()
    quiet_environment()
    results: dict = {"cpus": len(os.sched_getaffinity(0)), "rounds": args.rounds}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        home, other = tmp / "home", tmp / "other"
        subprocess.run([str(Path(sys.executable).with_name("rag")), "ingest", "--json"], env=_env(home, {}),
                       cwd=ROOT, check=True, capture_output=True)
        corpus = tmp / "corpus"
        corpus.mkdir()
        for f in range(args.ingest_paragraphs // 100):
            (corpus / f"county-{f:03d}.txt").write_text("\n\n".join(
                f"第{f}-{i}条:某县第{i % 37 + 1}镇今年新修乡村道路{(f * 100 + i) * 3 % 97 + 5}公里,"
                f"投入资金{(f * 100 + i) * 7 % 89 + 11}万元,惠及群众{(f * 100 + i) * 13 % 900 + 100}户。"
                for i in range(100)) + "\n", encoding="utf-8")
        for label, spin in SETTINGS.items():
            quiet = _foreground(home, spin, args.rounds)
            row = {"quiet_p50_ms": round(quiet["p50_ms"], 1)}
            for kind in ("answering", "ingest"):
                proc = _background(kind, home, other, corpus, spin)
                time.sleep(args.settle_s)
                busy = _foreground(home, spin, args.rounds)
                overlapped = _stop(proc)
                row[f"beside_{kind}_p50_ms"] = round(busy["p50_ms"], 1)
                row[f"beside_{kind}_ratio"] = round(busy["p50_ms"] / quiet["p50_ms"], 2)
                row[f"beside_{kind}_overlapped"] = overlapped
            results[label] = row
            print(f"{label:32} quiet {row['quiet_p50_ms']:6.1f} ms   beside answering {row['beside_answering_p50_ms']:6.1f} ms "
                  f"({row['beside_answering_ratio']}×)   beside ingest {row['beside_ingest_p50_ms']:6.1f} ms "
                  f"({row['beside_ingest_ratio']}×{'' if row['beside_ingest_overlapped'] else ', ingest ended first'})")
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
