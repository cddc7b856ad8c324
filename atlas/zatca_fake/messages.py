"""ZATCA's validation messages (`{type, code, category, message, status}`) and the `validationResults` around them.

Codes and wording copied from answers ZATCA's gateway is seen to give where they are known (docs/zatca-fake.md
lists the sources); codes the fake had to name itself are marked there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

Kind = Literal["INFO", "WARNING", "ERROR"]

XSD_VALID: Final = (
    "XSD_ZATCA_VALID",
    "XSD validation",
    "Complied with UBL 2.1 standards in line with ZATCA specifications",
)


@dataclass(frozen=True)
class Message:
    type: Kind
    code: str
    category: str
    message: str

    def json(self) -> dict[str, str]:
        status = {"INFO": "PASS", "WARNING": "WARNING", "ERROR": "ERROR"}[self.type]
        return {
            "type": self.type,
            "code": self.code,
            "category": self.category,
            "message": self.message,
            "status": status,
        }


def error(code: str, category: str, message: str) -> Message:
    return Message("ERROR", code, category, message)


def warning(code: str, category: str, message: str) -> Message:
    return Message("WARNING", code, category, message)


@dataclass
class Results:
    """What one validation found; `status` is PASS, WARNING or ERROR as ZATCA reports it."""

    messages: list[Message] = field(default_factory=list)

    def add(self, message: Message) -> None:
        self.messages.append(message)

    def extend(self, messages: list[Message]) -> None:
        self.messages.extend(messages)

    @property
    def errors(self) -> list[Message]:
        return [m for m in self.messages if m.type == "ERROR"]

    @property
    def warnings(self) -> list[Message]:
        return [m for m in self.messages if m.type == "WARNING"]

    @property
    def status(self) -> str:
        return "ERROR" if self.errors else "WARNING" if self.warnings else "PASS"

    def json(self) -> dict[str, Any]:
        infos = [m for m in self.messages if m.type == "INFO"]
        if not any(m.category == "XSD validation" for m in self.errors):
            infos = [Message("INFO", *XSD_VALID), *infos]
        return {
            "infoMessages": [m.json() for m in infos],
            "warningMessages": [m.json() for m in self.warnings],
            "errorMessages": [m.json() for m in self.errors],
            "status": self.status,
        }
