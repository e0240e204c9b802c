"""The Index tab: the indexed documents in a table, and uploaded .txt / .md files checked, kept and indexed."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.pipeline import Pipeline
from vectorstore.errors import printable

UPLOAD_SUFFIXES = (".txt", ".md")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Seconds an uploaded file may stay in Gradio's cache (it is copied under RAG_HOME/uploads when indexed).
UPLOAD_CACHE_S = 600


def documents_table(pipeline: Pipeline) -> list[list[Any]]:
    return [[printable(d.title or d.source), d.district, d.body, d.chunks, printable(d.source)] for d in pipeline.documents()]


def index_summary(rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return "索引是空的:上传 .txt / .md 文件,或运行 `rag ingest`。"
    return f"已索引 **{len(rows)}** 篇文档,共 **{sum(int(r[3]) for r in rows)}** 个段落。"


def discard_uploaded(files: Sequence[str | Path] | None) -> None:
    """Remove uploaded files from Gradio's upload cache once they are processed (only files inside it)."""
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder()).resolve()
    for f in files or ():
        path = Path(f).resolve()
        if path.is_relative_to(cache) and path.is_file():
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # Gradio keeps each file in a folder of its own
                path.parent.rmdir()


def check_upload(path: Path) -> str | None:
    """Why this uploaded file cannot be indexed, or None when it can."""
    if path.suffix.lower() not in UPLOAD_SUFFIXES:
        return f"不支持的文件类型 {path.suffix or '(无扩展名)'};只接受 .txt 或 .md"
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"读不到文件:{exc.strerror or exc}"
    if size > MAX_UPLOAD_BYTES:
        return f"文件 {size / 1024 / 1024:.1f} MB,超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB 上限"
    if size == 0:
        return "文件是空的"
    return None


def ingest_uploads(files: Sequence[str | Path] | None, pipeline: Pipeline, upload_dir: Path,
                   progress: Callable[[float, str], None] | None = None,
                   *, lock: AbstractContextManager | None = None) -> tuple[str, list[str]]:
    """Check, keep (under upload_dir) and index uploaded files; returns (status Markdown, one line per problem)."""
    if not files:
        return "请先选择要上传的 .txt 或 .md 文件。", ["没有选择文件"]
    problems: list[str] = []
    accepted: list[Path] = []
    created: list[Path] = []  # folders this call made: removed again if their file is not indexed
    for f in files:
        path = Path(f)
        reason = check_upload(path)
        if reason:
            problems.append(f"{path.name}:{reason}")
            continue
        # One folder per content: the same file again is the same document (a no-op); another file under a taken
        # name (or a bundled article's name) is another document, kept beside it, never in its place.
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        folder = upload_dir / digest
        kept = folder / path.name
        if not kept.is_file():
            if not folder.exists():
                created.append(folder)
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, kept)
        accepted.append(kept)
    lines: list[str] = []
    if accepted:

        def report(done: int, total: int, what: str) -> None:
            if progress:
                progress(done / max(total, 1), what)

        try:
            with lock or nullcontext():
                result = pipeline.ingest(accepted, progress=report)
        except RagError as exc:
            problems.append(f"索引失败:{exc}")
            rejected = {str(p) for p in accepted}
        else:
            problems += [f"{Path(p).name}:{r}" for p, r in result.skipped]
            rejected = {str(p) for p, _ in result.skipped}
            lines.append(f"已处理 {len(accepted) - len(result.skipped)} 个文件:新增 {result.added} 个段落,"
                         f"未变 {result.unchanged},删除 {result.removed};索引共 {result.chunks} 个段落。")
        for folder in created:  # a file that was not indexed is not kept
            if any(str(f) in rejected for f in folder.iterdir()):
                shutil.rmtree(folder, ignore_errors=True)
    lines += [f"✗ {p}" for p in problems]
    return "\n\n".join(lines), problems
