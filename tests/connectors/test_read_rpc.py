"""Read-only RPC through the real engine and the running Atlas: Odoo's JSON-2 API, a GraphQL API and NetSuite's
SuiteQL answer reads; a write method, a mutation, an UPDATE, a smuggled second statement and a token URL that is
a data path are each refused before the wire (the simulated system sees nothing) and audited as action_blocked."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from atlas.config import Settings
from atlas.connectors.engine import (
    AuthConfig,
    AuthKind,
    ConnectorConfig,
    ConnectorSession,
    EndpointConfig,
    FetchError,
    PaginationConfig,
    PaginationKind,
    ResourceKind,
)
from atlas.connectors.engine.config import RpcConfig, RpcProtocol
from atlas.connectors.engine.fetch import rpc_error_message
from atlas.db.engine import Database
from atlas.execution_lock import BlockedAttempt, DeclaredKind, DeclaredRequest, NetworkPolicy
from atlas.execution_lock.audit import blocked_auditor
from atlas.platform.audit import Actor
from tests.services import free_port
from tests.sims import graphql_api, odoo, suiteql
from tests.sims.canary import CANARY

OPEN = NetworkPolicy(allow_private=True)
QUANT_FIELDS = ["product_id", "location_id", "lot_id", "quantity", "reserved_quantity", "write_date"]
STOCK_QUERY = """
query Stock($first: Int, $after: String) {
  stockRows(first: $first, after: $after) {
    edges { node { id sku location lot quantity reserved } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.fixture(scope="module")
def odoo_sim() -> Iterator[odoo.OdooSim]:
    with odoo.odoo_server() as sim:
        yield sim


@pytest.fixture
def fresh_odoo(odoo_sim: odoo.OdooSim) -> odoo.OdooSim:
    odoo_sim.reset()
    return odoo_sim


@pytest.fixture(scope="module")
def graphql_sim() -> Iterator[graphql_api.GraphqlSim]:
    with graphql_api.graphql_server() as sim:
        yield sim


@pytest.fixture(scope="module")
def suiteql_sim() -> Iterator[suiteql.SuiteqlSim]:
    with suiteql.suiteql_server() as sim:
        yield sim


def odoo_endpoint(
    method: str = "search_read", body: dict[str, Any] | None = None, page_size: int = 10
) -> EndpointConfig:
    return EndpointConfig(
        key="quants",
        resource=ResourceKind.STOCK_BALANCES,
        path=f"/json/2/stock.quant/{method}",
        record_path="$",
        pagination=PaginationConfig(
            kind=PaginationKind.OFFSET,
            page_size=page_size,
            offset_param="offset",
            limit_param="limit",
            params_in="body",
        ),
        rpc=RpcConfig(
            protocol=RpcProtocol.ODOO_JSON2,
            body=body if body is not None else {"domain": [], "fields": QUANT_FIELDS, "order": "id asc"},
        ),
    )


def odoo_connector(sim: odoo.OdooSim, *endpoints: EndpointConfig, **options: Any) -> ConnectorConfig:
    options.setdefault("auth", AuthConfig(kind=AuthKind.BEARER, token=odoo.API_KEY))
    options.setdefault("headers", (("X-Odoo-Database", odoo.DATABASE),))
    return ConnectorConfig(
        base_url=sim.base,
        endpoints=endpoints or (odoo_endpoint(),),
        min_backoff_seconds=0.01,
        rate_limit_per_second=1000,
        rate_limit_burst=1000,
        retry_attempts=2,
        **options,
    )


class Seen:
    """What the lock reported: blocked attempts and declared requests that left."""

    def __init__(self) -> None:
        self.blocked: list[BlockedAttempt] = []
        self.sent: list[DeclaredRequest] = []

    async def on_blocked(self, attempt: BlockedAttempt) -> None:
        self.blocked.append(attempt)

    async def on_sent(self, request: DeclaredRequest) -> None:
        self.sent.append(request)


def read(config: ConnectorConfig, seen: Seen | None = None) -> list[Any]:
    seen = seen or Seen()

    async def go() -> list[Any]:
        records: list[Any] = []
        async with ConnectorSession(config, network=OPEN, on_blocked=seen.on_blocked, on_sent=seen.on_sent) as session:
            async for page in session.read(config.endpoints[0]):
                records.extend(page.records)
        return records

    return asyncio.run(go())


def read_error(config: ConnectorConfig, seen: Seen | None = None) -> FetchError:
    with pytest.raises(FetchError) as caught:
        read(config, seen)
    return caught.value


# --- reads that leave ------------------------------------------------------------------------------------------


def test_odoo_quants_are_read_page_by_page_with_the_database_header(fresh_odoo):
    seen = Seen()
    before = len(CANARY.seen(system="odoo"))
    records = read(odoo_connector(fresh_odoo), seen)
    quants = fresh_odoo.models["stock.quant"]
    assert [r["id"] for r in records] == [q["id"] for q in quants]  # every quant, each once, in order
    first = records[0]
    assert first["product_id"][0] == quants[0]["product_id"] and isinstance(first["product_id"][1], str)
    pages = -(-len(quants) // 10) + 1  # full pages, the short last one, then the empty page that ends the read
    assert fresh_odoo.calls[("stock.quant", "search_read")] == pages
    assert [b["offset"] for b in fresh_odoo.bodies] == [10 * n for n in range(pages)]
    assert all(b["limit"] == 10 and b["fields"] == QUANT_FIELDS for b in fresh_odoo.bodies)
    assert all(h["x-odoo-database"] == odoo.DATABASE for h in fresh_odoo.headers_seen)
    assert all(h["authorization"] == f"Bearer {odoo.API_KEY}" for h in fresh_odoo.headers_seen)
    assert {s.kind for s in CANARY.seen(system="odoo")[before:]} == {"rpc_read"}
    assert seen.blocked == []
    assert seen.sent == [
        DeclaredRequest(DeclaredKind.READ_RPC, f"{fresh_odoo.base}/json/2/stock.quant/search_read", "odoo_json2",
                        "search_read", "stock.quant")
    ] * pages  # fmt: skip


def test_odoo_search_count_and_fields_get_are_reads(fresh_odoo):
    count = odoo_endpoint("search_count", {"domain": [["location_id", "=", 9]]})
    count = EndpointConfig(key="count", resource=count.resource, path=count.path, record_path="$", rpc=count.rpc)
    assert read(odoo_connector(fresh_odoo, count)) == [
        sum(1 for q in fresh_odoo.models["stock.quant"] if q["location_id"] == 9)
    ]
    fields = odoo_endpoint("fields_get", {"attributes": ["type"]})
    fields = EndpointConfig(key="fields", resource=fields.resource, path=fields.path, record_path="$", rpc=fields.rpc)
    assert read(odoo_connector(fresh_odoo, fields))[0]["quantity"]["type"] == "float"


def test_graphql_stock_rows_are_read_through_the_cursor_connection(graphql_sim):
    seen = Seen()
    endpoint = EndpointConfig(
        key="stock",
        resource=ResourceKind.STOCK_BALANCES,
        path="/graphql",
        record_path="$.data.stockRows.edges[*].node",
        pagination=PaginationConfig(
            kind=PaginationKind.CURSOR,
            page_size=10,
            cursor_source="body",
            cursor_path="$.data.stockRows.pageInfo.endCursor",
            has_more_path="$.data.stockRows.pageInfo.hasNextPage",
            cursor_param="variables.after",
            size_param="variables.first",
            params_in="body",
        ),
        rpc=RpcConfig(protocol=RpcProtocol.GRAPHQL, body={"query": STOCK_QUERY, "operationName": "Stock"}),
    )
    config = ConnectorConfig(
        base_url=graphql_sim.base,
        endpoints=(endpoint,),
        auth=AuthConfig(kind=AuthKind.BEARER, token=graphql_api.TOKEN),
        min_backoff_seconds=0.01,
    )
    before = graphql_sim.requests()
    records = read(config, seen)
    assert [r["id"] for r in records] == [r["id"] for r in graphql_sim.rows]
    assert graphql_sim.requests() - before == 4  # 10 + 10 + 10 + 7, hasNextPage false on the fourth
    assert {s.method for s in seen.sent} == {"query"} and {s.subject for s in seen.sent} == {"Stock"}


def test_suiteql_pages_with_limit_and_offset_in_the_query_string(suiteql_sim):
    endpoint = EndpointConfig(
        key="balances",
        resource=ResourceKind.STOCK_BALANCES,
        path=suiteql.PATH,
        record_path="$.items",
        pagination=PaginationConfig(
            kind=PaginationKind.OFFSET, page_size=10, total_path="$.totalResults", has_more_path="$.hasMore"
        ),
        rpc=RpcConfig(
            protocol=RpcProtocol.SQL,
            body={"q": "SELECT item, location, inventorynumber, quantityonhand FROM inventorybalance ORDER BY 1, 2, 3"},
        ),
    )
    config = ConnectorConfig(
        base_url=suiteql_sim.base,
        endpoints=(endpoint,),
        auth=AuthConfig(kind=AuthKind.BEARER, token=suiteql.TOKEN),
        headers=(("Prefer", "transient"),),
        min_backoff_seconds=0.01,
    )
    expected = suiteql_sim.db.execute("SELECT COUNT(*) FROM inventorybalance").fetchone()[0]
    records = read(config)
    assert (
        len(records) == expected
        and len({(r["item"], r["location"], r["inventorynumber"]) for r in records}) == expected
    )


# --- refused before the wire, and audited --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["write", "unlink", "create", "action_apply_inventory"])
def test_an_odoo_write_method_is_refused_before_the_wire(fresh_odoo, method):
    seen = Seen()
    before = len(CANARY.seen(system="odoo"))
    body = {"ids": [1], "vals": {"quantity": 0}} if method == "write" else {"ids": [1]}
    error = read_error(odoo_connector(fresh_odoo, odoo_endpoint(method, body)), seen)
    assert error.reason == "blocked_by_lock" and error.detail == f"rpc_method_not_read: {method}"
    assert fresh_odoo.requests() == 0 and len(CANARY.seen(system="odoo")) == before
    assert [(b.method, b.reason, b.detail) for b in seen.blocked] == [("POST", "rpc_method_not_read", method)]
    assert seen.sent == []
    assert fresh_odoo.models["stock.quant"][0]["quantity"] > 0  # the data did not change


def test_a_graphql_mutation_is_refused_before_the_wire(graphql_sim):
    seen = Seen()
    before = graphql_sim.requests()
    endpoint = EndpointConfig(
        key="stock",
        resource=ResourceKind.STOCK_BALANCES,
        path="/graphql",
        record_path="$.data",
        rpc=RpcConfig(
            protocol=RpcProtocol.GRAPHQL, body={"query": 'mutation { adjustStock(id: "SR001", quantity: 0) { id } }'}
        ),
    )
    config = ConnectorConfig(base_url=graphql_sim.base, endpoints=(endpoint,), min_backoff_seconds=0.01)
    assert read_error(config, seen).detail == "graphql_mutation"
    assert graphql_sim.requests() == before and [b.reason for b in seen.blocked] == ["graphql_mutation"]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("UPDATE inventorybalance SET quantityonhand = 0", "sql_not_a_select"),
        ("SELECT item FROM inventorybalance; DELETE FROM inventorybalance", "sql_several_statements"),
        ("SELECT item FROM inventorybalance -- read\n; DROP TABLE item", "sql_several_statements"),
    ],
)
def test_an_sql_write_is_refused_before_the_wire(suiteql_sim, query, reason):
    seen = Seen()
    before = suiteql_sim.requests()
    endpoint = EndpointConfig(
        key="balances",
        resource=ResourceKind.STOCK_BALANCES,
        path=suiteql.PATH,
        record_path="$.items",
        rpc=RpcConfig(protocol=RpcProtocol.SQL, body={"q": query}),
    )
    config = ConnectorConfig(base_url=suiteql_sim.base, endpoints=(endpoint,), min_backoff_seconds=0.01)
    assert read_error(config, seen).detail.startswith(reason)
    assert suiteql_sim.requests() == before and [b.reason for b in seen.blocked] == [reason]


def test_a_token_url_that_is_a_data_path_is_refused_before_the_wire(fresh_odoo):
    # An admin sets the OAuth2 token URL to the connector's own data path: Atlas would POST a form to it on every
    # read. The lock refuses to declare it, so the token request is blocked and audited, and nothing is sent.
    seen = Seen()
    auth = AuthConfig(
        kind=AuthKind.OAUTH2_CLIENT_CREDENTIALS,
        token_url=f"{fresh_odoo.base}/json/2/stock.quant/search_read",
        client_id="atlas",
        client_secret="s3cret",
    )
    error = read_error(odoo_connector(fresh_odoo, auth=auth), seen)
    assert error.reason == "blocked_by_lock" and error.detail == "token_url_is_a_data_path"
    assert fresh_odoo.requests() == 0 and not fresh_odoo.headers_seen
    assert [(b.method, b.url, b.reason) for b in seen.blocked] == [
        ("POST", f"{fresh_odoo.base}/json/2/stock.quant/search_read", "token_url_is_a_data_path")
    ]


def test_a_protocol_no_endpoint_declares_is_refused(fresh_odoo):
    # The connector's endpoints are plain GETs; a read-RPC call claiming odoo_json2 was never declared.
    seen = Seen()
    plain = EndpointConfig(key="items", resource=ResourceKind.ITEMS, path="/items")
    config = ConnectorConfig(base_url=fresh_odoo.base, endpoints=(plain,))

    async def go() -> None:
        async with ConnectorSession(config, network=OPEN, on_blocked=seen.on_blocked) as session:
            await session.executor.rpc_json(
                f"{fresh_odoo.base}/json/2/stock.quant/search_read", {"domain": []}, protocol="odoo_json2"
            )

    with pytest.raises(FetchError) as caught:
        asyncio.run(go())
    assert caught.value.detail == "rpc_protocol_not_declared: odoo_json2" and fresh_odoo.requests() == 0


# --- errors the server reports -------------------------------------------------------------------------------


def test_odoo_errors_surface_with_the_server_s_message(fresh_odoo):
    unknown = EndpointConfig(
        key="nothing",
        resource=ResourceKind.ITEMS,
        path="/json/2/stock.nothing/search_read",
        rpc=RpcConfig(protocol=RpcProtocol.ODOO_JSON2, body={"domain": []}),
    )
    error = read_error(odoo_connector(fresh_odoo, unknown))
    assert (error.reason, error.status, error.detail) == ("not_found", 404, "the model 'stock.nothing' does not exist")
    wrong_key = odoo_connector(fresh_odoo, auth=AuthConfig(kind=AuthKind.BEARER, token="not-the-key"))
    assert (read_error(wrong_key).reason, read_error(wrong_key).detail) == ("unauthorized", "Invalid apikey")
    no_database = odoo_connector(fresh_odoo, headers=())
    assert read_error(no_database).status == 404


def test_graphql_errors_fail_the_read_with_the_server_s_message(graphql_sim):
    endpoint = EndpointConfig(
        key="stock",
        resource=ResourceKind.STOCK_BALANCES,
        path="/graphql",
        record_path="$.data.stockRows.edges[*].node",
        rpc=RpcConfig(protocol=RpcProtocol.GRAPHQL, body={"query": "{ stockRows { edges { node { nope } } } }"}),
    )
    config = ConnectorConfig(
        base_url=graphql_sim.base,
        endpoints=(endpoint,),
        auth=AuthConfig(kind=AuthKind.BEARER, token=graphql_api.TOKEN),
        min_backoff_seconds=0.01,
    )
    error = read_error(config)
    assert error.reason == "rpc_error" and "nope" in error.detail


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"jsonrpc": "2.0", "id": 1, "error": {"code": 200, "message": "Odoo Server Error",
          "data": {"name": "odoo.exceptions.AccessError", "message": "You are not allowed to access Quants"}}},
         "You are not allowed to access Quants"),
        ({"error": "invalid_request"}, "invalid_request"),
        ({"data": {"a": 1}, "errors": [{"message": "first"}, {"message": "second"}]}, "first (and 1 more)"),
        ({"data": {"a": 1}}, None),
        ({"error": None, "result": []}, None),
        ([{"error": "a record field, not an error"}], None),
    ],
)  # fmt: skip
def test_rpc_error_bodies_are_recognised(body, message):
    assert rpc_error_message(body) == message


# --- static headers on every request -------------------------------------------------------------------------


def test_static_headers_go_with_get_requests_too():
    seen_headers: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            CANARY.record("header-echo", "GET", self.path, "read")
            seen_headers.append({k.lower(): v for k, v in self.headers.items()})
            data = b'{"items": [{"id": 1}]}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = ConnectorConfig(
            base_url=f"http://127.0.0.1:{port}",
            endpoints=(EndpointConfig(key="items", resource=ResourceKind.ITEMS, path="/items", record_path="$.items"),),
            auth=AuthConfig(kind=AuthKind.BEARER, token="t-1"),
            headers=(("X-Odoo-Database", "shop"), ("X-Tenant", "7")),
        )
        assert read(config) == [{"id": 1}]
    finally:
        server.shutdown()
        server.server_close()
    assert seen_headers[0]["x-odoo-database"] == "shop" and seen_headers[0]["x-tenant"] == "7"
    assert seen_headers[0]["authorization"] == "Bearer t-1"


# --- through the running Atlas: validation at save, audit of every declared request ---------------------------


def odoo_connector_body(sim: odoo.OdooSim, method: str = "search_read", **extra: Any) -> dict[str, Any]:
    return {
        "name": f"Odoo {uuid.uuid4().hex[:6]}",
        "base_url": sim.base,
        "auth": {"kind": "bearer", "token": odoo.API_KEY},
        "headers": {"X-Odoo-Database": odoo.DATABASE},
        "endpoints": [
            {
                "key": "quants",
                "resource": "stock_balances",
                "path": f"/json/2/stock.quant/{method}",
                "record_path": "$",
                "pagination": {
                    "kind": "offset",
                    "page_size": 50,
                    "offset_param": "offset",
                    "limit_param": "limit",
                    "params_in": "body",
                },
                "rpc": {"protocol": "odoo_json2", "body": {"domain": [], "fields": QUANT_FIELDS}},
            }
        ],
        **extra,
    }


def audit_payloads(atlas: Any, tenant_id: str, event: str) -> list[dict[str, Any]]:
    rows = atlas.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = %s ORDER BY seq", (tenant_id, event)
    )
    return [row[0] for row in rows]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"path": "/json/2/stock.quant/write"}, "rpc_method_not_read"),
        ({"path": "/json/2/stock.quant/unlink"}, "rpc_method_not_read"),
        ({"rpc": {"protocol": "odoo_json2", "body": {"vals": {"quantity": 0}}}}, "rpc_argument_not_allowed"),
        ({"path": "/graphql", "pagination": {"kind": "none"},
          "rpc": {"protocol": "graphql", "body": {"query": "mutation { a }"}}}, "graphql_mutation"),
        ({"path": "/suiteql", "pagination": {"kind": "none"},
          "rpc": {"protocol": "sql", "body": {"q": "UPDATE item SET a = 1"}}}, "sql_not_a_select"),
        ({"path": "/suiteql", "pagination": {"kind": "none"},
          "rpc": {"protocol": "sql", "body": {"q": "SELECT 1; DELETE FROM item"}}}, "sql_several_statements"),
        # the paging values the reader places in the body are proved too: Odoo's search_read has no "page"
        ({"pagination": {"kind": "page", "page_param": "page", "size_param": "limit", "params_in": "body"}},
         "rpc_argument_not_allowed"),
    ],
)  # fmt: skip
def test_saving_a_read_rpc_endpoint_that_is_not_a_read_is_a_422(atlas, fresh_odoo, change, reason):
    admin, _ = atlas.new_tenant()
    body = odoo_connector_body(fresh_odoo)
    body["endpoints"][0].update(change)
    response = admin.post("/api/connectors", json=body, headers={"Accept-Language": "en"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:atlas:problem:validation-failed"
    assert problem["field"] == "endpoints[0].rpc" and problem["reason"] == reason and problem["endpoint"] == "quants"
    assert "“quants”" in problem["detail"] and "not a read" in problem["detail"]
    arabic = admin.post("/api/connectors", json=body, headers={"Accept-Language": "ar"}).json()
    assert "«quants»" in arabic["detail"]
    assert fresh_odoo.requests() == 0


def test_using_a_stored_endpoint_that_names_a_write_method_is_blocked_and_audited(atlas, fresh_odoo):
    # The endpoint is changed behind the API's back (an older row, a restored backup): the lock still refuses.
    admin, me = atlas.new_tenant()
    other, other_me = atlas.new_tenant()
    created = admin.post("/api/connectors", json=odoo_connector_body(fresh_odoo))
    assert created.status_code == 201, created.text
    connector_id = created.json()["id"]
    atlas.sql(
        "UPDATE connector_endpoints SET path = '/json/2/stock.quant/unlink' WHERE connector_id = %s", (connector_id,)
    )
    before = len(CANARY.seen(system="odoo"))
    health = admin.post(f"/api/connectors/{connector_id}/test")
    assert health.status_code == 200, health.text
    latest = health.json()["latest"][0]
    assert latest["ok"] is False and latest["reason"] == "blocked_by_lock"
    assert fresh_odoo.requests() == 0 and len(CANARY.seen(system="odoo")) == before
    blocked = audit_payloads(atlas, me["tenant_id"], "action_blocked")
    assert [(p["method"], p["url"], p["reason"], p["detail"], p["connector_id"]) for p in blocked] == [
        ("POST", f"{fresh_odoo.base}/json/2/stock.quant/unlink", "rpc_method_not_read", "unlink", connector_id)
    ]
    assert audit_payloads(atlas, other_me["tenant_id"], "action_blocked") == []  # the other tenant sees none of it
    assert other.get(f"/api/connectors/{connector_id}").status_code == 404


def test_an_rpc_read_through_atlas_is_audited_as_declared_request_sent(atlas, fresh_odoo):
    admin, me = atlas.new_tenant()
    created = admin.post("/api/connectors", json=odoo_connector_body(fresh_odoo))
    assert created.status_code == 201, created.text
    connector_id = created.json()["id"]
    health = admin.post(f"/api/connectors/{connector_id}/test")
    assert health.status_code == 200 and health.json()["latest"][0]["ok"] is True, health.text
    sent = audit_payloads(atlas, me["tenant_id"], "declared_request_sent")
    assert len(sent) == fresh_odoo.requests() >= 1  # one audit event for every request that left
    assert {k: v for k, v in sent[0].items() if k != "actor_display"} == {
        "kind": "read_rpc",
        "method": "POST",
        "url": f"{fresh_odoo.base}/json/2/stock.quant/search_read",
        "protocol": "odoo_json2",
        "rpc_method": "search_read",
        "subject": "stock.quant",
        "source": "connector_test",
        "connector_id": connector_id,
    }
    assert odoo.API_KEY not in str(sent)  # never a credential


def test_the_lock_audit_writes_each_event_in_its_own_transaction(atlas, fresh_odoo):
    # The auditor used by syncs and checks, driven directly: a blocked write and a sent read, both recorded.
    admin, me = atlas.new_tenant()
    settings = Settings(DATABASE_URL=atlas.database_url)
    tenant = uuid.UUID(me["tenant_id"])

    async def go() -> None:
        database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=1)
        try:
            auditor = blocked_auditor(
                database, tenant_id=tenant, actor=Actor("system"), correlation_id="read-rpc-test", source="test"
            )
            config = odoo_connector(fresh_odoo, odoo_endpoint(page_size=500))
            async with ConnectorSession(config, network=OPEN, on_blocked=auditor) as session:
                async for _ in session.read(config.endpoints[0]):
                    pass
            blocked = odoo_connector(fresh_odoo, odoo_endpoint("write", {"ids": [1], "vals": {"quantity": 0}}))
            async with ConnectorSession(blocked, network=OPEN, on_blocked=auditor) as session:
                with pytest.raises(FetchError):
                    async for _ in session.read(blocked.endpoints[0]):
                        pass
        finally:
            await database.dispose()

    asyncio.run(go())
    sent = audit_payloads(atlas, me["tenant_id"], "declared_request_sent")
    assert [p["rpc_method"] for p in sent] == ["search_read", "search_read"]  # the page of all quants, the empty page
    blocked = audit_payloads(atlas, me["tenant_id"], "action_blocked")
    assert [p["reason"] for p in blocked] == ["rpc_method_not_read"]
    assert fresh_odoo.calls[("stock.quant", "write")] == 0
    assert admin.get("/api/connectors").status_code == 200
