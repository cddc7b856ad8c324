"""The API's paging parameters, the same on every list: ``limit``, ``offset`` and, on the lists that offer
it, ``cursor``. Bounds are checked by Litestar (a 422 problem naming the parameter); the cursor is checked by
`atlas.db.paging` against the deployment's key. See docs/api.md, "Paging"."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.params import Parameter

from atlas.db.paging import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT, MAX_OFFSET, CursorKey, Page

__all__ = ["cursor_key", "cursor_param", "limit_param", "offset_param", "page"]


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
