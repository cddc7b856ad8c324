"""schemathesis over Atlas's own OpenAPI document: no input makes a 5xx, and every answer is what the document says.

A live Atlas, an admin's API token of a throw-away tenant, every operation in ``/schema/openapi.json`` (except those
that would destroy the run's own access), valid and invalid inputs generated from the document with a fixed seed.
Checks per answer: not a server error; status code, content type and body all as documented.
"""

from __future__ import annotations

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

from tests.billing.conftest import WEBHOOK_SECRET, paying_settings
from tests.billing.moyasar_helpers import moyasar_stand_in
from tests.conftest import Atlas
from tests.services import atlas_server, free_port

# Bounded so that the whole run takes a minute or two on a 2-core machine; raise it locally to dig deeper.
MAX_EXAMPLES = 12
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
    return operations


def _fuzz(
    operation: Any,
    base_url: str,
    session: requests.Session,
    headers: dict[str, str],
    requests_sent: Counter[str],
    statuses: Counter[int],
    failures: dict[tuple[str, str], str],
) -> None:
    """Valid and invalid inputs for one operation; every check's failure collected, none stops the run."""
    label = f"{operation.method.upper()} {operation.path}"
    strategy = operation.as_strategy(schemathesis.GenerationMode.POSITIVE) | operation.as_strategy(
        schemathesis.GenerationMode.NEGATIVE
    )

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
def throwaway_admin_token(served: Atlas) -> str:
    admin, _me = served.new_tenant(name="schemathesis throw-away")
    response = admin.post("/api/tokens", json={"name": "schemathesis", "role": "admin", "expires_in_days": 1})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def test_no_input_makes_a_server_error_and_every_answer_is_documented(
    served: Atlas, throwaway_admin_token: str
) -> None:
    schema = schemathesis.openapi.from_url(f"{served.base_url}/schema/openapi.json")
    operations = _operations(schema)
    assert len(operations) > 80, "the OpenAPI document lost its operations"
    session = requests.Session()
    headers = {"Authorization": f"Bearer {throwaway_admin_token}", "Accept": "application/json"}
    requests_sent: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: dict[tuple[str, str], str] = {}
    started = time.monotonic()

    for operation in operations:
        _fuzz(operation, served.base_url, session, headers, requests_sent, statuses, failures)

    elapsed = time.monotonic() - started
    total = sum(requests_sent.values())
    print(
        f"\nschemathesis: {len(operations)} operations, {total} requests in {elapsed:.0f} s, "
        f"statuses {dict(sorted(statuses.items()))}, {len(failures)} failing (operation, check)"
    )
    assert total >= len(operations) * 3
    assert not failures, "\n".join(f"{label}: {text}" for (label, _kind), text in sorted(failures.items()))
