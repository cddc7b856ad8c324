"""Who is making a request: a signed-in person (server-side session) or an API token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from atlas.platform.audit import Actor
from atlas.platform.rbac import PLATFORM_ADMIN, Permission, has_permission


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["session", "token"]
    tenant_id: uuid.UUID
    role: str
    user_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    platform_role: str | None = None
    email: str | None = None
    display_name: str | None = None
    csrf_token: str | None = None

    @property
    def actor(self) -> Actor:
        if self.kind == "token":
            return Actor(f"token:{self.token_id}", self.display_name)
        return Actor(f"user:{self.user_id}", self.email or self.display_name)

    @property
    def is_platform_admin(self) -> bool:
        return self.platform_role == PLATFORM_ADMIN

    def can(self, permission: Permission) -> bool:
        return has_permission(self.role, self.platform_role, permission)
