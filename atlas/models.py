"""Imports every component's tables so the metadata (and Alembic) sees them all."""

from atlas.billing.models import Subscription, SubscriptionPlan
from atlas.connectors.models import Connector, ConnectorEndpoint, ConnectorHealthCheck
from atlas.mapping.models import (
    Item,
    Location,
    Mapping,
    MappingVersion,
    QuarantinedRecord,
    StockBalance,
    StockMovement,
    SyncCheckpoint,
    SyncRun,
)
from atlas.platform.models import (
    ApiToken,
    AuditChainHead,
    AuditEvent,
    AuthIdentity,
    Invitation,
    LoginFlow,
    Tenant,
    User,
    WebSession,
)

__all__ = [
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "AuthIdentity",
    "Connector",
    "ConnectorEndpoint",
    "ConnectorHealthCheck",
    "Invitation",
    "Item",
    "Location",
    "LoginFlow",
    "Mapping",
    "MappingVersion",
    "QuarantinedRecord",
    "StockBalance",
    "StockMovement",
    "Subscription",
    "SubscriptionPlan",
    "SyncCheckpoint",
    "SyncRun",
    "Tenant",
    "User",
    "WebSession",
]
