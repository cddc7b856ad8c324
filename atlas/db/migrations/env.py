"""Alembic environment: runs migrations as the login role of DATABASE_URL (the owner)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import atlas.models  # noqa: F401 - registers every table on the metadata
from atlas.db.base import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
target_metadata = Base.metadata


def run_migrations_online() -> None:
    assert url
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
