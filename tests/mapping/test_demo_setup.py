"""The demo connector's provisioning: idempotent by name, and an older demo connector gets its action templates."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from atlas.db.engine import Database


async def _provision_twice(url: str) -> dict[str, Any]:
    from atlas.config import Settings
    from atlas.execution_lock import NetworkPolicy
    from atlas.mapping.demo_setup import DEMO_ACTION_TEMPLATES, provision_demo_connector
    from atlas.platform.audit import Actor
    from atlas.platform.crypto import SecretBox
    from atlas.platform.services import provision_tenant

    database = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1), app_role="atlas_app")
    actor = Actor("system", "demo")
    settings = Settings()
    kwargs: dict[str, Any] = {
        "base_url": "http://127.0.0.1:9",
        "box": SecretBox(settings.fernet_key()),
        "network": NetworkPolicy(allow_private=True),
        "actor": actor,
        "correlation_id": "demo-test",
    }
    try:
        async with database.system_session() as session:
            tenant = await provision_tenant(
                session, name=f"Demo {uuid.uuid4().hex[:6]}", actor=actor, correlation_id="t"
            )
        async with database.tenant_session(tenant.id) as session:
            first = await provision_demo_connector(session, tenant_id=tenant.id, **kwargs)
            assert first.action_templates == DEMO_ACTION_TEMPLATES
            first.action_templates = {}  # as a demo connector made before the demo declared templates
        async with database.tenant_session(tenant.id) as session:
            again = await provision_demo_connector(session, tenant_id=tenant.id, **kwargs)
        async with database.tenant_session(tenant.id) as session:
            third = await provision_demo_connector(session, tenant_id=tenant.id, **kwargs)
            raw = await (await session.connection()).get_raw_connection()
            connectors = await raw.driver_connection.fetchval("SELECT count(*) FROM connectors")
            updates = await raw.driver_connection.fetch(
                "SELECT payload FROM audit_events WHERE event_type = 'connector_updated' ORDER BY seq"
            )
        return {
            "same": first.id == again.id == third.id,
            "templates": again.action_templates == DEMO_ACTION_TEMPLATES,
            "connectors": connectors,
            "updates": [u["payload"] for u in updates],
        }
    finally:
        await database.dispose()


def test_the_demo_connector_is_made_once_and_an_older_one_gets_its_templates(database_url: str) -> None:
    import json

    outcome = asyncio.run(_provision_twice(database_url))
    assert outcome["same"] and outcome["templates"] and outcome["connectors"] == 1
    (update,) = outcome["updates"]  # once: the third provisioning found the templates there
    payload = update if isinstance(update, dict) else json.loads(update)
    assert payload["changed"] == ["action_templates"]
