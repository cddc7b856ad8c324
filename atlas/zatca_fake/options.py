"""How the gateway is started (`GatewayOptions`) and the behaviours tests may switch at run time (`Switches`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec

# ZATCA's developer portal takes a fixed OTP; Fatoora issues a 6-digit one valid for an hour.
DEFAULT_OTP: Final = "123345"


class Switches(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Run-time behaviours, read and changed through `GET/PUT /_fake/settings`."""

    # Off: every document is accepted without checks (still recorded): a demo with an unfinished signer.
    validate: bool = True
    # Check ICV/PIH per invoicing unit on reporting and clearance.
    chain: bool = True
    # ZATCA: every document takes the next ICV "irrespective of its status (accepted, rejected, or accepted
    # with a warning)", and the next PIH is the hash of the immediately preceding document. On: a refused
    # document whose chain position was right still advances the chain (ZATCA's rule). Off: only accepted ones.
    chain_counts_refused: bool = True
    # A standard document sent to reporting: 303 See Other (clearance is on), or reported (clearance off).
    clearance_enabled: bool = True


@dataclass
class GatewayOptions:
    """Everything `create_app` needs; `atlas zatca-fake` builds it from its command-line options."""

    otp: str = DEFAULT_OTP
    # SQLite file that keeps the CA, CSIDs, chains and received documents; None keeps them in memory.
    state_file: Path | None = None
    # Lifetime of issued CSID certificates.
    certificate_days: int = 365
    switches: Switches = field(default_factory=Switches)

    def __post_init__(self) -> None:
        if not self.otp:
            raise ValueError("the OTP must not be empty")
        if self.certificate_days < 1:
            raise ValueError("certificate_days must be at least 1")
