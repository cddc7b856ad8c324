"""The checkpoint signing key: where it comes from, that processes agree on one, rotation, and what a signature
covers. No database: the key never goes near one."""

from __future__ import annotations

import stat
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from atlas.config import Settings
from atlas.platform.signatures import checkpoint_message, parse_public_keys, signature_valid
from atlas.platform.signing import SigningKeyMissing, load_signing_key, trusted_keys, write_new_key

GENERATE = (
    "import sys; from atlas.config import Settings; from atlas.platform.signing import load_signing_key; "
    "print(load_signing_key(Settings(ATLAS_DATA_DIR=sys.argv[1])).key_id)"
)


def test_outside_production_one_key_is_generated_once_and_every_process_uses_it(tmp_path):
    processes = [
        subprocess.Popen([sys.executable, "-c", GENERATE, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    ids = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(ids) == 1 and len(next(iter(ids))) == 16
    key_file = tmp_path / "audit-signing-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [key_file.name]  # no temporary file left behind
    assert load_signing_key(Settings(ATLAS_DATA_DIR=str(tmp_path))).key_id in ids


def test_production_never_generates_a_key(tmp_path):
    production = {
        "ATLAS_ENV": "production",
        "ATLAS_SECRET_KEY": "x" * 40,
        "OIDC_ISSUER": "https://id.example.sa",
        "OIDC_CLIENT_SECRET": "s",
        "ATLAS_BASE_URL": "https://atlas.example.sa",
        "ATLAS_DATA_DIR": str(tmp_path / "data"),
    }
    with pytest.raises(SigningKeyMissing, match="ATLAS_AUDIT_SIGNING_KEY_FILE"):
        load_signing_key(Settings(**production))
    assert not (tmp_path / "data").exists()
    key = write_new_key(tmp_path / "key.pem")
    with pytest.raises(FileExistsError):
        write_new_key(tmp_path / "key.pem")  # a signing key is never overwritten
    loaded = load_signing_key(Settings(**production, ATLAS_AUDIT_SIGNING_KEY_FILE=str(tmp_path / "key.pem")))
    assert loaded.key_id == key.key_id
    inline = load_signing_key(
        Settings(**production, ATLAS_AUDIT_SIGNING_KEY=(tmp_path / "key.pem").read_text(encoding="utf-8"))
    )
    assert inline.key_id == key.key_id


def test_rotation_keeps_the_retired_keys_checkpoints_verifiable(tmp_path):
    old, new = write_new_key(tmp_path / "old.pem"), write_new_key(tmp_path / "new.pem")
    (tmp_path / "trusted.pem").write_text(old.public_pem)
    settings = Settings(
        ATLAS_AUDIT_SIGNING_KEY_FILE=str(tmp_path / "new.pem"),
        ATLAS_AUDIT_TRUSTED_KEYS_FILE=str(tmp_path / "trusted.pem"),
    )
    keys = trusted_keys(settings)
    assert set(keys) == {old.key_id, new.key_id}
    assert set(parse_public_keys(old.public_pem + new.public_pem)) == {old.key_id, new.key_id}
    sealed_at = datetime(2026, 12, 7, 9, 30, 0, 123456, tzinfo=UTC)
    message = checkpoint_message(tenant_id="t", seq=7, head_hash="a" * 64, sealed_at=sealed_at, kid=old.key_id)
    signature = old.sign(message)
    assert signature_valid(keys[old.key_id], message, signature)
    assert not signature_valid(keys[new.key_id], message, signature)
    for changed in (
        checkpoint_message(tenant_id="t", seq=6, head_hash="a" * 64, sealed_at=sealed_at, kid=old.key_id),
        checkpoint_message(tenant_id="u", seq=7, head_hash="a" * 64, sealed_at=sealed_at, kid=old.key_id),
        checkpoint_message(tenant_id="t", seq=7, head_hash="b" * 64, sealed_at=sealed_at, kid=old.key_id),
    ):
        assert not signature_valid(keys[old.key_id], changed, signature)
    assert not signature_valid(keys[old.key_id], message, "not base64!")
