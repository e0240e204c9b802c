"""Read a file as text with its metadata, never half-read: .txt/.md as UTF-8 (with or without BOM), UTF-16 or
GB18030; PDF, Word, web pages and scans through vectorstore.formats."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from vectorstore.errors import UnreadableFile
from vectorstore.formats import READERS, page_at, read_document
from vectorstore.metadata import (
    SIDECAR_SUFFIX,
    BadMetadata,
    DocMeta,
    front_matter,
    is_sidecar,
    read_sidecar,
    sidecar_of,
)

TEXT_SUFFIXES = (".txt", ".md")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, *READERS)
SUPPORTED = ", ".join(SUPPORTED_SUFFIXES)
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class SourceText:
    path: Path
    text: str
    encoding: str
    sha256: str  # of the file and its sidecar: a changed sidecar re-indexes the file
    meta: DocMeta = DocMeta()  # from the sidecar, the front matter, the file's own properties
    pages: tuple[int, ...] = ()  # offsets in `text` where each page of the file starts (PDFs, scans)

    def page_at(self, offset: int) -> int:
        """The 1-based page of the file that holds `offset` of the text; 0 for a file without pages."""
        return page_at(self.pages, offset)


def _utf16(data: bytes) -> str | None:
    """UTF-16 text (Windows Notepad's "Unicode"): by its BOM, or by the zero bytes of its ASCII and line breaks."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif len(data) >= 4 and len(data) % 2 == 0:
        # ASCII, digits and line breaks put a zero in the high byte: the odd bytes in little-endian order.
        odd, even = data[1::2].count(0), data[0::2].count(0)
        if max(odd, even) < 0.1 * len(data) / 2 or min(odd, even) * 4 > max(odd, even):
            return None
        encoding = "utf-16-le" if odd > even else "utf-16-be"
    else:
        return None
    try:
        text = data.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\r\t")
    return text if "\x00" not in text and printable >= 0.95 * max(len(text), 1) else None


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM stripped), UTF-16 or GB18030; raise UnreadableFile otherwise."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data:
        text = _utf16(data)
        if text is None:
            raise UnreadableFile("binary file (contains NUL bytes)")
        return text, "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise UnreadableFile("not valid UTF-8 or GB18030/GBK text") from exc
    # GB18030 decodes almost any byte string; insist that the result is mostly CJK/ASCII text.
    good = sum(1 for ch in text if ch.isascii() or "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
    if good < 0.9 * max(len(text), 1):
        raise UnreadableFile("not valid UTF-8 and does not look like GB18030/GBK Chinese text")
    return text, "gb18030"


def read_source(path: Path) -> SourceText:
    """Read one file, normalising line endings to \\n, with its metadata (NAME.meta.json, YAML front matter)."""
    if is_sidecar(path):
        raise UnreadableFile("a metadata sidecar: it is read with its article (the article file of the same name)")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(unsupported(path))
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableFile(f"file is {size // 1024 // 1024} MB; the limit is {MAX_FILE_BYTES // 1024 // 1024} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from exc
    if not data.strip():
        raise UnreadableFile("empty file")
    meta, pages = DocMeta(), ()
    if path.suffix.lower() in TEXT_SUFFIXES:
        text, encoding = decode(data)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            raise UnreadableFile("empty file")
    else:
        doc = read_document(path, data)
        text, encoding, meta, pages = doc.text, path.suffix.lower().lstrip("."), doc.meta, doc.pages
    if path.suffix.lower() == ".md":
        try:
            meta = front_matter(text)[0]
        except BadMetadata as exc:
            raise UnreadableFile(f"front matter {exc}; fix it or remove the --- block") from exc
    try:
        side = read_sidecar(path)
    except BadMetadata as exc:
        raise UnreadableFile(f"{sidecar_of(path).name}: {exc}; fix it or remove it") from exc
    if side is not None:
        meta = side[0].over(meta)
    return SourceText(path, text, encoding, _digest(data, side[1] if side else None), meta, pages)


def _digest(data: bytes, sidecar: bytes | None) -> str:
    """A file's hash: its bytes and its sidecar's (a changed sidecar re-indexes the file)."""
    digest = hashlib.sha256(data)
    if sidecar is not None:
        digest.update(b"\0" + sidecar)
    return digest.hexdigest()


def fingerprint(path: Path) -> str | None:
    """The sha256 read_source would give the file (its bytes and its sidecar's), without reading the document:
    an unchanged scan is not read by OCR again. None when the file cannot be read (read_source says why)."""
    try:
        data = path.read_bytes()
        side = sidecar_of(path)
        return _digest(data, side.read_bytes() if side.is_file() else None)
    except OSError:
        return None


def unsupported(path: Path) -> str:
    return f"unsupported file type {path.suffix or '(none)'}; supported: {SUPPORTED}"


def discover(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand files and folders into supported files; unsupported or missing paths come back with a reason."""
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for p in paths:
        if p.is_dir():
            inside = p.resolve()
            for f in sorted(p.rglob("*")):
                if any(part.startswith(".") for part in f.relative_to(p).parts):
                    continue
                if f.is_symlink() and f.exists() and not f.resolve().is_relative_to(inside):
                    # a link out of the folder (to /etc/passwd, say) is not the folder's article
                    skipped.append((f, "symbolic link to a file outside the folder; ingest stays inside the folders "
                                       "it is given (name the file itself to ingest it)"))
                    continue
                if f.is_file():
                    if f.suffix.lower() in SUPPORTED_SUFFIXES:
                        files.append(f)
                    elif is_sidecar(f):  # read with its article
                        if not _article_of(f):
                            skipped.append((f, f"metadata sidecar without an article: no {_stem(f)}.txt or {_stem(f)}.md beside it"))
                    else:
                        skipped.append((f, unsupported(f)))
                elif f.is_symlink() and not f.exists():
                    skipped.append((f, _dangling(f)))
        elif p.is_file():
            files.append(p)
        else:
            skipped.append((p, _dangling(p) if p.is_symlink() else "no such file or folder"))
    return files, skipped


def _stem(sidecar: Path) -> str:
    return sidecar.name[: -len(SIDECAR_SUFFIX)]


def _article_of(sidecar: Path) -> bool:
    return any(sidecar.with_name(_stem(sidecar) + suffix).is_file() for suffix in SUPPORTED_SUFFIXES)


def _dangling(link: Path) -> str:
    try:
        link.resolve(strict=True)
    except RuntimeError:
        return "symbolic link loop"
    except OSError:
        return "broken symbolic link"
    return "not a regular file or folder"


def missing(paths: list[Path]) -> list[tuple[Path, str]]:
    """The given paths that are not there at all (a typo, a link to nowhere), with why."""
    return [(p, _dangling(p) if p.is_symlink() else "no such file or folder")
            for p in paths if not p.exists()]
