"""The local Moyasar as a real HTTP server: auth, CORS, tokens, payments and test cards, 3-D Secure, webhooks,
the state machine, faults and the state file (moyasar.md section 9)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from atlas.billing.moyasar_fake.cards import SANDBOX_CARDS, brand_of, luhn_valid
from atlas.billing.moyasar_fake.options import FakeOptions, Switches, parse_retry_seconds
from atlas.i18n import catalogue
from tests.billing.moyasar_helpers import (
    APPROVED_MADA,
    APPROVED_VISA,
    CARD,
    Receiver,
    StandIn,
    callback_params,
    complete_3ds,
    moyasar_stand_in,
    receiver,
)
from tests.services import wait_until

WEBHOOK_SECRET = "whsec-test-0123456789abcdef"


@pytest.fixture(scope="module")
def hooks() -> Iterator[Receiver]:
    with receiver() as app:
        yield app


@pytest.fixture(scope="module")
def server(hooks: Receiver) -> Iterator[StandIn]:
    with moyasar_stand_in(webhook_url=f"{hooks.url}/api/webhooks/moyasar", webhook_secret=WEBHOOK_SECRET) as running:
        yield running


@pytest.fixture
def moyasar(server: StandIn, hooks: Receiver) -> StandIn:
    """The module's stand-in, reset: no payments, tokens, faults or events; switches as started."""
    # Let the last test's webhook deliveries finish first, so none lands in this test's receiver.
    wait_until(lambda: server.admin("GET", "events")["idle"], what="webhook deliveries")
    server.reset()
    server.switch(webhook_retry_seconds=[0.0, 0.3, 0.3])
    hooks.clear()
    return server


def callback(hooks: Receiver, **params: str) -> str:
    return f"{hooks.url}/api/payments/callback" + (f"?{httpx.QueryParams(params)}" if params else "")


def card_payment(moyasar: StandIn, hooks: Receiver, number: str, **overrides: object) -> httpx.Response:
    source = {"type": "creditcard", **CARD, "number": number, **overrides.pop("source", {})}  # type: ignore[dict-item]
    body = {"amount": 34385, "currency": "SAR", "callback_url": callback(hooks), "source": source, **overrides}
    with moyasar.http() as http:
        return http.post("/payments", json=body)


def token_payment(moyasar: StandIn, hooks: Receiver, token: str, **overrides: object) -> httpx.Response:
    source = {"type": "token", "token": token, **overrides.pop("source", {})}  # type: ignore[dict-item]
    body = {"amount": 34385, "callback_url": callback(hooks), "source": source, **overrides}
    with moyasar.http() as http:
        return http.post("/payments", json=body)


# --- auth and CORS ---------------------------------------------------------------------------------------------


def test_basic_auth_with_the_key_as_user_name_and_the_publishable_key_only_where_allowed(moyasar, hooks):
    unauthorised = {"type": "authentication_error", "message": "Invalid authorization credentials", "errors": None}
    plain = httpx.Client(base_url=moyasar.api)
    assert plain.get("/payments").status_code == 401
    assert plain.get("/payments").json() == unauthorised
    assert plain.get("/payments", auth=("sk_test_wrong", "")).json() == unauthorised
    assert plain.get("/payments", auth=(moyasar.secret_key, "a-password")).status_code == 401
    assert plain.get("/payments", headers={"Authorization": "Bearer " + moyasar.secret_key}).status_code == 401
    assert plain.get("/payments", headers={"Authorization": "Basic !!not-base64"}).status_code == 401
    assert plain.get("/payments", auth=(moyasar.secret_key, "")).status_code == 200

    with moyasar.http(moyasar.publishable_key) as browser:
        for method, path in [("GET", "/payments"), ("GET", "/payments/x"), ("GET", "/tokens/x"), ("GET", "/webhooks")]:
            answer = browser.request(method, path)
            assert answer.status_code == 403, (method, path)
            assert answer.json()["type"] == "authentication_error"
        assert browser.post("/tokens", json={**CARD, "number": APPROVED_VISA, "save_only": True}).status_code == 201
    assert card_payment(moyasar, hooks, APPROVED_VISA).status_code == 201  # sk creates payments too
    with moyasar.http(moyasar.publishable_key) as browser:
        body = {"amount": 100, "callback_url": callback(hooks), "source": {"type": "creditcard", **CARD}}
        body["source"]["number"] = APPROVED_MADA  # type: ignore[index]
        assert browser.post("/payments", json=body).status_code == 201


def test_cors_lets_a_local_atlas_page_call_the_publishable_key_endpoints(moyasar):
    preflight = {
        "Origin": "http://127.0.0.1:8000",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    answer = httpx.options(f"{moyasar.api}/tokens", headers=preflight)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()
    # The actual request and its errors carry the header too, so the page can read Moyasar's message.
    refused = httpx.post(
        f"{moyasar.api}/tokens",
        json={},
        auth=(moyasar.publishable_key, ""),
        headers={"Origin": "http://localhost:8200"},
    )
    assert refused.status_code == 400
    assert refused.headers["access-control-allow-origin"] == "http://localhost:8200"
    foreign = httpx.options(f"{moyasar.api}/tokens", headers={**preflight, "Origin": "https://evil.example"})
    assert foreign.headers.get("access-control-allow-origin") is None


def test_cors_origins_can_be_configured():
    with moyasar_stand_in(allowed_origins=("https://atlas.example.sa",)) as running:
        ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        ok = httpx.options(f"{running.api}/tokens", headers={**ask, "Origin": "https://atlas.example.sa"})
        assert ok.headers["access-control-allow-origin"] == "https://atlas.example.sa"
        local = httpx.options(f"{running.api}/tokens", headers={**ask, "Origin": "http://127.0.0.1:8000"})
        assert local.headers.get("access-control-allow-origin") is None


# --- tokens ----------------------------------------------------------------------------------------------------


def test_token_validation_answers_every_bad_field_in_the_envelope(moyasar):
    bad = {"name": "Saleh", "number": "4111111111111112", "month": 13, "year": "1999", "cvc": "12"}
    with moyasar.http(moyasar.publishable_key) as browser:
        answer = browser.post("/tokens", json=bad)
        assert answer.status_code == 400
        body = answer.json()
        assert body["type"] == "invalid_request_error" and body["message"] == "Validation Failed"
        assert set(body["errors"]) == {"callback_url", "name", "number", "month", "year", "cvc"}
        expired = browser.post("/tokens", json={**CARD, "number": APPROVED_VISA, "year": "2020", "save_only": True})
        assert expired.json()["errors"] == {"year": ["card is expired"]}
        amex_cvc = browser.post("/tokens", json={**CARD, "number": "378282246310005", "save_only": True})
        assert amex_cvc.json()["errors"] == {"cvc": ["must be 4 digits"]}
        assert "4111111111111112" not in answer.text  # the card number is never echoed
        moyasar.switch(bare_token_errors=True, validation_error_type="validation_error")
        bare = browser.post("/tokens", json=bad)
        assert bare.status_code == 400 and bare.json() == {"message": "Validation Failed"}
        not_json = browser.post("/tokens", content=b"{not json", headers={"Content-Type": "application/json"})
        assert not_json.status_code == 400


def test_a_default_token_is_verified_on_its_own_3ds_page_before_it_can_be_charged(moyasar, hooks):
    token = moyasar.token(APPROVED_MADA, save_only=False, callback_url=callback(hooks, step="card"))
    assert token["status"] == "initiated" and token["brand"] == "mada" and token["last_four"] == "1010"
    assert token["verification_url"].startswith(moyasar.url)
    refused = token_payment(moyasar, hooks, token["id"])
    assert refused.status_code == 400 and "not verified" in refused.json()["message"]
    page = httpx.get(token["verification_url"])
    assert "1.00 SAR" in page.text
    location = complete_3ds(token["verification_url"])
    params = callback_params(location)
    assert params == {"step": "card", "id": token["id"], "status": "active", "message": "APPROVED"}
    with moyasar.http() as http:
        fetched = http.get(f"/tokens/{token['id']}").json()
    assert fetched["status"] == "active" and fetched["verification_url"] is None
    paid = token_payment(moyasar, hooks, token["id"])
    assert paid.json()["status"] == "paid" and paid.json()["source"]["transaction_url"] is None


def test_tokens_can_be_fetched_and_deleted_with_the_secret_key(moyasar, hooks):
    token = moyasar.token(APPROVED_VISA)
    with moyasar.http() as http:
        assert http.get(f"/tokens/{token['id']}").json()["name"] == "Saleh Ali"
        assert http.delete(f"/tokens/{token['id']}").status_code == 204
        gone = http.get(f"/tokens/{token['id']}")
        assert gone.status_code == 404 and gone.json()["message"] == "Object not found"
        assert http.delete(f"/tokens/{token['id']}").status_code == 404
    assert token_payment(moyasar, hooks, token["id"]).json()["errors"] == {"source.token": ["is invalid"]}


# --- payments and the test cards ------------------------------------------------------------------------------


def test_every_listed_test_card_is_a_valid_number_of_its_brand():
    for number in SANDBOX_CARDS:
        assert luhn_valid(number), number
        assert brand_of(number) == ("mada" if number.startswith("420132") else "visa" if number[0] == "4" else "master")


@pytest.mark.parametrize("number", sorted(SANDBOX_CARDS))
def test_each_test_card_decides_a_payment_without_3ds_at_once_and_a_declined_one_is_still_201(moyasar, hooks, number):
    expected = SANDBOX_CARDS[number].outcome
    answer = card_payment(moyasar, hooks, number, source={"3ds": False})
    assert answer.status_code == 201
    payment = answer.json()
    assert (payment["status"], payment["source"]["message"]) == (expected.status, expected.message)
    assert payment["source"]["response_code"] == expected.code
    assert payment["source"]["number"] == "XXXX-XXXX-XXXX-" + number[-4:]
    assert payment["source"]["company"] == brand_of(number)
    assert number not in answer.text


def test_an_unlisted_card_fails_unless_the_old_docs_behaviour_is_switched_on(moyasar, hooks):
    unlisted = "4000000000000002"
    assert card_payment(moyasar, hooks, unlisted, source={"3ds": False}).json()["status"] == "failed"
    moyasar.switch(unknown_card_outcome="paid")
    assert card_payment(moyasar, hooks, unlisted, source={"3ds": False}).json()["status"] == "paid"


def test_payment_validation_collects_every_field_error(moyasar, hooks):
    with moyasar.http() as http:
        answer = http.post("/payments", json={"amount": 99.5, "currency": "riyal", "given_id": "nope", "source": {}})
        assert answer.status_code == 400
        assert set(answer.json()["errors"]) == {"amount", "currency", "given_id", "source", "callback_url"}
        small = http.post("/payments", json={"amount": 99, "callback_url": callback(hooks), "source": {"type": "x"}})
        assert set(small.json()["errors"]) == {"amount", "source.type"}
        text = http.post(
            "/payments", json={"amount": "343.85", "callback_url": "ftp://x", "source": {"type": "stcpay"}}
        )
        assert set(text.json()["errors"]) == {"amount", "callback_url", "source.type"}
        assert "not available in the local stand-in" in text.json()["errors"]["source.type"][0]
        metadata = {f"k{i}": "v" for i in range(31)}
        many = http.post("/payments", json={"amount": 100, "callback_url": callback(hooks), "metadata": metadata})
        assert "metadata" in many.json()["errors"]
        not_object = http.post("/payments", json=[1, 2])
        assert not_object.status_code == 400 and not_object.json()["type"] == "invalid_request_error"
    moyasar.switch(validation_error_type="validation_error")
    with moyasar.http() as http:
        assert http.post("/payments", json={}).json()["type"] == "validation_error"


def test_form_encoded_bodies_in_moyasars_bracket_style_work_too(moyasar, hooks):
    fields = {
        "amount": "1000",
        "callback_url": callback(hooks),
        "source[type]": "creditcard",
        "source[name]": "Saleh Ali",
        "source[number]": APPROVED_VISA,
        "source[month]": "12",
        "source[year]": "2031",
        "source[cvc]": "123",
        "source[3ds]": "false",
        "metadata[plan]": "basic",
    }
    with moyasar.http() as http:
        payment = http.post("/payments", data=fields).json()
    assert payment["status"] == "paid" and payment["amount"] == 1000 and payment["metadata"] == {"plan": "basic"}


def test_given_id_becomes_the_id_and_a_second_use_is_refused_or_replayed(moyasar, hooks):
    given = str(uuid.uuid4())
    first = card_payment(moyasar, hooks, APPROVED_VISA, given_id=given, source={"3ds": False})
    assert first.status_code == 201 and first.json()["id"] == given
    again = card_payment(moyasar, hooks, APPROVED_VISA, given_id=given, source={"3ds": False})
    assert again.status_code == 400
    assert again.json() == {
        "type": "used_given_id",
        "message": "The given_id provided has been already used with a different payment.",
        "errors": None,
    }
    moyasar.switch(given_id_replay=True)
    replayed = card_payment(moyasar, hooks, APPROVED_VISA, given_id=given, source={"3ds": False})
    assert replayed.status_code == 201 and replayed.json() == first.json()
    with moyasar.http() as http:
        assert http.get("/payments").json()["meta"]["total_count"] == 1


# --- 3-D Secure ------------------------------------------------------------------------------------------------


def test_the_3ds_page_says_it_is_a_test_stand_in_in_both_languages_and_redirects_with_the_result(moyasar, hooks):
    payment = card_payment(moyasar, hooks, APPROVED_VISA, callback_url=callback(hooks, plan="basic"))
    body = payment.json()
    assert payment.status_code == 201 and body["status"] == "initiated"
    page = httpx.get(body["source"]["transaction_url"])
    assert page.status_code == 200
    strings = catalogue()
    for key in ("moyasar_fake.banner", "moyasar_fake.approve", "moyasar_fake.decline"):
        for lang in ("ar", "en"):
            assert strings[key][lang] in page.text
    assert "TEST STAND-IN" in page.text and "343.85 SAR" in page.text and "XXXX-XXXX-XXXX-1111" in page.text
    assert 'data-testid="3ds-approve"' in page.text and 'data-testid="3ds-decline"' in page.text
    assert APPROVED_VISA not in page.text

    location = complete_3ds(body["source"]["transaction_url"])
    assert location.startswith(callback(hooks))
    assert callback_params(location) == {"plan": "basic", "id": body["id"], "status": "paid", "message": "APPROVED"}
    httpx.get(location)  # the browser follows the redirect to Atlas
    assert hooks.gets[-1]["url"] == location.removeprefix(hooks.url)
    # Reloading the page after the answer sends the browser on again; nothing changes.
    again = httpx.get(body["source"]["transaction_url"])
    assert again.status_code == 302 and again.headers["location"] == location
    with moyasar.http() as http:
        fetched = http.get(f"/payments/{body['id']}").json()
    assert fetched["status"] == "paid" and fetched["source"]["transaction_url"] is None
    assert fetched["source"]["authorization_code"] and fetched["fee"] > 0


def test_declining_the_challenge_fails_the_payment(moyasar, hooks):
    body = card_payment(moyasar, hooks, APPROVED_MADA).json()
    params = callback_params(complete_3ds(body["source"]["transaction_url"], "decline"))
    assert params["status"] == "failed" and params["message"] == "3DS: Authentication error occurred."


@pytest.mark.parametrize("number", ["4201320000311101", "4111112205628150", "5105105105105100"])
def test_approving_the_challenge_of_a_card_the_table_fails_still_fails_with_its_message(moyasar, hooks, number):
    body = card_payment(moyasar, hooks, number).json()
    params = callback_params(complete_3ds(body["source"]["transaction_url"], "approve"))
    assert (params["status"], params["message"]) == ("failed", SANDBOX_CARDS[number].outcome.message)


def test_a_frictionless_card_passes_3ds_without_a_challenge(moyasar, hooks):
    body = card_payment(moyasar, hooks, "4111114005765430").json()
    answer = httpx.get(body["source"]["transaction_url"])
    assert answer.status_code == 302 and callback_params(answer.headers["location"])["status"] == "paid"


def test_an_unknown_challenge_link_is_a_bilingual_404_page(moyasar):
    answer = httpx.get(f"{moyasar.api}/transaction_auths/nothing-here/form")
    assert answer.status_code == 404 and 'data-testid="3ds-unknown"' in answer.text
    bad = httpx.post(f"{moyasar.api}/transaction_auths/nothing-here/form", data={"decision": "maybe"})
    assert bad.status_code == 400


def test_the_page_uses_only_catalogue_keys_that_exist():
    template = Path("atlas/billing/moyasar_fake/templates/three_ds.html").read_text(encoding="utf-8")
    keys = set(re.findall(r"""t\("([a-z0-9_.]+)\"""", template))
    assert keys and keys <= set(catalogue())


# --- the token flow Atlas relies on --------------------------------------------------------------------------


def test_a_save_only_token_is_charged_once_with_3ds_then_active_for_renewals(moyasar, hooks):
    token = moyasar.token(APPROVED_VISA)
    assert token["status"] == "initiated" and token["verification_url"] is None
    first = token_payment(moyasar, hooks, token["id"], source={"3ds": False}).json()
    assert first["status"] == "initiated", "a save_only token always gets 3-D Secure"
    assert first["source"]["token"] == token["id"]
    twice = token_payment(moyasar, hooks, token["id"])
    assert twice.status_code == 400 and "one payment only" in twice.json()["message"]
    complete_3ds(first["source"]["transaction_url"])
    with moyasar.http() as http:
        assert http.get(f"/tokens/{token['id']}").json()["status"] == "active"
    renewal = token_payment(moyasar, hooks, token["id"]).json()
    assert renewal["status"] == "paid" and renewal["source"]["transaction_url"] is None
    asked = token_payment(moyasar, hooks, token["id"], source={"3ds": True}).json()
    assert asked["status"] == "initiated" and asked["source"]["transaction_url"]


def test_a_save_only_token_whose_payment_fails_is_inactive(moyasar, hooks):
    token = moyasar.token(APPROVED_VISA)
    first = token_payment(moyasar, hooks, token["id"], source={"3ds": True}).json()
    complete_3ds(first["source"]["transaction_url"], "decline")
    with moyasar.http() as http:
        assert http.get(f"/tokens/{token['id']}").json()["status"] == "inactive"
    refused = token_payment(moyasar, hooks, token["id"])
    assert refused.status_code == 400 and "inactive" in refused.json()["message"]


def test_the_single_use_reading_of_save_only_is_a_switch(moyasar, hooks):
    moyasar.switch(save_only_reusable=False)
    token = moyasar.token(APPROVED_VISA)
    first = token_payment(moyasar, hooks, token["id"], source={"3ds": True}).json()
    assert callback_params(complete_3ds(first["source"]["transaction_url"]))["status"] == "paid"
    with moyasar.http() as http:
        assert http.get(f"/tokens/{token['id']}").json()["status"] == "inactive"
    assert token_payment(moyasar, hooks, token["id"]).status_code == 400


def test_save_card_on_a_card_payment_issues_a_token_at_once_that_turns_active(moyasar, hooks):
    body = card_payment(moyasar, hooks, APPROVED_MADA, source={"save_card": True}).json()
    token_id = body["source"]["token"]
    assert token_id.startswith("token_") and body["status"] == "initiated"
    with moyasar.http() as http:
        assert http.get(f"/tokens/{token_id}").json()["status"] == "initiated"
        complete_3ds(body["source"]["transaction_url"])
        assert http.get(f"/tokens/{token_id}").json()["status"] == "active"


def test_tokens_can_be_aged_for_renewal_tests_and_an_issuer_can_force_a_challenge(moyasar, hooks):
    token = moyasar.token(APPROVED_VISA)
    complete_3ds(token_payment(moyasar, hooks, token["id"], source={"3ds": True}).json()["source"]["transaction_url"])
    moyasar.fault(kind="challenge")
    challenged = token_payment(moyasar, hooks, token["id"]).json()
    assert challenged["status"] == "initiated" and challenged["source"]["transaction_url"]
    moyasar.fault(kind="decline", message="INSUFFICIENT FUNDS", code="51", times=2)
    assert [token_payment(moyasar, hooks, token["id"]).json()["source"]["message"] for _ in range(3)] == [
        "INSUFFICIENT FUNDS",
        "INSUFFICIENT FUNDS",
        "APPROVED",
    ]
    moyasar.admin("POST", f"tokens/{token['id']}/status", json={"status": "expired"})
    assert "expired" in token_payment(moyasar, hooks, token["id"]).json()["message"]


# --- after the payment ----------------------------------------------------------------------------------------


def test_refund_capture_and_void_follow_the_state_machine(moyasar, hooks):
    paid = card_payment(moyasar, hooks, APPROVED_VISA, amount=10_000, source={"3ds": False}).json()
    failed = card_payment(moyasar, hooks, "4201320000311101", source={"3ds": False}).json()
    with moyasar.http() as http:
        assert http.post(f"/payments/{failed['id']}/refund").status_code == 400
        assert http.post(f"/payments/{paid['id']}/capture").status_code == 400
        too_much = http.post(f"/payments/{paid['id']}/refund", json={"amount": 10_001})
        assert too_much.status_code == 400 and "amount" in too_much.json()["errors"]
        partial = http.post(f"/payments/{paid['id']}/refund", json={"amount": 2_500}).json()
        assert (partial["status"], partial["refunded"], partial["refunded_format"]) == ("paid", 2_500, "25.00 SAR")
        rest = http.post(f"/payments/{paid['id']}/refund").json()
        assert (rest["status"], rest["refunded"]) == ("refunded", 10_000)
        assert http.post(f"/payments/{paid['id']}/refund").status_code == 400
        assert http.post(f"/payments/{paid['id']}/void").status_code == 400
        assert http.post(f"/payments/{paid['id']}/unknown").status_code == 404

    manual = card_payment(moyasar, hooks, APPROVED_VISA, amount=5_000, source={"manual": True}).json()
    complete_3ds(manual["source"]["transaction_url"])
    with moyasar.http() as http:
        assert http.get(f"/payments/{manual['id']}").json()["status"] == "authorized"
        captured = http.post(f"/payments/{manual['id']}/capture", json={"amount": 4_000}).json()
        assert (captured["status"], captured["captured"]) == ("captured", 4_000)
        voided = http.post(f"/payments/{manual['id']}/void").json()
        assert voided["status"] == "voided" and voided["voided_at"]

    moyasar.switch(partial_refund_status="refunded")
    other = card_payment(moyasar, hooks, APPROVED_VISA, source={"3ds": False}).json()
    with moyasar.http() as http:
        assert http.post(f"/payments/{other['id']}/refund", json={"amount": 100}).json()["status"] == "refunded"
        assert http.post(f"/payments/{other['id']}/refund", json={"amount": 100}).json()["refunded"] == 200


def test_fetch_update_and_list_with_pages_and_filters(moyasar, hooks):
    start = datetime.now(UTC) - timedelta(seconds=1)
    ids = [
        card_payment(
            moyasar, hooks, APPROVED_VISA, amount=100 + i, metadata={"n": str(i)}, source={"3ds": False}
        ).json()["id"]
        for i in range(43)
    ]
    failed = card_payment(moyasar, hooks, "4201320000013020", source={"3ds": False}).json()
    with moyasar.http() as http:
        first = http.get("/payments").json()
        assert len(first["payments"]) == 40 and first["payments"][0]["id"] == failed["id"]
        assert first["meta"] == {
            "current_page": 1,
            "next_page": 2,
            "prev_page": None,
            "total_pages": 2,
            "total_count": 44,
        }
        second = http.get("/payments", params={"page": 2}).json()
        assert [p["id"] for p in second["payments"]] == ids[:4][::-1] and second["meta"]["next_page"] is None
        assert http.get("/payments", params={"status": "failed"}).json()["meta"]["total_count"] == 1
        assert [p["id"] for p in http.get("/payments", params={"metadata[n]": "7"}).json()["payments"]] == [ids[7]]
        later = http.get("/payments", params={"updated[gt]": start.isoformat()}).json()
        assert later["meta"]["total_count"] == 44
        future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert http.get("/payments", params={"created[gt]": future}).json()["meta"]["total_count"] == 0
        assert http.get("/payments", params={"page": 0}).status_code == 400

        missing = http.get(f"/payments/{uuid.uuid4()}")
        assert missing.status_code == 404 and missing.json()["type"] == "record_not_found"
        updated = http.put(f"/payments/{ids[0]}", json={"description": "Atlas Basic", "metadata": {"n": "", "x": 1}})
        assert updated.json()["description"] == "Atlas Basic" and updated.json()["metadata"] == {"x": "1"}
        refused = http.put(f"/payments/{ids[0]}", json={"amount": 1})
        assert refused.status_code == 400 and refused.json()["errors"] == {
            "amount": ["cannot be changed (only description and metadata can)"]
        }


# --- webhooks --------------------------------------------------------------------------------------------------


def test_every_status_change_is_posted_with_the_shared_secret_and_the_payment(moyasar, hooks):
    body = card_payment(moyasar, hooks, APPROVED_VISA, metadata={"tenant_id": "t1"}).json()
    complete_3ds(body["source"]["transaction_url"])
    [event] = hooks.wait_for(1)
    assert set(event) == {"id", "type", "created_at", "secret_token", "account_name", "live", "data"}
    assert event["type"] == "payment_paid" and event["secret_token"] == WEBHOOK_SECRET and event["live"] is False
    with moyasar.http() as http:
        assert event["data"] == http.get(f"/payments/{body['id']}").json()
        http.post(f"/payments/{body['id']}/refund")
    assert [e["type"] for e in hooks.wait_for(2)] == ["payment_paid", "payment_refunded"]
    declined = card_payment(moyasar, hooks, "4201320000311101", source={"3ds": False}).json()
    third = hooks.wait_for(3)[2]
    assert third["type"] == "payment_failed" and third["data"]["id"] == declined["id"]
    assert all(len(hooks.posts[0]["headers"].get("user-agent", "")) > 0 for _ in hooks.posts)


def test_a_failing_receiver_gets_retries_with_the_same_event_id(moyasar, hooks):
    hooks.fail_with = [500, 503]
    card_payment(moyasar, hooks, APPROVED_VISA, source={"3ds": False})
    [event] = hooks.wait_for(1)
    assert [p["body"]["id"] for p in hooks.posts] == [event["id"]] * 3
    [record] = moyasar.events()
    assert [(a["retry_number"], a["result"], a["response_code"]) for a in record["attempts"]] == [
        (0, "failed", 500),
        (1, "failed", 503),
        (2, "success", 200),
    ]


def test_an_event_is_dropped_after_the_last_retry(moyasar, hooks):
    hooks.fail_with = [500] * 10
    card_payment(moyasar, hooks, APPROVED_VISA, source={"3ds": False})
    wait_until(lambda: moyasar.admin("GET", "events")["idle"] and len(hooks.posts) >= 3, what="retries")
    [record] = moyasar.events()
    assert [a["result"] for a in record["attempts"]] == ["failed"] * 3 and hooks.events() == []
    with moyasar.http() as http:
        attempts = http.get("/webhooks/attempts").json()
    assert attempts["meta"]["total_count"] == 3 and attempts["webhook_attempts"][0]["retry_number"] == 2


def test_webhook_faults_duplicates_wrong_secret_live_flag_old_spelling_and_redelivery(moyasar, hooks):
    moyasar.switch(
        webhook_duplicates=2, webhook_wrong_secret=True, webhook_live=True, failed_event_name="payment_faild"
    )
    card_payment(moyasar, hooks, "4201321234411220", source={"3ds": False})
    first, second = hooks.wait_for(2)
    assert first["id"] == second["id"] and first["type"] == "payment_faild"
    assert first["secret_token"] != WEBHOOK_SECRET and first["live"] is True
    moyasar.switch(webhook_duplicates=1, webhook_wrong_secret=False, webhook_live=False)
    moyasar.admin("POST", f"events/{first['id']}/redeliver")
    third = hooks.wait_for(3)[2]
    assert third["id"] == first["id"] and third["secret_token"] == WEBHOOK_SECRET


def test_held_events_can_be_released_out_of_order(moyasar, hooks):
    moyasar.switch(webhook_hold=True)
    body = card_payment(moyasar, hooks, APPROVED_VISA, source={"3ds": False}).json()
    with moyasar.http() as http:
        http.post(f"/payments/{body['id']}/refund")
    assert moyasar.admin("GET", "events")["held"] == 2 and hooks.posts == []
    assert moyasar.admin("POST", "webhooks/release", json={"order": "reverse"}) == {"released": 2}
    assert [e["type"] for e in hooks.wait_for(2)] == ["payment_refunded", "payment_paid"]


def test_webhooks_are_managed_through_the_api(moyasar, hooks):
    with moyasar.http() as http:
        listed = http.get("/webhooks").json()["webhooks"]
        assert [w["url"] for w in listed] == [f"{hooks.url}/api/webhooks/moyasar"]
        assert "shared_secret" not in listed[0]
        created = http.post(
            "/webhooks", json={"url": f"{hooks.url}/second", "shared_secret": "s2", "events": ["payment_refunded"]}
        )
        assert created.status_code == 201
        webhook = created.json()
        assert http.get(f"/webhooks/{webhook['id']}").json()["events"] == ["payment_refunded"]
        assert http.post("/webhooks", json={"url": "nope", "events": ["x"]}).json()["errors"].keys() == {
            "url",
            "shared_secret",
            "events",
        }
        assert "payment_paid" in http.get("/webhooks/available_events").json()["events"]
        paid = card_payment(moyasar, hooks, APPROVED_VISA, source={"3ds": False}).json()
        http.post(f"/payments/{paid['id']}/refund")
        events = hooks.wait_for(3)
        to_second = [p["body"] for p in hooks.posts if p["body"]["secret_token"] == "s2"]
        assert [e["type"] for e in to_second] == ["payment_refunded"] and len(events) == 3
        assert http.delete(f"/webhooks/{webhook['id']}").json() == {"success": True}
        assert http.get(f"/webhooks/{webhook['id']}").status_code == 404


# --- faults ----------------------------------------------------------------------------------------------------


def test_http_faults_hit_the_matching_requests_only(moyasar, hooks):
    moyasar.fault(kind="rate_limit", method="GET", path="/v1/payments", retry_after=2)
    with moyasar.http() as http:
        limited = http.get("/payments")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
        assert limited.json() == {"type": "rate_limit_error", "message": "Too many requests, slow down", "errors": None}
        assert http.get("/payments").status_code == 200
        moyasar.fault(kind="server_error", status=503, path="/v1/payments*", times=2)
        assert [http.get("/payments").status_code for _ in range(3)] == [503, 503, 200]
        moyasar.fault(kind="html")
        blocked = http.get("/payments")
        assert blocked.status_code == 403 and blocked.headers["content-type"].startswith("text/html")
        moyasar.fault(kind="bad_json", path="/v1/payments")
        with pytest.raises(ValueError):
            http.get("/payments").json()
        moyasar.fault(kind="respond", status=400, body={"message": "bare"})
        assert http.get("/payments").json() == {"message": "bare"}
    assert moyasar.admin("GET", "faults") == {"faults": []}
    refused = httpx.post(f"{moyasar.url}/_fake/faults", json={"kind": "meteor"})
    assert refused.status_code == 400


def test_a_dropped_connection_after_commit_leaves_the_payment_created(moyasar, hooks):
    given = str(uuid.uuid4())
    moyasar.fault(kind="drop_after_commit", method="POST", path="/v1/payments")
    with pytest.raises(httpx.HTTPError):
        card_payment(moyasar, hooks, APPROVED_VISA, given_id=given, source={"3ds": False})
    with moyasar.http() as http:
        assert http.get(f"/payments/{given}").json()["status"] == "paid"
    lost = str(uuid.uuid4())
    moyasar.fault(kind="drop_before_commit", method="POST", path="/v1/payments")
    with pytest.raises(httpx.HTTPError):
        card_payment(moyasar, hooks, APPROVED_VISA, given_id=lost, source={"3ds": False})
    with moyasar.http() as http:
        assert http.get(f"/payments/{lost}").status_code == 404


def test_a_slow_answer_times_out_the_caller(moyasar):
    moyasar.fault(kind="slow", seconds=1.5, path="/v1/payments")
    with httpx.Client(base_url=moyasar.api, auth=(moyasar.secret_key, ""), timeout=0.3) as http:
        with pytest.raises(httpx.TimeoutException):
            http.get("/payments")


# --- state file, options, CLI ----------------------------------------------------------------------------------


def test_a_state_file_keeps_tokens_payments_and_webhooks_across_restarts(tmp_path, hooks):
    state = tmp_path / "moyasar.sqlite"
    with moyasar_stand_in(state_file=state) as first:
        token = first.token(APPROVED_VISA)
        with first.http() as http:
            body = {"amount": 34385, "callback_url": callback(hooks), "source": {"type": "token", "token": token["id"]}}
            payment = http.post("/payments", json=body).json()
            complete_3ds(payment["source"]["transaction_url"])
            http.post("/webhooks", json={"url": f"{hooks.url}/kept", "shared_secret": "kept"})
    with moyasar_stand_in(state_file=state) as second:
        with second.http() as http:
            assert http.get(f"/payments/{payment['id']}").json()["status"] == "paid"
            assert http.get(f"/tokens/{token['id']}").json()["status"] == "active"
            assert [w["url"] for w in http.get("/webhooks").json()["webhooks"]] == [f"{hooks.url}/kept"]
            renewal = {**body, "given_id": str(uuid.uuid4())}
            assert http.post("/payments", json=renewal).json()["status"] == "paid"
            assert http.get("/payments").json()["meta"]["total_count"] == 2
    assert APPROVED_VISA.encode() not in state.read_bytes()  # never the card number, even at rest


def test_options_refuse_live_keys_and_half_a_webhook():
    with pytest.raises(ValueError, match="test secret key"):
        FakeOptions(secret_key="sk_live_abc")
    with pytest.raises(ValueError, match="test publishable key"):
        FakeOptions(publishable_key="pk_live_abc")
    with pytest.raises(ValueError, match="go together"):
        FakeOptions(webhook_url="http://127.0.0.1:1/hook")
    assert parse_retry_seconds("0, 1.5,60") == [0.0, 1.5, 60.0]
    for bad in ("", "a,b", "0,-1"):
        with pytest.raises(ValueError):
            parse_retry_seconds(bad)
    with pytest.raises(ValueError):
        Switches(webhook_retry_seconds=[])


def test_the_cli_command_documents_its_options_and_refuses_bad_ones():
    from atlas.cli import main

    runner = CliRunner()
    help_text = runner.invoke(main, ["moyasar-fake", "--help"]).output
    for option in ("--port", "--webhook-url", "--webhook-secret", "--webhook-retry-seconds", "--state-file"):
        assert option in help_text
    refused = runner.invoke(main, ["moyasar-fake", "--secret-key", "sk_live_x", "--port", "1"])
    assert refused.exit_code != 0 and "test secret key" in refused.output
