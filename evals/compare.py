"""What a run was made with (`about`: commit, models, settings), and the difference between two runs
(`rag eval --compare A.json B.json`): overall metrics side by side, and every question whose outcome changed."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from rag.errors import RagError

ROOT = Path(__file__).resolve().parent.parent
# The outcomes of a question (`outcome`), and how each reads in the report and the diff.
OUTCOME_NAMES = {"right": "right", "wrong": "wrong", "refused": "refused (answerable)",
                 "refused_right": "refused (unanswerable)", "answered_unanswerable": "answered (unanswerable)"}


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def about(settings, *, mode: str, k: int, corpus: str | None) -> dict[str, Any]:
    """The commit (and whether tracked files differed from it), the models and the settings of a run."""
    from rag.ranker import MODEL_PATH, model

    commit = _git("rev-parse", "--short=12", "HEAD")
    changed = _git("status", "--porcelain", "--untracked-files=no")
    answer_model = MODEL_PATH.read_bytes()
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": commit, "uncommitted_changes": bool(changed) if changed is not None else None,
        "embed_model": settings.embed_model,
        "answer_model": hashlib.sha256(answer_model).hexdigest()[:12], "threshold": model().threshold,
        "generator": "llm" if settings.llm_base_url else "extractive",
        **({"llm_model": settings.llm_model} if settings.llm_base_url else {}),
        "mode": mode, "k": k, "corpus": corpus,
    }


def outcome(result: dict[str, Any]) -> str:
    """One of OUTCOME_NAMES' keys for a row of a run's `results`."""
    if result.get("answerable", True):
        return "right" if result.get("correct") else ("refused" if result.get("refused") else "wrong")
    return "refused_right" if result.get("refused") else "answered_unanswerable"


def load_run(path: Path) -> dict[str, Any]:
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RagError(f"--compare {path}: cannot read it ({exc.strerror or exc}); give a file `rag eval --json` "
                       "wrote") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RagError(f"--compare {path}: not JSON ({exc}); give a file `rag eval --json` wrote") from None
    if not isinstance(run, dict) or not isinstance(run.get("overall"), dict) or not isinstance(run.get("results"), list):
        raise RagError(f"--compare {path}: not a run (no 'overall' and 'results'); give a file `rag eval --json` wrote")
    return run


def diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Overall metrics of both runs with B - A, and each question (by id) whose outcome differs."""
    metrics = [k for k in a["overall"] if k in b["overall"]]
    overall = {k: {"a": a["overall"][k], "b": b["overall"][k],
                   "delta": (round(b["overall"][k] - a["overall"][k], 4)
                             if isinstance(a["overall"][k], (int, float)) and isinstance(b["overall"][k], (int, float))
                             else None)} for k in metrics}
    rows_a = {r["id"]: r for r in a["results"] if isinstance(r, dict) and "id" in r}
    rows_b = {r["id"]: r for r in b["results"] if isinstance(r, dict) and "id" in r}
    changed = []
    for qid in rows_a.keys() & rows_b.keys():
        was, now = outcome(rows_a[qid]), outcome(rows_b[qid])
        if was != now:
            better = now in ("right", "refused_right")
            worse = was in ("right", "refused_right")
            changed.append({"id": qid, "type": rows_b[qid].get("type", ""), "question": rows_b[qid].get("question", ""),
                            "a": was, "b": now, "change": "better" if better else "worse" if worse else "other",
                            "answer_a": rows_a[qid].get("answer", ""), "answer_b": rows_b[qid].get("answer", "")})
    changed.sort(key=lambda c: ({"worse": 0, "better": 1, "other": 2}[c["change"]], str(c["id"])))
    return {"a": {"set": a.get("set"), "about": a.get("about", {})}, "b": {"set": b.get("set"), "about": b.get("about", {})},
            "overall": overall, "changed": changed,
            "only_a": sorted(map(str, rows_a.keys() - rows_b.keys())),
            "only_b": sorted(map(str, rows_b.keys() - rows_a.keys()))}


def _about_line(name: str, path: Path, side: dict[str, Any]) -> str:
    ab = side.get("about") or {}
    made = " ".join(f"{k} {ab[k]}" for k in ("commit", "date", "answer_model", "threshold", "mode", "k") if ab.get(k) is not None)
    dirty = " (with uncommitted changes)" if ab.get("uncommitted_changes") else ""
    return f"{name}: {path} · {side.get('set')} · {made or 'made before runs recorded their settings'}{dirty}"


def render_text(d: dict[str, Any], path_a: Path, path_b: Path) -> str:
    lines = [_about_line("A", path_a, d["a"]), _about_line("B", path_b, d["b"])]
    if d["a"]["set"] != d["b"]["set"]:
        lines.append(f"warning: the runs are of different sets ({d['a']['set']} and {d['b']['set']})")
    lines += ["", f"{'metric':<20}{'A':>10}{'B':>10}{'B - A':>10}", "-" * 50]
    for k, v in d["overall"].items():
        delta = "" if v["delta"] is None else f"{v['delta']:+.3f}"
        lines.append(f"{k:<20}{_num(v['a']):>10}{_num(v['b']):>10}{delta:>10}")
    worse = sum(c["change"] == "worse" for c in d["changed"])
    better = sum(c["change"] == "better" for c in d["changed"])
    lines += ["", f"{len(d['changed'])} questions changed: {better} better, {worse} worse"]
    for c in d["changed"]:
        lines.append(f"  {c['change']:<7}{c['id']:<14}{OUTCOME_NAMES[c['a']]} -> {OUTCOME_NAMES[c['b']]}  {c['question']}")
    if d["only_a"] or d["only_b"]:
        lines.append(f"only in A: {len(d['only_a'])} questions; only in B: {len(d['only_b'])}")
    return "\n".join(lines)


def _num(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)
