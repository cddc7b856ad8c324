"""The safety net under validation (issue 16): when a value the client sent still reaches PostgreSQL and the
database refuses it (SQLSTATE class 22: out of range, a NUL, bad text), the answer is a 422 problem in the request's
language, never a 500; any other database error stays a 500. Real PostgreSQL through Atlas's own `Database`."""

from __future__ import annotations

import pytest
from litestar import Litestar, Request, get
from litestar.testing import TestClient
from sqlalchemy import text

from atlas.config import get_settings
from atlas.db.engine import Database
from atlas.web.problems import EXCEPTION_HANDLERS

QUERIES = {
    "int4_client": ("SELECT CAST(:v AS int4)", {"v": 2**31}),  # asyncpg's own argument check
    "int4_server": ("SELECT CAST(CAST(:v AS text) AS int4)", {"v": "2147483648"}),  # 22003
    "int8_server": ("SELECT CAST(:v AS text)::int8", {"v": "9223372036854775808"}),  # 22003
    "nul_text": ("SELECT CAST(:v AS text)", {"v": "a\x00b"}),  # 22021
    "nul_jsonb": ("SELECT CAST(:v AS jsonb)", {"v": '{"a": "\\u0000"}'}),  # 22P05
    "bad_uuid": ("SELECT CAST(CAST(:v AS text) AS uuid)", {"v": "not-a-uuid"}),  # 22P02
    "syntax": ("SELECT FROM WHERE", {}),  # 42601: Atlas's own bug, not the client's
}


@pytest.fixture(scope="module")
def client(database_url: str):
    url = database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    database = Database(url, app_role=get_settings().db_app_role, pool_size=1)

    @get("/api/probe/{name:str}")
    async def probe(request: Request, name: str) -> dict[str, str]:
        request.scope.setdefault("state", {})["lang"] = request.headers.get("accept-language", "ar")
        query, params = QUERIES[name]
        async with database.system_session() as session:
            await session.execute(text(query), params)
        return {"ok": name}

    app = Litestar([probe], exception_handlers=EXCEPTION_HANDLERS, on_shutdown=[database.dispose])
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("int4_client", "errors.value_out_of_range"),
        ("int4_server", "errors.value_out_of_range"),
        ("int8_server", "errors.value_out_of_range"),
        ("nul_text", "errors.value_not_storable"),
        ("nul_jsonb", "errors.value_not_storable"),
        ("bad_uuid", "errors.value_rejected"),
    ],
)
def test_a_value_the_database_refuses_is_a_422_problem(client, name, code):
    for lang in ("en", "ar"):
        response = client.get(f"/api/probe/{name}", headers={"Accept-Language": lang})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["code"] == code and body["type"] == "urn:atlas:problem:validation-failed"
        arabic = any("\u0600" <= c <= "\u06ff" for c in body["detail"])
        assert arabic == (lang == "ar"), body


def test_any_other_database_error_stays_a_500(client):
    response = client.get("/api/probe/syntax", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert response.json()["code"] == "errors.http_500"
