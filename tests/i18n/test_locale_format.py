"""Issue 19: numbers and nouns agree, and numbers, money, dates, times and Hijri dates follow the reader's locale.

Counts embedded in ordinary messages (``{days@plural.day_oblique}``) take CLDR's plural form of the count in
each language; the Jinja filters print numbers with separators, money with halalas, days and times in the
tenant's time zone, and beside them the Umm al-Qura date as ``hijridate`` gives it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hijridate import Gregorian
from jinja2 import Environment

from atlas.i18n import plurals, translate, translate_plural
from atlas.i18n.filters import FILTERS, GLOBALS
from atlas.i18n.formats import (
    format_date,
    format_datetime,
    format_money,
    format_number,
    hijri_date,
    valid_time_zone,
)

COUNTS = (0, 1, 2, 3, 11, 100)
# The Arabic noun after a number, as CLDR's categories for ar ask (0: zero, 1: one, 2: two, 3: few, 11: many,
# 100: other); standalone, and after a preposition or كل ("oblique": the dual in ـين).
DAYS_AR = ("0 يوم", "1 يوم", "يومان", "3 أيام", "11 يوماً", "100 يوم")
DAYS_AR_OBLIQUE = ("0 يوم", "1 يوم", "يومين", "3 أيام", "11 يوماً", "100 يوم")
DAYS_EN = ("0 days", "1 day", "2 days", "3 days", "11 days", "100 days")


def environment() -> Environment:
    env = Environment(autoescape=True)
    env.filters.update(FILTERS)
    env.globals.update(GLOBALS)
    return env


@pytest.mark.parametrize(
    ("count", "arabic", "oblique", "english"), list(zip(COUNTS, DAYS_AR, DAYS_AR_OBLIQUE, DAYS_EN, strict=True))
)
def test_days_agree_with_their_number_in_both_languages(count: int, arabic: str, oblique: str, english: str) -> None:
    assert translate_plural("plural.day", count, "ar") == arabic
    assert translate_plural("plural.day_oblique", count, "ar") == oblique
    assert translate_plural("plural.day", count, "en") == english
    assert translate_plural("plural.day_oblique", count, "en") == english
    # a message that embeds the count: the connector's window, "every N days"
    assert translate("connectors.detail.endpoints.window_days", "ar", days=count) == f"كل {oblique}"
    assert translate("connectors.detail.endpoints.window_days", "en", days=count) == f"every {english}"


def test_the_issues_examples_read_as_arabic_counts_them() -> None:
    assert translate("connectors.detail.endpoints.window_days", "ar", days=7) == "كل 7 أيام"  # not "7 يوماً"
    assert translate("errors.token_expiry_range", "ar", max=2).endswith("بين 1 ويومين.")  # not "2 يوماً"
    assert "يوماً" not in translate("errors.trial_extension_days", "ar", low=1, high=3)
    assert translate("errors.trial_extension_days", "en", low=1, high=1) == "The extension must be 1 to 1 day."


@pytest.mark.parametrize(
    ("key", "params", "arabic", "english"),
    [
        ("policy.reason.expires", {"hours": 2, "reminder_hours": 3}, "بعد ساعتين", "after 2 hours"),
        ("policy.reason.expires", {"hours": 1, "reminder_hours": 11}, "بـ 11 ساعةً", "a reminder 11 hours before"),
        (
            "policy.reason.approvals_required",
            {"count": 2, "roles": "x", "environment": "e", "priority": "p"},
            "تحتاج إلى موافقتين",
            "Needs 2 approvals",
        ),
        (
            "policy.reason.approvals_required",
            {"count": 1, "roles": "x", "environment": "e", "priority": "p"},
            "تحتاج إلى 1 موافقة",
            "Needs 1 approval from",
        ),
        ("policy.reason.blast_radius_items", {"items": 3, "limit": 2}, "يمسّ الإجراء 3 أصناف", "touches 3 items"),
        ("errors.plan_limit_connectors", {"plan": "b", "limit": 2, "upgrade_plan": "p"}, "بـ موصلين", "2 connectors."),
        ("errors.contract_months", {"low": 1, "high": 36}, "و36 شهراً", "1 to 36 months"),
        ("connectors.detail.auth_info.idle_minutes", {"minutes": 25}, "25 دقيقةً", "25 minutes"),
        ("approvals.progress", {"approvals": 1, "required": 2}, "1 من موافقتين", "1 of 2 approvals"),
    ],
)
def test_counted_messages_agree(key: str, params: dict[str, object], arabic: str, english: str) -> None:
    assert arabic in translate(key, "ar", **params)
    assert english in translate(key, "en", **params)


def test_a_message_without_its_count_still_shows_itself() -> None:
    assert "{days}" in translate("connectors.detail.endpoints.window_days", "ar")


def test_the_new_plural_entries_have_every_category() -> None:
    entries = plurals()
    for key in ("plural.day_oblique", "plural.hour_oblique", "plural.minute", "plural.month_oblique"):
        assert set(entries[key]["ar"]) == {"zero", "one", "two", "few", "many", "other"}, key
        assert {"one", "other"} <= set(entries[key]["en"]), key


def test_numbers_and_money_have_thousands_separators() -> None:
    assert format_money("250000.00", "ar") == "250,000.00"
    assert format_money(Decimal("250000"), "en") == "250,000.00"
    assert format_money(1234.5, "en") == "1,234.50"
    assert format_money(None, "ar") == "—"
    assert format_number(1234567, "ar") == "1,234,567"
    assert format_number(Decimal("1234.5"), "en", digits=2) == "1,234.50"
    assert format_number("not a number", "en") == "not a number"


def test_dates_and_times_by_locale_in_the_tenants_time_zone() -> None:
    moment = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)  # 00:30 on 8 December in Riyadh (UTC+3)
    assert format_date(moment, "ar") == "8 ديسمبر 2026"
    assert format_date(moment, "en") == "December 8, 2026"
    assert format_date(moment, "en", "UTC") == "December 7, 2026"
    assert format_datetime(moment, "en", "Asia/Riyadh").startswith("December 8, 2026 12:30")
    assert format_datetime(moment, "ar", "Asia/Riyadh") == "8 ديسمبر 2026 12:30 ص"
    assert format_datetime(moment, "en", "UTC", seconds=True).startswith("December 7, 2026 9:30:00")
    assert format_date(date(2026, 12, 7), "ar") == "7 ديسمبر 2026"


def test_the_hijri_date_of_a_known_day_is_the_umm_al_qura_one() -> None:
    hijri = Gregorian(2026, 12, 7).to_hijri()
    assert (hijri.year, hijri.month, hijri.day) == (1448, 6, 27)
    assert hijri_date(date(2026, 12, 7), "ar") == "27 جمادى الآخرة 1448 هـ"
    assert hijri_date(date(2026, 12, 7), "en") == "27 Jumada al-Akhirah 1448 AH"
    assert hijri_date(datetime(2026, 12, 7, 21, 30, tzinfo=UTC), "ar", "Asia/Riyadh") == "28 جمادى الآخرة 1448 هـ"
    assert hijri_date(date(1800, 1, 1), "ar") is None  # outside the Umm al-Qura tables: no date rather than a wrong one
    assert hijri_date(None, "en") is None


def test_time_zone_names_are_checked_against_zoneinfo() -> None:
    assert valid_time_zone("Asia/Riyadh") and valid_time_zone("UTC") and valid_time_zone("Europe/London")
    assert not valid_time_zone("Asia/Jeddah") and not valid_time_zone("") and not valid_time_zone("../etc/passwd")
    assert "Asia/Riyadh" in GLOBALS["time_zone_names"]()


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_filters_carry_both_languages_for_the_switch(lang: str) -> None:
    env = environment()
    template = "{{ amount|money }}|{{ n|number }}|{{ day|local_date(hijri=True) }}|{{ at|local_datetime }}"
    values = {"amount": "250000.00", "n": 1234567, "day": date(2026, 12, 7), "none": None}
    at = datetime(2026, 12, 7, 9, tzinfo=UTC)
    template += "|{{ none|local_date }}"
    page = env.from_string(template).render(lang=lang, at=at, time_zone="Asia/Riyadh", **values)
    assert page.count('data-text-ar="250,000.00" data-text-en="250,000.00">250,000.00<') == 1
    assert ">1,234,567<" in page
    shown_day = "7 ديسمبر 2026" if lang == "ar" else "December 7, 2026"
    assert f">{shown_day}</time>" in page
    assert 'data-text-ar="(27 جمادى الآخرة 1448 هـ)" data-text-en="(27 Jumada al-Akhirah 1448 AH)"' in page
    assert 'datetime="2026-12-07T09:00:00+00:00" title="Asia/Riyadh"' in page  # 12:00 in Riyadh
    assert ("12:00 م" if lang == "ar" else "12:00\u202fPM") in page
    assert page.endswith('<span class="muted">—</span>')
