"""Connect with a preset: test the credentials and every endpoint, then lay down the connector and its mappings.

Nothing is stored until every endpoint has answered with records the mapping can read: a refused credential, a
base URL that is not the system, or an endpoint that answers something else is a 422 naming the endpoint and what
the server said, and the person fixes it in the same form. Then the connector (remembering the preset's id and
version) and one mapping per endpoint are created through the same services as the API's, audited as any
creation is, plus ``preset_applied``. The first page of each endpoint, read for the test, is the preview: each
sample record and what it becomes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import services as connectors
from atlas.connectors.engine import (
    ConnectorConfig,
    ConnectorSession,
    EndpointConfig,
    EndpointHealth,
    FetchError,
    ResourceKind,
)
from atlas.connectors.schemas import ConnectorCreate, ConnectorRead
from atlas.errors import ValidationFailed
from atlas.execution_lock import NetworkPolicy
from atlas.execution_lock.transport import BlockedHandler
from atlas.mapping import services as mappings
from atlas.mapping.engine import CompiledMapping
from atlas.mapping.schemas import MappingRead
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.crypto import SecretBox
from atlas.presets.loader import Preset, Rendered, render

PREVIEW_RECORDS = 5
CREDENTIAL_STATUSES = (401, 403)
# The engine's reasons for a refused credential, whatever the status: Odoo's JSON-RPC answers a wrong key with 200
# and odoo.exceptions.AccessDenied (atlas.connectors.engine.fetch.rpc_error_reason).
CREDENTIAL_REASONS = frozenset({"unauthorized", "forbidden"})
# A token server that refused the credentials, whatever its status (Zoho's accounts server answers a bad
# refresh token with 200 {"error": "invalid_code"}, Laravel Passport a bad password with 400 invalid_grant).
CREDENTIAL_REFUSALS = frozenset({"oauth2_token_refused", "oauth2_token_invalid"})
# What a web page, a login screen or a redirect away from the API looks like to the reader.
NOT_THE_API = frozenset({"protocol_error", "unexpected_redirect", "html_instead_of_json", "invalid_json", "empty_body"})


class PresetCheck(msgspec.Struct):
    """What one endpoint answered when the preset was tested."""

    endpoint: str
    resource: str
    ok: bool
    url: str | None
    status: int | None
    records: int
    latency_ms: float | None = None
    reason: str | None = None
    hint: str | None = None
    detail: str | None = None  # what the server said (an OAuth2 error, its message), never a credential


class PresetPreviewRecord(msgspec.Struct):
    source: Any
    values: dict[str, Any] | None
    errors: list[dict[str, str]]
    skipped: int | None = None


class PresetPreview(msgspec.Struct):
    """The first page of an endpoint and what a sync makes of each of its first records."""

    endpoint: str
    resource: str
    record_count: int
    mapped: int
    failed: int
    skipped: int
    records: list[PresetPreviewRecord]


class PresetConnected(msgspec.Struct):
    connector: ConnectorRead
    mappings: list[MappingRead]
    checks: list[PresetCheck]
    previews: list[PresetPreview]


@dataclass
class _Tested:
    checks: list[PresetCheck] = field(default_factory=list)
    samples: dict[str, list[Any]] = field(default_factory=dict)


def connector_body(rendered: Rendered) -> ConnectorCreate:
    """The filled-in preset as the connector API's body; a preset that does not fit it is the preset's bug."""
    try:
        return msgspec.convert(rendered.connector, ConnectorCreate)
    except msgspec.ValidationError as exc:
        raise ValidationFailed("errors.preset_invalid", detail=str(exc)) from None


async def test_endpoints(
    config: ConnectorConfig,
    compiled: dict[str, CompiledMapping],
    *,
    network: NetworkPolicy,
    on_blocked: BlockedHandler | None,
) -> _Tested:
    """Read the first page of every endpoint, as the sync will read it (the mapping's record path wins)."""
    tested = _Tested()
    async with ConnectorSession(config, network=network, on_blocked=on_blocked) as session:
        with session.probing():
            await _test_each(session, config, compiled, tested)
    return tested


async def _test_each(
    session: ConnectorSession, config: ConnectorConfig, compiled: dict[str, CompiledMapping], tested: _Tested
) -> None:
    """Each endpoint's first page in turn; a refused credential stops at once (every other endpoint would be
    refused the same)."""
    for endpoint in config.endpoints:
        target: EndpointConfig = (
            mappings.with_record_path(endpoint, compiled[endpoint.key]) if endpoint.key in compiled else endpoint
        )
        try:
            parents = None
            if endpoint.parent:
                parent = config.endpoint(endpoint.parent)
                parents = (await session.reader.first_page(parent)).records
                if not parents and parent.resource in (ResourceKind.STOCK_MOVEMENTS, ResourceKind.OPEN_ORDERS):
                    # Documents a new organization may not have yet (Zoho's inventory adjustments, transfer
                    # orders, open purchase orders): nothing under them is no mistake in what was typed, unlike a
                    # company name that matches nothing. The sync reads them once there are some.
                    tested.checks.append(PresetCheck(endpoint.key, str(endpoint.resource), True, None, 200, 0))
                    tested.samples[endpoint.key] = []
                    continue
            page = await session.reader.first_page(target, parents=parents)
        except FetchError as exc:
            tested.checks.append(
                PresetCheck(
                    endpoint=endpoint.key,
                    resource=str(endpoint.resource),
                    ok=False,
                    url=exc.url,
                    status=exc.status,
                    records=0,
                    reason=exc.reason,
                    hint=exc.hint,
                    detail=exc.detail or None,
                )
            )
            if exc.status in CREDENTIAL_STATUSES or exc.reason in CREDENTIAL_REFUSALS | CREDENTIAL_REASONS:
                break  # the same credentials would be refused by every other endpoint
            continue
        records = list(page.records)
        shape_ok = all(isinstance(r, dict) for r in records)
        tested.checks.append(
            PresetCheck(
                endpoint=endpoint.key,
                resource=str(endpoint.resource),
                ok=shape_ok,
                url=page.url,
                status=200,
                records=len(records),
                latency_ms=round(page.elapsed_ms, 1),
                reason=None if shape_ok else "records_not_objects",
            )
        )
        tested.samples[endpoint.key] = records


def _refusal(preset: Preset, checks: list[PresetCheck]) -> ValidationFailed | None:
    """The first failing check as a 422 a person can act on."""
    failed = next((c for c in checks if not c.ok), None)
    if failed is None:
        return None
    where: dict[str, Any] = {"endpoint": failed.endpoint, "url": failed.url or "", "http_status": failed.status or ""}
    extra: dict[str, Any] = {"checks": [msgspec.to_builtins(c) for c in checks], "field": "inputs"}
    if failed.reason in CREDENTIAL_REFUSALS:
        return ValidationFailed(
            "errors.preset_token_refused", extra=extra, system=preset.name, detail=failed.detail or "", **where
        )
    if failed.status in CREDENTIAL_STATUSES or failed.reason in CREDENTIAL_REASONS:
        key = "errors.preset_credentials_refused_hint" if failed.hint else "errors.preset_credentials_refused"
        return ValidationFailed(key, extra=extra, system=preset.name, hint=failed.hint or "", **where)
    if failed.status == 404:
        extra["field"] = "base_url"
        return ValidationFailed("errors.preset_endpoint_missing", extra=extra, system=preset.name, **where)
    if failed.reason in NOT_THE_API:
        extra["field"] = "base_url"
        return ValidationFailed("errors.preset_not_the_api", extra=extra, system=preset.name, **where)
    if failed.reason == "records_not_objects":
        return ValidationFailed("errors.preset_records_not_objects", extra=extra, system=preset.name, **where)
    if failed.reason == "no_parent_records":
        # The endpoint naming its children's parent found nothing: what was typed to find it (Business Central's
        # company name) matches nothing. Name that endpoint and its answer, not the child's unfilled path.
        parent = next((c for c in checks if c.ok and c.records == 0), failed)
        where = {"endpoint": parent.endpoint, "url": parent.url or "", "http_status": parent.status or ""}
        return ValidationFailed("errors.preset_parent_empty", extra=extra, system=preset.name, **where)
    extra["field"] = "base_url"
    return ValidationFailed(
        "errors.preset_endpoint_failed", extra=extra, system=preset.name, reason=failed.reason or "", **where
    )


def _plain(values: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if values is None else msgspec.to_builtins(values, str_keys=True, builtin_types=())


def _previews(tested: _Tested, compiled: dict[str, CompiledMapping], resources: dict[str, str]) -> list[PresetPreview]:
    previews = []
    for key, records in tested.samples.items():
        if key not in compiled:
            continue
        results = [compiled[key].apply(source) for source in records]
        sample = [
            PresetPreviewRecord(
                source=source,
                values=_plain(result.values),
                errors=[{"field": e.field, "code": e.code, "detail": e.detail} for e in result.errors],
                skipped=result.skipped,
            )
            for source, result in zip(records[:PREVIEW_RECORDS], results, strict=False)
        ]
        previews.append(
            PresetPreview(
                endpoint=key,
                resource=resources[key],
                record_count=len(records),
                mapped=sum(1 for r in results if r.values is not None),
                failed=sum(1 for r in results if r.values is None and r.skipped is None),
                skipped=sum(1 for r in results if r.skipped is not None),
                records=sample,
            )
        )
    return previews


async def connect(
    session: AsyncSession,
    preset: Preset,
    *,
    base_url: str | None,
    inputs: dict[str, str],
    name: str | None,
    environment: str | None,
    tenant_id: uuid.UUID,
    actor: Actor,
    correlation_id: str,
    box: SecretBox,
    network: NetworkPolicy,
    on_blocked: BlockedHandler | None = None,
) -> PresetConnected:
    """Fill the preset in, test it against the system, and only then store the connector and its mappings."""
    rendered = render(preset, base_url, inputs, name=name)
    if environment:
        rendered.connector["environment"] = environment
    data = connector_body(rendered)
    connectors.validate_create(data)
    resources = preset.endpoint_resources()
    compiled = {key: mappings.validated(resources[key], spec, strict=True) for key, spec in rendered.mappings.items()}
    await connectors.check_reachable_network(network, data.base_url)
    tested = await test_endpoints(
        connectors.transient_config(data, box, tenant_id), compiled, network=network, on_blocked=on_blocked
    )
    refusal = _refusal(preset, tested.checks)
    if refusal is not None:
        raise refusal
    connector, endpoints = await connectors.create_connector(
        session, data, actor=actor, correlation_id=correlation_id, box=box, network=network, preset=preset.ref
    )
    created = await mappings.create_mappings(
        session,
        connector_id=connector.id,
        specs=rendered.mappings,
        note=f"{preset.name} preset v{preset.version}",
        actor=actor,
        correlation_id=correlation_id,
    )
    # The test just run is the connector's first health check: the set-up guide shows "check the data" done.
    await connectors.record_health(
        session,
        connector.id,
        [
            EndpointHealth(c.endpoint, c.ok, c.latency_ms, c.records, c.status, c.reason, None, c.url, c.hint)
            for c in tested.checks
        ],
        trigger="preset",
        actor=actor,
        correlation_id=correlation_id,
    )
    await record(
        session,
        EventType.PRESET_APPLIED,
        actor=actor,
        correlation_id=correlation_id,
        payload={
            "connector_id": str(connector.id),
            "preset": preset.ref,
            "endpoints": [e.key for e in endpoints],
            "mappings": [m.endpoint_key for m in created],
            "checks": [{"endpoint": c.endpoint, "ok": c.ok, "records": c.records} for c in tested.checks],
        },
    )
    return PresetConnected(
        connector=connectors.read_model(connector, endpoints, box),
        mappings=created,
        checks=tested.checks,
        previews=_previews(tested, compiled, resources),
    )
