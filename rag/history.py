"""The eval/batch JSON Lines format: reading its lines, and its history (strings or {role, content} objects)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import RagError, check_text


def user_turns(raw: Any, where: str) -> tuple[str, ...]:
    """The user's earlier questions, oldest first; `where` (file:line) names the input in errors."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RagError(f"{where}: 'history' must be a list of strings or {{role, content}} objects")
    out: list[str] = []
    for h in raw:
        if isinstance(h, str):
            check_text(h, f"{where}: a history item")
            out.append(h)
        elif isinstance(h, dict) and isinstance(h.get("content"), str):
            check_text(h["content"], f"{where}: a history item")
            if h.get("role", "user") == "user":
                out.append(h["content"])
        else:
            raise RagError(f"{where}: each history item must be a string or a {{role, content}} object")
    return tuple(out)


def question_of(obj: Any, where: str) -> str:
    """The line's 'question': a non-empty string of valid text, or a RagError naming the line."""
    if not isinstance(obj, dict):
        raise RagError(f"{where}: each line must be a JSON object with a 'question'")
    q = obj.get("question")
    if not isinstance(q, str) or not q.strip():
        raise RagError(f"{where}: 'question' must be a non-empty string")
    check_text(q, f"{where}: the question")
    return q.strip()


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for each non-blank line; a bad line is a RagError naming file and line."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RagError(f"{path}: cannot read it as UTF-8 ({exc})") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as exc:
            raise RagError(f"{path}:{n}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
