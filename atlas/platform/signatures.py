"""Ed25519 signatures of audit checkpoints: the message a checkpoint's signature covers, key ids, and checks.

Pure functions over keys and bytes (no settings, no I/O beyond what a caller passes in): the audit chain and the
offline verifier use them; where the signing key comes from is `atlas.platform.signing`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"
_PEM_PUBLIC = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def checkpoint_message(*, tenant_id: uuid.UUID | str, seq: int, head_hash: str, sealed_at: datetime, kid: str) -> bytes:
    """The bytes a checkpoint's signature covers: canonical JSON of what it attests."""
    body = {
        "v": 1,
        "tenant_id": str(tenant_id),
        "seq": seq,
        "head_hash": head_hash,
        "sealed_at": sealed_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "key_id": kid,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    @property
    def public_pem(self) -> str:
        return public_pem(self.public)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode()


def private_from_pem(pem: bytes, where: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{where} is not an Ed25519 private key")
    return key


def parse_public_keys(text: str) -> dict[str, Ed25519PublicKey]:
    """Every Ed25519 public key in a PEM text, by key id."""
    keys: dict[str, Ed25519PublicKey] = {}
    for block in _PEM_PUBLIC.findall(text):
        public = serialization.load_pem_public_key(block.encode())
        if not isinstance(public, Ed25519PublicKey):
            raise ValueError("a public key in the file is not an Ed25519 key")
        keys[key_id(public)] = public
    return keys


def signature_valid(public: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True
