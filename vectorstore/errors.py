"""Errors whose message is for the user (one line: what is wrong, what to do), and URLs fit to print."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"


class StoreError(RuntimeError):
    """The store cannot be opened or written; the message says what to do."""


class UnreadableFile(ValueError):
    """A file that cannot be ingested; the message says why."""


class ModelError(RuntimeError):
    """The embedding model cannot be found or loaded; the message says how to fix it."""


def first_line(exc: BaseException) -> str:
    """An exception's message for one line of output: its first line, or its type when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def mask_url(url: str) -> str:
    """The URL with its password (or a bare user token) and every query value masked:
    http://admin:s3cret@host:8000/?key=abc -> http://admin:***@host:8000/?key=***."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # not a URL at all: show nothing of it that could be a secret
        return MASK if ("@" in url or "?" in url) else url
    netloc = parts.netloc
    if not netloc and "@" in url:  # no scheme ("admin:s3cret@host:8000"): whatever stands before the @ is a secret
        return f"{MASK}@{url.rsplit('@', 1)[1]}"
    if parts.username is not None or parts.password is not None:
        user = MASK if parts.password is None else parts.username
        netloc = f"{user}:{MASK}@" if parts.password is not None else f"{MASK}@"
        netloc += f"[{host}]" if ":" in host else host
        netloc += f":{port}" if port else ""
    query = urlencode([(k, MASK) for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, "" if not parts.fragment else MASK))


def scrub(text: str, url: str | None) -> str:
    """`text` (an error message) with the URL and its secrets replaced by their masked form."""
    if not url:
        return text
    text = text.replace(url, mask_url(url))
    try:
        parts = urlsplit(url)
        secrets = [parts.password, parts.username if parts.password is None else None,
                   *(v for _, v in parse_qsl(parts.query))]
    except ValueError:
        secrets = []
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, MASK)
    return text


# Characters that reorder or hide text on a terminal or a page: bidirectional embeddings, overrides and isolates
# ("\u202e" shows "txt.exe" as "exe.txt").
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# each written as its escape ("\\u202e"), for str.translate
BIDI_ESCAPES = {ord(b): f"\\u{ord(b):04x}" for b in BIDI_CONTROLS}
_ESCAPED = {**{c: f"\\x{c:02x}" for c in range(32)}, 9: "\\t", 10: "\\n", 13: "\\r", 127: "\\x7f", **BIDI_ESCAPES}


def printable(name: str) -> str:
    """A name (a file name, a source) fit to print on one line: control and bidi characters written as escapes."""
    return str(name).translate(_ESCAPED)
