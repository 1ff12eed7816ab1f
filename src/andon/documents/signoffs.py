"""Signatures on the revision in force: a reader's acknowledgement and the owner's periodic
review. Both are electronic signatures (password re-entered, printed name, UTC time, meaning,
the digest of the content signed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import select

from andon.core.clock import utcnow
from andon.core.errors import Conflict, InvalidInput
from andon.core.permissions import Action, authorize_somewhere
from andon.core.uow import Context
from andon.documents import assignments, lifecycle
from andon.documents.lifecycle import Meaning, Status
from andon.documents.models import DocumentReview, DocumentSignature, TrainingAssignment
from andon.documents.rules import DEFAULT_RULES, DocumentRules
from andon.documents.service import Outcome, add_months, revise
from andon.documents.signing import check_password, signer_for
from andon.documents.store import (
    apply_revision,
    load_document,
    load_revisions,
    load_signatures,
    revision_value,
    signature_json,
)

ReviewOutcome = Literal["confirm", "change"]


@dataclass(frozen=True)
class Question:
    """A comprehension question: the reader picks one of ``options``; ``answer`` is its index."""

    question: str
    options: tuple[str, ...]
    answer: int


def questions_of(plan: dict[str, Any]) -> tuple[list[Question], int]:
    """The revision's questions and pass mark (percent; 100 when unstated)."""
    questions = [
        Question(q["question"], tuple(q["options"]), int(q["answer"]))
        for q in plan.get("questions", [])
    ]
    return questions, int(plan.get("pass_mark", 100))


def score(questions: Sequence[Question], answers: Sequence[int] | None) -> int:
    """Percent of questions answered right; refuses a wrong number of answers."""
    if not questions:
        return 100
    if answers is None or len(answers) != len(questions):
        raise InvalidInput.for_field(
            "answers", f"answer all {len(questions)} questions (one option each)"
        )
    right = sum(1 for q, a in zip(questions, answers, strict=True) if q.answer == a)
    return round(100 * right / len(questions))


def acknowledge(
    ctx: Context,
    number: str,
    password: str,
    *,
    answers: Sequence[int] | None = None,
    at: datetime | None = None,
) -> Outcome:
    """The acting person acknowledges having read the effective revision (once per person),
    passing its questions when it has any; their training task, if any, is done."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_ACK)
    check_password(ctx, password)
    now = at or utcnow()
    with ctx.write() as tx:
        session = tx.session
        document = load_document(session, number)
        rows = load_revisions(session, document)
        row = next((r for r in rows if r.status == Status.EFFECTIVE), None)
        if row is None:
            raise Conflict(f"{number} has no effective revision to acknowledge")
        questions, pass_mark = questions_of(row.plan)
        result = score(questions, answers)
        if result < pass_mark:
            raise InvalidInput.for_field(
                "answers",
                f"{result}% right; the pass mark is {pass_mark}%. Read the document again "
                "and retry; nothing was signed",
            )
        before = revision_value(row, load_signatures(session, [row.id])[row.id])
        after = lifecycle.acknowledge(before, signer_for(session, ctx.actor), now)
        (signature,) = apply_revision(session, row, before, after, now)
        task = session.scalar(
            select(TrainingAssignment).where(
                TrainingAssignment.revision_id == row.id,
                TrainingAssignment.user_id == signature.user_id,
            )
        )
        if task is None:
            # Read without being asked (or before the task was assigned): counted all the same.
            task = TrainingAssignment(
                document_id=document.id,
                revision_id=row.id,
                user_id=signature.user_id,
                assigned_at=now,
                due_on=DEFAULT_RULES.today(now),
            )
            session.add(task)
        task.status = assignments.DONE
        task.acknowledged_at = now
        task.signature_id = signature.id
        task.score = result if questions else None
        tx.audit(
            "document_signature",
            signature.id,
            "sign",
            after={"revision_id": row.id, **signature_json(signature)},
        )
        return Outcome(document.number, row.number, row.status, row.effective_on)


def review(
    ctx: Context,
    number: str,
    password: str,
    outcome: ReviewOutcome,
    *,
    comment: str = "",
    rules: DocumentRules = DEFAULT_RULES,
    at: datetime | None = None,
) -> Outcome:
    """The periodic review of the revision in force: ``confirm`` signs that it still holds
    and sets the next review date; ``change`` signs that it does not and starts a draft.
    ``at``: when it happens (tests of the reminder jobs fix the clock); default now."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_REVIEW)
    if outcome not in ("confirm", "change"):
        raise InvalidInput.for_field("outcome", "confirm or change")
    if outcome == "change" and not comment.strip():
        raise InvalidInput.for_field("comment", "say what must change")
    check_password(ctx, password)
    now = at or utcnow()
    with ctx.atomic() as tx:
        session = tx.session
        document = load_document(session, number)
        rows = load_revisions(session, document)
        row = next((r for r in rows if r.status == Status.EFFECTIVE), None)
        if row is None:
            raise Conflict(f"{number} has no effective revision to review")
        signer = signer_for(session, ctx.actor)
        # Not through the lifecycle's once-per-revision rule: a revision in force is reviewed
        # again every interval, often by the person who approved it.
        signature = DocumentSignature(
            revision_id=row.id,
            user_id=signer.user_id,
            username=signer.username,
            name=signer.name,
            meaning=Meaning.REVIEWED.value,
            role=None,
            signed_at=now,
            content_sha256=row.content_sha256,
            review_round=0,
            comment=f"periodic review: {outcome}" + (f" — {comment.strip()}" if comment else ""),
        )
        session.add(signature)
        session.flush()
        today = rules.today(now)
        next_on: date | None = None
        if outcome == "confirm":
            next_on = add_months(today, document.review_interval_months)
        # A change resets the date when its revision takes effect.
        document.next_review_on = next_on
        document.review_reminded_at = None
        document.review_escalated_at = None
        record = DocumentReview(
            document_id=document.id,
            revision_id=row.id,
            signature_id=signature.id,
            outcome=outcome,
            comment=comment.strip(),
            reviewed_at=now,
            reviewed_by=ctx.actor.username,
            next_review_on=next_on,
        )
        session.add(record)
        tx.audit(
            "document_review",
            document.id,
            outcome,
            after={
                "document": number,
                "revision": row.number,
                "next_review_on": next_on.isoformat() if next_on else None,
                **signature_json(signature),
            },
            reason=comment.strip() or None,
        )
        if outcome == "change":
            return revise(ctx, number, reason=f"Periodic review: {comment.strip()}", rules=rules)
        return Outcome(document.number, row.number, row.status, row.effective_on)
