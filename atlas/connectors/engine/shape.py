"""Whether an endpoint's record path yields records: a list of objects, not the envelope around them.

A record path of ``$`` on ``{"data": [...]}`` matches the whole answer: one "record" that is the envelope. A sync
would map it as one bad record (or worse, as one item); Test connection says so instead, and suggests the path
where the records are (``$.data``, ``$.results``, ``$.value``...).
"""

from __future__ import annotations

import re
from typing import Any

RECORD_KEYS = (
    "data",
    "items",
    "results",
    "records",
    "rows",
    "value",
    "movements",
    "transactions",
    "locations",
    "warehouses",
    "products",
    "stock",
    "balances",
    "entries",
    "list",
    "content",
    "objects",
    "hits",
)


def child_path(parent: str, key: str) -> str:
    return f"{parent}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", key) else f"{parent}['{key}']"


def list_of_objects(value: Any) -> bool:
    return isinstance(value, list) and (not value or all(isinstance(v, dict) for v in value[:20]))


def find_records(body: Any) -> tuple[str | None, list[Any]]:
    """Where the records are in an answer: the body itself, or the first list of objects under a likely key (one or
    two levels down: ``{"data": [...]}``, ``{"data": {"items": [...]}}``)."""
    if isinstance(body, list):
        return "$", body
    if not isinstance(body, dict):
        return None, []
    keys = sorted(body, key=lambda k: 0 if str(k).lower() in RECORD_KEYS else 1)
    for key in keys:
        value = body[key]
        if isinstance(value, list) and list_of_objects(value):
            return child_path("$", str(key)), value
    for key in keys:
        value = body[key]
        if isinstance(value, dict):
            for inner in sorted(value, key=lambda k: 0 if str(k).lower() in RECORD_KEYS else 1):
                if isinstance(value[inner], list) and value[inner] and list_of_objects(value[inner]):
                    return child_path(child_path("$", str(key)), str(inner)), value[inner]
    return None, []


def joined(record_path: str, inner: str) -> str:
    """``inner`` (a path inside what ``record_path`` matched) as a path from the answer's root."""
    base = record_path.strip()
    if base in ("", "$"):
        return inner
    return base + inner[1:]


def record_problem(record_path: str, records: list[Any]) -> tuple[str, str | None] | None:
    """Why these records are not records, and the record path that would give them (None when it cannot tell);
    None when they are fine. One object that holds a list of objects is an envelope; values that are not objects
    are not records."""
    if not records:
        return None
    if not all(isinstance(r, dict) for r in records):
        return ("records_not_objects", None)
    if len(records) == 1:
        inner, found = find_records(records[0])
        if inner not in (None, "$") and found:
            return ("record_path_not_a_list", joined(record_path, inner))
    return None
