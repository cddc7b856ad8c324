"""Fault injection, the validation switch, the admin API, and a restart that keeps the chain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.services import free_port, wait_until
from tests.zatca_fake.conftest import Gateway
from tests.zatca_fake.signer import Unit

REPORT = "invoices/reporting/single"


def test_refuse_next_n_with_given_messages(gateway: Gateway) -> None:
    unit, auth = gateway.onboard()
    gateway.admin(
        "POST",
        "faults",
        json={
            "kind": "refuse",
            "path": REPORT,
            "times": 2,
            "messages": [{"code": "BR-KSA-98", "message": "Injected refusal"}],
        },
    )
    refused = []
    for _ in range(2):
        signed = unit.document()  # each the next in the unit's chain, PIH the previous one's hash
        answer = gateway.post(REPORT, signed.body(), auth=auth)
        assert answer.status_code == 400
        assert answer.json()["reportingStatus"] == "NOT_REPORTED"
        [message] = answer.json()["validationResults"]["errorMessages"]
        assert (message["code"], message["message"], message["type"]) == ("BR-KSA-98", "Injected refusal", "ERROR")
        refused.append(signed.icv)
    # A refused document was still read: it took its place in the chain (chain_counts_refused), so the next one links
    # to it and is accepted once the rule is spent
    accepted = unit.document()
    assert gateway.post(REPORT, accepted.body(), auth=auth).status_code == 200
    recorded = gateway.documents(endpoint="reporting")
    assert [(d["icv"], d["accepted"]) for d in recorded] == [
        (refused[0], False),
        (refused[1], False),
        (accepted.icv, True),
    ]


def test_server_error_and_hang(gateway: Gateway) -> None:
    unit, auth = gateway.onboard()
    gateway.admin("POST", "faults", json={"kind": "server_error", "status": 503, "path": "invoices/*"})
    signed = unit.document()
    assert gateway.post(REPORT, signed.body(), auth=auth).status_code == 503
    gateway.admin("POST", "faults", json={"kind": "hang", "seconds": 2, "path": REPORT})
    with pytest.raises(httpx.ReadTimeout):
        gateway.post(REPORT, signed.body(), auth=auth, timeout=0.5)
    assert gateway.documents(endpoint="reporting") == []
    assert gateway.post(REPORT, signed.body(), auth=auth).status_code == 200
    assert len(gateway.documents(endpoint="reporting")) == 1


def test_validation_switch_reset_and_settings(gateway: Gateway) -> None:
    unit, auth = gateway.onboard()
    bad = unit.document(advance=False, gross="1.00")
    assert gateway.post(REPORT, bad.body(), auth=auth).status_code == 400
    assert gateway.admin("PUT", "settings", json={"validate": False})["validate"] is False
    assert gateway.post(REPORT, bad.body(), auth=auth).status_code == 200
    assert [d["accepted"] for d in gateway.documents(endpoint="reporting")] == [False, True]
    refused = httpx.put(f"{gateway.url}/_fake/settings", json={"validate": "perhaps"}, timeout=10)
    assert refused.status_code == 400
    gateway.admin("POST", "reset")
    assert gateway.documents() == []
    assert gateway.admin("GET", "settings")["validate"] is True
    # CSIDs are gone with the reset.
    assert gateway.post(REPORT, bad.body(), auth=auth).status_code == 401


@contextmanager
def cli_gateway(state_file: Path, port: int) -> Iterator[Gateway]:
    """`atlas zatca-fake` as a real process."""
    atlas = str(Path(sys.executable).parent / "atlas")
    process = subprocess.Popen(
        [atlas, "zatca-fake", "--host", "127.0.0.1", "--port", str(port), "--state-file", str(state_file)],
        env={**os.environ, "ATLAS_ENV": "development"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/_fake/settings", timeout=1).status_code == 200, what="zatca-fake")
        yield Gateway(url)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_restart_keeps_the_chain(tmp_path: Path) -> None:
    state = tmp_path / "zatca.sqlite"
    port = free_port()
    with cli_gateway(state, port) as gateway:
        unit, auth = gateway.onboard()
        first = unit.document()
        assert gateway.post(REPORT, first.body(), auth=auth).status_code == 200
    with cli_gateway(state, port) as gateway:
        # The CSID still authenticates, the certificate still chains to the CA, and the chain goes on.
        stale = Unit(key=unit.key, certificate=unit.certificate, icv=first.icv - 1, pih=first.invoice_hash)
        answer = gateway.post(REPORT, stale.document().body(), auth=auth)
        assert answer.status_code == 400
        second = unit.document()
        assert gateway.post(REPORT, second.body(), auth=auth).status_code == 200, "chain continues after restart"
        assert [d["icv"] for d in gateway.documents(endpoint="reporting") if d["accepted"]] == [first.icv, second.icv]
