"""Policy evaluation as a pure function: defaults, each limit, each dry-run criterion, approvals by environment
and priority, four-eyes, double votes, roles, and strict validation of a saved policy."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.i18n import catalogue, translate
from atlas.policy.rules import (
    ENVIRONMENTS,
    PRIORITIES,
    TYPES,
    PolicyInvalid,
    PolicyRules,
    Proposal,
    Reason,
    Voter,
    evaluate_proposal,
    evaluate_vote,
)

DEFAULTS = PolicyRules()


def proposal(**changes: Any) -> Proposal:
    base = Proposal(
        recommendation_id=uuid.uuid4(),
        type="reorder",
        priority="medium",
        environment="sandbox",
        item_count=1,
        quantity=Decimal(10),
        value_sar=Decimal(1000),
        created_by="ai_engine",
        last_changed_by="ai_engine",
        dry_run_done=False,
    )
    return replace(base, **changes)


def codes(reasons: tuple[Reason, ...]) -> list[str]:
    return [r.code for r in reasons]


def test_defaults_for_a_new_tenant():
    assert DEFAULTS.max_items_per_action == 50
    assert DEFAULTS.max_value_sar_per_action == Decimal(250000)
    assert DEFAULTS.dry_run_required_types == {"transfer", "write_off"}
    assert DEFAULTS.dry_run_required_over_value_sar == Decimal(50000)
    assert DEFAULTS.dry_run_required_environments == {"production"}
    assert DEFAULTS.approvals_for("production", "high") == 2
    assert DEFAULTS.approvals_for("production", "medium") == 1
    assert DEFAULTS.approvals_for("sandbox", "high") == 1
    assert DEFAULTS.approver_roles == {"operator", "admin"}
    decision = evaluate_proposal(DEFAULTS, proposal())
    assert decision.allowed
    assert codes(decision.reasons) == ["within_limits", "approvals_required", "expires"]
    assert decision.requirements.approvals == 1 and not decision.requirements.dry_run_required
    assert decision.requirements.expires_after == timedelta(hours=72)
    assert decision.requirements.remind_before == timedelta(hours=24)


def test_an_unknown_environment_counts_as_production():
    assert DEFAULTS.approvals_for("staging", "high") == 2
    decision = evaluate_proposal(DEFAULTS, proposal(environment="production", priority="high"))
    assert decision.requirements.approvals == 2 and decision.requirements.dry_run_required


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({"item_count": 50}, []),
        ({"item_count": 51}, ["blast_radius_items"]),
        ({"value_sar": Decimal("250000.00")}, []),
        ({"value_sar": Decimal("250000.01")}, ["blast_radius_value"]),
        ({"item_count": 60, "value_sar": Decimal(10**7)}, ["blast_radius_items", "blast_radius_value"]),
        ({"value_sar": None}, []),  # an unknown value cannot break the value limit
    ],
)
def test_blast_radius_limits(changes, refused):
    decision = evaluate_proposal(DEFAULTS, proposal(**changes))
    assert decision.allowed is (not refused)
    if refused:
        assert codes(decision.reasons) == refused
        first = decision.reasons[0]
        assert translate(first.message_key, "en", **first.params).startswith("Refused by policy")
    else:
        assert "within_limits" in codes(decision.reasons)


def test_a_refusal_names_the_figures():
    decision = evaluate_proposal(replace(DEFAULTS, max_items_per_action=3), proposal(item_count=4))
    assert decision.reasons[0].params == {"items": "4", "limit": "3"}
    value = evaluate_proposal(DEFAULTS, proposal(value_sar=Decimal("300000")))
    assert value.reasons[0].params == {"value": "300,000.00", "limit": "250,000.00"}


@pytest.mark.parametrize(
    ("rules", "changes", "expected"),
    [
        (DEFAULTS, {"type": "transfer"}, ["dry_run_required_by_type"]),
        (DEFAULTS, {"type": "write_off"}, ["dry_run_required_by_type"]),
        (DEFAULTS, {"type": "investigate"}, []),
        (
            replace(DEFAULTS, dry_run_required_priorities=frozenset({"high"})),
            {"priority": "high"},
            ["dry_run_required_by_priority"],
        ),
        (replace(DEFAULTS, dry_run_required_priorities=frozenset({"high"})), {"priority": "low"}, []),
        (DEFAULTS, {"value_sar": Decimal("50000.01")}, ["dry_run_required_by_value"]),
        (DEFAULTS, {"value_sar": Decimal("50000")}, []),
        (replace(DEFAULTS, dry_run_required_over_value_sar=None), {"value_sar": Decimal(10**5)}, []),
        (DEFAULTS, {"environment": "production"}, ["dry_run_required_by_environment"]),
        (
            DEFAULTS,
            {"type": "write_off", "environment": "production", "value_sar": Decimal(60000)},
            ["dry_run_required_by_type", "dry_run_required_by_value", "dry_run_required_by_environment"],
        ),
    ],
)
def test_each_dry_run_criterion(rules, changes, expected):
    decision = evaluate_proposal(rules, proposal(**changes))
    assert [c for c in codes(decision.reasons) if c.startswith("dry_run")] == expected
    assert decision.requirements.dry_run_required is bool(expected)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("priority", PRIORITIES)
def test_approvals_follow_environment_and_priority(environment, priority):
    table = {"production": {"low": 2, "medium": 1, "high": 2}, "sandbox": {"low": 1, "medium": 2, "high": 1}}
    rules = PolicyRules.from_json({"approvals": table})
    decision = evaluate_proposal(rules, proposal(environment=environment, priority=priority))
    assert decision.requirements.approvals == table[environment][priority]
    approvals = next(r for r in decision.reasons if r.code == "approvals_required")
    assert approvals.params["count"] == str(table[environment][priority])


def test_four_eyes_on_created_by_and_last_changed_by():
    rec = proposal(created_by="user:a", last_changed_by="user:b")
    for subject in ("user:a", "user:b"):
        vote = evaluate_vote(DEFAULTS, rec, Voter(subject, "operator"), "approve", frozenset())
        assert not vote.allowed and codes(vote.reasons) == ["four_eyes"]
    assert evaluate_vote(DEFAULTS, rec, Voter("user:c", "operator"), "approve", frozenset()).allowed
    # Rejecting is not approving: the author may reject their own change.
    assert evaluate_vote(DEFAULTS, rec, Voter("user:a", "operator"), "reject", frozenset()).allowed


def test_one_person_counts_once():
    rec = proposal(environment="production", priority="high", dry_run_done=True)
    first = evaluate_vote(DEFAULTS, rec, Voter("user:x", "operator"), "approve", frozenset())
    assert first.allowed and first.reasons[0].params == {"count": "1", "required": "2"}
    again = evaluate_vote(DEFAULTS, rec, Voter("user:x", "admin"), "approve", frozenset({"user:x"}))
    assert not again.allowed and codes(again.reasons) == ["already_voted"]
    second = evaluate_vote(DEFAULTS, rec, Voter("user:y", "admin"), "approve", frozenset({"user:x"}))
    assert second.allowed and second.reasons[0].params == {"count": "2", "required": "2"}


def test_roles_that_may_not_decide():
    rec = proposal()
    for verdict in ("approve", "reject"):
        vote = evaluate_vote(DEFAULTS, rec, Voter("user:v", "viewer"), verdict, frozenset())
        assert not vote.allowed and codes(vote.reasons) == ["role_not_allowed"]
        assert vote.reasons[0].params == {"role": "viewer", "roles": "operator, admin"}
    admins_only = replace(DEFAULTS, approver_roles=frozenset({"admin"}))
    assert not evaluate_vote(admins_only, rec, Voter("user:o", "operator"), "approve", frozenset()).allowed
    assert evaluate_vote(admins_only, rec, Voter("user:a", "admin"), "approve", frozenset()).allowed


def test_approval_needs_the_dry_run_when_policy_asks_for_one():
    rec = proposal(type="transfer")
    vote = evaluate_vote(DEFAULTS, rec, Voter("user:o", "operator"), "approve", frozenset())
    assert not vote.allowed and codes(vote.reasons) == ["dry_run_required"]
    assert evaluate_vote(
        DEFAULTS, replace(rec, dry_run_done=True), Voter("user:o", "operator"), "approve", frozenset()
    ).allowed
    # A reject never waits for a dry run.
    assert evaluate_vote(DEFAULTS, rec, Voter("user:o", "operator"), "reject", frozenset()).allowed


def test_every_refusal_is_listed():
    rec = proposal(type="transfer", created_by="user:v")
    vote = evaluate_vote(DEFAULTS, rec, Voter("user:v", "viewer"), "approve", frozenset({"user:v"}))
    assert codes(vote.reasons) == ["role_not_allowed", "four_eyes", "already_voted", "dry_run_required"]


def test_decisions_serialise_for_the_audit_trail():
    decision = evaluate_proposal(DEFAULTS, proposal(item_count=99))
    data = decision.to_json()
    assert data["allowed"] is False and data["outcome"] == "refused"
    assert data["reasons"] == [{"code": "blast_radius_items", "params": {"items": "99", "limit": "50"}}]
    assert data["requirements"]["approver_roles"] == ["operator", "admin"]
    vote = evaluate_vote(DEFAULTS, proposal(), Voter("u", "operator"), "approve", frozenset()).to_json()
    assert vote["outcome"] == "allowed"


def test_every_reason_has_a_message_in_both_languages():
    entries = catalogue()
    for code in (
        "blast_radius_items",
        "blast_radius_value",
        "within_limits",
        "approvals_required",
        "dry_run_required_by_type",
        "dry_run_required_by_priority",
        "dry_run_required_by_value",
        "dry_run_required_by_environment",
        "expires",
        "role_not_allowed",
        "rejection_allowed",
        "four_eyes",
        "already_voted",
        "dry_run_required",
        "approval_counted",
    ):
        assert f"policy.reason.{code}" in entries, code


def test_round_trip_and_partial_input():
    assert PolicyRules.from_json(DEFAULTS.to_json()) == DEFAULTS
    assert PolicyRules.from_json({}) == DEFAULTS
    rules = PolicyRules.from_json(
        {
            "max_value_sar_per_action": "1000.5",
            "dry_run_required_over_value_sar": None,
            "approvals": {"sandbox": {"high": 2}},
        }
    )
    assert rules.max_value_sar_per_action == Decimal("1000.50")
    assert rules.dry_run_required_over_value_sar is None
    assert rules.approvals_for("sandbox", "high") == 2 and rules.approvals_for("production", "high") == 2


@pytest.mark.parametrize(
    ("data", "field", "key"),
    [
        ([], "rules", "policy.invalid.not_an_object"),
        ({"max_items": 3}, "max_items", "policy.invalid.unknown_field"),
        ({"max_items_per_action": 0}, "max_items_per_action", "policy.invalid.range"),
        ({"max_items_per_action": 2.5}, "max_items_per_action", "policy.invalid.integer"),
        ({"max_items_per_action": True}, "max_items_per_action", "policy.invalid.integer"),
        ({"max_value_sar_per_action": -1}, "max_value_sar_per_action", "policy.invalid.amount"),
        ({"max_value_sar_per_action": "abc"}, "max_value_sar_per_action", "policy.invalid.amount"),
        ({"max_value_sar_per_action": "NaN"}, "max_value_sar_per_action", "policy.invalid.amount"),
        ({"max_value_sar_per_action": "1.001"}, "max_value_sar_per_action", "policy.invalid.amount"),
        ({"max_value_sar_per_action": None}, "max_value_sar_per_action", "policy.invalid.required"),
        ({"dry_run_required_types": "transfer"}, "dry_run_required_types", "policy.invalid.list"),
        ({"dry_run_required_types": ["ship"]}, "dry_run_required_types", "policy.invalid.choice"),
        ({"dry_run_required_environments": ["staging"]}, "dry_run_required_environments", "policy.invalid.choice"),
        ({"approvals": {"production": {"high": 3}}}, "approvals.production.high", "policy.invalid.approver_count"),
        ({"approvals": {"production": {"urgent": 1}}}, "approvals.production.urgent", "policy.invalid.choice"),
        ({"approvals": {"staging": {"high": 1}}}, "approvals.staging", "policy.invalid.choice"),
        ({"approvals": []}, "approvals", "policy.invalid.approvals"),
        ({"approver_roles": []}, "approver_roles", "policy.invalid.no_approver_role"),
        ({"approver_roles": ["viewer"]}, "approver_roles", "policy.invalid.choice"),
        ({"expiry_hours": 0}, "expiry_hours", "policy.invalid.range"),
        (
            {"expiry_hours": 10, "reminder_before_hours": 10},
            "reminder_before_hours",
            "policy.invalid.reminder_after_expiry",
        ),
    ],
)
def test_validation_names_the_field(data, field, key):
    with pytest.raises(PolicyInvalid) as caught:
        PolicyRules.from_json(data)
    error = caught.value
    assert (error.field, error.message_key, error.status) == (field, key, 422)
    assert error.extra == {"field": field}
    assert key in catalogue()
    assert "{" not in translate(key, "en", **error.params) and "{" not in translate(key, "ar", **error.params)


policies = st.builds(
    lambda items, value, types, prios, over, envs, table, roles, expiry, remind: PolicyRules.from_json(
        {
            "max_items_per_action": items,
            "max_value_sar_per_action": str(value),
            "dry_run_required_types": types,
            "dry_run_required_priorities": prios,
            "dry_run_required_over_value_sar": None if over is None else str(over),
            "dry_run_required_environments": envs,
            "approvals": table,
            "approver_roles": roles,
            "expiry_hours": expiry,
            "reminder_before_hours": min(remind, expiry - 1),
        }
    ),
    st.integers(1, 1000),
    st.decimals(min_value=1, max_value=10**9, places=2),
    st.lists(st.sampled_from(TYPES), unique=True),
    st.lists(st.sampled_from(PRIORITIES), unique=True),
    st.none() | st.decimals(min_value=1, max_value=10**9, places=2),
    st.lists(st.sampled_from(ENVIRONMENTS), unique=True),
    st.fixed_dictionaries(
        {e: st.fixed_dictionaries({p: st.sampled_from([1, 2]) for p in PRIORITIES}) for e in ENVIRONMENTS}
    ),
    st.lists(st.sampled_from(["operator", "admin"]), unique=True, min_size=1),
    st.integers(1, 1000),
    st.integers(0, 1000),
)
proposals = st.builds(
    Proposal,
    recommendation_id=st.uuids(),
    type=st.sampled_from(TYPES),
    priority=st.sampled_from(PRIORITIES),
    environment=st.sampled_from([*ENVIRONMENTS, "unknown"]),
    item_count=st.integers(1, 2000),
    quantity=st.decimals(min_value=0, max_value=10**6, places=4),
    value_sar=st.none() | st.decimals(min_value=0, max_value=10**10, places=2),
    created_by=st.sampled_from(["ai_engine", "user:a"]),
    last_changed_by=st.sampled_from(["ai_engine", "user:a", "user:b"]),
    dry_run_done=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(policies, proposals)
def test_properties_of_any_policy_and_proposal(rules, rec):
    assert PolicyRules.from_json(rules.to_json()) == rules
    decision = evaluate_proposal(rules, rec)
    assert decision.reasons  # never without a reason
    over_items = rec.item_count > rules.max_items_per_action
    over_value = rec.value_sar is not None and rec.value_sar > rules.max_value_sar_per_action
    assert decision.allowed is not (over_items or over_value)
    assert decision.requirements.approvals in (1, 2)
    env = rec.environment if rec.environment in ENVIRONMENTS else "production"
    assert decision.requirements.approvals == rules.approvals[env][rec.priority]
    for reason in decision.reasons:
        assert all(isinstance(v, str) for v in reason.params.values())
    voter = Voter("user:a", "operator")
    vote = evaluate_vote(rules, rec, voter, "approve", frozenset())
    if "user:a" in (rec.created_by, rec.last_changed_by):
        assert not vote.allowed  # four-eyes, whatever the policy says
    if vote.allowed:
        assert "operator" in rules.approver_roles
        assert rec.dry_run_done or not decision.requirements.dry_run_required
