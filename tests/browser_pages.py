"""One signed-in browser page: the set-up the browser tests shared, written once.

Most browser tests opened Chromium the same way: a new context (its locale and window size), the person's session
cookie copied from a signed-in ``httpx`` client (``Atlas.login``/``new_tenant``), the chosen language's cookie, one
page. Each file had its own copy, and the copies drifted (two ``add_cookies`` calls here, no language cookie there).

:func:`signed_in_page` is that set-up. Every part is optional so each test keeps exactly what it had: no ``client``
is a signed-out visitor, no ``lang`` leaves the language to the context's ``Accept-Language`` (its ``locale``), no
``viewport`` is Playwright's default window. Tests that sign in through an identity provider's own pages (the sign-in
flow is what they test) do not use it.
"""

from __future__ import annotations

from typing import Any

import httpx

from atlas.i18n import LANG_COOKIE
from atlas.platform.auth import SESSION_COOKIE

# The browser locale a test pairs with each of Atlas's languages.
LOCALES = {"ar": "ar-SA", "en": "en-US"}


def signed_in_page(
    browser: Any,
    base_url: str,
    client: httpx.Client | None = None,
    *,
    lang: str | None = None,
    locale: str | None = None,
    viewport: dict[str, int] | None = None,
) -> tuple[Any, Any]:
    """A new context and its page, signed in as ``client``'s person (its session cookie) and in ``lang`` (the
    language cookie) when given; the caller closes the context. Returns ``(context, page)``."""
    options: dict[str, Any] = {}
    if locale is not None:
        options["locale"] = locale
    if viewport is not None:
        options["viewport"] = viewport
    context = browser.new_context(**options)
    cookies = []
    if client is not None:
        cookies.append({"name": SESSION_COOKIE, "value": client.cookies[SESSION_COOKIE], "url": base_url})
    if lang is not None:
        cookies.append({"name": LANG_COOKIE, "value": lang, "url": base_url})
    if cookies:
        context.add_cookies(cookies)
    return context, context.new_page()
