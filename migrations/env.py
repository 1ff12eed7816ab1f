"""Alembic environment: the engine comes from andon (config.attributes) or ANDON_* settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from andon.core.config import get_settings
from andon.core.database import create_db_engine
from andon.documents.models import FTS_TABLE, SEARCH_INDEX, SEARCH_VECTOR_COLUMN
from andon.improvement import postmortem_models
from andon.models import metadata

config = context.config


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if isinstance(engine, Engine):
        return engine
    return create_db_engine(get_settings().resolved_database_url)


def _modelled(name: str | None, type_: str, _parents: object) -> bool:
    # The full-text indexes (SQLite's FTS5 tables, PostgreSQL's expression index) are made
    # by hand in 0008, not modelled.
    if type_ == "index":
        return name not in (SEARCH_INDEX, postmortem_models.SEARCH_INDEX)
    if type_ == "column":
        return name != SEARCH_VECTOR_COLUMN
    return not (
        type_ == "table"
        and name is not None
        and name.startswith((FTS_TABLE, postmortem_models.FTS_TABLE))
    )


def run_migrations() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=_modelled,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
