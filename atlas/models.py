"""Imports every component's tables so the metadata (and Alembic) sees them all."""

from atlas.ai_engine.models import AnalysisRun, Anomaly, Forecast, Recommendation
from atlas.approvals.models import ApprovalDecision
from atlas.billing.models import (
    BillingNotice,
    BillingProfile,
    Invoice,
    InvoiceCounter,
    MeetingRequest,
    MoyasarEvent,
    PaymentAttempt,
    PaymentMethod,
    Subscription,
    SubscriptionPlan,
)
from atlas.connectors.models import Connector, ConnectorEndpoint, ConnectorHealthCheck
from atlas.execution_lock.models import ExecutionDraft
from atlas.mapping.models import (
    Item,
    Location,
    Mapping,
    MappingVersion,
    OpenOrder,
    QuarantinedRecord,
    StockBalance,
    StockBalancePart,
    StockMovement,
    SyncCheckpoint,
    SyncRun,
)
from atlas.platform.checkpoints import AuditCheckpoint
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
from atlas.policy.models import Policy

__all__ = [
    "AnalysisRun",
    "Anomaly",
    "ApiToken",
    "ApprovalDecision",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "AuthIdentity",
    "BillingNotice",
    "BillingProfile",
    "Connector",
    "ConnectorEndpoint",
    "ConnectorHealthCheck",
    "ExecutionDraft",
    "Forecast",
    "Invitation",
    "Invoice",
    "InvoiceCounter",
    "Item",
    "Location",
    "LoginFlow",
    "Mapping",
    "MappingVersion",
    "MeetingRequest",
    "MoyasarEvent",
    "OpenOrder",
    "PaymentAttempt",
    "PaymentMethod",
    "Policy",
    "QuarantinedRecord",
    "Recommendation",
    "StockBalance",
    "StockBalancePart",
    "StockMovement",
    "Subscription",
    "SubscriptionPlan",
    "SyncCheckpoint",
    "SyncRun",
    "Tenant",
    "User",
    "WebSession",
]
