"""The platform admin's page of a tenant shows people by name, the reference on hover (issue 19).

Its activity list used to show ``user:<uuid>`` and ``platform_admin:<uuid>``, and the platform's billing page did
not say who asked for a meeting. The names are now read in the same
audited platform read as the rest of the page (one ``cross_tenant_view`` event per view, nothing read outside it):
the tenant's members, and the platform admins whose own actions (their views) are in the tenant's trail.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from lxml import html as lxml_html

from atlas.db.engine import Database
from tests.billing.conftest import set_state
from tests.billing.test_pages import MEETING
from tests.execution_lock.seed import run
from tests.platform.test_audit import run_cli


def _signed_up(atlas: Any, name: str, company: str) -> tuple[Any, dict[str, Any]]:
    """Someone signs in with ``name`` at the identity provider and creates ``company``."""
    client = atlas.login(f"{uuid.uuid4().hex[:8]}@example.sa", name=name)
    answer = client.post(
        "/api/onboarding/complete",
        json={"company_name": company, "org_type": "smb", "use_case": "inventory_management"},
    )
    assert answer.status_code == 200, answer.text
    return client, client.get("/api/auth/user").json()


@pytest.fixture(scope="module")
def viewed(atlas) -> dict[str, Any]:
    member, member_me = _signed_up(atlas, "Layla Haddad", "Haddad Trading")
    invited = member.post("/api/invitations", json={"email": f"{uuid.uuid4().hex[:8]}@example.sa", "role": "viewer"})
    assert invited.status_code == 201, invited.text  # one more event by the member
    admin, admin_me = _signed_up(atlas, "Omar Platform", "Atlas Operations")
    granted = run_cli(atlas.database_url, "platform-admins", "grant", "--email", admin_me["email"])
    assert granted.returncode == 0, granted.stderr
    return {"member": member_me, "admin": admin, "admin_me": admin_me}


def _page(atlas: Any, viewed: dict[str, Any], lang: str, correlation: str) -> Any:
    tenant_id = viewed["member"]["tenant_id"]
    answer = atlas.client().get(
        f"/platform/tenants/{tenant_id}",
        cookies={"atlas_session": viewed["admin"].cookies["atlas_session"], "atlas_lang": lang},
        headers={"Accept": "text/html", "X-Request-ID": correlation},
    )
    assert answer.status_code == 200, answer.text[:300]
    return lxml_html.fromstring(answer.text)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_tenant_page_names_its_members_and_the_platform_admin_with_the_reference_on_hover(atlas, viewed, lang):
    member_ref = f"user:{viewed['member']['user_id']}"
    admin_ref = f"platform_admin:{viewed['admin_me']['user_id']}"
    correlation = f"names-{lang}-{uuid.uuid4().hex[:6]}"
    doc = _page(atlas, viewed, lang, correlation)
    activity = doc.xpath("//section[@aria-labelledby='tenant-activity-title']")[0]
    people = {el.get("data-actor"): el for el in activity.xpath(".//*[@data-actor]")}
    assert member_ref in people and admin_ref in people, sorted(people)
    for ref, name in ((member_ref, "Layla Haddad"), (admin_ref, "Omar Platform")):
        assert people[ref].text_content().strip() == name
        assert people[ref].get("title") == ref  # the reference on hover
        assert people[ref].tag == "bdi" and people[ref].get("dir") == "auto"
    shown = activity.text_content()
    assert "user:" not in shown and "platform_admin:" not in shown, shown
    # The view was audited once, in the viewed tenant's trail, and the names came from that same read.
    audited = atlas.sql(
        "SELECT tenant_id::text, actor, payload->>'view' FROM audit_events WHERE correlation_id = %s", (correlation,)
    )
    assert audited == [(viewed["member"]["tenant_id"], admin_ref, "tenant_detail")]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_billing_page_names_who_asked_for_a_meeting(atlas, viewed, lang):
    _, asker_me = atlas.new_tenant(org_type="enterprise")
    asker = atlas.login(asker_me["email"], name="Huda Requester")  # the name is taken at each sign-in
    set_state(atlas, asker_me["tenant_id"], "trial_ended")
    created = asker.post("/api/meeting-requests", json=MEETING)
    assert created.status_code == 201, created.text
    answer = atlas.client().get(
        "/platform/billing",
        cookies={"atlas_session": viewed["admin"].cookies["atlas_session"], "atlas_lang": lang},
        headers={"Accept": "text/html"},
    )
    assert answer.status_code == 200, answer.text[:300]
    doc = lxml_html.fromstring(answer.text)
    (row,) = doc.xpath(f"//tr[@data-testid='meeting-row'][.//a[@href='/platform/tenants/{asker_me['tenant_id']}']]")
    (person,) = row.xpath(".//*[@data-testid='meeting-requested-by']//*[@data-actor]")
    assert person.text_content().strip() == "Huda Requester"
    assert person.get("title") == f"user:{asker_me['user_id']}"


def test_a_reference_that_names_nobody_stays_a_reference(atlas, viewed, database_url):
    """A token, or a user id no tenant has, is not a name: the page shows the reference."""
    from atlas.platform.people import actor_names_across_tenants

    member_ref = f"user:{viewed['member']['user_id']}"
    nobody = f"user:{uuid.uuid4()}"

    async def names(database: Database) -> dict[str, str]:
        async with database.platform_read_session() as session:
            return await actor_names_across_tenants(
                session, [member_ref, nobody, "token:abc", "system", None, "user:not-a-uuid"]
            )

    assert run(database_url, names) == {member_ref: "Layla Haddad"}


def test_names_across_tenants_are_read_only_in_a_platform_read(atlas, viewed, database_url):
    """A tenant's transaction cannot use the cross-tenant lookup (row-level security would hide the others anyway;
    refusing says so at once)."""
    from atlas.platform.people import actor_names, actor_names_across_tenants

    tenant_id = uuid.UUID(viewed["member"]["tenant_id"])
    admin_ref = f"platform_admin:{viewed['admin_me']['user_id']}"
    member_ref = f"user:{viewed['member']['user_id']}"

    async def attempt(database: Database) -> tuple[str, dict[str, str]]:
        async with database.tenant_session(tenant_id) as session:
            try:
                await actor_names_across_tenants(session, [member_ref])
            except PermissionError as refused:
                error = str(refused)
            else:
                error = ""
            # the tenant's own lookup names its member, not another tenant's platform admin
            return error, await actor_names(session, [member_ref, admin_ref])

    error, names = run(database_url, attempt)
    assert "platform read" in error
    assert names == {member_ref: "Layla Haddad"}
