"""The keyset predicate and the signed cursor of `atlas.db.paging`, against PostgreSQL: rows with ties and NULLs,
in every direction and NULL placement, read page by page by cursor, come out exactly as one ORDER BY gives them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Date, DateTime, Integer, MetaData, Numeric, Table, Text, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from atlas.db import paging
from atlas.errors import ValidationFailed

metadata = MetaData()
rows_table = Table(
    "paging_probe",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("rank", Integer, nullable=True),
    Column("label", Text, nullable=True),
    Column("at", DateTime(timezone=True), nullable=True),
    Column("amount", Numeric(10, 2), nullable=True),
    Column("day", Date, nullable=True),
)
BASE = datetime(2026, 1, 1, tzinfo=UTC)
KEY = paging.CursorKey("a test secret that is long enough to be a key")


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def engine(database_url: str, loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    engine = create_async_engine(database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    yield engine
    loop.run_until_complete(engine.dispose())


row_strategy = st.fixed_dictionaries(
    {
        "rank": st.none() | st.integers(0, 2),
        "label": st.none() | st.sampled_from(["a", "b", "ب"]),
        "at": st.none() | st.integers(0, 2).map(lambda n: BASE + timedelta(microseconds=n)),
        "amount": st.none() | st.sampled_from([Decimal("1.50"), Decimal("-2.00")]),
        "day": st.none() | st.sampled_from([date(2026, 1, 1), date(2026, 1, 2)]),
    }
)
COLUMNS: list[tuple[str, paging.Kind]] = [
    ("rank", "int"),
    ("label", "str"),
    ("at", "datetime"),
    ("amount", "decimal"),
    ("day", "date"),
]


def ordering_of(choices: list[tuple[int, bool, bool]]) -> paging.Ordering:
    keys = [
        paging.SortKey(rows_table.c[COLUMNS[i][0]], COLUMNS[i][1], descending, nulls_last, True)
        for i, descending, nulls_last in choices
    ]
    keys.append(paging.asc(rows_table.c.id, "uuid"))
    return paging.Ordering("probe", tuple(keys))


async def read_all(session: AsyncSession, ordering: paging.Ordering, size: int) -> tuple[list[Any], list[Any]]:
    everything = [r.id for r in (await session.execute(select(rows_table).order_by(*ordering.order_by()))).all()]
    seen: list[Any] = []
    cursor: str | None = None
    for _ in range(500):
        found = await paging.fetch(
            session, select(rows_table.c.id), ordering, paging.Page(limit=size, cursor=cursor, key=KEY)
        )
        seen.extend(row[0] for row in found.rows)
        cursor = found.next_cursor
        if cursor is None:
            return everything, seen
    raise AssertionError("the cursor never ended")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(row_strategy, min_size=0, max_size=40),
    choices=st.lists(
        st.tuples(st.integers(0, len(COLUMNS) - 1), st.booleans(), st.booleans()),
        min_size=1,
        max_size=3,
        unique_by=lambda c: c[0],
    ),
    size=st.integers(1, 7),
)
def test_cursor_pages_equal_the_order_by(
    engine: Any, loop: asyncio.AbstractEventLoop, rows: list[dict[str, Any]], choices: Any, size: int
) -> None:
    ordering = ordering_of(choices)

    async def scenario() -> tuple[list[Any], list[Any]]:
        async with engine.connect() as connection:
            await connection.run_sync(lambda c: rows_table.create(c, checkfirst=False))
            # Not committed: the table and its rows vanish with the rollback.
            session = AsyncSession(bind=connection)
            if rows:
                await session.execute(rows_table.insert(), [{"id": uuid.uuid4(), **r} for r in rows])
            try:
                return await read_all(session, ordering, size)
            finally:
                await session.close()
                await connection.rollback()

    everything, seen = loop.run_until_complete(scenario())
    assert seen == everything


def test_every_kind_survives_the_cursor() -> None:
    ordering = paging.Ordering(
        "kinds",
        tuple(
            paging.asc(Column(name, Text), kind)
            for name, kind in list[tuple[str, paging.Kind]](
                [
                    ("s", "str"),
                    ("i", "int"),
                    ("f", "float"),
                    ("d", "decimal"),
                    ("t", "datetime"),
                    ("day", "date"),
                    ("u", "uuid"),
                    ("n", "int"),
                ]
            )
        ),
    )
    values = [
        'ق"x',
        -(2**63),
        0.1 + 0.2,
        Decimal("12.3400"),
        datetime(2026, 5, 1, 3, 4, 5, 123456, tzinfo=UTC),
        date(2026, 5, 1),
        uuid.uuid4(),
        None,
    ]
    assert KEY.decode(ordering, KEY.encode(ordering, values)) == values


def test_a_cursor_is_bound_to_its_key_and_its_list() -> None:
    ordering = paging.Ordering("one", (paging.asc(rows_table.c.rank, "int"), paging.asc(rows_table.c.id, "uuid")))
    other = paging.Ordering("two", ordering.keys)
    cursor = KEY.encode(ordering, [1, uuid.uuid4()])
    for bad_key, bad_ordering, text in [
        (paging.CursorKey("another deployment's secret key, also long"), ordering, cursor),
        (KEY, other, cursor),
        (KEY, ordering, cursor[:-1]),
        (KEY, ordering, cursor.replace(".", "")),
        (KEY, ordering, "é." + cursor.split(".")[1]),
        (KEY, ordering, ""),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            bad_key.decode(bad_ordering, text)
        assert refused.value.extra == {"field": "cursor"}


def test_a_signed_cursor_with_values_of_the_wrong_kind_is_refused() -> None:
    """Even a correctly signed cursor (a leaked key) cannot smuggle a value of another type into the query."""
    ordering = paging.Ordering("one", (paging.asc(rows_table.c.rank, "int"), paging.asc(rows_table.c.id, "uuid")))
    for keys in (["1", str(uuid.uuid4())], [2**63, str(uuid.uuid4())], [True, str(uuid.uuid4())], [1, "nope"], [1]):
        payload = json.dumps({"v": 1, "l": "one", "k": keys}, separators=(",", ":")).encode()
        tag = hmac.new(KEY._key, payload, hashlib.sha256).digest()[:16]
        text = base64.urlsafe_b64encode(payload).rstrip(b"=").decode() + "."
        text += base64.urlsafe_b64encode(tag).rstrip(b"=").decode()
        with pytest.raises(ValidationFailed):
            KEY.decode(ordering, text)
