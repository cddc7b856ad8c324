"""Webhook delivery: the stand-in POSTs Moyasar's event envelope to each configured webhook, with retries.

This is the stand-in's only HTTP client (allowed by tests/test_architecture.py): it plays Moyasar calling
Atlas's webhook endpoint, and never reaches a customer system.

Each event is `{id, type, created_at, secret_token, account_name, live, data}` (moyasar.md section 5) with the
payment as `data`. A delivery that does not get a 2xx is retried after each wait of the retry schedule (Moyasar:
immediately, then 1 min, 10 min, 30 min, 1 h and 2 h; tests compress it), then dropped. The event id stays the
same across retries, duplicates and redeliveries, as a receiver deduplicating on it needs.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable
from typing import Any, Literal

import httpx
import msgspec
import structlog

from atlas.billing.moyasar_fake.options import Switches
from atlas.billing.moyasar_fake.state import Webhook, iso, now

log = structlog.get_logger("atlas.moyasar_fake.webhooks")

EVENT_TYPES = (
    "payment_paid",
    "payment_failed",
    "payment_authorized",
    "payment_captured",
    "payment_refunded",
    "payment_voided",
    "payment_verified",
)
USER_AGENT = "Moyasar-Webhooks (Atlas local stand-in)"


class Event(msgspec.Struct, kw_only=True):
    id: str
    type: str
    created_at: str
    data: dict[str, Any]


class Attempt(msgspec.Struct, kw_only=True):
    """One try at delivering one event to one webhook (the shape of Moyasar's webhook attempts)."""

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    retry_number: int
    result: Literal["success", "failed"]
    message: str
    response_code: int | None
    response_body: str
    created_at: str


def subscribed(webhook: Webhook, event_type: str) -> bool:
    """No event list means every event; `payment_failed` and `payment_faild` are the same event."""
    if not webhook.events:
        return True
    aliases = {event_type, "payment_failed", "payment_faild"} if "fail" in event_type else {event_type}
    return bool(aliases & set(webhook.events))


class WebhookDispatcher:
    """Sends events to the webhooks; keeps every event and attempt for `/_fake/events` and `/v1/webhooks/attempts`."""

    def __init__(
        self,
        *,
        webhooks: Callable[[], list[Webhook]],
        switches: Callable[[], Switches],
        account_name: str,
        timeout: float,
    ) -> None:
        self._webhooks = webhooks
        self._switches = switches
        self.account_name = account_name
        self.timeout = timeout
        self.events: dict[str, Event] = {}
        self.attempts: list[Attempt] = []
        self.held: list[tuple[Webhook, Event, dict[str, Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._http = httpx.AsyncClient(
            timeout=self.timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}, trust_env=False
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def publish(self, event_type: str, payment: dict[str, Any]) -> Event:
        """A payment changed status: make its event and send it to every subscribed webhook."""
        event = Event(id=str(uuid.uuid4()), type=event_type, created_at=iso(now()) or "", data=payment)
        self.events[event.id] = event
        switches = self._switches()
        for webhook in self._webhooks():
            if not subscribed(webhook, event_type):
                continue
            for _ in range(switches.webhook_duplicates):
                body = self._body(webhook, event, switches)
                if switches.webhook_hold:
                    self.held.append((webhook, event, body))
                else:
                    self._spawn(self._deliver(webhook, event, body, list(switches.webhook_retry_seconds)))
        return event

    def redeliver(self, event_id: str) -> bool:
        """Send a past event again (same id) to every subscribed webhook, as a replay would."""
        event = self.events.get(event_id)
        if event is None:
            return False
        switches = self._switches()
        for webhook in self._webhooks():
            if subscribed(webhook, event.type):
                body = self._body(webhook, event, switches)
                self._spawn(self._deliver(webhook, event, body, list(switches.webhook_retry_seconds)))
        return True

    async def release(self, order: Literal["fifo", "reverse"]) -> int:
        """Deliver the held events one after another, oldest first or newest first (out of order)."""
        held, self.held = self.held, []
        if order == "reverse":
            held.reverse()
        schedule = list(self._switches().webhook_retry_seconds)
        for webhook, event, body in held:
            # The first attempt of each is awaited, so the receiver sees them in exactly this order.
            if not await self._attempt(webhook, event, body, 0) and len(schedule) > 1:
                self._spawn(self._retry(webhook, event, body, schedule[1:], first_retry=1))
        return len(held)

    def _body(self, webhook: Webhook, event: Event, switches: Switches) -> dict[str, Any]:
        secret = "wrong-" + secrets.token_hex(8) if switches.webhook_wrong_secret else webhook.shared_secret
        return {
            "id": event.id,
            "type": event.type,
            "created_at": event.created_at,
            "secret_token": secret,
            "account_name": self.account_name,
            "live": switches.webhook_live,
            "data": event.data,
        }

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, webhook: Webhook, event: Event, body: dict[str, Any], schedule: list[float]) -> None:
        await self._retry(webhook, event, body, schedule, first_retry=0)

    async def _retry(
        self, webhook: Webhook, event: Event, body: dict[str, Any], schedule: list[float], *, first_retry: int
    ) -> None:
        for offset, wait in enumerate(schedule):
            if wait:
                await asyncio.sleep(wait)
            if await self._attempt(webhook, event, body, first_retry + offset):
                return
        log.warning("webhook dropped", event_id=event.id, event_type=event.type, webhook_id=webhook.id)

    async def _attempt(self, webhook: Webhook, event: Event, body: dict[str, Any], retry_number: int) -> bool:
        assert self._http is not None, "the dispatcher is not started"
        code: int | None = None
        text = ""
        try:
            response = await self._http.request(webhook.http_method, webhook.url, json=body)
            code, text = response.status_code, response.text[:500]
            ok = 200 <= code < 300
            message = "delivered" if ok else f"the receiver answered HTTP {code}"
        except httpx.HTTPError as exc:
            ok, message = False, f"{type(exc).__name__}: the receiver could not be reached"
        self.attempts.append(
            Attempt(
                id=str(uuid.uuid4()),
                webhook_id=webhook.id,
                event_id=event.id,
                event_type=event.type,
                retry_number=retry_number,
                result="success" if ok else "failed",
                message=message,
                response_code=code,
                response_body=text,
                created_at=iso(now()) or "",
            )
        )
        log.info(
            "webhook attempt",
            event_id=event.id,
            event_type=event.type,
            webhook_id=webhook.id,
            retry_number=retry_number,
            status=code,
            ok=ok,
        )
        return ok

    def idle(self) -> bool:
        """No delivery in flight or waiting for a retry."""
        return not self._tasks
