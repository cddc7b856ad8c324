"""People appear by name, not ``user:<uuid>`` (issue 19): the activity feed, the audit log and a recommendation's
timeline show a member's display name (from the users table) with the recorded reference on hover; a member since
removed, a token and the system keep their reference."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from markupsafe import escape

from atlas.db.engine import Database
from tests.execution_lock.seed import run, seed
from tests.services import html_page


@pytest.fixture(scope="module")
def tenant(atlas, database_url) -> dict[str, Any]:
    admin, me = atlas.new_tenant()
    tenant_id = uuid.UUID(me["tenant_id"])
    member, member_me = atlas.member_client(admin, "operator")  # signing in is audited under the member
    member_ref = f"user:{member_me['user_id']}"
    assert admin.delete(f"/api/members/{member_me['user_id']}").status_code == 204

    async def work(database: Database) -> uuid.UUID:
        return (await seed(database, tenant_id)).recs["transfer"]

    rec_id = run(database_url, work)
    assert admin.post(f"/api/recommendations/{rec_id}/dry-run").status_code == 200
    [(name,)] = atlas.sql("SELECT coalesce(display_name, email) FROM users WHERE id = %s", (me["user_id"],))
    return {"admin": admin, "ref": f"user:{me['user_id']}", "name": name, "member_ref": member_ref, "rec": rec_id}


def _by_name(ref: str, name: str, cls: str = "person-name") -> str:
    return f'<bdi dir="auto" class="{cls}" title="{ref}" data-actor="{ref}">{escape(name)}</bdi>'


def test_the_audit_log_shows_people_by_name_with_the_id_on_hover(tenant):
    html = html_page(tenant["admin"], "/app/audit").text
    assert _by_name(tenant["ref"], tenant["name"]) in html
    # the removed member: no name to show, the reference stays (and no one's name stands for it)
    assert f'<bdi dir="ltr" class="mono">{tenant["member_ref"]}</bdi>' in html
    assert f'data-actor="{tenant["member_ref"]}"' not in html
    shown_refs = re.findall(r'<bdi dir="ltr" class="mono">(user:[^<]*)</bdi>', html)
    assert tenant["ref"] not in shown_refs


def test_the_activity_feed_shows_people_by_name(tenant):
    html = html_page(tenant["admin"], "/app").text
    feed = html[html.index('data-testid="recent-activity"') :]
    assert _by_name(tenant["ref"], tenant["name"], "person-name truncate") in feed
    assert f">{tenant['ref']}</bdi>" not in feed


def test_the_timeline_shows_people_by_name(tenant):
    html = html_page(tenant["admin"], f"/app/recommendations/{tenant['rec']}").text
    timeline = html[html.index('data-testid="timeline"') :]
    ref = tenant["ref"]
    assert f'<bdi dir="auto" title="{ref}" data-actor="{ref}">{escape(tenant["name"])}</bdi>' in timeline


def test_atlas_itself_is_named_in_words_not_by_its_reference(tenant, atlas):
    """Events Atlas writes itself (the system, the AI engine, the approval workflow) read as words in the page's
    language, with the reference on hover; the words switch with the language."""
    [(count,)] = atlas.sql(
        "SELECT count(*) FROM audit_events WHERE tenant_id = %s AND actor = 'system'",
        (tenant["admin"].get("/api/auth/user").json()["tenant_id"],),
    )
    assert count > 0  # the seed's lock events are the system's
    html = html_page(tenant["admin"], "/app/audit").text
    shown = (
        '<bdi dir="auto" class="person-name" title="system" data-actor="system"><span data-i18n="people.actor.system"'
    )
    assert shown in html
    assert '<bdi dir="ltr" class="mono">system</bdi>' not in html
    assert "النظام" in html or ">System<" in html
