"""Connector action templates: how a connector says an action *would* be sent to its system.

A template per action type: ``{"method": "POST"|"PUT"|"PATCH", "path": "/relative/{item_external_id}",
"body": {target field: canonical field name | {"value": constant}}}``. Dotted target fields nest
(``"line.sku"`` → ``{"line": {"sku": …}}``). Templates are only ever rendered into execution drafts:
nothing in Atlas sends them, and declaring one never makes an action sendable. Pure; no I/O.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from atlas.errors import ValidationFailed

ACTION_TYPES: tuple[str, ...] = ("reorder", "transfer", "write_off", "investigate")
METHODS: tuple[str, ...] = ("POST", "PUT", "PATCH")

_ITEM = ("item_sku", "item_name", "item_external_id", "unit_of_measure")
_COMMON = ("recommendation_id", "reference", "action_type", "quantity", *_ITEM)
_LOCATION = ("location_code", "location_name", "location_external_id")

# The canonical fields of each action type's draft: what a template's body and path may name.
CANONICAL_FIELDS: dict[str, tuple[str, ...]] = {
    "reorder": (*_COMMON, *_LOCATION, "needed_by", "lead_time_days", "unit_cost", "value"),
    "transfer": (
        *_COMMON,
        "from_location_code",
        "from_location_name",
        "from_location_external_id",
        "to_location_code",
        "to_location_name",
        "to_location_external_id",
        "unit_cost",
        "value",
    ),
    "write_off": (*_COMMON, *_LOCATION, "unit_cost", "value"),
    "investigate": (
        *_COMMON,
        *_LOCATION,
        "anomaly_type",
        "anomaly_severity",
        "anomaly_observed",
        "anomaly_expected",
        "anomaly_occurred_on",
        "task",
    ),
}

MAX_BODY_FIELDS = 100
MAX_PATH = 1000
_TARGET = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*$")
_PLACEHOLDER = re.compile(r"{([^{}]*)}")


class TemplateInvalid(ValidationFailed):
    """A template that cannot be stored; ``field`` says where (e.g. ``action_templates.reorder.body.qty``)."""

    def __init__(self, field_name: str, message_key: str, **params: Any) -> None:
        super().__init__(message_key, extra={"field": field_name}, field=field_name, **params)
        self.field = field_name


def validate_action_templates(data: Any) -> dict[str, dict[str, Any]]:
    """Check and normalise a connector's templates (method upper-cased); raise `TemplateInvalid`."""
    where = "action_templates"
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TemplateInvalid(where, "errors.template_not_object")
    result: dict[str, dict[str, Any]] = {}
    for action_type, template in data.items():
        at = f"{where}.{action_type}"
        if action_type not in ACTION_TYPES:
            raise TemplateInvalid(at, "errors.template_action_type", allowed=", ".join(ACTION_TYPES))
        result[action_type] = _validate_one(at, action_type, template)
    return result


def _validate_one(at: str, action_type: str, template: Any) -> dict[str, Any]:
    if not isinstance(template, dict):
        raise TemplateInvalid(at, "errors.template_not_object")
    unknown = set(template) - {"method", "path", "body"}
    if unknown:
        raise TemplateInvalid(f"{at}.{sorted(unknown)[0]}", "errors.template_unknown_field")
    method = template.get("method")
    if not isinstance(method, str) or method.strip().upper() not in METHODS:
        raise TemplateInvalid(f"{at}.method", "errors.template_method", allowed=", ".join(METHODS))
    path = template.get("path")
    if not isinstance(path, str) or not _relative_path(path):
        raise TemplateInvalid(f"{at}.path", "errors.template_path")
    fields = CANONICAL_FIELDS[action_type]
    for name in _PLACEHOLDER.findall(path):
        if name not in fields:
            raise TemplateInvalid(f"{at}.path", "errors.template_unknown_canonical", name=name)
    body = template.get("body", {})
    if not isinstance(body, dict):
        raise TemplateInvalid(f"{at}.body", "errors.template_not_object")
    if len(body) > MAX_BODY_FIELDS:
        raise TemplateInvalid(f"{at}.body", "errors.template_too_many_fields", limit=MAX_BODY_FIELDS)
    clean_body: dict[str, Any] = {}
    for target, source in body.items():
        bt = f"{at}.body.{target}"
        if not isinstance(target, str) or not _TARGET.match(target) or len(target) > 200:
            raise TemplateInvalid(bt, "errors.template_target")
        if isinstance(source, str):
            if source not in fields:
                raise TemplateInvalid(bt, "errors.template_unknown_canonical", name=source)
            clean_body[target] = source
        elif isinstance(source, dict) and set(source) == {"value"} and _scalar(source["value"]):
            clean_body[target] = {"value": source["value"]}
        else:
            raise TemplateInvalid(bt, "errors.template_source")
    clash = _clash(list(clean_body))
    if clash is not None:
        raise TemplateInvalid(f"{at}.body.{clash}", "errors.template_target_clash")
    return {"method": method.strip().upper(), "path": path.strip(), "body": clean_body}


def _relative_path(path: str) -> bool:
    path = path.strip()
    if not path.startswith("/") or path.startswith("//") or len(path) > MAX_PATH:
        return False
    if "://" in path or "\\" in path or any(ch.isspace() for ch in path):
        return False
    segments = path.split("?", 1)[0].split("/")
    return ".." not in segments


def _scalar(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= 1000
    return value is None or isinstance(value, bool | int | float)


def _clash(targets: list[str]) -> str | None:
    """A target that another target already fills as a leaf (``a`` and ``a.b``), or None."""
    names = set(targets)
    for target in targets:
        parts = target.split(".")
        if any(".".join(parts[:i]) in names for i in range(1, len(parts))):
            return target
    return None


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "c": 2}`` → ``{"a": {"b": 1}, "c": 2}`` (targets checked by `_clash` first)."""
    root: dict[str, Any] = {}
    for target, value in flat.items():
        parts = target.split(".")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root


def render_request(
    template: dict[str, Any],
    action: dict[str, Any],
    *,
    base_url: str,
    auth_kind: str,
    auth_settings: dict[str, Any],
) -> dict[str, Any]:
    """The exact request that *would* have been sent: method, full URL, headers (no secrets), JSON body.
    ``sendable`` is always False: nothing in Atlas sends it."""

    def fill(match: re.Match[str]) -> str:
        return quote(str(action.get(match.group(1), "")), safe="")

    path = _PLACEHOLDER.sub(fill, template["path"])
    url = base_url.rstrip("/") + path
    headers: dict[str, str] = {"Content-Type": "application/json", "Accept": "application/json"}
    auth_note: str | None = None
    if auth_kind == "api_key":
        name = str(auth_settings.get("key_name") or "X-API-Key")
        if auth_settings.get("key_location") == "query":
            auth_note = f"api key in query parameter {name} (not included)"
        else:
            headers[name] = "•••• (not included)"
    elif auth_kind in ("bearer", "oauth2_client_credentials"):
        headers["Authorization"] = "Bearer •••• (not included)"
    elif auth_kind == "basic":
        headers["Authorization"] = "Basic •••• (not included)"
    elif auth_kind == "header":
        scheme = str(auth_settings.get("scheme") or "").strip()
        headers["Authorization"] = f"{scheme} •••• (not included)".strip()
    elif auth_kind == "session_login":
        headers["Cookie"] = "•••• (the session's cookies, not included)"
    flat: dict[str, Any] = {}
    for target, source in template.get("body", {}).items():
        flat[target] = source["value"] if isinstance(source, dict) else action.get(source)
    return {
        "method": template["method"],
        "url": url,
        "headers": headers,
        "body": _nest(flat),
        "auth": auth_note or auth_kind,
        "sendable": False,
    }
