"""Serve the demo ERP with uvicorn: `atlas demo-erp --host 127.0.0.1 --port 3001` calls `run`.

Also runnable on its own: `python -m atlas.connectors.demo_erp.server --port 3001 [--as-of 2026-11-20]`.
"""

from __future__ import annotations

import argparse
from datetime import date

from atlas.connectors.demo_erp import DEFAULT_PORT
from atlas.connectors.demo_erp.app import create_app

__all__ = ["DEFAULT_PORT", "main", "run"]


def run(host: str, port: int, *, as_of: date | None = None) -> None:
    """Serve until interrupted. `as_of` fixes the data's date; None means today's date in Riyadh."""
    import uvicorn

    uvicorn.run(create_app(as_of), host=host, port=port, log_config=None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The demo ERP: a simulated external inventory system.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="the data's date (YYYY-MM-DD)")
    args = parser.parse_args(argv)
    run(args.host, args.port, as_of=args.as_of)


if __name__ == "__main__":
    main()
