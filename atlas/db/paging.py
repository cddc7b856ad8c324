"""Paging that never skips or repeats a row: a total order, bounded offsets and signed keyset cursors.

A list is ordered by its own keys and then by a unique column (the row's ``id``) as the last tiebreaker,
so two rows never compare equal and ``LIMIT/OFFSET`` pages partition the list exactly (while it does not
change). For lists that change while someone reads them, or are long, a *cursor* carries the last row's
sort keys: the next page is the rows strictly after that row in the same order (the keyset predicate),
which neither skips nor repeats a row when others are inserted or deleted before it.

The cursor is opaque to clients: base64url JSON of the list's name and the keys, with an HMAC-SHA256 tag
under a key derived from the deployment's secret. A cursor that was not issued by Atlas for this list
(garbled, forged, edited, from another list) is a 422 problem naming ``cursor``, never a server error.

NULLs: each key says where NULLs sort (first or last) and the ORDER BY says the same explicitly, so the
keyset predicate and the ORDER BY agree whatever PostgreSQL's default for the direction is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy import Select, and_, false, or_, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from atlas.errors import ValidationFailed

# Bounds for every list: a page of at most MAX_LIMIT rows, an offset of at most MAX_OFFSET (deeper reading
# goes by cursor; PostgreSQL's int8 ends at 9,223,372,036,854,775,807 and an offset beyond it was a 500).
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
MAX_CURSOR_LENGTH = 2_000
CURSOR_ERROR = "errors.paging_cursor_invalid"
_VERSION = 1
_TAG_BYTES = 16

Kind = Literal["str", "int", "float", "decimal", "datetime", "date", "uuid"]


@dataclass(frozen=True)
class SortKey:
    """One sort key: a column or expression, its direction, where its NULLs go and its value's type."""

    column: Any
    kind: Kind
    descending: bool = False
    nulls_last: bool = True
    nullable: bool = True

    def order(self) -> Any:
        ordered = self.column.desc() if self.descending else self.column.asc()
        return ordered.nulls_last() if self.nulls_last else ordered.nulls_first()

    def equal(self, value: Any) -> ColumnElement[bool]:
        return self.column.is_(None) if value is None else self.column == value  # type: ignore[no-any-return]

    def beyond(self, value: Any) -> ColumnElement[bool]:
        """Rows that come strictly after ``value`` on this key alone."""
        if value is None:
            # After a NULL: nothing when NULLs are last; every non-NULL when they are first.
            return false() if self.nulls_last else self.column.is_not(None)
        after = self.column < value if self.descending else self.column > value
        if self.nullable and self.nulls_last:
            return or_(after, self.column.is_(None))
        return after  # type: ignore[no-any-return]


def asc(column: Any, kind: Kind, *, nulls_last: bool = True) -> SortKey:
    return SortKey(column, kind, False, nulls_last, _nullable(column))


def desc(column: Any, kind: Kind, *, nulls_last: bool = False) -> SortKey:
    """Descending; NULLs first by default, as PostgreSQL puts them for DESC."""
    return SortKey(column, kind, True, nulls_last, _nullable(column))


def _nullable(column: Any) -> bool:
    return bool(getattr(column, "nullable", True))


@dataclass(frozen=True)
class Ordering:
    """A list's total order: its keys, the last of which is unique (the row's id). ``name`` binds cursors
    to this list, so a cursor from one list is refused by another."""

    name: str
    keys: tuple[SortKey, ...]

    def order_by(self) -> list[Any]:
        return [key.order() for key in self.keys]

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """The keyset predicate: rows strictly after the row whose keys are ``values``."""
        branches: list[ColumnElement[bool]] = []
        for i, key in enumerate(self.keys):
            earlier = [self.keys[j].equal(values[j]) for j in range(i)]
            branches.append(and_(*earlier, key.beyond(values[i])) if earlier else key.beyond(values[i]))
        return or_(*branches) if branches else true()


class CursorKey:
    """Signs and checks cursors with a key derived from the deployment's secret."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"atlas-paging-cursor:" + secret.encode()).digest()

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, ordering: Ordering, values: Sequence[Any]) -> str:
        body = {
            "v": _VERSION,
            "l": ordering.name,
            "k": [_dump(v, k.kind) for v, k in zip(values, ordering.keys, strict=True)],
        }
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()
        return _b64(payload) + "." + _b64(self._tag(payload))

    def decode(self, ordering: Ordering, cursor: str) -> list[Any]:
        """The keys a cursor carries; a 422 naming ``cursor`` for anything Atlas did not issue for this list."""
        try:
            if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
                raise ValueError("shape")
            encoded, tag = cursor.split(".")
            payload = _unb64(encoded)
            if not hmac.compare_digest(_unb64(tag), self._tag(payload)):
                raise ValueError("tag")
            body = json.loads(payload)
            if not isinstance(body, dict) or body.get("v") != _VERSION or body.get("l") != ordering.name:
                raise ValueError("list")
            raw = body.get("k")
            if not isinstance(raw, list) or len(raw) != len(ordering.keys):
                raise ValueError("keys")
            return [_load(v, k.kind) for v, k in zip(raw, ordering.keys, strict=True)]
        except (ValueError, TypeError, KeyError, binascii.Error, InvalidOperation, UnicodeDecodeError):
            raise ValidationFailed(CURSOR_ERROR, field="cursor", extra={"field": "cursor"}) from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or any(c not in _B64_CHARS for c in text):
        raise ValueError("base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _dump(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if kind == "float":
        number = float(value)
        return repr(number) if not math.isfinite(number) else number
    if kind in ("decimal", "uuid"):
        return str(value)
    if kind in ("datetime", "date"):
        return value.isoformat()
    return value


def _load(raw: Any, kind: Kind) -> Any:
    if raw is None:
        return None
    if kind == "str" and isinstance(raw, str):
        return raw
    if kind == "int" and isinstance(raw, int) and not isinstance(raw, bool) and -(2**63) <= raw < 2**63:
        return raw
    if kind == "float" and isinstance(raw, int | float | str) and not isinstance(raw, bool):
        if isinstance(raw, str) and raw not in ("inf", "-inf", "nan"):
            raise ValueError("float")
        return float(raw)
    if kind == "decimal" and isinstance(raw, str):
        number = Decimal(raw)
        if not number.is_finite():
            raise ValueError("decimal")
        return number
    if kind == "datetime" and isinstance(raw, str):
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment
    if kind == "date" and isinstance(raw, str):
        return date.fromisoformat(raw)
    if kind == "uuid" and isinstance(raw, str):
        return uuid.UUID(raw)
    raise ValueError(kind)


@dataclass(frozen=True)
class Page:
    """What a client asked for: ``limit`` rows, after ``cursor`` (when given) and then ``offset`` rows.
    ``key`` checks the cursor and signs the next one; without it no cursor is read or offered."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    cursor: str | None = None
    key: CursorKey | None = None


@dataclass(frozen=True)
class Rows:
    """One page: each row as the statement selected it (without the sort keys), and the cursor to the next
    page, ``None`` on the last one."""

    rows: list[tuple[Any, ...]]
    next_cursor: str | None

    def first(self) -> list[Any]:
        """The first selected entity of each row (for statements that select one model)."""
        return [row[0] for row in self.rows]


async def fetch(session: AsyncSession, statement: Select[Any], ordering: Ordering, page: Page) -> Rows:
    """Run ``statement`` ordered totally by ``ordering``, one page of it; reads one row more than asked to
    know whether a next page exists."""
    width = len(ordering.keys)
    labelled = [key.column.label(f"_page_key_{i}") for i, key in enumerate(ordering.keys)]
    query = statement.add_columns(*labelled).order_by(None).order_by(*ordering.order_by())
    if page.cursor is not None:
        if page.key is None:
            raise ValidationFailed(CURSOR_ERROR, field="cursor", extra={"field": "cursor"})
        query = query.where(ordering.after(page.key.decode(ordering, page.cursor)))
    query = query.offset(page.offset).limit(page.limit + 1)
    found = list((await session.execute(query)).all())
    more = len(found) > page.limit
    found = found[: page.limit]
    next_cursor = None
    if more and found and page.key is not None:
        next_cursor = page.key.encode(ordering, tuple(found[-1][-width:]))
    return Rows(rows=[tuple(row[:-width]) for row in found], next_cursor=next_cursor)
