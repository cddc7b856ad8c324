"""`atlas audit …`: verify the chains (against heads and signed checkpoints), seal checkpoints, verify an export
offline, and manage the signing key. See docs/audit.md."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import click

from atlas.config import get_settings
from atlas.db.engine import Database

if TYPE_CHECKING:
    from atlas.platform.audit import ChainBreak


def _database() -> Database:
    settings = get_settings()
    return Database(settings.database_url, app_role=settings.db_app_role, pool_size=2)


@click.group()
def audit() -> None:
    """The audit trail."""


def _describe(broken: ChainBreak) -> str:
    return f"tenant {broken.tenant_id}: event seq {broken.seq} (id {broken.event_id}): {broken.reason}"


@audit.command("verify")
@click.option("--tenant", "tenant_id", type=click.UUID, default=None, help="Only this tenant.")
def audit_verify(tenant_id: uuid.UUID | None) -> None:
    """Recompute every tenant's hash chain in one snapshot and hold it against its chain head and its signed
    checkpoints; exit 1 naming the first break of each broken tenant."""
    from atlas.platform.audit import all_tenant_ids, verify_chain
    from atlas.platform.checkpoints import tenant_checkpoints
    from atlas.platform.signing import trusted_keys

    keys = trusted_keys(get_settings())

    async def run() -> tuple[int, list[str]]:
        database = _database()
        problems: list[str] = []
        try:
            # One READ ONLY, REPEATABLE READ snapshot: events, heads and checkpoints as of one moment, so writes
            # committed while the verifier reads never look like a break.
            async with database.system_snapshot_session() as session:
                ids = [tenant_id] if tenant_id else await all_tenant_ids(session)
                for tid in ids:
                    checkpoints = [c.sealed() for c in await tenant_checkpoints(session, tid)]
                    broken = await verify_chain(session, tid, checkpoints=checkpoints, keys=keys)
                    if broken is not None:
                        problems.append(_describe(broken))
        finally:
            await database.dispose()
        return len(ids), problems

    checked, problems = asyncio.run(run())
    if problems:
        for line in problems:
            click.echo(f"BROKEN {line}", err=True)
        sys.exit(1)
    click.echo(f"audit chain intact for {checked} tenant(s)")


@audit.command("seal")
@click.option("--tenant", "tenant_id", type=click.UUID, default=None, help="Only this tenant.")
def audit_seal(tenant_id: uuid.UUID | None) -> None:
    """Seal a signed checkpoint of every tenant's chain head that moved since its latest checkpoint (what the
    schedule does); exit 1 when a chain is broken (it is not sealed)."""
    from atlas.platform.checkpoints import seal_all
    from atlas.platform.signing import load_signing_key

    key = load_signing_key(get_settings())

    async def run() -> tuple[int, int, int]:
        database = _database()
        try:
            sweep = await seal_all(database, key, only=tenant_id)
        finally:
            await database.dispose()
        return sweep.sealed, sweep.unchanged, sweep.broken

    sealed, unchanged, broken = asyncio.run(run())
    click.echo(f"sealed {sealed} checkpoint(s) with key {key.key_id}; {unchanged} unchanged; {broken} broken")
    if broken:
        sys.exit(1)


@audit.command("verify-export")
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("checkpoints", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    "public_keys",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    required=True,
    help="PEM file of the public key(s) (GET /api/audit/checkpoints/public-key); repeatable.",
)
def audit_verify_export(events: Path, checkpoints: Path, public_keys: tuple[Path, ...]) -> None:
    """Verify an audit export offline (no database): EVENTS from GET /api/audit/export, CHECKPOINTS from
    GET /api/audit/checkpoints. Exit 1 naming the first break."""
    from atlas.platform.audit_export import ExportUnreadable, parse_checkpoints, verify_export
    from atlas.platform.signing import parse_public_keys

    try:
        keys = {}
        for path in public_keys:
            keys.update(parse_public_keys(path.read_text(encoding="utf-8")))
        sealed = parse_checkpoints(json.loads(checkpoints.read_text(encoding="utf-8")))
        with events.open(encoding="utf-8") as lines:
            report = verify_export(lines, sealed, keys)
    except (ExportUnreadable, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if not keys:
        raise click.ClickException("no Ed25519 public key in the --public-key file(s)")
    if report.broken is not None:
        click.echo(f"BROKEN {_describe(report.broken)}", err=True)
        sys.exit(1)
    click.echo(
        f"audit export intact: tenant {report.tenant_id}, {report.events} event(s) up to seq {report.last_seq}, "
        f"{report.checkpoints} checkpoint(s) verified"
    )
    if report.latest_checkpoint_seq is None:
        click.echo("warning: no checkpoint: events cut off the end could not be noticed", err=True)
    elif report.latest_checkpoint_seq < report.last_seq:
        click.echo(
            f"note: events after seq {report.latest_checkpoint_seq} are not covered by a checkpoint yet", err=True
        )


@audit.command("public-key")
def audit_public_key() -> None:
    """Print the checkpoints' public key (PEM) and key id."""
    from atlas.platform.signing import load_signing_key

    key = load_signing_key(get_settings())
    click.echo(f"# key id {key.key_id}", err=True)
    click.echo(key.public_pem, nl=False)


@audit.command("keygen")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def audit_keygen(path: Path) -> None:
    """Write a new Ed25519 signing key (PEM, mode 0600) to PATH for ATLAS_AUDIT_SIGNING_KEY_FILE."""
    from atlas.platform.signing import write_new_key

    if path.exists():
        raise click.ClickException(f"{path} exists; a signing key is never overwritten")
    key = write_new_key(path)
    click.echo(f"wrote {path} (key id {key.key_id})")
