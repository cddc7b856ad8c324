"""The Moyasar client against the local Moyasar as a real HTTP server: every test card, 3-D Secure through the
real redirect, the token lifecycle, given_id idempotency across dropped connections, retries, error mapping,
webhook events, and no secret or card number in the logs."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from atlas.billing.moyasar import (
    DEFAULT_USER_AGENT,
    ERROR_CODES,
    MoyasarClient,
    MoyasarError,
    error_from_response,
    parse_webhook_event,
)
from atlas.billing.moyasar_fake.cards import SANDBOX_CARDS, THREE_DS_DECLINED
from atlas.i18n import catalogue
from tests.billing.moyasar_helpers import (
    APPROVED_MADA,
    APPROVED_MASTERCARD,
    APPROVED_VISA,
    Receiver,
    StandIn,
    callback_params,
    complete_3ds,
    moyasar_stand_in,
    receiver,
)
from tests.services import wait_until

T = TypeVar("T")
SECRET = "whsec-client-tests-0123456789"
METADATA = {"tenant_id": "2b1f0c9e-0000-4000-8000-000000000001", "plan": "professional", "period": "2026-12"}


def run(coroutine: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await coroutine

    return asyncio.run(wrapper())


@pytest.fixture(scope="module")
def hooks() -> Iterator[Receiver]:
    with receiver() as app:
        yield app


@pytest.fixture(scope="module")
def server(hooks: Receiver) -> Iterator[StandIn]:
    with moyasar_stand_in(webhook_url=f"{hooks.url}/api/webhooks/moyasar", webhook_secret=SECRET) as running:
        yield running


@pytest.fixture
def moyasar(server: StandIn, hooks: Receiver) -> StandIn:
    wait_until(lambda: server.admin("GET", "events")["idle"], what="webhook deliveries")
    server.reset()
    hooks.clear()
    return server


def client(moyasar: StandIn, **options: Any) -> MoyasarClient:
    settings: dict[str, Any] = {"timeout": 5.0, "backoff": 0.05, "max_backoff": 0.2, **options}
    return MoyasarClient(base_url=moyasar.api, secret_key=moyasar.secret_key, **settings)


async def charge(moyasar: StandIn, hooks: Receiver, token: str, *, three_ds: bool, **kwargs: Any) -> Any:
    async with client(moyasar, **kwargs.pop("options", {})) as api:
        return await api.create_token_payment(
            given_id=kwargs.pop("given_id", uuid.uuid4()),
            amount=kwargs.pop("amount", 91885),
            currency="SAR",
            description="Atlas Professional 2026-12",
            token=token,
            callback_url=f"{hooks.url}/api/payments/callback?attempt=1",
            metadata=METADATA,
            three_ds=three_ds,
        )


async def fetch(moyasar: StandIn, payment_id: str) -> Any:
    async with client(moyasar) as api:
        return await api.fetch_payment(payment_id)


async def fetch_token(moyasar: StandIn, token_id: str) -> Any:
    async with client(moyasar) as api:
        return await api.fetch_token(token_id)


def first_payment(moyasar: StandIn, hooks: Receiver, number: str, decision: str = "approve") -> tuple[Any, Any]:
    """Atlas's flow: the browser tokenises, the server charges with 3-D Secure, the browser passes it, the server
    fetches the payment. Returns (the payment as created, the payment as fetched after the callback)."""
    token = moyasar.token(number)
    created = run(charge(moyasar, hooks, token["id"], three_ds=True))
    assert created.status == "initiated" and created.needs_3ds and created.token_id == token["id"]
    location = complete_3ds(created.transaction_url, decision)
    params = callback_params(location)
    assert params["attempt"] == "1" and params["id"] == created.id
    fetched = run(fetch(moyasar, created.id))
    assert params["status"] == fetched.status and params["message"] == fetched.message
    return created, fetched


# --- the payment flow with every test card ------------------------------------------------------------------


@pytest.mark.parametrize("number", sorted(SANDBOX_CARDS))
def test_each_test_card_through_tokenisation_3ds_and_a_server_side_fetch(moyasar, hooks, number):
    expected = SANDBOX_CARDS[number].outcome
    created, fetched = first_payment(moyasar, hooks, number)
    assert (fetched.status, fetched.message) == (expected.status, expected.message)
    assert fetched.amount == 91885 and fetched.currency == "SAR" and fetched.metadata == METADATA
    assert fetched.last_four == number[-4:] and fetched.masked_number == "XXXX-XXXX-XXXX-" + number[-4:]
    assert fetched.company == ("mada" if number.startswith("420132") else "visa" if number[0] == "4" else "master")
    assert fetched.succeeded is (expected.status == "paid") and not fetched.needs_3ds
    token = run(fetch_token(moyasar, created.token_id))
    assert token.status == ("active" if expected.status == "paid" else "inactive")


def test_a_declined_challenge_fails_and_leaves_no_usable_token(moyasar, hooks):
    created, fetched = first_payment(moyasar, hooks, APPROVED_MADA, "decline")
    assert (fetched.status, fetched.message) == ("failed", THREE_DS_DECLINED.message)
    with pytest.raises(MoyasarError) as refused:
        run(charge(moyasar, hooks, created.token_id, three_ds=False))
    assert refused.value.code == "invalid_request" and refused.value.status == 400


def test_the_token_lifecycle_renewals_and_deletion(moyasar, hooks):
    token = moyasar.token(APPROVED_MASTERCARD)
    assert run(fetch_token(moyasar, token["id"])).status == "initiated"
    created, _ = first_payment_with(moyasar, hooks, token["id"])
    saved = run(fetch_token(moyasar, token["id"]))
    assert saved.active and (saved.brand, saved.last_four, saved.month, saved.year) == ("master", "0000", 12, 2031)
    assert saved.name == "Saleh Ali" and token["id"] not in repr(saved)
    renewal = run(charge(moyasar, hooks, token["id"], three_ds=False, amount=91885))
    assert renewal.status == "paid" and renewal.transaction_url is None and renewal.id != created.id
    moyasar.fault(kind="decline", message="INSUFFICIENT FUNDS", code="51")
    dunning = run(charge(moyasar, hooks, token["id"], three_ds=False))
    assert (dunning.status, dunning.message, dunning.succeeded) == ("failed", "INSUFFICIENT FUNDS", False)

    async def delete_twice() -> tuple[bool, bool, Any]:
        async with client(moyasar) as api:
            return (
                await api.delete_token(token["id"]),
                await api.delete_token(token["id"]),
                await api.fetch_token(token["id"]),
            )

    assert run(delete_twice()) == (True, False, None)
    with pytest.raises(MoyasarError) as gone:
        run(charge(moyasar, hooks, token["id"], three_ds=False))
    assert gone.value.code == "invalid_request" and gone.value.errors == {"source.token": ["is invalid"]}


def first_payment_with(moyasar: StandIn, hooks: Receiver, token_id: str) -> tuple[Any, Any]:
    created = run(charge(moyasar, hooks, token_id, three_ds=True))
    complete_3ds(created.transaction_url)
    return created, run(fetch(moyasar, created.id))


def test_an_issuer_challenge_on_a_renewal_comes_back_initiated(moyasar, hooks):
    token = moyasar.token(APPROVED_VISA)
    first_payment_with(moyasar, hooks, token["id"])
    moyasar.fault(kind="challenge")
    challenged = run(charge(moyasar, hooks, token["id"], three_ds=False))
    assert challenged.needs_3ds and not challenged.succeeded


# --- idempotency ---------------------------------------------------------------------------------------------


def active_token(moyasar: StandIn, hooks: Receiver) -> str:
    token = moyasar.token(APPROVED_VISA)
    first_payment_with(moyasar, hooks, token["id"])
    return str(token["id"])


def payments_with(moyasar: StandIn, given_id: uuid.UUID) -> int:
    with moyasar.http() as http:
        return int(http.get("/payments", params={"id": str(given_id)}).json()["meta"]["total_count"])


def test_a_connection_dropped_after_the_payment_was_made_recovers_it_by_given_id(moyasar, hooks):
    token = active_token(moyasar, hooks)
    given = uuid.uuid4()
    moyasar.fault(kind="drop_after_commit", method="POST", path="/v1/payments")
    payment = run(charge(moyasar, hooks, token, three_ds=False, given_id=given))
    assert payment.id == str(given) and payment.status == "paid"
    assert payments_with(moyasar, given) == 1


def test_a_connection_dropped_before_anything_happened_is_retried_once_checked(moyasar, hooks):
    token = active_token(moyasar, hooks)
    given = uuid.uuid4()
    moyasar.fault(kind="drop_before_commit", method="POST", path="/v1/payments")
    payment = run(charge(moyasar, hooks, token, three_ds=False, given_id=given))
    assert payment.id == str(given) and payment.status == "paid" and payments_with(moyasar, given) == 1


def test_a_slow_answer_after_commit_is_a_timeout_recovered_by_given_id(moyasar, hooks):
    token = active_token(moyasar, hooks)
    given = uuid.uuid4()
    moyasar.fault(kind="slow", seconds=1.5, method="POST", path="/v1/payments")
    payment = run(charge(moyasar, hooks, token, three_ds=False, given_id=given, options={"timeout": 0.5}))
    assert payment.id == str(given) and payments_with(moyasar, given) == 1


def test_server_errors_and_rate_limits_on_create_are_retried_with_the_same_given_id(moyasar, hooks):
    token = active_token(moyasar, hooks)
    given = uuid.uuid4()
    moyasar.fault(kind="server_error", method="POST", path="/v1/payments")
    moyasar.fault(kind="rate_limit", method="POST", path="/v1/payments", retry_after=0)
    payment = run(charge(moyasar, hooks, token, three_ds=False, given_id=given))
    assert payment.status == "paid" and payments_with(moyasar, given) == 1
    assert moyasar.admin("GET", "faults") == {"faults": []}


def test_a_second_create_with_the_same_given_id_returns_the_first_payment_or_a_conflict(moyasar, hooks):
    token = active_token(moyasar, hooks)
    given = uuid.uuid4()
    first = run(charge(moyasar, hooks, token, three_ds=False, given_id=given))
    again = run(charge(moyasar, hooks, token, three_ds=False, given_id=given))
    assert again == first
    with pytest.raises(MoyasarError) as conflict:
        run(charge(moyasar, hooks, token, three_ds=False, given_id=given, amount=34385))
    assert conflict.value.code == "given_id_conflict"
    moyasar.switch(given_id_replay=True)
    assert run(charge(moyasar, hooks, token, three_ds=False, given_id=given)) == first
    assert payments_with(moyasar, given) == 1


def test_when_neither_the_create_nor_the_check_answers_the_outcome_is_unknown(moyasar, hooks):
    token = active_token(moyasar, hooks)
    given = uuid.uuid4()
    moyasar.fault(kind="drop_after_commit", method="POST", path="/v1/payments")
    moyasar.fault(kind="server_error", method="GET", path="/v1/payments/*", times=-1)
    with pytest.raises(MoyasarError) as unknown:
        run(charge(moyasar, hooks, token, three_ds=False, given_id=given))
    assert unknown.value.code == "outcome_unknown" and unknown.value.retryable
    assert str(given) in unknown.value.message
    moyasar.admin("DELETE", "faults")
    assert payments_with(moyasar, given) == 1  # it was created: the caller must not charge again blindly


def test_the_client_refuses_bad_arguments_before_sending_anything():
    api = MoyasarClient(base_url="http://127.0.0.1:1/v1", secret_key="sk_test_x")
    for amount, currency in [(99, "SAR"), (100.0, "SAR"), (True, "SAR"), (100, "sar")]:
        with pytest.raises(ValueError):
            run(
                api.create_token_payment(
                    given_id=uuid.uuid4(),
                    amount=amount,  # type: ignore[arg-type]
                    currency=currency,
                    description="x",
                    token="token_x",
                    callback_url="http://127.0.0.1/cb",
                    metadata={},
                    three_ds=False,
                )
            )
    with pytest.raises(ValueError, match="secret key"):
        MoyasarClient(base_url="http://127.0.0.1:1/v1", secret_key="pk_test_x")
    run(api.aclose())


# --- reads: retries, 404s, lists ----------------------------------------------------------------------------


def test_gets_are_retried_on_429_5xx_and_network_errors_then_give_up_with_a_clear_error(moyasar, hooks):
    token = active_token(moyasar, hooks)
    paid = run(charge(moyasar, hooks, token, three_ds=False))
    moyasar.fault(kind="rate_limit", method="GET", path="/v1/payments/*", retry_after=0)
    moyasar.fault(kind="server_error", status=502, method="GET", path="/v1/payments/*")
    assert run(fetch(moyasar, paid.id)) == paid
    moyasar.fault(kind="drop_before_commit", method="GET", path="/v1/payments/*")
    assert run(fetch(moyasar, paid.id)) == paid
    moyasar.fault(kind="server_error", method="GET", path="/v1/payments/*", times=3)
    with pytest.raises(MoyasarError) as failed:
        run(fetch(moyasar, paid.id))
    assert (failed.value.code, failed.value.status, failed.value.retryable) == ("server_error", 500, True)
    moyasar.fault(kind="slow", seconds=1.0, method="GET", path="/v1/payments/*", times=3)

    async def slow() -> Any:
        async with client(moyasar, timeout=0.3) as api:
            return await api.fetch_payment(paid.id)

    with pytest.raises(MoyasarError) as timed_out:
        run(slow())
    assert timed_out.value.code == "timeout" and timed_out.value.status is None


def test_missing_objects_are_none_and_ids_cannot_escape_their_path(moyasar, hooks):
    token = moyasar.token(APPROVED_VISA)
    assert run(fetch(moyasar, str(uuid.uuid4()))) is None
    assert run(fetch_token(moyasar, "token_missing")) is None
    # An id from a callback's query string is one path segment: it never reaches another endpoint.
    assert run(fetch(moyasar, f"../tokens/{token['id']}")) is None
    with pytest.raises(ValueError):
        run(fetch(moyasar, ""))


def test_list_payments_filters_and_walks_every_page(moyasar, hooks):
    token = active_token(moyasar, hooks)
    for _ in range(41):
        run(charge(moyasar, hooks, token, three_ds=False))

    async def listing() -> tuple[Any, Any, list[Any], Any]:
        async with client(moyasar) as api:
            first = await api.list_payments(status="paid", metadata={"plan": "professional"})
            second = await api.list_payments(status="paid", page=2)
            every = [p async for p in api.iterate_payments(status="paid")]
            since = await api.list_payments(updated_after=every[0].updated_at)
            return first, second, every, since

    first, second, every, since = run(listing())
    assert (len(first.payments), first.next_page, first.total_count, first.total_pages) == (40, 2, 42, 2)
    assert len(second.payments) == 2 and second.next_page is None
    assert len(every) == 42 and len({p.id for p in every}) == 42
    assert since.total_count == 0


def test_refund_void_and_update_through_the_client(moyasar, hooks):
    token = active_token(moyasar, hooks)

    async def operations() -> tuple[Any, Any, Any, Any]:
        async with client(moyasar) as api:
            paid = await api.create_token_payment(
                given_id=uuid.uuid4(),
                amount=34385,
                currency="SAR",
                description="Atlas Basic",
                token=token,
                callback_url=f"{hooks.url}/cb",
                metadata={"plan": "basic"},
                three_ds=False,
            )
            updated = await api.update_payment(paid.id, metadata={"invoice": "INV-1"})
            refunded = await api.refund_payment(paid.id, amount=4485)
            try:
                await api.void_payment(paid.id)
            except MoyasarError as exc:
                return updated, refunded, exc, await api.refund_payment(paid.id)
            raise AssertionError("a refunded payment cannot be voided")

    updated, refunded, refused, rest = run(operations())
    assert updated.metadata == {"plan": "basic", "invoice": "INV-1"}
    assert (refunded.status, refunded.refunded) == ("paid", 4485)
    assert refused.code == "invalid_request" and "voided" in refused.message
    assert (rest.status, rest.refunded) == ("refunded", 34385)


# --- error mapping ---------------------------------------------------------------------------------------------


def test_a_wrong_key_is_an_authentication_error_that_never_shows_the_key(moyasar):
    async def wrong() -> None:
        async with MoyasarClient(base_url=moyasar.api, secret_key="sk_test_not-the-key-123") as api:
            await api.fetch_payment(str(uuid.uuid4()))

    with pytest.raises(MoyasarError) as refused:
        run(wrong())
    error = refused.value
    assert (error.code, error.status, error.moyasar_type) == ("authentication", 401, "authentication_error")
    assert error.message == "Invalid authorization credentials" and not error.retryable
    assert "not-the-key" not in str(error) + repr(error)


@pytest.mark.parametrize(
    ("status", "body", "content_type", "code", "errors"),
    [
        (
            400,
            {"type": "invalid_request_error", "message": "Validation Failed", "errors": {"amount": ["must be >= 100"]}},
            "application/json",
            "invalid_request",
            {"amount": ["must be >= 100"]},
        ),
        (
            400,
            {"type": "validation_error", "message": "Bad", "errors": "source is invalid"},
            "application/json",
            "invalid_request",
            {"": ["source is invalid"]},
        ),
        (
            400,
            {"type": "invalid_request_error", "message": "Bad", "errors": None},
            "application/json",
            "invalid_request",
            {},
        ),
        (400, {"message": "Name must be two words"}, "application/json", "invalid_request", {}),
        (400, {"type": "used_given_id", "message": "used", "errors": None}, "application/json", "used_given_id", {}),
        (403, {"type": "authentication_error", "message": "no", "errors": None}, "application/json", "forbidden", {}),
        (
            405,
            {"type": "account_inactive_error", "message": "x", "errors": None},
            "application/json",
            "account_inactive",
            {},
        ),
        (403, "<!DOCTYPE html><html><body>Error 1010</body></html>", "text/html", "blocked", {}),
        (502, "<html><body>Bad gateway</body></html>", "text/html", "server_error", {}),
        (503, {"type": "api_error", "message": "Maintenance", "errors": None}, "application/json", "unavailable", {}),
        (418, "teapot", "text/plain", "unexpected_status", {}),
    ],
)
def test_moyasars_error_shapes_over_http_map_to_one_error(moyasar, status, body, content_type, code, errors):
    moyasar.fault(kind="respond", method="PUT", status=status, body=body, content_type=content_type)

    async def update() -> None:
        async with client(moyasar) as api:
            await api.update_payment(str(uuid.uuid4()), description="x")

    with pytest.raises(MoyasarError) as raised:
        run(update())
    assert (raised.value.code, raised.value.status, raised.value.errors) == (code, status, errors)
    assert raised.value.message_key in catalogue()


def test_an_html_404_is_an_error_not_a_missing_payment(moyasar):
    moyasar.fault(kind="respond", method="GET", status=404, body="<html>Not Found</html>", content_type="text/html")
    with pytest.raises(MoyasarError) as raised:
        run(fetch(moyasar, str(uuid.uuid4())))
    assert raised.value.code == "not_found" and raised.value.status == 404


def test_a_truncated_answer_is_a_bad_response(moyasar, hooks):
    token = moyasar.token(APPROVED_VISA)
    moyasar.fault(kind="bad_json", method="GET", path="/v1/tokens/*")
    with pytest.raises(MoyasarError) as raised:
        run(fetch_token(moyasar, token["id"]))
    assert raised.value.code == "bad_response"


def test_error_messages_mask_card_numbers_and_keys():
    response = httpx.Response(
        400,
        json={
            "type": "invalid_request_error",
            "message": "card 4111 1111 1111 1111 refused for sk_live_abcdef123",
            "errors": {"source.number": ["4111111111111111 is invalid"]},
        },
    )
    error = error_from_response(response)
    text = str(error) + repr(error) + json.dumps(error.errors)
    assert "4111" not in text and "sk_live_abcdef123" not in text and "[card number]" in text and "[key]" in text


def test_every_error_code_has_a_message_in_both_languages():
    entries = catalogue()
    for code in ERROR_CODES:
        entry = entries[f"errors.moyasar_{code}"]
        assert entry["ar"].strip() and entry["en"].strip()


def test_requests_carry_basic_auth_an_explicit_user_agent_and_accept_json(hooks):
    hooks.clear()

    async def ask() -> None:
        async with MoyasarClient(base_url=f"{hooks.url}/v1", secret_key="sk_test_header-check") as api:
            await api.fetch_payment("abc")

    with pytest.raises(MoyasarError) as raised:  # the receiver answers "ok": not a payment
        run(ask())
    assert raised.value.code == "bad_response"
    headers = hooks.gets[-1]["headers"]
    assert hooks.gets[-1]["url"] == "/v1/payments/abc"
    assert headers["user-agent"] == DEFAULT_USER_AGENT and DEFAULT_USER_AGENT.startswith("Atlas-Billing/")
    assert headers["accept"] == "application/json"
    assert headers["authorization"] == "Basic " + base64.b64encode(b"sk_test_header-check:").decode()


# --- webhook events ------------------------------------------------------------------------------------------


def test_webhook_events_parse_with_the_right_secret_only(moyasar, hooks):
    created, _ = first_payment(moyasar, hooks, APPROVED_VISA)
    hooks.wait_for(1)
    [post] = hooks.posts
    raw = json.dumps(post["body"]).encode()
    event = parse_webhook_event(raw, secret=SECRET)
    assert (event.type, event.live, event.payment.id, event.payment.status) == (
        "payment_paid",
        False,
        created.id,
        "paid",
    )
    assert event.id == post["body"]["id"] and event.account_name
    with pytest.raises(MoyasarError) as forged:
        parse_webhook_event(raw, secret="another-secret")
    assert forged.value.code == "forged_event"
    for bad in (b"not json", b"{}", b'{"id": "x", "type": "payment_paid", "data": {"id": 1}}'):
        with pytest.raises(MoyasarError) as malformed:
            parse_webhook_event(bad, secret=SECRET)
        assert malformed.value.code in ("bad_event", "forged_event")

    moyasar.switch(failed_event_name="payment_faild")
    run(charge(moyasar, hooks, moyasar.token(APPROVED_VISA)["id"], three_ds=True))  # no event while initiated
    renewable = active_token(moyasar, hooks)
    moyasar.fault(kind="decline")
    declined = run(charge(moyasar, hooks, renewable, three_ds=False))
    wait_until(lambda: any(p["body"]["type"] == "payment_faild" for p in hooks.posts), what="the failed event")
    faild = next(p["body"] for p in hooks.posts if p["body"]["type"] == "payment_faild")
    event = parse_webhook_event(json.dumps(faild).encode(), secret=SECRET)
    assert event.type == "payment_failed" and event.payment.id == declined.id


# --- logs ------------------------------------------------------------------------------------------------------


def test_no_key_token_or_card_number_reaches_the_logs(moyasar, hooks, caplog):
    from atlas.observability import configure_logging

    configure_logging("DEBUG", json_output=True)
    logging.getLogger().addHandler(caplog.handler)  # configure_logging replaced the root's handlers
    try:
        caplog.set_level(logging.DEBUG)
        token = moyasar.token(APPROVED_VISA)
        created = run(charge(moyasar, hooks, token["id"], three_ds=True))
        complete_3ds(created.transaction_url)
        run(charge(moyasar, hooks, token["id"], three_ds=False))
        moyasar.fault(kind="drop_after_commit", method="POST", path="/v1/payments")
        run(charge(moyasar, hooks, token["id"], three_ds=False))
        run(fetch_token(moyasar, token["id"]))
        hooks.wait_for(3)
        with pytest.raises(MoyasarError):
            run(charge(moyasar, hooks, "token_nope", three_ds=False))
    finally:
        configure_logging(os.environ.get("ATLAS_LOG_LEVEL", "WARNING"), json_output=True)
    records = [r for r in caplog.records if r.name.startswith(("atlas.billing", "atlas.moyasar_fake"))]
    assert any(r.name == "atlas.billing.moyasar" for r in records) and any(
        r.name.startswith("atlas.moyasar_fake") for r in records
    )
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in (moyasar.secret_key, moyasar.publishable_key, SECRET, token["id"], APPROVED_VISA, "411111"):
        assert secret not in text


def test_a_payment_id_whose_middle_is_all_digits_is_not_masked_as_a_card():
    """A UUID's middle groups are all digits now and then (1db90327-9019-4925-9471-b8feba186e53): that is an id a
    person must be able to look up, not a card number. A card number on its own is still masked, in any spacing."""
    from atlas.billing.moyasar import safe_text

    payment = "1db90327-9019-4925-9471-b8feba186e53"
    assert safe_text(f"the payment {payment} may have been created") == f"the payment {payment} may have been created"
    for card in ("4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "5204 7400 0000 2745 000"):
        assert safe_text(f"card {card}, refused.") == "card [card number], refused.", card
