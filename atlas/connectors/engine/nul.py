"""A NUL (U+0000) in what a customer's system answers, read as U+FFFD, the replacement character.

PostgreSQL stores a NUL neither in text nor in jsonb: one record, or one error message, holding it would fail its sync
or health check on every retry. Everything the engine decodes from an answer (pages, token answers, error messages)
goes through `without_nul` first, as an undecodable byte would be replaced. An escaped backslash before "u0000" (an
even run of backslashes) is text, not a NUL, and stays as it is.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_ESCAPED_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def without_nul(body: bytes) -> bytes:
    """The JSON document (or text) with every NUL, escaped or raw, replaced by U+FFFD; the very bytes when it has
    none (two byte searches)."""
    if b"\\u0000" not in body and b"\x00" not in body:
        return body
    return _ESCAPED_NUL.sub(rb"\1\\ufffd", body).replace(b"\x00", REPLACEMENT.encode())
