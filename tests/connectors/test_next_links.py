"""Next-link pagination asks for its page size on the first request: InvenTree answers a bare array of everything
when no ``limit`` is given, and a read configured for ``{"results", "next"}`` pages must get pages."""

from __future__ import annotations

import asyncio
from typing import Any

from atlas.connectors.engine import (
    AuthConfig,
    AuthKind,
    ConnectorConfig,
    ConnectorSession,
    EndpointConfig,
    PaginationConfig,
    PaginationKind,
    ResourceKind,
)
from atlas.execution_lock import NetworkPolicy
from tests.sims.inventree import inventree_server


def test_the_first_request_of_a_next_link_read_carries_the_page_size():
    with inventree_server(parts=60) as inventree:
        endpoint = EndpointConfig(
            key="stock",
            resource=ResourceKind.STOCK_BALANCES,
            path="/api/stock/",
            record_path="$.results",
            pagination=PaginationConfig(
                kind=PaginationKind.CURSOR,
                cursor_source="next_url",
                cursor_path="$.next",
                size_param="limit",
                page_size=25,
                total_path="$.count",
            ),
        )
        config = ConnectorConfig(
            base_url=inventree.base,
            auth=AuthConfig(kind=AuthKind.HEADER, scheme="Token", credential=inventree.token),
            endpoints=(endpoint,),
            rate_limit_per_second=1000,
            rate_limit_burst=1000,
        )

        async def read() -> list[Any]:
            records: list[Any] = []
            async with ConnectorSession(config, network=NetworkPolicy(allow_private=True)) as session:
                async for page in session.read(endpoint):
                    records.extend(page.records)
            return records

        records = asyncio.run(read())
        expected = sorted(inventree.data.items)
        assert sorted(r["pk"] for r in records) == expected and len(expected) > 25
        first = inventree.requests("/api/stock/")[0]
        assert first.query.get("limit") == ["25"]
