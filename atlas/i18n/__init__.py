"""One translation catalogue for everything a person reads, in Arabic and English.

The catalogue (the TOML files in `catalogue/`, merged; a key may appear in
only one of them) holds every message once, with both languages side by side;
the server renders pages and problem details from it, and the browser gets the
same catalogue (`/i18n/catalogue.json`) to switch language without a reload.
A test keeps every key complete in both languages and every key the templates
and code use present.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

Lang = Literal["ar", "en"]
LANGS: tuple[Lang, ...] = ("ar", "en")
DEFAULT_LANG: Lang = "ar"
LANG_COOKIE = "atlas_lang"
CATALOGUE_DIR = Path(__file__).with_name("catalogue")


def _flatten(prefix: str, node: dict[str, Any], into: dict[str, dict[str, str]]) -> None:
    if "ar" in node and "en" in node and all(isinstance(v, str) for v in node.values()):
        into[prefix] = {"ar": node["ar"], "en": node["en"]}
        return
    for key, value in node.items():
        if isinstance(value, dict):
            _flatten(f"{prefix}.{key}" if prefix else key, value, into)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(CATALOGUE_DIR.glob("*.toml")):
        part: dict[str, dict[str, str]] = {}
        _flatten("", tomllib.loads(path.read_text(encoding="utf-8")), part)
        repeated = set(merged) & set(part)
        if repeated:
            raise ValueError(f"{path.name} repeats catalogue keys: {sorted(repeated)[:5]}")
        merged.update(part)
    return merged


def translate(key: str, lang: str, /, **params: Any) -> str:
    """The message ``key`` in ``lang`` with ``{name}`` placeholders filled; a missing key shows itself."""
    entry = catalogue().get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry[DEFAULT_LANG]
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def normalise_lang(value: str | None) -> Lang | None:
    if not value:
        return None
    value = value.strip().lower()[:2]
    return value if value in LANGS else None  # type: ignore[return-value,unused-ignore]


def negotiate(cookie: str | None, accept_language: str | None) -> Lang:
    """The cookie wins; then the first supported language of Accept-Language; then Arabic."""
    chosen = normalise_lang(cookie)
    if chosen:
        return chosen
    for part in (accept_language or "").split(","):
        chosen = normalise_lang(part.split(";")[0])
        if chosen:
            return chosen
    return DEFAULT_LANG


def direction(lang: str) -> str:
    return "rtl" if lang == "ar" else "ltr"


def request_lang(request: Any) -> str:
    """The language a request negotiated (the web app's middleware puts it in the scope's state), else Arabic."""
    return str(request.scope.get("state", {}).get("lang") or DEFAULT_LANG)
