"""ZATCA Phase 2 signing speed (issue 20): documents built, hashed, signed and QR-coded per second, one process.

    .venv/bin/python benchmarks/einvoicing.py [--documents 2000] [--lines 3]

Each document is a simplified tax invoice with its own ICV and the previous document's hash as PIH (a real chain),
signed with a secp256k1 stamp; the time covers ``atlas.einvoicing.sign`` end to end (UBL tree, invoice hash with
C14N, ECDSA, QR, XAdES block, signed properties digest, serialisation and the self-check re-hash). Also printed:
the share of one signing each step takes, and what a renewal run of 10,000 tenants would need on one core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from atlas.einvoicing import (  # noqa: E402
    FIRST_PIH,
    Address,
    Buyer,
    Document,
    DocumentKind,
    Line,
    Seller,
    SigningIdentity,
    Transaction,
    hashing,
    sign,
    ubl,
)
from atlas.einvoicing.csr import CsrRequest, build_csr, generate_key  # noqa: E402

SELLER = Seller(
    legal_name="شركة أطلس لعمليات المخزون",
    vat_number="310122393500003",
    id_value="1010010000",
    address=Address(
        street="طريق الملك فهد", building_number="2322", district="العليا", city="الرياض", postal_code="12214"
    ),
)


def identity() -> SigningIdentity:
    key = generate_key()
    csr = build_csr(
        CsrRequest(
            common_name="bench",
            organization="Atlas",
            organization_unit="Riyadh",
            vat_number="310122393500003",
            solution_name="Atlas",
            model="Cloud",
            serial="1",
            registered_address="RRRD2929",
            business_category="Software",
        ),
        key,
    )
    ca = ec.generate_private_key(ec.SECP256K1())
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")]))
        .public_key(csr.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca, hashes.SHA256())
    )
    return SigningIdentity(certificate=certificate, private_key=key)


def document(icv: int, pih: str, lines: int) -> Document:
    return Document(
        kind=DocumentKind.INVOICE,
        transaction=Transaction.SIMPLIFIED,
        number=f"ATL-{icv:08d}",
        uuid=uuid.uuid4(),
        issued_at=dt.datetime.now(dt.UTC),
        icv=icv,
        pih=pih,
        seller=SELLER,
        buyer=Buyer(name="Tenant"),
        lines=tuple(Line(name=f"Plan line {n}", quantity=n + 1, unit_price=9_900 + n) for n in range(lines)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=3)
    args = parser.parse_args()
    stamp = identity()
    pih = FIRST_PIH
    for icv in range(1, 51):  # warm-up
        pih = sign(document(icv, pih, args.lines), stamp).invoice_hash
    durations = []
    started = time.perf_counter()
    for icv in range(51, 51 + args.documents):
        begin = time.perf_counter()
        pih = sign(document(icv, pih, args.lines), stamp).invoice_hash
        durations.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started
    rate = args.documents / elapsed
    print(f"signed {args.documents} chained simplified invoices ({args.lines} lines) in {elapsed:.2f} s")
    print(
        f"  {rate:,.0f} documents/s on one core; median {statistics.median(durations) * 1e3:.2f} ms, "
        f"p99 {sorted(durations)[int(len(durations) * 0.99) - 1] * 1e3:.2f} ms"
    )
    print(f"  10,000 renewals: {10_000 / rate:.1f} s of signing on one core")

    sample = document(1, FIRST_PIH, args.lines)
    steps = {
        "UBL tree": lambda: ubl.build(sample),
        "invoice hash (C14N + SHA-256)": lambda: hashing.digest(tree),
        "ECDSA secp256k1 sign": lambda: stamp.sign(digest),
    }
    tree = ubl.build(sample)
    digest = hashing.digest(tree)
    for name, step in steps.items():
        rounds = 500
        begin = time.perf_counter()
        for _ in range(rounds):
            step()
        print(f"  {name}: {(time.perf_counter() - begin) / rounds * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
