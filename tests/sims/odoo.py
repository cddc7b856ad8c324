"""Odoo's external APIs over real HTTP on 127.0.0.1: JSON-2 (Odoo 19) and JSON-RPC (Odoo 17 and 18), one database.

**JSON-2** (developer reference 19.0, "External JSON-2 API"; ``addons/web/controllers/json2.py``):

* ``POST /json/2/<model>/<method>`` with ``Authorization: bearer <API key>``, ``Content-Type: application/json`` and,
  where one server hosts several databases, ``X-Odoo-Database``. The body is a JSON object: ``ids``, ``context``, and
  the method's parameters by name (``domain``, ``fields``, ``offset``, ``limit``, ``order`` ...). The answer is the
  method's return value: a bare array for ``search_read``.
* Anything but POST is 405. Errors are 4xx with ``{name, message, arguments, context, debug}``: 401 ``Invalid
  apikey``; 404 for an unknown model or method; 422 for an argument the method does not take or a bad domain.

**JSON-RPC** (``odoo/addons/base/controllers/rpc.py``, ``odoo/http.py``, ``odoo/service/model.py``):

* ``POST /jsonrpc`` with ``{"jsonrpc": "2.0", "method": "call", "params": {"service", "method", "args"}, "id"}``.
  ``object.execute_kw(db, uid, password, model, method, args, kwargs)`` checks ``int(uid)`` and the password (an API
  key works in its place) for that user, then calls the model method with the positional ``args`` and keyword
  ``kwargs``. ``common.version`` and ``common.login`` exist too.
* The answer is ``{"jsonrpc": "2.0", "id", "result"}``; **every error is HTTP 200** with ``{"jsonrpc", "id",
  "error": {"code": 200, "message": "Odoo Server Error", "data": {name, debug, message, arguments, context}}}``:
  ``odoo.exceptions.AccessDenied`` for a wrong key or user, ``psycopg2.OperationalError`` for an unknown database,
  ``odoo.exceptions.UserError`` for an unknown model, ``builtins.AttributeError`` for an unknown method,
  ``builtins.TypeError`` for a bad argument, ``builtins.ValueError`` for an invalid field or domain.

Both protocols call one ORM over one `OdooData` (``tests/sims/odoo_data.py``): domains with ``&``, ``|``, ``!``,
dotted paths through many2one fields (``location_id.usage``), date-only values on datetime fields, Odoo's active
test (archived records are left out unless the domain names ``active`` or the context says ``active_test: false``),
many2one values as ``[id, display name]`` and ``false`` for every empty field. Write methods are real: ``create``,
``write`` and ``unlink`` change the data. Every request is reported to the canary with the kind the server received.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlparse

from tests.services import free_port
from tests.sims.canary import CANARY
from tests.sims.odoo_data import CUSTOMERS, STOCK, SUPPLIERS, OdooData, odoo_time
from tests.sims.serving import QuietHandler, serving

SYSTEM = "odoo"
API_KEY = "6578616d706c65206a736f6e20617069206b6579"
API_KEY_USER = 2  # the key belongs to the administrator, whose uid is 2
DATABASE = "atlas-demo"
DATABASES = (DATABASE, "other-company")  # two databases: X-Odoo-Database is required, as on a shared server
READ_METHODS = {"search_read", "read", "search", "search_count", "fields_get"}
WRITE_METHODS = {"create", "write", "unlink"}
# Each method's parameters in order (odoo/models.py), besides ``ids`` (JSON-2) and ``context``; through execute_kw a
# record method (read, write, unlink) takes the ids as its first positional argument.
SIGNATURES: dict[str, tuple[str, ...]] = {
    "search_read": ("domain", "fields", "offset", "limit", "order", "load"),
    "read": ("fields", "load"),
    "search": ("domain", "offset", "limit", "order"),
    "search_count": ("domain", "limit"),
    "fields_get": ("allfields", "attributes"),
    "create": ("vals_list",),
    "write": ("vals",),
    "unlink": (),
}
RECORD_METHODS = {"read", "write", "unlink"}
MANY2ONE: dict[str, dict[str, str]] = {
    "product.product": {"categ_id": "product.category", "uom_id": "uom.uom"},
    "product.category": {},
    "uom.uom": {},
    "stock.location": {"location_id": "stock.location"},
    "stock.lot": {"product_id": "product.product"},
    "stock.quant": {"product_id": "product.product", "location_id": "stock.location", "lot_id": "stock.lot"},
    "stock.move.line": {
        "product_id": "product.product",
        "location_id": "stock.location",
        "location_dest_id": "stock.location",
        "lot_id": "stock.lot",
        "product_uom_id": "uom.uom",
    },
    "stock.move": {
        "product_id": "product.product",
        "location_id": "stock.location",
        "location_dest_id": "stock.location",
        "product_uom": "uom.uom",
        "purchase_line_id": "purchase.order.line",
    },
    "purchase.order": {},
    "purchase.order.line": {"order_id": "purchase.order", "product_id": "product.product", "product_uom": "uom.uom"},
}
# Related fields (stock.move.line's location types), computed when read or searched.
RELATED: dict[str, dict[str, str]] = {
    "stock.move.line": {"location_usage": "location_id.usage", "location_dest_usage": "location_dest_id.usage"},
    "stock.move": {"location_usage": "location_id.usage", "location_dest_usage": "location_dest_id.usage"},
}
DATETIME_FIELDS = {"write_date", "date", "in_date", "date_deadline", "date_planned", "date_promised", "date_order"}
FIELD_TYPES = {
    "id": "integer",
    "display_name": "char",
    "quantity": "float",
    "reserved_quantity": "float",
    "quantity_product_uom": "float",
    "product_qty": "float",
    "product_uom_qty": "float",
    "qty_received": "float",
    "standard_price": "float",
    "usage": "selection",
    "state": "selection",
    "type": "selection",
    "active": "boolean",
    "is_storable": "boolean",
    **dict.fromkeys(DATETIME_FIELDS, "datetime"),
}


class OdooError(Exception):
    """An Odoo exception: ``name`` as ``serialize_exception`` spells it, and the JSON-2 status it maps to."""

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


def access_denied() -> OdooError:
    return OdooError(403, "odoo.exceptions.AccessDenied", "Access Denied")


@dataclass
class OdooSim:
    base: str
    messy: bool = True
    version: int = 19  # how a vendor's new date reaches the receipts (OdooData.vendor_delays)
    data: OdooData = field(init=False)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # (model, method) -> count
    bodies: list[dict[str, Any]] = field(default_factory=list)  # every JSON body received, in order
    model_bodies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (model, body) of each model call
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.data = OdooData(messy=self.messy, version=self.version)

    @property
    def models(self) -> dict[str, list[dict[str, Any]]]:
        return self.data.models

    def reset(self, *, messy: bool | None = None) -> None:
        with self.lock:
            if messy is not None:
                self.messy = messy
            self.data = OdooData(messy=self.messy, version=self.version)
            self.calls.clear()
            self.bodies.clear()
            self.model_bodies.clear()
            self.headers_seen.clear()

    def requests(self) -> int:
        return sum(self.calls.values())

    def truth(self) -> dict[tuple[int, int], tuple[float, float]]:
        """(product id, location id) -> (quantity, reserved): the sum over every quant of the pair, wherever it is
        (``data.truth_balances`` is what Atlas must hold: internal locations, live products)."""
        sums: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
        for quant in self.models["stock.quant"]:
            pair = sums[(quant["product_id"], quant["location_id"])]
            pair[0] += quant["quantity"]
            pair[1] += quant["reserved_quantity"]
        return {key: (value[0], value[1]) for key, value in sums.items()}

    # --- life goes on at the source (what the people using Odoo do between two syncs) -----------------------------
    def deliver(self, product: int, location: int, quantity: float) -> list[int]:
        with self.lock:
            return self.data.deliver(product, location, quantity, datetime.now(UTC), ref="WH/OUT/LIVE")

    def receive(self, product: int, location: int, quantity: float) -> int:
        with self.lock:
            lot = self.data._lot(product)
            return self.data.move(product, SUPPLIERS, location, quantity, datetime.now(UTC), lot=lot, ref="WH/IN/LIVE")

    def transfer(self, product: int, source: int, target: int, quantity: float) -> list[int]:
        with self.lock:
            return self.data.transfer(product, source, target, quantity, datetime.now(UTC), ref="WH/INT/LIVE")

    def new_product(self, name: str, code: str | bool, quantity: float) -> int:
        """A product created and received the same day."""
        with self.lock:
            now = datetime.now(UTC)
            product = self.data._add_product(name, code=code, category=3, cost=9.5, written=odoo_time(now))
            self.data.move(product, SUPPLIERS, STOCK, quantity, now, lot=self.data._lot(product), ref="WH/IN/NEW")
            return product

    def deplete_a_lot(self) -> tuple[int, int, int]:
        """Deliver the whole of one lot of a product that has other lots at the same place: the quant is unlinked.
        Returns (product, location, quant id)."""
        with self.lock:
            quants = self.data.internal_quants()
            live = {p["id"] for p in self.data.live_products(storable_only=True)}
            for quant in sorted(quants, key=lambda q: q["id"]):
                pair = [
                    q
                    for q in quants
                    if (q["product_id"], q["location_id"]) == (quant["product_id"], quant["location_id"])
                ]
                if len(pair) > 1 and quant["lot_id"] and quant["reserved_quantity"] == 0 and quant["quantity"] > 0:
                    if quant["product_id"] not in live or not self.data.location(quant["location_id"])["active"]:
                        continue
                    oldest = min(pair, key=lambda q: (q["in_date"], q["id"]))
                    if oldest["id"] != quant["id"]:
                        continue  # FIFO takes the oldest lot first
                    self.data.move(quant["product_id"], quant["location_id"], CUSTOMERS, quant["quantity"],
                                   datetime.now(UTC), lot=quant["lot_id"], ref="WH/OUT/LOT")  # fmt: skip
                    assert quant not in self.models["stock.quant"]
                    return quant["product_id"], quant["location_id"], quant["id"]
        raise AssertionError("no lot to deplete")

    # --- what is on its way changes (purchase orders placed, received, cancelled, delayed; transfers) -------------
    def place_order(self, location: int, lines: list[tuple[int, float, datetime]]) -> int:
        with self.lock:
            return self.data.purchase_order(location, lines)

    def receive_move(self, move: int, quantity: float, *, backorder: bool = True) -> int | None:
        with self.lock:
            return self.data.receive_move(move, quantity, datetime.now(UTC), backorder=backorder)

    def cancel_order(self, order: int) -> None:
        with self.lock:
            self.data.cancel_order(order)

    def vendor_delays(self, line: int, new: datetime) -> None:
        with self.lock:
            self.data.vendor_delays(line, new)

    def ship(self, product: int, source: int, target: int, quantity: float, expected: datetime) -> int:
        with self.lock:
            return self.data.ship(product, source, target, quantity, datetime.now(UTC), expected)

    def archive_product(self, product: int) -> None:
        with self.lock:
            self.data.product(product)["active"] = False


# --- the ORM --------------------------------------------------------------------------------------------------------


def _display_name(sim: OdooSim, model: str, record_id: int) -> str:
    record = sim.data.record(model, record_id)
    if model in ("stock.location", "product.category"):
        return str(record["complete_name"])
    if model == "product.product":
        code = record.get("default_code")
        return f"[{code}] {record['name']}" if code else str(record["name"])
    if model == "stock.move":  # _rec_name = 'reference' (Odoo 19's moves have no name)
        return str(record["reference"])
    return str(record["name"])


def _known(model: str, name: str, record: dict[str, Any]) -> bool:
    return name in ("id", "display_name") or name in record or name in RELATED.get(model, {})


def _raw(sim: OdooSim, model: str, record: dict[str, Any], path: str) -> Any:
    """A field's stored value, following dotted paths through many2one fields (a missing link reads as False)."""
    name, _, rest = path.partition(".")
    if name in RELATED.get(model, {}):
        return _raw(sim, model, record, RELATED[model][name])
    if not _known(model, name, record):
        raise OdooError(422, "builtins.ValueError", f"Invalid field {name!r} on model {model!r}")
    value = record.get(name, False) if name != "display_name" else _display_name(sim, model, record["id"])
    if not rest:
        return value
    comodel = MANY2ONE.get(model, {}).get(name)
    if comodel is None:
        raise OdooError(422, "builtins.ValueError", f"Invalid field {path!r} on model {model!r}")
    if not value:
        return False
    return _raw(sim, comodel, sim.data.record(comodel, value), rest)


def _value(sim: OdooSim, model: str, record: dict[str, Any], name: str) -> Any:
    """A field as ``read`` returns it: many2one as ``[id, display name]``, empty as ``false``."""
    value = _raw(sim, model, record, name)
    comodel = MANY2ONE.get(model, {}).get(name)
    if comodel is not None:
        return [value, _display_name(sim, comodel, value)] if value else False
    return False if value is None else value


def _matches(sim: OdooSim, model: str, record: dict[str, Any], leaf: list[Any]) -> bool:
    name, operator, expected = leaf
    actual = _raw(sim, model, record, str(name))
    last = str(name).rsplit(".", 1)[-1]
    if last in DATETIME_FIELDS and isinstance(expected, str) and len(expected) == 10:
        # A date on a datetime field: the start of that day, or its end for > and <= (odoo/osv/expression.py).
        expected += " 23:59:59" if operator in (">", "<=") else " 00:00:00"
    if operator == "=":
        return bool(actual == expected)
    if operator == "!=":
        return bool(actual != expected)
    if operator in (">", ">=", "<", "<="):
        if actual is False or actual is None:
            return False
        return {">": actual > expected, ">=": actual >= expected, "<": actual < expected, "<=": actual <= expected}[
            operator
        ]
    if operator in ("in", "not in"):
        if not isinstance(expected, list):
            raise OdooError(422, "builtins.ValueError", f"Invalid leaf {leaf!r}")
        return (actual in expected) == (operator == "in")
    if operator in ("ilike", "like"):
        text, pattern = str(actual or ""), str(expected).strip("%")
        return pattern.lower() in text.lower() if operator == "ilike" else pattern in text
    raise OdooError(422, "builtins.ValueError", f"Invalid leaf {leaf!r}")


def _evaluate(sim: OdooSim, model: str, record: dict[str, Any], domain: list[Any]) -> bool:
    """Odoo domains: leaves [field, operator, value], implicitly AND-ed, with prefix '&', '|' and '!'."""

    def walk(position: int) -> tuple[bool, int]:
        if position >= len(domain):
            raise OdooError(422, "builtins.ValueError", "Invalid domain: an operator lacks its terms")
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
        return _matches(sim, model, record, token), position + 1

    position, result = 0, True
    while position < len(domain):
        value, position = walk(position)
        result = result and value
    return result


def _names_active(domain: list[Any]) -> bool:
    return any(isinstance(t, list) and len(t) == 3 and t[0] == "active" for t in domain)


def _search(sim: OdooSim, model: str, kwargs: dict[str, Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    domain = kwargs.get("domain") or []
    if not isinstance(domain, list):
        raise OdooError(422, "builtins.ValueError", "Invalid domain")
    table = sim.models[model]
    active_test = context.get("active_test", True) and not _names_active(domain)
    records = [
        r for r in table if (not active_test or r.get("active", True)) and _evaluate(sim, model, r, domain)
    ]  # fmt: skip
    for part in reversed([p.strip() for p in str(kwargs.get("order") or "id").split(",") if p.strip()]):
        name, _, direction = part.partition(" ")
        records.sort(key=lambda r, n=name: (r.get(n) in (None, False), r.get(n)), reverse=direction.lower() == "desc")
    offset = int(kwargs.get("offset") or 0)
    limit = kwargs.get("limit")
    return records[offset : offset + int(limit)] if limit else records[offset:]


def _read(sim: OdooSim, model: str, records: list[dict[str, Any]], fields: list[str] | None) -> list[dict[str, Any]]:
    if not records:
        return []
    names = fields or [k for k in records[0] if k != "id"]
    return [{"id": r["id"], **{n: _value(sim, model, r, n) for n in names if n != "id"}} for r in records]


def call(sim: OdooSim, model: str, method: str, ids: list[int], kwargs: dict[str, Any]) -> Any:
    """One model method, as both protocols reach it."""
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
    context = kwargs.pop("context", None) or {}
    unexpected = sorted(set(kwargs) - set(SIGNATURES[method]))
    if unexpected:
        raise OdooError(
            422, "werkzeug.exceptions.UnprocessableEntity", f"got an unexpected keyword argument {unexpected[0]!r}"
        )
    if method not in RECORD_METHODS and ids:
        raise OdooError(422, "werkzeug.exceptions.UnprocessableEntity", f"cannot call {model}.{method} with ids")
    table = sim.models[model]
    if method == "search_read":
        return _read(sim, model, _search(sim, model, kwargs, context), kwargs.get("fields"))
    if method == "search":
        return [r["id"] for r in _search(sim, model, kwargs, context)]
    if method == "search_count":
        found = _search(sim, model, {"domain": kwargs.get("domain")}, context)
        return min(len(found), int(kwargs["limit"])) if kwargs.get("limit") else len(found)
    if method == "read":
        by_id = {r["id"]: r for r in table}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise OdooError(
                404, "odoo.exceptions.MissingError", f"Record does not exist or has been deleted. {missing}"
            )
        return _read(sim, model, [by_id[i] for i in ids], kwargs.get("fields"))
    if method == "fields_get":
        keys = {k for r in table for k in r} | {"display_name"} | set(RELATED.get(model, {}))
        types = {k: "many2one" for k in MANY2ONE.get(model, {})} | FIELD_TYPES
        return {k: {"type": types.get(k, "char"), "string": k.replace("_", " ").title()} for k in sorted(keys)}
    # The write methods do what Odoo does: the data changes.
    if method == "create":
        created = []
        for values in kwargs.get("vals_list") or []:
            record = {"id": sim.data.next_id(model), **values}
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


def call_positional(sim: OdooSim, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``execute_kw``'s call: positional arguments bound in signature order (a record method's first one is the
    ids), then the keywords; an argument given twice is a TypeError, as Python says it."""
    if model not in sim.models:
        raise OdooError(200, "odoo.exceptions.UserError", f"Object {model} doesn't exist")
    if method.startswith("_"):
        raise OdooError(
            200, "odoo.exceptions.AccessError", f"Private methods (such as {method}) cannot be called remotely."
        )
    if method not in SIGNATURES:
        raise OdooError(200, "builtins.AttributeError", f"The method '{method}' does not exist on the model '{model}'")
    ids: list[int] = []
    positional = list(args)
    if method in RECORD_METHODS:
        if not positional:
            raise OdooError(200, "builtins.IndexError", "tuple index out of range")
        first = positional.pop(0)
        ids = first if isinstance(first, list) else [first]
    names = SIGNATURES[method]
    if len(positional) > len(names):
        raise OdooError(200, "builtins.TypeError", f"{method}() takes {len(names)} positional arguments")
    bound = dict(zip(names, positional, strict=False))
    twice = sorted(set(bound) & set(kwargs))
    if twice:
        raise OdooError(200, "builtins.TypeError", f"{method}() got multiple values for argument '{twice[0]}'")
    try:
        return call(sim, model, method, ids, {**bound, **kwargs})
    except OdooError as error:  # the same exception, as JSON-RPC reports it
        name = "builtins.TypeError" if error.name == "werkzeug.exceptions.UnprocessableEntity" else error.name
        raise OdooError(200, name, error.message) from None


# --- HTTP ---------------------------------------------------------------------------------------------------------


def _jsonrpc(sim: OdooSim, params: dict[str, Any]) -> Any:
    """``dispatch_rpc(service, method, args)``."""
    service, method, args = params.get("service"), params.get("method"), params.get("args") or []
    if service == "common":
        if method == "version":
            return {"server_version": "18.0", "server_version_info": [18, 0, 0, "final", 0, ""],
                    "server_serie": "18.0", "protocol_version": 1}  # fmt: skip
        if method in ("login", "authenticate"):
            db, _login, password = [*list(args), None, None, None][:3]
            if db not in DATABASES:
                raise OdooError(200, "psycopg2.OperationalError", f'FATAL:  database "{db}" does not exist')
            return API_KEY_USER if password == API_KEY else False
        raise OdooError(200, "builtins.NameError", f"Method not available {method}")
    if service != "object":
        if service in ("db",):
            raise access_denied()
        raise OdooError(200, "builtins.KeyError", repr(service))
    if method not in ("execute", "execute_kw"):
        raise OdooError(200, "builtins.NameError", f"Method not available {method}")
    if not isinstance(args, list) or len(args) < 5:
        raise OdooError(200, "builtins.IndexError", "tuple index out of range")
    db, uid, password, model, name = args[:5]
    try:
        user = int(uid)
    except (TypeError, ValueError):
        raise OdooError(200, "builtins.ValueError", f"invalid literal for int() with base 10: {uid!r}") from None
    if db not in DATABASES:
        raise OdooError(200, "psycopg2.OperationalError", f'FATAL:  database "{db}" does not exist')
    if user != API_KEY_USER or password != API_KEY:
        raise access_denied()
    if method == "execute":
        return call_positional(sim, str(model), str(name), list(args[5:]), {})
    positional = args[5] if len(args) > 5 else []
    keywords = args[6] if len(args) > 6 else {}
    if not isinstance(positional, list) or not isinstance(keywords, dict):
        raise OdooError(200, "builtins.TypeError", "execute_kw takes a list of arguments and a dict of keywords")
    return call_positional(sim, str(model), str(name), positional, dict(keywords))


def _jsonrpc_kind(params: Any) -> str:
    """What the canary calls a JSON-RPC request, from what the server received."""
    if not isinstance(params, dict):
        return "write"
    service, method, args = params.get("service"), params.get("method"), params.get("args")
    if service == "common":
        return "rpc_read" if method in ("version", "about") else "login"
    if service == "object" and method == "execute_kw" and isinstance(args, list) and len(args) > 4:
        return "rpc_read" if args[4] in READ_METHODS else "write"
    return "write"


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

        def path_only(self) -> str:
            return unquote(urlparse(self.path).path)

        def route(self) -> tuple[str, str] | None:
            parts = self.path_only().strip("/").split("/")
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
            known = self.route() or self.path_only().rstrip("/") == "/jsonrpc"
            self.answer(405 if known else 404, error.body())

        do_GET = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = not_post

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            with sim.lock:
                sim.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
            if self.path_only().rstrip("/") == "/jsonrpc":
                self.jsonrpc(raw)
            else:
                self.json2(raw)

        def json2(self, raw: bytes) -> None:
            route = self.route()
            method = route[1] if route else ""
            kind = "rpc_read" if method in READ_METHODS else "write"
            CANARY.record(SYSTEM, "POST", urlparse(self.path).path, kind)
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
                body = self.json_object(raw)
                with sim.lock:
                    sim.calls[route] += 1
                    sim.bodies.append(body)
                    sim.model_bodies.append((route[0], body))
                    ids = body.get("ids") or []
                    kwargs = {k: v for k, v in body.items() if k != "ids"}
                    result = call(sim, route[0], route[1], ids, kwargs)
                self.answer(200, result)
            except OdooError as error:
                self.answer(error.status, error.body())

        def json_object(self, raw: bytes) -> dict[str, Any]:
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
            return body

        def jsonrpc(self, raw: bytes) -> None:
            try:
                body = self.json_object(raw)
            except OdooError as error:
                CANARY.record(SYSTEM, "POST", "/jsonrpc", "write")
                self.answer(error.status, error.body())
                return
            params = body.get("params")
            CANARY.record(SYSTEM, "POST", urlparse(self.path).path, _jsonrpc_kind(params))
            answer: dict[str, Any] = {"jsonrpc": "2.0", "id": body.get("id")}
            try:
                if not isinstance(params, dict):
                    raise OdooError(200, "builtins.TypeError", "jsonrpc() missing 3 required positional arguments")
                with sim.lock:
                    args = params.get("args")
                    if params.get("service") == "object" and isinstance(args, list) and len(args) > 4:
                        sim.calls[(str(args[3]), str(args[4]))] += 1
                        sim.model_bodies.append((str(args[3]), body))
                    sim.bodies.append(body)
                    answer["result"] = _jsonrpc(sim, params)
            except OdooError as error:
                data = {key: value for key, value in error.body().items()}
                data["arguments"] = [error.message]
                answer["error"] = {"code": 200, "message": "Odoo Server Error", "data": data}
            self.answer(200, answer)

    return Handler


@contextmanager
def odoo_server(host: str = "127.0.0.1", *, messy: bool = True, version: int = 19) -> Iterator[OdooSim]:
    port = free_port()
    sim = OdooSim(base=f"http://{host}:{port}", messy=messy, version=version)
    with serving(_handler(sim), port, host):
        yield sim
