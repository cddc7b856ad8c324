"""Settings are validated at start-up; production refuses unsafe defaults."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from atlas.config import Settings


def test_development_defaults_work():
    settings = Settings(ATLAS_ENV="development")
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert not settings.secure_cookies


def test_plain_postgres_urls_get_the_async_driver():
    assert Settings(DATABASE_URL="postgresql://u@h:5432/d").database_url == "postgresql+asyncpg://u@h:5432/d"
    with pytest.raises(ValidationError, match="PostgreSQL URL"):
        Settings(DATABASE_URL="mysql://u@h/d")


def test_production_refuses_the_development_secret_and_missing_issuer():
    with pytest.raises(ValidationError) as error:
        Settings(ATLAS_ENV="production")
    message = str(error.value)
    assert "ATLAS_SECRET_KEY" in message and "OIDC_ISSUER" in message and "ATLAS_BASE_URL" in message


def test_production_accepts_real_settings():
    settings = Settings(
        ATLAS_ENV="production",
        ATLAS_SECRET_KEY="x" * 48,
        OIDC_ISSUER="https://login.example.sa",
        OIDC_CLIENT_SECRET="real-secret",
        ATLAS_BASE_URL="https://atlas.example.sa",
    )
    assert settings.secure_cookies


def test_the_app_role_must_be_an_identifier():
    with pytest.raises(ValidationError):
        Settings(ATLAS_DB_APP_ROLE="atlas; DROP TABLE users")


def test_the_local_zatca_gateway_is_never_used_in_production_or_for_zatcas_core_environment():
    local = "http://127.0.0.1:3003/e-invoicing"
    with pytest.raises(ValidationError, match="ATLAS_ZATCA_GATEWAY_URL must be ZATCA's https:// gateway"):
        Settings(
            ATLAS_ENV="production",
            ATLAS_SECRET_KEY="x" * 48,
            OIDC_ISSUER="https://login.example.sa",
            OIDC_CLIENT_SECRET="real-secret",
            ATLAS_BASE_URL="https://atlas.example.sa",
            ATLAS_ZATCA_GATEWAY_URL=local,
        )
    for url in (local, "https://localhost:3003/e-invoicing"):
        with pytest.raises(ValidationError, match="ATLAS_ZATCA_ENVIRONMENT=core must use ZATCA's https:// gateway"):
            Settings(ATLAS_ZATCA_ENVIRONMENT="core", ATLAS_ZATCA_GATEWAY_URL=url)
    assert Settings(ATLAS_ZATCA_ENVIRONMENT="core").zatca_gateway_url.startswith("https://gw-fatoora.zatca.gov.sa")
    assert Settings(ATLAS_ZATCA_GATEWAY_URL=local).zatca_environment == "developer-portal"  # the demo's set-up
