"""A preset read the way a sync reads it, without the stack: fill the preset in, build the engine's configuration of
the connector it describes (as `POST /api/presets/{id}/connect` does before storing anything), read every page of
an endpoint with the mapping's record path, and map the records with the preset's mapping, strictly compiled.

For the quick tests of a preset against its simulation (the mapping over every record the simulation serves, the
requests the engine sends); the end-to-end tests go through the running Atlas instead.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet

from atlas.connectors.engine import ConnectorConfig, ConnectorSession
from atlas.connectors.services import transient_config
from atlas.execution_lock import NetworkPolicy
from atlas.mapping.engine import CompiledMapping, Skipped
from atlas.mapping.services import validated, with_record_path
from atlas.platform.crypto import SecretBox
from atlas.presets.loader import Rendered, load_presets, render
from atlas.presets.services import connector_body

OPEN = NetworkPolicy(allow_private=True)


@dataclass
class Mapped:
    """What an endpoint's records became: rows, errors (set aside) and skips, in reading order."""

    records: list[Any]
    rows: list[dict[str, Any]]
    errors: list[tuple[Any, list[Any]]]
    skipped: list[Any]


def filled(preset_id: str, base_url: str | None, inputs: dict[str, str]) -> Rendered:
    return render(load_presets()[preset_id], base_url, inputs)


def engine_config(rendered: Rendered) -> ConnectorConfig:
    data = connector_body(rendered)
    config = transient_config(data, SecretBox(Fernet.generate_key()), uuid.uuid4())
    # No waiting between the simulation's requests: a test is not a customer's server.
    return ConnectorConfig(**{**config.__dict__, "rate_limit_per_second": 1000.0, "rate_limit_burst": 1000})


def compiled(rendered: Rendered, key: str, resource: str) -> CompiledMapping:
    return validated(resource, rendered.mappings[key], strict=True)


def read_endpoint(config: ConnectorConfig, key: str, mapping: CompiledMapping) -> list[Any]:
    """Every record of the endpoint, parents first when it has them, as the sync reads them."""

    async def go() -> list[Any]:
        endpoint = with_record_path(config.endpoint(key), mapping)
        records: list[Any] = []
        async with ConnectorSession(config, network=OPEN) as session:
            parents = await session.parent_records(endpoint)
            async for page in session.reader.read(endpoint, parents=parents):
                records.extend(page.records)
        return records

    return asyncio.run(go())


def read_and_map(rendered: Rendered, key: str) -> Mapped:
    resource = rendered_resources(rendered)[key]
    mapping = compiled(rendered, key, resource)
    records = read_endpoint(engine_config(rendered), key, mapping)
    results = mapping.map_many(records)
    return Mapped(
        records,
        [r for r in results if isinstance(r, dict)],
        [(s, r) for s, r in zip(records, results, strict=True) if isinstance(r, list)],
        [s for s, r in zip(records, results, strict=True) if isinstance(r, Skipped)],
    )


def rendered_resources(rendered: Rendered) -> dict[str, str]:
    return {str(e["key"]): str(e["resource"]) for e in rendered.connector["endpoints"]}
