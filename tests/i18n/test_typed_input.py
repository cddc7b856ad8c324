"""Times people type into the audit log's filters (atlas.i18n.typed_input): ISO order in either language's digits,
a wall-clock time in the tenant's zone, read as its UTC moment; anything else refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlas.i18n.typed_input import latin_digits, parse_local_time, zone_city

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
ZONES = ["Asia/Riyadh", "Europe/London", "America/New_York", "Asia/Kolkata", "UTC", "Pacific/Chatham"]


def test_riyadh_wall_clock_is_three_hours_ahead_of_utc():
    assert parse_local_time("2026-12-07 14:30", "Asia/Riyadh") == datetime(2026, 12, 7, 11, 30, tzinfo=UTC)
    assert parse_local_time("٢٠٢٦-١٢-٠٧ ١٤:٣٠", "Asia/Riyadh") == datetime(2026, 12, 7, 11, 30, tzinfo=UTC)
    assert parse_local_time("2026-12-07T14:30:15", None) == datetime(2026, 12, 7, 11, 30, 15, tzinfo=UTC)
    assert parse_local_time(" 2026/1/5 ", "Asia/Riyadh") == datetime(2026, 1, 4, 21, 0, tzinfo=UTC)


def test_a_date_alone_is_its_whole_day_in_the_zone():
    assert parse_local_time("2026-12-07", "Asia/Riyadh") == datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
    assert parse_local_time("2026-12-07", "Asia/Riyadh", end=True) == datetime(2026, 12, 7, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    ["", " ", "yesterday", "07/12/2026", "2026-13-01", "2026-02-30", "2026-12-07 24:00", "2026-12-07 10:60",
     "2026-12-07 10", "20261207", "2026-12-07 10:00 PM", "١٢:٣٠", "2026-12-07x", "0001-01-01 00:00"],
)  # fmt: skip
def test_what_is_not_a_time_is_refused(text):
    with pytest.raises(ValueError):
        parse_local_time(text, "Asia/Riyadh")


def test_the_calendar_edges_are_refused_not_crashed():
    with pytest.raises(ValueError):
        parse_local_time("9999-12-31", "Asia/Riyadh", end=True)  # the next day is past datetime's range
    with pytest.raises(ValueError):
        parse_local_time("0001-01-01", "Asia/Riyadh")  # three hours before year 1


@given(
    moment=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)),
    zone=st.sampled_from(ZONES),
    arabic=st.booleans(),
    separator=st.sampled_from([" ", "T", "  "]),
)
def test_a_typed_wall_clock_time_is_that_moment_in_the_zone(moment, zone, arabic, separator):
    wall = moment.replace(microsecond=0)
    text = wall.strftime(f"%Y-%m-%d{separator}%H:%M:%S")
    parsed = parse_local_time(text.translate(ARABIC) if arabic else text, zone)
    assert parsed.tzinfo is UTC
    expected = wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    assert parsed == expected
    # read back in the zone, it is the wall-clock time typed (a time skipped by a DST change moves forward)
    back = parsed.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    assert back == wall or timedelta(0) < back - wall <= timedelta(hours=1)


@given(day=st.dates(min_value=datetime(1971, 1, 1).date(), max_value=datetime(2099, 12, 30).date()))
def test_an_until_date_ends_where_the_next_day_starts(day):
    zone = "Asia/Riyadh"
    end = parse_local_time(day.isoformat(), zone, end=True)
    assert end == parse_local_time((day + timedelta(days=1)).isoformat(), zone)
    assert end - parse_local_time(day.isoformat(), zone) == timedelta(days=1)


@given(st.text())
def test_any_text_is_read_or_refused_with_value_error(text):
    try:
        parsed = parse_local_time(text, "Asia/Riyadh")
    except ValueError:
        return
    assert parsed.tzinfo is UTC


@given(st.integers(min_value=0, max_value=10**12))
def test_arabic_indic_digits_read_as_western(number):
    assert latin_digits(str(number).translate(ARABIC)) == str(number)
    assert latin_digits("٢٥٠٬٠٠٠٫٥٠") == "250,000.50"
    assert latin_digits("۱۲۳") == "123"  # Extended Arabic-Indic (Persian and Urdu keyboards)


def test_the_zone_is_named_by_its_city_in_each_language():
    assert zone_city("Asia/Riyadh", "ar") == "الرياض" and zone_city("Asia/Riyadh", "en") == "Riyadh"
    assert zone_city(None, "en") == "Riyadh"
    assert zone_city("Europe/London", "ar") == "لندن"
