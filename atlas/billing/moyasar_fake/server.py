"""Serve the local Moyasar with uvicorn: `atlas moyasar-fake --host 127.0.0.1 --port 3002` calls `run`."""

from __future__ import annotations

from atlas.billing.moyasar_fake.app import create_app
from atlas.billing.moyasar_fake.options import FakeOptions

__all__ = ["run"]


def run(options: FakeOptions, *, host: str = "127.0.0.1", port: int = 3002) -> None:
    """Serve until interrupted."""
    import uvicorn

    uvicorn.run(create_app(options), host=host, port=port, log_config=None, access_log=False)
