"""The demo ERP's connector and mappings, as an admin would set them up in the UI.

Used by the demo (`atlas demo`) to give the demo tenant a working, mapped
connector on first start, by the tests, and as the example in the README.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import services as connectors
from atlas.connectors.models import Connector
from atlas.connectors.schemas import ConnectorCreate, ConnectorUpdate
from atlas.execution_lock import NetworkPolicy
from atlas.mapping import services as mappings
from atlas.platform.audit import Actor
from atlas.platform.crypto import SecretBox

DEMO_API_KEY = "DEMO-API-KEY-2024"
ENTERPRISE_API_KEY = "ENTERPRISE-KEY-001"


def demo_connector_body(base_url: str, *, name: str = "Demo ERP", api_key: str = DEMO_API_KEY) -> dict[str, Any]:
    return {
        "name": name,
        "base_url": base_url,
        "environment": "sandbox",
        "auth": {"kind": "api_key", "key_name": "X-API-Key", "key_location": "header", "api_key": api_key},
        "rate_limit_per_second": 50,
        "rate_limit_burst": 20,
        "max_concurrency": 4,
        "endpoints": [
            {
                "key": "items",
                "resource": "items",
                "path": "/api/v1/items",
                "record_path": "$.data",
                "pagination": {
                    "kind": "page",
                    "page_size": 100,
                    "page_param": "page",
                    "size_param": "per_page",
                    "total_pages_path": "$.meta.total_pages",
                },
            },
            {
                "key": "warehouses",
                "resource": "locations",
                "path": "/api/v1/warehouses",
                "record_path": "$.results",
                "pagination": {
                    "kind": "offset",
                    "page_size": 20,
                    "offset_param": "offset",
                    "limit_param": "limit",
                    "total_path": "$.total",
                },
            },
            {
                "key": "stock",
                "resource": "stock_balances",
                "path": "/api/v1/stock",
                "record_path": "$.items",
                "pagination": {
                    "kind": "cursor",
                    "cursor_source": "body",
                    "cursor_path": "$.next_cursor",
                    "cursor_param": "cursor",
                    "size_param": "limit",
                    "page_size": 500,
                },
            },
            {
                "key": "movements",
                "resource": "stock_movements",
                "path": "/api/v1/movements",
                "params": {"page_size": "1000"},
                "record_path": "$.movements",
                "pagination": {"kind": "cursor", "cursor_source": "link_header"},
                "time_window": {
                    "start_param": "from",
                    "end_param": "to",
                    "window_hours": 24 * 31,
                    "lookback_days": 185,
                    "format": "iso",
                },
            },
            {
                "key": "open-orders",
                "resource": "open_orders",
                "path": "/api/v1/open-orders",
                "record_path": "$.data",
                "pagination": {
                    "kind": "page",
                    "page_size": 100,
                    "page_param": "page",
                    "size_param": "per_page",
                    "total_pages_path": "$.meta.total_pages",
                },
            },
        ],
        # How the demo ERP would take each action, so that a blocked draft shows the exact request a
        # person would make there. Declaring these never makes anything sendable (the execution lock).
        "action_templates": DEMO_ACTION_TEMPLATES,
    }


DEMO_ACTION_TEMPLATES: dict[str, dict[str, Any]] = {
    "reorder": {
        "method": "POST",
        "path": "/api/v1/purchase-orders",
        "body": {
            "reference": "reference",
            "warehouse_id": "location_external_id",
            "needed_by": "needed_by",
            "line.item_code": "item_sku",
            "line.quantity": "quantity",
            "line.uom": "unit_of_measure",
            "line.unit_cost": "unit_cost",
        },
    },
    "transfer": {
        "method": "POST",
        "path": "/api/v1/transfers",
        "body": {
            "reference": "reference",
            "item_code": "item_sku",
            "from_warehouse_id": "from_location_external_id",
            "to_warehouse_id": "to_location_external_id",
            "quantity": "quantity",
        },
    },
    "write_off": {
        "method": "POST",
        "path": "/api/v1/warehouses/{location_external_id}/adjustments",
        "body": {
            "reference": "reference",
            "item_code": "item_sku",
            "quantity": "quantity",
            "reason": {"value": "WRITE_OFF"},
        },
    },
}


MOVEMENT_KINDS = {
    "SALE": "sale",
    "GOODS_RECEIPT": "receipt",
    "TRANSFER_IN": "transfer_in",
    "TRANSFER_OUT": "transfer_out",
    "ADJUSTMENT": "adjustment",
}

DEMO_MAPPINGS: dict[str, dict[str, Any]] = {
    "items": {
        "record_path": "$.data",
        "fields": {
            "external_id": {"path": "$.item_code"},
            "sku": {"path": "$.item_code", "transforms": [{"op": "trim"}]},
            "name": {"path": "$.description.en"},
            "category": {"path": "$.category.name"},
            "unit_of_measure": {"path": "$.uom"},
            "unit_cost": {"path": "$.cost.amount", "transforms": [{"op": "to_number"}]},
            "lead_time_days": {"path": "$.supplier.lead_time_days"},
            "min_order_qty": {"path": "$.ordering.min_order_qty"},
            "order_multiple": {"path": "$.ordering.order_multiple"},
        },
    },
    "warehouses": {
        "record_path": "$.results",
        "fields": {
            "external_id": {"path": "$.id"},
            "code": {"path": "$.code"},
            "name": {"path": "$.name.en"},
            "type": {"path": "$.type"},
            "address": {
                "path": "$.address.district",
                "transforms": [{"op": "join", "paths": ["$.address.city", "$.address.country"]}],
            },
        },
    },
    "stock": {
        "record_path": "$.items",
        # The demo ERP's stock endpoint has exactly one row per item and warehouse, and no row id of its own.
        "combine": "last",
        "fields": {
            "item_ref": {"path": "$.sku"},
            "location_ref": {"path": "$.warehouse_id"},
            "quantity": {"path": "$.on_hand"},
            "reserved_qty": {"path": "$.reserved"},
            "available_qty": {"path": "$.available"},
            "as_of": {"path": "$.as_of"},
        },
    },
    "movements": {
        "record_path": "$.movements",
        "fields": {
            "external_id": {"path": "$.movement_id"},
            "item_ref": {"path": "$.sku"},
            "location_ref": {"path": "$.warehouse_id"},
            "occurred_at": {"path": "$.occurred_at"},
            "quantity": {
                "path": "$.quantity",
                "transforms": [{"op": "negate_when", "path": "$.direction", "values": ["out"]}],
            },
            "kind": {"path": "$.type", "transforms": [{"op": "lookup", "table": MOVEMENT_KINDS}]},
            "reference": {"path": "$.reference"},
        },
    },
    "open-orders": {
        "record_path": "$.data",
        "fields": {
            "external_id": {"path": "$.line_id"},
            "item_ref": {"path": "$.sku"},
            "location_ref": {"path": "$.warehouse_id"},
            "open_qty": {"path": "$.ordered_qty", "transforms": [{"op": "subtract", "path": "$.received_qty"}]},
            "expected_at": {"path": "$.expected_date"},
            "kind": {"path": "$.type"},
            "reference": {"path": "$.order_number"},
        },
    },
}


async def provision_demo_connector(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    base_url: str,
    box: SecretBox,
    network: NetworkPolicy,
    actor: Actor,
    correlation_id: str,
    name: str = "Demo ERP",
) -> Connector:
    """Create the demo connector and its four mappings in a tenant (idempotent by name). A demo connector made
    before the demo declared its action templates gets them (an audited connector update), so its drafts show
    the request that would have been sent."""
    import msgspec

    repo = connectors.ConnectorRepo(session, tenant_id=tenant_id)
    existing = await repo.one_or_none(Connector.name == name)
    if existing is not None:
        if not existing.action_templates:
            existing, _ = await connectors.update_connector(
                session,
                existing.id,
                ConnectorUpdate(action_templates=DEMO_ACTION_TEMPLATES),
                actor=actor,
                correlation_id=correlation_id,
                box=box,
                network=network,
            )
        return existing
    body = msgspec.convert(demo_connector_body(base_url, name=name), ConnectorCreate)
    connector, _ = await connectors.create_connector(
        session, body, actor=actor, correlation_id=correlation_id, box=box, network=network, tenant_id=tenant_id
    )
    await mappings.create_mappings(
        session,
        connector_id=connector.id,
        specs=DEMO_MAPPINGS,
        note="Demo ERP mapping",
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=tenant_id,
    )
    return connector
