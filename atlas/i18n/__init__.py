"""One translation catalogue for everything a person reads, in Arabic and English.

The catalogue (the TOML files in `catalogue/`, merged; a key may appear in
only one of them) holds every message once, with both languages side by side;
the server renders pages and problem details from it, and the browser gets the
same catalogue (`/i18n/catalogue.json`) to switch language without a reload.
A test keeps every key complete in both languages and every key the templates
and code use present.

A message about a count (``3 days``, ``يومان``) is a plural entry: each language holds one text per CLDR
plural category it needs (Arabic: zero, one, two, few, many, other; English: one, other), and
`translate_plural` picks the category of the count by the language's CLDR rules (Babel), so Arabic numerals
and nouns agree (1 يوم، يومان، 3 أيام، 11 يوماً، 100 يوم) without hand-written suffixes.

An ordinary message may embed such a counted phrase as ``{name@plural.key}``: ``كل {days@plural.day_oblique}``
reads "كل 7 أيام" for ``days=7`` and "كل يومين" for 2, so messages whose callers pass a count as a plain
parameter (problem details, policy reasons, labels) agree too, without each caller choosing the form. (The
``_oblique`` entries are the forms after a preposition, كل or a verb: the dual ends in ـين, يومين not يومان.)
Pages render such messages on the server with both languages' texts; a label a page script builds in the
browser fills ``{name@plural.key}`` itself (``atlas.js``: ``Intl.PluralRules``, the same CLDR categories, from the
plural entries ``/i18n/catalogue.json`` serves beside the messages).
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from babel import Locale

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


PLURAL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})


def _is_plural(node: dict[str, Any]) -> bool:
    forms = [node.get(lang) for lang in LANGS]
    return all(
        isinstance(form, dict)
        and "other" in form
        and set(form) <= PLURAL_CATEGORIES
        and all(isinstance(text, str) for text in form.values())
        for form in forms
    )


def _plural_entries(prefix: str, node: dict[str, Any], into: dict[str, dict[str, dict[str, str]]]) -> None:
    if _is_plural(node):
        into[prefix] = {lang: dict(node[lang]) for lang in LANGS}
        return
    for key, value in node.items():
        if isinstance(value, dict):
            _plural_entries(f"{prefix}.{key}" if prefix else key, value, into)


@lru_cache(maxsize=1)
def plurals() -> dict[str, dict[str, dict[str, str]]]:
    """Plural entries: key → language → CLDR category → text (``{n}`` is the count)."""
    merged: dict[str, dict[str, dict[str, str]]] = {}
    for path in sorted(CATALOGUE_DIR.glob("*.toml")):
        part: dict[str, dict[str, dict[str, str]]] = {}
        _plural_entries("", tomllib.loads(path.read_text(encoding="utf-8")), part)
        repeated = (set(merged) | set(catalogue())) & set(part)
        if repeated:
            raise ValueError(f"{path.name} repeats catalogue keys: {sorted(repeated)[:5]}")
        merged.update(part)
    return merged


@lru_cache(maxsize=8)
def _locale(lang: str) -> Locale:
    return Locale.parse(lang if lang in LANGS else DEFAULT_LANG)


@lru_cache(maxsize=8192)  # explanations ask for the same few counts many thousand times
def plural_category(count: int | float | Decimal | str, lang: str) -> str:
    """The CLDR plural category (zero, one, two, few, many, other) of ``count`` in ``lang``.

    A count given as text (as it is shown: ``"2"``, ``"1,250"``, ``"2.5"``) is read as that decimal, so the
    noun agrees with the number the reader sees; text that is not a number takes ``other``."""
    number: int | float | Decimal
    if isinstance(count, str):
        try:
            number = Decimal(count.replace(",", "").replace("\u066c", "").strip())
        except ArithmeticError:
            return "other"
        if not number.is_finite():
            return "other"
    else:
        number = count
    if isinstance(number, float) and number != number:  # NaN
        return "other"
    try:
        magnitude: float | Decimal = abs(number) if isinstance(number, Decimal) else abs(float(number))
        return str(_locale(lang).plural_form(magnitude))
    except ArithmeticError:  # a number too large for a float or for the rules' decimal arithmetic
        return "other"


def translate_plural(key: str, count: int | float | Decimal | str, lang: str, /, **params: Any) -> str:
    """The plural message ``key`` in ``lang`` in the form CLDR's rules give ``count``; ``{n}`` is the count
    (as given, unless ``n`` is passed), other ``{name}`` placeholders are filled from ``params``."""
    entry = plurals().get(key)
    if entry is None:
        return key
    forms = entry.get(lang) or entry[DEFAULT_LANG]
    text = forms.get(plural_category(count, lang)) or forms["other"]
    try:
        return text.format(**{"n": count, **params})
    except (KeyError, IndexError, ValueError):
        return text


EMBEDDED_PLURAL = re.compile(r"\{(\w+)@(plural\.[\w.]+)\}")


def has_embedded_plural(key: str) -> bool:
    """Whether the message ``key`` embeds a counted phrase (``{days@plural.day}``) in either language."""
    entry = catalogue().get(key, {})
    return any(EMBEDDED_PLURAL.search(text) for text in entry.values())


def _fill_embedded_plurals(text: str, lang: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``text`` with each ``{name@plural.key}`` whose count ``name`` is given replaced by a placeholder for the
    counted phrase in ``lang`` (so the phrase's own text is never read as a format string)."""
    filled = dict(params)

    def phrase(match: re.Match[str]) -> str:
        name, plural_key = match.group(1), match.group(2)
        if name not in params:
            return "{" + name + "}"
        slot = f"_plural_{len(filled)}"
        filled[slot] = translate_plural(plural_key, params[name], lang)
        return "{" + slot + "}"

    return EMBEDDED_PLURAL.sub(phrase, text), filled


def translate(key: str, lang: str, /, **params: Any) -> str:
    """The message ``key`` in ``lang`` with ``{name}`` placeholders filled, and ``{name@plural.key}`` with the
    counted phrase of ``name``; a missing key shows itself."""
    entry = catalogue().get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry[DEFAULT_LANG]
    if "@plural." in text:
        text, params = _fill_embedded_plurals(text, lang, params)
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
