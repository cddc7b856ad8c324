"""Service levels per ABC/XYZ class as policy settings: defaults, validation naming the field, partial changes
over the active version, the policies page showing them in both languages, and the analysis using them."""

from __future__ import annotations

import pytest

from atlas.ai_engine.classes import CLASSES, default_service_levels
from atlas.i18n import catalogue, translate
from atlas.policy.rules import PolicyInvalid, PolicyRules
from atlas.policy.services import merge_rules
from tests.mapping.test_sync import setup_connector, sync
from tests.services import html_page


def test_defaults_promise_more_to_valuable_steady_items() -> None:
    levels = PolicyRules().service_levels
    assert set(levels) == set(CLASSES) and levels == default_service_levels()
    assert levels["AX"] == 0.98 and levels["CZ"] == 0.90
    assert levels["AX"] >= levels["BX"] >= levels["CX"] and levels["AX"] >= levels["AY"] >= levels["AZ"]
    assert PolicyRules().to_json()["service_levels"] == levels


def test_round_trip_and_partial_input() -> None:
    rules = PolicyRules.from_json({"service_levels": {"AX": "0.99", "CZ": 0.8}})
    assert rules.service_levels["AX"] == 0.99 and rules.service_levels["CZ"] == 0.8
    assert rules.service_levels["BY"] == default_service_levels()["BY"]
    assert PolicyRules.from_json(rules.to_json()) == rules
    # A stored policy from before service levels existed reads as the defaults.
    assert PolicyRules.from_json({"max_items_per_action": 5}).service_levels == default_service_levels()
    # A change of one class keeps the active version's other classes.
    merged = PolicyRules.from_json(merge_rules(rules, {"service_levels": {"BX": 0.9}}))
    assert merged.service_levels["AX"] == 0.99 and merged.service_levels["BX"] == 0.9


@pytest.mark.parametrize(
    ("value", "field", "key"),
    [
        ([0.9], "service_levels", "policy.invalid.service_levels"),
        ({"AQ": 0.9}, "service_levels.AQ", "policy.invalid.choice"),
        ({"AX": 1.0}, "service_levels.AX", "policy.invalid.service_level"),
        ({"AX": 95}, "service_levels.AX", "policy.invalid.service_level"),
        ({"BY": 0.49}, "service_levels.BY", "policy.invalid.service_level"),
        ({"BY": 0.9755}, "service_levels.BY", "policy.invalid.service_level"),
        ({"CZ": "abc"}, "service_levels.CZ", "policy.invalid.service_level"),
        ({"CZ": "NaN"}, "service_levels.CZ", "policy.invalid.service_level"),
        ({"CZ": True}, "service_levels.CZ", "policy.invalid.service_level"),
        ({"CZ": None}, "service_levels.CZ", "policy.invalid.service_level"),
    ],
)
def test_validation_names_the_class(value: object, field: str, key: str) -> None:
    with pytest.raises(PolicyInvalid) as caught:
        PolicyRules.from_json({"service_levels": value})
    error = caught.value
    assert (error.field, error.message_key, error.status) == (field, key, 422)
    assert key in catalogue()
    for lang in ("en", "ar"):
        assert "{" not in translate(key, lang, **error.params)


def test_the_api_refuses_a_bad_level_naming_the_field(atlas) -> None:
    admin, _ = atlas.new_tenant()
    bad = admin.post(
        "/api/policies",
        json={"rules": {"service_levels": {"AX": 1.5}}},
        headers={"Accept-Language": "en"},
    )
    assert bad.status_code == 422, bad.text
    body = bad.json()
    assert body["field"] == "service_levels.AX" and "service_levels.AX" in body["detail"]
    good = admin.post("/api/policies", json={"rules": {"service_levels": {"AX": 0.99}}})
    assert good.status_code == 201, good.text
    assert good.json()["rules"]["service_levels"]["AX"] == 0.99
    assert good.json()["rules"]["service_levels"]["CZ"] == 0.9


def test_the_page_shows_the_levels_in_both_languages(atlas) -> None:
    admin, _ = atlas.new_tenant()
    assert admin.post("/api/policies", json={"rules": {"service_levels": {"BY": 0.925}}}).status_code == 201
    try:
        admin.cookies.set("atlas_lang", "en")
        english = html_page(admin, "/app/policies").text
        admin.cookies.set("atlas_lang", "ar")
        arabic = html_page(admin, "/app/policies").text
    finally:
        admin.cookies.delete("atlas_lang")
    assert "Service levels by item class" in english and "steady demand" in english
    assert "مستويات الخدمة حسب فئة الصنف" in arabic and "طلب مستقر" in arabic
    for page in (english, arabic):
        assert 'data-testid="policy-service-level-AX"' in page and 'value="98"' in page
        assert 'data-service-level="BY"' in page and 'value="92.5"' in page


def test_the_analysis_uses_the_policy_service_levels(stack, demo_erp_url) -> None:
    admin, _ = stack.atlas.new_tenant()
    levels = dict.fromkeys(CLASSES, 0.6)
    levels["AX"] = 0.99
    assert admin.post("/api/policies", json={"rules": {"service_levels": levels}}).status_code == 201
    connector_id = setup_connector(admin, demo_erp_url)
    assert sync(admin, connector_id)["status"] == "succeeded"
    response = admin.post("/api/recommendations")
    assert response.status_code == 200, response.text
    reorders = [r for r in response.json()["recommendations"] if r["type"] == "reorder"]
    assert reorders
    for rec in reorders:
        figures = rec["evidence"]["figures"]
        assert figures["service_class"] in CLASSES
        assert figures["service_level"] == levels[figures["service_class"]], figures
        assert figures["safety_stock"] == pytest.approx(
            figures["reorder_point"] - figures["demand_over_lead_time"], abs=0.11
        )
