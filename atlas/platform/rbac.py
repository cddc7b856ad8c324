"""Role-based access: the one permission matrix (SPEC 7.5), enforced by a guard on every route.

Every route declares in its ``opt`` either ``permission`` (one of `Permission`),
``authenticated`` (any signed-in person or token) or ``public``; a test walks
the registered routes and fails on any that declares none.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


PLATFORM_ADMIN = "platform_admin"


class Permission(enum.StrEnum):
    READ = "tenant:read"
    DECIDE_RECOMMENDATIONS = "recommendations:decide"
    MANAGE_TENANT = "tenant:manage"
    MANAGE_MEMBERS = "members:manage"
    MANAGE_TOKENS = "tokens:manage"
    MANAGE_CONNECTORS = "connectors:manage"
    MANAGE_POLICIES = "policies:manage"
    PLATFORM_TENANTS = "platform:tenants"


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.OPERATOR: frozenset({Permission.READ, Permission.DECIDE_RECOMMENDATIONS}),
    Role.ADMIN: frozenset(
        {
            Permission.READ,
            Permission.DECIDE_RECOMMENDATIONS,
            Permission.MANAGE_TENANT,
            Permission.MANAGE_MEMBERS,
            Permission.MANAGE_TOKENS,
            Permission.MANAGE_CONNECTORS,
            Permission.MANAGE_POLICIES,
        }
    ),
}
PLATFORM_PERMISSIONS: frozenset[Permission] = frozenset({Permission.PLATFORM_TENANTS})


def permissions_for(role: str, platform_role: str | None = None) -> frozenset[Permission]:
    granted = ROLE_PERMISSIONS.get(role, frozenset())
    if platform_role == PLATFORM_ADMIN:
        granted = granted | PLATFORM_PERMISSIONS
    return granted


def has_permission(role: str, platform_role: str | None, permission: Permission) -> bool:
    return permission in permissions_for(role, platform_role)
