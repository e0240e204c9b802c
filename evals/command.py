"""`rag eval`: run an eval set, print a metrics table, write JSON / an HTML report, gate against a baseline."""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from evals.runner import DEFAULT_TOLERANCE, LATENCY_METRICS, LLM_METRICS, METRICS, MODES
from rag.errors import RagError

EVALS_DIR = Path(__file__).resolve().parent
DEFAULT_SET = EVALS_DIR / "questions.jsonl"
EXIT_REGRESSED = 1


def _fmt(metric: str, value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.1f}" if metric in LATENCY_METRICS else f"{value:.3f}"


def metrics_table(columns: dict[str, dict[str, float]], counts: dict[str, int] | None = None) -> str:
    """A plain-text table: one row per metric, one column per group (overall, a type, a mode)."""
    names = list(columns)
    rows: list[tuple[str, list[str]]] = []
    if counts is not None:
        rows.append(("n", [str(counts.get(c, "")) for c in names]))
    rows += [(metric, [_fmt(metric, columns[c].get(metric)) for c in names])
             for metric in (*METRICS, *LLM_METRICS) if any(metric in columns[c] for c in names)]
    first = max(len("metric"), *(len(r[0]) for r in rows))
    widths = [max(len(c), *(len(r[1][i]) for r in rows)) for i, c in enumerate(names)]
    lines = ["metric".ljust(first) + "  " + "  ".join(c.rjust(w) for c, w in zip(names, widths, strict=True))]
    lines.append("-" * len(lines[0]))
    lines += [name.ljust(first) + "  " + "  ".join(v.rjust(w) for v, w in zip(vals, widths, strict=True))
              for name, vals in rows]
    return "\n".join(lines)


def _write_json(obj: Any, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise RagError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _check_writable(option: str, path: Path | None) -> None:
    """Before the run, not after it: an output file that cannot be written is said at once."""
    if path is None or str(path) == "-":
        return
    if path.is_dir():
        raise RagError(f"{option} {path}: is a folder; give a file name")
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):  # opened for writing, nothing written
            pass
    except OSError as exc:
        raise RagError(f"{option} {path}: cannot write there ({exc.strerror or exc}); pick a writable path") from exc
    if not existed:
        path.unlink(missing_ok=True)


def _near_miss(items, corpus: Path | None, settings, set_path: Path, mode: str, k: int,
               stack: contextlib.ExitStack, to_err: bool) -> dict[str, Any]:
    """The set's answerable questions over a copy of their articles without the answer (evals.nearmiss)."""
    from evals.nearmiss import build
    from evals.runner import evaluate
    from rag.pipeline import Pipeline
    from rag.settings import BUNDLED_CORPUS

    source = corpus or BUNDLED_CORPUS
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rag-near-miss-")))
    twins = build(items, source, tmp / "corpus")
    if not twins:
        raise RagError(f"--near-miss: no answerable question of {set_path} has its answer in {source}; "
                       "give the set's articles with --corpus")
    pipeline = Pipeline.from_settings(replace(settings, home=tmp / "store", chroma_url=None))
    pipeline.ingest([BUNDLED_CORPUS, tmp / "corpus"] if corpus else [tmp / "corpus"])
    click.echo(f"near-miss: {len(twins)} questions over a copy of {source} with their answers cut out", err=True)
    got = evaluate(pipeline, set_path, items=twins, mode=mode, k=k).to_json()
    return {"n": len(twins), "corpus": str(source), "refused": got["overall"].get("refusal_accuracy"),
            "failures": got["failures"]}


@click.command("eval")
@click.option("--set", "set_path", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_SET,
              show_default="evals/questions.jsonl", help="Eval set (JSON Lines), e.g. evals/dev.jsonl.")
@click.option("--corpus", "corpus", type=click.Path(path_type=Path, file_okay=False),
              help="Answer from this folder's articles beside the bundled corpus, in a temporary store "
                   "(RAG_HOME is left alone), e.g. evals/news.")
@click.option("--json", "json_out", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              help="Write the metrics as JSON to this file ('-' for stdout), e.g. evals/last_run.json.")
@click.option("--report", "report_out", type=click.Path(path_type=Path, dir_okay=False),
              help="Write a self-contained HTML report (charts per type, every failed question).")
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False),
              help="Gate: exit 1 when an overall metric is worse than this baseline by more than --tolerance.")
@click.option("--write-baseline", "write_baseline", type=click.Path(path_type=Path, dir_okay=False),
              help="Write this run's overall metrics as a baseline file.")
@click.option("--tolerance", default=DEFAULT_TOLERANCE, show_default=True, type=click.FloatRange(0, 1),
              help="Allowed absolute drop of a rate metric (false_refusals: rise) before the gate fails.")
@click.option("--latency-tolerance", type=click.FloatRange(0), default=None,
              help="Also gate latency: allowed slowdown as a fraction of the baseline (0.5 = 50%). Off by default.")
@click.option("--modes", "modes", is_flag=True, help="Also run dense-only and BM25-only retrieval over the same set.")
@click.option("--compare", "compare_runs", nargs=2, type=click.Path(path_type=Path, dir_okay=False, exists=False),
              default=None, help="Run nothing: compare two runs' --json files (A B): metrics side by side, every "
                                 "question whose outcome changed. With --json, the comparison as JSON.")
@click.option("--from-feedback", "from_feedback", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Run nothing: write the readers' 👍/👎 verdicts of RAG_HOME (the chat UI's) as an eval set here, "
                   "to run with --set.")
@click.option("--mode", default="hybrid", show_default=True, type=click.Choice(MODES), help="Retrieval mode.")
@click.option("--k", default=5, show_default=True, type=click.IntRange(1, 50), help="Passages retrieved per answer.")
@click.option("--near-miss", "near_miss", is_flag=True,
              help="Also ask every answerable question over a copy of its articles with the answer sentence cut out "
                   "(the --corpus folder, or the bundled corpus): each should now be refused.")
def eval_command(set_path: Path, corpus: Path | None, json_out: Path | None, report_out: Path | None,
                 baseline: Path | None, write_baseline: Path | None, tolerance: float,
                 latency_tolerance: float | None, modes: bool, compare_runs: tuple[Path, Path] | None,
                 from_feedback: Path | None, mode: str, k: int, near_miss: bool) -> None:
    """Run an eval set through the pipeline and print its metrics, overall and per question type."""
    if compare_runs:
        _compare(*compare_runs, json_out)
        return
    if from_feedback is not None:
        _from_feedback(from_feedback)
        return
    from evals.compare import about
    from evals.report import write_report
    from evals.runner import baseline_json, evaluate, gate, load_set, read_baseline
    from rag.pipeline import Pipeline
    from rag.settings import BUNDLED_CORPUS, Settings
    from vectorstore.reading import discover

    items = load_set(set_path)  # a bad set fails before the model loads
    for option, path in (("--json", json_out), ("--report", report_out), ("--write-baseline", write_baseline)):
        _check_writable(option, path)
    base = read_baseline(baseline) if baseline else None
    settings = Settings.from_env()
    to_err = json_out is not None and str(json_out) == "-"  # with --json - the JSON owns stdout
    with contextlib.ExitStack() as stack:
        if corpus is None:
            pipeline = Pipeline.from_settings(settings)
            pipeline.ensure_ingested()
        else:
            if not corpus.is_dir():
                raise RagError(f"--corpus {corpus}: no such folder; give a folder of .txt/.md articles, e.g. evals/news")
            own, _ = discover([corpus])
            if not own:
                raise RagError(f"--corpus {corpus}: no .txt or .md article there; give a folder of articles")
            # a fresh embedded store: the set's articles never mix with the user's index
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="rag-eval-"))
            pipeline = Pipeline.from_settings(replace(settings, home=Path(tmp), chroma_url=None))
            report = pipeline.ingest([BUNDLED_CORPUS, corpus])
            click.echo(f"corpus: the bundled articles and {len(own)} from {corpus} in a temporary store "
                       f"({report.chunks} paragraphs, {len(report.skipped)} files skipped)", err=True)
        run = {**evaluate(pipeline, set_path, items=items, mode=mode, k=k, compare=modes).to_json(),
               "about": about(settings, mode=mode, k=k, corpus=str(corpus) if corpus else None)}
        if near_miss:
            run["near_miss"] = _near_miss(items, corpus, settings, set_path, mode, k, stack, to_err)
    if corpus is not None:
        run["corpus"] = str(corpus)

    click.echo(f"{run['set']}: {run['n']} questions, mode {run['mode']}, {len(run['failures'])} failed", err=to_err)
    click.echo(metrics_table({"overall": run["overall"], **run["by_type"]}, {"overall": run["n"], **run["n_by_type"]}),
               err=to_err)
    if modes:
        click.echo("\nretrieval modes (overall)", err=to_err)
        click.echo(metrics_table(run["compare"]), err=to_err)

    if json_out is not None:
        if to_err:
            click.echo(json.dumps(run, ensure_ascii=False))
        else:
            _write_json(run, json_out)
            click.echo(f"wrote {json_out}", err=True)
    if report_out is not None:
        write_report(run, report_out)
        click.echo(f"wrote {report_out}", err=True)
    if write_baseline is not None:
        _write_json(baseline_json(run), write_baseline)
        click.echo(f"wrote baseline {write_baseline}", err=True)

    if "near_miss" in run:
        nm = run["near_miss"]
        click.echo(f"near-miss: {nm['n']} questions asked with their answer cut out of a copy of {nm['corpus']}: "
                   f"refused {_fmt('refusal_accuracy', nm['refused'])}", err=to_err)
    if base is not None:
        if base["set"] and Path(base["set"]).name != set_path.name:
            click.echo(f"warning: baseline {baseline} was written for {base['set']}, not {set_path}", err=True)
        regressed = gate(run["overall"], base["overall"], tolerance, latency_tolerance)
        if regressed:
            click.echo(f"gate FAILED against {baseline} (tolerance {tolerance}):", err=True)
            for r in regressed:
                click.echo(f"  regressed {r.describe()}", err=True)
            sys.exit(EXIT_REGRESSED)
        click.echo(f"gate passed against {baseline} (tolerance {tolerance}"
                   + (f", latency +{latency_tolerance:.0%}" if latency_tolerance is not None else ", latency not gated")
                   + ")", err=True)


def _compare(path_a: Path, path_b: Path, json_out: Path | None) -> None:
    """`rag eval --compare A.json B.json`: the two runs' metrics side by side and the questions that changed."""
    from evals.compare import diff, load_run, render_text

    d = diff(load_run(path_a), load_run(path_b))
    if json_out is not None and str(json_out) == "-":
        click.echo(json.dumps(d, ensure_ascii=False))
        return
    click.echo(render_text(d, path_a, path_b))
    if json_out is not None:
        _check_writable("--json", json_out)
        _write_json(d, json_out)
        click.echo(f"wrote {json_out}", err=True)


def _from_feedback(out: Path) -> None:
    """`rag eval --from-feedback OUT.jsonl`: the verdicts readers gave in the chat UI, as eval items."""
    from rag.feedback import FeedbackLog, eval_items
    from rag.settings import Settings

    log = FeedbackLog(Settings.from_env().home)
    entries = log.entries()
    if not entries:
        raise RagError(f"no feedback in {log.path} yet; rate answers with 👍/👎 in `rag ui` first")
    items, left_out = eval_items(entries)
    if not items:
        raise RagError(f"{len(entries)} verdicts in {log.path}, none usable: a 👎 needs a correction (or "
                       "'no answer in the articles') to become an eval item")
    _check_writable("--from-feedback", out)
    out.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    ups = sum(e.get("verdict") == "up" for e in entries)
    click.echo(f"wrote {out}: {len(items)} eval items from {len(entries)} verdicts ({ups} 👍, {len(entries) - ups} 👎; "
               f"{left_out} 👎 without a correction left out); run it with `rag eval --set {out}`")
