"""Counted messages the browser builds agree with their number in Chromium, as the server's do (issue 19).

The page scripts build some messages themselves (the preset wizard's progress, discovery's records and pages, the
mapping preview's summary, a sync schedule): `atlas.js` fills their ``{name@plural.key}`` with the catalogue's
plural entries (sent with the other texts in /i18n/catalogue.json) in the form `Intl.PluralRules` gives the count
— CLDR's rules, the same Babel applies on the server. For 0, 1, 2, 3, 11 and 100, in Arabic and English, at
1366×900 and on a 390×844 phone: the browser's text is the server's (`atlas.i18n.translate`) and the Arabic noun
agrees (كل دقيقتين، كل 3 دقائق، كل 11 دقيقةً); a label the script built re-translates, in the other language's form,
when the person switches language.
"""

from __future__ import annotations

from typing import Any

import pytest

from atlas.i18n import translate
from tests.browser_pages import signed_in_page

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
COUNTS = (0, 1, 2, 3, 11, 100)
# key → the parameters of one message, the count standing in for each counted one
MESSAGES: dict[str, Any] = {
    "syncs.schedule.every_minutes": lambda n: {"n": n},
    "presets.wizard.records_read": lambda n: {"read": n},
    "presets.wizard.preview_counts": lambda n: {"read": n, "mapped": 1, "skipped": 0, "failed": 0},
    "presets.wizard.syncing": lambda n: {"records": n},
    "presets.wizard.recommendations_ready": lambda n: {"count": n},
    "discovery.page.records_read": lambda n: {"count": n, "pages": n},
    "discovery.why.lookup_pages": lambda n: {"values": n, "records": n},
    "mappings.preview.summary": lambda n: {"mapped": 0, "failed": 0, "total": n},
    "policies.pending_reach": lambda n: {"count": n},
}
EVERY_MINUTES = {
    # the number isolated (U+2066…U+2069) inside the Arabic sentence, as the schedule always was
    "ar": [
        "كل \u20660\u2069 دقيقة",
        "كل \u20661\u2069 دقيقة",
        "كل دقيقتين",
        "كل \u20663\u2069 دقائق",
        "كل \u206611\u2069 دقيقةً",
        "كل \u2066100\u2069 دقيقة",
    ],
    "en": [
        "Every 0 minutes",
        "Every 1 minute",
        "Every 2 minutes",
        "Every 3 minutes",
        "Every 11 minutes",
        "Every 100 minutes",
    ],
}
# Every message for every count, as atlas.js builds it in the page's language.
BUILT = """async ([messages, counts]) => {
  await window.Atlas.loadCatalogue();
  const out = {};
  for (const [key, params] of Object.entries(messages)) out[key] = counts.map((n, i) => window.Atlas.t(key, params[i]));
  return out;
}"""


def open_page(atlas: Any, browser: Any, client: Any, lang: str, viewport: dict[str, int]) -> tuple[Any, Any]:
    context, page = signed_in_page(browser, atlas.base_url, client, lang=lang, viewport=viewport)
    page.goto(f"{atlas.base_url}/app/connectors")
    return context, page


def test_counted_messages_built_in_the_browser_agree_like_the_servers(atlas, browser):
    admin, _ = atlas.new_tenant()
    params = {key: [make(n) for n in COUNTS] for key, make in MESSAGES.items()}
    for lang in ("ar", "en"):
        other = "en" if lang == "ar" else "ar"
        for viewport in VIEWPORTS.values():
            context, page = open_page(atlas, browser, admin, lang, viewport)
            built = page.evaluate(BUILT, [params, list(COUNTS)])
            for key, each in params.items():
                assert built[key] == [translate(key, lang, **p) for p in each], key
            assert built["syncs.schedule.every_minutes"] == EVERY_MINUTES[lang]
            # a label the script built re-translates with the page, in the other language's CLDR form
            page.evaluate(
                """() => { const box = document.createElement('p'); box.id = 'plural-labels';
                  [0, 1, 2, 3, 11, 100].forEach(n => box.appendChild(
                    window.Atlas.label('syncs.schedule.every_minutes', {n})));
                  document.querySelector('main').appendChild(box); }"""
            )
            page.get_by_test_id("lang-switch").first.click()
            page.wait_for_function(f"() => document.documentElement.lang === '{other}'")
            shown = page.eval_on_selector_all("#plural-labels span", "els => els.map(e => e.textContent)")
            # on the page the number is isolated by a <bdi> (atlas.js), the invisible U+2066/U+2069 gone
            assert shown == [text.replace("\u2066", "").replace("\u2069", "") for text in EVERY_MINUTES[other]]
            if other == "ar":
                isolated = page.eval_on_selector_all("#plural-labels span bdi", "els => els.map(e => e.textContent)")
                assert isolated == ["0", "1", "3", "11", "100"]
            context.close()
