"""The one place a process connects the components that must hear from each other without importing each other.

- Entitlements: billing answers what a tenant's plan allows; connectors and mapping count what a tenant uses. None
  of them imports another (``atlas.platform.entitlements``); this module, above all three, hands each one's part to
  the platform.
- Saved policies: the approval workflows must hear of a new policy version, and the policy sits below the approvals
  (``atlas.policy.listeners``); this module hands the policy the approvals' dispatch.

The web app, the worker and the demo call :func:`wire` at start-up (the tests, once per session); calling it again
is harmless.
"""

from __future__ import annotations

from atlas.approvals.dispatch import policy_changed_safely
from atlas.billing.entitlements import BillingEntitlements
from atlas.connectors.services import count_connectors
from atlas.mapping.sync import count_items
from atlas.platform.entitlements import provide_limits, provide_usage
from atlas.policy.listeners import on_policy_saved


def wire() -> None:
    """Connect billing's plan limits and the connector and item counts to the platform's entitlements, and the
    approval workflows to saved policies."""
    provide_limits(BillingEntitlements())
    provide_usage("max_connectors", count_connectors)
    provide_usage("max_records", count_items)
    on_policy_saved(policy_changed_safely)
