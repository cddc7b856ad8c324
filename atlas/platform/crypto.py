"""Secret handling: random tokens, their hashes, and encryption at rest (ARCHITECTURE rule 6)."""

from __future__ import annotations

import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken

API_TOKEN_PREFIX = "atl_"


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_api_token() -> tuple[str, str, str]:
    """A new API token: (the token, shown once; its SHA-256, stored; a short prefix to recognise it)."""
    token = API_TOKEN_PREFIX + random_token(32)
    return token, sha256_hex(token), token[:12]


class SecretBox:
    """Fernet (AES-128-CBC + HMAC-SHA256) with the deployment's key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("a stored secret could not be decrypted with the configured key") from exc


def mask(value: str | None) -> str | None:
    """How a secret is shown: never the value, only that one is set."""
    if not value:
        return None
    return "••••" + (value[-2:] if len(value) > 12 else "")
