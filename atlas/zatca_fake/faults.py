"""Fault injection, switched per test through `POST /_fake/faults`; a rule hits the next `times` matching requests.

| kind         | what the matching request gets                                                                  |
| ------------ | ----------------------------------------------------------------------------------------------- |
| refuse       | 400 with `messages` as ZATCA's errorMessages (NOT_REPORTED / NOT_CLEARED); on reporting and       |
|              | clearance the document is read and recorded, and takes its chain place (`chain_counts_refused`)  |
| server_error | `status` (default 500) with ZATCA's bare error body, nothing done                               |
| hang         | no answer for `seconds` (longer than the client's timeout), then the request is not processed   |
"""

from __future__ import annotations

from typing import Literal

import msgspec

FaultKind = Literal["refuse", "server_error", "hang"]


class FaultMessage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: str
    message: str
    category: str = "KSA"


class FaultRule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    kind: FaultKind
    # A gateway path after the environment ("invoices/reporting/single", "compliance"...), a prefix ending in
    # "*", or None for every gateway route.
    path: str | None = None
    # How many matching requests it hits; -1 until the faults are cleared.
    times: int = 1
    status: int | None = None
    seconds: float = 60.0
    messages: list[FaultMessage] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.times == 0 or self.times < -1:
            raise ValueError("times must be a positive number, or -1 for 'until cleared'")
        if self.status is not None and not 500 <= self.status <= 599:
            raise ValueError("status must be from 500 to 599")
        if self.seconds < 0:
            raise ValueError("seconds must not be negative")
        if self.kind == "refuse" and not self.messages:
            self.messages = [FaultMessage(code="fake-refusal", message="Refused by the gateway's fault injection")]

    def matches(self, path: str) -> bool:
        if self.path is None:
            return True
        wanted = self.path.strip("/")
        if wanted.endswith("*"):
            return path.startswith(wanted[:-1])
        return path == wanted


class Faults:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def add(self, rules: list[FaultRule]) -> None:
        self.rules.extend(rules)

    def clear(self) -> None:
        self.rules.clear()

    def take(self, path: str) -> FaultRule | None:
        for rule in self.rules:
            if rule.matches(path):
                if rule.times > 0:
                    rule.times -= 1
                    if rule.times == 0:
                        self.rules.remove(rule)
                return rule
        return None
