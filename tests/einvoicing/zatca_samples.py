"""Check the library against ZATCA's own SDK data (not a test: the SDK's files are not in the repository).

    .venv/bin/python -m tests.einvoicing.zatca_samples /path/to/zatca-sdk/Data

For every signed sample under ``Samples/``: does ``atlas.einvoicing`` compute the sample's invoice hash,
signed-properties digest and certificate digest, and does the sample's signature verify over its hash? Then Atlas's
six documents are validated against ``Schemas/xsds/UBL2.1/xsd/maindoc/UBL-Invoice-2.1.xsd``. Prints one line each
and exits 1 on any mismatch. docs/einvoicing.md records the last run.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from atlas.einvoicing import FIRST_PIH, DocumentKind, SigningIdentity, Transaction, sign, ubl
from atlas.einvoicing.hashing import invoice_hash
from atlas.einvoicing.signing import signed_properties_digest
from tests.einvoicing.factory import document, new_identity


def check_sample(path: Path) -> list[str]:
    xml = path.read_bytes()
    root = ubl.parse(xml).getroot()
    digests = root.findall(".//ds:SignedInfo/ds:Reference/ds:DigestValue", ubl.NAMESPACES)
    if len(digests) != 2:
        return ["not signed"]
    problems = []
    if invoice_hash(xml) != digests[0].text:
        problems.append("invoice hash")
    properties = root.find(".//xades:SignedProperties", ubl.NAMESPACES)
    assert properties is not None
    if signed_properties_digest(properties) != digests[1].text:
        problems.append("signed properties digest")
    certificate_text = root.findtext(".//ds:X509Certificate", "", ubl.NAMESPACES)
    certificate_digest = base64.b64encode(hashlib.sha256(certificate_text.encode()).hexdigest().encode()).decode()
    if certificate_digest != properties.findtext(".//ds:DigestValue", "", ubl.NAMESPACES):
        problems.append("certificate digest")
    public_key = x509.load_der_x509_certificate(base64.b64decode(certificate_text)).public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    signature = root.findtext(".//ds:SignatureValue", "", ubl.NAMESPACES)
    try:
        public_key.verify(
            base64.b64decode(signature), base64.b64decode(digests[0].text or ""), ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature:
        problems.append("signature over the hash")
    return problems


def main(data: Path) -> int:
    failures = 0
    for path in sorted(data.glob("Samples/**/*.xml")):
        problems = check_sample(path)
        failures += bool(problems)
        print(f"{path.relative_to(data)}: {'OK' if not problems else ', '.join(problems)}")
    schema = etree.XMLSchema(etree.parse(str(data / "Schemas/xsds/UBL2.1/xsd/maindoc/UBL-Invoice-2.1.xsd")))
    certificate, key = new_identity()
    identity = SigningIdentity.load(certificate, key)
    for transaction in Transaction:
        for kind in DocumentKind:
            valid = schema.validate(etree.fromstring(sign(document(kind, transaction, pih=FIRST_PIH), identity).xml))
            failures += not valid
            print(f"Atlas {transaction.name} {kind.name}: UBL 2.1 XSD {'valid' if valid else schema.error_log}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
