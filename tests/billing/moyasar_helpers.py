"""Helpers for tests that use the local Moyasar as a real HTTP server (also for the billing tests).

- `moyasar_stand_in(...)`: the stand-in under uvicorn on a free port, with a `StandIn` handle (keys, admin API);
- `Receiver`: a small real HTTP server that records webhook POSTs and callback GETs, and can fail on purpose;
- `complete_3ds(url, decision)`: what a browser does on the 3-D Secure page: load it, press Approve or Decline
  (the form's own button), and return the redirect's target.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from atlas.billing.moyasar_fake.app import StandInApp, create_app
from atlas.billing.moyasar_fake.options import FakeOptions, Switches
from tests.services import asgi_server, wait_until

CARD = {"name": "Saleh Ali", "month": "12", "year": "2031", "cvc": "123"}
APPROVED_VISA = "4111111111111111"
APPROVED_MADA = "4201320111111010"
APPROVED_MASTERCARD = "5421080101000000"


class StandIn:
    """A running stand-in: its URL (with and without /v1), its keys, and its admin API."""

    def __init__(self, url: str, app: StandInApp) -> None:
        self.url = url
        self.api = f"{url}/v1"
        self.app = app
        self.secret_key = app.fake.options.secret_key
        self.publishable_key = app.fake.options.publishable_key

    def http(self, key: str | None = None) -> httpx.Client:
        """A client for the /v1 API with `key` (the secret key by default) in Basic auth."""
        return httpx.Client(base_url=self.api, auth=(key or self.secret_key, ""), timeout=30)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}/_fake/{path}", timeout=30, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()

    def reset(self) -> None:
        self.admin("POST", "reset")

    def switch(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("PUT", "settings", json=changes)
        return result

    def fault(self, **rule: Any) -> None:
        self.admin("POST", "faults", json=rule)

    def events(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.admin("GET", "events")["events"]
        return result

    def token(self, number: str, *, save_only: bool = True, **fields: Any) -> dict[str, Any]:
        """A token for `number`, made as the browser does: publishable key, straight to the stand-in."""
        body = {**CARD, "number": number, "save_only": save_only, **fields}
        with self.http(self.publishable_key) as http:
            response = http.post("/tokens", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


@contextmanager
def moyasar_stand_in(**options: Any) -> Iterator[StandIn]:
    """The local Moyasar as a real HTTP server on 127.0.0.1; `options` are FakeOptions fields."""
    switches = options.pop("switches", None) or Switches(webhook_retry_seconds=[0.0, 0.3, 0.3])
    app = create_app(FakeOptions(switches=switches, **options))
    with asgi_server(app) as url:
        yield StandIn(url, app)


class Receiver:
    """A real HTTP server standing for Atlas: records webhook POSTs and callback GETs. `fail_with` makes the
    next POSTs answer those statuses (e.g. [500, 500] then 200)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.gets: list[dict[str, Any]] = []
        self.fail_with: list[int] = []
        self.url = ""
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self.posts.clear()
            self.gets.clear()
            self.fail_with.clear()

    def events(self) -> list[dict[str, Any]]:
        """The webhook bodies received with a 2xx answer."""
        with self._lock:
            return [p["body"] for p in self.posts if p["answered"] < 300]

    def wait_for(self, count: int, *, what: str = "webhook events") -> list[dict[str, Any]]:
        wait_until(lambda: len(self.events()) >= count, timeout=30, what=what)
        return self.events()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status = 200
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        with self._lock:
            if scope["method"] == "GET":
                query = scope.get("query_string", b"").decode()
                self.gets.append({"url": scope["path"] + (f"?{query}" if query else ""), "headers": headers})
            else:
                status = self.fail_with.pop(0) if self.fail_with else 200
                self.posts.append({"body": json.loads(body or b"null"), "headers": headers, "answered": status})
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def receiver() -> Iterator[Receiver]:
    app = Receiver()
    with asgi_server(app) as url:
        app.url = url
        yield app


class _Form(HTMLParser):
    """The 3-D Secure page's form: its action and its submit buttons by data-testid."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.buttons: dict[str, tuple[str, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and values.get("method", "").lower() == "post":
            self.action = values.get("action", "")
        if tag == "button" and "data-testid" in values:
            self.buttons[values["data-testid"]] = (values.get("name", ""), values.get("value", ""))


def complete_3ds(transaction_url: str, decision: str = "approve") -> str:
    """Open the 3-D Secure page, press its Approve (or Decline) button, and return where it redirects (a
    frictionless card's page redirects at once, with no button to press)."""
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        page = browser.get(transaction_url)
        if page.status_code == 302:  # frictionless: the issuer authenticated without a challenge
            return page.headers["location"]
        assert page.status_code == 200, page.text
        assert "text/html" in page.headers["content-type"]
        form = _Form()
        form.feed(page.text)
        assert form.action is not None, "the page has no form"
        name, value = form.buttons[f"3ds-{decision}"]
        answer = browser.post(urljoin(transaction_url, form.action), data={name: value})
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]


def callback_params(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}
