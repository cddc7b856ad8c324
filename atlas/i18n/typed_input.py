"""What a person types into a filter, read in either language: digits and times on a wall clock.

Chromium draws ``datetime-local`` inputs in its own interface language (``mm/dd/yyyy`` inside an Arabic page) and
a filter labelled UTC asked people to convert Riyadh time in their heads. Pages that filter by time now take text
in ISO order (``2026-12-07 14:30``, the one order that reads alike in both languages), typed with Western or
Arabic-Indic digits (``٢٠٢٦-١٢-٠٧ ١٤:٣٠``), as a wall-clock time in the tenant's time zone; this module turns it
into the UTC moment the queries compare with.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import get_timezone_location

from atlas.i18n import LANGS
from atlas.i18n.formats import DEFAULT_TIME_ZONE

# Arabic-Indic (٠-٩) and Extended Arabic-Indic (۰-۹, Persian/Urdu keyboards) digits, and Arabic's separators.
_DIGITS = str.maketrans(
    "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫٬",
    "01234567890123456789.,",
)
_MOMENT = re.compile(
    r"(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})"
    r"(?:(?:\s+|T)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?",
    re.ASCII,
)


def latin_digits(text: str) -> str:
    """``text`` with Arabic-Indic digits and Arabic's decimal (٫) and thousands (٬) separators as ASCII."""
    return text.translate(_DIGITS)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def parse_local_time(text: str, time_zone: str | None, *, end: bool = False) -> datetime:
    """The UTC moment of ``text``, a wall-clock time in ``time_zone`` (``2026-12-07 14:30`` in Riyadh is 11:30 UTC).

    A date alone is the start of that day there, or with ``end`` the start of the next day, so an "until" date
    includes its whole day (the filters compare ``occurred_at < until``). Raises ValueError when ``text`` is not
    such a time.
    """
    found = _MOMENT.fullmatch(latin_digits(text).strip())
    if found is None:
        raise ValueError(text)
    try:
        day = date(int(found["y"]), int(found["m"]), int(found["d"]))
        if found["H"] is None:
            wall = datetime.combine(day, time.min) + (timedelta(days=1) if end else timedelta(0))
        else:
            wall = datetime.combine(day, time(int(found["H"]), int(found["M"]), int(found["S"] or 0)))
        return wall.replace(tzinfo=_zone(time_zone)).astimezone(UTC)
    except (ValueError, OverflowError):  # 2026-02-30, 25:00, or past the calendar's ends (year 1, 9999)
        raise ValueError(text) from None


def zone_city(time_zone: str | None, lang: str) -> str:
    """The zone's city in ``lang`` as CLDR names it (``الرياض`` / ``Riyadh``), for labels such as "From (Riyadh
    time)"; the IANA name itself when CLDR has no city for it."""
    name = time_zone or DEFAULT_TIME_ZONE
    try:
        return str(get_timezone_location(name, locale=lang if lang in LANGS else "ar", return_city=True))
    except LookupError:
        return name
