"""A self-contained HTML page of an eval run: what it was made with, metric tables, inline SVG bar charts per type,
every question in a table that filters by type and outcome, every failure in full."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from evals.runner import LATENCY_METRICS, LOWER_IS_BETTER, METRICS, RATE_METRICS

_CSS = """
body{font:14px/1.5 system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:2rem auto;
 max-width:1100px;padding:0 1rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f5f5f5}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.chart{border:1px solid #eee;padding:.5rem}
.chart h3{margin:.2rem 0;font-size:1rem}
.fail{border:1px solid #e5c0c0;border-radius:4px;padding:.5rem 1rem;margin:1rem 0}
.fail h3{margin:.2rem 0;font-size:1rem}.reasons{color:#a00}.muted{color:#777}
.q{background:#fafafa;border-left:3px solid #ccc;padding:.2rem .5rem;margin:.2rem 0}
.bad{color:#a00;font-weight:bold}.ok{color:#080}.tag{font-size:.8rem;border:1px solid #aaa;border-radius:3px;padding:0 .3rem}
ul{margin:.2rem 0}
#questions td{text-align:left;vertical-align:top}#questions td.o-right,#questions td.o-refused_right{color:#080}
#questions td.o-wrong,#questions td.o-answered_unanswerable{color:#a00}#questions td.o-refused{color:#b60}
.qfilter input{display:none}.qfilter label{border:1px solid #bbb;border-radius:3px;padding:0 .4rem;margin:0 .2rem;
 cursor:pointer;font-size:.85rem}
"""


def _fmt(metric: str, value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if metric in LATENCY_METRICS else f"{value:.3f}"


def _table(rows: dict[str, dict[str, float]], counts: dict[str, int] | None = None) -> str:
    """Metrics as rows, the groups (overall, types or modes) as columns."""
    cols = list(rows)
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    body = []
    if counts:
        body.append("<tr><td>n</td>" + "".join(f"<td>{counts.get(c, '')}</td>" for c in cols) + "</tr>")
    for metric in METRICS:
        if any(metric in rows[c] for c in cols):
            cells = "".join(f"<td>{_fmt(metric, rows[c].get(metric))}</td>" for c in cols)
            body.append(f"<tr><td>{escape(metric)}</td>{cells}</tr>")
    return f"<table><tr><th>metric</th>{head}</tr>{''.join(body)}</table>"


def bar_chart(title: str, values: dict[str, float], width: int = 340) -> str:
    """Horizontal bars for rates in 0..1; an inline <svg>, no script, no external file."""
    rows = [(k, v) for k, v in values.items() if k in RATE_METRICS]
    label_w, bar_w, row_h = 120, width - 120 - 50, 20
    height = row_h * len(rows) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}">']
    for i, (metric, value) in enumerate(rows):
        y = 4 + i * row_h
        colour = "#c0504d" if metric in LOWER_IS_BETTER else "#4f81bd"
        w = max(0.0, min(1.0, value)) * bar_w
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12">{escape(metric)}</text>'
                     f'<rect x="{label_w}" y="{y + 2}" width="{bar_w}" height="{row_h - 6}" fill="#eee"/>'
                     f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}"/>'
                     f'<text x="{label_w + bar_w + 4}" y="{y + 14}" font-size="12">{value:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _chart_box(title: str, values: dict[str, float], note: str = "") -> str:
    lat = ", ".join(f"{k.removeprefix('latency_ms_')} {values[k]:.0f} ms" for k in LATENCY_METRICS if k in values)
    sub = " · ".join(x for x in (note, lat) if x)
    return (f'<div class="chart"><h3>{escape(title)}</h3>{bar_chart(title, values)}'
            f'<div class="muted">{escape(sub)}</div></div>')


def _citation(c: dict[str, Any]) -> str:
    mark = '<span class="ok">verbatim</span>' if c.get("verbatim") else '<span class="bad">not verbatim</span>'
    where = f"{c.get('source', '')} ¶{c.get('paragraph', '')} · {c.get('district', '')} · 《{c.get('title', '')}》"
    return (f"<li>[{c.get('n')}] {escape(where)} {mark}"
            f"<div class=\"q\">{escape(c.get('quote', ''))}</div></li>")


def _failure(f: dict[str, Any]) -> str:
    history = "".join(f"<li>{escape(h)}</li>" for h in f.get("history", []))
    cites = "".join(_citation(c) for c in f.get("citations", [])) or "<li class=\"muted\">no citations</li>"
    must = " 且 ".join("(" + " 或 ".join(escape(s) for s in g) + ")" for g in f.get("must", []))
    evidence = "".join(f'<div class="q">{escape(e)}</div>' for e in f.get("evidence", []))
    hit = '<span class="ok">holds evidence</span> '
    retrieved = "".join(
        f"<li>{hit if r.get('hit') else ''}{escape(r.get('source', ''))} ¶{r.get('paragraph', '')}: "
        f'<span class="muted">{escape(r.get("text", "")[:160])}</span></li>'
        for r in f.get("retrieved", []))
    resolved = f.get("resolved_question") or ""
    expected = ("<b>Should refuse:</b> the corpus does not hold the answer." if not f.get("answerable") else
                f"<b>Must contain:</b> {must}<br><b>Gold sources:</b> {escape(', '.join(f.get('sources', [])))}"
                f"<br><b>Evidence it should have found:</b>{evidence}")
    return (
        f'<div class="fail" id="{escape(str(f.get("id")))}"><h3>{escape(str(f.get("id")))} '
        f'<span class="tag">{escape(f.get("type", ""))}</span> {escape(f.get("question", ""))}</h3>'
        + (f"<div class=\"muted\">history:</div><ol>{history}</ol>" if history else "")
        + (f"<div class=\"muted\">resolved as: {escape(resolved)}</div>"
           if resolved and resolved != f.get("question") else "")
        + f"<div class=\"reasons\">{escape('; '.join(f.get('reasons', [])))}</div>"
        + f"<p><b>Answer{' (refused)' if f.get('refused') else ''}:</b> {escape(f.get('answer', ''))}</p>"
        + f"<b>Citations:</b><ul>{cites}</ul><div>{expected}</div>"
        + (f"<b>Retrieved (top {len(f.get('retrieved', []))}):</b><ol>{retrieved}</ol>" if retrieved else "")
        + "</div>")


FIT_REPORT = Path(__file__).resolve().parent / "fit-report.json"


def tradeoff_chart(curve: list[dict[str, float]], threshold: float, width: int = 420, height: int = 260) -> str:
    """False refusals (x) against near-miss questions refused (y), one point per refusal threshold; an inline <svg>."""
    pad = 40
    w, h = width - 2 * pad, height - 2 * pad

    def xy(p: dict[str, float]) -> tuple[float, float]:
        return pad + p["false_refusals"] * w, pad + (1 - p["near_miss_refused"]) * h

    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, curve))
    chosen = min(curve, key=lambda p: abs(p["threshold"] - threshold))
    cx, cy = xy(chosen)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            'aria-label="refusal trade-off">'
            f'<rect x="{pad}" y="{pad}" width="{w}" height="{h}" fill="#fafafa" stroke="#ccc"/>'
            f'<polyline points="{line}" fill="none" stroke="#4f81bd" stroke-width="2"/>'
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="#c0504d"/>'
            f'<text x="{cx + 8:.1f}" y="{cy - 6:.1f}" font-size="12">threshold {threshold:.2f}</text>'
            f'<text x="{pad + w / 2}" y="{height - 8}" text-anchor="middle" font-size="12">false refusals '
            '(answerable questions refused)</text>'
            f'<text x="12" y="{pad + h / 2}" font-size="12" transform="rotate(-90 12 {pad + h / 2})" '
            'text-anchor="middle">near-miss refused</text>'
            f'<text x="{pad}" y="{pad + h + 14}" font-size="11">0</text>'
            f'<text x="{pad + w}" y="{pad + h + 14}" font-size="11" text-anchor="end">1</text></svg>')


def _tradeoff(run: dict[str, Any]) -> str:
    """The refusal threshold's trade-off as fitted (evals/fit-report.json), and this run's near-miss figure."""
    import json

    parts = []
    if FIT_REPORT.is_file():
        fitted = json.loads(FIT_REPORT.read_text(encoding="utf-8"))
        parts.append("<p>Cross-validated on the public sets and the news sets (make fit): each point is one "
                     "threshold on the answer's confidence; the red one is the threshold in use.</p>"
                     + tradeoff_chart(fitted["curve"], fitted["threshold"]))
    nm = run.get("near_miss")
    if nm:
        parts.append(f"<p>This run: {nm['n']} near-miss questions (answer cut out of a copy of "
                     f"{escape(str(nm['corpus']))}), refused {_fmt('refusal_accuracy', nm.get('refused'))}.</p>")
    return "<h2>Refusal trade-off</h2>" + "".join(parts) if parts else ""


def _about(run: dict[str, Any]) -> str:
    """The commit, models and settings the run was made with (evals.compare.about)."""
    ab = run.get("about")
    if not ab:
        return "<p class=\"muted\">Made before runs recorded their commit and settings.</p>"
    dirty = " (with uncommitted changes)" if ab.get("uncommitted_changes") else ""
    cells = [("date", ab.get("date")), ("commit", f"{ab.get('commit')}{dirty}"), ("embedding model", ab.get("embed_model")),
             ("answer model", f"{ab.get('answer_model')} (threshold {ab.get('threshold')})"),
             ("answers by", ab.get("generator") + (f" ({ab['llm_model']})" if ab.get("llm_model") else "")),
             ("retrieval", f"{ab.get('mode')}, k={ab.get('k')}"), ("corpus", ab.get("corpus") or "RAG_HOME's index")]
    return "<table class=\"about\">" + "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
                                              for k, v in cells) + "</table>"


def _questions(run: dict[str, Any]) -> str:
    """Every question of the run, filterable by type and by outcome (right / wrong / refused …): radio buttons and
    CSS sibling rules, no script (the page stays a document)."""
    from evals.compare import OUTCOME_NAMES, outcome

    results = [r for r in run.get("results", []) if isinstance(r, dict)]
    if not results:
        return ""
    types = sorted({str(r.get("type", "")) for r in results})
    seen = [o for o in OUTCOME_NAMES if any(outcome(r) == o for r in results)]
    failed = {str(f.get("id")) for f in run.get("failures", [])}
    rows = []
    for r in results:
        o = outcome(r)
        qid = escape(str(r.get("id")))
        cell = f'<a href="#{escape(str(r.get("id")), quote=True)}">{qid}</a>' if str(r.get("id")) in failed else qid
        rows.append(f'<tr data-t="{types.index(str(r.get("type", "")))}" data-o="{o}"><td>{cell}</td>'
                    f'<td>{escape(str(r.get("type", "")))}</td><td class="o-{o}">{escape(OUTCOME_NAMES[o])}</td>'
                    f'<td>{escape(str(r.get("question", "")))}</td><td>{escape(str(r.get("answer", "")))}</td>'
                    f'<td>{r.get("latency_ms", "")}</td></tr>')

    # the radio inputs are siblings of the table (so `:checked ~ table` can hide rows); their labels are the buttons
    options = [("ft", "all", "all"), *(("ft", str(i), t) for i, t in enumerate(types)),
               ("fo", "all", "all"), *(("fo", o, OUTCOME_NAMES[o]) for o in seen)]
    inputs = "".join(f'<input type="radio" name="{g}" id="{g}-{k}"{" checked" if k == "all" else ""}>'
                     for g, k, _ in options)
    labels = {g: "".join(f'<label for="{g}-{k}">{escape(label)}</label>' for gg, k, label in options if gg == g)
              for g in ("ft", "fo")}
    rules = "".join(f'#ft-{i}:checked~table tbody tr:not([data-t="{i}"]){{display:none}}' for i in range(len(types)))
    rules += "".join(f'#fo-{o}:checked~table tbody tr:not([data-o="{o}"]){{display:none}}' for o in seen)
    rules += "".join(f'#{g}-{k}:checked~p label[for="{g}-{k}"]{{background:#333;color:#fff}}' for g, k, _ in options)
    return (f"<h2>Every question ({len(results)})</h2><style>{rules}</style><div class=\"qfilter\">{inputs}"
            f"<p>type {labels['ft']}</p><p>outcome {labels['fo']}</p>"
            '<table id="questions"><thead><tr><th>id</th><th>type</th><th>outcome</th><th>question</th>'
            "<th>answer</th><th>ms</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")


def render(run: dict[str, Any]) -> str:
    """The whole page from the --json shape of evals.runner.EvalRun.to_json()."""
    overall, by_type = run.get("overall", {}), run.get("by_type", {})
    counts = run.get("n_by_type", {})
    failures = run.get("failures", [])
    charts = [_chart_box("overall", overall, f"n={run.get('n')}")]
    charts += [_chart_box(t, v, f"n={counts.get(t, '?')}") for t, v in by_type.items()]
    compare = run.get("compare") or {}
    compare_html = ""
    if compare:
        compare_html = ("<h2>Retrieval modes</h2>" + _table(compare)
                        + '<div class="charts">' + "".join(_chart_box(k, v) for k, v in compare.items()) + "</div>")
    return (
        "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\">"
        f"<title>rag eval: {escape(str(run.get('set')))}</title><style>{_CSS}</style></head><body>"
        f"<h1>rag eval — {escape(str(run.get('set')))}</h1>" + _about(run) +
        f"<p>{run.get('n')} questions · mode {escape(str(run.get('mode')))} · {len(failures)} failed. "
        "Retrieval, answer_accuracy, supported and false_refusals average over answerable questions; "
        "refusal_accuracy over unanswerable ones; citation_verbatim over every citation.</p>"
        "<h2>Metrics</h2>" + _table({"overall": overall, **by_type}, {"overall": run.get("n", 0), **counts})
        + "<h2>Per type</h2><div class=\"charts\">" + "".join(charts) + "</div>"
        + compare_html
        + _tradeoff(run)
        + _questions(run)
        + f"<h2>Failed questions ({len(failures)})</h2>"
        + ("".join(_failure(f) for f in failures) or "<p>None.</p>")
        + "</body></html>\n")


def write_report(run: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(run), encoding="utf-8")
