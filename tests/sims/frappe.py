"""A faithful simulation of an ERPNext v15 site's Frappe REST API (v1) over real HTTP on 127.0.0.1.

Built from Frappe's and ERPNext's public source (repositories ``frappe/frappe`` and ``frappe/erpnext``; the stored
snapshots read were not all one tag, so version-dependent details are marked) and the facts in
``../shared/docs/REAL_SYSTEMS.md``. Never bend it toward what is convenient for Atlas.

What comes from where:

* ``frappe/auth.py`` ``validate_auth``: an ``Authorization`` header of exactly two words is tried as OAuth
  (``Bearer``: a token Frappe did not issue is ignored), then as API keys: ``token <api_key>:<api_secret>`` or
  ``Basic base64(api_key:api_secret)``, the keyword in any case. An unknown key or a wrong secret raises
  ``AuthenticationError``; a header that does not split into key and secret is ignored (``ValueError`` is
  swallowed), and a two-word header that left the request a Guest raises ``AuthenticationError`` too. Bad base64
  is ``InvalidAuthorizationToken``. Without a header (or with one of another length) the request is a Guest, and a
  Guest may not read these doctypes (``PermissionError``).
* ``frappe/app.py`` ``handle_exception`` answers JSON for paths under ``/api/``; ``frappe/utils/response.py``
  ``report_error`` (API v1) writes ``{"exc_type": <exception class>}``, plus ``_server_messages`` (a JSON text of a
  list of JSON texts) when the exception carried a message; no traceback for a Guest. Status codes are the
  exceptions' ``http_status_code``: AuthenticationError 401, PermissionError 403, DoesNotExistError 404,
  DataError and ValidationError 417. No ``WWW-Authenticate`` header.
* ``frappe/api/v1.py``: ``GET /api/resource/<DocType>`` (see ``tests/sims/frappe_query.py``) answers
  ``{"data": [...]}`` and nothing else, no total; ``GET /api/resource/<DocType>/<name>`` answers one document;
  ``/api/method/<dotted.path>`` calls a whitelisted method (``ping`` for guests; ``frappe.auth.get_logged_user``
  for a signed-in user). The werkzeug rules have no trailing slash on the list route: ``/api/resource/Item/`` is a
  document called "" (404). An unknown DocType is ``DoesNotExistError`` ("DocType X not found").
* Values (``frappe/utils/response.py`` ``json_handler``): Float and Currency as JSON floats, Check as 0/1, Date
  ``2026-11-22``, Datetime ``2026-11-22 06:08:12.123456`` (``str(datetime)``: no fraction when it is zero; no time
  zone: the site's system time zone, Asia/Riyadh here), Time ``6:08:12.123456`` (``format_timedelta``).
* ERPNext's stock model: ``tests/sims/frappe_model.py`` (ledger, cancellation, reposting, renaming, bins).

* Purchase Orders and their lines: ``tests/sims/frappe_purchasing.py``. ``Purchase Order Item`` is a child table:
  ``/api/resource/Purchase Order Item`` alone is ``PermissionError`` (``frappe.client.get_list`` calls
  ``check_parent_permission``, which needs ``parent=Purchase Order``); its lines are read through their order, with
  ``items.<field>`` in ``fields`` and ``["Purchase Order Item", field, op, value]`` filters (``frappe_query.py``).

Choices: the API user reads the four stock doctypes and Purchase Orders, nothing more (read permission only), so any
write it sends is refused with ``PermissionError`` (and reported to the canary as a write); ``permissions`` can
narrow what it reads, for tests of a user without access to the ledger. The single-document route returns the same
fields as the list's ``*``.

Every request is reported to the canary: GET and HEAD as ``read``, anything else as ``write``.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.services import free_port
from tests.sims.canary import CANARY
from tests.sims.frappe_data import Landmarks, populate
from tests.sims.frappe_doctypes import DOCTYPES, DocType, Row, to_json
from tests.sims.frappe_model import StockData
from tests.sims.frappe_query import FrappeError, get_list
from tests.sims.serving import QuietHandler, serving

SYSTEM = "erpnext"
API_KEY = "3f1c9a2be04d7c5"
API_SECRET = "9b8e7d6c5a4f3e2"
USER = "atlas.reader@example.com"


@dataclass
class Reply:
    status: int
    body: Any = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class Seen:
    """One request as the simulated server saw it (for tests asserting how Atlas reads)."""

    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None


@dataclass
class FrappeApi:
    data: StockData
    landmarks: Landmarks | None
    host: str
    port: int
    keys: dict[str, tuple[str, str]] = field(default_factory=lambda: {API_KEY: (API_SECRET, USER)})
    permissions: set[str] = field(default_factory=lambda: set(DOCTYPES))
    _seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def requests(self, doctype: str | None = None) -> list[Seen]:
        with self._lock:
            seen = list(self._seen)
        if doctype is None:
            return seen
        return [s for s in seen if s.path == f"/api/resource/{doctype}"]

    # --- dispatch -----------------------------------------------------------------------------------
    def respond(self, method: str, raw_path: str, headers: dict[str, str]) -> Reply:
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        CANARY.record(SYSTEM, method, path, "read" if method in ("GET", "HEAD") else "write")
        with self._lock:
            self._seen.append(Seen(method, path, query, headers.get("authorization")))
        if not path.startswith("/api/"):
            return Reply(404, b"<h1>Page Not Found</h1>", "text/html; charset=utf-8")
        form = {k: v[0] for k, v in query.items()}  # werkzeug MultiDict -> dict: the first value
        try:
            user = self._user(headers.get("authorization"))
            with self.data.lock:
                return self._route(method, path, form, user)
        except FrappeError as error:
            body: dict[str, Any] = {"exc_type": error.exc_type}
            if error.message:
                message = {"message": error.message, "title": "Message", "indicator": "red", "raise_exception": 1}
                body["_server_messages"] = json.dumps([json.dumps(message)])
            return Reply(error.status, body)

    def _user(self, header: str | None) -> str | None:
        """``validate_auth``: the user the request acts as, None for a Guest."""
        words = (header or "").split(" ")
        if len(words) != 2:
            return None
        kind, token = words
        user: str | None = None
        try:
            if kind.lower() == "basic":
                try:
                    decoded = base64.b64decode(token, validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    raise FrappeError(
                        400,
                        "InvalidAuthorizationToken",
                        "Failed to decode token, please provide a valid base64-encoded token.",
                    ) from None
                key, secret = decoded.split(":")
                user = self._check(key, secret)
            elif kind.lower() == "token":
                key, secret = token.split(":")
                user = self._check(key, secret)
        except ValueError:
            pass  # no "key:secret" pair in the token: no user, answered 401 below as Frappe does
        if user is None:
            raise FrappeError(401, "AuthenticationError")
        return user

    def _check(self, key: str, secret: str) -> str:
        known = self.keys.get(key)
        if known is None or known[0] != secret:
            raise FrappeError(401, "AuthenticationError")
        return known[1]

    def _route(self, method: str, path: str, form: dict[str, str], user: str | None) -> Reply:
        if path.startswith("/api/method/"):
            name = path.removeprefix("/api/method/").split("/")[0]
            if name == "ping":
                return Reply(200, {"message": "pong"})
            if name == "frappe.auth.get_logged_user" and user is not None:
                return Reply(200, {"message": user})
            if user is None:
                raise FrappeError(403, "PermissionError", "Not permitted")
            raise FrappeError(404, "DoesNotExistError", f"Failed to get method for command {name}")
        if not path.startswith("/api/resource/"):
            raise FrappeError(404, "DoesNotExistError", "Not found")
        doctype_name, _, name = path.removeprefix("/api/resource/").partition("/")
        doctype = DOCTYPES.get(doctype_name)
        if doctype is None:
            raise FrappeError(404, "DoesNotExistError", f"DocType {doctype_name} not found")
        # A child table's rows are read through its parent's permission (``check_parent_permission``).
        governing = form.get("parent", "") if doctype.istable else doctype.name
        if method not in ("GET", "HEAD") or user is None or governing not in self.permissions:
            who = user or "Guest"
            raise FrappeError(
                403,
                "PermissionError",
                f"User {who} does not have doctype access via role permission for document {doctype.name}",
            )
        if doctype.istable and not any(
            d.name == form.get("parent") and doctype.name in d.tables.values() for d in DOCTYPES.values()
        ):  # frappe.client.get_list: check_parent_permission(parent, doctype), also for the document route
            raise FrappeError(403, "PermissionError")
        rows = list(doctype.rows(self.data))
        if not name and "/" not in path.removeprefix("/api/resource/"):
            return Reply(200, {"data": get_list(doctype, rows, form, self.children)})
        found = next((r for r in rows if r["name"] == name), None)
        if found is None:
            raise FrappeError(404, "DoesNotExistError", f"{doctype.name} {name} not found")
        document = {f: to_json(found.get(f), t) for f, t in doctype.fields.items()}
        for fieldname, child_name in doctype.tables.items():  # a document carries its child tables' rows
            child, lines = self.children(child_name)
            mine = sorted((r for r in lines if r["parent"] == name), key=lambda r: int(r["idx"]))
            document[fieldname] = [{f: to_json(r.get(f), t) for f, t in child.fields.items()} for r in mine]
        return Reply(200, {"data": {**document, "doctype": doctype.name}})

    def children(self, name: str) -> tuple[DocType, list[Row]]:
        """A child table's doctype and rows, for joins."""
        child = DOCTYPES[name]
        return child, list(child.rows(self.data))


def _handler(api: FrappeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        server_version = "nginx"
        sys_version = ""

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = api.respond(self.command, self.path, headers)
            if isinstance(reply.body, bytes):
                data = reply.body
            else:
                data = json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _any

    return Handler


@contextmanager
def frappe_server(
    *,
    seed: int = 15,
    items: int = 60,
    messy: bool = True,
    as_of: datetime | None = None,
    data: StockData | None = None,
    host: str = "127.0.0.1",
) -> Iterator[FrappeApi]:
    """A running simulated ERPNext site: generated from ``seed`` (or the given ``data``)."""
    landmarks: Landmarks | None = None
    if data is None:
        data = StockData()
        landmarks = populate(data, seed=seed, items=items, messy=messy, as_of=as_of or data.clock())
    port = free_port()
    api = FrappeApi(data, landmarks, host, port)
    with serving(_handler(api), port, host):
        yield api
