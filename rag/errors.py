"""User-facing errors: each message names the bad value and the fix; the CLI prints it on one line."""


class RagError(Exception):
    """An error the user can act on."""


def check_text(text: str, what: str) -> None:
    """Text that cannot be written as UTF-8 (undecodable bytes from a terminal, a lone surrogate from JSON)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        bad = f"an undecodable byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"a lone surrogate U+{code:04X}"
        raise RagError(f"{what} is not valid text: {bad} at character {exc.start + 1}; pass UTF-8 text") from None
