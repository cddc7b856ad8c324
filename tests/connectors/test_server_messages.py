"""What a person is told of a server's error answer: its own message, found where each kind of API puts it."""

from __future__ import annotations

import json

import pytest

from atlas.connectors.engine.fetch import _server_message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"message": "No such item"}, "No such item"),
        ({"error": "invalid_client", "error_description": "Bad client"}, "Bad client"),
        ({"detail": "Invalid token."}, "Invalid token."),  # Django REST framework (InvenTree)
        # SAP Business One Service Layer
        ({"error": {"code": 301, "message": {"lang": "en-us", "value": "Invalid session."}}}, "Invalid session."),
        ({"error": {"code": "BadRequest", "message": "The filter is invalid"}}, "The filter is invalid"),  # OData
        ({"results": []}, ""),
    ],
)
def test_the_servers_own_message_is_found(body: dict[str, object], message: str) -> None:
    assert _server_message(json.dumps(body).encode()) == message


def test_html_is_not_repeated_and_text_is_cut() -> None:
    assert _server_message(b"<html><body>Bad gateway</body></html>") == "non-JSON body"
    assert _server_message(b"x" * 500) == "x" * 120
