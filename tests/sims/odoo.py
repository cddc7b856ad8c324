"""Odoo 19's external JSON-2 API, as its documentation and its controller describe it, over real HTTP on 127.0.0.1.

What the documentation ("External JSON-2 API", developer reference 19.0) and the controller
(``addons/web/controllers/json2.py``) say, and this simulation does:

* ``POST /json/2/<model>/<method>`` with ``Authorization: bearer <API key>``, ``Content-Type: application/json`` and,
  where one server hosts several databases, ``X-Odoo-Database``. The body is a JSON object: ``ids`` (the records),
  ``context``, and the method's own parameters as named arguments (``domain``, ``fields``, ``offset``, ``limit``,
  ``order`` ...). The answer is the method's return value as JSON: a bare array for ``search_read``; a recordset
  comes back as its ids.
* The route accepts every HTTP method and answers anything but POST with 405 (``MethodNotAllowed``).
* Errors are 4xx/5xx with a JSON object ``{name, message, arguments, context, debug}``: 401 ``Invalid apikey``;
  404 for an unknown model or method (``the model 'x' does not exist``); 422 for an argument the method does not
  take (the controller binds the body to the method's signature); 403 for an access error.
* Write methods are real: ``create``, ``write`` and ``unlink`` change the data, as the real Odoo would. Every
  request is reported to the canary with the kind the server actually received: ``rpc_read`` for a read method,
  ``write`` for anything else that reached a method, ``read`` for a GET.

The data: products, an internal location tree and customer/transit locations, ``stock.quant`` with several quants
per product and location (lots), each with ``quantity`` and ``reserved_quantity``, ``product_id`` and
``location_id`` as ``[id, "display name"]`` pairs and ``write_date`` as Odoo writes it (UTC, ``%Y-%m-%d %H:%M:%S``);
``stock.move.line`` for movements. `truth()` gives the sums per (product, location) the tests compare against.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlparse

from tests.services import free_port
from tests.sims.canary import CANARY
from tests.sims.serving import QuietHandler, serving

SYSTEM = "odoo"
API_KEY = "6578616d706c65206a736f6e20617069206b6579"
DATABASE = "atlas-demo"
DATABASES = (DATABASE, "other-company")  # two databases: X-Odoo-Database is required, as on a shared server
READ_METHODS = {"search_read", "read", "search", "search_count", "fields_get"}
WRITE_METHODS = {"create", "write", "unlink"}
# The named arguments each method binds (odoo/models.py), besides ``ids`` and ``context``.
SIGNATURES: dict[str, set[str]] = {
    "search_read": {"domain", "fields", "offset", "limit", "order", "load"},
    "read": {"fields", "load"},
    "search": {"domain", "offset", "limit", "order"},
    "search_count": {"domain", "limit"},
    "fields_get": {"allfields", "attributes"},
    "create": {"vals_list"},
    "write": {"vals"},
    "unlink": set(),
}
MANY2ONE = {"product_id": "product.product", "location_id": "stock.location", "location_dest_id": "stock.location"}
FIELD_TYPES = {
    "id": "integer",
    "name": "char",
    "display_name": "char",
    "default_code": "char",
    "complete_name": "char",
    "usage": "selection",
    "quantity": "float",
    "reserved_quantity": "float",
    "lot_id": "many2one",
    "product_id": "many2one",
    "location_id": "many2one",
    "location_dest_id": "many2one",
    "write_date": "datetime",
    "date": "datetime",
    "reference": "char",
    "state": "selection",
}


def _products() -> list[dict[str, Any]]:
    names = ["Cable 3m", "Desk lamp", "Office chair", "Drawer unit", "Monitor 27in", "USB-C hub", "Whiteboard", "Pens"]
    return [
        {"id": i, "name": name, "default_code": f"FURN-{i:04d}", "write_date": f"2025-06-{i:02d} 08:30:00"}
        for i, name in enumerate(names, start=1)
    ]


def _locations() -> list[dict[str, Any]]:
    return [
        {"id": 8, "name": "Stock", "complete_name": "WH/Stock", "usage": "internal"},
        {"id": 9, "name": "Shelf 1", "complete_name": "WH/Stock/Shelf 1", "usage": "internal"},
        {"id": 10, "name": "Shelf 2", "complete_name": "WH/Stock/Shelf 2", "usage": "internal"},
        {"id": 5, "name": "Customers", "complete_name": "Partners/Customers", "usage": "customer"},
        {"id": 14, "name": "Inter-warehouse transit", "complete_name": "Inter-warehouse transit", "usage": "transit"},
    ]


def _quants() -> list[dict[str, Any]]:
    """Several quants per product and location (one per lot), deterministic; some reserved."""
    quants: list[dict[str, Any]] = []
    next_id = 1
    for product in range(1, 9):
        for location in (8, 9, 10):
            lots = 1 + (product + location) % 3  # 1 to 3 lots per pair
            if (product * location) % 5 == 0:
                continue  # not every product is everywhere
            for lot in range(lots):
                quantity = float((product * 7 + location * 3 + lot * 5) % 40 + 1)
                quants.append(
                    {
                        "id": next_id,
                        "product_id": product,
                        "location_id": location,
                        "lot_id": product * 1000 + location * 10 + lot,
                        "quantity": quantity,
                        "reserved_quantity": float(min(quantity, (product + lot) % 4)),
                        "write_date": f"2025-07-{(next_id % 28) + 1:02d} 1{next_id % 10}:00:00",
                    }
                )
                next_id += 1
    return quants


def _move_lines() -> list[dict[str, Any]]:
    return [
        {
            "id": n,
            "reference": f"WH/OUT/{n:05d}",
            "product_id": 1 + n % 8,
            "location_id": 8,
            "location_dest_id": 5,
            "quantity": float(1 + n % 3),
            "state": "done",
            "date": f"2025-08-{1 + n % 28:02d} 09:{n % 60:02d}:00",
            "write_date": f"2025-08-{1 + n % 28:02d} 09:{n % 60:02d}:00",
        }
        for n in range(1, 31)
    ]


@dataclass
class OdooSim:
    base: str
    models: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # (model, method) -> count
    bodies: list[dict[str, Any]] = field(default_factory=list)  # every JSON body received, in order
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.models = {
                "product.product": _products(),
                "stock.location": _locations(),
                "stock.quant": _quants(),
                "stock.move.line": _move_lines(),
            }
            self.calls.clear()
            self.bodies.clear()
            self.headers_seen.clear()

    def requests(self) -> int:
        return sum(self.calls.values())

    def truth(self) -> dict[tuple[int, int], tuple[float, float]]:
        """(product id, location id) -> (quantity, reserved): the sum over every quant of the pair."""
        sums: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
        for quant in self.models["stock.quant"]:
            pair = sums[(quant["product_id"], quant["location_id"])]
            pair[0] += quant["quantity"]
            pair[1] += quant["reserved_quantity"]
        return {key: (value[0], value[1]) for key, value in sums.items()}


class OdooError(Exception):
    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.name = name
        self.message = message

    def body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "message": self.message,
            "arguments": [self.message, self.status],
            "context": {},
            "debug": f"Traceback (most recent call last):\n  ...\n{self.name}: {self.message}\n",
        }


def _display_name(sim: OdooSim, model: str, record_id: int) -> str:
    for record in sim.models[model]:
        if record["id"] == record_id:
            if model == "stock.location":
                return str(record["complete_name"])
            code = record.get("default_code")
            return f"[{code}] {record['name']}" if code else str(record["name"])
    return ""


def _value(sim: OdooSim, record: dict[str, Any], name: str) -> Any:
    if name == "display_name":
        model = "product.product" if "default_code" in record else None
        return _display_name(sim, model, record["id"]) if model else record.get("complete_name", record.get("name"))
    value = record.get(name)
    if name in MANY2ONE:
        return [value, _display_name(sim, MANY2ONE[name], value)] if value else False
    if name == "lot_id":
        return [value, f"LOT-{value:06d}"] if value else False
    return False if value is None else value


def _matches(sim: OdooSim, record: dict[str, Any], leaf: list[Any]) -> bool:
    name, operator, expected = leaf
    actual = record.get(name)
    if operator == "=":
        return bool(actual == expected)
    if operator == "!=":
        return bool(actual != expected)
    if operator in (">", ">=", "<", "<="):
        if actual is None:
            return False
        return {">": actual > expected, ">=": actual >= expected, "<": actual < expected, "<=": actual <= expected}[
            operator
        ]
    if operator == "in":
        return actual in expected
    if operator == "not in":
        return actual not in expected
    if operator in ("ilike", "like"):
        text, pattern = str(actual or ""), str(expected).strip("%")
        return pattern.lower() in text.lower() if operator == "ilike" else pattern in text
    raise OdooError(422, "builtins.ValueError", f"Invalid leaf {leaf!r}")


def _evaluate(sim: OdooSim, record: dict[str, Any], domain: list[Any]) -> bool:
    """Odoo domains: leaves [field, operator, value], implicitly AND-ed, with prefix '&', '|' and '!'."""

    def walk(position: int) -> tuple[bool, int]:
        token = domain[position]
        if token == "!":
            value, following = walk(position + 1)
            return not value, following
        if token in ("&", "|"):
            left, following = walk(position + 1)
            right, following = walk(following)
            return (left and right) if token == "&" else (left or right), following
        if not isinstance(token, list) or len(token) != 3:
            raise OdooError(422, "builtins.ValueError", f"Invalid domain term {token!r}")
        return _matches(sim, record, token), position + 1

    position, result = 0, True
    while position < len(domain):
        value, position = walk(position)
        result = result and value
    return result


def _search(sim: OdooSim, model: str, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    domain = kwargs.get("domain") or []
    if not isinstance(domain, list):
        raise OdooError(422, "builtins.ValueError", "Invalid domain")
    records = [r for r in sim.models[model] if _evaluate(sim, r, domain)]
    for part in reversed([p.strip() for p in str(kwargs.get("order") or "id").split(",") if p.strip()]):
        name, _, direction = part.partition(" ")
        records.sort(key=lambda r, n=name: (r.get(n) is None, r.get(n)), reverse=direction.lower() == "desc")
    offset = int(kwargs.get("offset") or 0)
    limit = kwargs.get("limit")
    return records[offset : offset + int(limit)] if limit else records[offset:]


def _read(sim: OdooSim, records: list[dict[str, Any]], fields: list[str] | None) -> list[dict[str, Any]]:
    if not records:
        return []
    names = fields or [k for k in records[0] if k != "id"]
    return [{"id": r["id"], **{n: _value(sim, r, n) for n in names if n != "id"}} for r in records]


def call(sim: OdooSim, model: str, method: str, body: dict[str, Any]) -> Any:
    if model not in sim.models:
        raise OdooError(404, "werkzeug.exceptions.NotFound", f"the model {model!r} does not exist")
    if method.startswith("_"):
        raise OdooError(
            404, "werkzeug.exceptions.NotFound", f"Private methods (such as {method!r}) cannot be called remotely."
        )
    if method not in SIGNATURES:
        raise OdooError(
            404, "werkzeug.exceptions.NotFound", f"The method {method!r} does not exist on the model {model!r}"
        )
    ids = body.get("ids") or []
    kwargs = {k: v for k, v in body.items() if k not in ("ids", "context")}
    unexpected = sorted(set(kwargs) - SIGNATURES[method])
    if unexpected:
        raise OdooError(
            422, "werkzeug.exceptions.UnprocessableEntity", f"got an unexpected keyword argument {unexpected[0]!r}"
        )
    if method in ("search_read", "search", "search_count", "fields_get", "create") and ids:
        raise OdooError(422, "werkzeug.exceptions.UnprocessableEntity", f"cannot call {model}.{method} with ids")
    table = sim.models[model]
    if method == "search_read":
        return _read(sim, _search(sim, model, kwargs), kwargs.get("fields"))
    if method == "search":
        return [r["id"] for r in _search(sim, model, kwargs)]
    if method == "search_count":
        found = _search(sim, model, {"domain": kwargs.get("domain")})
        return min(len(found), int(kwargs["limit"])) if kwargs.get("limit") else len(found)
    if method == "read":
        by_id = {r["id"]: r for r in table}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise OdooError(
                404, "odoo.exceptions.MissingError", f"Record does not exist or has been deleted. {missing}"
            )
        return _read(sim, [by_id[i] for i in ids], kwargs.get("fields"))
    if method == "fields_get":
        keys = {k for r in table for k in r} | {"display_name"}
        return {k: {"type": FIELD_TYPES.get(k, "char"), "string": k.replace("_", " ").title()} for k in sorted(keys)}
    # The write methods do what Odoo does: the data changes.
    if method == "create":
        created = []
        for values in kwargs.get("vals_list") or []:
            record = {"id": max((r["id"] for r in table), default=0) + 1, **values}
            table.append(record)
            created.append(record["id"])
        return created
    if method == "write":
        for record in table:
            if record["id"] in ids:
                record.update(kwargs.get("vals") or {})
        return True
    table[:] = [r for r in table if r["id"] not in ids]  # unlink
    return True


def _handler(sim: OdooSim) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):

        def answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def route(self) -> tuple[str, str] | None:
            parts = unquote(urlparse(self.path).path).strip("/").split("/")
            if len(parts) == 4 and parts[:2] == ["json", "2"]:
                return parts[2], parts[3]
            return None

        def not_post(self) -> None:
            CANARY.record(
                SYSTEM, self.command, urlparse(self.path).path, "read" if self.command in ("GET", "HEAD") else "write"
            )
            error = OdooError(
                405, "werkzeug.exceptions.MethodNotAllowed", "The method is not allowed for the requested URL."
            )
            self.answer(405 if self.route() else 404, error.body())

        do_GET = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = not_post

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            route = self.route()
            method = route[1] if route else ""
            kind = "rpc_read" if method in READ_METHODS else "write"
            CANARY.record(SYSTEM, "POST", urlparse(self.path).path, kind)
            with sim.lock:
                sim.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
            try:
                if route is None:
                    raise OdooError(
                        404, "werkzeug.exceptions.NotFound", "The requested URL was not found on the server."
                    )
                scheme, _, key = (self.headers.get("Authorization") or "").partition(" ")
                if scheme.lower() != "bearer" or key.strip() != API_KEY:
                    raise OdooError(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey")
                if self.headers.get("X-Odoo-Database") not in DATABASES:
                    raise OdooError(
                        404, "werkzeug.exceptions.NotFound", "No database is selected: set X-Odoo-Database."
                    )
                if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
                    raise OdooError(400, "werkzeug.exceptions.BadRequest", "expecting a json object")
                try:
                    body = json.loads(raw or b"{}")
                except ValueError as exc:
                    raise OdooError(
                        400, "werkzeug.exceptions.BadRequest", f"could not parse the body as json: {exc}"
                    ) from None
                if not isinstance(body, dict):
                    raise OdooError(
                        400, "werkzeug.exceptions.BadRequest", "could not parse the body, expecting a json object"
                    )
                with sim.lock:
                    sim.calls[route] += 1
                    sim.bodies.append(body)
                    result = call(sim, route[0], route[1], body)
                self.answer(200, result)
            except OdooError as error:
                self.answer(error.status, error.body())

    return Handler


@contextmanager
def odoo_server(host: str = "127.0.0.1") -> Iterator[OdooSim]:
    port = free_port()
    sim = OdooSim(base=f"http://{host}:{port}")
    sim.reset()
    with serving(_handler(sim), port, host):
        yield sim
