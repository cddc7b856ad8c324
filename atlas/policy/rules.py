"""A tenant's policy and its evaluation: pure functions over plain data (SPEC 7.5; no database, no I/O).

`evaluate_proposal` says whether a recommendation may go to people at all (the blast-radius limits) and
what its approval needs (how many distinct approvers, which roles, a dry run first, when it expires);
`evaluate_vote` says whether one person's approve or reject counts (role, four-eyes, no double vote, the
dry run done). Both return their reasons, each a catalogue key ``policy.reason.<code>`` with its figures.
The policy layer adds to RBAC and tenant isolation; it never replaces them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from atlas.ai_engine.classes import CLASSES, default_service_levels
from atlas.errors import ValidationFailed

TYPES: tuple[str, ...] = ("reorder", "transfer", "write_off", "investigate")
PRIORITIES: tuple[str, ...] = ("low", "medium", "high")
ENVIRONMENTS: tuple[str, ...] = ("production", "sandbox")
APPROVER_ROLES: tuple[str, ...] = ("operator", "admin")  # a viewer can never decide (RBAC), whatever the policy

MAX_ITEMS_LIMIT = 1_000_000
MAX_VALUE_LIMIT = Decimal("1000000000000")  # 10^12 SAR
MAX_EXPIRY_HOURS = 24 * 366
# The service level a reorder aims at, per ABC/XYZ class: from a coin toss to all but certain (z ≈ 3.1).
SERVICE_LEVEL_LOW = Decimal("0.5")
SERVICE_LEVEL_HIGH = Decimal("0.999")


class PolicyInvalid(ValidationFailed):
    """A policy that cannot be saved: names the field, with a translated message (422)."""

    def __init__(self, field_name: str, message_key: str, **params: Any) -> None:
        super().__init__(message_key, extra={"field": field_name}, field=field_name, **params)
        self.field = field_name


def _default_approvals() -> dict[str, dict[str, int]]:
    return {
        "production": {"low": 1, "medium": 1, "high": 2},
        "sandbox": {"low": 1, "medium": 1, "high": 1},
    }


@dataclass(frozen=True)
class PolicyRules:
    """A tenant's policy. The defaults are what a new tenant gets."""

    max_items_per_action: int = 50
    max_value_sar_per_action: Decimal = Decimal("250000")
    dry_run_required_types: frozenset[str] = frozenset({"transfer", "write_off"})
    dry_run_required_priorities: frozenset[str] = frozenset()
    dry_run_required_over_value_sar: Decimal | None = Decimal("50000")
    dry_run_required_environments: frozenset[str] = frozenset({"production"})
    approvals: dict[str, dict[str, int]] = field(default_factory=_default_approvals)
    approver_roles: frozenset[str] = frozenset({"operator", "admin"})
    expiry_hours: int = 72
    reminder_before_hours: int = 24
    # The target service level (the chance a replenishment cycle ends without a stockout) per ABC/XYZ class.
    service_levels: dict[str, float] = field(default_factory=default_service_levels)

    def approvals_for(self, environment: str, priority: str) -> int:
        """Distinct approvers needed; an unknown environment counts as production (the safe side)."""
        table = self.approvals.get(environment) or self.approvals.get("production") or {}
        return table.get(priority, 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "max_items_per_action": self.max_items_per_action,
            "max_value_sar_per_action": _amount_text(self.max_value_sar_per_action),
            "dry_run_required_types": sorted(self.dry_run_required_types, key=TYPES.index),
            "dry_run_required_priorities": sorted(self.dry_run_required_priorities, key=PRIORITIES.index),
            "dry_run_required_over_value_sar": (
                None
                if self.dry_run_required_over_value_sar is None
                else _amount_text(self.dry_run_required_over_value_sar)
            ),
            "dry_run_required_environments": sorted(self.dry_run_required_environments, key=ENVIRONMENTS.index),
            "approvals": {env: {p: self.approvals[env][p] for p in PRIORITIES} for env in ENVIRONMENTS},
            "approver_roles": sorted(self.approver_roles, key=APPROVER_ROLES.index),
            "expiry_hours": self.expiry_hours,
            "reminder_before_hours": self.reminder_before_hours,
            "service_levels": {name: self.service_levels[name] for name in CLASSES},
        }

    @classmethod
    def from_json(cls, data: Any) -> PolicyRules:
        """Strict: unknown fields, wrong types and out-of-range values raise `PolicyInvalid`; a missing
        field takes its default."""
        if not isinstance(data, dict):
            raise PolicyInvalid("rules", "policy.invalid.not_an_object")
        known = {f for f in cls.__dataclass_fields__}
        for key in data:
            if key not in known:
                raise PolicyInvalid(str(key), "policy.invalid.unknown_field")
        defaults = cls()
        max_items = _int(data, "max_items_per_action", defaults.max_items_per_action, 1, MAX_ITEMS_LIMIT)
        max_value = _decimal(data, "max_value_sar_per_action", defaults.max_value_sar_per_action)
        if max_value is None:
            raise PolicyInvalid("max_value_sar_per_action", "policy.invalid.required")
        over_value = _decimal(
            data, "dry_run_required_over_value_sar", defaults.dry_run_required_over_value_sar, nullable=True
        )
        expiry = _int(data, "expiry_hours", defaults.expiry_hours, 1, MAX_EXPIRY_HOURS)
        reminder = _int(data, "reminder_before_hours", defaults.reminder_before_hours, 0, MAX_EXPIRY_HOURS)
        if reminder >= expiry:
            raise PolicyInvalid("reminder_before_hours", "policy.invalid.reminder_after_expiry")
        roles = _choices(data, "approver_roles", defaults.approver_roles, APPROVER_ROLES)
        if not roles:
            raise PolicyInvalid("approver_roles", "policy.invalid.no_approver_role")
        return cls(
            max_items_per_action=max_items,
            max_value_sar_per_action=max_value,
            dry_run_required_types=_choices(data, "dry_run_required_types", defaults.dry_run_required_types, TYPES),
            dry_run_required_priorities=_choices(
                data, "dry_run_required_priorities", defaults.dry_run_required_priorities, PRIORITIES
            ),
            dry_run_required_over_value_sar=over_value,
            dry_run_required_environments=_choices(
                data, "dry_run_required_environments", defaults.dry_run_required_environments, ENVIRONMENTS
            ),
            approvals=_approvals(data.get("approvals"), defaults.approvals),
            approver_roles=roles,
            expiry_hours=expiry,
            reminder_before_hours=reminder,
            service_levels=_service_levels(data.get("service_levels"), defaults.service_levels),
        )


def _amount_text(amount: Decimal) -> str:
    """An amount as stored: always two decimals, so equal amounts always compare equal as text."""
    return str(amount.quantize(Decimal("0.01")))


def _int(data: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        else:
            raise PolicyInvalid(name, "policy.invalid.integer")
    if not low <= value <= high:
        raise PolicyInvalid(name, "policy.invalid.range", low=low, high=high)
    return value


def _decimal(data: dict[str, Any], name: str, default: Decimal | None, *, nullable: bool = False) -> Decimal | None:
    if name not in data:
        return default
    value = data[name]
    if value is None or value == "":
        if nullable:
            return None
        raise PolicyInvalid(name, "policy.invalid.required")
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise PolicyInvalid(name, "policy.invalid.amount")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise PolicyInvalid(name, "policy.invalid.amount") from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_VALUE_LIMIT:
        raise PolicyInvalid(name, "policy.invalid.amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise PolicyInvalid(name, "policy.invalid.amount")
    return amount.quantize(Decimal("0.01"))


def _choices(data: dict[str, Any], name: str, default: frozenset[str], allowed: tuple[str, ...]) -> frozenset[str]:
    if name not in data:
        return default
    value = data[name]
    if not isinstance(value, list | tuple | set | frozenset) or not all(isinstance(v, str) for v in value):
        raise PolicyInvalid(name, "policy.invalid.list")
    for entry in value:
        if entry not in allowed:
            raise PolicyInvalid(name, "policy.invalid.choice", value=entry, allowed=", ".join(allowed))
    return frozenset(value)


def _approvals(value: Any, default: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    if value is None:
        return {env: dict(default[env]) for env in ENVIRONMENTS}
    if not isinstance(value, dict):
        raise PolicyInvalid("approvals", "policy.invalid.approvals")
    result = {env: dict(default[env]) for env in ENVIRONMENTS}
    for env, table in value.items():
        if env not in ENVIRONMENTS:
            raise PolicyInvalid(f"approvals.{env}", "policy.invalid.choice", value=env, allowed=", ".join(ENVIRONMENTS))
        if not isinstance(table, dict):
            raise PolicyInvalid(f"approvals.{env}", "policy.invalid.approvals")
        for priority, count in table.items():
            where = f"approvals.{env}.{priority}"
            if priority not in PRIORITIES:
                raise PolicyInvalid(where, "policy.invalid.choice", value=priority, allowed=", ".join(PRIORITIES))
            if isinstance(count, bool) or count not in (1, 2):
                raise PolicyInvalid(where, "policy.invalid.approver_count")
            result[env][priority] = int(count)
    return result


def _service_levels(value: Any, default: dict[str, float]) -> dict[str, float]:
    """Per class a level in [0.5, 0.999] with at most three decimals; classes not given keep ``default``."""
    result = {name: default[name] for name in CLASSES}
    if value is None:
        return result
    if not isinstance(value, dict):
        raise PolicyInvalid("service_levels", "policy.invalid.service_levels")
    for name, level in value.items():
        where = f"service_levels.{name}"
        if name not in CLASSES:
            raise PolicyInvalid(where, "policy.invalid.choice", value=str(name), allowed=", ".join(CLASSES))
        if isinstance(level, bool) or not isinstance(level, int | float | str | Decimal):
            raise PolicyInvalid(where, "policy.invalid.service_level", low="0.5", high="0.999")
        try:
            number = Decimal(str(level).strip())
        except InvalidOperation:
            raise PolicyInvalid(where, "policy.invalid.service_level", low="0.5", high="0.999") from None
        if (
            not number.is_finite()
            or not SERVICE_LEVEL_LOW <= number <= SERVICE_LEVEL_HIGH
            or number != number.quantize(Decimal("0.001"))
        ):
            raise PolicyInvalid(where, "policy.invalid.service_level", low="0.5", high="0.999")
        result[name] = float(number)
    return result


@dataclass(frozen=True)
class Proposal:
    """The facts of one recommendation that policy looks at."""

    recommendation_id: uuid.UUID
    type: str  # reorder | transfer | write_off | investigate
    priority: str  # low | medium | high
    environment: str  # production | sandbox: the item's connector; "production" when unknown
    item_count: int  # items one action touches
    quantity: Decimal
    value_sar: Decimal | None  # rec.value, else quantity × unit cost, else None
    created_by: str
    last_changed_by: str
    dry_run_done: bool  # a dry run exists for the recommendation's current revision


@dataclass(frozen=True)
class Reason:
    code: str  # message key f"policy.reason.{code}"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def message_key(self) -> str:
        return f"policy.reason.{self.code}"

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params)}


@dataclass(frozen=True)
class Requirements:
    approvals: int  # 1 or 2 distinct approvers
    approver_roles: frozenset[str]
    dry_run_required: bool
    expires_after: timedelta
    remind_before: timedelta

    def to_json(self) -> dict[str, Any]:
        return {
            "approvals": self.approvals,
            "approver_roles": sorted(self.approver_roles, key=_role_order),
            "dry_run_required": self.dry_run_required,
            "expires_after_seconds": int(self.expires_after.total_seconds()),
            "remind_before_seconds": int(self.remind_before.total_seconds()),
        }


@dataclass(frozen=True)
class ProposalDecision:
    allowed: bool  # False: refused by policy (blast radius)
    reasons: tuple[Reason, ...]  # never empty: also says what applied when allowed
    requirements: Requirements

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "outcome": "allowed" if self.allowed else "refused",
            "reasons": [r.to_json() for r in self.reasons],
            "requirements": self.requirements.to_json(),
        }


@dataclass(frozen=True)
class Voter:
    subject: str
    role: str  # the voter's tenant role


@dataclass(frozen=True)
class VoteDecision:
    allowed: bool
    reasons: tuple[Reason, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "outcome": "allowed" if self.allowed else "refused",
            "reasons": [r.to_json() for r in self.reasons],
        }


def _role_order(role: str) -> tuple[int, str]:
    return (APPROVER_ROLES.index(role) if role in APPROVER_ROLES else len(APPROVER_ROLES), role)


def _sar(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')):,.2f}"


def _roles_text(roles: frozenset[str]) -> str:
    return ", ".join(sorted(roles, key=_role_order))


def requirements_of(rules: PolicyRules, proposal: Proposal) -> Requirements:
    return Requirements(
        approvals=rules.approvals_for(proposal.environment, proposal.priority),
        approver_roles=rules.approver_roles,
        dry_run_required=bool(dry_run_reasons(rules, proposal)),
        expires_after=timedelta(hours=rules.expiry_hours),
        remind_before=timedelta(hours=rules.reminder_before_hours),
    )


def dry_run_reasons(rules: PolicyRules, proposal: Proposal) -> tuple[Reason, ...]:
    """Why this recommendation needs a dry run before approval (empty: it does not)."""
    reasons: list[Reason] = []
    if proposal.type in rules.dry_run_required_types:
        reasons.append(Reason("dry_run_required_by_type", {"type": proposal.type}))
    if proposal.priority in rules.dry_run_required_priorities:
        reasons.append(Reason("dry_run_required_by_priority", {"priority": proposal.priority}))
    threshold = rules.dry_run_required_over_value_sar
    if threshold is not None and proposal.value_sar is not None and proposal.value_sar > threshold:
        reasons.append(
            Reason("dry_run_required_by_value", {"value": _sar(proposal.value_sar), "threshold": _sar(threshold)})
        )
    if proposal.environment in rules.dry_run_required_environments:
        reasons.append(Reason("dry_run_required_by_environment", {"environment": proposal.environment}))
    return tuple(reasons)


def evaluate_proposal(rules: PolicyRules, proposal: Proposal) -> ProposalDecision:
    """May this recommendation go to people, and what does its approval need?"""
    requirements = requirements_of(rules, proposal)
    refusals: list[Reason] = []
    if proposal.item_count > rules.max_items_per_action:
        refusals.append(
            Reason(
                "blast_radius_items",
                {"items": str(proposal.item_count), "limit": str(rules.max_items_per_action)},
            )
        )
    if proposal.value_sar is not None and proposal.value_sar > rules.max_value_sar_per_action:
        refusals.append(
            Reason(
                "blast_radius_value",
                {"value": _sar(proposal.value_sar), "limit": _sar(rules.max_value_sar_per_action)},
            )
        )
    if refusals:
        return ProposalDecision(allowed=False, reasons=tuple(refusals), requirements=requirements)
    applied: list[Reason] = [
        Reason(
            "within_limits",
            {
                "items": str(proposal.item_count),
                "item_limit": str(rules.max_items_per_action),
                "value": "—" if proposal.value_sar is None else _sar(proposal.value_sar),
                "value_limit": _sar(rules.max_value_sar_per_action),
            },
        ),
        Reason(
            "approvals_required",
            {
                "count": str(requirements.approvals),
                "roles": _roles_text(requirements.approver_roles),
                "environment": proposal.environment,
                "priority": proposal.priority,
            },
        ),
        *dry_run_reasons(rules, proposal),
        Reason("expires", {"hours": str(rules.expiry_hours), "reminder_hours": str(rules.reminder_before_hours)}),
    ]
    return ProposalDecision(allowed=True, reasons=tuple(applied), requirements=requirements)


def evaluate_vote(
    rules: PolicyRules,
    proposal: Proposal,
    voter: Voter,
    verdict: Literal["approve", "reject"],
    prior_approvers: frozenset[str],
) -> VoteDecision:
    """Does this person's approve (or reject) count? Every refusal reason is listed, not just the first."""
    refusals: list[Reason] = []
    if voter.role not in rules.approver_roles:
        refusals.append(Reason("role_not_allowed", {"role": voter.role, "roles": _roles_text(rules.approver_roles)}))
    if verdict == "reject":
        if refusals:
            return VoteDecision(allowed=False, reasons=tuple(refusals))
        return VoteDecision(allowed=True, reasons=(Reason("rejection_allowed", {"role": voter.role}),))
    if voter.subject == proposal.created_by:
        refusals.append(Reason("four_eyes", {"subject": voter.subject, "relation": "created_by"}))
    elif voter.subject == proposal.last_changed_by:
        refusals.append(Reason("four_eyes", {"subject": voter.subject, "relation": "last_changed_by"}))
    if voter.subject in prior_approvers:
        refusals.append(Reason("already_voted", {"subject": voter.subject}))
    if not proposal.dry_run_done and dry_run_reasons(rules, proposal):
        refusals.append(Reason("dry_run_required", {}))
    if refusals:
        return VoteDecision(allowed=False, reasons=tuple(refusals))
    required = rules.approvals_for(proposal.environment, proposal.priority)
    counted = len(prior_approvers - {voter.subject}) + 1
    return VoteDecision(
        allowed=True,
        reasons=(Reason("approval_counted", {"count": str(counted), "required": str(required)}),),
    )
