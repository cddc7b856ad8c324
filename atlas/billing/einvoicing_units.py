"""Onboarding Atlas's invoicing unit with ZATCA (issue 20): key, CSR, compliance CSID, the six compliance checks,
production CSID; stored encrypted in `einvoicing_units` (formats: `EInvoicingUnit`'s docstring and the issue).

Each step is audited in the platform admin's trail (the operator's tenant, as a platform admin's cross-tenant view
is) and the row is flushed after each step, so a failure leaves a `failed` unit saying what went wrong and what to
do, never a secret. The previous active unit is retired (its chain kept) only once the new one is in production.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing.einvoice_chain import seller
from atlas.billing.einvoice_submission import pending_count, submit_pending
from atlas.billing.models import EInvoicingUnit
from atlas.billing.zatca_gateway import GatewayAnswer, GatewayAuthRefused, GatewayUnavailable, ZatcaGateway
from atlas.config import Settings
from atlas.db.base import utcnow
from atlas.db.engine import Database
from atlas.einvoicing import (
    FIRST_PIH,
    Address,
    Buyer,
    Document,
    DocumentError,
    DocumentKind,
    Line,
    SigningError,
    SigningIdentity,
    Transaction,
    sign,
)
from atlas.einvoicing.csr import CsrRequest, Environment, build_csr, csr_for_api, generate_key
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.crypto import SecretBox
from atlas.platform.models import User

__all__ = [
    "CHECKS",
    "OnboardingFailed",
    "RenewalOutcome",
    "UnitSummary",
    "active_unit",
    "expiring_units",
    "failure_code",
    "list_units",
    "onboard_from_settings",
    "onboard_unit",
    "operator_tenant_id",
    "renew_unit",
    "unit_summary",
]

log = structlog.get_logger("atlas.billing.einvoicing_units")

KINDS: Final = (DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE, DocumentKind.DEBIT_NOTE)
# The six compliance checks, in the order they run: standard then simplified, × invoice, credit note, debit note.
CHECKS: Final = tuple(
    f"{t.name.lower()}-{k.value}" for t in (Transaction.STANDARD, Transaction.SIMPLIFIED) for k in KINDS
)
EXPIRY_WARNING_DAYS: Final = 30
# A buyer for the standard samples: ZATCA checks a standard document names a VAT-registered buyer with an address.
SAMPLE_BUYER: Final = Buyer(
    name="Compliance Sample Buyer",
    vat_number="399999999900003",
    address=Address(
        street="Prince Sultan Street",
        building_number="1234",
        district="Al Rawdah",
        city="Jeddah",
        postal_code="23435",
        additional_number="5678",
    ),
)


# Why an onboarding failed: the first word of `failure` ("<code>: <reason>"), a catalogue key under
# einvoicing.failure.* so a page says it in Arabic or English; the rest is ZATCA's or Atlas's detail, in English.
FAILURE_CODES: Final = (
    "otp_refused",
    "csr_refused",
    "refused",
    "check_failed",
    "unavailable",
    "auth_refused",
    "documents",
)


class OnboardingFailed(Exception):
    """A step failed; `reason` is safe to store and show (no token, secret, key or OTP) and says what to do."""

    def __init__(self, step: str, code: str, reason: str) -> None:
        super().__init__(reason)
        self.step = step
        self.code = code
        self.reason = reason


def failure_code(unit: EInvoicingUnit) -> str | None:
    code = (unit.failure or "").split(":", 1)[0]
    return code if code in FAILURE_CODES else None


@dataclass(frozen=True, slots=True)
class UnitSummary:
    """What a page or the API may show of a unit: never a key, a token or a secret."""

    id: uuid.UUID
    name: str
    environment: str
    status: str
    active: bool
    vat_number: str
    checks: dict[str, Any]
    certificate_expires_at: datetime | None
    days_left: int | None
    expiring_soon: bool
    last_icv: int
    failure: str | None
    failure_code: str | None
    created_at: datetime | None


def unit_summary(unit: EInvoicingUnit, *, now: datetime | None = None) -> UnitSummary:
    moment = now or utcnow()
    expires = unit.certificate_expires_at
    days_left = (expires - moment).days if expires is not None else None
    return UnitSummary(
        id=unit.id,
        name=unit.name,
        environment=unit.environment,
        status=unit.status,
        active=unit.active,
        vat_number=unit.vat_number,
        checks={name: dict(unit.compliance_checks.get(name) or {}) for name in CHECKS},
        certificate_expires_at=expires,
        days_left=days_left,
        expiring_soon=days_left is not None and days_left <= EXPIRY_WARNING_DAYS and unit.status == "production",
        last_icv=unit.last_icv,
        failure=unit.failure,
        failure_code=failure_code(unit),
        created_at=unit.created_at,
    )


async def active_unit(session: AsyncSession) -> EInvoicingUnit | None:
    return (await session.execute(select(EInvoicingUnit).where(EInvoicingUnit.active))).scalar_one_or_none()


async def list_units(session: AsyncSession, limit: int = 20) -> list[EInvoicingUnit]:
    """The newest units first (the active one, the retired ones whose chains are kept, the failed attempts)."""
    rows = await session.execute(select(EInvoicingUnit).order_by(EInvoicingUnit.created_at.desc()).limit(limit))
    return list(rows.scalars())


async def expiring_units(
    session: AsyncSession, within_days: int = EXPIRY_WARNING_DAYS, *, now: datetime | None = None
) -> list[EInvoicingUnit]:
    """Production units whose certificate expires within `within_days` (or has expired): renew them."""
    limit = (now or utcnow()) + timedelta(days=within_days)
    rows = await session.execute(
        select(EInvoicingUnit)
        .where(EInvoicingUnit.status == "production", EInvoicingUnit.certificate_expires_at <= limit)
        .order_by(EInvoicingUnit.certificate_expires_at)
    )
    return list(rows.scalars())


async def operator_tenant_id(session: AsyncSession) -> uuid.UUID | None:
    """The operator's tenant (the first platform admin's), whose trail records platform actions without a browser
    session (the CLI, the demo). System scope."""
    row = await session.execute(
        select(User.tenant_id).where(User.platform_role == "platform_admin").order_by(User.created_at).limit(1)
    )
    return row.scalar_one_or_none()


# --- what the unit is ----------------------------------------------------------------------------------------


def csr_request(settings: Settings, environment: str, name: str, serial: str) -> CsrRequest:
    env = Environment(environment)
    prefix = {Environment.DEVELOPER_PORTAL: "TST", Environment.SIMULATION: "PRE", Environment.CORE: "ZATCA"}[env]
    return CsrRequest(
        common_name=f"{prefix}-{name}-{settings.seller_vat_number}"[:64],
        organization=settings.seller_legal_name_en,
        organization_unit=settings.seller_city,
        vat_number=settings.seller_vat_number,
        solution_name="Atlas",
        model="Cloud",
        serial=serial,
        registered_address=(
            f"{settings.seller_building_number} {settings.seller_street}, {settings.seller_district}, "
            f"{settings.seller_city} {settings.seller_postal_code}"
        ),
        business_category="Software",
        environment=env,
    )


def sample_document(settings: Settings, kind: DocumentKind, transaction: Transaction, icv: int, pih: str) -> Document:
    """A compliance sample: what Atlas issues (a monthly subscription), from the seller settings."""
    standard = transaction is Transaction.STANDARD
    note = kind is not DocumentKind.INVOICE
    today = datetime.now(UTC).date()
    return Document(
        kind=kind,
        transaction=transaction,
        number=f"ATL-COMPLIANCE-{icv:02d}",
        uuid=uuid.uuid4(),
        issued_at=datetime.now(UTC),
        icv=icv,
        pih=pih,
        seller=seller(settings),
        buyer=SAMPLE_BUYER if standard else Buyer(name="Compliance Sample Consumer"),
        lines=(Line(name="اشتراك أطلس الشهري / Atlas monthly subscription", quantity=1, unit_price=49_900),),
        payment_means_code="48",
        billing_reference="ATL-COMPLIANCE-01" if note else None,
        instruction_note="Compliance sample: plan change" if note else None,
        supply_date=today if standard else None,
        supply_end_date=today + timedelta(days=30) if standard else None,
    )


# --- onboarding ----------------------------------------------------------------------------------------------


def _csid_refusal(answer: GatewayAnswer, step: str) -> OnboardingFailed:
    codes = set(answer.error_codes)
    if "Invalid-OTP" in codes or "Missing-OTP" in codes:
        return OnboardingFailed(
            step,
            "otp_refused",
            "ZATCA refused the OTP (wrong or expired): ask for a new one on the Fatoora portal and try again.",
        )
    detail = "; ".join(f"{m.code}: {m.message}" for m in answer.errors)[:500] or f"HTTP {answer.status_code}"
    if "Invalid-CSR" in codes:
        return OnboardingFailed(
            step, "csr_refused", f"ZATCA refused the unit's CSR ({detail}): check the seller settings."
        )
    return OnboardingFailed(step, "refused", f"ZATCA refused the request ({detail}).")


@dataclass(frozen=True, slots=True)
class _ProductionCsid:
    certificate: x509.Certificate
    token: str
    secret: str


def _issued_certificate(answer: GatewayAnswer, step: str, key_pem: bytes) -> _ProductionCsid:
    """The production CSID a ZATCA answer carries (onboarding or renewal); ``OnboardingFailed`` when ZATCA refused.
    Its certificate must certify the unit's key, or nothing signed with it would verify (raises otherwise)."""
    if not answer.accepted or answer.binary_security_token is None or answer.secret is None:
        raise _csid_refusal(answer, step)
    certificate = x509.load_der_x509_certificate(base64.b64decode(base64.b64decode(answer.binary_security_token)))
    SigningIdentity.from_binary_security_token(answer.binary_security_token, key_pem)
    return _ProductionCsid(certificate, answer.binary_security_token, answer.secret)


@dataclass(frozen=True, slots=True)
class _Trail:
    """Where the onboarding's steps are audited: the platform admin's (or the operator's) tenant trail."""

    tenant_id: uuid.UUID | None
    actor: Actor
    correlation_id: str

    async def record(self, session: AsyncSession, event: EventType, payload: dict[str, Any]) -> None:
        if self.tenant_id is None:
            log.warning("einvoicing_unit.unaudited", audit_event=str(event), reason="no operator tenant")
            return
        await record(
            session,
            event,
            actor=self.actor,
            correlation_id=self.correlation_id,
            tenant_id=self.tenant_id,
            payload=payload,
        )


async def onboard_unit(
    session: AsyncSession,
    settings: Settings,
    box: SecretBox,
    gateway: ZatcaGateway,
    *,
    otp: str,
    name: str,
    actor: Actor,
    correlation_id: str,
    audit_tenant_id: uuid.UUID | None = None,
) -> EInvoicingUnit:
    """Onboard a new unit at `gateway` (system-scope session; the caller commits). Returns the unit: `production`
    and active, or `failed` with its `failure` (the previous active unit then stays as it was)."""
    name = " ".join(name.split())[:100] or "Atlas"
    key = generate_key()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    serial = str(uuid.uuid4())
    request = csr_request(settings, gateway.environment, name, serial)
    unit = EInvoicingUnit(
        name=name,
        environment=gateway.environment,
        gateway_url=gateway.base_url,
        vat_number=settings.seller_vat_number,
        common_name=request.common_name,
        serial=request.device_serial,
        status="onboarding",
        active=False,
        private_key_encrypted=box.encrypt(key_pem.decode("ascii")),
        compliance_checks={},
        last_icv=0,
        last_hash=FIRST_PIH,
        created_by=actor.ref,
    )
    session.add(unit)
    await session.flush()
    trail = _Trail(audit_tenant_id, actor, correlation_id)
    base = {"unit_id": str(unit.id), "name": name, "environment": gateway.environment}
    await trail.record(session, EventType.EINVOICING_UNIT_ONBOARDING_STARTED, base)
    step = "compliance_csid"
    try:
        answer = await gateway.compliance_csid(otp, csr_for_api(build_csr(request, key)))
        if not answer.accepted or answer.binary_security_token is None or answer.secret is None:
            raise _csid_refusal(answer, step)
        compliance_auth = (answer.binary_security_token, answer.secret)
        unit.compliance_request_id = answer.request_id
        unit.compliance_token_encrypted = box.encrypt(answer.binary_security_token)
        unit.compliance_secret_encrypted = box.encrypt(answer.secret)
        await session.flush()
        await trail.record(session, EventType.EINVOICING_COMPLIANCE_CSID_ISSUED, base)

        step = "compliance_checks"
        identity = SigningIdentity.from_binary_security_token(answer.binary_security_token, key_pem)
        pih, icv, checks = FIRST_PIH, 0, {}
        for transaction in (Transaction.STANDARD, Transaction.SIMPLIFIED):
            for kind in KINDS:
                icv += 1
                check = f"{transaction.name.lower()}-{kind.value}"
                sample = sample_document(settings, kind, transaction, icv, pih)
                signed = sign(sample, identity)
                result = await gateway.compliance_check(
                    compliance_auth, signed.invoice_hash, str(sample.uuid), signed.xml
                )
                passed = result.accepted and result.validation_status in ("PASS", "WARNING")
                checks[check] = {
                    "passed": passed,
                    "status": result.validation_status or result.status,
                    "http_status": result.status_code,
                    **result.messages,
                }
                unit.compliance_checks = dict(checks)
                await session.flush()
                if not passed:
                    detail = "; ".join(f"{m.code}: {m.message}" for m in result.errors)[:500]
                    raise OnboardingFailed(
                        step,
                        "check_failed",
                        f"The compliance check {check} did not pass ({detail or result.status}): "
                        "fix the document and onboard again with a new OTP.",
                    )
                pih = signed.invoice_hash
        await trail.record(session, EventType.EINVOICING_COMPLIANCE_CHECKS_PASSED, {**base, "checks": list(checks)})

        step = "production_csid"
        production = await gateway.production_csid(compliance_auth, unit.compliance_request_id or "")
        issued = _issued_certificate(production, step, key_pem)
    except GatewayUnavailable as exc:
        return await _fail(
            session,
            unit,
            step,
            "unavailable",
            f"{exc.message}: try again later (ask for a new OTP if it has expired).",
            trail,
            base,
        )
    except GatewayAuthRefused:
        return await _fail(
            session,
            unit,
            step,
            "auth_refused",
            "ZATCA refused the unit's compliance credentials: onboard again with a new OTP.",
            trail,
            base,
        )
    except OnboardingFailed as failed:
        return await _fail(session, unit, failed.step, failed.code, failed.reason, trail, base)
    except (DocumentError, SigningError, ValueError) as exc:
        return await _fail(
            session,
            unit,
            step,
            "documents",
            f"Atlas could not build the unit's documents ({type(exc).__name__}: {exc})"[:500]
            + ": check the seller settings.",
            trail,
            base,
        )

    unit.production_token_encrypted = box.encrypt(issued.token)
    unit.production_secret_encrypted = box.encrypt(issued.secret)
    unit.certificate_pem = issued.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    unit.certificate_expires_at = issued.certificate.not_valid_after_utc
    previous = (
        await session.execute(select(EInvoicingUnit).where(EInvoicingUnit.active).with_for_update())
    ).scalar_one_or_none()
    if previous is not None:
        previous.active = False
        previous.status = "retired"
        await session.flush()
        await trail.record(
            session,
            EventType.EINVOICING_UNIT_RETIRED,
            {
                "unit_id": str(previous.id),
                "name": previous.name,
                "last_icv": previous.last_icv,
                "replaced_by": str(unit.id),
            },
        )
    unit.status = "production"
    unit.active = True
    unit.failure = None
    await session.flush()
    await trail.record(
        session, EventType.EINVOICING_UNIT_ACTIVATED, {**base, "certificate_expires_at": unit.certificate_expires_at}
    )
    log.info("einvoicing_unit.activated", unit_id=str(unit.id), environment=unit.environment)
    return unit


async def _fail(
    session: AsyncSession,
    unit: EInvoicingUnit,
    step: str,
    code: str,
    reason: str,
    trail: _Trail,
    base: dict[str, Any],
) -> EInvoicingUnit:
    unit.status = "failed"
    unit.active = False
    unit.failure = f"{code}: {reason}"
    await session.flush()
    await trail.record(session, EventType.EINVOICING_UNIT_ONBOARDING_FAILED, {**base, "step": step, "reason": reason})
    log.warning("einvoicing_unit.failed", unit_id=str(unit.id), step=step)
    return unit


async def onboard_from_settings(
    database: Database,
    settings: Settings,
    box: SecretBox,
    *,
    otp: str,
    name: str,
    actor: Actor,
    correlation_id: str,
    skip_if_active: bool = False,
) -> tuple[EInvoicingUnit, bool]:
    """Onboard at the settings' gateway in one system transaction, audited in the operator's trail (the CLI, the
    demo). With `skip_if_active`, an active production unit for the same gateway and environment is kept and
    returned instead (the demo's restarts): the answer's second value says whether a unit was onboarded now."""
    async with database.system_session() as session:
        current = await active_unit(session)
        if (
            skip_if_active
            and current is not None
            and current.status == "production"
            and current.gateway_url == settings.zatca_gateway_url.rstrip("/")
            and current.environment == settings.zatca_environment
        ):
            return current, False
        tenant_id = await operator_tenant_id(session)
        async with ZatcaGateway.from_settings(settings) as gateway:
            unit = await onboard_unit(
                session,
                settings,
                box,
                gateway,
                otp=otp,
                name=name,
                actor=actor,
                correlation_id=correlation_id,
                audit_tenant_id=tenant_id,
            )
        return unit, True


# --- renewal -------------------------------------------------------------------------------------------------

# Why a renewal failed (catalogue keys einvoicing.failure.*): the onboarding's codes, and `not_renewable` when the
# unit is not the active production unit (retired, failed, still onboarding) or went out of production meanwhile.
RENEWAL_FAILURE_CODES: Final = (*FAILURE_CODES, "not_renewable")
# Where the reminders before the certificate's end are kept in the unit's JSON (`compliance_checks`, beside the six
# checks): the expiry they are for and the smallest threshold reminded. A renewal clears it.
REMINDER_KEY: Final = "certificate_reminder"


@dataclass(frozen=True, slots=True)
class RenewalOutcome:
    """What became of a renewal: the unit (renewed, or exactly as it was) and, on failure, why."""

    unit: EInvoicingUnit
    renewed: bool
    code: str | None = None
    reason: str | None = None
    step: str | None = None


def serial_parts(device_serial: str) -> tuple[str, str, str]:
    """`1-<solution>|2-<model>|3-<serial>` → (solution, model, serial): a renewal's CSR names the same unit."""
    parts = dict(part.split("-", 1) for part in device_serial.split("|") if "-" in part)
    if set(parts) != {"1", "2", "3"}:
        raise ValueError("the unit's serial is not 1-<solution>|2-<model>|3-<serial>")
    return parts["1"], parts["2"], parts["3"]


def renewal_request(settings: Settings, unit: EInvoicingUnit) -> CsrRequest:
    """The CSR of a renewal: the unit's name, serial (SN), VAT number, common name and environment."""
    solution, model, serial = serial_parts(unit.serial)
    request = csr_request(settings, unit.environment, unit.name, serial)
    return msgspec.structs.replace(
        request, common_name=unit.common_name, solution_name=solution, model=model, vat_number=unit.vat_number
    )


async def _renewal_failed(
    database: Database,
    unit_id: uuid.UUID,
    trail: _Trail,
    base: dict[str, Any],
    *,
    step: str,
    code: str,
    reason: str,
) -> RenewalOutcome:
    """The unit stays exactly as it was (still in production, still signing with its certificate); the reason is
    audited and logged, and answered."""
    async with database.system_session() as session:
        await trail.record(
            session, EventType.EINVOICING_RENEWAL_FAILED, {**base, "step": step, "code": code, "reason": reason}
        )
        unit = await session.get(EInvoicingUnit, unit_id)
    log.warning("einvoicing_unit.renewal_failed", unit_id=str(unit_id), step=step, code=code)
    assert unit is not None
    return RenewalOutcome(unit, False, code, reason, step)


async def renew_unit(
    database: Database,
    settings: Settings,
    box: SecretBox,
    *,
    unit_id: uuid.UUID,
    otp: str,
    actor: Actor,
    correlation_id: str,
    audit_tenant_id: uuid.UUID | None = None,
    timeout: float | None = None,
) -> RenewalOutcome:
    """Renew the production CSID of the active unit `unit_id` at its own gateway and environment (PATCH
    production/csids, authenticated with its current CSID): a new key and CSR for the same unit, then, under the
    unit row's `FOR UPDATE` (the lock that serialises issuing, so no document is signed half with the old key and
    half with the new), the key, certificate, CSID and expiry replaced. The chain (`last_icv`, `last_hash`) goes
    on. Each step commits on its own: the start, then the outcome, audited in `audit_tenant_id`'s trail.

    Documents signed with the current certificate and not yet at ZATCA are sent first (with the current CSID,
    which is the one they were signed under). A refusal or an outage leaves the unit exactly as it was.
    Raises `LookupError` for an unknown unit."""
    trail = _Trail(audit_tenant_id, actor, correlation_id)
    async with database.system_session() as session:
        unit = await session.get(EInvoicingUnit, unit_id)
        if unit is None:
            raise LookupError(f"no invoicing unit {unit_id}")
        base = {"unit_id": str(unit.id), "name": unit.name, "environment": unit.environment}
        await trail.record(
            session,
            EventType.EINVOICING_RENEWAL_STARTED,
            {**base, "certificate_expires_at": unit.certificate_expires_at},
        )
        renewable = (
            unit.active
            and unit.status == "production"
            and unit.production_token_encrypted is not None
            and unit.production_secret_encrypted is not None
        )
        gateway_url, environment = unit.gateway_url, unit.environment
        auth = (
            (box.decrypt(unit.production_token_encrypted or ""), box.decrypt(unit.production_secret_encrypted or ""))
            if renewable
            else None
        )
        request: CsrRequest | None = None
        problem: str | None = None
        if renewable:
            if unit.vat_number != settings.seller_vat_number:
                problem = (
                    f"The unit was onboarded for VAT number {unit.vat_number}, the seller settings say "
                    f"{settings.seller_vat_number}: a renewal is for the same VAT number; onboard a new unit instead."
                )
            else:
                try:
                    request = renewal_request(settings, unit)
                except (DocumentError, ValueError) as exc:
                    problem = f"Atlas could not build the renewal's CSR ({type(exc).__name__}: {exc})"[:500]
    if auth is None:
        return await _renewal_failed(
            database,
            unit_id,
            trail,
            base,
            step="start",
            code="not_renewable",
            reason="Only the active unit in production can be renewed: onboard a new unit instead.",
        )
    if request is None:
        return await _renewal_failed(
            database, unit_id, trail, base, step="csr", code="documents", reason=problem or "no CSR"
        )

    key = generate_key()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    step = "pending_documents"
    async with ZatcaGateway(gateway_url, environment, timeout=timeout or settings.zatca_timeout_seconds) as gateway:
        try:
            # Documents signed with the current certificate go to ZATCA with the CSID they were signed under.
            if await pending_count(database, unit_id):
                sent = await submit_pending(database, settings, box, gateway, unit_id)
                if sent.outage is not None:
                    if sent.auth_refused:
                        raise GatewayAuthRefused(sent.outage)
                    raise GatewayUnavailable(sent.outage)
            step = "renewal"
            answer = await gateway.renew_csid(auth, otp, csr_for_api(build_csr(request, key)))
            issued = _issued_certificate(answer, step, key_pem)
        except GatewayUnavailable as exc:
            return await _renewal_failed(
                database,
                unit_id,
                trail,
                base,
                step=step,
                code="unavailable",
                reason=f"{exc.message}: try again later (ask for a new OTP if it has expired).",
            )
        except GatewayAuthRefused:
            return await _renewal_failed(
                database,
                unit_id,
                trail,
                base,
                step=step,
                code="auth_refused",
                reason="ZATCA refused the unit's production credentials: onboard a new unit with a new OTP.",
            )
        except OnboardingFailed as failed:
            return await _renewal_failed(
                database, unit_id, trail, base, step=failed.step, code=failed.code, reason=failed.reason
            )
        except (DocumentError, SigningError, ValueError) as exc:
            return await _renewal_failed(
                database,
                unit_id,
                trail,
                base,
                step=step,
                code="documents",
                reason=f"Atlas could not use the renewed certificate ({type(exc).__name__}: {exc})"[:500],
            )

        async with database.system_session() as session:
            # The lock issuing takes: documents issued before it are in the chain with the old certificate, those
            # after it are signed with the new one.
            locked = (
                await session.execute(
                    select(EInvoicingUnit)
                    .where(EInvoicingUnit.id == unit_id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            ).scalar_one()
            if not (locked.active and locked.status == "production"):
                unit_after = locked
                problem = "The unit left production while ZATCA renewed it: onboard a new unit instead."
            else:
                unit_after = None
                left_behind = 0
                if await pending_count(database, unit_id):
                    # issued between the first round and the lock: still under the current CSID
                    sent = await submit_pending(database, settings, box, gateway, unit_id)
                    left_behind = sent.pending
                previous_expiry = locked.certificate_expires_at
                locked.private_key_encrypted = box.encrypt(key_pem.decode("ascii"))
                locked.production_token_encrypted = box.encrypt(issued.token)
                locked.production_secret_encrypted = box.encrypt(issued.secret)
                locked.certificate_pem = issued.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
                locked.certificate_expires_at = issued.certificate.not_valid_after_utc
                locked.compliance_checks = {
                    name: value for name, value in (locked.compliance_checks or {}).items() if name != REMINDER_KEY
                }
                await session.flush()
                await trail.record(
                    session,
                    EventType.EINVOICING_RENEWAL_SUCCEEDED,
                    {
                        **base,
                        "previous_expires_at": previous_expiry,
                        "certificate_expires_at": locked.certificate_expires_at,
                        "last_icv": locked.last_icv,
                        "pending_under_previous_certificate": left_behind,
                    },
                )
                if left_behind:
                    log.error(
                        "einvoicing_unit.renewed_with_pending_documents", unit_id=str(unit_id), pending=left_behind
                    )
    if unit_after is not None:
        return await _renewal_failed(
            database, unit_id, trail, base, step="swap", code="not_renewable", reason=problem or ""
        )
    log.info("einvoicing_unit.renewed", unit_id=str(unit_id), environment=environment)
    async with database.system_session() as session:
        renewed = await session.get(EInvoicingUnit, unit_id)
    assert renewed is not None
    return RenewalOutcome(renewed, True)
