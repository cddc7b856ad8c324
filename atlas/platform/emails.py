"""E-mail addresses as the platform stores them: trimmed, lower-case, and of a plausible shape.

A leaf of the platform (it imports nothing of Atlas but the errors), so that every component that takes an
e-mail address (members and invitations here, billing's meeting requests) checks it the same way without
importing the platform's services.
"""

from __future__ import annotations

import re

from atlas.errors import ValidationFailed

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")


def normalise_email(value: str) -> str:
    """The address trimmed and lower-cased; a 422 naming the field when it is not an e-mail address."""
    email = value.strip().lower()
    if not EMAIL_RE.match(email):
        raise ValidationFailed("errors.invalid_email", field="email")
    return email
