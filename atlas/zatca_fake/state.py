"""What the gateway remembers: its CA, the CSIDs it issued, each unit's chain, and every document it received.

In memory, written through to SQLite (standard library) when a state file is given, so a restart keeps the CA
(certificates already issued stay valid), the CSIDs and the chains. The request handlers run on one event loop
without awaiting between reading and writing state, so each request's check-and-advance of a chain is atomic.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import msgspec

CsidKind = Literal["compliance", "production"]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Csid(msgspec.Struct, kw_only=True):
    token: str  # binarySecurityToken
    secret: str
    request_id: int
    kind: CsidKind
    environment: str
    certificate_pem: str
    csr_pem: str
    vat_number: str
    unit_serial: str
    title: str
    # Compliance CSIDs: the document types (kind:code) whose sample passed.
    passed: list[str] = msgspec.field(default_factory=list)
    # The compliance request a production CSID was issued for.
    compliance_request_id: int | None = None
    # Replaced by a renewal (a production CSID), or used to obtain a production CSID (a compliance one).
    superseded: bool = False
    created_at: str = msgspec.field(default_factory=now_iso)

    @property
    def unit(self) -> str:
        return f"{self.vat_number}/{self.unit_serial}"


class ChainHead(msgspec.Struct, kw_only=True):
    """The last document that took a place in a unit's chain ("production"), or its last compliance sample."""

    key: str  # "<environment>|<unit>|<production or compliance>"
    icv: int
    invoice_hash: str
    uuid: str


class Received(msgspec.Struct, kw_only=True):
    seq: int
    endpoint: str  # compliance/invoices, reporting, clearance
    environment: str
    unit: str | None
    uuid: str | None
    invoice_hash: str | None
    icv: int | None
    pih: str | None
    kind: str | None
    type_code: str | None
    http_status: int
    status: str  # REPORTED, CLEARED, NOT_REPORTED, NOT_CLEARED, ...
    accepted: bool
    errors: list[dict[str, str]]
    warnings: list[dict[str, str]]
    invoice: str  # base64, as received
    cleared_invoice: str | None = None
    answer: dict[str, Any] = msgspec.field(default_factory=dict)
    received_at: str = msgspec.field(default_factory=now_iso)


_SCHEMA: Final = "CREATE TABLE IF NOT EXISTS objects (kind TEXT, id TEXT, body BLOB, PRIMARY KEY (kind, id))"


class Store:
    def __init__(self, state_file: Path | None = None) -> None:
        self.authority: dict[str, str] | None = None
        self.csids: dict[str, Csid] = {}
        self.chains: dict[str, ChainHead] = {}
        self.documents: list[Received] = []
        self._db: sqlite3.Connection | None = None
        if state_file is not None:
            state_file.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(state_file, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._load()

    def _load(self) -> None:
        assert self._db is not None
        for kind, body in self._db.execute("SELECT kind, body FROM objects ORDER BY rowid"):
            if kind == "authority":
                self.authority = msgspec.json.decode(body, type=dict[str, str])
            elif kind == "csid":
                csid = msgspec.json.decode(body, type=Csid)
                self.csids[csid.token] = csid
            elif kind == "chain":
                head = msgspec.json.decode(body, type=ChainHead)
                self.chains[head.key] = head
            elif kind == "document":
                self.documents.append(msgspec.json.decode(body, type=Received))
        self.documents.sort(key=lambda d: d.seq)

    def _write(self, kind: str, key: str, obj: object) -> None:
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO objects (kind, id, body) VALUES (?, ?, ?)",
                (kind, key, msgspec.json.encode(obj)),
            )

    def save_authority(self, data: dict[str, str]) -> None:
        self.authority = data
        self._write("authority", "ca", data)

    def save_csid(self, csid: Csid) -> None:
        self.csids[csid.token] = csid
        self._write("csid", csid.token, csid)

    def save_chain(self, head: ChainHead) -> None:
        self.chains[head.key] = head
        self._write("chain", head.key, head)

    def add_document(self, document: Received) -> None:
        self.documents.append(document)
        self._write("document", str(document.seq), document)

    def next_seq(self) -> int:
        return (self.documents[-1].seq if self.documents else 0) + 1

    def next_request_id(self) -> int:
        return max((c.request_id for c in self.csids.values()), default=1234567890122) + 1

    def reset(self) -> None:
        """Forget CSIDs, chains and documents; the CA stays (as ZATCA's does)."""
        self.csids.clear()
        self.chains.clear()
        self.documents.clear()
        if self._db is not None:
            self._db.execute("DELETE FROM objects WHERE kind != 'authority'")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
