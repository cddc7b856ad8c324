"""The audit trail's tail: chain heads only move forward, and `atlas audit verify` notices a missing or rolled-back
head and events cut off behind a signed checkpoint, reading everything in one snapshot."""

from __future__ import annotations

import asyncio
import json
import uuid

import psycopg
import pytest

from tests.platform.test_audit import run_cli
from tests.services import fresh_database


def _as_app(database_url: str, tenant_id: str, *statements: str) -> None:
    """Run ``statements`` as atlas_app in the tenant's transaction and COMMIT (deferred checks run there)."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SET ROLE atlas_app")
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        for statement in statements:
            conn.execute(statement, (tenant_id,))
        conn.commit()


def _head(atlas, tenant_id: str) -> tuple[int, str]:
    (row,) = atlas.sql("SELECT last_seq, last_hash FROM audit_chain_heads WHERE tenant_id = %s", (tenant_id,))
    return row


def test_the_app_role_can_neither_delete_nor_rewind_nor_forge_a_chain_head(atlas):
    admin, me = atlas.new_tenant()
    tenant = me["tenant_id"]
    seq, digest = _head(atlas, tenant)
    assert seq > 1
    refused = [
        "DELETE FROM audit_chain_heads WHERE tenant_id = %s",
        "UPDATE audit_chain_heads SET last_seq = last_seq - 1 WHERE tenant_id = %s",
        "UPDATE audit_chain_heads SET last_seq = 0, last_hash = repeat('0', 64) WHERE tenant_id = %s",
        "UPDATE audit_chain_heads SET last_hash = repeat('a', 64) WHERE tenant_id = %s",
        # Forward, but to no event: refused at COMMIT, when the transaction's own events would be visible
        "UPDATE audit_chain_heads SET last_seq = last_seq + 5 WHERE tenant_id = %s",
    ]
    for statement in refused:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _as_app(atlas.database_url, tenant, statement)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        atlas.as_app_role("TRUNCATE audit_chain_heads", scope="system")
    # Not even a superuser deletes a head without switching the triggers off.
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="not allowed"):
        atlas.sql("DELETE FROM audit_chain_heads WHERE tenant_id = %s", (tenant,))
    # A second head (to restart the chain at the genesis) is refused too.
    with pytest.raises(psycopg.errors.UniqueViolation):
        _as_app(
            atlas.database_url,
            tenant,
            "INSERT INTO audit_chain_heads (id, tenant_id, last_seq, last_hash) "
            "VALUES (gen_random_uuid(), %s, 0, repeat('0', 64))",
        )
    assert _head(atlas, tenant) == (seq, digest)
    # Audited writes go on as before, and the chain stays whole.
    assert admin.post("/api/invitations", json={"email": "after@example.sa", "role": "viewer"}).status_code == 201
    assert _head(atlas, tenant)[0] == seq + 1


async def _writers_and_verifiers(url: str) -> tuple[str, int, list[object]]:
    from atlas.db.engine import Database
    from atlas.platform.audit import Actor, record, verify_chain
    from atlas.platform.services import provision_tenant

    database = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1), app_role="atlas_app", pool_size=12)
    actor = Actor("system", "test")
    try:
        async with database.system_session() as session:
            tenant = await provision_tenant(
                session, name=f"Busy {uuid.uuid4().hex[:6]}", actor=actor, correlation_id="t"
            )
        writing = True

        async def writer(n: int) -> int:
            written = 0
            for i in range(12):
                async with database.tenant_session(tenant.id) as session:
                    for j in range(1 + (i + n) % 3):
                        await record(session, "signal_received", actor=actor, correlation_id=f"w{n}", payload={"i": j})
                        written += 1
            return written

        async def verifier() -> list[object]:
            results = []
            while writing:
                async with database.system_snapshot_session() as session:
                    results.append(await verify_chain(session, tenant.id))
            return results

        checks = asyncio.create_task(verifier())
        counts = await asyncio.gather(*(writer(n) for n in range(8)))
        writing = False
        results = await checks
        async with database.system_snapshot_session() as session:
            results.append(await verify_chain(session, tenant.id))
        return str(tenant.id), sum(counts), results
    finally:
        await database.dispose()


def test_many_writers_keep_the_chain_gapless_and_verify_never_sees_a_false_break(database_url):
    tenant, written, results = asyncio.run(_writers_and_verifiers(database_url))
    assert len(results) >= 2 and results == [None] * len(results)
    with psycopg.connect(database_url, autocommit=True) as conn:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM audit_events WHERE tenant_id = %s ORDER BY seq", (tenant,))]
        head = conn.execute("SELECT last_seq FROM audit_chain_heads WHERE tenant_id = %s", (tenant,)).fetchone()
        signals = conn.execute(
            "SELECT count(*) FROM audit_events WHERE tenant_id = %s AND event_type = 'signal_received'", (tenant,)
        ).fetchone()
    assert seqs == list(range(1, len(seqs) + 1)) and head == (len(seqs),)
    assert signals == (written,)


def _tenant(url: str, name: str) -> str:
    created = run_cli(
        url, "tenants", "create", "--name", name, "--org-type", "smb", "--admin-email", f"{name}@example.sa", "--json"
    )
    assert created.returncode == 0, created.stderr
    tenant_id: str = json.loads(created.stdout)["tenant_id"]
    return tenant_id


def _behind_the_apps_back(url: str, *statements: tuple[str, tuple[object, ...]]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # triggers off: only a superuser can
        for statement, params in statements:
            conn.execute(statement, params)


def test_verify_detects_a_missing_head_and_a_rolled_back_head(pg_server):
    with fresh_database(pg_server) as url:
        gone, behind, fine = _tenant(url, "gone"), _tenant(url, "behind"), _tenant(url, "fine")
        assert run_cli(url, "audit", "verify").returncode == 0
        _behind_the_apps_back(
            url,
            ("DELETE FROM audit_chain_heads WHERE tenant_id = %s", (gone,)),
            (
                "UPDATE audit_chain_heads h SET last_seq = e.seq, last_hash = e.hash FROM audit_events e "
                "WHERE h.tenant_id = %s AND e.tenant_id = h.tenant_id AND e.seq = h.last_seq - 1",
                (behind,),
            ),
        )
        broken = run_cli(url, "audit", "verify")
        assert broken.returncode == 1
        assert f"tenant {gone}: event seq None (id None): the chain head is missing" in broken.stderr
        assert f"tenant {behind}:" in broken.stderr and "behind the newest event" in broken.stderr
        assert f"tenant {fine}" not in broken.stderr
        assert run_cli(url, "audit", "verify", "--tenant", fine).returncode == 0


def test_verify_detects_events_cut_off_behind_a_checkpoint(pg_server):
    with fresh_database(pg_server) as url:
        victim, other = _tenant(url, "victim"), _tenant(url, "other")
        sealed = run_cli(url, "audit", "seal")
        assert sealed.returncode == 0, sealed.stderr
        assert "sealed 2 checkpoint(s)" in sealed.stdout
        assert "sealed 0 checkpoint(s)" in run_cli(url, "audit", "seal").stdout  # no head moved: nothing new
        with psycopg.connect(url, autocommit=True) as conn:
            (last,) = conn.execute("SELECT last_seq FROM audit_chain_heads WHERE tenant_id = %s", (victim,)).fetchone()
            (checkpoint_id,) = conn.execute(
                "SELECT id FROM audit_checkpoints WHERE tenant_id = %s", (victim,)
            ).fetchone()
        # The newest two events cut off and the head rewound to match: a consistent, shorter chain.
        _behind_the_apps_back(
            url,
            ("DELETE FROM audit_events WHERE tenant_id = %s AND seq > %s", (victim, last - 2)),
            (
                "UPDATE audit_chain_heads h SET last_seq = e.seq, last_hash = e.hash FROM audit_events e "
                "WHERE h.tenant_id = %s AND e.tenant_id = h.tenant_id AND e.seq = %s",
                (victim, last - 2),
            ),
        )
        broken = run_cli(url, "audit", "verify")
        assert broken.returncode == 1
        assert f"tenant {victim}: event seq {last} (id None): checkpoint #{checkpoint_id} (seq {last}" in broken.stderr
        assert f"events end at seq {last - 2} (truncated or rolled back)" in broken.stderr
        assert f"tenant {other}" not in broken.stderr
        # Sealing refuses to vouch for the shortened chain.
        refused = run_cli(url, "audit", "seal", "--tenant", victim)
        assert refused.returncode == 1 and "1 broken" in refused.stdout


def test_verify_refuses_a_checkpoint_atlas_did_not_sign(pg_server):
    with fresh_database(pg_server) as url:
        tenant = _tenant(url, "forged")
        with psycopg.connect(url) as conn:
            # The app role may append checkpoints, but without the key it can only forge the signature.
            conn.execute("SET ROLE atlas_app")
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
            conn.execute(
                "INSERT INTO audit_checkpoints (tenant_id, seq, head_hash, sealed_at, key_id, signature, sealed_by) "
                "SELECT tenant_id, last_seq, last_hash, now(), 'feedfeedfeedfeed', 'AAAA', 'system' "
                "FROM audit_chain_heads WHERE tenant_id = %s",
                (tenant,),
            )
            for statement in ("UPDATE audit_checkpoints SET seq = 0", "DELETE FROM audit_checkpoints"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    with conn.transaction():
                        conn.execute(statement)
            conn.commit()
        broken = run_cli(url, "audit", "verify")
        assert broken.returncode == 1 and "is signed by an unknown key feedfeedfeedfeed" in broken.stderr
