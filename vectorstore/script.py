"""Either script against either: Traditional characters read as Simplified for matching, one character for one.

Keyword tokens, part-of-speech tags and the answerer's word matching work on `simplified(text)`; quotes and answers
stay in the document's own script. The map is character for character (OpenCC's t2s, applied to each character on
its own), so an offset in the converted text is the same offset in the original, and every slice of the converted
text has a verbatim twin in the original.
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    """Traditional -> Simplified, one character each (built once, ~15 ms: OpenCC over every CJK character)."""
    import opencc

    chars = [chr(c) for c in range(0x3400, 0xA000)]
    out = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(out) != len(chars):  # a conversion that merged lines: no map rather than a wrong one
        return {}
    return {ord(a): b for a, b in zip(chars, out, strict=True) if a != b and len(b) == 1}


def simplified(text: str) -> str:
    """The text with Traditional characters as their Simplified forms; the same length, offset for offset."""
    return text.translate(_table()) if text else text


def is_traditional(text: str) -> bool:
    """The text has a character written only in the Traditional script (so a reply to it should be too)."""
    return simplified(text) != text


@functools.lru_cache(maxsize=64)
def traditional(text: str) -> str:
    """The project's own Simplified messages (a refusal) in the Traditional script, for a reader who writes it
    (OpenCC's s2t, loaded only then)."""
    return _s2t().convert(text) if text else text


@functools.lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")
