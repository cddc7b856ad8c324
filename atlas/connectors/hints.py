"""The hint a 401 gives (``WWW-Authenticate``'s scheme and realm), kept with a health check.

A health check row has one free-text ``detail`` column; the hint rides in front of it on its own line, marked,
so the history shows what the server expected at the time without a schema change:
``"WWW-Authenticate: Token\\nAuthentication credentials were not provided."``.
"""

from __future__ import annotations

MARK = "WWW-Authenticate: "
DETAIL_LIMIT = 500


def pack(detail: str | None, hint: str | None) -> str | None:
    """The ``detail`` column's value for a check's detail and hint."""
    text = detail or ""
    if hint:
        text = f"{MARK}{hint}\n{text}" if text else f"{MARK}{hint}"
    return text[:DETAIL_LIMIT] or None


def unpack(stored: str | None) -> tuple[str | None, str | None]:
    """``(detail, hint)`` from the ``detail`` column (older rows have no hint)."""
    if not stored or not stored.startswith(MARK):
        return stored, None
    first, _, rest = stored.partition("\n")
    return rest or None, first.removeprefix(MARK) or None
