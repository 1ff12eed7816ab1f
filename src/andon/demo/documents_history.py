"""The demo plant's controlled documents with their revision histories, through the services.

Owners author, quality (and safety, for a safety change) approve with their signatures, and
the people on the floor acknowledge, each at an instant placed relative to the work history's
window so the history's moves find the revisions that were in force when they happened:

- every document's first revision took effect weeks before the history starts (one of them,
  SOP-WH-001, thirteen months before its end: its periodic review is overdue);
- the editorial change to CHK-ASM-002 (no training: acknowledgements carry over) took effect
  before the history;
- the change to SOP-ASM-001 took effect a third of the way in; the operator acknowledged it
  some days later (moves in between are marked untrained), the supervisor never did;
- the CAPA revision of SOP-ASM-001 (torque verification at shift start) took effect at a
  shift start about 16 days before the end, when the work history's QA gate at Assemble
  was published (see ``andon.demo.work``); the operator acknowledged it the next morning;
- the safety change to SOP-SAF-001 waits in review: quality signed, safety has not;
- a few first-issue trainings of the operator and the supervisor are left undone: overdue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from andon.actions.service import close_action
from andon.core.uow import Context
from andon.demo.document_files import demo_capa_texts, demo_change_texts, demo_document_texts
from andon.demo.work import torque_fix_at
from andon.documents import service, signoffs
from andon.documents.assignments import DUE
from andon.documents.models import Document, TrainingAssignment
from andon.documents.service import Outcome
from andon.improvement import risks
from andon.improvement.risk_schemas import MitigationCreate, RiskCreate, Verification

# Owners who cannot author their own documents: an author may not approve their own revision,
# and the demo has one quality and one safety user, so the operations manager writes these.
STANDIN_AUTHOR = "ops-manager"
OVERDUE_REVIEW = "SOP-WH-001"
# First-issue trainings nobody did: (user, document), overdue by the end of the history.
SKIPPED = {
    ("operator", "WI-ASM-002"),
    ("operator", "SOP-SAF-002"),
    ("supervisor", "FRM-QA-001"),
}
# Stage SOPs read by those who work the stage though no task asked them (kitting is the
# warehouse's document; quality holds no training role).
UNASKED = (("operator", "SOP-KIT-001"), ("quality", "WI-INS-004"))
CHANGED_SOP = "SOP-ASM-001"  # the change with training, taking effect inside the history
EDITORIAL = "CHK-ASM-002"
SAFETY_CHANGE = "SOP-SAF-001"  # left waiting for the safety approval
DEMO_RISK = "RSK-1"  # the reference its change file names: the first risk of a new register


@dataclass
class DocumentsSummary:
    documents: int = 0
    revisions: int = 0
    waiting: list[str] = field(default_factory=list)  # changes left in review
    acknowledgements: int = 0


def load_documents(
    people: Mapping[str, Context],
    password: str,
    *,
    start_at: datetime,
    end_at: datetime,
) -> DocumentsSummary:
    """Load the demo documents and their histories; ``start_at``/``end_at`` bound the work
    history the documents were in force for (``start_at == end_at`` when there is none)."""
    summary = DocumentsSummary()
    texts = dict(demo_document_texts())
    first_issue = start_at - timedelta(days=75)
    owners = {number: _owner(text) for number, text in texts.items()}
    for i, (number, text) in enumerate(texts.items()):
        at = first_issue + timedelta(hours=i)
        if number == OVERDUE_REVIEW:
            at = end_at - timedelta(days=400)
        _issue(people, password, owners[number], text, at)
        summary.documents += 1
        summary.revisions += 1
    ack_at = first_issue + timedelta(days=3)
    summary.acknowledgements += _acknowledge_due(people, password, ack_at, skip=SKIPPED)
    for name, number in UNASKED:
        signoffs.acknowledge(people[name], number, password, at=ack_at + timedelta(days=1))
        summary.acknowledgements += 1

    changes = dict(demo_change_texts())
    _issue(people, password, owners[EDITORIAL], changes[EDITORIAL], start_at - timedelta(days=20))
    window = end_at - start_at
    change_at = start_at + window / 3
    _issue(people, password, owners[CHANGED_SOP], changes[CHANGED_SOP], change_at)
    operator_reads = change_at + max(window / 6, timedelta(minutes=1))
    signoffs.acknowledge(people["operator"], CHANGED_SOP, password, at=operator_reads)
    summary.acknowledgements += 1
    summary.revisions += 2

    fix_at = torque_fix_at(end_at)
    if change_at < fix_at < end_at:
        for number, text in demo_capa_texts():
            _issue(people, password, owners[number], text, fix_at)
            next_morning = fix_at + timedelta(hours=18)
            signoffs.acknowledge(people["operator"], number, password, at=next_morning)
            summary.acknowledgements += 1
            summary.revisions += 1

    author = _author(owners[SAFETY_CHANGE], safety_change=True)
    drafted = end_at - timedelta(days=3)
    reference = _ram_risk(people["safety"], at=drafted - timedelta(days=14))
    text = changes[SAFETY_CHANGE].replace(f"risk: {DEMO_RISK}\n", f"risk: {reference}\n", 1)
    service.import_markdown(people[author], text, at=drafted)
    service.submit(people[author], SAFETY_CHANGE, password=password, at=drafted)
    waiting = service.approve(
        people["quality"], SAFETY_CHANGE, password, at=drafted + timedelta(hours=20)
    )
    assert waiting.status == "in_review", waiting  # safety has not signed
    summary.revisions += 1
    summary.waiting = [SAFETY_CHANGE]
    return summary


def _ram_risk(safety: Context, *, at: datetime) -> str:
    """The register entry the lockout change links, scored, with its one mitigation done (so
    the change is held only by its missing safety approval); returns its reference."""
    risk = risks.add_risk(
        safety,
        RiskCreate(
            title="Cover press ram falls when the air is bled with the ram raised",
            area="ASM",
            cause="Air bled from the cover press with the ram up during a jam clearance",
            consequence="Crushed hand or arm of the person clearing the jam",
            inherent_likelihood=3,
            inherent_severity=5,
            residual_likelihood=1,
            residual_severity=5,
            owner="safety",
            status="mitigating",
            verification=Verification(method="check", check_interval_days=30),
            review_on=(at + timedelta(days=180)).date(),
        ),
        at=at,
        today=at.date(),
    )
    block = risks.add_mitigation(
        safety,
        risk.id,
        MitigationCreate(
            title="Fit a ram block to each cover press",
            owner_user="safety",
            due_on=(at + timedelta(days=7)).date(),
            priority="high",
        ),
        at=at,
    )
    close_action(
        safety, block.id, note="Ram blocks fitted on CHI L1 and L2", at=at + timedelta(days=5)
    )
    return risk.reference


def _owner(text: str) -> str:
    for line in text.splitlines()[1:]:
        if line.startswith("owner:"):
            return line.removeprefix("owner:").strip()
    raise ValueError("a demo document without an owner")


def _author(owner: str, *, safety_change: bool = False) -> str:
    if owner == "quality" or (safety_change and owner == "safety"):
        return STANDIN_AUTHOR
    return owner


def _issue(
    people: Mapping[str, Context], password: str, owner: str, text: str, at: datetime
) -> Outcome:
    """Draft, submit and approve a revision, taking effect at ``at``. Only changes are signed
    as authored: each signature costs a password check, and the load should stay quick."""
    author = people[_author(owner)]
    made = service.import_markdown(author, text, at=at - timedelta(hours=2))
    signed = password if made.revision > 1 else None
    service.submit(author, made.number, password=signed, at=at - timedelta(hours=1))
    done = service.approve(people["quality"], made.number, password, at=at)
    assert done.status == "effective", done
    return done


def _acknowledge_due(
    people: Mapping[str, Context],
    password: str,
    at: datetime,
    *,
    skip: set[tuple[str, str]],
) -> int:
    """The floor reads what it was asked to, one document after another, except ``skip``."""
    ctx = next(iter(people.values()))
    ids = {name: c.actor.user_id for name, c in people.items()}
    names = {user_id: name for name, user_id in ids.items()}
    with ctx.read() as session:
        due = session.execute(
            select(TrainingAssignment.user_id, Document.number)
            .join(Document, Document.id == TrainingAssignment.document_id)
            .where(TrainingAssignment.status == DUE)
            .order_by(TrainingAssignment.user_id, Document.number)
        ).all()
    done = 0
    for i, (user_id, number) in enumerate(due):
        name = names.get(user_id)
        if name is None or (name, number) in skip:
            continue
        signoffs.acknowledge(people[name], number, password, at=at + timedelta(minutes=10 * i))
        done += 1
    return done
