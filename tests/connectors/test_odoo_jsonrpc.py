"""Odoo 17/18's JSON-RPC through the real engine: the lock's ``odoo_jsonrpc`` proof, paging values placed through
list indices of the body (``params.args.6.offset``), and an API key that travels inside the body (``params.args.2``)
— never in a header, never in the stored body — against the simulation's ``/jsonrpc``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

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
from atlas.connectors.engine.fetch import rpc_error_reason
from atlas.connectors.engine.pagination import place
from atlas.connectors.services import _place_sample
from atlas.execution_lock import BlockedAttempt, DeclaredRequest, NetworkPolicy
from atlas.execution_lock.read_proofs import NotARead, ProvenRead, prove
from tests.sims import odoo
from tests.sims.canary import CANARY

OPEN = NetworkPolicy(allow_private=True)
FIELDS = ["product_id", "location_id", "lot_id", "quantity", "reserved_quantity"]


def jsonrpc_body(model: str = "stock.quant", method: str = "search_read", **extra: Any) -> dict[str, Any]:
    args: list[Any] = ["atlas-demo", "2", "", model, method, [[]], {"fields": FIELDS, "order": "id"}]
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": "call", "params": {"service": "object",
                            "method": "execute_kw", "args": args}}  # fmt: skip
    body["params"].update(extra)
    return body


# --- placing values through lists -----------------------------------------------------------------------------------


def test_values_are_placed_through_list_indices_and_lists_are_never_grown() -> None:
    body = jsonrpc_body()
    place(body, "params.args.6.offset", 200, url="u")
    place(body, "params.args.2", "secret", url="u")
    place(body, "params.args.5.0", [["write_date", ">=", None]], url="u")
    place(body, "params.args.5.0.0.2", "2026-11-22", url="u")
    args = body["params"]["args"]
    assert args[6]["offset"] == 200 and args[2] == "secret" and args[5] == [[["write_date", ">=", "2026-11-22"]]]
    for path, words in [("params.args.9", "past the end"), ("params.args.offset", "takes an index"),
                        ("params.args.0.x", "str")]:  # fmt: skip
        with pytest.raises(FetchError) as caught:
            place(jsonrpc_body(), path, 1, url="u")
        assert caught.value.reason == "paging_path_invalid" and words in caught.value.detail


def test_the_sample_placed_when_saving_goes_where_the_reader_puts_it() -> None:
    body = jsonrpc_body()
    _place_sample(body, "params.args.6.limit")
    _place_sample(body, "params.args.99")  # cannot be placed: left for the reader's own error
    assert body["params"]["args"][6]["limit"] == 1 and len(body["params"]["args"]) == 7


# --- the proof -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["search_read", "read", "search", "search_count", "fields_get"])
def test_execute_kw_of_a_read_method_is_a_read(method: str) -> None:
    body = jsonrpc_body(method=method)
    body["params"]["args"][6] = {"context": {"lang": "en_US"}}
    assert prove("odoo_jsonrpc", "/jsonrpc", body) == ProvenRead("odoo_jsonrpc", method, "stock.quant")
    assert prove("odoo_jsonrpc", "/odoo/jsonrpc", jsonrpc_body()).method == "search_read"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: b["params"].update(service="db"), "odoo_jsonrpc_service_not_object"),
        (lambda b: b["params"].update(service="common", method="login"), "odoo_jsonrpc_service_not_object"),
        (lambda b: b["params"].update(method="execute"), "rpc_method_not_read"),
        (lambda b: b["params"]["args"].__setitem__(4, "write"), "rpc_method_not_read"),
        (lambda b: b["params"]["args"].__setitem__(4, "unlink"), "rpc_method_not_read"),
        (lambda b: b["params"]["args"].__setitem__(4, "action_done"), "rpc_method_not_read"),
        (lambda b: b["params"]["args"].__setitem__(6, {"vals": {"quantity": 0}}), "rpc_argument_not_allowed"),
        (lambda b: b["params"]["args"].__setitem__(5, [[], [], 0, 1, "id", "x"]), "rpc_argument_not_allowed"),
        (lambda b: b["params"]["args"].__setitem__(3, "Stock Quant; DROP"), "odoo_jsonrpc_body_shape"),
        (lambda b: b["params"]["args"].append({}), "odoo_jsonrpc_body_shape"),
        (lambda b: b.update(method="notify"), "odoo_jsonrpc_body_shape"),
        (lambda b: b.update(extra=1), "odoo_jsonrpc_body_shape"),
        (lambda b: b["params"].update(kwargs={}), "odoo_jsonrpc_body_shape"),
    ],
)
def test_anything_but_a_read_is_refused_and_the_key_is_never_in_the_detail(change: Any, reason: str) -> None:
    body = jsonrpc_body()
    body["params"]["args"][2] = "the-secret-key"
    change(body)
    with pytest.raises(NotARead) as caught:
        prove("odoo_jsonrpc", "/jsonrpc", body)
    assert caught.value.reason == reason and "the-secret-key" not in str(caught.value)


def test_a_jsonrpc_body_is_no_read_at_another_url() -> None:
    with pytest.raises(NotARead) as caught:
        prove("odoo_jsonrpc", "/json/2/stock.quant/search_read", jsonrpc_body())
    assert caught.value.reason == "rpc_url_not_protocol_endpoint"


def test_odoo_s_credential_errors_answered_with_200_are_named() -> None:
    def error(name: str) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": None, "error": {"code": 200, "message": "Odoo Server Error",
                "data": {"name": name, "message": "Access Denied"}}}  # fmt: skip

    assert rpc_error_reason(error("odoo.exceptions.AccessDenied")) == "unauthorized"
    assert rpc_error_reason(error("odoo.exceptions.AccessError")) == "forbidden"
    assert rpc_error_reason(error("odoo.exceptions.UserError")) == "rpc_error"
    assert rpc_error_reason({"errors": [{"message": "x"}]}) == "rpc_error"


# --- through the engine, against the simulation -------------------------------------------------------------------


def connector(sim: odoo.OdooSim, key: str = odoo.API_KEY, page_size: int = 25) -> ConnectorConfig:
    endpoint = EndpointConfig(
        key="quants",
        resource=ResourceKind.STOCK_BALANCES,
        path="/jsonrpc",
        record_path="$.result",
        pagination=PaginationConfig(
            kind=PaginationKind.OFFSET,
            page_size=page_size,
            offset_param="params.args.6.offset",
            limit_param="params.args.6.limit",
            params_in="body",
        ),
        rpc=RpcConfig(protocol=RpcProtocol.ODOO_JSONRPC, body=jsonrpc_body()),
    )
    auth = AuthConfig(kind=AuthKind.API_KEY, key_location="body", key_name="params.args.2", api_key=key)
    return ConnectorConfig(base_url=sim.base, auth=auth, endpoints=(endpoint,), min_backoff_seconds=0.01,
                           rate_limit_per_second=1000, rate_limit_burst=1000, retry_attempts=2)  # fmt: skip


def read(config: ConnectorConfig) -> tuple[list[Any], list[DeclaredRequest], list[BlockedAttempt]]:
    sent: list[DeclaredRequest] = []
    blocked: list[BlockedAttempt] = []

    async def on_sent(request: DeclaredRequest) -> None:
        sent.append(request)

    async def on_blocked(attempt: BlockedAttempt) -> None:
        blocked.append(attempt)

    async def go() -> list[Any]:
        records: list[Any] = []
        async with ConnectorSession(config, network=OPEN, on_blocked=on_blocked, on_sent=on_sent) as session:
            async for page in session.read(config.endpoints[0]):
                records.extend(page.records)
        return records

    return asyncio.run(go()), sent, blocked


def test_quants_are_read_over_jsonrpc_with_the_key_in_the_body_only() -> None:
    with odoo.odoo_server() as sim:
        config = connector(sim)
        stored = repr(config.endpoints[0].rpc)
        before = len(CANARY.seen(system="odoo"))
        records, sent, blocked = read(config)
        quants = sim.models["stock.quant"]
        assert [r["id"] for r in records] == [q["id"] for q in quants]  # every quant, once, in order
        assert records[0]["product_id"][0] == quants[0]["product_id"]
        pages = -(-len(quants) // 25) + 1  # and the empty page that ends the read
        assert len(sim.bodies) == pages == len(sent) and blocked == []
        offsets = [b["params"]["args"][6]["offset"] for b in sim.bodies]
        assert offsets == [25 * n for n in range(pages)]
        assert all(b["params"]["args"][2] == odoo.API_KEY for b in sim.bodies)  # the key went in the body ...
        assert all(odoo.API_KEY not in str(h) for h in sim.headers_seen)  # ... never in a header
        assert odoo.API_KEY not in stored and odoo.API_KEY not in str(sent)  # nor in the stored body or the audit
        assert {s.kind for s in CANARY.seen(system="odoo")[before:]} == {"rpc_read"}
        assert sent[0].protocol == "odoo_jsonrpc" and sent[0].method == "search_read"


def test_a_wrong_key_is_unauthorized_though_odoo_answers_200() -> None:
    with odoo.odoo_server() as sim:
        with pytest.raises(FetchError) as caught:
            read(connector(sim, key="wrong"))
        assert caught.value.reason == "unauthorized" and caught.value.status == 200
        assert caught.value.detail == "Access Denied" and len(sim.bodies) == 1  # not retried


def test_the_simulation_answers_jsonrpc_errors_as_odoo_does() -> None:
    import httpx

    with odoo.odoo_server() as sim:

        def ask(**params: Any) -> dict[str, Any]:
            body = {"jsonrpc": "2.0", "method": "call", "id": 7, "params": params}
            response = httpx.post(f"{sim.base}/jsonrpc", json=body)
            assert response.status_code == 200  # errors too
            return response.json()  # type: ignore[no-any-return]

        args = [odoo.DATABASE, 2, odoo.API_KEY]
        ok = ask(service="object", method="execute_kw", args=[*args, "stock.location", "search_read",
                 [[["usage", "=", "internal"]]], {"fields": ["complete_name"], "limit": 2}])  # fmt: skip
        assert ok["id"] == 7 and [set(r) for r in ok["result"]] == [{"id", "complete_name"}] * 2
        cases = {
            "odoo.exceptions.AccessDenied": [odoo.DATABASE, 2, "wrong", "stock.quant", "search_read", [[]]],
            "psycopg2.OperationalError": ["nope", 2, odoo.API_KEY, "stock.quant", "search_read", [[]]],
            "odoo.exceptions.UserError": [*args, "stock.nothing", "search_read", [[]]],
            "builtins.AttributeError": [*args, "stock.quant", "frobnicate", [[]]],
            "builtins.ValueError": [*args, "stock.quant", "search_read", [[]], {"fields": ["colour"]}],
            "builtins.TypeError": [*args, "stock.quant", "search_read", [[]], {"domain": []}],
        }
        for name, call_args in cases.items():
            with CANARY.deliberate():  # an unknown method could be anything: the test's own request, not Atlas's
                answer = ask(service="object", method="execute_kw", args=call_args)
            error = answer["error"]
            assert error["code"] == 200 and error["message"] == "Odoo Server Error"
            assert error["data"]["name"] == name and "result" not in answer
        # archived records are left out unless the domain names `active`
        everything = ask(service="object", method="execute_kw", args=[*args, "product.product", "search_count",
                         [[["active", "in", [True, False]]]]])["result"]  # fmt: skip
        live = ask(service="object", method="execute_kw", args=[*args, "product.product", "search_count", [[]]])
        assert everything == len(sim.models["product.product"]) == live["result"] + 1


def test_a_key_in_the_body_is_refused_for_an_endpoint_without_a_body() -> None:
    import msgspec

    from atlas.connectors.schemas import ConnectorCreate
    from atlas.connectors.services import validate_create
    from atlas.errors import ValidationFailed

    rpc = {"key": "quants", "resource": "stock_balances", "path": "/jsonrpc", "record_path": "$.result",
           "rpc": {"protocol": "odoo_jsonrpc", "body": jsonrpc_body()}}  # fmt: skip
    get = {"key": "items", "resource": "items", "path": "/api/items"}
    auth = {"kind": "api_key", "key_location": "body", "key_name": "params.args.2", "api_key": "k"}
    body = {"name": "Odoo 17", "base_url": "https://odoo.example.com", "auth": auth, "endpoints": [rpc]}
    validate_create(msgspec.convert(body, ConnectorCreate))  # a read-RPC endpoint carries the key
    with pytest.raises(ValidationFailed) as caught:
        validate_create(msgspec.convert({**body, "endpoints": [rpc, get]}, ConnectorCreate))
    assert caught.value.message_key == "errors.auth_key_in_body_needs_rpc"
    assert caught.value.extra["field"] == "endpoints[1].rpc" and caught.value.params["endpoint"] == "items"
