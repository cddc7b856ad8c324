"""The demo ERP: a simulated external inventory system that demos and tests read through the connector engine.

- `data`: the deterministic data (items, locations, balances, movements) and the SPEC section 12 scenarios;
- `app`: the read-only HTTP API (`create_app`), four pagination styles, API key in `X-API-Key`;
- `server`: `run(host, port, as_of=...)`, serving it with uvicorn (port 3001 in the demo).

Importing this package does not import the web framework; import `app` or `server` for that.
"""

from __future__ import annotations

from atlas.connectors.demo_erp.data import (
    API_KEYS,
    DEMO_API_KEY,
    ENTERPRISE_API_KEY,
    MAIN_LOCATIONS,
    SCENARIOS,
    Catalogue,
    dataset,
)

__all__ = [
    "API_KEYS",
    "DEFAULT_PORT",
    "DEMO_API_KEY",
    "ENTERPRISE_API_KEY",
    "MAIN_LOCATIONS",
    "SCENARIOS",
    "Catalogue",
    "dataset",
]

DEFAULT_PORT = 3001
