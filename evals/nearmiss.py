"""Near-miss unanswerables from any eval set: the same questions over a copy of their articles with the answer cut out.

For every answerable question, each sentence of its source file that holds one of its gold answers is deleted from a
copy of the corpus. The question stays as it was; its answer is then nowhere, and the right reply is a refusal. The
rest of the article stays, so the passage still looks relevant: this is what tells a calibrated refusal from a
keyword match (`rag eval --near-miss`, and evals/fit.py's training twins).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from evals.metrics import norm
from evals.runner import EvalItem

_SENTENCE = re.compile(r"[^。!?;！？；\n]+(?:[。!?;！？；]+[”」』\"]?)?|\n")
NEAR_MISS_TYPE = "near-miss"


def holds(text: str, must: Sequence[Sequence[str]]) -> bool:
    """Every group of `must` has an alternative in the text (NFKC, whitespace aside)."""
    got = norm(text)
    return bool(must) and all(any(norm(s) and norm(s) in got for s in group) for group in must)


def _golds(item: EvalItem) -> list[str]:
    return [s for group in item.must for s in group if norm(s)]


def cut_text(text: str, golds: Sequence[str]) -> str:
    """The text without the sentences that hold any of the gold strings (lines and the other sentences kept)."""
    keys = [norm(g) for g in golds]
    return "".join(s for s in _SENTENCE.findall(text) if s == "\n" or not any(k in norm(s) for k in keys))


def build(items: Sequence[EvalItem], corpus: Path, out: Path) -> list[EvalItem]:
    """Copy `corpus` to `out` with the answers of `items` cut out; the twins: the questions whose answers are gone
    from every file of the copy, each marked unanswerable (id suffixed "~near-miss")."""
    shutil.copytree(corpus, out, dirs_exist_ok=True)
    files = {p.name: p for p in out.rglob("*") if p.is_file()}
    by_file: dict[str, list[str]] = {}
    candidates = [i for i in items if i.answerable and not i.history and i.must and i.sources]
    for item in candidates:
        for source in item.sources:
            if source in files:
                by_file.setdefault(source, []).extend(_golds(item))
    for name, golds in by_file.items():
        path = files[name]
        text = path.read_text(encoding="utf-8-sig", errors="replace")
        path.write_text(cut_text(text, golds), encoding="utf-8")
    texts = {name: norm(p.read_text(encoding="utf-8", errors="replace")) for name, p in files.items()}
    twins = []
    for item in candidates:
        if not any(s in by_file for s in item.sources):
            continue
        if any(norm(g) in t for g in _golds(item) for t in texts.values()):
            continue  # the answer is still written somewhere in the copy (a title, another sentence): no twin
        twins.append(replace(item, id=f"{item.id}~near-miss", answerable=False, type=NEAR_MISS_TYPE, evidence=()))
    return twins
