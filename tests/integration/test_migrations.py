from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from andon.core import migrations
from andon.core.database import Database
from andon.models import metadata


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_database_is_at_the_head_revision(db: Database) -> None:
    assert migrations.current(db.engine) == "0007"
