"""What the stand-in remembers: tokens, payments, webhooks, and pending 3-D Secure challenges.

In memory by default; with a state file (SQLite through the standard library) every change is written through,
so a demo keeps its tokens and payments across restarts. Webhook events and delivery attempts stay in memory.
A card is kept only as brand, name, last four digits, expiry and the sandbox outcome: never its number or CVC.
"""

from __future__ import annotations

import secrets
import sqlite3
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

import msgspec

TokenStatus = Literal["initiated", "active", "inactive", "expired"]
_TOKEN_ALPHABET: Final = string.ascii_letters + string.digits


def now() -> datetime:
    """The current time at Moyasar's precision (milliseconds), so a timestamp read back compares equal."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def iso(moment: datetime | None) -> str | None:
    """Moyasar's timestamps: ISO 8601 UTC with milliseconds and a Z."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_token_id() -> str:
    return "token_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(28))


def new_auth_id() -> str:
    return secrets.token_urlsafe(24)


class Card(msgspec.Struct, kw_only=True):
    brand: str
    name: str
    last_four: str
    month: int
    year: int
    # The sandbox outcome of this card number (cards.Outcome), kept instead of the number.
    outcome_status: str
    outcome_message: str
    outcome_code: str
    frictionless: bool = False
    funding: str = "credit"
    country: str = "SA"

    @property
    def masked(self) -> str:
        return "XXXX-XXXX-XXXX-" + self.last_four


class Token(msgspec.Struct, kw_only=True):
    id: str
    status: TokenStatus
    card: Card
    save_only: bool
    callback_url: str | None = None
    metadata: dict[str, str] | None = None
    message: str | None = None
    # The 3-D Secure challenge that verifies the card (default flow), while the token is `initiated`.
    auth_id: str | None = None
    # A save_only token may be charged once (moyasar.md section 4.1).
    used: bool = False
    created_at: datetime
    updated_at: datetime


class Payment(msgspec.Struct, kw_only=True):
    id: str
    seq: int
    status: str
    amount: int
    currency: str
    description: str | None
    metadata: dict[str, str] | None
    callback_url: str | None
    card: Card
    token_id: str | None = None
    # The token this payment issues (save_card) or verifies (a save_only token's first payment).
    issued_token_id: str | None = None
    manual: bool = False
    message: str | None = None
    response_code: str | None = None
    authorization_code: str | None = None
    gateway_id: str
    reference_number: str | None = None
    auth_id: str | None = None
    fee: int = 0
    refunded: int = 0
    refunded_at: datetime | None = None
    captured: int = 0
    captured_at: datetime | None = None
    voided_at: datetime | None = None
    ip: str | None = None
    created_at: datetime
    updated_at: datetime


class Webhook(msgspec.Struct, kw_only=True):
    id: str
    url: str
    http_method: str
    shared_secret: str
    events: list[str]
    created_at: datetime


_KINDS: Final = {"token": Token, "payment": Payment, "webhook": Webhook}


class Store:
    """Tokens, payments and webhooks by id; `state_file` makes them survive a restart."""

    def __init__(self, state_file: Path | None = None) -> None:
        self.tokens: dict[str, Token] = {}
        self.payments: dict[str, Payment] = {}
        self.webhooks: dict[str, Webhook] = {}
        self._db: sqlite3.Connection | None = None
        if state_file is not None:
            state_file.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(state_file, isolation_level=None, check_same_thread=False)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS objects (kind TEXT, id TEXT, body BLOB, PRIMARY KEY (kind, id))"
            )
            self._load()

    def _load(self) -> None:
        assert self._db is not None
        for kind, body in self._db.execute("SELECT kind, body FROM objects"):
            kind_type = _KINDS.get(kind)
            if kind_type is None:
                continue
            obj = msgspec.json.decode(body, type=kind_type)
            self._table(obj)[obj.id] = obj

    def _table(self, obj: Token | Payment | Webhook) -> dict[str, object]:
        if isinstance(obj, Token):
            return self.tokens  # type: ignore[return-value]
        if isinstance(obj, Payment):
            return self.payments  # type: ignore[return-value]
        return self.webhooks  # type: ignore[return-value]

    @staticmethod
    def _kind(obj: Token | Payment | Webhook) -> str:
        return "token" if isinstance(obj, Token) else "payment" if isinstance(obj, Payment) else "webhook"

    def save(self, obj: Token | Payment | Webhook) -> None:
        """Keep `obj` (new or changed); written through to the state file."""
        self._table(obj)[obj.id] = obj
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO objects (kind, id, body) VALUES (?, ?, ?)",
                (self._kind(obj), obj.id, msgspec.json.encode(obj)),
            )

    def delete(self, obj: Token | Payment | Webhook) -> None:
        self._table(obj).pop(obj.id, None)
        if self._db is not None:
            self._db.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (self._kind(obj), obj.id))

    def next_seq(self) -> int:
        return max((p.seq for p in self.payments.values()), default=0) + 1

    def payment_for_auth(self, auth_id: str) -> Payment | None:
        return next((p for p in self.payments.values() if p.auth_id == auth_id), None)

    def token_for_auth(self, auth_id: str) -> Token | None:
        return next((t for t in self.tokens.values() if t.auth_id == auth_id), None)

    def reset(self) -> None:
        """Forget everything except the webhooks configured through the API."""
        self.tokens.clear()
        self.payments.clear()
        if self._db is not None:
            self._db.execute("DELETE FROM objects WHERE kind != 'webhook'")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
