"""The error pages follow the chosen language and show their reference id (issue 19).

An unknown path is answered before the request context runs: the page used to show an empty reference id, and
its title and detail were plain text that the in-page language switch left in the other language ("Arabic under
an English header"). Now both come from the catalogue in mark-up, and the id is the one the response's
``X-Request-ID`` header carries (the client's own, when it sent a valid one).
"""

from __future__ import annotations

import re

import pytest

from tests.browser_pages import signed_in_page

TEXTS = {
    "ar": {"title": "غير موجود", "detail": "لم نجد ما تبحث عنه.", "dir": "rtl"},
    "en": {"title": "Not found", "detail": "We could not find what you asked for.", "dir": "ltr"},
}


def _reference(html: str) -> str:
    found = re.search(r'data-testid="error-correlation-id">([^<]*)<', html)
    assert found, "the page shows no reference id"
    return found.group(1)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_an_unknown_page_answers_in_the_chosen_language_with_its_reference(atlas, lang):
    with atlas.client(cookies={"atlas_lang": lang}) as client:
        response = client.get(f"/no-such-page-{lang}", headers={"Accept": "text/html"})
    assert response.status_code == 404
    html = response.text
    assert f'<html lang="{lang}" dir="{TEXTS[lang]["dir"]}" data-time-zone=' in html
    assert f'data-i18n="problems.not-found">{TEXTS[lang]["title"]}</span>' in html
    assert f'data-i18n="errors.http_404">{TEXTS[lang]["detail"]}</span>' in html
    reference = _reference(html)
    assert re.fullmatch(r"[0-9a-f]{32}", reference)
    assert response.headers["x-request-id"] == reference


def test_the_reference_is_the_clients_request_id_when_it_sent_one(atlas):
    with atlas.client(cookies={"atlas_lang": "en"}) as client:
        response = client.get("/still-no-such-page", headers={"Accept": "text/html", "X-Request-ID": "support-4711"})
        invalid = client.get("/still-no-such-page", headers={"Accept": "text/html", "X-Request-ID": "bad id <x>"})
    assert response.status_code == 404 and _reference(response.text) == "support-4711"
    assert response.headers["x-request-id"] == "support-4711"
    assert re.fullmatch(r"[0-9a-f]{32}", _reference(invalid.text))


def test_an_unknown_api_path_carries_its_reference_too(atlas):
    with atlas.client() as client:
        response = client.get("/api/no-such-thing", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    body = response.json()
    assert body["title"] == "Not found" and body["correlation_id"]
    assert response.headers["x-request-id"] == body["correlation_id"]


@pytest.mark.browser
def test_the_language_switch_turns_the_error_page_too(atlas, browser):
    """Rendered in Arabic, switched to English in the page: the title and detail follow the header."""
    # signed out: an error page is for anyone
    context, tab = signed_in_page(
        browser, atlas.base_url, lang="ar", locale="ar-SA", viewport={"width": 390, "height": 844}
    )
    try:
        tab.goto(f"{atlas.base_url}/no-such-page-switch")
        assert tab.get_attribute("html", "dir") == "rtl"
        assert tab.get_by_test_id("error-title").inner_text() == TEXTS["ar"]["title"]
        assert tab.get_by_test_id("error-correlation-id").inner_text().strip()
        tab.get_by_test_id("lang-switch").first.click()
        tab.wait_for_function("() => document.documentElement.lang === 'en'")
        assert tab.get_by_test_id("error-title").inner_text() == TEXTS["en"]["title"]
        assert tab.get_by_test_id("error-detail").inner_text() == TEXTS["en"]["detail"]
        assert tab.title().startswith("Not found")
    finally:
        context.close()
