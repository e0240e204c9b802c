"""User-facing errors: each message names the bad value and the fix; the CLI prints it on one line."""


class RagError(Exception):
    """An error the user can act on."""
