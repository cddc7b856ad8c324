"""The one place a process connects the platform's entitlements to the components that answer them.

Billing answers what a tenant's plan allows; connectors and mapping count what a tenant uses. None of them imports
another (``atlas.platform.entitlements``); this module, above all three, hands each one's part to the platform. The
web app, the worker and the demo call :func:`wire` at start-up (the tests, once per session); calling it again is
harmless.
"""

from __future__ import annotations

from atlas.billing.entitlements import BillingEntitlements
from atlas.connectors.services import count_connectors
from atlas.mapping.sync import count_items
from atlas.platform.entitlements import provide_limits, provide_usage


def wire() -> None:
    """Connect billing's plan limits and the connector and item counts to the platform's entitlements."""
    provide_limits(BillingEntitlements())
    provide_usage("max_connectors", count_connectors)
    provide_usage("max_records", count_items)
