"""The local Moyasar: a stand-in for Moyasar's API that demos and tests use as a real HTTP server.

It follows `moyasar.md` (section 9, the checklist for a local fake): Basic auth with test keys, tokens with CORS
for the browser, payments with the sandbox's test cards, a bilingual 3-D Secure test page with Approve and
Decline that redirects to `callback_url`, refunds, captures and voids, webhooks with `secret_token` and
retries, Moyasar's error envelopes, and fault injection under `/_fake/...`.

- `options`: `FakeOptions` (keys, webhook, state file) and the run-time `Switches`;
- `engine`: tokens, payments and their state machine, apart from HTTP; `cards`: the test-card table;
- `app`: the HTTP API (`create_app(options)`); `delivery`: the webhook sender; `faults`: fault injection;
- `server`: `run(options, host, port)`, what `atlas moyasar-fake` calls (port 3002 in the demo).

Importing this package does not import the web framework; import `app` or `server` for that.
"""

from __future__ import annotations

from atlas.billing.moyasar_fake.options import (
    DEFAULT_RETRY_SECONDS,
    DEMO_PUBLISHABLE_KEY,
    DEMO_SECRET_KEY,
    FakeOptions,
    Switches,
)

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_RETRY_SECONDS",
    "DEMO_PUBLISHABLE_KEY",
    "DEMO_SECRET_KEY",
    "FakeOptions",
    "Switches",
]

DEFAULT_PORT = 3002
