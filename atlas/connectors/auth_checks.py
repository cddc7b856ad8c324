"""Checks of a connector's authentication settings before anything is stored, with errors that name the field.

Beyond each kind's required fields, the URLs Atlas will POST to — the OAuth2 token URL and the session login URL —
must be absolute http(s) addresses without credentials, and may not share a path with any of the connector's
data endpoints or action templates: otherwise an administrator could point the token request at the ERP's
``/api/v1/purchase-orders`` and Atlas would POST a form to it on every test. The execution lock refuses such a
request too (its own check, at send time); this one says why at save time, in the form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

import idna

from atlas.connectors.schemas import AuthIn
from atlas.errors import ValidationFailed

OAUTH2_KINDS = frozenset({"oauth2_client_credentials", "oauth2_refresh_token", "oauth2_password"})
SCHEME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,40}")  # an RFC 9110 token: no spaces, no separators
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,99}")
MAX_LOGIN_FIELDS = 20
SESSION_IDLE_RANGE = (1, 24 * 60)
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def invalid(key: str, field: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(key, field=field, extra={"field": field}, **params)


def split_url(value: str) -> SplitResult | None:
    """The URL's parts, or None when they cannot be read: an unclosed IPv6 bracket, a port that is not a number
    from 0 to 65535 (urllib raises ValueError for both, the port only when it is read), a host name the HTTP
    client cannot encode (``xn--`` labels that are not punycode, an international name IDNA refuses)."""
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    try:
        if not host.isascii():
            idna.encode(host)
        elif any(label.startswith("xn--") for label in host.split(".")):
            idna.decode(host)
    except (idna.IDNAError, UnicodeError):
        return None
    return parts


def check_declared_url(value: str, field: str) -> str:
    """An absolute http(s) URL with a host, no user name or password, no fragment."""
    value = value.strip()
    parts = split_url(value)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid("errors.auth_url_invalid", field)
    if parts.username or parts.password:
        raise invalid("errors.auth_url_credentials", field)
    if parts.fragment:
        raise invalid("errors.auth_url_fragment", field)
    return value


def _single_line(value: str) -> bool:
    return not any(c in value for c in "\r\n\0")


def check_kind_fields(auth: AuthIn, has: Callable[[str], bool]) -> None:
    """Required fields of the kinds added for real systems (basic, header, session login) and the OAuth2
    additions (issuer); ``has(name)`` says whether a secret is given now or already stored."""
    kind = auth.kind
    if kind in ("basic", "session_login"):
        if kind == "session_login":
            if not auth.login_url:
                raise invalid("errors.auth_login_url_required", "auth.login_url")
            check_declared_url(auth.login_url, "auth.login_url")
        if not auth.username or not auth.username.strip():
            raise invalid("errors.auth_username_required", "auth.username")
        if kind == "basic" and ":" in auth.username:
            raise invalid("errors.auth_username_colon", "auth.username")  # RFC 7617: the first colon ends it
        if not _single_line(auth.username):
            raise invalid("errors.auth_value_line_break", "auth.username")
        if not has("password"):
            raise invalid("errors.auth_password_required", "auth.password")
        if kind == "session_login":
            _check_login_shape(auth)
    elif kind == "header":
        if not auth.scheme:
            raise invalid("errors.auth_scheme_required", "auth.scheme")
        if not SCHEME.fullmatch(auth.scheme):
            raise invalid("errors.auth_scheme_invalid", "auth.scheme")
        if not has("credential"):
            raise invalid("errors.auth_credential_required", "auth.credential")
        if auth.credential is not None and not _single_line(auth.credential):
            raise invalid("errors.auth_value_line_break", "auth.credential")
        if auth.credential is not None and not auth.credential.isascii():
            raise invalid("errors.header_value_not_ascii", "auth.credential")
    elif kind in OAUTH2_KINDS:
        if auth.issuer:
            check_declared_url(auth.issuer, "auth.issuer")
        if auth.token_url:
            check_declared_url(auth.token_url, "auth.token_url")


def check_grant_fields(auth: AuthIn, has: Callable[[str], bool]) -> None:
    """What the refresh-token and password grants need beyond the client: the refresh token, or the resource
    owner's user name and password; and, when set, the scheme the token is sent with (one RFC 9110 token, such as
    ``Bearer`` or Zoho's ``Zoho-oauthtoken``)."""
    if auth.kind == "oauth2_refresh_token":
        if not has("refresh_token"):
            raise invalid("errors.auth_refresh_token_required", "auth.refresh_token")
        if auth.refresh_token is not None and not _single_line(auth.refresh_token):
            raise invalid("errors.auth_value_line_break", "auth.refresh_token")
    elif auth.kind == "oauth2_password":
        if not auth.username or not auth.username.strip():
            raise invalid("errors.auth_username_required", "auth.username")
        if not _single_line(auth.username):
            raise invalid("errors.auth_value_line_break", "auth.username")
        if not has("password"):
            raise invalid("errors.auth_password_required", "auth.password")
    if auth.kind in ("oauth2_refresh_token", "oauth2_password") and auth.scheme and not SCHEME.fullmatch(auth.scheme):
        raise invalid("errors.auth_scheme_invalid", "auth.scheme")


def _check_login_shape(auth: AuthIn) -> None:
    user_field = auth.username_field or "UserName"
    password_field = auth.password_field or "Password"
    for name, where in ((user_field, "auth.username_field"), (password_field, "auth.password_field")):
        if not FIELD_NAME.fullmatch(name):
            raise invalid("errors.auth_field_name_invalid", where)
    if user_field == password_field:
        raise invalid("errors.auth_field_names_same", "auth.password_field")
    fields = auth.login_fields or {}
    if len(fields) > MAX_LOGIN_FIELDS:
        raise invalid("errors.auth_login_fields_too_many", "auth.login_fields", limit=MAX_LOGIN_FIELDS)
    for name, value in fields.items():
        where = f"auth.login_fields.{name}"
        if not FIELD_NAME.fullmatch(name):
            raise invalid("errors.auth_field_name_invalid", where)
        if name in (user_field, password_field):
            raise invalid("errors.auth_login_field_reserved", where, name=name)
        if len(value) > 1000 or not _single_line(value):
            raise invalid("errors.auth_login_field_value", where, name=name)
    if auth.session_idle_minutes is not None:
        low, high = SESSION_IDLE_RANGE
        if not low <= auth.session_idle_minutes <= high:
            raise invalid("errors.out_of_range", "auth.session_idle_minutes", low=low, high=high)


# --- declared URLs against data paths -----------------------------------------------------------------------------


def _normal(path: str) -> str:
    return path.rstrip("/").casefold() or "/"


def _pattern(full_path: str) -> re.Pattern[str]:
    """A path whose ``{placeholders}`` match one segment each (``/items/{item_external_id}``)."""
    pieces = _PLACEHOLDER.split(_normal(full_path))
    return re.compile("[^/]+".join(re.escape(piece) for piece in pieces))


def _resolved(base_url: str, path: str) -> str:
    """The path of a data endpoint or template as the engine and the drafts resolve it against the base URL."""
    return urlsplit(urljoin(base_url.rstrip("/") + "/", path.split("?", 1)[0].lstrip("/"))).path


def declared_path_clash(
    url: str, *, base_url: str, endpoints: Iterable[tuple[str, str]], templates: dict[str, Any]
) -> tuple[str, str] | None:
    """``("endpoint", key)`` or ``("action", action type)`` whose path ``url`` shares, or None.

    Paths are compared without the host, case-insensitively and without a trailing slash: stricter than the
    server would be, so another spelling of the same host or path cannot slip through."""
    path = _normal(urlsplit(url).path)
    for key, endpoint_path in endpoints:
        if _pattern(_resolved(base_url, endpoint_path)).fullmatch(path):
            return ("endpoint", key)
    for action, template in templates.items():
        template_path = template.get("path") if isinstance(template, dict) else None
        if isinstance(template_path, str) and _pattern(_resolved(base_url, template_path)).fullmatch(path):
            return ("action", action)
    return None
