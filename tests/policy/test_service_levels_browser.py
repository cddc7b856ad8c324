"""Service levels by item class on the policies page in Chromium: an admin changes two classes' levels in percent
and saves (the policy stores fractions), and an impossible level shows the server's message naming the class."""

from __future__ import annotations

import pytest

from tests.policy.test_policies_browser import signed_in

pytestmark = pytest.mark.browser


def test_admin_changes_class_service_levels(atlas, browser):
    admin, _ = atlas.new_tenant()
    context, page = signed_in(atlas, browser, admin, "ar")
    page.goto(f"{atlas.base_url}/app/policies")
    assert page.get_by_test_id("policy-service-level-AX").input_value() == "98"
    assert page.get_by_test_id("policy-service-level-CZ").input_value() == "90"

    page.fill("[data-testid=policy-service-level-AX]", "100")
    page.get_by_test_id("policy-save").click()
    error = page.get_by_test_id("policy-error")
    error.wait_for(state="visible")
    assert "service_levels.AX" in error.inner_text() and "مستوى خدمة" in error.inner_text()
    assert admin.get("/api/policies").json()["version"] == 0

    page.fill("[data-testid=policy-service-level-AX]", "99.5")
    page.fill("[data-testid=policy-service-level-CZ]", "85")
    page.get_by_test_id("policy-save").click()
    page.wait_for_function("() => document.querySelector('[data-testid=policy-version]').dataset.version === '1'")
    levels = admin.get("/api/policies").json()["rules"]["service_levels"]
    assert levels["AX"] == 0.995 and levels["CZ"] == 0.85 and levels["BY"] == 0.95
    assert page.get_by_test_id("policy-service-level-AX").input_value() == "99.5"
    context.close()
