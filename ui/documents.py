"""The Index tab: the documents in the store, found by title, removed, and uploaded files (any format `rag
ingest` reads) checked, kept and indexed; a corrected article uploaded again under its name replaces the old one
once the user says so."""

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
from vectorstore.reading import MAX_FILE_BYTES, SUPPORTED_SUFFIXES
from vectorstore.store import DocumentInfo

UPLOAD_SUFFIXES = SUPPORTED_SUFFIXES
MAX_UPLOAD_BYTES = MAX_FILE_BYTES
MAX_UPLOAD_FILES = 20  # files in one upload (the box, the API, the raw route: ui.upload_gate)
# Seconds an uploaded file may stay in Gradio's cache (it is copied under RAG_HOME/uploads when indexed).
UPLOAD_CACHE_S = 600
ORIGIN_NAMES = {"upload": "上传", "file": "本地导入", "bundled": "示例语料"}
DOCUMENT_HEADERS = ["标题", "媒体", "日期", "段落数", "来源", "加入时间", "文件"]


def _matches(d: DocumentInfo, query: str) -> bool:
    q = query.strip().lower()
    return not q or q in d.title.lower() or q in d.source.lower()


def newest_first(pipeline: Pipeline) -> list[DocumentInfo]:
    """The store's documents, the latest added first (one read of the catalog for the table and the choices)."""
    return sorted(pipeline.documents(), key=lambda d: d.ingested, reverse=True)


def documents_table(docs: Sequence[DocumentInfo], query: str = "") -> list[list[Any]]:
    """Rows of the documents whose title or file name holds `query` (all when it is empty)."""
    return [[printable(d.title or d.source), printable(d.outlet), d.date, d.chunks, ORIGIN_NAMES.get(d.origin, d.origin),
             d.ingested.replace("T", " ").rstrip("Z"), printable(d.source)] for d in docs if _matches(d, query)]


def document_choices(docs: Sequence[DocumentInfo]) -> list[tuple[str, str]]:
    """(label, path) of every document, for the delete box."""
    return [(printable(f"{d.title or d.source} · {d.source}"), d.path) for d in docs]


def index_summary(rows: Sequence[Sequence[Any]], query: str = "") -> str:
    if not rows:
        if query.strip():
            return "没有标题或文件名含这些字的文档。"
        return "索引是空的:上传文档(.txt .md .pdf .docx .html 或扫描图片),或运行 `rag ingest`。"
    found = "找到" if query.strip() else "已索引"
    return f"{found} **{len(rows)}** 篇文档,共 **{sum(int(r[3]) for r in rows)}** 个段落。"


def remove_documents(paths: Sequence[str] | None, pipeline: Pipeline,
                     *, lock: AbstractContextManager | None = None) -> str:
    """Remove the chosen documents from every index; a status line."""
    if not paths:
        return "请先在列表里选择要删除的文档。"
    try:
        with lock or nullcontext():
            removed, n = pipeline.remove(list(paths))
    except RagError as exc:
        return f"✗ 删除失败:{exc}"
    return f"已删除 {len(removed)} 篇文档({n} 个段落),它们不会再被引用。"


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
        return f"不支持的文件类型 {path.suffix or '(无扩展名)'};支持 {' '.join(UPLOAD_SUFFIXES)}"
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
                   *, lock: AbstractContextManager | None = None, replace: bool = False) -> tuple[str, list[str]]:
    """Check, keep (under upload_dir) and index uploaded files; returns (status Markdown, one line per problem).

    A file under the name of an earlier upload with other content is a corrected version: with `replace` it takes
    the old one's place (the old one is removed once the new one is indexed); without, it is held back and the
    status asks. An upload never replaces an article that was not uploaded (the bundled ones, `rag ingest`'s).
    """
    if not files:
        return "请先选择要上传的文件。", ["没有选择文件"]
    if len(files) > MAX_UPLOAD_FILES:
        return "", [f"一次最多上传 {MAX_UPLOAD_FILES} 个文件(这次 {len(files)} 个);请分批上传"]
    problems: list[str] = []
    accepted: list[Path] = []
    created: list[Path] = []  # folders this call made: removed again if their file is not indexed
    replaced: dict[str, list[str]] = {}  # kept path -> the earlier uploads of its name it replaces
    uploads: dict[str, list[str]] | None = None  # name -> paths of the earlier uploads, read once a file passes
    for f in files:
        path = Path(f)
        reason = check_upload(path)
        if reason:
            problems.append(f"{path.name}:{reason}")
            continue
        if uploads is None:
            uploads = {}
            for d in pipeline.documents():
                if d.origin == "upload":
                    uploads.setdefault(d.source, []).append(d.path)
        # One folder per content: the same file again is the same document (a no-op).
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        folder = upload_dir / digest
        kept = folder / path.name
        earlier = [p for p in uploads.get(path.name, ()) if Path(p) != kept]
        if earlier and not replace:
            problems.append(f"{path.name}:已有同名的上传文档;若这是它的新版本,勾选「替换同名的已上传文档」后再上传")
            continue
        if not kept.is_file():
            if not folder.exists():
                created.append(folder)
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, kept)
        accepted.append(kept)
        if earlier:
            replaced[str(kept)] = earlier
    lines: list[str] = []
    if accepted:

        def report(done: int, total: int, what: str) -> None:
            if progress:
                progress(done / max(total, 1), what)

        try:
            with lock or nullcontext():
                result = pipeline.ingest(accepted, progress=report)
                rejected = {str(p) for p, _ in result.skipped}
                old = [p for kept, earlier in replaced.items() if kept not in rejected for p in earlier]
                gone = pipeline.remove(old)[1] if old else 0
        except RagError as exc:
            problems.append(f"索引失败:{exc}")
            rejected = {str(p) for p in accepted}
        else:
            problems += [f"{Path(p).name}:{r}" for p, r in result.skipped]
            lines.append(f"已处理 {len(accepted) - len(result.skipped)} 个文件:新增 {result.added} 个段落,"
                         f"未变 {result.unchanged},删除 {result.removed + gone};索引共 {result.chunks - gone} 个段落。"
                         + (f"替换了 {len(old)} 篇旧版本。" if old else ""))
        for folder in created:  # a file that was not indexed is not kept
            if any(str(f) in rejected for f in folder.iterdir()):
                shutil.rmtree(folder, ignore_errors=True)
    lines += [f"✗ {p}" for p in problems]
    return "\n\n".join(lines), problems
