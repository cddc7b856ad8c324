"""The local ZATCA gateway: a stand-in for ZATCA's Fatoora e-invoicing API that demos and tests use as a real server.

No machine here reaches ZATCA, so Atlas's e-invoicing is tested against this gateway. It is written from ZATCA's
public specification (see docs/zatca-fake.md) and on purpose imports nothing from `atlas.einvoicing`: an
independent implementation of ZATCA's checks is what makes it a real test of Atlas's documents.

- `options`: `GatewayOptions` (OTP, state file, certificate lifetime) and the run-time `Switches`;
- `ca`: the gateway's own certificate authority (secp256k1), CSR checks and CSID certificates;
- `ubl`: reading a UBL 2.1 invoice: the invoice hash, the QR TLV, amounts;
- `checks`: ZATCA's validation of a submitted document (structure, hash, XAdES signature, QR, totals);
- `chain`: ICV/PIH per invoicing unit; `state`: SQLite state; `faults`: fault injection;
- `app`: the HTTP API (`create_app(options)`); `server`: `run(options, host, port)` for `atlas zatca-fake`.

Importing this package does not import the web framework; import `app` or `server` for that.
"""

from __future__ import annotations

from atlas.zatca_fake.options import DEFAULT_OTP, GatewayOptions, Switches

__all__ = ["DEFAULT_OTP", "DEFAULT_PORT", "GatewayOptions", "Switches"]

DEFAULT_PORT = 3003
