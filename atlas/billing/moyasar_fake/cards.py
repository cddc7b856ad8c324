"""The sandbox's test cards (moyasar.md section 7), card brands, and card checks.

The stand-in decides a card's outcome from this table, as Moyasar's sandbox does. A number that is not listed
fails (the current test-cards page); the `unknown_card_outcome` switch gives the old page's behaviour (paid).
Only an outcome, the brand and the last four digits are ever kept: never the full number or the CVC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

Brand = Literal["mada", "visa", "master", "amex", "unionpay"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the issuer answers for a card: the payment's status, `source.message` and ISO 8583 response code."""

    status: Literal["paid", "failed"]
    message: str
    code: str


APPROVED: Final = Outcome("paid", "APPROVED", "00")
UNSPECIFIED: Final = Outcome("failed", "UNSPECIFIED FAILURE", "99")
INSUFFICIENT: Final = Outcome("failed", "INSUFFICIENT FUNDS", "51")
LOST: Final = Outcome("failed", "DECLINED: LOST CARD", "41")
DECLINED: Final = Outcome("failed", "DECLINED", "05")
EXPIRED: Final = Outcome("failed", "DECLINED: EXPIRED CARD", "54")
LIMIT: Final = Outcome("failed", "DECLINED: EXCEEDS WITHDRAWAL LIMIT", "61")
STOLEN: Final = Outcome("failed", "DECLINED: STOLEN CARD", "43")
# The cardholder (or the issuer) declined the 3-D Secure challenge: Moyasar's 3DS error wording.
THREE_DS_DECLINED: Final = Outcome("failed", "3DS: Authentication error occurred.", "3ds_authentication_error")


@dataclass(frozen=True, slots=True)
class SandboxCard:
    number: str
    outcome: Outcome
    # True when the issuer authenticates without a challenge: the 3-D Secure page finishes on its own.
    frictionless: bool = False


def _three_ds_failure(message: str) -> Outcome:
    return Outcome("failed", f"3DS: {message}", "3ds_authentication_error")


# moyasar.md section 7: mada rows from the current official page; Visa and Mastercard from the old official
# page and secondary sources. Where the docs give no exact message, the message below is the stand-in's wording.
SANDBOX_CARDS: Final[dict[str, SandboxCard]] = {
    card.number: card
    for card in (
        # mada
        SandboxCard("4201320111111010", APPROVED),
        SandboxCard("4201320000013020", UNSPECIFIED),
        SandboxCard("4201320000311101", INSUFFICIENT),
        SandboxCard("4201320131000508", LOST),
        SandboxCard("4201321234411220", DECLINED),
        SandboxCard("4201322267774310", EXPIRED),
        SandboxCard("4201326324640570", LIMIT),
        SandboxCard("4201321144311528", STOLEN),
        # Visa
        SandboxCard("4111111111111111", APPROVED),
        SandboxCard("4111114005765430", APPROVED, frictionless=True),
        SandboxCard("4111118250252531", _three_ds_failure("Authentication attempted but not available.")),
        SandboxCard("4111113343111067", _three_ds_failure("Enrollment check failed.")),
        SandboxCard("4111116611600661", _three_ds_failure("Card not enrolled.")),
        SandboxCard("4111112205628150", _three_ds_failure("Authentication failed.")),
        SandboxCard("4111115784228433", _three_ds_failure("Authentication rejected.")),
        SandboxCard("4111115620358287", _three_ds_failure("Authentication unavailable.")),
        SandboxCard("4123120000000000", UNSPECIFIED),
        SandboxCard("4123120001090000", INSUFFICIENT),
        SandboxCard("4123450131000508", LOST),
        SandboxCard("4123120001090109", DECLINED),
        # Mastercard
        SandboxCard("5421080101000000", APPROVED),
        SandboxCard("5105105105105100", UNSPECIFIED),
        SandboxCard("5457210001000092", INSUFFICIENT),
        SandboxCard("5204010101000000", LOST),
        SandboxCard("5204730000002514", DECLINED),
        SandboxCard("5105107550274126", EXPIRED),
        SandboxCard("5105106475101067", LIMIT),
        SandboxCard("5105107304607225", STOLEN),
    )
}

# mada BIN prefixes as hard-coded by Moyasar's official Flutter SDK (moyasar.md section 7): mada is detected first,
# because its cards also start with 4 or 5.
MADA_PREFIXES: Final = (
    "22337902", "22337986", "22402030", "242030", "403024", "40545400", "406136", "406996", "40719700", "40739500",
    "407520", "409201", "410621", "410685", "410834", "412565", "417633", "419593", "420132", "421141", "422817",
    "422818", "422819", "428331", "428671", "428672", "428673", "431361", "432328", "434107", "439954", "440533",
    "440647", "440795", "442463", "445564", "446393", "446404", "446672", "45488707", "455036", "455708", "457865",
    "457997", "458456", "462220", "468540", "468541", "468542", "468543", "474491", "483010", "483011", "483012",
    "484783", "486094", "486095", "486096", "489318", "489319", "49098000", "492464", "504300", "513213", "515079",
    "516138", "520058", "521076", "52166100", "524130", "524514", "524940", "529415", "529741", "530060", "531196",
    "535825", "535989", "536023", "537767", "53973776", "543085", "543357", "549760", "554180", "555610", "558563",
    "588845", "588848", "588850", "589206", "604906", "636120", "968201", "968202", "968203", "968204", "968205",
    "968206", "968207", "968208", "968209", "968211",
)  # fmt: skip


def brand_of(number: str) -> Brand | None:
    """The card's scheme from its number, mada first; None for a scheme Moyasar does not take."""
    if number.startswith(MADA_PREFIXES):
        return "mada"
    if number.startswith(("34", "37")):
        return "amex"
    if number.startswith("62"):
        return "unionpay"
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "master"
    return None


def luhn_valid(number: str) -> bool:
    """The Luhn check digit is right (every listed test card passes it)."""
    if not number.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def outcome_of(number: str, *, unknown_card_outcome: Literal["failed", "paid"] = "failed") -> SandboxCard:
    """The test card for `number`, or what an unlisted number gets."""
    card = SANDBOX_CARDS.get(number)
    if card is not None:
        return card
    return SandboxCard(number, APPROVED if unknown_card_outcome == "paid" else UNSPECIFIED)


def expired(month: int, year: int, *, now: datetime | None = None) -> bool:
    """A card is valid through the last day of its expiry month."""
    today = now or datetime.now(UTC)
    return (year, month) < (today.year, today.month)


def full_year(year: int) -> int:
    """Two-digit years mean 20xx, as card forms write them."""
    return 2000 + year if year < 100 else year
