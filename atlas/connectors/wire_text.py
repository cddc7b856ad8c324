"""Control characters in what a connector puts on the wire: refused when the connector is saved.

A line break in an endpoint path, a base URL, a query parameter or a header becomes a malformed (or smuggled)
request line or header when the connector is read; a NUL cannot even be stored. Every string of a connector's
settings that reaches a URL, a header or a login is checked, with the field named as the other checks name it
(``endpoints[0].path``, ``headers.X-Trace``); a bad name of a dictionary entry names the dictionary.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from atlas.connectors.auth_checks import invalid

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Not put on the wire as text: the connector's display name and its action templates (never sent: the execution
# lock keeps them as drafts), and an endpoint's read-RPC call, whose body (a GraphQL query, SQL) spans lines.
NOT_WIRE = frozenset({"name", "action_templates"})
NOT_WIRE_NESTED = frozenset({"rpc"})


def first_control_character(value: Any, where: str = "") -> str | None:
    """The field name of the first string (or dictionary key) holding a control character, or None."""
    if isinstance(value, str):
        return where if CONTROL.search(value) else None
    if isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            if name in NOT_WIRE_NESTED or (name in NOT_WIRE and not where):
                continue
            found = first_control_character(getattr(value, name), f"{where}.{name}" if where else name)
            if found is not None:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and CONTROL.search(key):
                return where
            found = first_control_character(item, f"{where}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = first_control_character(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def check_wire_text(settings: msgspec.Struct) -> None:
    """A 422 naming the first field of a connector's settings (create, update, discovery) that holds a control
    character."""
    field = first_control_character(settings)
    if field is not None:
        raise invalid("errors.control_characters", field)
