"""The main pages under Atlas's Content-Security-Policy in Chromium, in both languages: no violation is reported,
and their scripts still run (a click or two each). The other browser tests run under the same policy."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser_pages import signed_in_page

pytestmark = pytest.mark.browser

PAGES = [
    "/signin",
    "/app",
    "/app/connectors",
    "/app/connectors/connect/inventree",
    "/app/recommendations",
    "/app/policies",
    "/app/subscription",
    "/app/audit",
    # The rest of the navigation, each with its own script.
    "/app/inventory",
    "/app/approvals",
    "/app/anomalies",
    "/app/drafts",
    "/app/quarantine",
    "/app/team",
    "/app/tokens",
]

# Recorded on every document before any of its scripts runs.
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var where = (e.sourceFile || "") + ":" + e.lineNumber;
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + where);
});
"""


class Watched:
    """A signed-in tab that keeps every CSP report (event and console) and uncaught script error it sees."""

    def __init__(self, atlas: Any, browser: Any, lang: str) -> None:
        admin, _ = atlas.new_tenant()
        self.base = atlas.base_url
        self.context, self.tab = signed_in_page(browser, self.base, admin, lang=lang)
        self.context.add_init_script(WATCH_VIOLATIONS)  # run in every document the tab navigates to
        self.problems: list[str] = []
        # Chromium also writes each refusal to the console; an API's 4xx there is not this test's business.
        self.tab.on(
            "console",
            lambda m: self.problems.append(f"console: {m.text}") if "Content Security Policy" in m.text else None,
        )
        self.tab.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))

    def open(self, path: str) -> None:
        response = self.tab.goto(f"{self.base}{path}")
        assert response is not None and response.ok, (path, response and response.status)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy
        self.tab.wait_for_load_state("load")
        # every request the page's scripts make has ended; a page that polls (a sync running in the tenant) may not
        # go quiet for Playwright's 500 ms on a loaded 2-core machine (CI waited 120 s once): after 30 s its
        # scripts have run and made their requests, so any violation has been reported by then
        with contextlib.suppress(PlaywrightTimeoutError):
            self.tab.wait_for_load_state("networkidle", timeout=30_000)

    def violations(self) -> list[str]:
        return list(self.tab.evaluate("window.__csp")) + self.problems

    def switch_language(self) -> None:
        """atlas.js: the language switch re-translates the page from the catalogue without a reload."""
        before = self.tab.get_attribute("html", "lang")
        self.tab.get_by_test_id("lang-switch").click()
        self.tab.wait_for_function(f"() => document.documentElement.lang !== {before!r}")
        self.tab.get_by_test_id("lang-switch").click()
        self.tab.wait_for_function(f"() => document.documentElement.lang === {before!r}")


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_main_pages_report_no_csp_violation_and_their_scripts_run(atlas, browser, lang):
    watched = Watched(atlas, browser, lang)
    tab = watched.tab
    for path in PAGES:
        watched.open(path)
        assert tab.get_attribute("html", "lang") == lang, path
        watched.switch_language()
        if path == "/app/connectors/connect/inventree":
            # presets.js: connecting with nothing filled in asks the API and shows what is missing.
            tab.get_by_test_id("preset-connect").click()
            tab.locator("[data-field-error]:not([hidden]), [data-form-error]:not([hidden])").first.wait_for()
        if path == "/app/audit":
            # A plain GET form: form-action 'self' lets it through.
            tab.get_by_test_id("audit-filters").locator("[type=submit]").first.click()
            tab.wait_for_url(f"{watched.base}/app/audit?**")
        assert watched.violations() == [], (path, watched.violations())
    watched.context.close()


def test_an_inline_script_is_refused_and_reported(atlas, browser):
    """The watch above can fail: a script injected inline is blocked by the policy, and reported."""
    watched = Watched(atlas, browser, "en")
    watched.open("/app")
    watched.tab.evaluate(
        """() => {
          const s = document.createElement("script");
          s.textContent = "window.__inlineRan = true";
          document.body.appendChild(s);
          const d = document.createElement("div");
          d.setAttribute("onclick", "window.__handlerRan = true");
          document.body.appendChild(d);
          d.click();
        }"""
    )
    watched.tab.wait_for_function("() => window.__csp.length >= 2")
    assert watched.tab.evaluate("window.__inlineRan === undefined && window.__handlerRan === undefined")
    assert all(v.startswith("script-src") for v in watched.tab.evaluate("window.__csp"))
    watched.context.close()
