"""Read .txt/.md files as text: UTF-8 (with or without BOM) or GB18030, never half-read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md")
MAX_FILE_BYTES = 20 * 1024 * 1024


class UnreadableFile(ValueError):
    """A file that cannot be ingested; the message says why."""


@dataclass(frozen=True)
class SourceText:
    path: Path
    text: str
    encoding: str
    sha256: str


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM stripped) or GB18030; raise UnreadableFile otherwise."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data:
        raise UnreadableFile("binary file (contains NUL bytes)")
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
    """Read one file, normalising line endings to \\n."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(f"unsupported file type {path.suffix or '(none)'}; use .txt or .md")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableFile(f"file is {size // 1024 // 1024} MB; the limit is {MAX_FILE_BYTES // 1024 // 1024} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from exc
    text, encoding = decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise UnreadableFile("empty file")
    return SourceText(path, text, encoding, hashlib.sha256(data).hexdigest())


def discover(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand files and folders into supported files; unsupported or missing paths come back with a reason."""
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts):
                    if f.suffix.lower() in SUPPORTED_SUFFIXES:
                        files.append(f)
                    else:
                        skipped.append((f, f"unsupported file type {f.suffix or '(none)'}; use .txt or .md"))
        elif p.is_file():
            files.append(p)
        else:
            skipped.append((p, "no such file or folder"))
    return files, skipped
