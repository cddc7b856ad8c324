"""Moyasar settings: key modes are checked at start-up, and a refused start never prints a key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from atlas.billing.moyasar import client_from_settings, key_mode, key_problems
from atlas.config import Settings

SK_TEST, PK_TEST = "sk_test_4nY8uL2Qp0", "pk_test_9Rb3Xe7Wm1"
SK_LIVE, PK_LIVE = "sk_live_7Hc2Vd5Kq8", "pk_live_3Jn6Tf1Zs4"
PRODUCTION = {
    "ATLAS_ENV": "production",
    "ATLAS_SECRET_KEY": "x" * 48,
    "OIDC_ISSUER": "https://login.example.sa",
    "OIDC_CLIENT_SECRET": "real-secret",
    "ATLAS_BASE_URL": "https://atlas.example.sa",
}


def refused(**settings: str) -> str:
    with pytest.raises(ValidationError) as error:
        Settings(**settings)
    message = str(error.value)
    assert "Atlas refuses to start" in message
    for key in (SK_TEST, PK_TEST, SK_LIVE, PK_LIVE, "whsec"):
        assert key not in message, "a refused start must not print a key"
    return message


def test_key_mode_comes_from_the_prefix():
    assert key_mode(SK_TEST) == key_mode(PK_TEST) == "test"
    assert key_mode(SK_LIVE) == key_mode(PK_LIVE) == "live"
    for bad in ("sk_test_", "", "SK_TEST_abc"):
        with pytest.raises(ValueError):
            key_mode(bad)
    with pytest.raises(ValueError) as error:
        key_mode("token_Xq9secretish")
    assert "Xq9secretish" not in str(error.value)


def test_no_keys_means_payments_off_and_matching_test_keys_work():
    assert not Settings(ATLAS_ENV="development").moyasar_configured
    assert not Settings(MOYASAR_SECRET_KEY="", MOYASAR_PUBLISHABLE_KEY=" ").moyasar_configured
    settings = Settings(MOYASAR_SECRET_KEY=SK_TEST, MOYASAR_PUBLISHABLE_KEY=PK_TEST)
    assert settings.moyasar_configured and settings.moyasar_base_url == "https://api.moyasar.com/v1"
    assert SK_TEST not in repr(settings) and SK_TEST not in str(settings.model_dump())
    client = client_from_settings(settings)
    assert client.mode == "test" and SK_TEST not in repr(client)


def test_keys_of_different_modes_are_refused():
    message = refused(**PRODUCTION, MOYASAR_SECRET_KEY=SK_LIVE, MOYASAR_PUBLISHABLE_KEY=PK_TEST)
    assert "different modes" in message
    assert "different modes" in refused(MOYASAR_SECRET_KEY=SK_TEST, MOYASAR_PUBLISHABLE_KEY=PK_LIVE)


def test_a_live_key_outside_production_is_refused():
    assert "outside production" in refused(MOYASAR_SECRET_KEY=SK_LIVE, MOYASAR_PUBLISHABLE_KEY=PK_LIVE)
    assert "outside production" in refused(
        ATLAS_ENV="test", MOYASAR_SECRET_KEY=SK_LIVE, MOYASAR_PUBLISHABLE_KEY=PK_LIVE
    )


def test_half_a_pair_swapped_keys_and_non_keys_are_refused():
    assert "MOYASAR_PUBLISHABLE_KEY must be set" in refused(MOYASAR_SECRET_KEY=SK_TEST)
    assert "MOYASAR_SECRET_KEY must be set" in refused(MOYASAR_PUBLISHABLE_KEY=PK_TEST)
    assert "swap the two keys" in refused(MOYASAR_SECRET_KEY=PK_TEST, MOYASAR_PUBLISHABLE_KEY=SK_TEST)
    assert "is not a Moyasar key" in refused(MOYASAR_SECRET_KEY="secret", MOYASAR_PUBLISHABLE_KEY=PK_TEST)


def test_production_with_live_keys_needs_https_and_a_webhook_secret():
    message = refused(
        **PRODUCTION,
        MOYASAR_SECRET_KEY=SK_LIVE,
        MOYASAR_PUBLISHABLE_KEY=PK_LIVE,
        MOYASAR_BASE_URL="http://api.moyasar.com/v1",
    )
    assert "MOYASAR_BASE_URL" in message and "MOYASAR_WEBHOOK_SECRET" in message
    settings = Settings(
        **PRODUCTION,
        MOYASAR_SECRET_KEY=SK_LIVE,
        MOYASAR_PUBLISHABLE_KEY=PK_LIVE,
        MOYASAR_WEBHOOK_SECRET="whsec-" + "r" * 30,
    )
    assert settings.moyasar_configured and client_from_settings(settings).mode == "live"


def test_key_problems_name_settings_never_values():
    problems = key_problems(secret_key=SK_LIVE, publishable_key=PK_TEST, environment="development")
    assert len(problems) == 2 and not any(SK_LIVE in p or PK_TEST in p for p in problems)
    assert key_problems(secret_key=None, publishable_key=None, environment="production") == []


def test_the_client_needs_configured_settings():
    with pytest.raises(ValueError, match="not configured"):
        client_from_settings(Settings())
