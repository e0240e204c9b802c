"""Servers the tests start as real processes (`rag ui`, `rag serve`, `chroma run`): a free port, a wait until
something listens on it, and a stop that never leaves a process behind."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, within_s: float, proc: subprocess.Popen | None = None, log: Path | None = None,
                  what: str = "the server") -> None:
    """Return once something listens on the port; fail with the log's tail if the process exits or time runs out."""
    tail = (lambda: "\n" + log.read_text(errors="replace")[-3000:]) if log else (lambda: "")
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}:{tail()}")
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"{what} did not listen on {port} within {within_s} s:{tail()}")


@contextlib.contextmanager
def serving(cmd: list[str], port: int, log: Path, within_s: float, env: dict[str, str] | None = None,
            what: str = "the server") -> Iterator[subprocess.Popen]:
    """Run `cmd` (which listens on `port`) with its output in `log`, until it listens; stop it afterwards."""
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        started = time.monotonic()
        wait_for_port(port, within_s, proc, log, what)
        print(f"\n{what} listening after {time.monotonic() - started:.1f} s")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
