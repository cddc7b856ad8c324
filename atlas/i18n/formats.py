"""Numbers, money, dates and times as a reader of each language expects them (CLDR, through Babel).

Pages printed numbers as Python wrote them (``250000.00`` on the policies page) and every time in UTC as ISO
text. These functions give the catalogue's two languages their CLDR forms instead: thousands separators
(``250,000.00``), month names (``7 ديسمبر 2026`` / ``December 7, 2026``), times in the tenant's time zone
(Asia/Riyadh unless the tenant chose another, ``tenants.time_zone``), and beside a date the reader may want its
Hijri date on the Umm al-Qura calendar, the one Saudi Arabia uses (``hijridate``, the maintained successor of
``hijri-converter``). Digits stay Latin in Arabic, as CLDR's ``ar`` locale and every other page show them.

They are plain functions over plain values (the web app registers them as Jinja filters, `atlas.web.app`); a
missing value is "—", as the pages show it elsewhere.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from babel.dates import format_date as babel_date
from babel.dates import format_time as babel_time
from babel.numbers import format_decimal as babel_decimal
from hijridate import Gregorian

from atlas.i18n import DEFAULT_LANG, LANGS

DEFAULT_TIME_ZONE = "Asia/Riyadh"
MISSING = "—"
MONEY_PATTERN = "#,##0.00"  # riyals with halalas, as invoices and recommendations show them
_DATE_FORMAT = "long"  # "7 ديسمبر 2026" / "December 7, 2026": Arabic's medium form is numeric with RLM marks
_TIME_FORMAT = "short"  # "10:05 ص" / "10:05 AM"
_HIJRI_SUFFIX = {"ar": "هـ", "en": "AH"}

Number = int | float | Decimal | str  # text as the API writes amounts ("250000.00")


def _lang(lang: str) -> str:
    return lang if lang in LANGS else DEFAULT_LANG


def _decimal(value: Number) -> Decimal | None:
    """``value`` as a finite decimal (text such as ``"250000.00"`` read exactly); None when it is not one."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def format_number(value: Number | None, lang: str, *, digits: int | None = None) -> str:
    """``1234567.5`` → ``1,234,567.5``; ``digits`` fixes the decimals shown (``digits=0`` → ``1,234,568``)."""
    number = None if value is None else _decimal(value)
    if number is None:
        return MISSING if value is None else str(value)
    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return babel_decimal(number, format=pattern, locale=_lang(lang))


def format_money(value: Number | None, lang: str) -> str:
    """An amount in riyals with two decimals and separators: ``250000`` → ``250,000.00`` (the currency's name is
    the page's, ``aipage.sar``, so it follows the language switch)."""
    number = None if value is None else _decimal(value)
    if number is None:
        return MISSING if value is None else str(value)
    return babel_decimal(number, format=MONEY_PATTERN, locale=_lang(lang))


def valid_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows (``Asia/Riyadh``, ``UTC``)."""
    return name in zone_names()


@lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    """Every IANA time zone name this machine's zoneinfo knows."""
    return frozenset(zoneinfo.available_timezones())


@lru_cache(maxsize=64)
def _zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE)


def local(value: datetime, time_zone: str | None) -> datetime:
    """``value`` (aware, or naive meaning UTC as the database stores it) in ``time_zone``."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(_zone(time_zone))


def _day(value: date | datetime, time_zone: str | None) -> date:
    return local(value, time_zone).date() if isinstance(value, datetime) else value


def format_date(value: date | datetime | None, lang: str, time_zone: str | None = None) -> str:
    """The day (in ``time_zone`` for a moment): ``7 ديسمبر 2026`` / ``December 7, 2026``."""
    if value is None:
        return MISSING
    return babel_date(_day(value, time_zone), _DATE_FORMAT, locale=_lang(lang))


def format_datetime(value: datetime | None, lang: str, time_zone: str | None = None, *, seconds: bool = False) -> str:
    """The moment in ``time_zone``: ``7 ديسمبر 2026 1:00 م`` / ``December 7, 2026 1:00 PM`` (``1:00:05 م`` with
    ``seconds``, where the order of events matters: the audit log)."""
    if value is None:
        return MISSING
    moment = local(value, time_zone)
    code = _lang(lang)
    day = babel_date(moment.date(), _DATE_FORMAT, locale=code)
    return f"{day} {babel_time(moment.time(), 'medium' if seconds else _TIME_FORMAT, locale=code)}"


def hijri_date(value: date | datetime | None, lang: str, time_zone: str | None = None) -> str | None:
    """The day on the Umm al-Qura calendar: ``27 جمادى الآخرة 1448 هـ`` / ``27 Jumada al-Akhirah 1448 AH``; None
    outside the calendar's tables (1343–1500 AH, about 1924–2077) or for no date."""
    if value is None:
        return None
    day = _day(value, time_zone)
    code: Literal["ar", "en"] = "en" if lang == "en" else "ar"
    try:
        hijri = Gregorian(day.year, day.month, day.day).to_hijri()
    except (ValueError, OverflowError):
        return None
    return f"{hijri.day} {hijri.month_name(code)} {hijri.year} {_HIJRI_SUFFIX[code]}"
