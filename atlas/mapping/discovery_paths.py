"""Where discovery looks: paths under the base URL a person typed, never doubling a segment the base already has.

A person types ``https://inv.example.com/api`` or ``https://inv.example.com``; both must find ``/api/part/``. A
candidate such as ``api/v1/items`` joined under ``/api`` is ``/api/v1/items`` (the base's last segments that the
candidate starts with are not repeated), never ``/api/api/v1/items``. Endpoint paths in a proposal are relative to
the base URL, as the engine joins them (`EndpointReader.url_for`).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

# Where APIs put their resources under the base: tried in this order, those that answer first.
PREFIXES = ("", "api", "api/v1", "v1", "api/v2")
# Paths tried per resource, best-known first (InvenTree's, ERPNext's and the common REST names).
RESOURCE_NAMES: dict[str, tuple[str, ...]] = {
    "items": ("items", "products", "parts", "part", "product", "item", "articles", "materials"),
    "locations": (
        "locations",
        "warehouses",
        "stock/location",
        "stock/locations",
        "location",
        "warehouse",
        "stores",
        "sites",
    ),
    "stock_balances": (
        "stock",
        "inventory",
        "balances",
        "stock-levels",
        "stock_levels",
        "stock/items",
        "inventory-levels",
        "quants",
    ),
    "stock_movements": (
        "movements",
        "transactions",
        "stock-movements",
        "stock/track",
        "stock/movements",
        "stock/history",
        "inventory/transactions",
        "stock-moves",
        "history",
    ),
}
# Published descriptions, tried under the base path and under the root of the host.
DESCRIPTION_PATHS = (
    "openapi.json",
    "swagger.json",
    "api/schema/",
    "v3/api-docs",
    "api-docs",
    "swagger/v1/swagger.json",
)


def split_segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def base_path(base_url: str) -> str:
    """The path of the base URL without its trailing slash: ``/api``, or ``""`` for the root."""
    path = urlsplit(base_url).path.rstrip("/")
    return path if path else ""


def origin(base_url: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def join(base: str, relative: str, *, slash: bool | None = None) -> str:
    """The absolute path of ``relative`` under ``base`` (both paths), the overlap collapsed: ``/api`` + ``api/part/``
    is ``/api/part/``. ``slash`` forces a trailing slash on (True) or off (False); None keeps the candidate's."""
    head = split_segments(base)
    tail = split_segments(relative)
    overlap = 0
    for size in range(min(len(head), len(tail)), 0, -1):
        if [s.lower() for s in head[-size:]] == [s.lower() for s in tail[:size]]:
            overlap = size
            break
    joined = "/" + "/".join(head + tail[overlap:])
    ends = relative.endswith("/") if slash is None else slash
    if ends and not joined.endswith("/"):
        joined += "/"
    if not ends and joined != "/":
        joined = joined.rstrip("/")
    return joined


def relative_to(base: str, absolute: str) -> str | None:
    """``absolute`` as an endpoint path relative to ``base`` (``/part/`` for ``/api/part/`` under ``/api``), or None
    when it is not under it."""
    if not base:
        return absolute
    if absolute == base or absolute.startswith(base.rstrip("/") + "/"):
        rest = absolute[len(base.rstrip("/")) :]
        return rest or "/"
    return None


def prefixes_under(base: str) -> list[str]:
    """The prefixes that make sense under ``base``: ``api`` is not tried again under ``/api``."""
    seen: dict[str, str] = {}
    for prefix in PREFIXES:
        absolute = join(base, prefix, slash=False)
        seen.setdefault(absolute, prefix)
    return list(seen)


def description_paths(base: str) -> list[str]:
    """Absolute paths of the description documents to try: under the base path first, then under the root."""
    found: dict[str, None] = {}
    for root in (base, ""):
        for candidate in DESCRIPTION_PATHS:
            found.setdefault(join(root, candidate), None)
    if base:
        found.setdefault(join(base, "$metadata"), None)  # an OData service's own root
    return list(found)
