"""The stand-in's behaviour, apart from HTTP: tokens, payments, 3-D Secure challenges, and the state machine.

Requests arrive as parsed JSON objects and leave as Moyasar's JSON shapes (moyasar.md sections 2 and 4).
Anything invalid raises `FakeApiError`, which the app answers with Moyasar's error envelope.

Token flow (what Atlas relies on; README "The local Moyasar"):
1. The browser creates a token with the publishable key and `save_only: true`: the token is `initiated`, with
   no charge and no 3-D Secure yet.
2. Atlas's server charges it once with the secret key and `3ds: true` (a save_only token always gets 3-D Secure):
   the payment is `initiated` with a `transaction_url`.
3. The 3-D Secure page approves or declines; the payment becomes `paid` or `failed` per the test-card table.
4. After a successful payment the token is `active`, and later payments with it (renewals, `3ds` false) are
   answered at once with `paid` or `failed`. The `save_only_reusable` switch turns this off (the token becomes
   `inactive`), which is the other reading of the docs.
The default token flow (no `save_only`) verifies the card first through its own `verification_url` page (a
1.00 SAR authorisation, voided), after which the token is `active`; `save_card: true` on a card payment issues
a token that becomes `active` when that payment succeeds.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec
import structlog

from atlas.billing.moyasar_fake import cards
from atlas.billing.moyasar_fake.faults import Faults
from atlas.billing.moyasar_fake.money import format_amount
from atlas.billing.moyasar_fake.options import Switches
from atlas.billing.moyasar_fake.state import Card, Payment, Store, Token, iso, new_auth_id, new_token_id, now

log = structlog.get_logger("atlas.moyasar_fake")

PAGE_SIZE: Final = 40
MIN_AMOUNT: Final = 100
VERIFICATION_AMOUNT: Final = 100
EVENT_FOR_STATUS: Final = {
    "paid": "payment_paid",
    "failed": "payment_failed",
    "authorized": "payment_authorized",
    "captured": "payment_captured",
    "refunded": "payment_refunded",
    "voided": "payment_voided",
    "verified": "payment_verified",
}
SUPPORTED_SOURCES: Final = ("creditcard", "token")
KNOWN_SOURCES: Final = ("creditcard", "token", "applepay", "samsungpay", "googlepay", "stcpay")


class FakeApiError(Exception):
    """An answer in Moyasar's error envelope: `{"type", "message", "errors"}` with an HTTP status."""

    def __init__(self, status: int, type_: str, message: str, errors: dict[str, list[str]] | str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "errors": self.errors}


class _Errors:
    """Field errors collected over a whole request, answered together as a 400."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def raise_if_any(self, switches: Switches) -> None:
        if self.fields:
            raise FakeApiError(400, switches.validation_error_type, "Validation Failed", self.fields)


def not_found() -> FakeApiError:
    return FakeApiError(404, "record_not_found", "Object not found")


def invalid(message: str) -> FakeApiError:
    """A request that is well-formed but not allowed now (a refund of a failed payment, a used token)."""
    return FakeApiError(400, "invalid_request_error", message)


def with_query(url: str, **params: str) -> str:
    """`url` with `params` appended to its existing query parameters (Moyasar's callback redirect)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _is_url(value: object) -> bool:
    if not isinstance(value, str) or len(value) > 2048:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _integer(value: object) -> int | None:
    """An integer, also from a form field or a numeric string ("12"); None for anything else (floats and booleans
    included: amounts are never fractional)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _flag(value: object, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return default


def _metadata(value: object, errors: _Errors) -> dict[str, str] | None:
    """Up to 30 keys of at most 40 characters, values of at most 500 (moyasar.md section 2.1)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add("metadata", "must be an object of keys and values")
        return None
    if len(value) > 30:
        errors.add("metadata", "can have at most 30 keys")
    kept: dict[str, str] = {}
    for key, item in value.items():
        if len(str(key)) > 40:
            errors.add("metadata", "keys can be at most 40 characters")
        elif item is not None and not isinstance(item, str | int | float | bool):
            errors.add("metadata", "values must be text")
        elif len(str(item if item is not None else "")) > 500:
            errors.add("metadata", "values can be at most 500 characters")
        else:
            kept[str(key)] = "" if item is None else str(item).lower() if isinstance(item, bool) else str(item)
    return kept


class Moyasar:
    """One Moyasar account in the sandbox: its tokens, payments and their state machine."""

    def __init__(
        self,
        store: Store,
        faults: Faults,
        switches: Callable[[], Switches],
        notify: Callable[[str, dict[str, Any]], object],
    ) -> None:
        self.store = store
        self.faults = faults
        self._switches = switches
        self._notify = notify

    @property
    def switches(self) -> Switches:
        return self._switches()

    # --- cards and tokens ---------------------------------------------------------------------------------

    def _card(self, source: dict[str, Any], errors: _Errors, prefix: str) -> Card | None:
        """Check card fields the way the sandbox does; keep the outcome, never the number."""
        name = source.get("name")
        if not isinstance(name, str) or len(name.split()) < 2:
            errors.add(f"{prefix}name", "must be two words at least (first and last name)")
        number = source.get("number")
        number = number.replace(" ", "") if isinstance(number, str) else None
        brand = None
        if not number or not number.isdigit() or not 12 <= len(number) <= 19 or not cards.luhn_valid(number):
            errors.add(f"{prefix}number", "is invalid")
            number = None
        else:
            brand = cards.brand_of(number)
            if brand is None:
                errors.add(f"{prefix}number", "is not a supported card (mada, Visa, Mastercard, Amex, UnionPay)")
        month, year = _integer(source.get("month")), _integer(source.get("year"))
        if month is None or not 1 <= month <= 12:
            errors.add(f"{prefix}month", "must be a month from 1 to 12")
        if year is None or not (0 <= year < 100 or 2000 <= year <= 2099):
            errors.add(f"{prefix}year", "must be a year like 2030")
        if month and year is not None and 1 <= month <= 12 and cards.expired(month, cards.full_year(year)):
            errors.add(f"{prefix}year", "card is expired")
        cvc = source.get("cvc")
        cvc_length = 4 if brand == "amex" else 3
        if not isinstance(cvc, str | int) or not str(cvc).isdigit() or len(str(cvc)) != cvc_length:
            errors.add(f"{prefix}cvc", f"must be {cvc_length} digits")
        if errors.fields or number is None or brand is None or month is None or year is None:
            return None
        sandbox = cards.outcome_of(number, unknown_card_outcome=self.switches.unknown_card_outcome)
        return Card(
            brand=brand,
            name=" ".join(str(name).split()),
            last_four=number[-4:],
            month=month,
            year=cards.full_year(year),
            outcome_status=sandbox.outcome.status,
            outcome_message=sandbox.outcome.message,
            outcome_code=sandbox.outcome.code,
            frictionless=sandbox.frictionless,
            funding="debit" if brand == "mada" else "credit",
        )

    def create_token(self, body: dict[str, Any]) -> Token:
        """`POST /v1/tokens`: a token `initiated`; without `save_only` it carries a `verification_url`."""
        errors = _Errors()
        save_only = _flag(body.get("save_only"), False)
        callback_url = body.get("callback_url")
        if callback_url is not None and not _is_url(callback_url):
            errors.add("callback_url", "must be an absolute http(s) URL")
        elif callback_url is None and not save_only:
            errors.add("callback_url", "is required (the cardholder returns there after 3-D Secure)")
        card = self._card(body, errors, "")
        metadata = _metadata(body.get("metadata"), errors)
        errors.raise_if_any(self.switches)
        assert card is not None
        moment = now()
        token = Token(
            id=new_token_id(),
            status="initiated",
            card=card,
            save_only=save_only,
            callback_url=callback_url,
            metadata=metadata,
            created_at=moment,
            updated_at=moment,
        )
        if not save_only:
            token.auth_id = new_auth_id()
        self.store.save(token)
        log.info("token created", brand=card.brand, last_four=card.last_four, save_only=save_only)
        return token

    def token_json(self, token: Token, *, base_url: str) -> dict[str, Any]:
        verification = (
            f"{base_url}/v1/transaction_auths/{token.auth_id}/form"
            if token.auth_id and token.status == "initiated"
            else None
        )
        return {
            "id": token.id,
            "status": token.status,
            "brand": token.card.brand,
            "funding": token.card.funding,
            "country": token.card.country,
            "month": str(token.card.month),
            "year": str(token.card.year),
            "name": token.card.name,
            "last_four": token.card.last_four,
            "metadata": token.metadata,
            "message": token.message,
            "verification_url": verification,
            "save_only": token.save_only,
            "created_at": iso(token.created_at),
            "updated_at": iso(token.updated_at),
        }

    def get_token(self, token_id: str) -> Token:
        token = self.store.tokens.get(token_id)
        if token is None:
            raise FakeApiError(404, "api_error", "Object not found")
        return token

    def delete_token(self, token_id: str) -> None:
        self.store.delete(self.get_token(token_id))

    def set_token_status(self, token_id: str, status: str) -> Token:
        """`/_fake/tokens/{id}`: age a token (`inactive`, `expired`) to test renewals against a dead card."""
        token = self.get_token(token_id)
        if status not in ("initiated", "active", "inactive", "expired"):
            raise invalid("status must be initiated, active, inactive or expired")
        token.status = status  # type: ignore[assignment]
        token.updated_at = now()
        self.store.save(token)
        return token

    # --- payments -----------------------------------------------------------------------------------------

    def create_payment(self, body: dict[str, Any], *, ip: str | None) -> tuple[Payment, bool]:
        """`POST /v1/payments`; returns the payment and whether it is new (False: a replayed given_id)."""
        errors = _Errors()
        amount = _integer(body.get("amount"))
        if "amount" not in body:
            errors.add("amount", "is required")
        elif amount is None:
            errors.add("amount", "must be an integer (in the currency's smallest unit, e.g. halalas)")
        elif amount < MIN_AMOUNT:
            errors.add("amount", f"must be at least {MIN_AMOUNT} (1 SAR or equivalent)")
        currency = body.get("currency", "SAR")
        if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
            errors.add("currency", "must be a 3-letter ISO 4217 code")
            currency = "SAR"
        currency = currency.upper()
        description = body.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > 255):
            errors.add("description", "must be text of at most 255 characters")
            description = None
        metadata = _metadata(body.get("metadata"), errors)
        given_id = body.get("given_id")
        payment_id = str(uuid.uuid4())
        if given_id is not None:
            try:
                payment_id = str(uuid.UUID(str(given_id)))
            except ValueError:
                errors.add("given_id", "must be a UUID")
        source = body.get("source")
        if not isinstance(source, dict) or not source:
            errors.add("source", "is required")
            source = {}
        source_type = source.get("type")
        if source and source_type not in KNOWN_SOURCES:
            errors.add("source.type", f"must be one of {', '.join(KNOWN_SOURCES)}")
        elif source and source_type not in SUPPORTED_SOURCES:
            errors.add("source.type", f"{source_type} is not available in the local stand-in (creditcard, token)")
        callback_url = body.get("callback_url")
        if callback_url is None:
            errors.add("callback_url", "is required")
        elif not _is_url(callback_url):
            errors.add("callback_url", "must be an absolute http(s) URL")
        card: Card | None = None
        token: Token | None = None
        if source_type == "creditcard":
            card = self._card(source, errors, "source.")
        elif source_type == "token":
            token_id = source.get("token")
            if not isinstance(token_id, str) or not token_id:
                errors.add("source.token", "is required")
            cvc = source.get("cvc")
            if cvc is not None and (not str(cvc).isdigit() or len(str(cvc)) not in (3, 4)):
                errors.add("source.cvc", "must be 3 or 4 digits")
        errors.raise_if_any(self.switches)
        assert amount is not None

        existing = self.store.payments.get(payment_id)
        if existing is not None:
            if self.switches.given_id_replay:
                return existing, False
            raise FakeApiError(
                400, "used_given_id", "The given_id provided has been already used with a different payment."
            )

        three_ds = _flag(source.get("3ds"), source_type == "creditcard")
        manual = _flag(source.get("manual"), False)
        issued_token_id: str | None = None
        if source_type == "token":
            token = self._chargeable_token(str(source.get("token")))
            card = msgspec.structs.replace(token.card)
            if token.save_only and token.status == "initiated":
                # A save_only token is single-use and its payment always gets 3-D Secure (moyasar.md 4.1, 4.2).
                three_ds, token.used, issued_token_id = True, True, token.id
                token.updated_at = now()
                self.store.save(token)
            elif not three_ds and self.faults.take("POST", "/v1/payments", frozenset({"challenge"})):
                three_ds = True  # the issuer asks for a challenge anyway
        assert card is not None
        if source_type == "creditcard" and _flag(source.get("save_card"), False):
            issued = Token(
                id=new_token_id(),
                status="initiated",
                card=msgspec.structs.replace(card),
                save_only=False,
                created_at=now(),
                updated_at=now(),
            )
            self.store.save(issued)
            issued_token_id = issued.id
        # A `decline` fault changes this payment's outcome only, not the card a saved token keeps.
        decline = self.faults.take("POST", "/v1/payments", frozenset({"decline"}))
        if decline is not None:
            card = msgspec.structs.replace(
                card,
                outcome_status="failed",
                outcome_message=decline.message or "DECLINED",
                outcome_code=decline.code or "05",
            )

        moment = now()
        payment = Payment(
            id=payment_id,
            seq=self.store.next_seq(),
            status="initiated",
            amount=amount,
            currency=currency,
            description=description,
            metadata=metadata,
            callback_url=callback_url,
            card=card,
            token_id=token.id if token else None,
            issued_token_id=issued_token_id,
            manual=manual,
            gateway_id="moyasar_cc_" + secrets.token_hex(12),
            ip=ip,
            created_at=moment,
            updated_at=moment,
        )
        if three_ds:
            payment.auth_id = new_auth_id()
            self.store.save(payment)
        else:
            self._authorise(payment, approved_challenge=True)
        log.info(
            "payment created",
            payment_id=payment.id,
            status=payment.status,
            amount=payment.amount,
            currency=payment.currency,
            brand=card.brand,
            last_four=card.last_four,
            three_ds=three_ds,
        )
        return payment, True

    def _chargeable_token(self, token_id: str) -> Token:
        """The token, if a payment may use it now (moyasar.md 4.2: only active tokens, a save_only one once)."""
        token = self.store.tokens.get(token_id)
        if token is None:
            raise FakeApiError(
                400, self.switches.validation_error_type, "Validation Failed", {"source.token": ["is invalid"]}
            )
        if token.status == "active" and cards.expired(token.card.month, token.card.year):
            token.status, token.updated_at = "expired", now()
            self.store.save(token)
        if token.status in ("inactive", "expired"):
            raise invalid(f"Token is {token.status} and cannot be used for payments")
        if token.save_only and token.used and token.status != "active":
            raise invalid("Token has already been used: a save_only token can be used for one payment only")
        if token.status == "initiated" and not token.save_only:
            raise invalid("Token is not verified yet: complete its 3-D Secure verification first")
        return token

    def _authorise(self, payment: Payment, *, approved_challenge: bool) -> None:
        """The issuer's answer, after 3-D Secure (or at once without it); then the event."""
        card = payment.card
        status: str
        if not approved_challenge:
            outcome = cards.THREE_DS_DECLINED
            status, message, code = outcome.status, outcome.message, outcome.code
        else:
            status, message, code = card.outcome_status, card.outcome_message, card.outcome_code
        if status == "paid":
            payment.status = "authorized" if payment.manual else "paid"
            payment.authorization_code = f"{secrets.randbelow(10**6):06d}"
            payment.reference_number = f"{secrets.randbelow(10**12):012d}"
            payment.fee = (payment.amount * 275 + 5_000) // 10_000  # an invented 2.75% estimate
        else:
            payment.status = "failed"
        payment.message, payment.response_code = message, code
        payment.updated_at = now()
        self.store.save(payment)
        if payment.issued_token_id:
            self._settle_issued_token(payment)
        self._changed(payment)

    def _settle_issued_token(self, payment: Payment) -> None:
        token = self.store.tokens.get(payment.issued_token_id or "")
        if token is None:
            return
        if payment.status in ("paid", "authorized"):
            if token.save_only and not self.switches.save_only_reusable:
                token.status, token.message = "inactive", "single-use token consumed by its payment"
            else:
                token.status, token.message = "active", "APPROVED"
        else:
            token.status, token.message = "inactive", payment.message
        token.updated_at = now()
        self.store.save(token)

    def _changed(self, payment: Payment) -> None:
        event = EVENT_FOR_STATUS.get(payment.status)
        if event == "payment_failed":
            event = self.switches.failed_event_name
        if event:
            self._notify(event, self.payment_json(payment))

    def get_payment(self, payment_id: str) -> Payment:
        payment = self.store.payments.get(payment_id)
        if payment is None:
            raise not_found()
        return payment

    def payment_json(self, payment: Payment, *, base_url: str | None = None) -> dict[str, Any]:
        card = payment.card
        base = base_url or ""
        transaction_url = (
            f"{base}/v1/transaction_auths/{payment.auth_id}/form"
            if payment.auth_id and payment.status == "initiated"
            else None
        )
        token = payment.issued_token_id or payment.token_id
        return {
            "id": payment.id,
            "status": payment.status,
            "amount": payment.amount,
            "fee": payment.fee,
            "currency": payment.currency,
            "refunded": payment.refunded,
            "refunded_at": iso(payment.refunded_at),
            "captured": payment.captured,
            "captured_at": iso(payment.captured_at),
            "voided_at": iso(payment.voided_at),
            "description": payment.description,
            "amount_format": format_amount(payment.amount, payment.currency),
            "fee_format": format_amount(payment.fee, payment.currency),
            "refunded_format": format_amount(payment.refunded, payment.currency),
            "captured_format": format_amount(payment.captured, payment.currency),
            "invoice_id": None,
            "ip": payment.ip,
            "callback_url": payment.callback_url,
            "created_at": iso(payment.created_at),
            "updated_at": iso(payment.updated_at),
            "metadata": payment.metadata,
            "source": {
                "type": "creditcard",
                "company": card.brand,
                "name": card.name,
                "number": card.masked,
                "gateway_id": payment.gateway_id,
                "reference_number": payment.reference_number,
                "token": token,
                "message": payment.message,
                "transaction_url": transaction_url,
                "authorization_code": payment.authorization_code,
                "response_code": payment.response_code,
                "issuer_name": "Atlas Test Bank",
                "issuer_country": card.country,
                "issuer_card_type": card.funding,
                "issuer_card_category": None,
            },
        }

    # --- 3-D Secure ---------------------------------------------------------------------------------------

    def challenge(self, auth_id: str) -> Payment | Token | None:
        """The payment or token waiting on this 3-D Secure challenge; None when there is none."""
        return self.store.payment_for_auth(auth_id) or self.store.token_for_auth(auth_id)

    def finish_challenge(self, auth_id: str, *, approve: bool) -> Payment | Token | None:
        """The cardholder approved or declined the challenge; returns what it was for."""
        pending = self.challenge(auth_id)
        if isinstance(pending, Payment):
            if pending.status == "initiated":
                self._authorise(pending, approved_challenge=approve)
        elif isinstance(pending, Token) and pending.status == "initiated":
            # The default token flow: a 1.00 SAR authorisation, voided at once; the card's outcome decides.
            outcome = pending.card
            if approve and outcome.outcome_status == "paid":
                pending.status, pending.message = "active", "APPROVED"
            else:
                pending.status = "inactive"
                pending.message = outcome.outcome_message if approve else cards.THREE_DS_DECLINED.message
            pending.updated_at = now()
            self.store.save(pending)
        return pending

    @staticmethod
    def return_url(done: Payment | Token) -> str | None:
        """Where the browser goes after the challenge: `callback_url` with id, status and message appended."""
        if not done.callback_url:
            return None
        message = done.message or ""
        return with_query(done.callback_url, id=done.id, status=done.status, message=message)

    # --- after the payment --------------------------------------------------------------------------------

    def update_payment(self, payment_id: str, body: dict[str, Any]) -> Payment:
        """`PUT /v1/payments/{id}`: only `description` and `metadata`; an empty metadata value removes the key."""
        payment = self.get_payment(payment_id)
        errors = _Errors()
        for key in body:
            if key not in ("description", "metadata"):
                errors.add(key, "cannot be changed (only description and metadata can)")
        description = body.get("description", payment.description)
        if description is not None and (not isinstance(description, str) or len(description) > 255):
            errors.add("description", "must be text of at most 255 characters")
        changes = _metadata(body.get("metadata"), errors)
        errors.raise_if_any(self.switches)
        payment.description = description
        if changes is not None:
            merged = {**(payment.metadata or {}), **changes}
            payment.metadata = {k: v for k, v in merged.items() if v != ""} or None
        payment.updated_at = now()
        self.store.save(payment)
        return payment

    def _amount(self, body: dict[str, Any], default: int, most: int, what: str) -> int:
        value = body.get("amount")
        if value is None:
            return default
        amount = _integer(value)
        if amount is None or amount <= 0 or amount > most:
            raise FakeApiError(
                400,
                self.switches.validation_error_type,
                "Validation Failed",
                {"amount": [f"must be an integer from 1 to {most} (what can still be {what})"]},
            )
        return amount

    def refund(self, payment_id: str, body: dict[str, Any]) -> Payment:
        """Refund all (default) or part of a paid or captured payment."""
        payment = self.get_payment(payment_id)
        base = payment.captured if payment.captured else payment.amount
        refundable = payment.status in ("paid", "captured") or (
            payment.status == "refunded" and payment.refunded < base
        )
        if not refundable or payment.voided_at:
            raise invalid(f"Payment is {payment.status}: only paid or captured payments can be refunded")
        remaining = base - payment.refunded
        amount = self._amount(body, remaining, remaining, "refunded")
        payment.refunded += amount
        payment.refunded_at = payment.updated_at = now()
        if payment.refunded == base or self.switches.partial_refund_status == "refunded":
            payment.status = "refunded"
        self.store.save(payment)
        self._notify("payment_refunded", self.payment_json(payment))
        return payment

    def capture(self, payment_id: str, body: dict[str, Any]) -> Payment:
        """Capture all (default) or part of an authorized payment; the rest is released."""
        payment = self.get_payment(payment_id)
        if payment.status != "authorized":
            raise invalid(f"Payment is {payment.status}: only authorized payments can be captured")
        payment.captured = self._amount(body, payment.amount, payment.amount, "captured")
        payment.captured_at = payment.updated_at = now()
        payment.status = "captured"
        self.store.save(payment)
        self._changed(payment)
        return payment

    def void(self, payment_id: str) -> Payment:
        """Cancel a paid, authorized or captured payment before settlement."""
        payment = self.get_payment(payment_id)
        if payment.status not in ("paid", "authorized", "captured") or payment.refunded:
            raise invalid(f"Payment is {payment.status}: only paid, authorized or captured payments can be voided")
        payment.status = "voided"
        payment.voided_at = payment.updated_at = now()
        self.store.save(payment)
        self._changed(payment)
        return payment

    def list_payments(self, query: dict[str, str], page: int) -> tuple[list[Payment], dict[str, Any]]:
        """`GET /v1/payments`: newest first, 40 a page, filtered (moyasar.md section 8)."""
        items = sorted(self.store.payments.values(), key=lambda p: p.seq, reverse=True)
        for name, value in query.items():
            items = [p for p in items if self._matches(p, name, value)]
        total = len(items)
        pages = max(1, -(-total // PAGE_SIZE))
        chunk = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        meta = {
            "current_page": page,
            "next_page": page + 1 if page < pages else None,
            "prev_page": page - 1 if page > 1 else None,
            "total_pages": pages,
            "total_count": total,
        }
        return chunk, meta

    @staticmethod
    def _matches(payment: Payment, name: str, value: str) -> bool:
        if name == "status":
            return payment.status == value
        if name == "id":
            return payment.id == value
        if name == "card_last_digits":
            return payment.card.last_four.endswith(value)
        if name.startswith("metadata[") and name.endswith("]"):
            return (payment.metadata or {}).get(name[9:-1]) == value
        for field, moment in (("created", payment.created_at), ("updated", payment.updated_at)):
            for op in ("gt", "lt"):
                if name == f"{field}[{op}]":
                    bound = _instant(value)
                    return moment > bound if op == "gt" else moment < bound
        return True  # like Moyasar, an unknown filter is ignored


def _instant(value: str) -> datetime:
    """A filter bound: ISO 8601 (a trailing Z allowed); a bare date is midnight UTC."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FakeApiError(
            400, "invalid_request_error", "Validation Failed", {"created/updated": ["must be an ISO 8601 date-time"]}
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
