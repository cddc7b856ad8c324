"""The Jinja filters that print numbers, money and dates by the page's language (`atlas.i18n.formats`).

``{{ n|number }}``, ``{{ amount|money }}``, ``{{ dt|local_date }}`` and ``{{ dt|local_datetime }}`` (``hijri=True``
adds the Umm al-Qura date) print what the reader's locale expects, times in the tenant's time zone (the page
context's ``time_zone``, which the layout reads from the tenant; Asia/Riyadh otherwise). The page switches
language without a reload, and CLDR's forms differ by language (month names, the time's ص/م), so each carries
both languages' texts (``data-text-ar``/``-en``) and the switch swaps them, as it does the counted phrases
(``[data-i18n-plural]`` in atlas.js). The web app registers `FILTERS` (`atlas.web.app`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import pass_context
from markupsafe import Markup, escape

from atlas.i18n import LANGS
from atlas.i18n.formats import (
    DEFAULT_TIME_ZONE,
    format_date,
    format_datetime,
    format_money,
    format_number,
    hijri_date,
    zone_names,
)


def both_languages(context: Any, key: str, texts: Mapping[str, str], *, tag: str = "span", attrs: str = "") -> Markup:
    """``texts`` (one per language, written by the server) as one element: the page's language shown, both
    carried for the language switch."""
    text = texts.get(context.get("lang", "ar"), texts["ar"])
    return Markup(  # noqa: S704 - every part escaped
        f'<{tag}{attrs} data-i18n-plural="{escape(key)}" data-text-ar="{escape(texts["ar"])}" '
        f'data-text-en="{escape(texts["en"])}">{escape(text)}</{tag}>'
    )


_MISSING = Markup('<span class="muted">—</span>')  # no date, as the pages show it elsewhere


def _zone(context: Any) -> str:
    return str(context.get("time_zone") or DEFAULT_TIME_ZONE)


@pass_context
def number_filter(context: Any, value: Any, digits: int | None = None) -> Markup:
    """``{{ n|number }}``: ``1,234,567.5`` (CLDR separators), left to right inside Arabic."""
    texts = {str(lang): format_number(value, lang, digits=digits) for lang in LANGS}
    return both_languages(context, "format.number", texts, attrs=' class="num" dir="ltr"')


@pass_context
def money_filter(context: Any, value: Any) -> Markup:
    """``{{ amount|money }}``: riyals as ``250,000.00`` (the currency's name is the template's, ``aipage.sar``)."""
    texts = {str(lang): format_money(value, lang) for lang in LANGS}
    return both_languages(context, "format.money", texts, attrs=' class="num" dir="ltr"')


def _time_attrs(value: Any, cls: str) -> str:
    return f' class="{cls}" datetime="{escape(value.isoformat())}"'


def _hijri(context: Any, value: Any, zone: str) -> Markup:
    texts = {str(lang): hijri_date(value, lang, zone) for lang in LANGS}
    if any(text is None for text in texts.values()):
        return Markup("")
    shown = both_languages(context, "format.hijri", {lang: f"({text})" for lang, text in texts.items()})
    return Markup(' <span class="hijri muted" data-testid="hijri-date">') + shown + Markup("</span>")


@pass_context
def local_date_filter(context: Any, value: Any, hijri: bool = False) -> Markup:
    """``{{ dt|local_date }}``: the day in the tenant's time zone (``7 ديسمبر 2026``); ``hijri=True`` adds its
    Umm al-Qura date (``(27 جمادى الآخرة 1448 هـ)``)."""
    if value is None:
        return _MISSING
    zone = _zone(context)
    texts = {str(lang): format_date(value, lang, zone) for lang in LANGS}
    shown = both_languages(context, "format.date", texts, tag="time", attrs=_time_attrs(value, "local-date"))
    return shown + _hijri(context, value, zone) if hijri else shown


@pass_context
def local_datetime_filter(context: Any, value: Any, hijri: bool = False, seconds: bool = False) -> Markup:
    """``{{ dt|local_datetime }}``: the moment in the tenant's time zone (``7 ديسمبر 2026 1:00 م``), the zone's
    name on hover; ``hijri=True`` adds the Umm al-Qura date, ``seconds=True`` the seconds."""
    if value is None:
        return _MISSING
    zone = _zone(context)
    texts = {str(lang): format_datetime(value, lang, zone, seconds=seconds) for lang in LANGS}
    attrs = _time_attrs(value, "local-time") + f' title="{escape(zone)}"'
    shown = both_languages(context, "format.datetime", texts, tag="time", attrs=attrs)
    return shown + _hijri(context, value, zone) if hijri else shown


def time_zone_names() -> list[str]:
    """The IANA time zone names a tenant may choose, sorted (the team page's list)."""
    return sorted(zone_names())


FILTERS: dict[str, Callable[..., Markup]] = {
    "number": number_filter,
    "money": money_filter,
    "local_date": local_date_filter,
    "local_datetime": local_datetime_filter,
}
GLOBALS: dict[str, Callable[..., Any]] = {"time_zone_names": time_zone_names}
