"""Process-wide resources of a worker (the database pool), set once when the worker starts."""

from __future__ import annotations

from dataclasses import dataclass

from atlas.config import Settings
from atlas.db.engine import Database
from atlas.platform.crypto import SecretBox


@dataclass
class WorkerRuntime:
    settings: Settings
    db: Database
    secret_box: SecretBox


_runtime: WorkerRuntime | None = None


def init_runtime(settings: Settings) -> WorkerRuntime:
    global _runtime
    _runtime = WorkerRuntime(
        settings=settings,
        db=Database(settings.database_url, app_role=settings.db_app_role, pool_size=settings.db_pool_size),
        secret_box=SecretBox(settings.fernet_key()),
    )
    return _runtime


def runtime() -> WorkerRuntime:
    if _runtime is None:
        raise RuntimeError("the worker runtime is not initialised")
    return _runtime
