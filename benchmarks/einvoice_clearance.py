"""Payment to a cleared standard invoice, end to end through the local ZATCA gateway (issue 20).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/einvoice_clearance.py --tenants 50 --rate 2 --outage-seconds 30

Starts the real pieces, each a process of its own: a fresh migrated database on DATABASE_URL's server (else the
embedded PostgreSQL), the fake OIDC provider, the Temporal dev server, `atlas serve`, `atlas worker`,
`atlas moyasar-fake` (webhooks to Atlas) and `atlas zatca-fake` (state in a temporary SQLite file), and onboards
Atlas's invoicing unit at the local gateway with `atlas zatca-onboard --otp 123345`.

Then, per phase, it signs up tenants through the identity provider and the onboarding wizard, saves each one's
billing profile with a VAT number and a complete Saudi address (`PUT /api/billing/profile`, so it gets **standard**
invoices), and starts their payments at a fixed offered rate, each the way a browser does it: a token from the
local Moyasar with its publishable key, `POST /api/payments`, the 3-D Secure page's Approve button, and the return
to Atlas's `GET /api/payments/callback` (the webhook arrives too). Each customer then polls
`GET /api/invoices/{id}/xml`, which answers 409 (`errors.einvoice_being_cleared`) until ZATCA cleared the invoice:
every `--poll` seconds for 5 s after the callback, then once a second.

Per invoice it reports:

- **paid → cleared**: the invoice's `issued_at` (the moment Atlas applied the paid payment, in its transaction) to
  the document's `einvoices.done_at` (the transaction that recorded ZATCA's clearance), both the server's clock;
- **customer**: from the start of the payment (before the token request) to the first 200 from the XML route
  (client clock, polled every `--poll` seconds), and the part of it up to the callback's answer;

as p50/p95/p99/max, the invoices cleared per second, and the load average. Phases:

1. `baseline`: `--tenants` payments at `--rate` per second, the gateway answering at once.
2. `outage`: the gateway's 5xx switch on (`POST /_fake/faults` server_error 503 on clearance, until cleared) for
   `--outage-seconds`, payments going on at `--rate` meanwhile (`--outage-tenants`, default rate × seconds), then
   off: the time from switching it off until every queued document is cleared, and the per-invoice figures.

The local gateway has no latency switch (`atlas/zatca_fake/faults.py`: refuse, server_error, hang — a hang answers
504 and processes nothing), so a delayed but successful answer is not measured. After each phase it checks the
chain: every document standard and cleared, ICVs 1..n without a gap, and each UUID accepted by the gateway exactly
once (`GET /_fake/documents`).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ADDRESS = {
    "street": "Prince Sultan St",
    "building_number": "1234",
    "additional_number": "5678",
    "district": "Al Rawdah",
    "city": "Jeddah",
    "postal_code": "23435",
    "country": "SA",
}
CARD = {"name": "Saleh Ali", "month": "12", "year": "2031", "cvc": "123", "number": "4111111111111111"}
WEBHOOK_SECRET = "atlas-bench-webhook-secret-0123456789"
OTP = "123345"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


@dataclass
class Payment:
    tenant_id: str
    client: Any
    started: float = 0.0  # client clock (time.time)
    paid_seen: float = 0.0  # the callback answered
    cleared_seen: float = 0.0  # the XML route answered 200
    invoice_id: str | None = None
    polls: int = 0
    error: str | None = None
    statuses: list[int] = field(default_factory=list)


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Any:
    from tests.services import stop_process

    handle = log.open("ab")
    child = subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        yield child
    finally:
        stop_process(child)
        handle.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=50, help="payments in the baseline phase")
    parser.add_argument("--rate", type=float, default=2.0, help="payments started per second")
    parser.add_argument("--outage-seconds", type=float, default=30.0, help="0 skips the outage phase")
    parser.add_argument("--outage-tenants", type=int, default=None, help="payments during the outage (rate × s)")
    parser.add_argument("--poll", type=float, default=0.1, help="seconds between a customer's polls (first 5 s)")
    args = parser.parse_args()
    if args.outage_tenants is None:
        args.outage_tenants = round(args.rate * args.outage_seconds)
    command = "DATABASE_URL=… .venv/bin/python " + shlex.join(["benchmarks/einvoice_clearance.py", *sys.argv[1:]])

    import httpx

    from tests.conftest import Atlas
    from tests.services import (
        WorkerProcess,
        atlas_serve_process,
        free_port,
        fresh_database,
        oidc_provider,
        postgres_server,
        temporal_server,
        wait_until,
    )

    folder = Path(tempfile.mkdtemp(prefix="atlas-clearance-bench-"))
    atlas_bin = str(Path(sys.executable).parent / "atlas")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, load average {load()}; logs in {folder}", flush=True)
    with (
        postgres_server() as pg,
        fresh_database(pg) as database_url,
        oidc_provider() as oidc_url,
        temporal_server() as temporal_address,
        ExitStack() as running,
    ):
        zatca_port, moyasar_port = free_port(), free_port()
        zatca = f"http://127.0.0.1:{zatca_port}"
        moyasar = f"http://127.0.0.1:{moyasar_port}"
        from atlas.billing.moyasar_fake.options import DEMO_PUBLISHABLE_KEY, DEMO_SECRET_KEY

        settings = {
            "DATABASE_URL": database_url,
            "OIDC_ISSUER": oidc_url,
            "TEMPORAL_ADDRESS": temporal_address,
            "TEMPORAL_TASK_QUEUE": "atlas-clearance-bench",
            "MOYASAR_BASE_URL": f"{moyasar}/v1",
            "MOYASAR_SECRET_KEY": DEMO_SECRET_KEY,
            "MOYASAR_PUBLISHABLE_KEY": DEMO_PUBLISHABLE_KEY,
            "MOYASAR_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "ATLAS_ZATCA_GATEWAY_URL": f"{zatca}/e-invoicing",
            "ATLAS_ALLOW_PRIVATE_NETWORKS": "true",
            "ATLAS_LOGIN_RATE_LIMIT": "1000000",
            "ATLAS_TOKEN_RATE_LIMIT": "1000000",
            "ATLAS_HOUSEKEEPING_SECONDS": "86400",
            "ATLAS_CONNECTOR_HEALTH_SECONDS": "86400",
            "ATLAS_APPROVAL_RECONCILE_SECONDS": "86400",
            "ATLAS_LOG_LEVEL": "WARNING",
        }
        env = {**os.environ, **settings, "ATLAS_ENV": "test"}
        running.enter_context(
            process(
                [atlas_bin, "zatca-fake", "--port", str(zatca_port), "--state-file", str(folder / "zatca.sqlite")],
                env,
                folder / "zatca-fake.log",
            )
        )
        wait_until(lambda: httpx.get(f"{zatca}/_fake/settings").status_code == 200, what="the local ZATCA gateway")
        base_url, _web_pid = running.enter_context(atlas_serve_process(settings))
        running.enter_context(
            process(
                [
                    atlas_bin,
                    "moyasar-fake",
                    "--port",
                    str(moyasar_port),
                    "--webhook-url",
                    f"{base_url}/api/webhooks/moyasar",
                    "--webhook-secret",
                    WEBHOOK_SECRET,
                    "--webhook-retry-seconds",
                    "0,1,5,30",
                    "--state-file",
                    str(folder / "moyasar.sqlite"),
                ],
                env,
                folder / "moyasar-fake.log",
            )
        )
        wait_until(lambda: httpx.get(f"{moyasar}/_fake/settings").status_code == 200, what="the local Moyasar")
        onboarded = subprocess.run(
            [atlas_bin, "zatca-onboard", "--otp", OTP, "--name", "Atlas bench unit"],
            env={**env, "ATLAS_BASE_URL": base_url},
            capture_output=True,
            text=True,
            check=False,
        )
        print(onboarded.stdout.strip(), onboarded.stderr.strip()[-500:], flush=True)
        if onboarded.returncode != 0:
            raise SystemExit("onboarding at the local gateway failed")
        worker = WorkerProcess(settings)
        worker.start()
        running.callback(worker.stop)
        atlas = Atlas(base_url, oidc_url, database_url)
        listening = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%einvoice_issued%'"
        wait_until(lambda: atlas.sql(listening)[0][0] > 0, timeout=90, what="the worker's listener")
        bench = Bench(atlas, httpx, zatca, moyasar, args)
        results = {"command": command, "phases": {}}
        results["phases"]["baseline"] = bench.phase("baseline", args.tenants)
        if args.outage_seconds > 0 and args.outage_tenants > 0:
            results["phases"]["outage"] = bench.phase("outage", args.outage_tenants, outage=args.outage_seconds)
        print(f"worker log: {worker.log}")
        print(json.dumps(results, default=str))


class Bench:
    def __init__(self, atlas: Any, httpx: Any, zatca: str, moyasar: str, args: argparse.Namespace) -> None:
        self.atlas, self.httpx, self.zatca, self.moyasar, self.args = atlas, httpx, zatca, moyasar, args
        self.counter = 0
        self.local = threading.local()

    def browser(self) -> Any:
        if not hasattr(self.local, "browser"):
            self.local.browser = self.httpx.Client(follow_redirects=False, timeout=60)
        return self.local.browser

    def tenants(self, count: int) -> list[Payment]:
        """Sign up `count` tenants (identity provider + wizard) with a VAT number and a complete Saudi address."""
        made: list[Payment] = []
        lock = threading.Lock()

        def one(index: int) -> None:
            client, me = self.atlas.new_tenant(name=f"Bench Trading {index}")
            vat = f"3{index:013d}3"
            profile = {
                "legal_name_ar": f"شركة المقارنة {index}",
                "legal_name_en": f"Bench Trading {index}",
                "vat_number": vat,
                **ADDRESS,
            }
            answer = client.put("/api/billing/profile", json=profile)
            if answer.status_code != 200:
                raise RuntimeError(f"billing profile: {answer.status_code} {answer.text[:300]}")
            with lock:
                made.append(Payment(me["tenant_id"], client))

        first = self.counter
        self.counter += count
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, range(first + 1, first + count + 1)))
        return made

    def pay(self, payment: Payment, due: float) -> None:
        from tests.billing.moyasar_helpers import complete_3ds

        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        try:
            payment.started = time.time()
            token = self.browser().post(
                f"{self.moyasar}/v1/tokens",
                json={**CARD, "save_only": True},
                auth=(self.atlas_publishable(), ""),
            )
            if token.status_code != 201:
                raise RuntimeError(f"token: {token.status_code} {token.text[:200]}")
            started = payment.client.post("/api/payments", json={"plan": "basic", "token": token.json()["id"]})
            if started.status_code != 201:
                raise RuntimeError(f"payment: {started.status_code} {started.text[:200]}")
            location = complete_3ds(started.json()["redirect_url"], "approve")
            back = self.httpx.URL(location)
            answer = payment.client.get(back.path, params=dict(back.params))
            if answer.status_code not in (302, 303) or "payment=paid" not in answer.headers.get("location", ""):
                raise RuntimeError(f"callback: {answer.status_code} {answer.headers.get('location')}")
            payment.paid_seen = time.time()
            listed = payment.client.get("/api/invoices").json()
            payment.invoice_id = listed[0]["id"]
            while True:
                got = payment.client.get(f"/api/invoices/{payment.invoice_id}/xml")
                payment.polls += 1
                if got.status_code == 200:
                    payment.cleared_seen = time.time()
                    return
                if got.status_code != 409 or got.json().get("code") not in (None, "errors.einvoice_being_cleared"):
                    payment.statuses.append(got.status_code)
                if time.time() - payment.started > 600:
                    raise RuntimeError("not cleared within 600 s")
                # a customer reloads often at first, then once a second (many waiting through an outage would
                # otherwise load the web server more than the payments do)
                time.sleep(self.args.poll if time.time() - payment.paid_seen < 5 else 1.0)
        except Exception as exc:  # a failed payment is counted and shown, not fatal to the run
            payment.error = f"{type(exc).__name__}: {exc}"

    def atlas_publishable(self) -> str:
        from atlas.billing.moyasar_fake.options import DEMO_PUBLISHABLE_KEY

        return DEMO_PUBLISHABLE_KEY

    def fault(self, method: str, **body: Any) -> None:
        answer = self.httpx.request(method, f"{self.zatca}/_fake/faults", json=body or None, timeout=30)
        if answer.status_code >= 300:
            raise RuntimeError(answer.text)

    def phase(self, name: str, count: int, *, outage: float = 0.0) -> dict[str, Any]:
        made_at = time.time()
        payments = self.tenants(count)
        print(f"[{name}] {count} tenants signed up with VAT number and address in {time.time() - made_at:.1f} s")
        load_before = load()
        switched_off: float | None = None
        began = time.time() + 0.5
        if outage:
            self.fault("POST", kind="server_error", status=503, path="invoices/clearance/single", times=-1)
            began = time.time()
        with ThreadPoolExecutor(len(payments)) as pool:  # one customer each, mostly asleep
            for index, payment in enumerate(payments):
                pool.submit(self.pay, payment, began + index / self.args.rate)
            if outage:
                time.sleep(max(0.0, began + outage - time.time()))
                self.fault("DELETE")
                switched_off = time.time()
                print(f"[{name}] 5xx switch off after {switched_off - began:.1f} s, load {load()}", flush=True)
        load_after = load()
        return self.report(name, payments, began, switched_off, load_before, load_after)

    def report(
        self,
        name: str,
        payments: list[Payment],
        began: float,
        switched_off: float | None,
        load_before: str,
        load_after: str,
    ) -> dict[str, Any]:
        failed = [p for p in payments if p.error]
        done = [p for p in payments if not p.error]
        tenants = [p.tenant_id for p in done]
        rows = self.atlas.sql(
            """SELECT i.tenant_id::text, i.issued_at, e.created_at, e.done_at, e.status, e.transaction, e.attempts,
                      e.icv, e.uuid::text, e.last_attempt_at
               FROM invoices i JOIN einvoices e ON e.invoice_id = i.id
               WHERE i.tenant_id::text = ANY(%s)""",
            (tenants,),
        )
        paid_to_cleared = [(r[3] - r[1]).total_seconds() for r in rows if r[3] is not None]
        issued_to_signed = [(r[2] - r[1]).total_seconds() for r in rows]
        # the last attempt's start: with one attempt, the dispatch (commit, NOTIFY, listener, Temporal, activity,
        # row lock) ends there and the gateway's round trip (sending, its checks, the answer's commit) begins
        issued_to_sent = [(r[9] - r[1]).total_seconds() for r in rows if r[9] is not None]
        sent_to_cleared = [(r[3] - r[9]).total_seconds() for r in rows if r[3] is not None and r[9] is not None]
        customer = [p.cleared_seen - p.started for p in done]
        customer_paid = [p.paid_seen - p.started for p in done]
        customer_after_paid = [p.cleared_seen - p.paid_seen for p in done]
        statuses = sorted({r[4] for r in rows})
        transactions = sorted({r[5] for r in rows})
        attempts = [r[6] for r in rows]
        # the whole chain so far: gapless, every document cleared once at the gateway
        chain = self.atlas.sql("SELECT icv, status, uuid::text FROM einvoices ORDER BY icv")
        icvs = [c[0] for c in chain]
        gapless = icvs == list(range(1, len(icvs) + 1))
        received = self.httpx.get(f"{self.zatca}/_fake/documents", params={"endpoint": "clearance"}, timeout=60)
        accepted: dict[str, int] = {}
        for document in received.json()["documents"]:
            if document["accepted"]:
                accepted[document["uuid"]] = accepted.get(document["uuid"], 0) + 1
        ours = [r[8] for r in rows]
        once = sum(1 for u in ours if accepted.get(u) == 1)
        twice = sum(1 for u in ours if accepted.get(u, 0) > 1)
        missing = sum(1 for u in ours if u not in accepted)
        first_issued = min(r[1] for r in rows) if rows else None
        last_done = max((r[3] for r in rows if r[3] is not None), default=None)
        result: dict[str, Any] = {
            "payments": len(payments),
            "failed_payments": len(failed),
            "offered_rate_per_second": self.args.rate,
            "documents": len(rows),
            "document_statuses": statuses,
            "transactions": transactions,
            "chain_icvs_gapless": gapless,
            "chain_length": len(icvs),
            "accepted_at_gateway_once": once,
            "accepted_twice": twice,
            "not_at_gateway": missing,
            "submission_attempts_max": max(attempts, default=0),
        }

        def spread(key: str, values: list[float]) -> None:
            if values:
                result[f"{key}_p50_s"] = round(statistics.median(values), 3)
                result[f"{key}_p95_s"] = round(percentile(values, 0.95), 3)
                result[f"{key}_p99_s"] = round(percentile(values, 0.99), 3)
                result[f"{key}_max_s"] = round(max(values), 3)

        spread("paid_to_cleared", paid_to_cleared)
        spread("issued_to_signed", issued_to_signed)
        spread("issued_to_last_attempt", issued_to_sent)
        spread("last_attempt_to_cleared", sent_to_cleared)
        spread("customer_start_to_cleared", customer)
        spread("customer_start_to_paid", customer_paid)
        spread("customer_paid_to_cleared_seen", customer_after_paid)
        if first_issued and last_done:
            window = (last_done - first_issued).total_seconds()
            result["cleared_per_second"] = round(len(paid_to_cleared) / window, 2) if window > 0 else None
            result["first_paid_to_last_cleared_s"] = round(window, 2)
        if switched_off is not None and last_done is not None:
            off = datetime.fromtimestamp(switched_off, UTC)
            result["outage_s"] = round(switched_off - began, 1)
            result["queued_at_switch_off"] = sum(1 for r in rows if r[1] <= off and (r[3] is None or r[3] > off))
            result["issued_after_switch_off"] = sum(1 for r in rows if r[1] > off)
            result["switch_off_to_all_cleared_s"] = round((last_done - off).total_seconds(), 2)
            first_after = min((r[3] for r in rows if r[3] is not None and r[3] > off), default=None)
            if first_after is not None:
                result["switch_off_to_first_cleared_s"] = round((first_after - off).total_seconds(), 2)
        result["customer_polls_per_invoice_mean"] = round(statistics.mean(p.polls for p in done), 1) if done else 0
        result["odd_poll_statuses"] = sorted({s for p in done for s in p.statuses})
        result["load_average_before"] = load_before
        result["load_average_after"] = load_after
        print(f"--- {name} ---")
        for key, value in result.items():
            print(f"{key:40} {value}")
        if failed:
            print("first failures:", [p.error for p in failed[:3]])
        return result


if __name__ == "__main__":
    main()
