"""A catalogue message kept in a text column and translated when it is read.

Some results are stored as one free-text column (a health check's ``detail``) yet sometimes carry a catalogue
message (``errors.connector_dns`` about host ``erp.local``). Such a message is stored as its key followed by its
parameters as a JSON object (``errors.connector_dns {"host": "erp.local"}``), and shown in the reader's language;
any other text is the server's own words and is shown as it is.
"""

from __future__ import annotations

import json
import string
from typing import Any

from atlas.i18n import catalogue, translate


def pack(key: str, params: dict[str, Any] | None = None) -> str:
    """``key`` and its parameters as one text (parameters as strings)."""
    if not params:
        return key
    return f"{key} {json.dumps({name: str(value) for name, value in params.items()}, ensure_ascii=False)}"


def unpack(text: str | None) -> tuple[str, dict[str, str]] | None:
    """``(key, params)`` when ``text`` is a packed catalogue message, else None (free text)."""
    if not text:
        return None
    key, _, rest = text.partition(" ")
    if key not in catalogue():
        return None
    params: dict[str, str] = {}
    if rest:
        try:
            decoded = json.loads(rest)
        except ValueError:
            return None
        if not isinstance(decoded, dict):
            return None
        params = {str(name): str(value) for name, value in decoded.items()}
    return key, complete(key, params)


def complete(key: str, params: dict[str, str]) -> dict[str, str]:
    """``params`` with every placeholder of ``key``'s messages present (a row stored without them shows "…"), so
    no reader ever sees a raw ``{host}``."""
    entry = catalogue().get(key, {})
    names = {
        field.split(".")[0].split("[")[0]
        for text in entry.values()
        for _, field, _, _ in string.Formatter().parse(text)
        if field
    }
    return {**{name: "…" for name in names}, **params}


def render(text: str | None, lang: str) -> tuple[str | None, str | None, dict[str, str] | None]:
    """``(message, code, params)`` for a stored text: a packed message translated into ``lang`` with its key as
    ``code``; free text as it is, with no code."""
    message = unpack(text)
    if message is None:
        return text, None, None
    key, params = message
    return translate(key, lang, **params), key, params
