"""The demo's controlled documents: revision histories, the waiting safety change, overdue
trainings and review, and the work history's moves recording the revisions in force."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from andon.core.uow import Context
from andon.demo.document_files import demo_document_texts
from andon.demo.plant import DemoSummary, load_demo
from andon.demo.work import HistoryOptions
from andon.documents import queries
from andon.documents.models import Document, DocumentRevision, TrainingAssignment
from andon.work.models import WorkEvent

END = datetime(2026, 11, 19, 18, 0, tzinfo=UTC)
SMALL = HistoryOptions(items=60, days=4, seed=7, end_at=END)


@pytest.fixture
def demo(system: Context) -> DemoSummary:
    return load_demo(system, SMALL)


def test_every_document_is_in_force_at_revision_one_or_two(
    system: Context, demo: DemoSummary
) -> None:
    with system.read() as session:
        rows = session.execute(select(Document.number, Document.effective_revision))
        effective = dict(rows.all())
        revisions = Counter(session.scalars(select(DocumentRevision.status)))
    assert set(effective) == {number for number, _ in demo_document_texts()}
    assert {n for n, r in effective.items() if r == 2} == {"CHK-ASM-002", "SOP-ASM-001"}
    assert set(effective.values()) == {1, 2}
    assert revisions == {"effective": 16, "superseded": 2, "in_review": 1}
    assert demo.documents is not None
    assert demo.documents.waiting == ["SOP-SAF-001"]


def test_safety_change_waits_for_safety_with_quality_signed(
    system: Context, demo: DemoSummary
) -> None:
    view = queries.show(system, "SOP-SAF-001", revision=2).to_json()
    assert view["status"] == "in_review"
    assert view["missing_approvals"] == {"safety": 1}
    approvals = [s for s in view["signatures"] if s["meaning"] == "approved"]
    assert [(s["username"], s["role"]) for s in approvals] == [("quality", "quality")]
    assert all(s["content_sha256"] == view["content_sha256"] for s in view["signatures"])
    in_force = queries.show(system, "SOP-SAF-001").to_json()
    assert (in_force["revision"], in_force["status"]) == (1, "effective")


def test_a_few_trainings_are_overdue(system: Context, demo: DemoSummary) -> None:
    with system.read() as session:
        overdue = set(
            session.execute(
                select(TrainingAssignment.user_id, Document.number)
                .join(Document, Document.id == TrainingAssignment.document_id)
                .where(TrainingAssignment.status == "due", TrainingAssignment.due_on < END.date())
            )
        )
    names = {user_id: name for name, user_id in demo.user_ids.items()}
    assert {(names[u], n) for u, n in overdue} == {
        ("operator", "WI-ASM-002"),
        ("operator", "SOP-SAF-002"),
        ("supervisor", "FRM-QA-001"),
    }


def test_one_periodic_review_is_overdue(system: Context, demo: DemoSummary) -> None:
    with system.read() as session:
        late = list(
            session.scalars(select(Document.number).where(Document.next_review_on < END.date()))
        )
    assert late == ["SOP-WH-001"]


def test_editorial_change_carried_the_acknowledgements(system: Context, demo: DemoSummary) -> None:
    with system.read() as session:
        statuses = Counter(
            session.scalars(
                select(TrainingAssignment.status)
                .join(DocumentRevision, DocumentRevision.id == TrainingAssignment.revision_id)
                .join(Document, Document.id == DocumentRevision.document_id)
                .where(Document.number == "CHK-ASM-002", DocumentRevision.number == 2)
            )
        )
    assert statuses == {"carried": 2}  # the operator and the supervisor read revision 1


def test_history_moves_record_the_revisions_in_force(system: Context, demo: DemoSummary) -> None:
    with system.read() as session:
        moves = [
            (e.timestamp, dict(e.attributes))
            for e in session.scalars(
                select(WorkEvent).where(WorkEvent.kind == "moved").order_by(WorkEvent.timestamp)
            )
        ]
        changed_at = session.scalar(
            select(DocumentRevision.effective_at)
            .join(Document, Document.id == DocumentRevision.document_id)
            .where(Document.number == "SOP-ASM-001", DocumentRevision.number == 2)
        )
    assert changed_at is not None
    assembled = [(t, a) for t, a in moves if a.get("sop") == "SOP-ASM-001"]
    assert assembled
    for moment, attributes in assembled:
        assert attributes["sop_revision"] == (1 if moment < changed_at else 2)
    untrained = [t for t, a in assembled if a.get("untrained")]
    # Only moves under revision 2 before the operator acknowledged it are marked.
    assert untrained
    assert all(t >= changed_at for t in untrained)
    assert any(a["sop_revision"] == 2 and "untrained" not in a for _, a in assembled)
    kitted = [a for _, a in moves if a.get("sop") == "SOP-KIT-001"]
    assert kitted
    assert all(a["sop_revision"] == 1 and "untrained" not in a for a in kitted)
