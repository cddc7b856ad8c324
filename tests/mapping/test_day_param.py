"""The inventory browser's date filters read days on the tenant's clock (issue 19), not UTC's."""

from __future__ import annotations

from datetime import UTC, datetime

from atlas.mapping.data_pages import day_param


def test_a_day_is_the_tenants_day() -> None:
    # 7 December in Riyadh runs from 21:00 UTC on the 6th to 21:00 UTC on the 7th
    assert day_param("2026-12-07", time_zone="Asia/Riyadh") == datetime(2026, 12, 6, 21, tzinfo=UTC)
    assert day_param("2026-12-07", end=True, time_zone="Asia/Riyadh") == datetime(2026, 12, 7, 21, tzinfo=UTC)
    assert day_param("2026-12-07", time_zone="UTC") == datetime(2026, 12, 7, tzinfo=UTC)


def test_digits_times_and_explicit_offsets() -> None:
    assert day_param("٢٠٢٦-١٢-٠٧ ١٤:٣٠", time_zone="Asia/Riyadh") == datetime(2026, 12, 7, 11, 30, tzinfo=UTC)
    assert day_param("2026-12-07T00:00:00+00:00", time_zone="Asia/Riyadh") == datetime(2026, 12, 7, tzinfo=UTC)
    assert day_param("yesterday", time_zone="Asia/Riyadh") is None
    assert day_param("2026-02-30", time_zone="Asia/Riyadh") is None
    assert day_param("", time_zone="Asia/Riyadh") is None
