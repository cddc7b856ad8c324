"""The audit trail: append-only in PostgreSQL, hash-chained, gapless under concurrency, verifiable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.services import fresh_database


def test_update_delete_truncate_are_refused_by_the_database_even_for_a_superuser(atlas):
    atlas.new_tenant()
    for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            atlas.sql(statement)


def test_the_app_role_has_no_update_or_delete_grant(atlas):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        atlas.as_app_role("UPDATE audit_events SET actor = 'x'", scope="system")


def test_events_are_chained_and_gapless_per_tenant(atlas):
    admin, me = atlas.new_tenant()
    for i in range(3):
        admin.post("/api/invitations", json={"email": f"chain{i}@example.sa", "role": "viewer"})
    rows = atlas.sql(
        "SELECT seq, prev_hash, hash FROM audit_events WHERE tenant_id = %s ORDER BY seq", (me["tenant_id"],)
    )
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0][1] == "0" * 64
    for previous, current in zip(rows, rows[1:], strict=False):
        assert current[1] == previous[2]


def test_concurrent_writers_keep_seq_gapless(atlas):
    admin, me = atlas.new_tenant()
    tokens = [atlas.token_client(admin, "admin") for _ in range(4)]

    def invite(i: int) -> int:
        client = tokens[i % len(tokens)]
        return client.post("/api/invitations", json={"email": f"c{i}@example.sa", "role": "viewer"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(invite, range(40)))
    assert statuses == [201] * 40
    seqs = [
        r[0] for r in atlas.sql("SELECT seq FROM audit_events WHERE tenant_id = %s ORDER BY seq", (me["tenant_id"],))
    ]
    assert seqs == list(range(1, len(seqs) + 1))
    assert atlas.sql("SELECT last_seq FROM audit_chain_heads WHERE tenant_id = %s", (me["tenant_id"],)) == [
        (len(seqs),)
    ]


def test_audit_api_filters_and_paginates(atlas):
    admin, me = atlas.new_tenant()
    for i in range(7):
        admin.post("/api/invitations", json={"email": f"page{i}@example.sa", "role": "viewer"})
    page = admin.get("/api/audit-logs", params={"event_type": "invitation_created", "limit": 3}).json()
    assert [e["event_type"] for e in page["items"]] == ["invitation_created"] * 3
    seen = [e["seq"] for e in page["items"]]
    while page["next_cursor"]:
        page = admin.get(
            "/api/audit-logs", params={"event_type": "invitation_created", "limit": 3, "cursor": page["next_cursor"]}
        ).json()
        seen += [e["seq"] for e in page["items"]]
    assert len(seen) == 7 and seen == sorted(seen, reverse=True)
    one = admin.get("/api/audit-logs", params={"limit": 1}).json()["items"][0]
    by_correlation = admin.get("/api/audit-logs", params={"correlation_id": one["correlation_id"]}).json()["items"]
    assert one["seq"] in [e["seq"] for e in by_correlation]
    assert all(e["correlation_id"] == one["correlation_id"] for e in by_correlation)
    future = admin.get("/api/audit-logs", params={"since": "2999-01-01T00:00:00Z"}).json()
    assert future["items"] == []
    past = admin.get("/api/audit-logs", params={"until": "2000-01-01T00:00:00+00:00"}).json()
    assert past["items"] == []
    bad = admin.get("/api/audit-logs", params={"since": "yesterday"})
    assert bad.status_code == 422 and bad.json()["code"] == "errors.invalid_time"
    assert admin.get("/api/audit-logs", params={"cursor": "abc"}).status_code == 422
    assert admin.get("/api/audit-logs", params={"limit": 100000}).status_code in (400, 422)


def test_request_id_becomes_the_correlation_id(atlas):
    admin, me = atlas.new_tenant()
    response = admin.post(
        "/api/invitations", json={"email": "corr@example.sa", "role": "viewer"}, headers={"X-Request-ID": "req-12345"}
    )
    assert response.headers["x-request-id"] == "req-12345"
    rows = atlas.sql(
        "SELECT event_type FROM audit_events WHERE tenant_id = %s AND correlation_id = 'req-12345'", (me["tenant_id"],)
    )
    assert rows == [("invitation_created",)]


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "ATLAS_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "atlas.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_verify_detects_a_row_altered_behind_the_apps_back(pg_server):
    with fresh_database(pg_server) as url:
        created = [
            json.loads(
                run_cli(
                    url,
                    "tenants",
                    "create",
                    "--name",
                    f"Verify {i}",
                    "--org-type",
                    "enterprise",
                    "--admin-email",
                    f"boss{i}@example.sa",
                    "--json",
                ).stdout
            )
            for i in range(2)
        ]
        ok = run_cli(url, "audit", "verify")
        assert ok.returncode == 0, ok.stderr
        assert "intact for 2 tenant(s)" in ok.stdout
        victim = created[1]["tenant_id"]
        with psycopg.connect(url, autocommit=True) as conn:
            # Only a superuser who switches the triggers off can do this; verify must still notice.
            conn.execute("SET session_replication_role = replica")
            event_id = conn.execute(
                "SELECT id FROM audit_events WHERE tenant_id = %s AND seq = 3", (victim,)
            ).fetchone()[0]
            conn.execute('UPDATE audit_events SET payload = \'{"role": "viewer"}\' WHERE id = %s', (event_id,))
        broken = run_cli(url, "audit", "verify")
        assert broken.returncode == 1
        assert f"tenant {victim}: event seq 3 (id {event_id})" in broken.stderr
        only_other = run_cli(url, "audit", "verify", "--tenant", created[0]["tenant_id"])
        assert only_other.returncode == 0


def test_verify_detects_a_deleted_event(pg_server):
    with fresh_database(pg_server) as url:
        created = json.loads(
            run_cli(
                url,
                "tenants",
                "create",
                "--name",
                "Deleted",
                "--org-type",
                "smb",
                "--admin-email",
                "del@example.sa",
                "--json",
            ).stdout
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute("DELETE FROM audit_events WHERE tenant_id = %s AND seq = 2", (created["tenant_id"],))
        broken = run_cli(url, "audit", "verify")
        assert broken.returncode == 1
        assert "seq 2" in broken.stderr and "missing" in broken.stderr


async def _many_events(url: str) -> tuple[str, int, object]:
    import uuid

    from atlas.db.engine import Database
    from atlas.platform.audit import APPEND_CHUNK, Actor, record, verify_chain
    from atlas.platform.services import provision_tenant

    database = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1), app_role="atlas_app")
    actor = Actor("system", "test")
    try:
        async with database.system_session() as session:
            name = f"Audit {uuid.uuid4().hex[:6]}"
            tenant = await provision_tenant(session, name=name, actor=actor, correlation_id="t")
        many = 2 * APPEND_CHUNK + 7  # more rows than one statement takes: three statements, one chain
        async with database.tenant_session(tenant.id) as session:
            for i in range(many):
                await record(session, "signal_received", actor=actor, correlation_id="bulk", payload={"n": i})
        # A transaction that fails writes none of the events it recorded.
        with pytest.raises(RuntimeError):
            async with database.tenant_session(tenant.id) as session:
                await record(session, "signal_received", actor=actor, correlation_id="lost", payload={})
                raise RuntimeError("rolled back")
        async with database.system_session() as session:
            broken = await verify_chain(session, tenant.id)
        return str(tenant.id), many, broken
    finally:
        await database.dispose()


def test_a_transaction_with_thousands_of_events_appends_them_all_in_order(database_url):
    import asyncio

    tenant_id, many, broken = asyncio.run(_many_events(database_url))
    assert broken is None
    rows = (
        psycopg.connect(database_url, autocommit=True)
        .execute(
            "SELECT seq, payload->>'n', correlation_id FROM audit_events "
            "WHERE tenant_id = %s AND correlation_id <> 't' ORDER BY seq",
            (tenant_id,),
        )
        .fetchall()
    )
    assert [int(n) for _, n, _ in rows] == list(range(many))  # in the order recorded, none lost, none doubled
    assert {cid for _, _, cid in rows} == {"bulk"}
    seqs = [seq for seq, _, _ in rows]
    assert seqs == list(range(seqs[0], seqs[0] + many))
