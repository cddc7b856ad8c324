"""The demo's local identity provider (issue 19): the demo accounts as buttons, each with what it shows, and a
labelled e-mail field instead of the mock's bare `sub`; both languages, no CDN, readable on a phone. Pressing an
account or typing an e-mail still answers the authorization request with a code."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
import werkzeug.serving

from atlas.demo import DEMO_USERS, identity_provider_app

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("ATLAS_SCREENSHOTS")  # a folder: save screenshots there while developing
CALLBACK = "http://127.0.0.1:9/api/auth/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on 127.0.0.1, as `atlas demo` runs it
    server = werkzeug.serving.make_server("127.0.0.1", 0, identity_provider_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def authorize_url(provider: str) -> str:
    query = {"client_id": "atlas", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid email"}
    return f"{provider}/oauth2/authorize?{urlencode(query)}"


def test_the_form_labels_the_email_field_and_shows_every_account(provider):
    page = httpx.get(authorize_url(provider))
    assert page.status_code == 200
    html = page.text
    assert '<label for="sub">' in html and 'id="sub" name="sub" type="email"' in html
    assert "البريد الإلكتروني" in html and "E-mail address" in html
    assert 'placeholder="sub"' not in html and "cdn." not in html
    for user in DEMO_USERS:
        assert f'name="sub" value="{user["sub"]}"' in html
    assert "Admin of an enterprise whose trial has ended" in html
    assert '<bdi class="code" dir="ltr">4111 1111 1111 1111</bdi>' in html  # the SMB account's test card

    # one click on an account, or an e-mail typed in: the provider answers with a code for Atlas
    for sub in ("enterprise@demo.atlas.sa", "someone.new@example.sa"):
        answer = httpx.post(authorize_url(provider), data={"sub": sub})
        assert answer.status_code in (302, 303), answer.text
        location = urlparse(answer.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
        assert parse_qs(location.query)["code"]


def test_the_form_in_chromium_on_a_phone_and_a_desktop(provider, browser):
    for size, viewport in {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}.items():
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.goto(authorize_url(provider))
        assert page.get_attribute("html", "dir") == "rtl"
        assert page.get_by_test_id("idp-account").count() == len(DEMO_USERS)
        assert page.get_by_label("E-mail address").count() == 1  # the label names the field
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / f"demo-identity-provider-{size}.png"), full_page=True)
        with page.expect_request(lambda request: request.url.startswith(CALLBACK)) as sent:
            page.get_by_test_id("idp-account").filter(has_text="enterprise@demo.atlas.sa").click()
        assert "code=" in sent.value.url
        context.close()
