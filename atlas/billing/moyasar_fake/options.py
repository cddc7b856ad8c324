"""How the stand-in is started (`FakeOptions`) and the behaviours tests may switch at run time (`Switches`).

Each switch covers a point moyasar.md marks UNCONFIRMED (section 9, the items with a dagger), so Atlas can be
tested against either reading of the docs. `GET/PUT /_fake/settings` reads and changes them while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

import msgspec

DEMO_SECRET_KEY: Final = "sk_test_atlas_demo_5Yq2Lm8Rt4Wz9Kc3Vb7Nd1Hs"
DEMO_PUBLISHABLE_KEY: Final = "pk_test_atlas_demo_8Jf3Pq6Xe2Ua5Tg9Lm4Cv7Rb"
DEFAULT_RETRY_SECONDS: Final = (0.0, 60.0, 600.0, 1800.0, 3600.0, 7200.0)
DEFAULT_ACCOUNT_NAME: Final = "Atlas (local Moyasar stand-in)"


class Switches(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Run-time behaviours. Defaults follow the reading of moyasar.md that Atlas relies on."""

    # A second create with a used given_id: 400 `used_given_id` ("verified live" by a third party), or, when on,
    # the existing payment again (the older docs' "Payment is already created").
    given_id_replay: bool = False
    # What a save_only token leaves behind after its (3-D Secure) payment succeeds: an `active` token that renewals
    # can charge (on), or nothing reusable: the token turns `inactive` (off; the docs' "single-use").
    save_only_reusable: bool = True
    # The failed-payment event's name: the webhook reference page spells it `payment_faild`.
    failed_event_name: Literal["payment_failed", "payment_faild"] = "payment_failed"
    # A card number missing from the test-card table: failed (current docs) or paid (old docs).
    unknown_card_outcome: Literal["failed", "paid"] = "failed"
    # The status after a partial refund: stays `paid`, or becomes `refunded`.
    partial_refund_status: Literal["paid", "refunded"] = "paid"
    # The `type` of a 400 validation error: the documented `invalid_request_error` or the observed
    # `validation_error`.
    validation_error_type: Literal["invalid_request_error", "validation_error"] = "invalid_request_error"
    # Create-token errors as a bare `{"message": ...}` without `type`/`errors` (reported by a third party).
    bare_token_errors: bool = False
    # Webhooks: seconds to wait before each attempt (the first is usually 0), then the event is dropped.
    webhook_retry_seconds: list[float] = msgspec.field(default_factory=lambda: list(DEFAULT_RETRY_SECONDS))
    # Fault injection for webhooks: deliver every event this many times (same event id), send a wrong
    # `secret_token`, flag events `live: true`, or hold events until `POST /_fake/webhooks/release`.
    webhook_duplicates: int = 1
    webhook_wrong_secret: bool = False
    webhook_live: bool = False
    webhook_hold: bool = False

    def __post_init__(self) -> None:
        if not self.webhook_retry_seconds or any(s < 0 for s in self.webhook_retry_seconds):
            raise ValueError("webhook_retry_seconds must be a non-empty list of non-negative numbers")
        if not 1 <= self.webhook_duplicates <= 10:
            raise ValueError("webhook_duplicates must be between 1 and 10")


def parse_retry_seconds(text: str) -> list[float]:
    """`"0,60,600"` → `[0.0, 60.0, 600.0]` (the CLI's `--webhook-retry-seconds`)."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--webhook-retry-seconds takes numbers separated by commas, not {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise ValueError("--webhook-retry-seconds needs at least one number, none negative")
    return values


@dataclass
class FakeOptions:
    """Everything `create_app` needs; `atlas moyasar-fake` builds it from its command-line options."""

    secret_key: str = DEMO_SECRET_KEY
    publishable_key: str = DEMO_PUBLISHABLE_KEY
    # The webhook configured on the command line (Moyasar's dashboard setting); more via POST /v1/webhooks.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # SQLite file that keeps tokens, payments and webhooks across restarts; None keeps them in memory.
    state_file: Path | None = None
    # The URL browsers use to reach the stand-in (for `transaction_url`); None: the URL each request came to.
    public_url: str | None = None
    # Browser origins allowed by CORS on the publishable-key endpoints; empty: any 127.0.0.1/localhost origin.
    allowed_origins: tuple[str, ...] = ()
    account_name: str = DEFAULT_ACCOUNT_NAME
    # How long a webhook delivery waits for the receiver's answer.
    webhook_timeout_seconds: float = 10.0
    switches: Switches = field(default_factory=Switches)

    def __post_init__(self) -> None:
        # The stand-in plays Moyasar's sandbox only: a live key here would be a mistake worth stopping on.
        if not self.secret_key.startswith("sk_test_"):
            raise ValueError("the stand-in takes a test secret key only (sk_test_...)")
        if not self.publishable_key.startswith("pk_test_"):
            raise ValueError("the stand-in takes a test publishable key only (pk_test_...)")
        if bool(self.webhook_url) != bool(self.webhook_secret):
            raise ValueError("--webhook-url and --webhook-secret go together")
