"""Readers' verdicts on answers (👍 / 👎, with an optional correction), kept in RAG_HOME/feedback.jsonl, and the eval
items they become (`rag eval --from-feedback OUT.jsonl`): a newsroom grows its own test set from use.

The file is append-only JSON Lines: a verdict is one line; a correction added later is another line with the same
`id`, merged over it when read. A line that cannot be parsed (a crash mid-write) is skipped, never fatal.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FEEDBACK_FILE = "feedback.jsonl"
MAX_CORRECTION_CHARS = 200  # the eval rule's answer limit: a correction is an answer
_MARKER = re.compile(r"\[\d+\]")
# A figure as an answer states it: digits with their decimal point and the Chinese magnitude or percent after them.
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*(?:万亿|亿|万|千|百)?%?")
_LOCK = threading.Lock()


def answer_core(answer: str) -> str:
    """The answer without its [n] markers and closing punctuation."""
    return _MARKER.sub("", answer).strip().rstrip("。.!！;；")


class FeedbackLog:
    """RAG_HOME/feedback.jsonl: verdicts appended, corrections merged by id."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / FEEDBACK_FILE

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _LOCK:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                size = os.fstat(fd).st_size
                # a line cut short by a crash is ended first, so that this record starts a line of its own
                torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
                os.write(fd, (("\n" if torn else "") + line).encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def add(self, answer: dict[str, Any], history: Sequence[str], liked: bool) -> str:
        """A verdict on an answer (`rag ask --json`'s shape) to a question asked after `history`; its id."""
        fid = uuid.uuid4().hex[:12]
        cited = [{"source": c.get("source"), "paragraph": c.get("paragraph"), "quote": c.get("quote")}
                 for c in answer.get("citations", []) if isinstance(c, dict)]
        self._append({"id": fid, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      "question": answer.get("question", ""), "history": list(history),
                      "answer": answer.get("answer", ""), "refused": bool(answer.get("refused")), "citations": cited,
                      "verdict": "up" if liked else "down"})
        return fid

    def correct(self, fid: str, correction: str = "", no_answer: bool = False) -> None:
        """What the right answer is (or that the articles hold none), for the verdict `fid`."""
        correction = correction.strip()
        if len(correction) > MAX_CORRECTION_CHARS:
            raise ValueError(f"更正最多 {MAX_CORRECTION_CHARS} 字(现在 {len(correction)} 字)")
        self._append({"id": fid, "correction": correction, "no_answer": bool(no_answer)})

    def entries(self) -> list[dict[str, Any]]:
        """Every verdict, oldest first, with its latest correction merged in."""
        if not self.path.is_file():
            return []
        merged: dict[str, dict[str, Any]] = {}
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("id"), str):
                if "verdict" in rec:
                    merged[rec["id"]] = {**merged.get(rec["id"], {}), **rec}
                elif rec["id"] in merged:
                    merged[rec["id"]].update(correction=rec.get("correction", ""), no_answer=rec.get("no_answer", False))
        return list(merged.values())


def eval_items(entries: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Eval items (the format of ../shared/README.md) from verdicts, and how many could not become one.

    - 👍 on an answer: it must stay right: each figure it states must be in the answer again (the whole answer when it
      states none); its cited articles are the sources. 👍 on a refusal: the question stays refused.
    - 👎 with a correction: the correction must be in the answer; 👎 marked "no answer in the articles": refused.
    - 👎 with nothing more cannot say what is right: left out (counted).
    """
    items, left_out = [], 0
    for e in entries:
        base = {"id": f"feedback-{e['id']}", "question": e.get("question", ""), "history": e.get("history", []),
                "type": "feedback"}
        if not base["question"]:
            left_out += 1
            continue
        if e.get("verdict") == "up":
            if e.get("refused"):
                items.append({**base, "answerable": False, "must": [], "sources": []})
                continue
            core = answer_core(e.get("answer", ""))
            figures = list(dict.fromkeys(_FIGURE.findall(core)))
            must = [[f] for f in figures] if figures else [[core]]
            sources = list(dict.fromkeys(c["source"] for c in e.get("citations", []) if c.get("source")))
            items.append({**base, "answerable": True, "must": must, "sources": sources})
        elif e.get("no_answer"):
            items.append({**base, "answerable": False, "must": [], "sources": []})
        elif e.get("correction"):
            items.append({**base, "answerable": True, "must": [[e["correction"]]], "sources": []})
        else:
            left_out += 1
    return items, left_out
