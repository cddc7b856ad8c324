from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from atlas.einvoicing import SigningIdentity
from atlas.einvoicing.csr import build_csr, generate_key, key_pem
from tests.einvoicing.factory import csr_request, issue_certificate


@pytest.fixture(scope="session")
def ca_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256K1())


@pytest.fixture(scope="session")
def identity(ca_key: ec.EllipticCurvePrivateKey) -> SigningIdentity:
    """A stamp issued the way onboarding gets one: our key, our CSR, a CA's certificate (PEM round trip)."""
    key = generate_key()
    certificate = issue_certificate(build_csr(csr_request(), key), ca_key)
    return SigningIdentity.load(certificate.public_bytes(serialization.Encoding.PEM), key_pem(key))
