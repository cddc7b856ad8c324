"""Moyasar's REST API for billing: an async client over httpx, typed results, one error type.

This is the one billing module allowed an HTTP client (tests/test_architecture.py): it talks to Moyasar, Atlas's
payment provider, never to a customer system. Facts about the API, with their confidence, are in moyasar.md.

- Auth: HTTP Basic with the secret key as user name and an empty password; the key decides test or live mode.
- Every request sends an explicit User-Agent (Moyasar's Cloudflare front refuses some default ones with an HTML
  403), `Accept: application/json`, and has a timeout.
- Retries with exponential backoff and jitter only where they are safe: GETs on 429, 5xx and network errors;
  creating a payment only with the same `given_id`, after asking Moyasar (`GET /payments/{given_id}`) whether
  the ambiguous attempt created it (moyasar.md section 3). Refunds and voids are never retried blindly.
- Moyasar's error shapes (`type`, `message`, `errors` as a map, a string or null; an HTML page from a proxy)
  become one `MoyasarError` with a stable `code`, the HTTP status and a safe message: never a key, never a card
  number. `MoyasarError.message_key` names the catalogue message to show a person.
- Nothing here logs a key, a token id or card data.
"""

from __future__ import annotations

import asyncio
import hmac
import random
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self
from urllib.parse import quote

import httpx
import msgspec
import structlog
from pydantic import SecretStr

from atlas.moyasar_keys import KeyMode, key_mode, key_problems, reveal

if TYPE_CHECKING:
    from atlas.config import Settings

__all__ = [
    "DEFAULT_BASE_URL",
    "ERROR_CODES",
    "EVENT_FAILED_SPELLINGS",
    "KeyMode",
    "MoyasarClient",
    "MoyasarError",
    "MoyasarEvent",
    "MoyasarPage",
    "MoyasarPayment",
    "MoyasarToken",
    "PaymentStatus",
    "client_from_settings",
    "key_mode",
    "key_problems",
    "parse_webhook_event",
]

log = structlog.get_logger("atlas.billing.moyasar")

DEFAULT_BASE_URL: Final = "https://api.moyasar.com/v1"
_RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
# Anything that looks like a card number or a Moyasar key is masked out of every message we keep.
# A run of 12 to 19 digits (single spaces or dashes between them) standing on its own: not digits inside a longer
# word or an id such as a payment's UUID (``1db90327-9019-4925-9471-b8fe…``), which must stay readable.
_CARD_DIGITS: Final = re.compile(r"(?<![\w-])\d(?:[ -]?\d){11,18}(?![\w-])")
_KEY_TEXT: Final = re.compile(r"\b[sp]k_(?:test|live)_[A-Za-z0-9]+")


def _package_version() -> str:
    try:
        return version("atlas")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0"


DEFAULT_USER_AGENT: Final = f"Atlas-Billing/{_package_version()}"


class PaymentStatus:
    """Moyasar's payment statuses (moyasar.md section 2.3). A status not listed here is kept as it comes."""

    INITIATED: Final = "initiated"
    PAID: Final = "paid"
    FAILED: Final = "failed"
    AUTHORIZED: Final = "authorized"
    CAPTURED: Final = "captured"
    REFUNDED: Final = "refunded"
    VOIDED: Final = "voided"
    VERIFIED: Final = "verified"


# --- results -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MoyasarPayment:
    """A payment as Moyasar reports it. Money is integer minor units (halalas for SAR)."""

    id: str
    status: str
    amount: int
    currency: str
    description: str | None
    metadata: dict[str, str]
    created_at: datetime | None
    updated_at: datetime | None
    # From `source`: its type, the card scheme (mada, visa, master...), the masked number, the issuer's message,
    # the token the payment used or saved, and the 3-D Secure URL while the payment is `initiated`.
    source_type: str | None = None
    company: str | None = None
    masked_number: str | None = None
    message: str | None = None
    token_id: str | None = field(default=None, repr=False)
    transaction_url: str | None = None
    callback_url: str | None = None
    fee: int = 0
    refunded: int = 0
    captured: int = 0

    @property
    def needs_3ds(self) -> bool:
        """The cardholder must pass 3-D Secure at `transaction_url` before the payment is decided."""
        return self.status == PaymentStatus.INITIATED and bool(self.transaction_url)

    @property
    def succeeded(self) -> bool:
        """Money was taken (or held, for a manual payment)."""
        return self.status in (PaymentStatus.PAID, PaymentStatus.CAPTURED, PaymentStatus.AUTHORIZED)

    @property
    def last_four(self) -> str | None:
        digits = re.sub(r"\D", "", self.masked_number or "")
        return digits[-4:] if len(digits) >= 4 else None


@dataclass(frozen=True, slots=True)
class MoyasarToken:
    """A saved card: never its number, only what is safe to show (brand, last four, expiry, name)."""

    id: str = field(repr=False)
    status: str
    brand: str | None
    last_four: str | None
    month: int | None
    year: int | None
    name: str | None
    message: str | None = None
    verification_url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class MoyasarPage:
    """One page of `GET /payments` (40 a page, newest first)."""

    payments: list[MoyasarPayment]
    current_page: int
    next_page: int | None
    total_pages: int | None
    total_count: int | None


EVENT_FAILED_SPELLINGS: Final = frozenset({"payment_failed", "payment_faild"})


@dataclass(frozen=True, slots=True)
class MoyasarEvent:
    """A webhook event whose `secret_token` matched. `type` is normalised (`payment_faild` → `payment_failed`);
    `payment` is `data` as a payment (None for other events). Always re-fetch the payment before acting on it."""

    id: str
    type: str
    created_at: datetime | None
    live: bool
    account_name: str | None
    payment: MoyasarPayment | None


# --- wire shapes (decoded strictly, mapped to the results above) ---------------------------------------------


class _SourceWire(msgspec.Struct, kw_only=True):
    type: str | None = None
    company: str | None = None
    number: str | None = None
    message: str | None = None
    token: str | None = None
    transaction_url: str | None = None


class _PaymentWire(msgspec.Struct, kw_only=True):
    id: str
    status: str
    amount: int
    currency: str
    description: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    callback_url: str | None = None
    fee: int | None = None
    refunded: int | None = None
    captured: int | None = None
    source: _SourceWire | None = None


class _TokenWire(msgspec.Struct, kw_only=True):
    id: str
    status: str
    brand: str | None = None
    last_four: str | None = None
    month: int | str | None = None
    year: int | str | None = None
    name: str | None = None
    message: str | None = None
    verification_url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class _MetaWire(msgspec.Struct, kw_only=True):
    current_page: int | None = None
    next_page: int | None = None
    total_pages: int | None = None
    total_count: int | None = None


class _PageWire(msgspec.Struct, kw_only=True):
    payments: list[_PaymentWire] = msgspec.field(default_factory=list)
    meta: _MetaWire | None = None


class _EventWire(msgspec.Struct, kw_only=True):
    id: str
    type: str
    secret_token: str | None = None
    created_at: datetime | None = None
    live: bool = False
    account_name: str | None = None
    data: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"null"))


def _payment(wire: _PaymentWire) -> MoyasarPayment:
    source = wire.source or _SourceWire()
    metadata = {str(k): "" if v is None else str(v) for k, v in (wire.metadata or {}).items()}
    return MoyasarPayment(
        id=wire.id,
        status=wire.status,
        amount=wire.amount,
        currency=wire.currency,
        description=wire.description,
        metadata=metadata,
        created_at=wire.created_at,
        updated_at=wire.updated_at,
        source_type=source.type,
        company=source.company,
        masked_number=source.number,
        message=source.message,
        token_id=source.token,
        transaction_url=source.transaction_url,
        callback_url=wire.callback_url,
        fee=wire.fee or 0,
        refunded=wire.refunded or 0,
        captured=wire.captured or 0,
    )


def _as_int(value: int | str | None) -> int | None:
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _token(wire: _TokenWire) -> MoyasarToken:
    return MoyasarToken(
        id=wire.id,
        status=wire.status,
        brand=wire.brand,
        last_four=wire.last_four,
        month=_as_int(wire.month),
        year=_as_int(wire.year),
        name=wire.name,
        message=wire.message,
        verification_url=wire.verification_url,
        created_at=wire.created_at,
        updated_at=wire.updated_at,
    )


# --- errors --------------------------------------------------------------------------------------------------

# code → what it means; every code has the catalogue message `errors.moyasar_<code>`.
ERROR_CODES: Final = {
    "authentication": "Moyasar refused the API key (HTTP 401)",
    "forbidden": "the key may not do this (HTTP 403), e.g. a publishable key on a secret-key endpoint",
    "blocked": "something in front of Moyasar (Cloudflare) refused the request with an HTML page",
    "invalid_request": "Moyasar rejected the request's content (HTTP 400); `errors` names the fields",
    "used_given_id": "a payment with this given_id exists already (HTTP 400 used_given_id)",
    "given_id_conflict": "the payment found under this given_id has another amount, currency or token",
    "not_found": "no such object (HTTP 404)",
    "not_activated": "the account is not activated for live payments (HTTP 405)",
    "account_inactive": "the Moyasar account is inactive",
    "rate_limited": "too many requests (HTTP 429)",
    "server_error": "Moyasar failed (HTTP 5xx)",
    "unavailable": "Moyasar is down for maintenance (HTTP 503)",
    "timeout": "Moyasar did not answer in time",
    "network": "Moyasar could not be reached, or the connection broke",
    "outcome_unknown": "a payment was maybe created: neither the answer nor the check by given_id came back",
    "bad_response": "Moyasar's answer was not the JSON expected",
    "unexpected_status": "Moyasar answered with an unexpected HTTP status",
    "forged_event": "a webhook event whose secret_token does not match (parse_webhook_event)",
    "bad_event": "a webhook body that is not a Moyasar event (parse_webhook_event)",
}
_TYPE_CODES: Final = {
    "authentication_error": "authentication",
    "invalid_request_error": "invalid_request",
    "validation_error": "invalid_request",
    "used_given_id": "used_given_id",
    "record_not_found": "not_found",
    "rate_limit_error": "rate_limited",
    "account_inactive_error": "account_inactive",
    "api_connection_error": "network",
}
_DECIDED_BY_STATUS: Final = {401: "authentication", 403: "forbidden", 404: "not_found", 429: "rate_limited"}
_STATUS_CODES: Final = {
    400: "invalid_request",
    401: "authentication",
    403: "forbidden",
    404: "not_found",
    405: "not_activated",
    429: "rate_limited",
    503: "unavailable",
}


def safe_text(text: str, limit: int = 300) -> str:
    """`text` without anything that looks like a card number or a Moyasar key, and not too long."""
    masked = _KEY_TEXT.sub("[key]", _CARD_DIGITS.sub("[card number]", text))
    return masked if len(masked) <= limit else masked[: limit - 1] + "…"


class MoyasarError(Exception):
    """A Moyasar call failed. `code` is stable (see ERROR_CODES); `status` is the HTTP status when there was one;
    `message` is safe to log; `errors` are Moyasar's field errors; `retryable` says whether trying again later may
    work (the client has already retried what was safe)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        moyasar_type: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        retryable: bool = False,
    ) -> None:
        self.code = code
        self.status = status
        self.message = safe_text(message)
        self.moyasar_type = moyasar_type
        self.errors = {safe_text(k, 80): [safe_text(m, 200) for m in v] for k, v in (errors or {}).items()}
        self.retryable = retryable
        super().__init__(self.__str__())

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        fields = "; ".join(f"{k}: {', '.join(v)}" if k else ", ".join(v) for k, v in self.errors.items())
        return f"Moyasar {self.code}{status}: {self.message}" + (f" [{fields}]" if fields else "")

    def __repr__(self) -> str:
        return f"MoyasarError(code={self.code!r}, status={self.status!r}, message={self.message!r})"

    @property
    def message_key(self) -> str:
        """The catalogue key of the message to show a person (Arabic and English)."""
        return f"errors.moyasar_{self.code}"


def _field_errors(value: object) -> dict[str, list[str]]:
    """Moyasar's `errors`: a map of field → messages (or one message), a plain string, or null."""
    if isinstance(value, dict):
        out: dict[str, list[str]] = {}
        for key, messages in value.items():
            items = messages if isinstance(messages, list) else [messages]
            out[str(key)] = [str(m) for m in items if m is not None]
        return out
    if isinstance(value, str) and value.strip():
        return {"": [value]}
    if isinstance(value, list):
        return {"": [str(m) for m in value]}
    return {}


def error_from_response(response: httpx.Response) -> MoyasarError:
    """Map any non-success answer to a MoyasarError (JSON envelope, bare message, or an HTML page)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    retryable = status in _RETRY_STATUSES
    if not isinstance(body, dict):
        content_type = response.headers.get("content-type", "")
        looks_html = "html" in content_type or response.text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))
        if looks_html and status == 403:
            return MoyasarError(
                "blocked",
                "refused by the proxy in front of Moyasar (an HTML page, not Moyasar's JSON); "
                "check the User-Agent and the server's IP address",
                status=status,
            )
        code = "server_error" if status >= 500 else _STATUS_CODES.get(status, "unexpected_status")
        kind = "an HTML page" if looks_html else "a body that is not JSON"
        return MoyasarError(code, f"Moyasar answered HTTP {status} with {kind}", status=status, retryable=retryable)
    moyasar_type = body.get("type") if isinstance(body.get("type"), str) else None
    message = str(body["message"]) if isinstance(body.get("message"), str) else ""
    # The status decides for auth, not-found and rate limits (a 403 can carry type authentication_error);
    # otherwise Moyasar's `type` (used_given_id, account_inactive_error...), then the status.
    decided = _DECIDED_BY_STATUS.get(status) or _TYPE_CODES.get(moyasar_type or "")
    code = decided or (
        "server_error" if status >= 500 and status != 503 else _STATUS_CODES.get(status, "unexpected_status")
    )
    return MoyasarError(
        code,
        message or f"Moyasar answered HTTP {status}",
        status=status,
        moyasar_type=moyasar_type,
        errors=_field_errors(body.get("errors")),
        retryable=retryable,
    )


def _json_object(response: httpx.Response) -> bool:
    try:
        return isinstance(response.json(), dict)
    except ValueError:
        return False


def _decode(response: httpx.Response, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(response.content, type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise MoyasarError(
            "bad_response", f"Moyasar's answer did not match the expected shape: {exc}", status=response.status_code
        ) from None


# --- webhooks ------------------------------------------------------------------------------------------------


def parse_webhook_event(body: bytes, *, secret: str | SecretStr) -> MoyasarEvent:
    """A webhook POST's body, checked: its `secret_token` must equal `secret` (compared in constant time).
    Raises MoyasarError `forged_event` on a wrong or missing secret, `bad_event` on a malformed body."""
    try:
        wire = msgspec.json.decode(body, type=_EventWire)
    except (msgspec.ValidationError, msgspec.DecodeError):
        raise MoyasarError("bad_event", "the webhook body is not a Moyasar event") from None
    expected = reveal(secret).encode()
    given = (wire.secret_token or "").encode()
    if not expected or not hmac.compare_digest(given, expected):
        raise MoyasarError("forged_event", "the webhook's secret_token does not match MOYASAR_WEBHOOK_SECRET")
    payment: MoyasarPayment | None = None
    if wire.type.startswith("payment_") and bytes(wire.data).strip() != b"null":
        try:
            payment = _payment(msgspec.json.decode(wire.data, type=_PaymentWire))
        except (msgspec.ValidationError, msgspec.DecodeError):
            raise MoyasarError("bad_event", "the webhook's data is not a payment") from None
    event_type = "payment_failed" if wire.type in EVENT_FAILED_SPELLINGS else wire.type
    return MoyasarEvent(
        id=wire.id,
        type=event_type,
        created_at=wire.created_at,
        live=wire.live,
        account_name=wire.account_name,
        payment=payment,
    )


# --- the client ----------------------------------------------------------------------------------------------


def _moment(value: datetime) -> str:
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _path_id(value: str) -> str:
    """An id from outside (a callback's query string) safe to put in a path: no `/`, `..` or `?` gets through."""
    if not value or len(value) > 200:
        raise ValueError("an id must be 1 to 200 characters")
    return quote(value, safe="")


class MoyasarClient:
    """Moyasar's API with the secret key. One instance per process; `aclose()` (or `async with`) when done.

    Tests point `base_url` at the local stand-in (atlas.billing.moyasar_fake); `backoff` and `max_attempts`
    make retries fast there.
    """

    def __init__(
        self,
        *,
        base_url: str,
        secret_key: str | SecretStr,
        timeout: float = 15.0,
        user_agent: str = DEFAULT_USER_AGENT,
        max_attempts: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        key = reveal(secret_key)
        if not key.startswith(("sk_test_", "sk_live_")):
            raise ValueError("MoyasarClient needs the secret key (sk_test_... or sk_live_...)")
        self.mode: KeyMode = key_mode(key)
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=httpx.BasicAuth(key, ""),
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            follow_redirects=False,
            transport=transport,
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"MoyasarClient(base_url={self.base_url!r}, mode={self.mode!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- one request, and the retry policy -----------------------------------------------------------------

    async def _send(self, method: str, path: str, what: str, *, json: Any = None, params: Any = None) -> httpx.Response:
        """One attempt. Transport failures become MoyasarError `timeout` / `network` (retryable)."""
        try:
            response = await self._http.request(method, path, json=json, params=params)
        except httpx.TimeoutException as exc:
            log.warning("moyasar request timed out", method=method, path=what, error=type(exc).__name__)
            raise MoyasarError(
                "timeout", f"no answer from Moyasar to {method} {what} in time", retryable=True
            ) from None
        except httpx.TransportError as exc:
            log.warning("moyasar request failed", method=method, path=what, error=type(exc).__name__)
            raise MoyasarError(
                "network", f"{method} {what} failed on the network ({type(exc).__name__})", retryable=True
            ) from None
        log.info("moyasar request", method=method, path=what, status=response.status_code)
        return response

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Exponential backoff with jitter; a Retry-After header is honoured (within `max_backoff`)."""
        delay = min(self.max_backoff, self.backoff * float(2 ** (attempt - 1))) * random.uniform(0.5, 1.0)  # noqa: S311
        header = response.headers.get("retry-after") if response is not None else None
        if header and header.strip().isdigit():
            delay = max(delay, min(float(header), self.max_backoff))
        return delay

    async def _get(self, path: str, what: str, *, params: Any = None) -> httpx.Response | None:
        """GET with retries on 429, 5xx and network errors; None on Moyasar's own (JSON) 404."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = await self._send("GET", path, what, params=params)
            except MoyasarError:
                if attempt == self.max_attempts:
                    raise
                await asyncio.sleep(self._delay(attempt, None))
                continue
            if response.status_code in _RETRY_STATUSES and attempt < self.max_attempts:
                await asyncio.sleep(self._delay(attempt, response))
                continue
            if response.is_success:
                return response
            if response.status_code == 404 and _json_object(response):
                return None  # Moyasar's JSON 404; an HTML 404 (a wrong base URL, a proxy) stays an error
            raise error_from_response(response)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- payments -------------------------------------------------------------------------------------------

    async def create_token_payment(
        self,
        *,
        given_id: uuid.UUID,
        amount: int,
        currency: str,
        description: str,
        token: str,
        callback_url: str,
        metadata: dict[str, str],
        three_ds: bool,
    ) -> MoyasarPayment:
        """Charge a saved token. `given_id` makes it idempotent: an ambiguous failure (timeout, dropped
        connection, 5xx) is resolved by fetching the payment under that id and retrying only if it does not
        exist. A declined card is not an error: the payment comes back `failed` with its `message`. With
        `three_ds` the payment comes back `initiated` with `transaction_url` for the browser."""
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 100:
            raise ValueError("amount must be an integer of at least 100 (minor units: 100 halalas = 1 SAR)")
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise ValueError("currency must be a 3-letter ISO 4217 code in capitals, e.g. SAR")
        body = {
            "given_id": str(given_id),
            "amount": amount,
            "currency": currency,
            "description": description,
            "callback_url": callback_url,
            "metadata": {str(k): str(v) for k, v in metadata.items()},
            "source": {"type": "token", "token": token, "3ds": three_ds},
        }
        payment_id = str(given_id)
        last_error: MoyasarError | None = None
        for attempt in range(1, self.max_attempts + 1):
            response: httpx.Response | None = None
            try:
                response = await self._send("POST", "/payments", "/payments", json=body)
            except MoyasarError as exc:
                last_error = exc  # the request may or may not have created the payment: ask
            if response is not None:
                if response.status_code in (200, 201):
                    return _payment(_decode(response, _PaymentWire))
                error = error_from_response(response)
                if error.code == "used_given_id":
                    found = await self._existing(payment_id, error)
                    if found is not None:
                        return self._same_payment(found, body)
                    raise error
                if response.status_code not in _RETRY_STATUSES:
                    raise error
                last_error = error
            if response is None or response.status_code >= 500:
                found = await self._existing(payment_id, last_error)
                if found is not None:
                    return self._same_payment(found, body)
            if attempt < self.max_attempts:
                await asyncio.sleep(self._delay(attempt, response))
        assert last_error is not None
        raise last_error

    async def _existing(self, payment_id: str, cause: MoyasarError | None) -> MoyasarPayment | None:
        """After an ambiguous create: the payment under its given_id, or None if Moyasar has none."""
        try:
            return await self.fetch_payment(payment_id)
        except MoyasarError as exc:
            log.warning("moyasar payment outcome unknown", payment_id=payment_id, code=exc.code)
            raise MoyasarError(
                "outcome_unknown",
                f"the payment {payment_id} may have been created: creating it failed "
                f"({cause.code if cause else 'unknown'}) and fetching it failed ({exc.code}); "
                "look it up again later (webhook or list) before charging again",
                status=exc.status,
                retryable=True,
            ) from None

    @staticmethod
    def _same_payment(found: MoyasarPayment, body: dict[str, Any]) -> MoyasarPayment:
        """The payment found under our given_id must be the one we asked for, not an older different one."""
        source = body["source"]
        if (
            found.amount != body["amount"]
            or found.currency != body["currency"]
            or (found.token_id is not None and found.token_id != source["token"])
        ):
            raise MoyasarError(
                "given_id_conflict",
                f"the payment {found.id} exists with another amount, currency or token than this request",
            )
        return found

    async def fetch_payment(self, payment_id: str) -> MoyasarPayment | None:
        """The payment as Moyasar has it now (the only truth to act on); None when it does not exist."""
        response = await self._get(f"/payments/{_path_id(payment_id)}", "/payments/{id}")
        return None if response is None else _payment(_decode(response, _PaymentWire))

    async def list_payments(
        self,
        *,
        status: str | None = None,
        metadata: dict[str, str] | None = None,
        updated_after: datetime | None = None,
        page: int = 1,
    ) -> MoyasarPage:
        """One page of payments, newest first, for reconciliation (e.g. `status="paid"`, `updated_after=...`,
        `metadata={"tenant_id": ...}`)."""
        params: dict[str, str] = {"page": str(page)}
        if status:
            params["status"] = status
        for key, value in (metadata or {}).items():
            params[f"metadata[{key}]"] = value
        if updated_after is not None:
            params["updated[gt]"] = _moment(updated_after)
        response = await self._get("/payments", "/payments", params=params)
        if response is None:
            raise MoyasarError("not_found", "the payments list answered 404", status=404)
        wire = _decode(response, _PageWire)
        meta = wire.meta or _MetaWire()
        return MoyasarPage(
            payments=[_payment(p) for p in wire.payments],
            current_page=meta.current_page or page,
            next_page=meta.next_page,
            total_pages=meta.total_pages,
            total_count=meta.total_count,
        )

    async def iterate_payments(self, **filters: Any) -> AsyncIterator[MoyasarPayment]:
        """Every payment matching `filters` (those of `list_payments`), page after page."""
        page: int | None = 1
        while page is not None:
            result = await self.list_payments(**filters, page=page)
            for payment in result.payments:
                yield payment
            page = result.next_page if result.next_page and result.next_page > page else None

    async def _operation(self, payment_id: str, operation: str, body: dict[str, Any] | None) -> MoyasarPayment:
        """Refund, capture or void: sent once (no idempotency on Moyasar's side); on an ambiguous failure the
        caller re-fetches the payment and checks `refunded` / `status` before trying again."""
        response = await self._send(
            "POST", f"/payments/{_path_id(payment_id)}/{operation}", f"/payments/{{id}}/{operation}", json=body
        )
        if not response.is_success:
            raise error_from_response(response)
        return _payment(_decode(response, _PaymentWire))

    async def refund_payment(self, payment_id: str, *, amount: int | None = None) -> MoyasarPayment:
        """Refund all of a paid payment, or `amount` of it."""
        return await self._operation(payment_id, "refund", {"amount": amount} if amount is not None else None)

    async def void_payment(self, payment_id: str) -> MoyasarPayment:
        """Cancel a payment before settlement."""
        return await self._operation(payment_id, "void", None)

    async def update_payment(
        self, payment_id: str, *, description: str | None = None, metadata: dict[str, str] | None = None
    ) -> MoyasarPayment:
        """Change a payment's description or metadata (an empty value removes a metadata key)."""
        body: dict[str, Any] = {}
        if description is not None:
            body["description"] = description
        if metadata is not None:
            body["metadata"] = metadata
        response = await self._send("PUT", f"/payments/{_path_id(payment_id)}", "/payments/{id}", json=body)
        if not response.is_success:
            raise error_from_response(response)
        return _payment(_decode(response, _PaymentWire))

    # --- tokens ---------------------------------------------------------------------------------------------

    async def fetch_token(self, token_id: str) -> MoyasarToken | None:
        """A saved card's token (status, brand, last four, expiry); None when it does not exist."""
        response = await self._get(f"/tokens/{_path_id(token_id)}", "/tokens/{id}")
        return None if response is None else _token(_decode(response, _TokenWire))

    async def delete_token(self, token_id: str) -> bool:
        """Forget a saved card at Moyasar; False when it was already gone."""
        response = await self._send("DELETE", f"/tokens/{_path_id(token_id)}", "/tokens/{id}")
        if response.status_code == 404:
            return False
        if not response.is_success:
            raise error_from_response(response)
        return True


def client_from_settings(settings: Settings) -> MoyasarClient:
    """The client for this deployment's settings; ValueError when Moyasar is not configured."""
    if settings.moyasar_secret_key is None:
        raise ValueError("Moyasar is not configured: set MOYASAR_SECRET_KEY and MOYASAR_PUBLISHABLE_KEY")
    return MoyasarClient(
        base_url=settings.moyasar_base_url,
        secret_key=settings.moyasar_secret_key,
        timeout=settings.moyasar_timeout_seconds,
    )
