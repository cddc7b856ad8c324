"""The Ed25519 key that signs audit checkpoints (where it comes from) and the public keys verification trusts.

The private key never enters the database (the database role cannot read what would let it forge a checkpoint):
it comes from ``ATLAS_AUDIT_SIGNING_KEY`` (a PEM) or the file ``ATLAS_AUDIT_SIGNING_KEY_FILE``; outside production,
when neither is set, one is generated once into ``ATLAS_DATA_DIR/audit-signing-key.pem`` (mode 0600). A key is named
by its id: the first 16 hex digits of the SHA-256 of its raw public key. Verification trusts the current key and
the public keys of retired ones (``ATLAS_AUDIT_TRUSTED_KEYS_FILE``), so rotating the key keeps old checkpoints
valid.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from atlas.platform.signatures import (
    ALGORITHM,
    SigningKey,
    checkpoint_message,
    key_id,
    parse_public_keys,
    private_from_pem,
    public_pem,
    signature_valid,
)

if TYPE_CHECKING:
    from atlas.config import Settings

__all__ = [
    "ALGORITHM",
    "SigningKey",
    "SigningKeyMissing",
    "checkpoint_message",
    "key_id",
    "load_signing_key",
    "parse_public_keys",
    "public_pem",
    "signature_valid",
    "trusted_keys",
    "write_new_key",
]

KEY_FILE_NAME = "audit-signing-key.pem"


class SigningKeyMissing(RuntimeError):
    """Production runs without a configured signing key: checkpoints cannot be sealed."""


def _generate_into(path: Path) -> None:
    """Write a new key to ``path`` unless one is there; several processes racing agree on one key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".audit-key-")
    try:
        os.write(fd, pem)
        os.close(fd)
        os.chmod(temporary, 0o600)
        # link() fails when the file exists: the first writer wins, the others read its key.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def write_new_key(path: Path) -> SigningKey:
    """A new signing key in a new file (mode 0600); refuses to overwrite one."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
    finally:
        os.close(fd)
    return SigningKey(private)


def load_signing_key(settings: Settings) -> SigningKey:
    """The process's signing key, read (or, outside production, generated) once."""
    secret = settings.audit_signing_key.get_secret_value() if settings.audit_signing_key else None
    return _load(secret, settings.audit_signing_key_file, settings.data_dir, settings.env == "production")


@lru_cache(maxsize=8)
def _load(secret: str | None, file: str | None, data_dir: str, production: bool) -> SigningKey:
    if secret is not None:
        return SigningKey(private_from_pem(secret.encode(), "ATLAS_AUDIT_SIGNING_KEY"))
    if file:
        path = Path(file)
        return SigningKey(private_from_pem(path.read_bytes(), str(path)))
    if production:
        raise SigningKeyMissing(
            "set ATLAS_AUDIT_SIGNING_KEY_FILE (or ATLAS_AUDIT_SIGNING_KEY) to an Ed25519 private key in PEM "
            "(openssl genpkey -algorithm ed25519) to seal audit checkpoints"
        )
    path = Path(data_dir) / KEY_FILE_NAME
    if not path.exists():
        _generate_into(path)
    return SigningKey(private_from_pem(path.read_bytes(), str(path)))


def trusted_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    """The current key's public half and the retired keys' (by key id)."""
    keys: dict[str, Ed25519PublicKey] = {}
    if settings.audit_trusted_keys_file:
        keys.update(parse_public_keys(Path(settings.audit_trusted_keys_file).read_text(encoding="utf-8")))
    with contextlib.suppress(SigningKeyMissing):
        current = load_signing_key(settings)
        keys[current.key_id] = current.public
    return keys
