"""Migration 0015 turns each free-text risk of a change record into a register entry and
links the revisions that named it, leaving their signed text and hash as they were."""

from datetime import UTC, datetime

from sqlalchemy import select

from andon.core import migrations
from andon.core.database import Database
from andon.models import metadata

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
RAM = "The ram falls when the air is bled"


def test_free_text_risks_become_register_entries(fresh_db_url: str) -> None:
    db = Database(fresh_db_url)
    try:
        migrations.upgrade(db.engine, "0014")
        users, documents, revisions = (
            metadata.tables[n] for n in ("users", "documents", "document_revisions")
        )
        with db.engine.begin() as c:
            c.execute(
                users.insert().values(
                    id=1, username="author", display_name="A", password_hash="x", created_at=AT
                )
            )
            c.execute(
                documents.insert().values(
                    id=1,
                    number="SOP-1",
                    type="SOP",
                    title="Press",
                    owner_id=1,
                    area_code="ASM",
                    review_interval_months=12,
                    status="effective",
                    created_at=AT,
                    created_by="a",
                )
            )
            for number, change in enumerate(
                (
                    {"reason": "first", "safety_impact": True, "risk": RAM},
                    {"reason": "again", "safety_impact": True, "risk": RAM},
                    {"reason": "guard", "safety_impact": True, "risk": "Pinch point"},
                    {"reason": "typo", "safety_impact": False},
                ),
                start=1,
            ):
                c.execute(
                    revisions.insert().values(
                        id=number,
                        document_id=1,
                        number=number,
                        status="draft",
                        author_id=1,
                        title="Press",
                        content={"steps": []},
                        content_sha256=f"{number:064d}",
                        change=change,
                        plan={},
                        created_at=AT,
                        updated_at=AT,
                    )
                )

        migrations.upgrade(db.engine)

        with db.engine.connect() as c:
            risks = {r.title: r for r in c.execute(select(metadata.tables["risks"]).order_by("id"))}
            linked = dict(c.execute(select(revisions.c.number, revisions.c.risk_id)).all())
            kept = dict(c.execute(select(revisions.c.number, revisions.c.change)).all())
            hashes = dict(c.execute(select(revisions.c.number, revisions.c.content_sha256)).all())
        assert sorted(risks) == ["Pinch point", RAM]
        ram = risks[RAM]
        assert (ram.status, ram.area, ram.owner_user_id, ram.inherent_likelihood) == (
            "to_assess",
            "ASM",
            1,
            None,
        )
        assert linked == {1: ram.id, 2: ram.id, 3: risks["Pinch point"].id, 4: None}
        assert kept[1] == {"reason": "first", "safety_impact": True, "risk": RAM}
        assert hashes[3] == f"{3:064d}"
    finally:
        db.dispose()
