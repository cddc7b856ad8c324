"""The local Moyasar in Chromium: a page on another local origin tokenises a card across CORS with the
publishable key, and the 3-D Secure test page is shown, approved and redirected in a real browser."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from atlas.billing.moyasar import MoyasarClient, MoyasarPayment
from atlas.i18n import catalogue
from tests.billing.moyasar_helpers import Receiver, StandIn, callback_params, moyasar_stand_in, receiver

pytestmark = pytest.mark.browser

TOKENISE = """async ([api, key]) => {
  const answer = await fetch(api + "/tokens", {
    method: "POST",
    headers: {"Authorization": "Basic " + btoa(key + ":"), "Content-Type": "application/json"},
    body: JSON.stringify({name: "Saleh Ali", number: "4201320111111010", month: "12", year: "2031", cvc: "123",
                          save_only: true}),
  });
  return {status: answer.status, body: await answer.json()};
}"""


@pytest.fixture(scope="module")
def site() -> Iterator[Receiver]:
    with receiver() as app:
        yield app


@pytest.fixture(scope="module")
def moyasar() -> Iterator[StandIn]:
    with moyasar_stand_in() as running:
        yield running


def charge(moyasar: StandIn, site: Receiver, token: str) -> MoyasarPayment:
    async def create() -> MoyasarPayment:
        async with MoyasarClient(base_url=moyasar.api, secret_key=moyasar.secret_key) as api:
            return await api.create_token_payment(
                given_id=uuid.uuid4(),
                amount=91885,
                currency="SAR",
                description="Atlas Professional",
                token=token,
                callback_url=f"{site.url}/api/payments/callback?plan=professional",
                metadata={"plan": "professional"},
                three_ds=True,
            )

    # Playwright's sync API keeps an event loop on this thread: the server-side call runs on its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, create()).result()


def test_a_page_tokenises_across_cors_and_the_3ds_page_approves_and_redirects(browser, moyasar, site):
    context = browser.new_context(locale="ar-SA")
    page = context.new_page()
    page.goto(f"{site.url}/app/subscription")  # an Atlas-like page on its own local origin
    answer = page.evaluate(TOKENISE, [moyasar.api, moyasar.publishable_key])
    assert answer["status"] == 201, answer
    token = answer["body"]
    assert token["status"] == "initiated" and token["brand"] == "mada" and token["last_four"] == "1010"

    payment = charge(moyasar, site, token["id"])
    assert payment.needs_3ds
    page.goto(payment.transaction_url)
    banner = page.get_by_test_id("stand-in-banner")
    assert banner.is_visible()
    strings = catalogue()
    assert strings["moyasar_fake.banner"]["ar"] in banner.inner_text()
    assert strings["moyasar_fake.banner"]["en"] in banner.inner_text()
    assert page.get_by_test_id("3ds-amount").inner_text() == "918.85 SAR"
    assert page.get_by_test_id("3ds-card").inner_text() == "MADA XXXX-XXXX-XXXX-1010"
    page.get_by_test_id("3ds-approve").click()
    page.wait_for_url(f"{site.url}/api/payments/callback**")
    params = callback_params(page.url)
    assert params == {"plan": "professional", "id": payment.id, "status": "paid", "message": "APPROVED"}

    declined = charge(moyasar, site, page.evaluate(TOKENISE, [moyasar.api, moyasar.publishable_key])["body"]["id"])
    page.goto(declined.transaction_url)
    page.get_by_test_id("3ds-decline").click()
    page.wait_for_url(f"{site.url}/api/payments/callback**")
    assert callback_params(page.url)["status"] == "failed"
    context.close()
