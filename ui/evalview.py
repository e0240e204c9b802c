"""The Eval tab: the latest `rag eval --json` run (else the committed baseline) as a table and bar charts."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.settings import PROJECT_ROOT

EVAL_FILES = (PROJECT_ROOT / "evals" / "last_run.json", PROJECT_ROOT / "evals" / "baseline.json")


def find_eval_file(candidates: Sequence[Path] | None = None) -> Path | None:
    """The latest `rag eval --json` run, else the committed baseline, else None."""
    return next((p for p in (EVAL_FILES if candidates is None else candidates) if p.is_file()), None)


def _fmt(metric: str, value: Any) -> str:
    if not isinstance(value, (int, float)):
        return html.escape(str(value))
    if "latency" in metric or metric.endswith("_ms"):
        return f"{value:.0f} ms"
    return f"{value:.1%}" if 0 <= value <= 1 else f"{value:g}"


def _chart(name: str, metrics: dict[str, Any], n: Any = None) -> str:
    esc = html.escape
    title = esc(name) + (f" · n={esc(str(n))}" if n is not None else "")
    rows = []
    for metric, value in metrics.items():
        ratio = isinstance(value, (int, float)) and 0 <= value <= 1 and "latency" not in metric
        bar = f'<div class="rag-bar"><div style="width:{value * 100:.1f}%"></div></div>' if ratio else "<div></div>"
        rows.append(f'<div class="rag-bar-row"><span>{esc(metric)}</span>{bar}<span>{_fmt(metric, value)}</span></div>')
    return f'<div class="rag-chart"><h4>{title}</h4>{"".join(rows)}</div>'


def eval_view(path: Path | None = None) -> tuple[str, str]:
    """(Markdown summary with the overall table, HTML charts per question type) from a `rag eval --json` file."""
    path = path or find_eval_file()
    if path is None:
        return "no eval run yet — run `rag eval --json evals/last_run.json` (or `make eval`).", ""
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
        overall = run.get("overall", {})
        by_type = run.get("by_type", {})
        if not isinstance(overall, dict) or not isinstance(by_type, dict):
            raise ValueError("'overall' and 'by_type' must be objects")
    except (OSError, ValueError, AttributeError) as exc:
        return f"cannot read {path.name}: {exc}; re-run `rag eval --json {path}`.", ""
    counts = run.get("n_by_type", {}) if isinstance(run.get("n_by_type"), dict) else {}
    try:
        shown = path.relative_to(PROJECT_ROOT)
    except ValueError:
        shown = path
    info = " · ".join(f"{k}: {run[k]}" for k in ("set", "n", "mode") if run.get(k) is not None)
    lines = [f"**{shown}**" + (f" — {info}" if info else ""), "", "| metric | overall |", "| --- | --- |"]
    lines += [f"| {m} | {_fmt(m, v)} |" for m, v in overall.items()]
    charts = [_chart("overall", overall, run.get("n"))]
    charts += [_chart(t, m, counts.get(t)) for t, m in by_type.items() if isinstance(m, dict)]
    if not by_type:
        lines += ["", "_this run has no per-type metrics._"]
    return "\n".join(lines), f'<div class="rag-charts">{"".join(charts)}</div>'
