"""Draft content and connector action templates, as pure functions (no database, no network)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date
from decimal import Decimal

import pytest

from atlas.errors import ValidationFailed
from atlas.execution_lock.action import AnomalyFacts, ConnectorFacts, ItemFacts, LocationFacts, RecommendationFacts
from atlas.execution_lock.drafts import build_draft
from atlas.execution_lock.services import CSV_COLUMNS, to_csv
from atlas.execution_lock.templates import TemplateInvalid, render_request, validate_action_templates
from tests.execution_lock.seed import API_KEY, TEMPLATES

TODAY = date(2026, 12, 3)
REC_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")
ITEM = ItemFacts(uuid.uuid4(), "SKU-1", "Widget ودجت", "ext/1 a", "pcs", Decimal("12.50"), 5)
STORE = LocationFacts(uuid.uuid4(), "ST-1", "Store One", "s1", Decimal(4))
WAREHOUSE = LocationFacts(uuid.uuid4(), "WH-1", "Main Warehouse", "w1", Decimal(100))
CONNECTOR = ConnectorFacts(
    id=uuid.uuid4(),
    name="ERP",
    base_url="https://erp.example.sa/base/",
    environment="production",
    auth_kind="api_key",
    auth_settings={"key_name": "X-API-Key", "key_location": "header"},
    action_templates=validate_action_templates(TEMPLATES),
)


def rec(type_: str, quantity: str, value: str | None = None, revision: int = 0) -> RecommendationFacts:
    return RecommendationFacts(REC_ID, type_, "high", Decimal(quantity), Decimal(value) if value else None, revision)


def test_reorder_is_a_purchase_order_line_with_a_needed_by_date_and_the_request_that_would_be_sent():
    draft = build_draft(rec("reorder", "40"), item=ITEM, location=STORE, connector=CONNECTOR, today=TODAY)
    action = draft.action
    assert action["action_type"] == "reorder"
    assert (action["item_sku"], action["item_name"], action["location_code"]) == ("SKU-1", "Widget ودجت", "ST-1")
    assert action["quantity"] == 40
    assert action["needed_by"] == "2026-12-08"  # today + the item's lead time of 5 days
    assert action["value"] == 500  # 40 × 12.50: the recommendation had no value
    assert action["reference"] == "ATLAS-12345678-R0"
    assert draft.impact == {
        "items": 1,
        "quantity": 40,
        "value_sar": "500.00",
        "locations": ["ST-1"],
        "stock": [
            {
                "location_code": "ST-1",
                "location_name": "Store One",
                "available_before": 4,
                "change": 40,
                "available_after": 44,
            }
        ],
    }
    request = draft.request
    assert request is not None
    assert request["method"] == "POST"
    assert request["url"] == "https://erp.example.sa/base/api/v1/purchase-orders"
    assert request["body"] == {
        "line": {"sku": "SKU-1", "quantity": 40, "warehouse": "ST-1", "needed_by": "2026-12-08"},
        "source": "atlas",
    }
    assert request["sendable"] is False
    assert request["headers"]["Content-Type"] == "application/json"
    assert "not included" in request["headers"]["X-API-Key"]
    assert "never executes" in request["note"]


def test_a_missing_lead_time_uses_seven_days_and_a_missing_cost_leaves_the_value_unknown():
    item = ItemFacts(uuid.uuid4(), "S", "N", "e", None, None, None)
    draft = build_draft(rec("reorder", "3"), item=item, location=STORE, today=TODAY)
    assert draft.action["needed_by"] == "2026-12-10"
    assert draft.action["value"] is None
    assert draft.impact["value_sar"] is None
    assert draft.request is None  # no connector: nothing to render
    assert "—" in draft.summary_en


def test_transfer_names_from_and_to_and_renders_the_path_from_the_draft():
    draft = build_draft(
        rec("transfer", "20"), item=ITEM, location=STORE, from_location=WAREHOUSE, connector=CONNECTOR, today=TODAY
    )
    action = draft.action
    assert (action["from_location_code"], action["to_location_code"], action["quantity"]) == ("WH-1", "ST-1", 20)
    assert [(s["location_code"], s["change"], s["available_after"]) for s in draft.impact["stock"]] == [
        ("WH-1", -20, 80),
        ("ST-1", 20, 24),
    ]
    assert draft.request is not None
    assert draft.request["method"] == "PUT"  # normalised when the template was validated
    # The item's external id is URL-encoded into the path.
    assert draft.request["url"] == "https://erp.example.sa/base/api/v1/items/ext%2F1%20a/transfers"
    assert draft.request["body"] == {"from": "WH-1", "to": "ST-1", "qty": 20}
    assert draft.summary_en == "Transfer: 20 pcs of Widget ودجت (SKU-1) from Main Warehouse (WH-1) to Store One (ST-1)."
    assert "نقل" in draft.summary_ar and "20" in draft.summary_ar and "WH-1" in draft.summary_ar


def test_write_off_keeps_the_value_and_has_no_request_without_a_template():
    draft = build_draft(
        rec("write_off", "30.5", "381.25"), item=ITEM, location=WAREHOUSE, connector=CONNECTOR, today=TODAY
    )
    assert draft.action["quantity"] == 30.5
    assert draft.action["value"] == 381.25
    assert draft.impact["stock"][0]["available_after"] == 69.5
    assert draft.request is None  # the connector declares no write_off template
    assert draft.summary_en == "Write-off: 30.5 pcs of Widget ودجت (SKU-1) at Main Warehouse (WH-1); value 381.25 SAR."
    assert "شطب" in draft.summary_ar and "381.25" in draft.summary_ar


def test_investigate_is_a_task_without_stock_changes():
    anomaly = AnomalyFacts("demand_spike", "high", 40.0, 4.0, date(2026, 11, 30))
    draft = build_draft(rec("investigate", "0"), item=ITEM, location=STORE, anomaly=anomaly, today=TODAY)
    assert draft.action["anomaly_type"] == "demand_spike"
    assert draft.action["anomaly_occurred_on"] == "2026-11-30"
    assert draft.action["task"] == "Investigate Widget ودجت at Store One: anomaly (demand_spike)."
    assert draft.impact["stock"] == [] and draft.impact["quantity"] == 0 and draft.impact["locations"] == ["ST-1"]
    assert "تحقق" in draft.summary_ar


def test_no_secret_ever_reaches_a_rendered_request():
    for kind in ("bearer", "oauth2_client_credentials"):
        request = render_request(
            CONNECTOR.action_templates["reorder"],
            {"item_sku": "x"},
            base_url="http://h",
            auth_kind=kind,
            auth_settings={},
        )
        assert request["headers"]["Authorization"] == "Bearer •••• (not included)"
    for kind, settings, header, value in (
        ("basic", {"username": "ops"}, "Authorization", "Basic •••• (not included)"),
        ("header", {"scheme": "Token"}, "Authorization", "Token •••• (not included)"),
        ("session_login", {"login_url": "http://h/Login"}, "Cookie", "•••• (the session's cookies, not included)"),
    ):
        request = render_request(
            CONNECTOR.action_templates["reorder"], {}, base_url="http://h", auth_kind=kind, auth_settings=settings
        )
        assert request["headers"][header] == value, kind
    query = render_request(
        CONNECTOR.action_templates["reorder"],
        {},
        base_url="http://h",
        auth_kind="api_key",
        auth_settings={"key_name": "key", "key_location": "query"},
    )
    assert "?" not in query["url"] and "not included" in query["auth"]
    # The facts a draft is built from cannot even carry the secret: the connector's facts have no such field.
    assert API_KEY not in json.dumps(
        build_draft(rec("reorder", "1"), item=ITEM, location=STORE, connector=CONNECTOR, today=TODAY).request
    )


@pytest.mark.parametrize(
    ("templates", "field"),
    [
        ({"ship": {"method": "POST", "path": "/x"}}, "action_templates.ship"),
        ({"reorder": {"method": "GET", "path": "/x"}}, "action_templates.reorder.method"),
        ({"reorder": {"method": "DELETE", "path": "/x"}}, "action_templates.reorder.method"),
        ({"reorder": {"method": "POST", "path": "https://evil.example/x"}}, "action_templates.reorder.path"),
        ({"reorder": {"method": "POST", "path": "//evil.example/x"}}, "action_templates.reorder.path"),
        ({"reorder": {"method": "POST", "path": "/a/../b"}}, "action_templates.reorder.path"),
        ({"reorder": {"method": "POST", "path": "x"}}, "action_templates.reorder.path"),
        ({"reorder": {"method": "POST", "path": "/x/{secret}"}}, "action_templates.reorder.path"),
        ({"reorder": {"method": "POST", "path": "/x", "body": {"a": "api_key"}}}, "action_templates.reorder.body.a"),
        (
            {"reorder": {"method": "POST", "path": "/x", "body": {"a": {"value": [1]}}}},
            "action_templates.reorder.body.a",
        ),
        (
            {"reorder": {"method": "POST", "path": "/x", "body": {"a b": "quantity"}}},
            "action_templates.reorder.body.a b",
        ),
        (
            {"reorder": {"method": "POST", "path": "/x", "body": {"a": "quantity", "a.b": "item_sku"}}},
            "action_templates.reorder.body.a.b",
        ),
        ({"reorder": {"method": "POST", "path": "/x", "headers": {}}}, "action_templates.reorder.headers"),
        # A field of another action type's draft is not this one's.
        (
            {"write_off": {"method": "POST", "path": "/x", "body": {"d": "needed_by"}}},
            "action_templates.write_off.body.d",
        ),
        ([], "action_templates"),
    ],
)
def test_invalid_templates_are_refused_naming_the_field(templates, field):
    with pytest.raises(TemplateInvalid) as caught:
        validate_action_templates(templates)
    assert caught.value.field == field
    assert isinstance(caught.value, ValidationFailed) and caught.value.status == 422
    assert caught.value.message_key.startswith("errors.template_")


def test_valid_templates_are_normalised():
    assert validate_action_templates(None) == {}
    assert validate_action_templates({}) == {}
    clean = validate_action_templates(
        {"investigate": {"method": " patch ", "path": "/tasks?source=atlas", "body": {"n": {"value": None}}}}
    )
    assert clean == {"investigate": {"method": "PATCH", "path": "/tasks?source=atlas", "body": {"n": {"value": None}}}}


def test_csv_has_a_bom_a_header_and_quotes_formulas():
    rows = [
        {
            "id": "d1",
            "created_at": "2026-12-03T10:00:00+00:00",
            "kind": "blocked",
            "action_type": "reorder",
            "recommendation_id": "r1",
            "revision": 0,
            "action": {"item_sku": "SKU-1", "item_name": '=HYPERLINK("http://x")', "quantity": -3, "value": 10.5},
            "request": {"method": "POST", "url": "http://h/x", "body": {"a": 1}},
            "summary_en": "Purchase order line",
            "summary_ar": "أمر شراء",
            "created_by": "system",
            "correlation_id": "c",
        }
    ]
    data = to_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    assert parsed[0] == list(CSV_COLUMNS)
    row = dict(zip(parsed[0], parsed[1], strict=True))
    assert row["item_name"] == '\'=HYPERLINK("http://x")'  # would run as a formula in a spreadsheet
    assert row["quantity"] == "-3"  # a number stays a number
    assert row["summary_ar"] == "أمر شراء"
    assert json.loads(row["request_body"]) == {"a": 1}


def test_a_draft_is_still_made_when_facts_are_missing():
    """The lock must always end in a draft: a transfer whose source location is gone says "?"."""
    draft = build_draft(rec("transfer", "2"), item=ITEM, location=STORE, from_location=None, today=TODAY)
    assert draft.action["from_location_code"] == "?" and draft.action["to_location_code"] == "ST-1"
    assert draft.impact["stock"][0]["available_before"] is None
