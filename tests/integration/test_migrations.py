from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from andon.core import migrations
from andon.core.database import Database
from andon.documents.models import FTS_TABLE, SEARCH_INDEX, SEARCH_VECTOR_COLUMN
from andon.improvement import postmortem_models
from andon.models import metadata


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _modelled}
        )
        assert compare_metadata(context, metadata) == []


def test_database_is_at_the_head_revision(db: Database) -> None:
    assert migrations.current(db.engine) == "0016"


def _modelled(name: str | None, type_: str, _parents: object) -> bool:
    # The full-text indexes (SQLite's FTS5 tables, PostgreSQL's expression index) are made
    # by the migration, not modelled.
    if type_ == "index":
        return name not in (SEARCH_INDEX, postmortem_models.SEARCH_INDEX)
    if type_ == "column":
        return name != SEARCH_VECTOR_COLUMN
    return not (
        type_ == "table"
        and name is not None
        and name.startswith((FTS_TABLE, postmortem_models.FTS_TABLE))
    )
