"""Names shown to other people, made safe to show.

A name one person types (a tenant, a connector, a token) or an identity provider sends (a member's name) is shown
to the other people of the tenant. Bidirectional controls in it (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
U+061C) can reorder what they see ("abc\\u202Eexe.fdp" reads "abcpdf.exe"), and other invisible characters can make
two names look alike. `clean_name` removes every format character (Unicode category Cf, which holds all of
those) except the zero-width joiner and non-joiner that Arabic, Persian and emoji need, every control character
(Cc) and lone surrogate (Cs); turns any other space or line break into one space; and trims the ends.
"""

from __future__ import annotations

import unicodedata

# Kept: they join or keep apart letters (Persian, Arabic) and emoji sequences, and reorder nothing.
JOINERS = frozenset("\u200c\u200d")
_REMOVED = frozenset({"Cc", "Cf", "Cs"})


def clean_name(value: str) -> str:
    """``value`` with no bidi control, invisible format or control character, its spaces collapsed, trimmed."""
    kept: list[str] = []
    for char in unicodedata.normalize("NFC", value):
        if char in JOINERS:
            kept.append(char)
        elif char.isspace():
            kept.append(" ")
        elif unicodedata.category(char) not in _REMOVED:
            kept.append(char)
    return " ".join("".join(kept).split())


def clean_optional_name(value: str | None) -> str | None:
    """`clean_name` for a name that may be missing; one with nothing visible left is missing too."""
    if value is None:
        return None
    return clean_name(value) or None


def visible_name(value: str, field: str) -> str:
    """`clean_name`, refusing (422 naming ``field``) a name with nothing visible left."""
    from atlas.errors import ValidationFailed

    cleaned = clean_name(value)
    if not cleaned:
        raise ValidationFailed("errors.name_invisible", field=field, extra={"field": field})
    return cleaned
