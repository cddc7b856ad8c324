"""Imports every component's tables so the metadata (and Alembic) sees them all."""

from atlas.ai_engine.models import AnalysisRun, Anomaly, Forecast, Recommendation
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
    "AnalysisRun",
    "Anomaly",
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "AuthIdentity",
    "Connector",
    "ConnectorEndpoint",
    "ConnectorHealthCheck",
    "Forecast",
    "Invitation",
    "Item",
    "Location",
    "LoginFlow",
    "Mapping",
    "MappingVersion",
    "QuarantinedRecord",
    "Recommendation",
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
