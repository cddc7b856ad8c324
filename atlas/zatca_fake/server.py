"""Serve the local ZATCA gateway with uvicorn: `atlas zatca-fake --host 127.0.0.1 --port 3003` calls `run`."""

from __future__ import annotations

from atlas.zatca_fake.app import create_app
from atlas.zatca_fake.options import GatewayOptions

__all__ = ["run"]


def run(options: GatewayOptions, *, host: str = "127.0.0.1", port: int = 3003) -> None:
    """Serve until interrupted."""
    import uvicorn

    uvicorn.run(create_app(options), host=host, port=port, log_config=None, access_log=False)
