"""Request parameters every controller and page parses the same way (layer 0: litestar, `atlas.db.paging` and the
standard library only).

Moved here from ``atlas/web/paging.py`` (the API's paging parameters) and ``atlas/mapping/data_pages.py`` (the
pages' lenient query-string readers) in issue 18's pages part: every component's controllers and pages use them,
and when they sat in the web app (layer 12) and in mapping every component below had to import upwards.

- The API's paging parameters, the same on every list: ``limit``, ``offset`` and, on the lists that offer it,
  ``cursor``. Bounds are checked by Litestar (a 422 problem naming the parameter); the cursor is checked by
  `atlas.db.paging` against the deployment's key. See docs/api.md, "Paging".
- The pages' query-string readers (``text_param``, ``uuid_param``, ``page_param``): lenient, because page links are
  typed and edited by people; a malformed value is ignored (the field falls back), never a 400.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.datastructures import MultiDict
from litestar.params import Parameter

from atlas.db.paging import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT, MAX_OFFSET, CursorKey, Page

__all__ = [
    "cursor_key",
    "cursor_param",
    "limit_param",
    "offset_param",
    "page",
    "page_param",
    "text_param",
    "uuid_param",
]


# --- the API's paging parameters -----------------------------------------------------------------


def limit_param(default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> Any:
    return Parameter(default=default, ge=1, le=maximum, description=f"Rows per page, 1 to {maximum}.")


def offset_param() -> Any:
    return Parameter(
        default=0,
        ge=0,
        le=MAX_OFFSET,
        description=f"Rows to skip, 0 to {MAX_OFFSET:,}; to read further, follow `next_cursor` instead.",
    )


def cursor_param() -> Any:
    return Parameter(
        default=None,
        min_length=1,
        max_length=MAX_CURSOR_LENGTH,
        description="The `next_cursor` of the previous page, unchanged: the rows strictly after it.",
    )


def cursor_key(request: Request[Any, Any, Any]) -> CursorKey:
    """The key that signs this deployment's cursors, derived from its secret key."""
    state = request.app.state
    key = state.get("paging_cursor_key")
    if key is None:
        key = CursorKey(state.settings.secret_key)
        state.paging_cursor_key = key
    return key


def page(request: Request[Any, Any, Any], *, limit: int, offset: int = 0, cursor: str | None = None) -> Page:
    return Page(limit=limit, offset=offset, cursor=cursor, key=cursor_key(request))


# --- the pages' query string, read leniently -----------------------------------------------------


def text_param(params: MultiDict[str], name: str, limit: int = 100) -> str:
    return (params.get(name) or "").strip()[:limit]


def uuid_param(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def page_param(value: str) -> int:
    try:
        return max(1, min(int(value), 1_000_000))
    except ValueError:
        return 1
