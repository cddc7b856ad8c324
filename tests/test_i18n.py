"""One catalogue, complete in both languages, covering every key the code and templates use."""

from __future__ import annotations

import re
from pathlib import Path

from atlas.i18n import catalogue, negotiate, translate

ROOT = Path(__file__).resolve().parents[1] / "atlas"
ARABIC = re.compile(r"[\u0600-\u06FF]")
# The language switch names the other language in that language; an e-mail example is an e-mail.
LATIN_ON_PURPOSE = {"ui.lang.switch", "team.invite.email_placeholder"}


def test_every_entry_has_arabic_and_english():
    entries = catalogue()
    assert len(entries) > 50
    for key, entry in entries.items():
        assert entry["ar"].strip() and entry["en"].strip(), key
        if key not in LATIN_ON_PURPOSE:
            assert ARABIC.search(entry["ar"]) or not re.search("[A-Za-z]{4,}", entry["ar"]), (
                f"{key}: Arabic text looks untranslated: {entry['ar']!r}"
            )
        placeholders_ar = set(re.findall(r"{(\w+)}", entry["ar"]))
        placeholders_en = set(re.findall(r"{(\w+)}", entry["en"]))
        assert placeholders_ar == placeholders_en, key


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in ROOT.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        keys.update(re.findall(r"""["']((?:errors|problems|roles|audit\.event)\.[a-z0-9_.\-]+)["']""", text))
    for path in (ROOT / "web" / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        keys.update(re.findall(r"""(?:\bt|\bi18n)\(\s*["']([a-z0-9_.\-]+)["']""", text))
        keys.update(re.findall(r"""data-i18n=["']([a-z0-9_.\-]+)["']""", text))
    for path in (ROOT / "web" / "static").rglob("*.js"):
        keys.update(re.findall(r"""\bt\(\s*["']([a-z0-9_.\-]+)["']""", path.read_text(encoding="utf-8")))
    return keys


def test_every_key_the_code_uses_exists():
    entries = catalogue()
    missing = sorted(k for k in used_keys() if k not in entries and not k.endswith("."))
    assert missing == []


def test_every_audit_event_type_and_problem_has_a_name():
    from atlas.platform.audit import EventType
    from atlas.web.problems import STATUS_SLUGS

    entries = catalogue()
    for event in EventType:
        assert f"audit.event.{event}" in entries
    for slug in STATUS_SLUGS.values():
        assert f"problems.{slug}" in entries


def test_translation_and_negotiation():
    assert translate("roles.admin", "ar") == "مسؤول"
    assert translate("roles.admin", "en") == "Admin"
    assert translate("errors.invalid_role", "en", role="boss").startswith("The role “boss”")
    assert translate("no.such.key", "en") == "no.such.key"
    assert negotiate(None, None) == "ar"
    assert negotiate("en", "ar") == "en"
    assert negotiate(None, "fr-FR,en-GB;q=0.8") == "en"
    assert negotiate("xx", None) == "ar"
