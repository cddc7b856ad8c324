"""schemathesis over Atlas's own OpenAPI document: no input makes a 5xx, and every answer is what the document says.

A live Atlas, an admin's API token of a throw-away tenant, every operation in ``/schema/openapi.json`` (except those
that would destroy the run's own access), valid and invalid inputs generated from the document with a fixed seed.
Checks per answer: not a server error; status code, content type and body all as documented.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from atlas.mapping.demo_setup import DEMO_MAPPINGS, demo_connector_body
from tests.billing.conftest import WEBHOOK_SECRET, paying_settings
from tests.billing.moyasar_helpers import moyasar_stand_in
from tests.conftest import Atlas
from tests.services import atlas_server, free_port

# Bounded so that the whole run takes a minute or two on a 2-core machine; raise it locally to dig deeper.
MAX_EXAMPLES = int(os.environ.get("ATLAS_SCHEMATHESIS_EXAMPLES", "40"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Operations that would end the run's own access or the tenant it runs in: schemathesis reuses ids it sees.
SELF_DESTRUCTIVE = {
    ("DELETE", "/api/tokens/{token_id}"),  # revokes the run's own token
    ("DELETE", "/api/members/{member_id}"),  # removes the token's admin
    ("PATCH", "/api/members/{member_id}"),  # demotes the token's admin
    ("POST", "/api/logout"),
    ("POST", "/api/subscriptions/cancel"),  # every later request would meet the subscription wall
}


def _operations(schema: Any) -> list[Any]:
    operations = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in SELF_DESTRUCTIVE:
            operations.append(operation)
    # Deletions last, so the real resources are still there for every other operation.
    return sorted(operations, key=lambda operation: operation.method.upper() == "DELETE")


def _fuzz(
    operation: Any,
    real_ids: dict[str, str],
    base_url: str,
    session: requests.Session,
    headers: dict[str, str],
    requests_sent: Counter[str],
    statuses: Counter[int],
    failures: dict[tuple[str, str], str],
) -> None:
    """Valid and invalid inputs for one operation; every check's failure collected, none stops the run."""
    label = f"{operation.method.upper()} {operation.path}"
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(mode) for mode in modes]
    path_names = {p.name for p in operation.path_parameters}
    if path_names and path_names <= set(real_ids):
        # Real resources too, or nearly every request stops at a 404 before the code that reads its input.
        known = {name: real_ids[name] for name in path_names}
        strategies += [operation.as_strategy(mode, path_parameters=known) for mode in modes]
    strategy = strategies[0]
    for other in strategies[1:]:
        strategy |= other

    @given(case=strategy)
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,  # the same inputs on every run
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # no shrinking: report, don't minimise
    )
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, headers=headers, allow_redirects=False)
        requests_sent[label] += 1
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = (label, type(failure).__name__)
                if key not in failures:
                    first_line = (str(failure).strip().splitlines() or [""])[0]
                    curl = case.as_curl_command(headers=headers)[:600]
                    failures[key] = f"{type(failure).__name__} {response.status_code}: {first_line}\n    {curl}"

    run()


@pytest.fixture(scope="module")
def served(database_url: str, oidc_url: str, temporal_address: str) -> Iterator[Atlas]:
    """Atlas with everything it depends on up (PostgreSQL, Temporal, the local Moyasar), so that no answer is a
    5xx for want of a service: the workflow queue has no worker, so syncs and approvals start and wait."""
    port = free_port()
    with moyasar_stand_in(
        webhook_url=f"http://127.0.0.1:{port}/api/webhooks/moyasar", webhook_secret=WEBHOOK_SECRET
    ) as moyasar:
        settings = paying_settings(
            moyasar,
            database_url,
            oidc_url,
            TEMPORAL_ADDRESS=temporal_address,
            TEMPORAL_TASK_QUEUE=f"atlas-schemathesis-{uuid.uuid4().hex[:8]}",
        )
        with atlas_server({**settings, "port": port}) as base_url:
            yield Atlas(base_url, oidc_url, database_url)


@pytest.fixture(scope="module")
def throwaway(served: Atlas) -> tuple[str, dict[str, str]]:
    """A throw-away tenant's admin API token, and ids of real resources in it for the path parameters."""
    admin, me = served.new_tenant(name="schemathesis throw-away")
    created = admin.post("/api/tokens", json={"name": "schemathesis", "role": "admin", "expires_in_days": 1})
    assert created.status_code == 201, created.text
    connector = admin.post("/api/connectors", json=demo_connector_body("http://127.0.0.1:9", name="Fuzzed ERP"))
    assert connector.status_code == 201, connector.text
    mapping = admin.post(
        "/api/mappings",
        json={"connector_id": connector.json()["id"], "endpoint_key": "items", "spec": DEMO_MAPPINGS["items"]},
    )
    assert mapping.status_code == 201, mapping.text
    invitation = admin.post("/api/invitations", json={"email": "fuzzed@example.sa", "role": "viewer"})
    assert invitation.status_code == 201, invitation.text
    policy = admin.post("/api/policies", json={"rules": {"max_items_per_action": 20}, "note": "fuzzed"})
    assert policy.status_code == 201, policy.text
    ids = {
        "connector_id": connector.json()["id"],
        "mapping_id": mapping.json()["id"],
        "version": "1",  # the mapping's first version, the tenant's first saved policy
        "invitation_id": invitation.json()["id"],
        "preset_id": admin.get("/api/presets").json()[0]["id"],
        "tenant_id": me["tenant_id"],
    }
    return str(created.json()["token"]), ids


def test_no_input_makes_a_server_error_and_every_answer_is_documented(
    served: Atlas, throwaway: tuple[str, dict[str, str]]
) -> None:
    token, real_ids = throwaway
    schema = schemathesis.openapi.from_url(f"{served.base_url}/schema/openapi.json")
    operations = _operations(schema)
    assert len(operations) > 80, "the OpenAPI document lost its operations"
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    requests_sent: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: dict[tuple[str, str], str] = {}
    started = time.monotonic()

    for operation in operations:
        _fuzz(operation, real_ids, served.base_url, session, headers, requests_sent, statuses, failures)

    elapsed = time.monotonic() - started
    total = sum(requests_sent.values())
    print(
        f"\nschemathesis: {len(operations)} operations, {total} requests in {elapsed:.0f} s, "
        f"statuses {dict(sorted(statuses.items()))}, {len(failures)} failing (operation, check)"
    )
    assert total >= len(operations) * 3
    assert not failures, "\n".join(f"{label}: {text}" for (label, _kind), text in sorted(failures.items()))
