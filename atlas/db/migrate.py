"""`atlas db upgrade`: apply the Alembic migrations to DATABASE_URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(sync_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    return config


def upgrade(sync_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(sync_url), revision)
