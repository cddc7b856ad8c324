"""Arabic numerals and nouns agree through CLDR's plural rules (Babel), in the catalogue's plural entries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from atlas.ai_engine.explain import PHRASES, explain
from atlas.i18n import LANGS, PLURAL_CATEGORIES, catalogue, plural_category, plurals, translate_plural


@pytest.mark.parametrize(
    ("count", "category", "arabic", "english"),
    [
        (1, "one", "1 يوم", "1 day"),
        (2, "two", "يومان", "2 days"),
        (3, "few", "3 أيام", "3 days"),
        (10, "few", "10 أيام", "10 days"),
        (11, "many", "11 يوماً", "11 days"),
        (99, "many", "99 يوماً", "99 days"),
        (100, "other", "100 يوم", "100 days"),
        (103, "few", "103 أيام", "103 days"),
        (111, "many", "111 يوماً", "111 days"),
        (2.5, "other", "2.5 يوم", "2.5 days"),
    ],
)
def test_days_in_arabic_follow_cldr(count: float, category: str, arabic: str, english: str) -> None:
    assert plural_category(count, "ar") == category
    assert translate_plural("plural.day", count, "ar") == arabic
    assert translate_plural("plural.day", count, "en") == english


def test_units_and_riyals_agree_too() -> None:
    assert [translate_plural("plural.unit", n, "ar") for n in (1, 2, 3, 11, 100)] == [
        "1 وحدة",
        "وحدتان",
        "3 وحدات",
        "11 وحدةً",
        "100 وحدة",
    ]
    assert translate_plural("plural.value_at_risk", 2, "ar") == "القيمة المعرضة للخطر ريالان"
    assert translate_plural("plural.value_at_risk", 15, "ar") == "القيمة المعرضة للخطر 15 ريالاً"
    assert translate_plural("plural.unit", 1, "en") == "1 unit"


def test_a_count_shown_as_text_agrees_with_what_is_shown() -> None:
    # 1,250 is "other" (n % 100 = 50 is many): the category comes from the number, not the text's last digits.
    assert plural_category("1,250", "ar") == "many"
    assert plural_category("2", "ar") == "two"
    assert plural_category(Decimal("2.0"), "en") == "other"  # "2.0 days", CLDR's visible fraction
    assert plural_category("n/a", "ar") == "other"
    assert translate_plural("plural.no_such_key", 3, "ar") == "plural.no_such_key"


def test_every_plural_entry_has_each_languages_categories_and_the_same_placeholders() -> None:
    entries = plurals()
    assert {"plural.day", "plural.unit", "plural.unit_per_day", "plural.value_at_risk"} <= set(entries)
    for key, entry in entries.items():
        assert key not in catalogue(), key
        assert set(entry["ar"]) == PLURAL_CATEGORIES, key  # Arabic uses all six
        assert {"one", "other"} <= set(entry["en"]), key
        for lang in LANGS:
            for text in entry[lang].values():
                assert text.strip(), key
    for _, noun in PHRASES.values():
        assert noun in entries


def test_explanations_say_days_as_arabic_counts_them() -> None:
    figures = {"idle_days": 2.0, "history_days": 11.0, "dead_stock_days": 100.0, "quantity": 3.0, "value": None}
    english, arabic = explain("write_off", figures, ("SKU-1", "MAIN"))
    assert "منذ يومان" in arabic and "11 يوماً" in arabic and "100 يوم" in arabic and "3 وحدات" in arabic
    assert "يوماً يوماً" not in arabic
    assert "2 days" in english and "11 days" in english and "3 units" in english
