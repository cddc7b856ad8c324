"""Errors that become RFC 9457 problem details, in the request's language.

Raise one of these anywhere; `atlas.web.problems` turns it into
``application/problem+json`` with a stable ``type``, a translated ``title`` and
``detail``, and the correlation id.
"""

from __future__ import annotations

from typing import Any


class AtlasError(Exception):
    status: int = 400
    slug: str = "bad-request"

    def __init__(
        self,
        message_key: str,
        /,
        *,
        slug: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(message_key)
        self.message_key = message_key
        self.params = params
        self.headers = headers or {}
        self.extra = extra or {}
        if slug:
            self.slug = slug
        if status:
            self.status = status

    @property
    def type_uri(self) -> str:
        return f"urn:atlas:problem:{self.slug}"


class BadRequest(AtlasError):
    status = 400
    slug = "bad-request"


class ValidationFailed(AtlasError):
    status = 422
    slug = "validation-failed"


class Unauthenticated(AtlasError):
    status = 401
    slug = "unauthenticated"


class Forbidden(AtlasError):
    status = 403
    slug = "forbidden"


class NotFound(AtlasError):
    status = 404
    slug = "not-found"


class Conflict(AtlasError):
    status = 409
    slug = "conflict"


class TooManyRequests(AtlasError):
    status = 429
    slug = "too-many-requests"


class Locked(AtlasError):
    status = 423
    slug = "locked"


class Unavailable(AtlasError):
    status = 503
    slug = "unavailable"
