"""The house's floors (ARCHITECTURE.md): vectorstore at the bottom, rag on it, ui and evals on top. Every import,
at the top of a module or inside a function, runs down a floor or stays on one; no module reaches itself."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {"vectorstore": 0, "rag": 1, "ui": 2, "evals": 2}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path, modules: set[str]) -> set[str]:
    """The project modules a file imports (every import statement, wherever it stands, type-only ones too)."""
    me = _module(path)
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = me.split(".") if path.name == "__init__.py" else me.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(p for p in (*package, base) if p)
            # `from rag import cite` imports the module rag.cite; `from rag.cite import render`, rag.cite
            out |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    return {m for m in out if m in modules and m != me}


def graph() -> dict[str, set[str]]:
    files = [p for pkg in FLOORS for p in (ROOT / pkg).rglob("*.py")]
    modules = {_module(p) for p in files}
    return {_module(p): _imported(p, modules) for p in files}


def _floor(module: str) -> int:
    return FLOORS[module.split(".")[0]]


def climbing(edges: dict[str, set[str]]) -> list[str]:
    """Imports from a lower floor to a higher one, and between the rooms of the top floor."""
    return sorted(f"{a} -> {b}" for a, targets in edges.items() for b in targets
                  if _floor(b) > _floor(a) or (_floor(b) == _floor(a) == 2 and a.split(".")[0] != b.split(".")[0]))


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in sorted(edges.get(m, ())):
            if state.get(n) == 1:
                found.append([*path[path.index(n):], n])
            elif n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    return found


def test_every_import_runs_down_or_across():
    up = climbing(graph())
    assert not up, "imports that climb a floor (add a command through rag.commands instead):\n" + "\n".join(up)


def test_no_module_imports_itself_through_others():
    found = circles(graph())
    assert not found, "import circles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_graph_is_read_and_the_guards_can_fail():
    edges = graph()
    assert "vectorstore.store" in edges["rag.chain"] and "rag.cite" in edges["ui.chat"]
    assert "rag.types" in edges["rag.cite"]  # a type-only import counts too
    assert climbing({"rag.cli": {"ui.app"}, "ui.app": {"evals.runner"}, "evals.fit": {"rag.extract"}}) == [
        "rag.cli -> ui.app", "ui.app -> evals.runner"]
    assert circles({"rag.types": {"rag.cite"}, "rag.cite": {"rag.types"}}) == [["rag.cite", "rag.types", "rag.cite"]]
