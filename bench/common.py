"""What the benchmarks share: running new processes, timing them, percentiles."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def quiet_environment() -> None:
    for name, value in (("HF_HUB_OFFLINE", "1"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1"), ("TRANSFORMERS_VERBOSITY", "error"),
                        ("TOKENIZERS_PARALLELISM", "false"), ("ANONYMIZED_TELEMETRY", "False")):
        os.environ.setdefault(name, value)  # as `rag` sets them for itself


def run(cmd: list[str], env: dict[str, str]) -> str:
    """The stdout of one new process that must succeed."""
    proc = subprocess.run(cmd, env=env, capture_output=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-800:]}")
    return proc.stdout.decode()


def cold_run(cmd: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    """Wall time (median, min, max) and peak RSS of `runs` new processes (os.wait4 gives each one's own RSS)."""
    walls, rss = [], []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - t)
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(cmd[:4])}… failed: {err[-800:]}")
        rss.append(usage.ru_maxrss / 1024)
    return {"median_s": round(statistics.median(walls), 3), "min_s": round(min(walls), 3),
            "max_s": round(max(walls), 3), "peak_rss_mb": round(max(rss), 1)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
