"""Bidirectional isolation in mark-up for sentences built from the catalogue with embedded values (issue 19).

An Arabic sentence that embeds Latin names, codes and figures ("إلى Riyadh (SKU-0001) …") is scrambled by the
Unicode bidirectional algorithm unless each embedded value is isolated: its own run, laid out on its own, then
placed as one piece where the sentence puts it. Pages isolate with ``<bdi>`` elements, not with the invisible
U+2066–U+2069 characters, so that the stored text (and every file made from it: CSV, JSON, ERP imports) stays
plain and the isolation lives in the page alone.

In the web layer's lower half (``atlas/web/ui/``): it stands on ``atlas.i18n`` only, so every component's pages
use it downwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from atlas.i18n import DEFAULT_LANG, catalogue


def bdi(value: Any, *, ltr: bool = False) -> Markup:
    """One value isolated: ``dir="ltr"`` for codes, figures and dates (they read left to right in either
    language, and never break across lines: "ST-1" is not "ST-" then "1"), ``dir="auto"`` for names (an Arabic
    name keeps its own direction; a long name may wrap)."""
    if ltr:
        return Markup('<bdi dir="ltr" class="nowrap">{}</bdi>').format(value)
    return Markup('<bdi dir="auto">{}</bdi>').format(value)


def isolated(key: str, lang: str, params: Mapping[str, Any], *, ltr: frozenset[str] = frozenset()) -> Markup | None:
    """The catalogue sentence ``key`` in ``lang``, escaped, with each of ``params`` in its own ``<bdi>`` (those
    named in ``ltr`` left to right). None when the sentence is unknown or needs a value ``params`` lacks, so the
    caller shows its stored plain text instead."""
    entry = catalogue().get(key)
    if entry is None:
        return None
    text = entry.get(lang) or entry[DEFAULT_LANG]
    values = {name: bdi(value, ltr=name in ltr) for name, value in params.items()}
    try:
        return escape(text).format(**values)  # escape gives Markup: its format escapes what is not Markup
    except (KeyError, IndexError, ValueError):
        return None
