"""A small plant with training tasks in every state, written straight into the tables.

Two areas (ASM with line L1, PCK with line P1) of site CHI; operators op1 and op2 in ASM, op3
in PCK, a site-wide supervisor ``sup`` and a plant-wide quality engineer ``qe`` (no training
role). SOP-ASM-001 revision 2 is effective (op1 acknowledged it, op2's task is due and shows
them the redline from revision 1, sup's is overdue); SOP-GEN-001 has no tasks; SOP-PCK-001's
task of op3 was carried forward; WI-ASM-002 is a draft and never in the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from andon.core.permissions import Role
from andon.core.uow import Context
from andon.documents.models import Document, DocumentRevision, TrainingAssignment
from andon.plant import service as plant
from andon.plant.models import Area, Line
from andon.plant.schemas import AreaCreate, LineCreate
from tests.factories import Floor, make_plant, make_user

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
EFFECTIVE_AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@dataclass
class TrainingPlant:
    line: Line
    packing_line: Line
    area: Area
    packing: Area
    revisions: dict[str, int]
    """``NUMBER/rev`` → revision id."""


def build_training_plant(system: Context, floor: Floor | None = None) -> TrainingPlant:
    """The plant above, on ``floor``'s site, area and line when given (for work events)."""
    if floor is None:
        _, site, area, line = make_plant(system)
    else:
        site, area, line = floor.site, floor.area, floor.line
    packing = plant.create_area(system, AreaCreate(site_id=site.id, name="Packing", code="PCK"))
    packing_line = plant.create_line(
        system, LineCreate(area_id=packing.id, name="Pack 1", code="P1")
    )
    users = {
        "op1": make_user(system, "op1", Role.OPERATOR, site_id=site.id, area_id=area.id),
        "op2": make_user(system, "op2", Role.OPERATOR, site_id=site.id, area_id=area.id),
        "op3": make_user(system, "op3", Role.OPERATOR, site_id=site.id, area_id=packing.id),
        "sup": make_user(system, "sup", Role.SUPERVISOR, site_id=site.id),
        "qe": make_user(system, "qe", Role.QUALITY),
    }
    ids = {name: user.id for name, user in users.items()}
    revisions: dict[str, int] = {}
    with system.write() as tx:
        session = tx.session

        def document(number: str, title: str, area_code: str | None, effective: int | None):
            row = Document(
                number=number,
                type=number.split("-")[0],
                title=title,
                owner_id=ids["qe"],
                area_code=area_code,
                review_interval_months=24,
                status="effective" if effective else "draft",
                effective_revision=effective,
                created_by="test",
            )
            session.add(row)
            session.flush()
            return row

        def revision(doc: Document, number: int, status: str) -> DocumentRevision:
            row = DocumentRevision(
                document_id=doc.id,
                number=number,
                status=status,
                author_id=ids["qe"],
                title=doc.title,
                content={},
                content_sha256="0" * 64,
                effective_at=EFFECTIVE_AT if status in ("effective", "superseded") else None,
            )
            session.add(row)
            session.flush()
            revisions[f"{doc.number}/{number}"] = row.id
            return row

        def task(
            rev: DocumentRevision,
            user: str,
            status: str,
            due_on: date,
            previous: DocumentRevision | None = None,
            acknowledged_at: datetime | None = None,
        ) -> None:
            session.add(
                TrainingAssignment(
                    document_id=rev.document_id,
                    revision_id=rev.id,
                    user_id=ids[user],
                    status=status,
                    assigned_at=EFFECTIVE_AT,
                    due_on=due_on,
                    previous_revision_id=previous.id if previous else None,
                    acknowledged_at=acknowledged_at,
                )
            )

        asm = document("SOP-ASM-001", "Assembly of the pump housing", "ASM", 2)
        old = revision(asm, 1, "superseded")
        new = revision(asm, 2, "effective")
        task(
            old, "op1", "done", date(2026, 1, 15), acknowledged_at=datetime(2026, 1, 2, tzinfo=UTC)
        )
        task(
            old, "op2", "done", date(2026, 1, 15), acknowledged_at=datetime(2026, 1, 3, tzinfo=UTC)
        )
        task(new, "op1", "done", date(2026, 3, 15), old, datetime(2026, 3, 2, 9, tzinfo=UTC))
        task(new, "op2", "due", date(2026, 3, 15), old)
        task(new, "sup", "due", date(2026, 3, 9))
        gen = document("SOP-GEN-001", '=HYPERLINK("http://x") housekeeping', None, 1)
        revision(gen, 1, "effective")
        pck = document("SOP-PCK-001", "Packing", "PCK", 1)
        task(revision(pck, 1, "effective"), "op3", "carried", date(2026, 3, 15), None, EFFECTIVE_AT)
        draft = document("WI-ASM-002", "Draft instruction", "ASM", None)
        revision(draft, 1, "draft")
    return TrainingPlant(line, packing_line, area, packing, revisions)
