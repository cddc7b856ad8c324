"""The local ZATCA gateway as a real HTTP server on a free port, and an onboarded unit to use it with."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from atlas.zatca_fake.app import GatewayApp, create_app
from atlas.zatca_fake.options import GatewayOptions
from tests.services import asgi_server
from tests.zatca_fake.signer import Unit, make_csr

ENV = "developer-portal"
HEADERS = {"Accept-Version": "V2", "Accept-Language": "en"}


class Gateway:
    def __init__(self, url: str, app: GatewayApp | None = None) -> None:
        self.url = url
        self.base = f"{url}/e-invoicing/{ENV}"
        self.app = app

    def post(
        self,
        path: str,
        body: dict[str, Any],
        *,
        auth: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> httpx.Response:
        return httpx.post(
            f"{self.base}/{path}", json=body, auth=auth, headers={**HEADERS, **(headers or {})}, timeout=timeout
        )

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}/_fake/{path}", timeout=30, **kwargs)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def documents(self, **query: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.admin("GET", "documents", params=query)["documents"]
        return result

    def compliance_csid(self, csr_pem: bytes, otp: str = "123345") -> httpx.Response:
        return self.post("compliance", {"csr": base64.b64encode(csr_pem).decode()}, headers={"OTP": otp})

    def onboard(self, *, title: str = "1100") -> tuple[Unit, tuple[str, str]]:
        """A unit with a production CSID: compliance CSID, the six samples, production CSID."""
        key, csr = make_csr(title=title)
        answer = self.compliance_csid(csr)
        assert answer.status_code == 200, answer.text
        compliance = answer.json()
        unit = Unit(key=key)
        unit.use(compliance["binarySecurityToken"])
        auth = (compliance["binarySecurityToken"], compliance["secret"])
        kinds = (["standard"] if title[0] == "1" else []) + (["simplified"] if title[1] == "1" else [])
        for kind in kinds:
            for code in ("388", "381", "383"):
                sample = unit.document(kind=kind, type_code=code)
                checked = self.post("compliance/invoices", sample.body(), auth=auth)
                assert checked.status_code == 200, checked.text
        production = self.post("production/csids", {"compliance_request_id": str(compliance["requestID"])}, auth=auth)
        assert production.status_code == 200, production.text
        unit.use(production.json()["binarySecurityToken"])
        return unit, (production.json()["binarySecurityToken"], production.json()["secret"])


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    app = create_app(GatewayOptions(state_file=tmp_path / "zatca.sqlite"))
    with asgi_server(app) as url:
        yield Gateway(url, app)
