"""The mapping pages: the editor, the mappings card on a connector's page and capability discovery,
over HTTP and in Chromium."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from atlas.mapping.demo_setup import DEMO_MAPPINGS, demo_connector_body
from tests import browser_pages
from tests.services import HTML
from tests.services import html_page as page


def create_connector(client: httpx.Client, base_url: str) -> dict[str, Any]:
    body = demo_connector_body(base_url, name=f"Demo ERP {uuid.uuid4().hex[:6]}")
    response = client.post("/api/connectors", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def create_mapping(client: httpx.Client, connector_id: str, key: str, note: str = "first") -> dict[str, Any]:
    response = client.post(
        "/api/mappings",
        json={"connector_id": connector_id, "endpoint_key": key, "spec": DEMO_MAPPINGS[key], "note": note},
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def editor_url(connector_id: str, key: str) -> str:
    return f"/app/connectors/{connector_id}/mappings/{key}"


# --- HTTP ------------------------------------------------------------------------------------------


def test_the_editor_shows_an_existing_mapping_and_its_versions(atlas, demo_erp_url):
    admin, _ = atlas.new_tenant()
    connector = create_connector(admin, demo_erp_url)
    mapping = create_mapping(admin, connector["id"], "movements", note="Demo movements")

    response = page(admin, editor_url(connector["id"], "movements"))
    assert response.status_code == 200, response.text[:500]
    html = response.text
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    for testid in ("mapping-editor", "record-path", "save-mapping", "preview-button", "add-transform", "version-row"):
        assert f'data-testid="{testid}"' in html, testid
    assert 'data-testid="activate-version"' not in html  # the only version is the active one
    assert f'data-mapping-id="{mapping["id"]}"' in html
    assert 'name="record_path" value="$.movements"' in html
    # One row per canonical field of stock movements, the required ones marked.
    for name in ("external_id", "item_ref", "location_ref", "occurred_at", "quantity", "kind", "reference"):
        assert f'data-field="{name}"' in html, name
        for suffix in ("mode", "path", "constant"):
            assert f'name="fields.{name}.{suffix}"' in html, (name, suffix)
    assert html.count('data-testid="field-row"') == 9  # and level, level_key (issue 14)
    assert 'data-field="kind" data-type="movement_kind"\n               data-required="true"' in html
    assert 'name="fields.item_ref.path" value="$.sku"' in html
    # The transforms come with the model the script renders them from.
    assert '"op": "negate_when"' in html or '"op":"negate_when"' in html
    assert "GOODS_RECEIPT" in html
    assert "نوع الحركة" in html and "مسار السجلات" in html  # Arabic labels
    assert 'data-testid="mapping-status" data-active-version="1"' in html
    assert "Demo movements" in html

    # A second version: the first can be activated again and the two compared.
    spec = json.loads(json.dumps(DEMO_MAPPINGS["movements"]))
    spec["fields"]["reference"] = {"constant": "ERP"}
    response = admin.post(f"/api/mappings/{mapping['id']}/versions", json={"spec": spec, "note": "constant reference"})
    assert response.status_code == 201, response.text
    html = page(admin, editor_url(connector["id"], "movements")).text
    assert html.count('data-testid="version-row"') == 2
    assert 'data-activate-version="1"' in html and 'data-activate-version="2"' not in html
    assert 'data-testid="diff-table"' in html and 'name="diff_left"' in html
    assert 'name="fields.reference.constant" value="ERP"' in html
    assert '<option value="constant" data-i18n="mappings.editor.mode.constant" selected>' in html

    english = page(admin, editor_url(connector["id"], "movements"), cookies={"atlas_lang": "en"}).text
    assert 'dir="ltr"' in english and "Mapping editor" in english and "Version history" in english


def test_the_editor_of_an_unmapped_endpoint_starts_from_the_endpoint(atlas, demo_erp_url):
    admin, _ = atlas.new_tenant()
    connector = create_connector(admin, demo_erp_url)
    response = page(admin, editor_url(connector["id"], "stock"))
    assert response.status_code == 200, response.text[:500]
    html = response.text
    assert 'data-mapping-id=""' in html
    assert 'data-testid="mapping-status" data-active-version=""' in html
    assert 'data-testid="version-row"' not in html
    assert 'name="record_path" value="$.items"' in html  # the endpoint's record path
    for name in ("item_ref", "location_ref", "quantity", "reserved_qty", "available_qty", "as_of"):
        assert f'data-field="{name}"' in html, name
    assert html.count('data-required="true"') == 2  # item_ref, quantity (no location: the "no location" bucket)
    assert 'data-testid="save-mapping"' in html and 'data-testid="preview-button"' in html
    assert "الكمية ناقص المحجوز" in html  # what Atlas fills in itself

    assert page(admin, editor_url(connector["id"], "no-such-endpoint")).status_code == 404
    assert page(admin, editor_url(str(uuid.uuid4()), "items")).status_code == 404


def test_the_connector_page_lists_each_endpoints_mapping(atlas, demo_erp_url):
    admin, _ = atlas.new_tenant()
    connector = create_connector(admin, demo_erp_url)
    create_mapping(admin, connector["id"], "items")
    html = page(admin, f"/app/connectors/{connector['id']}").text
    assert 'data-testid="mappings-section"' in html
    assert html.count('data-testid="mapping-row"') == 5  # the demo ERP's five endpoints
    assert 'data-testid="mapping-row" data-endpoint="items" data-mapped="true" data-active-version="1"' in html
    assert 'data-testid="mapping-row" data-endpoint="stock" data-mapped="false"' in html
    assert f'href="/app/connectors/{connector["id"]}/mappings/warehouses"' in html
    assert f'href="/app/connectors/{connector["id"]}/discover" data-testid="discover-link"' in html

    viewer, _ = atlas.member_client(admin, "viewer")
    html = page(viewer, f"/app/connectors/{connector['id']}").text
    assert html.count('data-testid="mapping-row"') == 5
    assert 'data-testid="discover-link"' not in html


def test_viewers_and_operators_see_no_editing_controls(atlas, demo_erp_url):
    admin, _ = atlas.new_tenant()
    connector = create_connector(admin, demo_erp_url)
    mapping = create_mapping(admin, connector["id"], "items")
    spec = json.loads(json.dumps(DEMO_MAPPINGS["items"]))
    spec["fields"]["name"] = {"path": "$.description.ar"}
    assert admin.post(f"/api/mappings/{mapping['id']}/versions", json={"spec": spec}).status_code == 201
    for role in ("viewer", "operator"):
        client, _ = atlas.member_client(admin, role)
        response = page(client, editor_url(connector["id"], "items"))
        assert response.status_code == 200, (role, response.status_code)
        html = response.text
        for testid in ("save-mapping", "activate-version", "preview-button"):
            assert f'data-testid="{testid}"' not in html, (role, testid)
        assert 'data-testid="mapping-read-only"' in html
        assert html.count('data-testid="version-row"') == 2
        assert '<fieldset class="mapping-fieldset" disabled>' in html
        assert 'name="fields.name.path" value="$.description.ar"' in html
        assert "DEMO-API-KEY-2024" not in html
        discovery = page(client, f"/app/connectors/{connector['id']}/discover")
        assert discovery.status_code == 403, (role, discovery.status_code)


def test_the_discovery_page_explains_it_only_reads(atlas, demo_erp_url):
    admin, _ = atlas.new_tenant()
    connector = create_connector(admin, demo_erp_url)
    response = page(admin, f"/app/connectors/{connector['id']}/discover")
    assert response.status_code == 200, response.text[:500]
    html = response.text
    assert 'data-testid="discover-button"' in html
    assert "GET" in html and "HEAD" not in html and "OPTIONS" not in html  # GETs only (read-RPC: its own read call)
    assert "للقراءة فقط" in html
    assert connector["base_url"] in html and "DEMO-API-KEY-2024" not in html
    english = page(admin, f"/app/connectors/{connector['id']}/discover", cookies={"atlas_lang": "en"}).text
    assert "Discover" in english and "Discovery only reads" in english and "Apply all" in english


def test_another_tenants_connector_is_not_found(atlas, demo_erp_url):
    admin, _ = atlas.new_tenant()
    connector = create_connector(admin, demo_erp_url)
    create_mapping(admin, connector["id"], "items", note="secret note of tenant A")
    other, _ = atlas.new_tenant()
    for path in (editor_url(connector["id"], "items"), f"/app/connectors/{connector['id']}/discover"):
        response = page(other, path)
        assert response.status_code == 404, (path, response.status_code)
        assert connector["name"] not in response.text and "secret note of tenant A" not in response.text


def test_the_pages_need_a_session(atlas):
    anonymous = atlas.client()
    for path in (editor_url(str(uuid.uuid4()), "items"), f"/app/connectors/{uuid.uuid4()}/discover"):
        response = anonymous.get(path, headers=HTML)
        assert response.status_code in (302, 303, 307), path
        assert response.headers["location"].startswith("/signin")


# --- Chromium --------------------------------------------------------------------------------------


def signed_in_page(atlas: Any, browser: Any, client: httpx.Client) -> tuple[Any, Any]:
    return browser_pages.signed_in_page(browser, atlas.base_url, client, locale="ar-SA")


def rows_of(tab: Any, testid: str) -> Any:
    return tab.locator(f"[data-testid='{testid}']")


@pytest.mark.browser
def test_admin_maps_items_previews_saves_versions_rolls_back_and_compares(atlas, browser, demo_erp_url):
    admin, _ = atlas.new_tenant()
    connector = create_connector(admin, demo_erp_url)
    context, tab = signed_in_page(atlas, browser, admin)
    tab.goto(f"{atlas.base_url}/app/connectors/{connector['id']}")
    assert tab.locator("[data-testid='mapping-row'][data-endpoint='items']").get_attribute("data-mapped") == "false"
    tab.locator("[data-testid='mapping-row'][data-endpoint='items'] [data-testid='open-mapping']").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/{connector['id']}/mappings/items")
    tab.wait_for_selector("[data-mapping-editor][data-ready]")
    assert tab.get_attribute("html", "dir") == "rtl"

    tab.get_by_test_id("record-path").fill("$.data")
    tab.fill("[name='fields.sku.path']", "$.item_code")
    tab.fill("[name='fields.name.path']", "$.description.en")
    # A wrong rule first: a description is not a number; the preview shows it per record.
    cost = tab.locator("[data-testid='field-row'][data-field='unit_cost']")
    cost.locator("[name='fields.unit_cost.path']").fill("$.description.en")
    cost.get_by_test_id("add-transform").click()
    tab.select_option("[name='fields.unit_cost.transforms.0.op']", "to_number")
    tab.get_by_test_id("preview-button").click()
    error = tab.get_by_test_id("preview-error").first
    error.wait_for(state="visible", timeout=60_000)
    assert error.get_attribute("data-code") == "not_a_number"
    assert "ليست رقماً" in error.inner_text()
    assert tab.locator("[data-testid='preview-row'][data-ok='false']").count() > 0

    # Fixed: remove the transform and the path; every record maps.
    cost.get_by_test_id("remove-transform").click()
    cost.locator("[name='fields.unit_cost.path']").fill("")
    tab.get_by_test_id("preview-button").click()
    tab.wait_for_function(
        "() => document.querySelectorAll(\"[data-testid='preview-row']\").length > 0"
        " && !document.querySelector(\"[data-testid='preview-error']\")",
        timeout=60_000,
    )
    table = tab.get_by_test_id("preview-table")
    assert "SKU-0001" in table.inner_text()
    assert tab.locator("[data-testid='preview-row'][data-ok='true']").count() == rows_of(tab, "preview-row").count()
    tab.locator("[data-testid='preview-row']").nth(1).click()
    assert '"item_code": "SKU-0002"' in tab.get_by_test_id("source-json").inner_text()

    # Save version 1 with a note.
    tab.get_by_test_id("save-mapping").click()
    tab.get_by_test_id("save-note").fill("First version: SKU and English name")
    tab.get_by_test_id("save-confirm").click()
    tab.wait_for_selector("[data-testid='version-row'][data-version='1'][data-active='true']")
    assert tab.get_by_test_id("mapping-status").get_attribute("data-active-version") == "1"
    assert "First version: SKU and English name" in rows_of(tab, "version-row").first.inner_text()
    saved = admin.get("/api/mappings", params={"connector_id": connector["id"]}).json()
    assert [(m["endpoint_key"], m["active_version"]) for m in saved] == [("items", 1)]
    first = admin.get(f"/api/mappings/{saved[0]['id']}").json()["versions"][0]
    assert first["spec"] == {
        "record_path": "$.data",
        "fields": {"sku": {"path": "$.item_code"}, "name": {"path": "$.description.en"}},
    }

    # Version 2: the Arabic name.
    tab.fill("[name='fields.name.path']", "$.description.ar")
    tab.get_by_test_id("save-mapping").click()
    tab.get_by_test_id("save-note").fill("Arabic names")
    tab.get_by_test_id("save-confirm").click()
    tab.wait_for_selector("[data-testid='version-row'][data-version='2'][data-active='true']")
    assert rows_of(tab, "version-row").count() == 2
    assert tab.get_by_test_id("mapping-status").get_attribute("data-active-version") == "2"

    # Roll back to version 1: the editor shows it again, and the API agrees.
    tab.locator("[data-testid='version-row'][data-version='1'] [data-testid='activate-version']").click()
    tab.get_by_test_id("activate-confirm").click()  # "Activate version 1?", in the page's styled dialog
    tab.wait_for_selector("[data-testid='version-row'][data-version='1'][data-active='true']")
    assert tab.input_value("[name='fields.name.path']") == "$.description.en"
    assert admin.get(f"/api/mappings/{saved[0]['id']}").json()["active_version"] == 1
    assert tab.locator("[data-testid='version-row'][data-version='2'] [data-testid='activate-version']").count() == 1

    # The difference between the two versions: only the name changed.
    tab.select_option("[name='diff_left']", "1")
    tab.select_option("[name='diff_right']", "2")
    tab.get_by_test_id("compare-versions").click()
    changed = tab.locator("[data-testid='diff-table'] [data-testid='diff-row'][data-change='changed']")
    changed.first.wait_for(state="visible")
    assert changed.count() == 1 and changed.first.get_attribute("data-field") == "name"
    text = changed.first.inner_text()
    assert "$.description.en" in text and "$.description.ar" in text
    assert tab.locator("[data-testid='diff-row'][data-change='same']").first.is_hidden()

    # English without a reload, including what the script wrote.
    tab.get_by_test_id("lang-switch").click()
    tab.wait_for_function("() => document.documentElement.lang === 'en'")
    assert tab.get_by_test_id("save-mapping").inner_text().strip() == "Save version"
    assert "Active" in tab.locator("[data-testid='version-row'][data-version='1']").inner_text()
    assert "Changed" in changed.first.inner_text()
    context.close()


@pytest.mark.browser
def test_discovery_suggestion_opens_prefilled_in_the_editor(atlas, browser, demo_erp_url):
    admin, _ = atlas.new_tenant()
    connector = create_connector(admin, demo_erp_url)
    create_mapping(admin, connector["id"], "movements")
    context, tab = signed_in_page(atlas, browser, admin)
    tab.goto(f"{atlas.base_url}/app/connectors/{connector['id']}")
    tab.get_by_test_id("discover-link").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/{connector['id']}/discover")
    tab.wait_for_selector("[data-discover-page][data-ready]")
    tab.get_by_test_id("discover-button").click()
    items = tab.locator("[data-testid='discovered-resource'][data-endpoint-key='items']")
    items.wait_for(state="visible", timeout=60_000)
    assert tab.locator("[data-testid='discovered-resource']").count() >= 4  # the four configured endpoints
    text = items.inner_text()
    assert "/api/v1/items" in text and "GET" in text and "$.item_code" in text
    assert items.get_attribute("data-resource") == "items"
    # An endpoint that is mapped already gets the suggestion offered, never forced.
    movements = tab.locator("[data-testid='discovered-resource'][data-endpoint-key='movements']")
    assert "الإصدار 1 مفعّل" in movements.inner_text()

    items.get_by_test_id("use-suggestion").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/{connector['id']}/mappings/items?suggestion=1")
    tab.wait_for_selector("[data-mapping-editor][data-ready]")
    notice = tab.get_by_test_id("suggestion-notice")
    assert notice.is_visible() and notice.get_attribute("data-prefilled") == "true"
    key = f"atlas.mapping.suggestion.{connector['id']}.items"
    suggestion = json.loads(tab.evaluate(f"sessionStorage.getItem('{key}')"))
    if suggestion.get("record_path"):
        assert tab.get_by_test_id("record-path").input_value() == suggestion["record_path"]
    for name, rule in suggestion["fields"].items():
        if "path" in rule:
            assert tab.input_value(f"[name='fields.{name}.path']") == rule["path"], name
    assert tab.input_value("[name='fields.sku.path']")  # the suggestion maps the SKU
    assert tab.get_by_test_id("save-mapping").is_visible() and tab.get_by_test_id("unsaved-badge").is_visible()

    # For the mapped endpoint the editor keeps the active version and offers the suggestion.
    tab.goto(f"{atlas.base_url}/app/connectors/{connector['id']}/discover")
    tab.wait_for_selector("[data-discover-page][data-ready]")
    tab.get_by_test_id("discover-button").click()
    movements = tab.locator("[data-testid='discovered-resource'][data-endpoint-key='movements']")
    movements.wait_for(state="visible", timeout=60_000)
    movements.get_by_test_id("use-suggestion").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/{connector['id']}/mappings/movements?suggestion=1")
    tab.wait_for_selector("[data-mapping-editor][data-ready]")
    assert tab.get_by_test_id("suggestion-notice").get_attribute("data-prefilled") is None
    assert tab.input_value("[name='fields.item_ref.path']") == "$.sku"  # the active version
    tab.get_by_test_id("load-suggestion").click()
    assert tab.get_by_test_id("suggestion-notice").get_attribute("data-prefilled") == "true"
    context.close()


@pytest.mark.browser
def test_admin_sets_fallback_paths_a_default_a_skip_rule_and_how_rows_combine(atlas, browser, demo_erp_url):
    """The rules real data needs, set in the editor with no code: the first present of several paths, a default
    when nothing is found, records to skip (the preview shows them skipped), and how balance rows combine."""
    admin, _ = atlas.new_tenant()
    connector = create_connector(admin, demo_erp_url)
    context, tab = signed_in_page(atlas, browser, admin)
    tab.goto(f"{atlas.base_url}{editor_url(connector['id'], 'items')}")
    tab.wait_for_selector("[data-mapping-editor][data-ready]")
    tab.get_by_test_id("record-path").fill("$.data")
    tab.select_option("[name='fields.sku.mode']", "paths")
    tab.fill("[name='fields.sku.paths']", "$.ipn\n$.item_code")  # the demo has no IPN: the second path is taken
    tab.fill("[name='fields.name.path']", "$.description.en")
    tab.fill("[name='fields.category.path']", "$.no_such_field")
    tab.fill("[name='fields.category.default']", "Uncategorised")
    tab.get_by_test_id("skip").fill('[{"path": "$.item_code", "equals": "SKU-0001"}]')
    tab.get_by_test_id("preview-button").click()
    tab.wait_for_selector("[data-testid='preview-row']", timeout=60_000)
    table = tab.get_by_test_id("preview-table").inner_text()
    assert "SKU-0002" in table and "Uncategorised" in table
    assert tab.locator("[data-testid='preview-row'][data-skipped='0']").count() == 1  # by skip rule 0

    # A skip rule that is not JSON is the API's error, shown next to the skip rules.
    tab.get_by_test_id("skip").fill("[{not json")
    tab.get_by_test_id("save-mapping").click()
    tab.get_by_test_id("save-note").fill("broken")
    tab.get_by_test_id("save-confirm").click()
    tab.locator(".field:has([name='skip']) + .field-error").wait_for(state="visible")
    tab.get_by_test_id("skip").fill('[{"path": "$.item_code", "equals": "SKU-0001"}]')
    tab.get_by_test_id("save-mapping").click()
    tab.get_by_test_id("save-note").fill("Fallback SKU, default category, one item skipped")
    tab.get_by_test_id("save-confirm").click()
    tab.wait_for_selector("[data-testid='version-row'][data-version='1'][data-active='true']")
    [mapping] = admin.get("/api/mappings", params={"connector_id": connector["id"]}).json()
    spec = admin.get(f"/api/mappings/{mapping['id']}").json()["versions"][0]["spec"]
    assert spec["fields"]["sku"] == {"paths": ["$.ipn", "$.item_code"]}
    assert spec["fields"]["category"] == {"path": "$.no_such_field", "default": "Uncategorised"}
    assert spec["skip"] == [{"path": "$.item_code", "equals": "SKU-0001"}]

    # Balances: how rows combine. The demo's stock rows have no id of their own, so adding up needs a source row id.
    tab.goto(f"{atlas.base_url}{editor_url(connector['id'], 'stock')}")
    tab.wait_for_selector("[data-mapping-editor][data-ready]")
    assert tab.input_value("[name='combine']") == "sum"
    tab.fill("[name='fields.item_ref.path']", "$.sku")
    tab.fill("[name='fields.location_ref.path']", "$.warehouse_id")
    tab.fill("[name='fields.quantity.path']", "$.on_hand")
    tab.get_by_test_id("preview-button").click()
    tab.locator(".field-rule[data-field='source_id'] .field-error, [data-form-error]:not([hidden])").first.wait_for(
        state="visible", timeout=60_000
    )
    tab.select_option("[name='combine']", "last")
    tab.get_by_test_id("preview-button").click()
    tab.wait_for_selector("[data-testid='preview-row']", timeout=60_000)
    context.close()


@pytest.mark.browser
def test_multiply_by_a_field_is_set_in_the_editor_and_kept(atlas, browser, demo_erp_url):
    """The multiply transform's path (a number of the same record, such as a unit conversion factor) shows in the
    editor as its own parameter, is kept when a version is saved from the form, and a factor typed beside it is
    sent too, so the server names the mistake next to the transform (one of the two)."""
    admin, _ = atlas.new_tenant()
    connector = create_connector(admin, demo_erp_url)
    spec = json.loads(json.dumps(DEMO_MAPPINGS["open-orders"]))
    chain = [{"op": "subtract", "path": "$.received_qty"}, {"op": "multiply", "path": "$.pack_size"}]
    spec["fields"]["open_qty"]["transforms"] = chain
    created = admin.post(
        "/api/mappings",
        json={"connector_id": connector["id"], "endpoint_key": "open-orders", "spec": spec, "note": "by pack"},
    )
    assert created.status_code == 201, created.text
    context, tab = signed_in_page(atlas, browser, admin)
    tab.goto(f"{atlas.base_url}{editor_url(connector['id'], 'open-orders')}")
    tab.wait_for_selector("[data-mapping-editor][data-ready]")
    assert tab.input_value("[name='fields.open_qty.transforms.1.op']") == "multiply"
    assert tab.input_value("[name='fields.open_qty.transforms.1.multiply_path']") == "$.pack_size"
    assert tab.input_value("[name='fields.open_qty.transforms.1.factor']") == ""
    label = tab.locator("[data-transform][data-index='1'] [data-param-for='multiply'] label").nth(1)
    assert label.inner_text().strip() == "مسار المعامل"
    # Both a factor and a path: refused, and the error is shown next to the rule.
    tab.fill("[name='fields.open_qty.transforms.1.factor']", "12")
    tab.get_by_test_id("preview-button").click()
    tab.locator(".field-rule[data-field='open_qty'] .field-error, [data-form-error]:not([hidden])").first.wait_for(
        state="visible", timeout=60_000
    )
    tab.fill("[name='fields.open_qty.transforms.1.factor']", "")
    tab.fill("[name='fields.open_qty.transforms.1.multiply_path']", "$.conversion_factor")
    tab.get_by_test_id("save-mapping").click()
    tab.get_by_test_id("save-note").fill("by conversion factor")
    tab.get_by_test_id("save-confirm").click()
    tab.wait_for_selector("[data-testid='version-row'][data-version='2'][data-active='true']")
    mapping = created.json()
    versions = admin.get(f"/api/mappings/{mapping['id']}").json()["versions"]
    saved = next(v for v in versions if v["version"] == 2)["spec"]
    assert saved["fields"]["open_qty"]["transforms"] == [
        {"op": "subtract", "path": "$.received_qty"},
        {"op": "multiply", "path": "$.conversion_factor"},
    ]
    context.close()
