"""A faithful simulation of an InvenTree 1.x server (API version 421) over real HTTP on 127.0.0.1.

Built from InvenTree's public source (repository ``inventree/InvenTree``, ``src/backend/InvenTree/``; the stored
snapshots read were not all the 1.1.0 tag, so version-dependent details are marked) and the facts verified on a
real 1.1.0 in ``../shared/docs/REAL_SYSTEMS.md``. Never bend it toward what is convenient for Atlas.

What comes from where:

* ``InvenTree/settings.py`` REST_FRAMEWORK: ``DEFAULT_PAGINATION_CLASS`` is DRF's ``LimitOffsetPagination`` with
  no ``PAGE_SIZE``, so a list without ``limit`` is not paginated at all: a bare JSON array of everything. With
  ``limit``: ``{"count", "next", "previous", "results"}``, ``next``/``previous`` absolute URLs built from the
  request URL with ``limit``/``offset`` replaced and the query re-encoded in sorted order (DRF's
  ``replace_query_param``); ``previous`` drops ``offset`` when it would be 0; a ``limit`` that is not a positive
  integer (``0``, ``-1``, ``abc``) means no pagination; a bad ``offset`` is 0. ``DATETIME_FORMAT`` is
  ``'%Y-%m-%d %H:%M'`` (minutes, no zone; ``TIME_ZONE`` defaults to UTC). ``DEFAULT_AUTHENTICATION_CLASSES``:
  ``users.authentication.ApiTokenAuthentication`` (DRF TokenAuthentication, keyword ``Token``, matched without
  regard to case), then ``BasicAuthentication``, then sessions. The first class gives the ``WWW-Authenticate``
  header of every 401, so it is ``Token`` even for a failed Basic login. A ``Bearer`` header is no class's
  keyword (an OAuth2 class, where present, ignores tokens it did not issue): the request is anonymous and gets
  401 "Authentication credentials were not provided." (REAL_SYSTEMS: verified). No API key in the query string.
* ``users/authentication.py``: revoked or expired tokens fail ("Token has been revoked", "Token has expired");
  DRF's own messages for malformed headers and unknown tokens.
* ``InvenTree/urls.py``: every API route ends in ``/``; ``re_path(r'^.*$', NotFoundView)`` closes the API patterns,
  so ``/api/part`` (no slash) is not redirected (Django's APPEND_SLASH only redirects paths that do not resolve)
  but answered 404 ``{"detail": "API endpoint not found", "url": ...}`` (``InvenTree/api.py`` NotFoundView, no
  login needed). Paths outside ``/api/`` go to the web frontend (a 302 here; inferred).
* ``InvenTree/api.py`` InfoView: ``GET /api/`` needs no login and answers ``server``, ``version``, ``apiVersion``
  and more; staff-only fields are null for anonymous callers.
* ``stock/api.py``: StockFilter ``updated_after``/``updated_before`` are ``InvenTreeDateFilter`` (a date, turned
  into midnight in the server's zone) with ``gt``/``lt`` on the ``updated`` datetime: a date-only ``after`` is in
  effect inclusive of that day, ``before`` exclusive; a value that is not a date is a 400 (django-filter's form
  validation: ``{"updated_after": ["Enter a valid date."]}``); ``part`` is a ModelChoiceFilter (an unknown part is
  a 400); ``location`` with ``cascade`` (default true) includes sub-locations, and ``location=null`` filters only
  with ``cascade=false``; unknown parameters are ignored. Default ordering ``part__name, quantity, location``
  (location by pathstring) and, since the fix for issue 11442 (``InvenTree/filters.py``), the pk last; NULLs sort
  last (PostgreSQL; inferred for the demo server). StockTrackingList is a ListAPI (GET only, so POST is 405)
  filtered by ``item`` and ``user`` only (no date filter), ordered ``-date``; its list view adds a
  ``<key>_detail`` beside ``location``, ``stockitem``, ``buildorder``... inside ``deltas``. ``item_detail=true``
  adds the stock item (StockItemSerializer with its part and location details) as it is now. StockList's POST
  returns a list (API v383), DELETE takes ``{"items": [...]}``; count/add/remove/transfer are POST endpoints.
* ``stock/models.py`` (see ``tests/sims/inventree_model.py``): ``add_tracking_entry`` deltas per type; STOCK_COUNT
  holds only the resulting ``quantity``; ``updateQuantity`` deletes an item whose quantity reaches zero
  (``delete_on_deplete``, never for serial numbers) and its tracking history with it (``on_delete=CASCADE``);
  ``updated`` is ``auto_now`` (``common.models.MetaMixin``), so reservations, which live in their own tables, do
  not change it; ``serializeStock`` copies the whole history onto every new serial item (``copyHistoryFrom``,
  the copies dated when copied since ``date`` is ``auto_now_add``); a build consuming stock splits it and clears
  the consumed item's location (``build/models.py``). ``splitStock`` in the snapshot read does not copy history
  (its docstring says it does; an earlier version did: version-dependent).
* ``stock/serializers.py``, ``part/serializers.py``: see ``tests/sims/inventree_render.py``.

Choices and inferences: quantities in the generated data have at most three decimals (InvenTree stores five; Atlas
stores four, so five would test a different limit); 404 text for an unknown pk is DRF 3.15's "No <Model> matches
the given query."; deleting an active part answers ``{"non_field_errors": [...]}``; bulk updates of locations and
parts, stock assignment, merging, returns and installs are not simulated (405).

Every request is reported to the canary (GET and HEAD as ``read``, anything else as ``write``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from tests.services import free_port
from tests.sims.canary import CANARY
from tests.sims.inventree_data import Landmarks, populate
from tests.sims.inventree_model import EDITED, PO_OPEN, InvenTreeData, OperationRefused, StockItem, utc_now
from tests.sims.inventree_render import Renderer
from tests.sims.serving import QuietHandler, serving

SYSTEM = "inventree"
VERSION = "1.1.0"
API_VERSION = 421
TOKEN = "inv-5f1c0de2a7b94c6e8d3f2a1b0c9e8d7f6a5b4c3d-20261101"
USERNAME = "admin"
PASSWORD = "inventree-demo"
INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y")  # DATE_INPUT_FORMATS, then the en locale's


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    """One request as the simulated server saw it (for tests asserting how Atlas reads)."""

    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None


class BadRequest(Exception):
    def __init__(self, errors: dict[str, Any] | list[Any]) -> None:
        super().__init__(str(errors))
        self.errors = errors


class Query:
    """Django's QueryDict, enough of it: ``get`` returns the last value of a repeated parameter."""

    def __init__(self, raw: str) -> None:
        self.values = parse_qs(raw, keep_blank_values=True)

    def get(self, key: str, default: str | None = None) -> str | None:
        found = self.values.get(key)
        return found[-1] if found else default


def str2bool(value: Any) -> bool:
    """InvenTree.helpers.str2bool."""
    return str(value).strip().lower() in ("1", "y", "yes", "t", "true", "on", "ok")


def boolean_filter(value: str | None) -> bool | None:
    """django-filter's BooleanFilter (NullBooleanSelect): anything unrecognised means no filtering."""
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    return None


def parse_date(value: str) -> date:
    text = value.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def _positive_int(text: str, *, strict: bool) -> int:
    """DRF's ``_positive_int``: ValueError for anything but a non-negative integer (zero too when strict)."""
    number = int(text)
    if number < 0 or (strict and number == 0):
        raise ValueError(text)
    return number


def replace_query_param(url: str, key: str, value: int) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    values = parse_qs(query, keep_blank_values=True)
    values[key] = [str(value)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(values.items()), doseq=True), fragment))


def remove_query_param(url: str, key: str) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    values = parse_qs(query, keep_blank_values=True)
    values.pop(key, None)
    return urlunsplit((scheme, netloc, path, urlencode(sorted(values.items()), doseq=True), fragment))


def paginate(url: str, query: Query, rows: list[Any], render: Callable[[list[Any]], list[Any]]) -> Any:
    """DRF LimitOffsetPagination with ``default_limit = None``."""
    try:
        limit = _positive_int(query.get("limit") or "", strict=True)
    except ValueError:
        return render(rows)
    try:
        offset = _positive_int(query.get("offset") or "", strict=False)
    except ValueError:
        offset = 0
    count = len(rows)
    page = [] if count == 0 or offset > count else rows[offset : offset + limit]
    following = (
        None
        if offset + limit >= count
        else replace_query_param(replace_query_param(url, "limit", limit), "offset", offset + limit)
    )
    if offset <= 0:
        preceding = None
    elif offset - limit <= 0:
        preceding = remove_query_param(replace_query_param(url, "limit", limit), "offset")
    else:
        preceding = replace_query_param(replace_query_param(url, "limit", limit), "offset", offset - limit)
    return {"count": count, "next": following, "previous": preceding, "results": render(page)}


def order_rows(rows: list[Any], ordering: list[str], keys: dict[str, Callable[[Any], Any]]) -> list[Any]:
    """ORDER BY the given fields (``-`` descending); None sorts last ascending and first descending, as in
    PostgreSQL. Stable sorts from the last key to the first."""
    result = list(rows)
    for name in reversed(ordering):
        descending = name.startswith("-")
        getter = keys[name.lstrip("-")]

        def key(row: Any, getter: Callable[[Any], Any] = getter) -> tuple[bool, Any]:
            value = getter(row)
            return (value is None, value if value is not None else 0)

        result.sort(key=key, reverse=descending)
    return result


def requested_ordering(query: Query, allowed: dict[str, Callable[[Any], Any]], default: list[str]) -> list[str]:
    """DRF's OrderingFilter keeps only allowed fields (silently dropping the rest); InvenTree appends the pk."""
    raw = query.get("ordering")
    fields = [f.strip() for f in raw.split(",") if f.strip().lstrip("-") in allowed] if raw else []
    fields = fields or list(default)
    if not any(f.lstrip("-") == "pk" for f in fields):
        fields.append("-pk" if any(f.startswith("-") for f in fields) else "pk")
    return fields


class InvenTreeApi:
    """The server's behaviour, independent of the socket: ``respond`` answers one request."""

    def __init__(self, data: InvenTreeData, landmarks: Landmarks | None, host: str, port: int) -> None:
        self.data = data
        self.landmarks = landmarks
        self.host = host
        self.port = port
        self.base = f"http://{host}:{port}"
        self.tokens: dict[str, str] = {TOKEN: USERNAME}
        self.revoked: set[str] = set()
        self.passwords: dict[str, str] = {USERNAME: PASSWORD}
        self.seen: list[Seen] = []
        self._seen_lock = threading.Lock()

    @property
    def token(self) -> str:
        return TOKEN

    def requests(self, path: str | None = None) -> list[Seen]:
        with self._seen_lock:
            return [s for s in self.seen if path is None or s.path == path]

    # --- the request ------------------------------------------------------------------------------
    def respond(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        url = urlsplit(target)
        query = Query(url.query)
        with self._seen_lock:
            self.seen.append(Seen(method, url.path, query.values, headers.get("authorization")))
        CANARY.record(SYSTEM, method, url.path, "read" if method in ("GET", "HEAD") else "write")
        verb = "GET" if method == "HEAD" else method
        if not url.path.startswith("/api/"):
            return Reply(302, b"", {"Location": "/web/"})
        absolute = f"http://{headers.get('host', f'{self.host}:{self.port}')}{target}"
        route, allowed, args = self._route(url.path)
        user, failure = self._authenticate(headers.get("authorization"))
        if failure is not None:
            return self._unauthorised(failure)
        if route == "not_found":
            return Reply(404, {"detail": "API endpoint not found", "url": absolute})
        if route != "info" and user is None:
            return self._unauthorised("Authentication credentials were not provided.")
        if verb not in allowed:
            return Reply(405, {"detail": f'Method "{method}" not allowed.'}, {"Allow": ", ".join(allowed)})
        if verb == "OPTIONS":  # DRF's metadata (InvenTreeMetadata adds the fields a user may write; not simulated)
            return Reply(
                200,
                {
                    "name": route.replace("_", " ").title(),
                    "description": "",
                    "renders": ["application/json"],
                    "parses": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
                },
                {"Allow": ", ".join(allowed)},
            )
        try:
            payload = self._payload(body) if verb in ("POST", "PUT", "PATCH", "DELETE") else {}
            with self.data.lock:
                reply = getattr(self, f"_{route}")(verb, query, absolute, payload, user, *args)
        except BadRequest as bad:
            return Reply(400, bad.errors, {"Allow": ", ".join(allowed)})
        reply.headers.setdefault("Allow", ", ".join(allowed))
        return reply

    ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
        (r"/api/", "info", ("GET", "HEAD", "OPTIONS")),
        (r"/api/part/", "part_list", ("GET", "POST", "HEAD", "OPTIONS")),
        (r"/api/part/(\d+)/", "part_detail", ("GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")),
        (r"/api/stock/location/", "location_list", ("GET", "POST", "HEAD", "OPTIONS")),
        (r"/api/stock/location/(\d+)/", "location_detail", ("GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")),
        (r"/api/stock/track/", "track_list", ("GET", "HEAD", "OPTIONS")),
        (r"/api/stock/track/(\d+)/", "track_detail", ("GET", "HEAD", "OPTIONS")),
        (r"/api/stock/(count|add|remove|transfer)/", "adjust", ("POST", "OPTIONS")),
        (r"/api/stock/", "stock_list", ("GET", "POST", "DELETE", "HEAD", "OPTIONS")),
        (r"/api/stock/(\d+)/", "stock_detail", ("GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")),
        (r"/api/order/po-line/", "po_line_list", ("GET", "HEAD", "OPTIONS")),
    )

    def _route(self, path: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        for pattern, name, allowed in self.ROUTES:
            found = re.fullmatch(pattern, path)
            if found:
                return name, allowed, found.groups()
        return "not_found", ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"), ()

    def _authenticate(self, header: str | None) -> tuple[str | None, str | None]:
        """(user, None) or (None, why it failed); (None, None) for an anonymous request."""
        parts = (header or "").split()
        if not parts:
            return None, None
        keyword = parts[0].lower()
        if keyword == "token":
            if len(parts) == 1:
                return None, "Invalid token header. No credentials provided."
            if len(parts) > 2:
                return None, "Invalid token header. Token string should not contain spaces."
            if parts[1] in self.revoked:
                return None, "Token has been revoked"
            user = self.tokens.get(parts[1])
            return (user, None) if user else (None, "Invalid token.")
        if keyword == "basic":
            if len(parts) == 1:
                return None, "Invalid basic header. No credentials provided."
            if len(parts) > 2:
                return None, "Invalid basic header. Credentials string should not contain spaces."
            try:
                decoded = base64.b64decode(parts[1], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None, "Invalid basic header. Credentials not correctly base64 encoded."
            username, _, password = decoded.partition(":")
            if self.passwords.get(username) == password:
                return username, None
            return None, "Invalid username/password."
        return None, None

    @staticmethod
    def _unauthorised(detail: str) -> Reply:
        return Reply(401, {"detail": detail}, {"WWW-Authenticate": "Token"})

    @staticmethod
    def _payload(body: bytes) -> Any:
        if not body.strip():
            return {}
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest({"detail": f"JSON parse error - {exc}"}) from None

    # --- info -------------------------------------------------------------------------------------
    def _info(self, verb: str, query: Query, url: str, payload: Any, user: str | None) -> Reply:
        staff = user is not None
        return Reply(
            200,
            {
                "server": "InvenTree",
                "id": "0b4d9e2c6f1a4e3b8c7d5a9e1f2b3c4d",
                "version": VERSION,
                "instance": "InvenTree",
                "apiVersion": API_VERSION,
                "worker_running": True,
                "worker_count": 1,
                "worker_pending_tasks": 0,
                "plugins_enabled": False,
                "plugins_install_disabled": True,
                "email_configured": False,
                "debug_mode": False,
                "docker_mode": True,
                "default_locale": "en-us",
                "customize": {"logo": None, "splash": None, "login_message": None, "navbar_message": None},
                "active_plugins": [] if staff else None,
                "system_health": True if staff else None,
                "database": "postgresql" if staff else None,
                "platform": "Linux" if staff else None,
                "installer": "DOC" if staff else None,
                "target": None,
                "django_admin": "admin/" if staff else None,
                "settings": {
                    "sso_registration": False,
                    "registration_enabled": False,
                    "password_forgotten_enabled": False,
                },
            },
        )

    # --- parts --------------------------------------------------------------------------------------
    PART_ORDER: dict[str, Callable[[Any], Any]] = {
        "pk": lambda p: p.pk,
        "name": lambda p: p.name,
        "IPN": lambda p: p.IPN,
        "units": lambda p: p.units,
        "category": lambda p: p.category,
        "creation_date": lambda p: p.creation_date,
    }

    def _part_list(self, verb: str, query: Query, url: str, payload: Any, user: str | None) -> Reply:
        data = self.data
        if verb == "POST":
            part = data.add_part(**self._part_fields(payload, creating=True))
            return Reply(201, Renderer(data).part(part))
        parts = list(data.parts.values())
        category = query.get("category")
        if category is not None and category.strip().lower() not in ("null", "none", ""):
            try:
                places = {int(category), *self._subcategories(int(category))}
                if str2bool(query.get("cascade", "true")):
                    parts = [p for p in parts if p.category in places]
                else:
                    parts = [p for p in parts if p.category == int(category)]
            except ValueError:
                pass
        active = boolean_filter(query.get("active"))
        if active is not None:
            parts = [p for p in parts if p.active == active]
        ordering = requested_ordering(query, self.PART_ORDER, ["name"])
        rows = order_rows(parts, ordering, self.PART_ORDER)
        render = Renderer(data)
        return Reply(200, paginate(url, query, rows, lambda page: [render.part(p) for p in page]))

    def _subcategories(self, category: int) -> list[int]:
        found, frontier = [], [category]
        while frontier:
            node = frontier.pop()
            children = [c.pk for c in self.data.categories.values() if c.parent == node]
            found.extend(children)
            frontier.extend(children)
        return found

    def _part_fields(self, payload: Any, *, creating: bool) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise BadRequest({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        fields: dict[str, Any] = {}
        if creating or "name" in payload:
            name = str(payload.get("name") or "").strip()
            if not name:
                raise BadRequest(
                    {"name": ["This field is required." if "name" not in payload else "This field may not be blank."]}
                )
            fields["name"] = name
        for key in ("IPN", "description", "units", "revision", "keywords"):
            if key in payload:
                fields[key] = payload[key]
        for key in ("active", "trackable", "salable", "purchaseable", "assembly", "component"):
            if key in payload:
                fields[key] = str2bool(payload[key])
        if "category" in payload:
            category = payload["category"]
            if category is not None and category not in self.data.categories:
                raise BadRequest({"category": [f'Invalid pk "{category}" - object does not exist.']})
            fields["category"] = category
        return fields

    def _part_detail(self, verb: str, query: Query, url: str, payload: Any, user: str | None, pk: str) -> Reply:
        data = self.data
        part = data.parts.get(int(pk))
        if part is None:
            return Reply(404, {"detail": "No Part matches the given query."})
        if verb == "DELETE":
            if part.active:
                raise BadRequest({"non_field_errors": ["Cannot delete this part as it is still active"]})
            for item in [i for i in data.items.values() if i.part == part.pk]:
                data.delete_stock(item.pk)
            del data.parts[part.pk]
            return Reply(204, b"")
        if verb in ("PUT", "PATCH"):
            for key, value in self._part_fields(payload, creating=verb == "PUT").items():
                setattr(part, key, value)
        return Reply(200, Renderer(data).part(part, detail=True))

    # --- locations ----------------------------------------------------------------------------------
    def _location_list(self, verb: str, query: Query, url: str, payload: Any, user: str | None) -> Reply:
        data = self.data
        if verb == "POST":
            fields = self._location_fields(payload, creating=True)
            name = fields.pop("name")
            parent = fields.pop("parent", None)
            return Reply(201, Renderer(data).location(data.add_location(name, parent, **fields)))
        order = data.tree_order()
        position = {pk: n for n, pk in enumerate(order)}
        rows = [data.locations[pk] for pk in order]
        parent = query.get("parent")
        if parent not in (None, ""):
            try:
                parent_pk = int(parent)
                if parent_pk not in data.locations:
                    raise ValueError(parent)
            except ValueError:
                raise BadRequest({"parent": [INVALID_CHOICE]}) from None
            cascade = str2bool(query.get("cascade", "false"))
            allowed = set(data.sublocations(parent_pk)) if cascade else None
            rows = [r for r in rows if (r.pk in allowed if allowed is not None else r.parent == parent_pk)]
        structural = boolean_filter(query.get("structural"))
        if structural is not None:
            rows = [r for r in rows if r.structural == structural]
        keys: dict[str, Callable[[Any], Any]] = {
            "pk": lambda r: r.pk,
            "name": lambda r: r.name,
            "pathstring": lambda r: data.pathstring(r.pk),
            "level": lambda r: data.level(r.pk),
            "tree_id": lambda r: 0,
            "lft": lambda r: position[r.pk],
        }
        rows = order_rows(rows, requested_ordering(query, keys, ["tree_id", "lft", "name"]), keys)
        render = Renderer(data)
        return Reply(200, paginate(url, query, rows, lambda page: [render.location(r) for r in page]))

    def _location_fields(self, payload: Any, *, creating: bool) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise BadRequest({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        fields: dict[str, Any] = {}
        if creating or "name" in payload:
            name = str(payload.get("name") or "").strip()
            if not name:
                raise BadRequest({"name": ["This field is required."]})
            fields["name"] = name
        if "parent" in payload:
            parent = payload["parent"]
            if parent is not None and parent not in self.data.locations:
                raise BadRequest({"parent": [f'Invalid pk "{parent}" - object does not exist.']})
            fields["parent"] = parent
        for key in ("description",):
            if key in payload:
                fields[key] = str(payload[key])
        for key in ("structural", "external"):
            if key in payload:
                fields[key] = str2bool(payload[key])
        return fields

    def _location_detail(self, verb: str, query: Query, url: str, payload: Any, user: str | None, pk: str) -> Reply:
        data = self.data
        location = data.locations.get(int(pk))
        if location is None:
            return Reply(404, {"detail": "No StockLocation matches the given query."})
        if verb == "DELETE":
            # InvenTreeTree.delete without delete_stock_items / delete_sub_locations: both move up one level.
            for item in data.items.values():
                if item.location == location.pk:
                    item.location = location.parent
            for child in data.locations.values():
                if child.parent == location.pk:
                    child.parent = location.parent
            del data.locations[location.pk]
            return Reply(204, b"")
        if verb in ("PUT", "PATCH"):
            fields = self._location_fields(payload, creating=verb == "PUT")
            if fields.get("structural") and any(i.location == location.pk for i in data.items.values()):
                raise BadRequest(
                    {
                        "non_field_errors": [
                            "You cannot make this stock location structural because some stock items are "
                            "already located into it!"
                        ]
                    }
                )
            for key, value in fields.items():
                setattr(location, key, value)
        return Reply(200, Renderer(data).location(location))

    # --- stock --------------------------------------------------------------------------------------
    def _stock_order(self) -> dict[str, Callable[[Any], Any]]:
        data = self.data
        return {
            "pk": lambda i: i.pk,
            "part__name": lambda i: data.parts[i.part].name,
            "part__IPN": lambda i: data.parts[i.part].IPN,
            "quantity": lambda i: i.quantity,
            "location": lambda i: data.pathstring(i.location),
            "batch": lambda i: i.batch,
            "updated": lambda i: i.updated,
            "stocktake_date": lambda i: i.stocktake_date,
            "expiry_date": lambda i: i.expiry_date,
            "packaging": lambda i: i.packaging,
            "status": lambda i: i.status,
            "stock": lambda i: (i.quantity, int(i.serial) if (i.serial or "").isdigit() else 0, i.serial or ""),
        }

    def ordered_stock(self) -> list[StockItem]:
        """Every stock row in the stock list's default order (what ``limit``/``offset`` pages cut)."""
        with self.data.lock:
            rows = [i for i in self.data.items.values() if i.pk not in self.data.faults.hidden_stock]
            keys = self._stock_order()
            return order_rows(rows, requested_ordering(Query(""), keys, ["part__name", "quantity", "location"]), keys)

    def _stock_list(self, verb: str, query: Query, url: str, payload: Any, user: str | None) -> Reply:
        data = self.data
        if verb == "POST":
            return self._stock_create(payload)
        if verb == "DELETE":
            pks = payload.get("items") if isinstance(payload, dict) else None
            if not pks:
                raise BadRequest({"non_field_errors": ["List of items or filters must be provided for bulk operation"]})
            for pk in pks:
                if pk in data.items:
                    data.delete_stock(pk)
            return Reply(204, b"")
        rows = [i for i in data.items.values() if i.pk not in data.faults.hidden_stock]
        rows = self._filter_stock(rows, query)
        keys = self._stock_order()
        rows = order_rows(rows, requested_ordering(query, keys, ["part__name", "quantity", "location"]), keys)
        part_detail = str2bool(query.get("part_detail", "true"))
        location_detail = str2bool(query.get("location_detail", "false"))
        supplier = str2bool(query.get("supplier_part_detail", "false"))
        render = Renderer(data)
        return Reply(
            200,
            paginate(
                url,
                query,
                rows,
                lambda page: [
                    render.stock(
                        i, part_detail=part_detail, location_detail=location_detail, supplier_part_detail=supplier
                    )
                    for i in page
                ],
            ),
        )

    def _filter_stock(self, rows: list[StockItem], query: Query) -> list[StockItem]:
        data = self.data
        errors: dict[str, list[str]] = {}
        bounds: dict[str, date] = {}
        for name in ("updated_after", "updated_before"):
            raw = query.get(name)
            if raw is None or raw.strip() == "":
                continue
            try:
                bounds[name] = parse_date(raw)
            except ValueError:
                errors[name] = ["Enter a valid date."]
        part = query.get("part")
        if part not in (None, "") and (not part.isdigit() or int(part) not in data.parts):
            errors["part"] = [INVALID_CHOICE]
        if errors:
            raise BadRequest(errors)
        if part not in (None, ""):
            rows = [i for i in rows if i.part == int(part)]
        pks = set(data.stock_updated(after=bounds.get("updated_after"), before=bounds.get("updated_before")))
        if bounds:
            rows = [i for i in rows if i.pk in pks]
        batch = query.get("batch")
        if batch not in (None, ""):
            rows = [i for i in rows if (i.batch or "").lower() == batch.lower()]
        serial = query.get("serial")
        if serial not in (None, ""):
            rows = [i for i in rows if i.serial == serial]
        in_stock = boolean_filter(query.get("in_stock"))
        if in_stock is not None:
            rows = [i for i in rows if i.in_stock == in_stock]
        serialized = boolean_filter(query.get("serialized"))
        if serialized is not None:
            rows = [i for i in rows if bool(i.serial) == serialized]
        location = query.get("location")
        cascade = str2bool(query.get("cascade", "true"))
        if location is not None:
            if location.strip().lower() in ("null", "none", ""):
                if not cascade:
                    rows = [i for i in rows if i.location is None]
            elif location.isdigit() and int(location) in data.locations:
                places = {int(location), *data.sublocations(int(location))} if cascade else {int(location)}
                rows = [i for i in rows if i.location in places]
        return rows

    def _stock_create(self, payload: Any) -> Reply:
        data = self.data
        if not isinstance(payload, dict):
            raise BadRequest({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        if payload.get("quantity") is None:
            raise BadRequest({"quantity": ["Quantity is required"]})
        part = data.parts.get(payload.get("part"))  # type: ignore[arg-type]
        if part is None:
            raise BadRequest({"part": ["Valid part must be supplied"]})
        quantity = _decimal(payload["quantity"], "quantity")
        location = payload.get("location", part.default_location)
        if location is not None and location not in data.locations:
            raise BadRequest({"location": [f'Invalid pk "{location}" - object does not exist.']})
        serials = str(payload.get("serial_numbers") or "").strip()
        batch = payload.get("batch")
        try:
            if serials:
                if not part.trackable:
                    raise BadRequest({"serial_numbers": ["Serial numbers cannot be supplied for a non-trackable part"]})
                numbers = _serial_numbers(serials)
                if len(numbers) != quantity:
                    raise BadRequest(
                        {
                            "quantity": ["Number of unique serial numbers does not match quantity"],
                            "serial_numbers": ["Number of unique serial numbers does not match quantity"],
                        }
                    )
                taken = {i.serial for i in data.items.values() if i.part == part.pk}
                if clash := [n for n in numbers if n in taken]:
                    raise BadRequest(
                        {
                            "serial_numbers": [
                                "The following serial numbers already exist or are invalid : " + ",".join(clash)
                            ]
                        }
                    )
                items = [data.create_stock(part.pk, 1, location, batch=batch, serial=n) for n in numbers]
            else:
                items = [data.create_stock(part.pk, quantity, location, batch=batch)]
        except OperationRefused as refused:
            raise BadRequest({"location": [str(refused)]}) from None
        render = Renderer(data)
        return Reply(201, [render.stock(i) for i in items])

    def _stock_detail(self, verb: str, query: Query, url: str, payload: Any, user: str | None, pk: str) -> Reply:
        data = self.data
        item = data.items.get(int(pk))
        if item is None or item.pk in data.faults.hidden_stock:
            return Reply(404, {"detail": "No StockItem matches the given query."})
        if verb == "DELETE":
            data.delete_stock(item.pk)
            return Reply(204, b"")
        if verb in ("PUT", "PATCH"):
            if not isinstance(payload, dict):
                raise BadRequest({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
            if verb == "PUT" and "part" not in payload:
                raise BadRequest({"part": ["This field is required."]})
            if "quantity" in payload:
                item.quantity = _decimal(payload["quantity"], "quantity")
            if "location" in payload:
                location = payload["location"]
                if location is not None and location not in data.locations:
                    raise BadRequest({"location": [f'Invalid pk "{location}" - object does not exist.']})
                item.location = location
            for key in ("batch", "packaging", "notes"):
                if key in payload:
                    setattr(item, key, payload[key])
            moment = data.now()
            if "status" in payload and int(payload["status"]) != item.status:
                item.status = int(payload["status"])
                data._track(item, EDITED, {"status": item.status}, moment)
            data._save(item, moment)
        return Reply(
            200,
            Renderer(data).stock(
                item,
                part_detail=str2bool(query.get("part_detail", "true")),
                location_detail=str2bool(query.get("location_detail", "false")),
            ),
        )

    def _adjust(self, verb: str, query: Query, url: str, payload: Any, user: str | None, action: str) -> Reply:
        """StockCount / StockAdd / StockRemove / StockTransfer (``stock/serializers.py`` StockAdjustmentSerializer)."""
        data = self.data
        if not isinstance(payload, dict) or not payload.get("items"):
            raise BadRequest(
                {
                    "items": ["This field is required."]
                    if not isinstance(payload, dict) or "items" not in payload
                    else ["A list of stock items must be provided"]
                }
            )
        lines: list[tuple[int, Decimal]] = []
        errors: list[dict[str, list[str]]] = []
        for line in payload["items"]:
            problem: dict[str, list[str]] = {}
            pk = line.get("pk") if isinstance(line, dict) else None
            if pk not in data.items:
                problem["pk"] = [f'Invalid pk "{pk}" - object does not exist.']
            try:
                quantity = _decimal(line.get("quantity") if isinstance(line, dict) else None, "quantity")
            except BadRequest:
                problem["quantity"] = ["A valid number is required."]
            errors.append(problem)
            if not problem:
                lines.append((pk, quantity))  # type: ignore[arg-type]
        if any(errors):
            raise BadRequest({"items": errors})
        location = payload.get("location")
        if action == "transfer" and location not in data.locations:
            raise BadRequest(
                {
                    "location": [
                        "This field is required."
                        if location is None
                        else f'Invalid pk "{location}" - object does not exist.'
                    ]
                }
            )
        notes = str(payload.get("notes") or "")
        try:
            for pk, quantity in lines:
                if action == "count":
                    data.count_stock(pk, quantity, notes=notes)
                elif action == "add":
                    data.add_stock(pk, quantity, notes=notes)
                elif action == "remove":
                    data.take_stock(pk, quantity, notes=notes)
                else:
                    data.move_stock(pk, location, quantity=quantity, notes=notes)
        except OperationRefused as refused:
            raise BadRequest({"non_field_errors": [str(refused)]}) from None
        return Reply(201, payload)

    # --- tracking -----------------------------------------------------------------------------------
    def _track_list(self, verb: str, query: Query, url: str, payload: Any, user: str | None) -> Reply:
        data = self.data
        entries = list(data.tracking.values())
        item = query.get("item")
        if item not in (None, ""):
            if not item.isdigit() or int(item) not in data.items:
                raise BadRequest({"item": [INVALID_CHOICE]})
            entries = [e for e in entries if e.item == int(item)]
        keys: dict[str, Callable[[Any], Any]] = {"pk": lambda e: e.pk, "date": lambda e: e.date}
        entries = order_rows(entries, requested_ordering(query, keys, ["-date"]), keys)
        item_detail = str2bool(query.get("item_detail", "false"))
        user_detail = str2bool(query.get("user_detail", "false"))
        render = Renderer(data)
        return Reply(
            200,
            paginate(
                url,
                query,
                entries,
                lambda page: [
                    render.track(e, item_detail=item_detail, user_detail=user_detail, list_view=True) for e in page
                ],
            ),
        )

    # --- purchase order lines -------------------------------------------------------------------------
    def _po_line_list(self, verb: str, query: Query, url: str, payload: Any, user: str | None) -> Reply:
        """PurchaseOrderLineItemList (order/api.py). Filters of PurchaseOrderLineItemFilter: ``order``, ``part`` (a
        supplier part; unknown: 400), ``base_part``, ``pending`` (order status in PurchaseOrderStatusGroups.OPEN or
        not) and ``received`` (received >= quantity; ``received=false`` also keeps only lines of open orders).
        Unknown parameters are ignored. Creating lines is not simulated (GET only here)."""
        data = self.data
        lines = list(data.po_lines.values())
        for name, values in (("order", data.purchase_orders), ("part", data.supplier_parts), ("base_part", data.parts)):
            wanted = query.get(name)
            if wanted in (None, ""):
                continue
            if not wanted.isdigit() or int(wanted) not in values:
                raise BadRequest({name: [INVALID_CHOICE]})
            if name == "base_part":
                lines = [line for line in lines if data.supplier_parts[line.part].part == int(wanted)]
            else:
                lines = [line for line in lines if getattr(line, name) == int(wanted)]
        pending = boolean_filter(query.get("pending"))
        if pending is not None:
            lines = [line for line in lines if (data.purchase_orders[line.order].status in PO_OPEN) == pending]
        received = boolean_filter(query.get("received"))
        if received is True:
            lines = [line for line in lines if line.received >= line.quantity]
        elif received is False:
            lines = [
                line
                for line in lines
                if line.received < line.quantity and data.purchase_orders[line.order].status in PO_OPEN
            ]
        keys: dict[str, Callable[[Any], Any]] = {
            "pk": lambda line: line.pk,
            "quantity": lambda line: line.quantity,
            "received": lambda line: line.received,
            "target_date": lambda line: line.target_date,
            "order": lambda line: data.purchase_orders[line.order].reference,
        }
        lines = order_rows(lines, requested_ordering(query, keys, ["pk"]), keys)
        order_detail = str2bool(query.get("order_detail", "false"))
        render = Renderer(data)
        return Reply(
            200, paginate(url, query, lines, lambda page: [render.po_line(x, order_detail=order_detail) for x in page])
        )

    def _track_detail(self, verb: str, query: Query, url: str, payload: Any, user: str | None, pk: str) -> Reply:
        entry = self.data.tracking.get(int(pk))
        if entry is None:
            return Reply(404, {"detail": "No StockItemTracking matches the given query."})
        return Reply(200, Renderer(self.data).track(entry))


def _decimal(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise BadRequest({name: ["A valid number is required."]}) from None
    if not number.is_finite() or number < 0:
        raise BadRequest({name: ["Ensure this value is greater than or equal to 0."]})
    return number


def _serial_numbers(text: str) -> list[str]:
    """InvenTree.helpers.extract_serial_numbers, its common forms: ``1, 2, 5-8``."""
    numbers: list[str] = []
    for chunk in (c.strip() for c in text.split(",")):
        if not chunk:
            continue
        first, dash, last = chunk.partition("-")
        if dash and first.strip().isdigit() and last.strip().isdigit():
            numbers.extend(str(n) for n in range(int(first), int(last) + 1))
        else:
            numbers.append(chunk)
    if len(set(numbers)) != len(numbers):
        raise BadRequest({"serial_numbers": ["Duplicate serial numbers"]})
    return numbers


def _handler(api: InvenTreeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        server_version = "gunicorn"
        sys_version = ""

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = api.respond(self.command, self.path, headers, body)
            if isinstance(reply.body, bytes):
                data, content_type = reply.body, "text/html; charset=utf-8"
            else:
                data = json.dumps(reply.body, separators=(",", ":"), ensure_ascii=False).encode()
                content_type = "application/json"
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Vary", "Accept, Authorization, Cookie")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _any

    return Handler


@contextmanager
def inventree_server(
    *,
    seed: int = 14,
    parts: int = 500,
    as_of: datetime | None = None,
    data: InvenTreeData | None = None,
    host: str = "127.0.0.1",
) -> Iterator[InvenTreeApi]:
    """A running simulated InvenTree: generated from ``seed`` (or the given ``data``, for small hand-made cases)."""
    landmarks: Landmarks | None = None
    if data is None:
        data = InvenTreeData()
        landmarks = populate(data, seed=seed, parts=parts, as_of=as_of or utc_now())
    port = free_port()
    api = InvenTreeApi(data, landmarks, host, port)
    with serving(_handler(api), port, host):
        yield api
