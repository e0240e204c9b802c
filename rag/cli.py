"""The `rag` command (../shared/CLI.md): ingest, search, ask and doctor here, thin shells over the pipeline; the
packages above the core add theirs (ui, serve, eval) through the `rag.commands` entry points (see `Group`)."""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from pathlib import Path

import click

from rag.cite import FORMATS, render
from rag.errors import RagError
from rag.history import json_lines, question_of, user_turns
from vectorstore.errors import BIDI_ESCAPES, printable

EXIT_USAGE = 2


def _quiet() -> None:
    """Library chatter (progress bars, load reports, deprecations) is not for our users."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # Offline unless the user says otherwise: a hub lookup with no network retries for a minute.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    warnings.filterwarnings("ignore")
    for name in ("chromadb", "sentence_transformers", "transformers", "jieba", "httpx"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _pipeline():
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    return Pipeline.from_settings(Settings.from_env())


def _emit(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


COMMANDS_GROUP = "rag.commands"


def _plugins() -> dict:
    """The commands other packages add (entry points of COMMANDS_GROUP: name -> a click command), not loaded yet."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=COMMANDS_GROUP)}


class Group(click.Group):
    """The registration point, and one error policy for every command.

    Commands of the packages above the core (the UI, the eval suite) are entry points of the `rag.commands` group,
    as simonw/llm's plugins are; they are looked up only when a name is not one of ours, so `rag ask` never
    reads package metadata. Errors become one line on stderr, never a traceback: exit 2 for what the user can
    fix (RagError, a store or model that cannot open), 1 for a failure of ours (RAG_DEBUG=1 shows its traceback)."""

    def list_commands(self, ctx) -> list[str]:
        return sorted({*super().list_commands(ctx), *_plugins()})

    def get_command(self, ctx, name: str):
        command = super().get_command(ctx, name)
        if command is None and (ep := _plugins().get(name)) is not None:
            command = ep.load()
        return command

    def invoke(self, ctx):
        from vectorstore.errors import ModelError, StoreError

        try:
            return super().invoke(ctx)
        except (RagError, StoreError, ModelError) as exc:
            click.echo(f"error: {_one_line(exc)}", err=True)
            sys.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # `rag ask … | head -1`: the reader has what it wanted; say nothing, as cat does
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
            sys.exit(141)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except BaseException as exc:  # a library's Rust panic is a BaseException, not an Exception
            if isinstance(exc, GeneratorExit) or os.environ.get("RAG_DEBUG"):
                raise
            click.echo(f"error: unexpected {type(exc).__name__}: {_one_line(exc)} "
                       "(this is a bug; RAG_DEBUG=1 shows the traceback)", err=True)
            sys.exit(1)


def _one_line(exc: BaseException) -> str:
    """The first line of the message, with any configured URL's credentials masked."""
    from vectorstore.errors import first_line, scrub

    text = first_line(exc)
    for name in ("RAG_CHROMA_URL", "RAG_LLM_BASE_URL"):
        text = scrub(text, os.environ.get(name))
    for name in ("RAG_LLM_API_KEY", "RAG_API_KEY"):
        key = os.environ.get(name)
        text = text.replace(key, "***") if key and len(key) >= 4 else text
    return text


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Ask questions of Chinese news text; get short answers with verbatim, numbered citations."""
    _quiet()


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--repair", is_flag=True,
              help="First rebuild a damaged vector index: every stored passage embedded again from the catalog's text.")
def ingest(paths: tuple[Path, ...], as_json: bool, repair: bool) -> None:
    """Index files or folders (default: the bundled corpus). Incremental and idempotent."""
    from tqdm import tqdm

    p = _pipeline()
    bar, phase = None, ""

    def progress(done: int, total: int, what: str) -> None:
        nonlocal bar, phase
        step = what.split()[0]
        if bar is None or phase != step:
            if bar is not None:
                bar.close()
            phase = step
            bar = tqdm(total=total, desc=step, file=sys.stderr, leave=False, disable=None)
        bar.n = done
        bar.refresh()

    if repair:
        n = p.repair(progress=progress)
        if bar is not None:
            bar.close()
            bar = None
        click.echo(f"repaired: {n} passages embedded again; the store checks whole", err=True)
    report = p.ingest(list(paths) or None, progress=None if as_json else progress)
    if bar is not None:
        bar.close()
    nothing = report.files == 0 and bool(report.skipped)
    if as_json:
        _emit(report.to_json())
    else:
        click.echo(f"added {report.added}, unchanged {report.unchanged}, removed {report.removed}"
                   + (f", updated {report.updated}" if report.updated else "") + f"; {report.chunks} chunks in the index")
        for path, reason in report.skipped:
            click.echo(f"skipped {printable(path)}: {_shown(reason)}", err=True)
    if nothing:
        raise SystemExit(1)  # nothing could be ingested (../shared/CLI.md): each file's reason is above


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def docs(as_json: bool) -> None:
    """List every document in the store: source, title, outlet, date, chunks, when added."""
    documents = sorted(_pipeline().documents(), key=lambda d: (d.ingested, d.source))
    if as_json:
        _emit([d.to_json() for d in documents])
        return
    if not documents:
        click.echo("the store is empty; add documents with `rag ingest PATH`", err=True)
        return
    for d in documents:
        printed = " ".join(x for x in (d.outlet, d.date) if x) or "-"
        added = d.ingested.replace("T", " ").rstrip("Z") or "-"
        click.echo(f"{printable(d.source)}\t{_shown(d.title) or '-'}\t{_shown(printed)}\t{d.chunks} chunks\t"
                   f"added {added}\t{d.origin or '-'}")
    click.echo(f"{len(documents)} documents, {sum(d.chunks for d in documents)} chunks", err=True)


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
def remove(sources: tuple[str, ...], as_json: bool) -> None:
    """Remove documents (a source as `rag docs` lists it, or a path) from every index."""
    paths, n = _pipeline().remove(list(sources))
    if as_json:
        _emit({"removed": paths, "chunks": n})
        return
    for path in paths:
        click.echo(f"removed {printable(path)}")
    click.echo(f"{len(paths)} documents, {n} chunks removed", err=True)


@main.command()
@click.argument("query")
@click.option("--k", default=5, show_default=True, type=click.IntRange(1, 100), help="Number of hits.")
@click.option("--district", default=None, help="Only hits from this district (e.g. 西工区).")
@click.option("--mode", default="hybrid", show_default=True, type=click.Choice(["hybrid", "dense", "bm25"]))
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
def search(query: str, k: int, district: str | None, mode: str, as_json: bool) -> None:
    """Retrieval only: the paragraphs that match QUERY, best first."""
    p = _pipeline()
    p.ensure_ingested()
    hits = p.search(query, k=k, mode=mode, district=district)
    rows = [{"text": h.chunk.text, "source": h.chunk.source, "paragraph": h.chunk.paragraph, "title": h.chunk.title,
             "district": h.chunk.district, "body": h.chunk.body, "year": h.chunk.year, "section": h.chunk.section,
             "origin": h.chunk.origin, "ingested": h.chunk.ingested,
             "also": [{"source": d.source, "paragraph": d.paragraph, "title": d.title} for d in h.duplicates],
             "score": round(h.score, 4), "dense_rank": h.dense_rank, "bm25_rank": h.keyword_rank} for h in hits]
    if as_json:
        _emit(rows)
        return
    if not rows:
        click.echo("no matching paragraphs")
    for i, r in enumerate(rows, 1):
        click.echo(_shown(f"[{i}] {r['score']:.4f}  {printable(r['source'])} ¶{r['paragraph']}  {r['district']} {r['body']}  "
                          f"{printable(r['title'])}"))
        click.echo(_shown(f"    {r['text']}"))


_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10)) | {127: None} | BIDI_ESCAPES


def _shown(text: str) -> str:
    """Text for a terminal: control characters (an escape sequence in a document or a question) dropped, bidi
    controls written as escapes (they would reorder the line)."""
    return str(text).translate(_CONTROL)


def _warn(a) -> None:
    """Why a chat model's answer is not shown (LLM mode), one line each on stderr; the answer stays on stdout."""
    for w in a.warnings:
        click.echo(_shown(f"warning: {_one_line(RuntimeError(w))}"), err=True)


def _print_answer(a) -> None:
    click.echo(_shown(("[未找到] " if a.refused else "") + a.answer))
    for c in a.citations:
        where = ", ".join(x for x in (printable(c.source), f"p.{c.file_page}" if c.file_page else "", f"¶{c.paragraph}",
                                      " ".join(x for x in (c.outlet, c.date) if x), f"{c.district} {c.body}".strip()) if x)
        click.echo(_shown(f"  [{c.n}] {printable(c.title)} ({where})"))
        click.echo(_shown(f"      “{c.quote}”"))


@main.command()
@click.argument("question", required=False)
@click.option("--batch", "batch", type=click.Path(path_type=Path), help="Answer every line of an eval-format JSONL file.")
@click.option("--k", default=5, show_default=True, type=click.IntRange(1, 50), help="Passages retrieved per question.")
@click.option("--history", "history", multiple=True, help="An earlier question of the conversation (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per line with --batch).")
@click.option("--cite-format", "cite_format", type=click.Choice(FORMATS),
              help="Print the answer with its citations to paste: Markdown footnotes, GB/T 7714-2015 references or "
                   "CSL-JSON; with --json, the JSON gains it as \"formatted\".")
def ask(question: str | None, batch: Path | None, k: int, history: tuple[str, ...], as_json: bool,
        cite_format: str | None) -> None:
    """Answer QUESTION with cited sources (or every question of --batch FILE)."""
    if bool(question) == bool(batch):
        raise click.UsageError("give a QUESTION or --batch FILE.jsonl, not both and not neither")
    if batch and cite_format and not as_json:
        raise click.UsageError("--cite-format with --batch needs --json (each line then has its \"formatted\" citations)")
    p = _pipeline()
    p.ensure_ingested()

    def as_object(a, qid: str | None = None) -> dict:
        out = a.to_json(id=qid)
        if cite_format:
            out["formatted"] = render(a, cite_format)
        return out

    if question:
        a = p.ask(question, list(history), k=k)
        if not as_json:
            _warn(a)
        if as_json:
            _emit(as_object(a))
        elif cite_format:
            if cite_format == "csl-json" and a.refused:  # the JSON on stdout stays valid: [], and why on stderr
                click.echo(_shown(a.answer), err=True)
            click.echo(_shown(render(a, cite_format)), nl=False)
        else:
            _print_answer(a)
        return
    if not batch.is_file():
        raise RagError(f"--batch {batch}: no such file")
    items = []
    for n, obj in json_lines(batch):  # every line checked before the first answer
        question = question_of(obj, f"{batch}:{n}")
        items.append((obj.get("id", str(n)), question, list(user_turns(obj.get("history"), f"{batch}:{n}"))))
    with p.snapshot():  # every answer of the batch from one version of the store, whatever is ingested meanwhile
        for qid, q, hist in items:
            a = p.ask(q, hist, k=k)
            if as_json:
                _emit(as_object(a, qid))
            else:
                click.echo(_shown(f"{qid}: {q}"))
                _warn(a)
                _print_answer(a)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def doctor(as_json: bool) -> None:
    """Where things are and whether they work."""
    from rag.settings import Settings
    from vectorstore.errors import mask_url

    settings = Settings.from_env()
    p = _pipeline()
    report: dict = {"embedding": {"name": settings.embed_model}, "store": {}, "llm": {}}
    ok = True
    try:
        report["embedding"]["path"] = str(p.embedder.path)
        report["embedding"]["dim"] = p.embedder.dim
    except Exception as exc:  # doctor reports every failure instead of stopping at the first
        report["embedding"]["error"] = _one_line(exc)
        ok = False
    report["store"] = {"kind": p.index.kind, "location": p.index.location, "collection": p.index.collection_name,
                       "home": str(settings.home)}
    try:
        report["store"]["chunks"] = p.index.count()
        report["store"]["documents"] = p.index.document_count()
        problem = p.index.verify()  # every passage's vector, not only the sample a question's open checks
        report["store"]["vectors"] = problem or "ok"
        if problem:
            report["store"]["error"] = f"damaged: {problem}; run `rag ingest --repair`"
            ok = False
    except Exception as exc:
        report["store"]["error"] = _one_line(exc)
        ok = False
    report["llm"] = {"configured": settings.llm_configured,
                     "base_url": mask_url(settings.llm_base_url) if settings.llm_base_url else None,
                     "model": settings.llm_model, "mode": "generated" if settings.llm_configured else "extractive"}
    if settings.llm_configured:
        from rag.llm import probe

        report["llm"].update(probe(settings))
        ok = ok and report["llm"]["answers"]
    report["cache_dir"] = str(settings.cache_dir)
    report["ok"] = ok
    if as_json:
        _emit(report)
    else:
        for section in ("embedding", "store", "llm"):
            click.echo(f"{section}: " + ", ".join(f"{k}={v}" for k, v in report[section].items()))
        click.echo(f"cache_dir: {report['cache_dir']}")
        click.echo("ok" if ok else "problems found (see error= above)")
    if not ok:
        sys.exit(1)


