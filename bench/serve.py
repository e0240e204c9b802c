"""`rag serve` under concurrent clients: 1, 10 and 100 at once, loopback only, bounded in count and time.

Starts `rag serve` over a store of the bundled corpus (indexed once in a temporary RAG_HOME), warms it, then for each
level runs that many clients at once, taking the 200 questions of evals/dev.jsonl and evals/questions.jsonl in turn
(`--requests` in all per level; distinct questions, so that none is answered from the server's cache of query
vectors), and records every request's latency. Prints p50 / p95 per request and throughput (answers per second),
and counts the answers that differ from the same question's answer at one client (load must change no answer);
writes bench/serve.json.

    python bench/serve.py [--levels 1,10,100] [--requests 200] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from common import ROOT, percentile, quiet_environment

sys.path.insert(0, str(ROOT))

SETS = (ROOT / "evals" / "dev.jsonl", ROOT / "evals" / "questions.jsonl")
START_S = 300
REQUEST_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(url: str, question: str, history: list[str]) -> tuple[float, str]:
    messages = [{"role": "user", "content": h} for h in history] + [{"role": "user", "content": question}]
    body = json.dumps({"model": "rag-zh-news", "messages": messages}).encode()
    req = urllib.request.Request(url + "/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT_S) as resp:
        text = json.loads(resp.read())["choices"][0]["message"]["content"]
    return time.perf_counter() - t0, text.split("\n\n来源:")[0]


def level(url: str, items: list[dict], clients: int, requests: int, reference: dict[int, str]) -> dict:
    """`clients` threads at once, `requests` in all, each client taking the next question in turn; an answer to a
    question `reference` has is compared with it (the first level fills it)."""
    lock = threading.Lock()
    queue = list(range(requests))
    times: list[float] = []
    wrong: list[str] = []
    start = threading.Barrier(clients)

    def client() -> None:
        start.wait()
        while True:
            with lock:
                if not queue:
                    return
                i = queue.pop()
            item = items[i % len(items)]
            took, text = ask(url, item["question"], item.get("history", []))
            with lock:
                times.append(took)
                if reference.setdefault(i % len(items), text) != text:
                    wrong.append(item["question"])

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"clients": clients, "requests": len(times), "p50_s": round(percentile(times, 0.5), 3),
            "p95_s": round(percentile(times, 0.95), 3), "throughput_per_s": round(len(times) / wall, 1),
            "differ": len(wrong)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="1,10,100")
    parser.add_argument("--requests", type=int, default=200, help="requests per level (at least the clients)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "serve.json")
    args = parser.parse_args()
    quiet_environment()
    items = [json.loads(line) for path in SETS for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="rag-bench-serve-") as home:
        env = {**os.environ, "RAG_HOME": home}
        subprocess.run([sys.executable, "-m", "rag", "ingest"], env=env, check=True, capture_output=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(Path(home) / "serve.log", "w")  # noqa: SIM115 - closed below
        server = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(port)], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_S
            while True:
                try:
                    urllib.request.urlopen(url + "/v1/models", timeout=2).read()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit(f"rag serve did not start; see {log.name}") from None
                    time.sleep(0.5)
            for item in items[:5]:
                ask(url, item["question"], item.get("history", []))
            results = []
            reference: dict[int, str] = {}
            for n in (int(x) for x in args.levels.split(",")):
                r = level(url, items, n, max(args.requests, n), reference)
                results.append(r)
                print(f"{n:>4} clients: p50 {r['p50_s']:.3f} s, p95 {r['p95_s']:.3f} s, "
                      f"{r['throughput_per_s']:.1f} answers/s, {r['differ']} of {r['requests']} answers differ from one "
                      "client's", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    base = results[0]["throughput_per_s"]
    out = {"date": time.strftime("%Y-%m-%d"), "machine": f"{os.cpu_count()} cores", "levels": results,
           "throughput_vs_one_client": {r["clients"]: round(r["throughput_per_s"] / base, 2) for r in results}}
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out["throughput_vs_one_client"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
