"""Signed checkpoints on demand and on schedule, the audit export, and a tenant's offline verification of both."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from temporalio.client import Client

from atlas.config import Settings
from atlas.durable.runtime import init_runtime
from atlas.platform.signing import checkpoint_message
from atlas.workflows.audit_seal import AuditSealWorkflow
from atlas.workflows.worker import build_worker, recurring


def _public_key(atlas) -> tuple[Ed25519PublicKey, str]:
    response = atlas.client().get("/api/audit/checkpoints/public-key")  # public: no sign-in
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-pem-file")
    key = load_pem_public_key(response.text.encode())
    assert isinstance(key, Ed25519PublicKey)
    return key, response.headers["x-atlas-key-id"]


def test_an_admin_seals_a_checkpoint_that_covers_its_own_event(atlas):
    admin, me = atlas.new_tenant()
    other, _ = atlas.new_tenant()
    response = admin.post("/api/audit/checkpoints")
    assert response.status_code == 201, response.text
    checkpoint = response.json()
    assert checkpoint["tenant_id"] == me["tenant_id"] and checkpoint["algorithm"] == "Ed25519"
    head = atlas.sql("SELECT last_seq, last_hash FROM audit_chain_heads WHERE tenant_id = %s", (me["tenant_id"],))
    assert head == [(checkpoint["seq"], checkpoint["head_hash"])]
    newest = atlas.sql(
        "SELECT event_type, actor FROM audit_events WHERE tenant_id = %s AND seq = %s",
        (me["tenant_id"], checkpoint["seq"]),
    )
    assert newest == [("audit_checkpoint_sealed", f"user:{me['user_id']}")]
    public, key_id = _public_key(atlas)
    assert checkpoint["key_id"] == key_id
    from datetime import datetime

    public.verify(
        base64.b64decode(checkpoint["signature"]),
        checkpoint_message(
            tenant_id=checkpoint["tenant_id"],
            seq=checkpoint["seq"],
            head_hash=checkpoint["head_hash"],
            sealed_at=datetime.fromisoformat(checkpoint["sealed_at"]),
            kid=key_id,
        ),
    )  # raises InvalidSignature if it does not hold
    listed = admin.get("/api/audit/checkpoints").json()
    assert listed["tenant_id"] == me["tenant_id"] and listed["checkpoints"] == [checkpoint]
    assert other.get("/api/audit/checkpoints").json()["checkpoints"] == []  # another tenant sees none of them
    viewer, _ = atlas.member_client(admin, "viewer")
    assert viewer.post("/api/audit/checkpoints").status_code == 403
    assert viewer.get("/api/audit/export").status_code == 403
    # The database keeps checkpoints as it keeps events: nobody edits them.
    for statement in ("UPDATE audit_checkpoints SET seq = 0", "DELETE FROM audit_checkpoints"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            atlas.sql(statement)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No database at all: the offline verifier must not need one.
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "ATLAS_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "atlas.cli", "audit", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def test_a_tenant_verifies_its_export_offline_and_notices_a_deleted_or_changed_event(atlas, tmp_path):
    admin, me = atlas.new_tenant()
    for i in range(3):
        assert admin.post("/api/invitations", json={"email": f"x{i}@example.sa", "role": "viewer"}).status_code == 201
    assert admin.post("/api/audit/checkpoints").status_code == 201
    export = admin.get("/api/audit/export")
    assert export.status_code == 200 and export.headers["content-type"].startswith("application/x-ndjson")
    (tmp_path / "events.jsonl").write_bytes(export.content)
    (tmp_path / "checkpoints.json").write_bytes(admin.get("/api/audit/checkpoints").content)
    (tmp_path / "key.pem").write_text(atlas.client().get("/api/audit/checkpoints/public-key").text)
    lines = export.content.decode().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["event_type"] == "audit_checkpoint_sealed"
    assert set(events[0]) == {
        "tenant_id",
        "seq",
        "occurred_at",
        "event_type",
        "actor",
        "correlation_id",
        "payload",
        "prev_hash",
        "hash",
    }
    # The download itself is audited, with the file's hash.
    exported = atlas.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = 'audit_exported'", (me["tenant_id"],)
    )
    assert exported[0][0]["events"] == len(events) and exported[0][0]["sha256"] == export.headers["x-atlas-file-sha256"]

    verify = ("verify-export", "events.jsonl", "checkpoints.json", "--public-key", "key.pem")
    intact = _cli(*verify, cwd=tmp_path)
    assert intact.returncode == 0, intact.stderr
    assert f"audit export intact: tenant {me['tenant_id']}, {len(events)} event(s) up to seq {len(events)}" in (
        intact.stdout
    )

    (tmp_path / "events.jsonl").write_text("".join(line + "\n" for line in lines[:-1]))
    cut = _cli(*verify, cwd=tmp_path)
    assert cut.returncode == 1
    assert f"is ahead of the chain: events end at seq {len(events) - 1}" in cut.stderr

    changed = [dict(e) for e in events]
    invited = next(e for e in changed if e["event_type"] == "invitation_created")
    invited["payload"] = {**invited["payload"], "role": "admin"}
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in changed))
    edited = _cli(*verify, cwd=tmp_path)
    assert edited.returncode == 1
    assert f"event seq {invited['seq']} (id None): hash does not match the event's content" in edited.stderr

    # Rewriting the whole chain after the edit (every hash recomputed) still cannot match the signed checkpoint.
    from datetime import datetime

    from atlas.platform.audit import event_hash

    prev = "0" * 64
    for event in changed:
        event["prev_hash"] = prev
        event["hash"] = prev = event_hash(
            tenant_id=uuid.UUID(event["tenant_id"]),
            seq=event["seq"],
            occurred_at=datetime.fromisoformat(event["occurred_at"]),
            event_type=event["event_type"],
            actor=event["actor"],
            correlation_id=event["correlation_id"],
            payload=event["payload"],
            prev_hash=event["prev_hash"],
        )
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in changed))
    rewritten = _cli(*verify, cwd=tmp_path)
    assert rewritten.returncode == 1 and "does not match event seq" in rewritten.stderr

    # A key that did not sign the checkpoints proves nothing.
    other_key = _cli("keygen", "other.key", cwd=tmp_path)
    assert other_key.returncode == 0, other_key.stderr
    env_key = {"ATLAS_AUDIT_SIGNING_KEY_FILE": str(tmp_path / "other.key")}
    pem = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "atlas.cli", "audit", "public-key"],
        capture_output=True,
        text=True,
        env={**os.environ, **env_key},
        check=True,
    ).stdout
    (tmp_path / "other.pem").write_text(pem)
    (tmp_path / "events.jsonl").write_bytes(export.content)
    stranger = _cli("verify-export", "events.jsonl", "checkpoints.json", "--public-key", "other.pem", cwd=tmp_path)
    assert stranger.returncode == 1 and "is signed by an unknown key" in stranger.stderr


def test_the_schedule_seals_every_tenant_whose_head_moved(atlas, temporal_address):
    admin, me = atlas.new_tenant()
    settings = Settings(
        DATABASE_URL=atlas.database_url,
        TEMPORAL_ADDRESS=temporal_address,
        TEMPORAL_TASK_QUEUE=f"test-{uuid.uuid4().hex[:6]}",
        ATLAS_AUDIT_CHECKPOINT_SECONDS=120,
    )
    assert ("atlas-audit-seal", AuditSealWorkflow.run, 120) in recurring(settings)

    async def run() -> list[object]:
        runtime = init_runtime(settings)
        temporal = await Client.connect(temporal_address)
        results = []
        try:
            async with build_worker(temporal, settings):
                for _ in range(2):
                    results.append(
                        await temporal.execute_workflow(
                            AuditSealWorkflow.run,
                            id=f"audit-seal-test-{uuid.uuid4().hex[:6]}",
                            task_queue=settings.temporal_task_queue,
                        )
                    )
        finally:
            await runtime.db.dispose()
        return results

    first, second = asyncio.run(run())
    assert first.sealed >= 1
    # Nothing moved in between: nothing new to seal. (Tenants other tests inserted by hand have no chain head at
    # all: they count as broken both times and are never sealed.)
    assert (second.sealed, second.unchanged, second.broken) == (0, first.sealed + first.unchanged, first.broken)
    sealed = admin.get("/api/audit/checkpoints").json()["checkpoints"]
    head = atlas.sql("SELECT last_seq, last_hash FROM audit_chain_heads WHERE tenant_id = %s", (me["tenant_id"],))
    assert [(c["seq"], c["head_hash"], c["sealed_by"]) for c in sealed] == [(*head[0], "system")]
