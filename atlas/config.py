"""Settings from the environment, validated at start-up.

Every setting has a safe development default, so `atlas serve` works on a
laptop; a production start (``ATLAS_ENV=production``) refuses to run with the
development secret key or without a real OIDC issuer.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from atlas.invoice_party import ADDRESS_FIELDS, address_problems, compact_digits, crn_ok
from atlas.moyasar_keys import key_problems

DEV_SECRET_KEY = "atlas-development-secret-key-do-not-use-in-production"


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message says which and what to do."""


def allowed_host_ports(value: str) -> list[tuple[str, int]]:
    """``ATLAS_ALLOWED_PRIVATE_HOSTS`` (``"erp.local:8443,10.0.0.5:443,[fd00::1]:443"``) as its entries' hosts, as
    written (an IPv6 address without its brackets), and ports.

    Only the setting's form: every entry names its port, and an entry without one raises `ValueError` naming it, so
    a deployment with an old-style list refuses to start rather than open every port of the host. It sits here, with
    the settings, so that validating them needs nothing above the base layer; the execution lock normalises the hosts
    and builds its network policy from them (`atlas.execution_lock.network.NetworkPolicy.from_settings`)."""
    entries: list[tuple[str, int]] = []
    for raw in value.split(","):
        entry = raw.strip()
        if not entry:
            continue
        if entry.startswith("["):
            host, bracket, rest = entry[1:].partition("]")
            port_text = rest[1:] if bracket and rest.startswith(":") else ""
        else:
            host, colon, port_text = entry.rpartition(":")
            if not colon or ":" in host:
                host, port_text = entry, ""
        if not host or not port_text:
            raise ValueError(
                f"ATLAS_ALLOWED_PRIVATE_HOSTS: {entry!r} names no port; write host:port (erp.local:8443), "
                "an IPv6 address in brackets ([fd00::1]:443)"
            )
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"ATLAS_ALLOWED_PRIVATE_HOSTS: {entry!r} has no valid port (1-65535)")
        entries.append((host, int(port_text)))
    return entries


class Settings(BaseSettings):
    # hide_input_in_errors: a refused start must not print the settings it was given (keys, secrets).
    model_config = SettingsConfigDict(
        env_prefix="", extra="ignore", case_sensitive=False, populate_by_name=True, hide_input_in_errors=True
    )

    env: Literal["development", "test", "production"] = Field(default="development", validation_alias="ATLAS_ENV")
    secret_key: str = Field(default=DEV_SECRET_KEY, validation_alias="ATLAS_SECRET_KEY")
    # Key for encrypting secrets at rest (Fernet, urlsafe base64 of 32 bytes). When
    # unset it is derived from the secret key, so a development setup needs one key.
    encryption_key: str | None = Field(default=None, validation_alias="ATLAS_ENCRYPTION_KEY")
    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/atlas", validation_alias="DATABASE_URL"
    )
    # The database role every application query runs as (SET ROLE on each
    # connection). It owns nothing and cannot bypass row-level security.
    db_app_role: str = Field(default="atlas_app", validation_alias="ATLAS_DB_APP_ROLE")
    db_pool_size: int = Field(default=10, validation_alias="ATLAS_DB_POOL_SIZE")
    temporal_address: str = Field(default="127.0.0.1:7233", validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", validation_alias="TEMPORAL_NAMESPACE")
    temporal_task_queue: str = Field(default="atlas", validation_alias="TEMPORAL_TASK_QUEUE")
    base_url: str = Field(default="http://127.0.0.1:8000", validation_alias="ATLAS_BASE_URL")
    oidc_issuer: str | None = Field(default=None, validation_alias="OIDC_ISSUER")
    oidc_client_id: str = Field(default="atlas", validation_alias="OIDC_CLIENT_ID")
    oidc_client_secret: str = Field(default="atlas-dev-client-secret", validation_alias="OIDC_CLIENT_SECRET")
    oidc_scopes: str = Field(default="openid email profile", validation_alias="OIDC_SCOPES")
    # Shown as one-click buttons on the sign-in page of a demo deployment.
    demo_mode: bool = Field(default=False, validation_alias="ATLAS_DEMO")
    session_ttl_hours: int = Field(default=12, validation_alias="ATLAS_SESSION_TTL_HOURS")
    login_rate_limit_per_minute: int = Field(default=30, validation_alias="ATLAS_LOGIN_RATE_LIMIT")
    token_rate_limit_per_minute: int = Field(default=60, validation_alias="ATLAS_TOKEN_RATE_LIMIT")
    trial_days: int = Field(default=7, validation_alias="ATLAS_TRIAL_DAYS")
    # An approved reorder or transfer the source does not show counts as on order for its lead time plus this.
    on_order_grace_days: int = Field(default=7, ge=0, le=365, validation_alias="ATLAS_ON_ORDER_GRACE_DAYS")
    housekeeping_interval_seconds: int = Field(default=3600, validation_alias="ATLAS_HOUSEKEEPING_SECONDS")
    # Connectors may not reach loopback, link-local or private networks unless this is on (demo, tests)
    # or the host is listed (an on-premises ERP): SSRF protection.
    allow_private_networks: bool = Field(default=False, validation_alias="ATLAS_ALLOW_PRIVATE_NETWORKS")
    # host:port pairs ("erp.local:8443,10.0.0.5:443,[fd00::1]:443"): an allowed host opens that port only, and an
    # entry without a port refuses the start (allowed_host_ports, above). Both settings are read by the execution
    # lock, which builds its network policy from them (atlas.execution_lock.network.NetworkPolicy.from_settings).
    allowed_private_hosts: str = Field(default="", validation_alias="ATLAS_ALLOWED_PRIVATE_HOSTS")
    connector_health_interval_seconds: int = Field(default=900, validation_alias="ATLAS_CONNECTOR_HEALTH_SECONDS")
    sync_heartbeat_seconds: int = Field(default=30, validation_alias="ATLAS_SYNC_HEARTBEAT_SECONDS")
    log_level: str = Field(default="INFO", validation_alias="ATLAS_LOG_LEVEL")
    log_json: bool = Field(default=True, validation_alias="ATLAS_LOG_JSON")
    # Moyasar (atlas/billing/moyasar.py). The keys' prefixes decide test or live mode; both keys or neither.
    moyasar_base_url: str = Field(default="https://api.moyasar.com/v1", validation_alias="MOYASAR_BASE_URL")
    moyasar_secret_key: SecretStr | None = Field(default=None, validation_alias="MOYASAR_SECRET_KEY")
    # Not a secret: the browser uses it to send the card straight to Moyasar.
    moyasar_publishable_key: str | None = Field(default=None, validation_alias="MOYASAR_PUBLISHABLE_KEY")
    # The webhook's shared secret, which Moyasar sends back as each event's `secret_token`.
    moyasar_webhook_secret: SecretStr | None = Field(default=None, validation_alias="MOYASAR_WEBHOOK_SECRET")
    moyasar_timeout_seconds: float = Field(default=15.0, gt=0, validation_alias="MOYASAR_TIMEOUT_SECONDS")
    # --- billing (issue 7) ---------------------------------------------------------------------------
    # The seller on every invoice (ZATCA QR tags 1 and 2).
    seller_name: str = Field(default="Atlas Enterprise AI Layer", validation_alias="ATLAS_SELLER_NAME")
    seller_vat_number: str = Field(default="300000000000003", validation_alias="ATLAS_SELLER_VAT_NUMBER")
    # The seller as a Phase 2 invoice names it: legal names in Arabic and English, national address and commercial
    # registration number. Demo defaults; checked at start-up as a VAT-registered buyer's are (atlas.invoice_party).
    seller_legal_name_ar: str = Field(
        default="أطلس لطبقة الذكاء الاصطناعي للمؤسسات", min_length=2, validation_alias="ATLAS_SELLER_LEGAL_NAME_AR"
    )
    seller_legal_name_en: str = Field(
        default="Atlas Enterprise AI Layer", min_length=2, validation_alias="ATLAS_SELLER_LEGAL_NAME_EN"
    )
    seller_street: str = Field(default="King Fahd Road", validation_alias="ATLAS_SELLER_STREET")
    seller_building_number: str = Field(default="2417", validation_alias="ATLAS_SELLER_BUILDING_NUMBER")
    seller_additional_number: str = Field(default="8754", validation_alias="ATLAS_SELLER_ADDITIONAL_NUMBER")
    seller_district: str = Field(default="Al Olaya", validation_alias="ATLAS_SELLER_DISTRICT")
    seller_city: str = Field(default="Riyadh", validation_alias="ATLAS_SELLER_CITY")
    seller_postal_code: str = Field(default="12214", validation_alias="ATLAS_SELLER_POSTAL_CODE")
    seller_country: str = Field(default="SA", validation_alias="ATLAS_SELLER_COUNTRY")
    seller_crn: str = Field(default="1010123456", validation_alias="ATLAS_SELLER_CRN")
    # ZATCA's e-invoicing gateway (atlas/billing/zatca_gateway.py): the base URL before the environment, and the
    # environment (developer-portal, simulation, core). The demo points the URL at its local gateway.
    zatca_gateway_url: str = Field(
        default="https://gw-fatoora.zatca.gov.sa/e-invoicing", validation_alias="ATLAS_ZATCA_GATEWAY_URL"
    )
    zatca_environment: Literal["developer-portal", "simulation", "core"] = Field(
        default="developer-portal", validation_alias="ATLAS_ZATCA_ENVIRONMENT"
    )
    zatca_timeout_seconds: float = Field(default=30.0, gt=0, validation_alias="ATLAS_ZATCA_TIMEOUT_SECONDS")
    vat_rate_bp: int = Field(default=1500, validation_alias="ATLAS_VAT_RATE_BP")  # basis points: 1500 = 15%
    # A billing period is one calendar month; tests set a number of seconds instead.
    billing_period_seconds: int | None = Field(default=None, validation_alias="ATLAS_BILLING_PERIOD_SECONDS")
    # Renewal retries after a failed charge, in "days" after the first failure; a day is 86400 s unless shortened.
    dunning_schedule_days: str = Field(default="1,3,5,7", validation_alias="ATLAS_DUNNING_SCHEDULE_DAYS")
    billing_day_seconds: int = Field(default=86400, validation_alias="ATLAS_BILLING_DAY_SECONDS")
    trial_sweep_interval_seconds: int = Field(default=3600, validation_alias="ATLAS_TRIAL_SWEEP_SECONDS")
    # A second "Subscribe" for the same plan within this window reuses the payment already started.
    payment_reuse_seconds: int = Field(default=900, validation_alias="ATLAS_PAYMENT_REUSE_SECONDS")
    # The billing sweep asks Moyasar about payments still open after this long (no browser return, no webhook);
    # one Moyasar has never heard of is marked abandoned after the second figure.
    payment_reconcile_after_seconds: int = Field(default=900, ge=0, validation_alias="ATLAS_PAYMENT_RECONCILE_SECONDS")
    payment_abandon_after_seconds: int = Field(default=86400, ge=0, validation_alias="ATLAS_PAYMENT_ABANDON_SECONDS")
    # --- approvals (issue 6) ----------------------------------------------------------------------------
    # Policy durations (expiry, reminder) are in hours; an hour is 3600 s unless shortened (tests use seconds).
    approval_hour_seconds: float = Field(default=3600, gt=0, validation_alias="ATLAS_APPROVAL_HOUR_SECONDS")
    # How often pending recommendations whose approval workflow never started get one (and stuck ones resume).
    approval_reconcile_seconds: int = Field(default=300, ge=10, validation_alias="ATLAS_APPROVAL_RECONCILE_SECONDS")
    # The audit trail's signed checkpoints (docs/audit.md). The Ed25519 signing key never enters the database: a
    # PEM in ATLAS_AUDIT_SIGNING_KEY or a file named by ATLAS_AUDIT_SIGNING_KEY_FILE; outside production one is
    # generated into ATLAS_DATA_DIR. Public keys of retired signing keys (PEMs, one file) keep old checkpoints valid.
    data_dir: str = Field(default=".atlas", validation_alias="ATLAS_DATA_DIR")
    audit_signing_key: SecretStr | None = Field(default=None, validation_alias="ATLAS_AUDIT_SIGNING_KEY")
    audit_signing_key_file: str | None = Field(default=None, validation_alias="ATLAS_AUDIT_SIGNING_KEY_FILE")
    audit_trusted_keys_file: str | None = Field(default=None, validation_alias="ATLAS_AUDIT_TRUSTED_KEYS_FILE")
    audit_checkpoint_interval_seconds: int = Field(
        default=3600, ge=10, validation_alias="ATLAS_AUDIT_CHECKPOINT_SECONDS"
    )
    # --- web defences (issue 16, docs/security.md) ------------------------------------------------------
    # /metrics answers only a scraper sending `Authorization: Bearer <this>`; unset, /metrics is 404.
    metrics_token: SecretStr | None = Field(default=None, validation_alias="ATLAS_METRICS_TOKEN")
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto Atlas believes: comma-separated addresses or
    # CIDRs (e.g. "10.0.0.0/8, 127.0.0.1"). Empty (the default): no one's, the client is the TCP peer.
    trusted_proxies: str = Field(default="", validation_alias="ATLAS_TRUSTED_PROXIES")

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _blank_metrics_token_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and len(value.strip()) < 16:
            raise ValueError("ATLAS_METRICS_TOKEN must be at least 16 random characters (or unset)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        import ipaddress

        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"ATLAS_TRUSTED_PROXIES must list IP addresses or CIDRs separated by commas; {part!r} is neither"
                ) from None
        return value

    @property
    def trusted_proxy_networks(self) -> list[str]:
        """ATLAS_TRUSTED_PROXIES as normalised networks ("127.0.0.1" becomes "127.0.0.1/32")."""
        import ipaddress

        parts = (p.strip() for p in self.trusted_proxies.split(","))
        return [str(ipaddress.ip_network(p, strict=False)) for p in parts if p]

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # Accept the plain URL most tools print and use the asyncpg driver.
        for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("DATABASE_URL must be a PostgreSQL URL (postgresql://user@host:port/db)")
        return value

    @field_validator("allowed_private_hosts")
    @classmethod
    def _allowed_hosts_name_ports(cls, value: str) -> str:
        allowed_host_ports(value)  # raises, naming the entry that has no port
        return value

    @field_validator("db_app_role")
    @classmethod
    def _role_is_identifier(cls, value: str) -> str:
        if not value.replace("_", "").isalnum() or not value[0].isalpha():
            raise ValueError("ATLAS_DB_APP_ROLE must be a plain identifier (letters, digits, _)")
        return value

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
            problems.append("ATLAS_SECRET_KEY must be set to a random value of at least 32 characters")
        if not self.oidc_issuer or not self.oidc_issuer.startswith("https://"):
            problems.append("OIDC_ISSUER must be the https:// URL of your identity provider")
        if self.oidc_client_secret == "atlas-dev-client-secret":
            problems.append("OIDC_CLIENT_SECRET must be set")
        if not self.base_url.startswith("https://"):
            problems.append("ATLAS_BASE_URL must be the public https:// URL of Atlas")
        if self.demo_mode:
            problems.append("ATLAS_DEMO must be off in production")
        if not self.zatca_gateway_url.startswith("https://"):
            # the local ZATCA gateway (atlas zatca-fake) answers over plain HTTP: never in production
            problems.append("ATLAS_ZATCA_GATEWAY_URL must be ZATCA's https:// gateway in production")
        if problems:
            raise SettingsError("Atlas refuses to start in production: " + "; ".join(problems))
        return self

    @model_validator(mode="after")
    def _zatca_core_is_real(self) -> Settings:
        """ZATCA's production environment (``core``: real CSIDs, real invoices) is only ever spoken to over HTTPS at a
        host that is not this machine, so a unit onboarded there can never end up at the local gateway."""
        if self.zatca_environment == "core":
            url = urlsplit(self.zatca_gateway_url)
            if url.scheme != "https" or (url.hostname or "") in ("localhost", "127.0.0.1", "::1"):
                raise SettingsError(
                    "Atlas refuses to start: ATLAS_ZATCA_ENVIRONMENT=core must use ZATCA's https:// gateway "
                    "(ATLAS_ZATCA_GATEWAY_URL), not a local one"
                )
        return self

    @field_validator("moyasar_secret_key", "moyasar_publishable_key", "moyasar_webhook_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # An empty variable (MOYASAR_SECRET_KEY=) means "not set", as in a .env template.
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _moyasar_is_consistent(self) -> Settings:
        problems = key_problems(
            secret_key=self.moyasar_secret_key, publishable_key=self.moyasar_publishable_key, environment=self.env
        )
        if self.moyasar_secret_key is not None and self.env == "production":
            if not self.moyasar_base_url.startswith("https://"):
                problems.append("MOYASAR_BASE_URL must be an https:// URL in production")
            secret = self.moyasar_webhook_secret.get_secret_value() if self.moyasar_webhook_secret else ""
            if len(secret) < 16:
                problems.append("MOYASAR_WEBHOOK_SECRET must be set (at least 16 random characters) in production")
        if problems:
            raise SettingsError("Atlas refuses to start: " + "; ".join(problems))
        return self

    @property
    def moyasar_configured(self) -> bool:
        """Payments are on: both Moyasar keys are set (and, having passed the checks, of one mode)."""
        return self.moyasar_secret_key is not None and self.moyasar_publishable_key is not None

    @field_validator("seller_vat_number")
    @classmethod
    def _seller_vat(cls, value: str) -> str:
        if not (len(value) == 15 and value.isdigit() and value[0] == "3" and value[-1] == "3"):
            raise ValueError("ATLAS_SELLER_VAT_NUMBER must be 15 digits starting and ending with 3")
        return value

    @model_validator(mode="after")
    def _seller_is_invoiceable(self) -> Settings:
        """The seller's address and CRN pass the checks a VAT-registered buyer's pass; the message names each
        setting that does not."""
        for name in ("building_number", "additional_number", "postal_code", "crn"):
            setattr(self, f"seller_{name}", compact_digits(getattr(self, f"seller_{name}")))
        self.seller_country = self.seller_country.strip().upper()
        address = {name: getattr(self, f"seller_{name}").strip() or None for name in ADDRESS_FIELDS}
        wrong = [f"ATLAS_SELLER_{p.field.upper()}" for p in address_problems(address, vat_registered=True)]
        if not crn_ok(self.seller_crn):
            wrong.append("ATLAS_SELLER_CRN")
        if wrong:
            raise SettingsError(
                "The seller's national address and CRN must be a valid Saudi national address (4-digit building "
                "number, 5-digit postal code, ISO 3166 country) and a 10-digit CRN: check " + ", ".join(wrong)
            )
        return self

    @field_validator("dunning_schedule_days")
    @classmethod
    def _dunning(cls, value: str) -> str:
        try:
            days = [int(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise ValueError("ATLAS_DUNNING_SCHEDULE_DAYS must be comma-separated whole days, e.g. 1,3,5,7") from None
        if not days or days != sorted(days) or days[0] < 0:
            raise ValueError("ATLAS_DUNNING_SCHEDULE_DAYS must be increasing, non-negative days, e.g. 1,3,5,7")
        return value

    @property
    def dunning_days(self) -> list[int]:
        return [int(part) for part in self.dunning_schedule_days.split(",") if part.strip()]

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def sync_database_url(self) -> str:
        """The same database through psycopg, for Alembic and the CLI's synchronous work."""
        return "postgresql+psycopg://" + self.database_url.split("://", 1)[1]

    def fernet_key(self) -> bytes:
        if self.encryption_key:
            return self.encryption_key.encode()
        digest = hashlib.sha256(("atlas-encryption:" + self.secret_key).encode()).digest()
        return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
