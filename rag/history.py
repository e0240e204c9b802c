"""Conversation history in the eval/batch format: strings, or {role, content} objects reduced to user turns."""

from __future__ import annotations

from typing import Any

from rag.errors import RagError


def user_turns(raw: Any, where: str) -> tuple[str, ...]:
    """The user's earlier questions, oldest first; `where` (file:line) names the input in errors."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RagError(f"{where}: 'history' must be a list of strings or {{role, content}} objects")
    out: list[str] = []
    for h in raw:
        if isinstance(h, str):
            out.append(h)
        elif isinstance(h, dict) and isinstance(h.get("content"), str):
            if h.get("role", "user") == "user":
                out.append(h["content"])
        else:
            raise RagError(f"{where}: each history item must be a string or a {{role, content}} object")
    return tuple(out)
