"""What a file cannot say about itself: a sidecar (NAME.meta.json) or YAML front matter (.md) sets its metadata."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, fields
from pathlib import Path

SIDECAR_SUFFIX = ".meta.json"
KEYS = ("title", "outlet", "date", "url", "reporters", "district", "page")
# "---" alone on the first line, then "key:" (a rule opening a page is not front matter), the YAML, and "---"
# (or "...") alone on a line.
_FRONT = re.compile(r"\A\ufeff?---[ \t]*\n(?=\s*[A-Za-z_][\w-]*[ \t]*:)(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_ISO = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_CN_DATE = re.compile(r"(\d{4})年(?:(\d{1,2})月(?:(\d{1,2})日)?)?")
_NAME_SEPARATORS = re.compile(r"[,，、;；]")
_PAGE = re.compile(r"(?:第\s*)?([A-Za-z]{0,2}\d{1,3})(?:\s*版)?")


class BadMetadata(ValueError):
    """Metadata that cannot be used; the message says what is wrong and how to write it."""


@dataclass(frozen=True)
class DocMeta:
    """Metadata of one file, every field optional ("" or () when not given)."""

    title: str = ""
    outlet: str = ""  # the newspaper or agency ("某某日报")
    date: str = ""  # publication date, ISO 8601: "2024-01-10", or "2024-01" / "2024" when only that is known
    url: str = ""
    reporters: tuple[str, ...] = ()
    district: str = ""
    page: str = ""  # the page (版次): "5", "A05"

    def over(self, base: DocMeta) -> DocMeta:
        """These values where set, `base`'s elsewhere."""
        return DocMeta(**{f.name: getattr(self, f.name) or getattr(base, f.name) for f in fields(self)})


def iso_date(year: int, month: int = 0, day: int = 0) -> str:
    """ "2024-01-10" (or "2024-01", "2024"); BadMetadata for a date that does not exist."""
    try:
        dt.date(year, month or 1, day or 1)
    except ValueError as exc:
        raise BadMetadata(f"'date' {year}-{month}-{day} is not a date ({exc})") from exc
    return f"{year:04d}" + (f"-{month:02d}" if month else "") + (f"-{day:02d}" if month and day else "")


def _date(value: object) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):  # YAML reads an unquoted 2024-01-10 as a date
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        m = _ISO.fullmatch(text) or _CN_DATE.fullmatch(text)
        if m:
            return iso_date(*(int(g) if g else 0 for g in m.groups()))
    raise BadMetadata(f"'date' must be written 2024-01-10 (or 2024-01, 2024, 2024年1月10日), not {value!r}")


def _text(key: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadMetadata(f"'{key}' must be a string, not {type(value).__name__} {value!r}")
    text = " ".join(str(value).split())
    if not text:
        raise BadMetadata(f"'{key}' is empty; give a value or leave the key out")
    return text


def _names(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else _NAME_SEPARATORS.split(value) if isinstance(value, str) else None
    if items is None:
        raise BadMetadata(f"'reporters' must be a list of names or one string of names, not {value!r}")
    names = tuple(_text("reporters", v) for v in items if not (isinstance(v, str) and not v.strip()))
    if not names:
        raise BadMetadata("'reporters' is empty; give at least one name or leave the key out")
    return names


def parse(obj: object) -> DocMeta:
    """Validated metadata from a parsed sidecar or front matter (a mapping of the KEYS)."""
    if not isinstance(obj, dict):
        raise BadMetadata(f"must be an object of {', '.join(KEYS)}, not {type(obj).__name__}")
    unknown = [str(k) for k in obj if k not in KEYS]
    if unknown:
        raise BadMetadata(f"unknown key {unknown[0]!r}; use {', '.join(KEYS)}")
    values: dict[str, object] = {}
    for key, value in obj.items():
        if value is None:
            continue  # "outlet:" with nothing after it: not known
        if key == "date":
            values[key] = _date(value)
        elif key == "reporters":
            values[key] = _names(value)
        else:
            values[key] = _text(key, value)
    url = str(values.get("url", ""))
    if url and (not re.match(r"https?://[^\s/]+", url) or " " in url):
        raise BadMetadata(f"'url' must be an http(s) address, not {url!r}")
    if "page" in values:
        m = _PAGE.fullmatch(str(values["page"]))
        if not m:
            raise BadMetadata(f"'page' is the page number (版次) such as 5, A05 or 第5版, not {values['page']!r}")
        values["page"] = m.group(1)
    return DocMeta(**values)  # type: ignore[arg-type]


def sidecar_of(article: Path) -> Path:
    """NAME.meta.json beside NAME.txt or NAME.md."""
    return article.with_name(article.stem + SIDECAR_SUFFIX)


def is_sidecar(path: Path) -> bool:
    return path.name.lower().endswith(SIDECAR_SUFFIX)


def parse_sidecar(data: bytes) -> DocMeta:
    """A sidecar's bytes (UTF-8 JSON) as metadata; BadMetadata with the reason otherwise."""
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise BadMetadata("not UTF-8 text; save it as UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise BadMetadata(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    return parse(obj)


def read_sidecar(article: Path) -> tuple[DocMeta, bytes] | None:
    """The article's sidecar, parsed, with its bytes (they count in the file's hash); None when there is none."""
    path = sidecar_of(article)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BadMetadata(f"cannot read: {exc.strerror or exc}") from exc
    return parse_sidecar(data), data


def front_matter_length(text: str) -> int:
    """How many characters a Markdown file's front matter block takes (0 when it has none)."""
    m = _FRONT.match(text)
    return m.end() if m else 0


def front_matter(text: str) -> tuple[DocMeta, int]:
    """YAML front matter of a Markdown file: (its metadata, the characters it takes); (DocMeta(), 0) when none."""
    m = _FRONT.match(text)
    if not m:
        return DocMeta(), 0
    import yaml  # only files with front matter pay for it

    try:
        obj = yaml.safe_load(m.group(1) or "") or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 2}: " if mark is not None else ""
        raise BadMetadata(f"not valid YAML ({where}{getattr(exc, 'problem', None) or exc})") from exc
    return parse(obj), m.end()


def blank(text: str, length: int) -> str:
    """The text with its first `length` characters turned to spaces (line breaks kept): offsets stay those of the file."""
    return re.sub(r"[^\n]", " ", text[:length]) + text[length:]
