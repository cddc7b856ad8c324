"""Money in integer halalas: VAT, proration (property-based), and the ZATCA TLV against a known answer."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from atlas.billing import zatca
from atlas.billing.money import charge_for, prorated, round_half_up, sar, vat_of


def test_vat_on_the_plans():
    assert charge_for(29_900, 1500).vat == 4_485
    assert charge_for(29_900, 1500).total == 34_385
    assert charge_for(79_900, 1500).total == 91_885
    assert charge_for(199_900, 1500).total == 229_885
    assert vat_of(1, 1500) == 0  # 0.15 halala rounds down
    assert vat_of(3, 1500) == 0  # 0.45
    assert vat_of(4, 1500) == 1  # 0.6
    assert vat_of(10, 1500) == 2  # 1.5 rounds half up


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10_000))
def test_vat_is_the_nearest_halala(net, rate_bp):
    vat = vat_of(net, rate_bp)
    assert isinstance(vat, int)
    exact_times_2 = 2 * net * rate_bp  # twice the exact VAT, in 1/10000 halalas
    assert abs(2 * vat * 10_000 - exact_times_2) <= 10_000  # within half a halala
    assert 2 * vat * 10_000 - exact_times_2 != -10_000  # exactly half rounds up, never down


@given(
    st.integers(min_value=0, max_value=500_000),
    st.integers(min_value=1, max_value=31 * 86_400),
    st.data(),
)
def test_proration_properties(difference, period, data):
    remaining = data.draw(st.integers(min_value=-10, max_value=period + 10))
    charge = prorated(difference, remaining, period)
    assert isinstance(charge, int)
    assert 0 <= charge <= difference
    clamped = max(0, min(remaining, period))
    # the nearest halala to difference * remaining / period
    assert abs(charge * period * 2 - difference * clamped * 2) <= period
    if clamped == period:
        assert charge == difference
    if clamped == 0:
        assert charge == 0
    later = data.draw(st.integers(min_value=clamped, max_value=period))
    assert prorated(difference, later, period) >= charge  # more time left never costs less


def test_proration_examples_and_rounding_rule():
    month = 30 * 86_400
    assert prorated(50_000, month // 2, month) == 25_000  # Basic -> Professional half way through
    assert prorated(1, 1, 2) == 1  # 0.5 halala rounds up
    assert prorated(1, 1, 3) == 0
    assert prorated(-100, month, month) == 0  # a cheaper plan is never charged
    assert round_half_up(5, 2) == 3 and round_half_up(4, 2) == 2


def test_sar_strings():
    assert sar(34_385) == "343.85"
    assert sar(4_485) == "44.85"
    assert sar(5) == "0.05"
    assert sar(100_000) == "1000.00"


def test_tlv_known_answer():
    # The example of ZATCA's QR code guideline (seller "Bobs Records").
    payload = zatca.phase1_payload(
        seller_name="Bobs Records",
        seller_vat_number="310122393500003",
        issued_at=datetime(2022, 4, 25, 15, 30, tzinfo=UTC),
        total=100_000,
        vat=15_000,
    )
    assert payload == (
        "AQxCb2JzIFJlY29yZHMCDzMxMDEyMjM5MzUwMDAwMwMUMjAyMi0wNC0yNVQxNTozMDowMFoEBzEwMDAuMDAFBjE1MC4wMA=="
    )
    raw = base64.b64decode(payload)
    assert raw[:14] == b"\x01\x0cBobs Records"
    assert raw[14:31] == b"\x02\x0f310122393500003"


def test_tlv_lengths_are_utf8_bytes():
    payload = zatca.phase1_payload(
        seller_name="شركة أطلس",
        seller_vat_number="300000000000003",
        issued_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        total=34_385,
        vat=4_485,
    )
    raw = base64.b64decode(payload)
    assert raw[0] == 1 and raw[1] == len("شركة أطلس".encode())  # 17 bytes, 9 characters
    assert zatca.decode(payload) == {
        1: "شركة أطلس",
        2: "300000000000003",
        3: "2026-12-01T09:00:00Z",
        4: "343.85",
        5: "44.85",
    }


def test_the_qr_image_is_an_svg():
    svg = zatca.qr_svg("AQxCb2JzIFJlY29yZHM=")
    assert svg.startswith("<svg") and "path" in svg
