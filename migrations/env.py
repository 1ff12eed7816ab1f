"""Alembic environment: the engine comes from andon (config.attributes) or ANDON_* settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from andon.core.config import get_settings
from andon.core.database import create_db_engine
from andon.models import metadata

config = context.config


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if isinstance(engine, Engine):
        return engine
    return create_db_engine(get_settings().resolved_database_url)


def run_migrations() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
