"""Change control under any sequence of actions by any of the people, on both databases.

A hypothesis state machine drives the document services the way a plant could: authors import
and edit changes, anyone submits, approves, rejects, acknowledges, reviews and withdraws, with
the right password or a wrong one, while the worker makes approved revisions effective on a
clock that moves forward. After every step it reads the database and checks the rules of
change control with its own arithmetic (not the lifecycle module's), so a fault in either the
rules or the services shows.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andon.accounts.service import actor_for
from andon.core.audit import GENESIS_HASH, AuditEntry, chain_hash, verify_chain
from andon.core.clock import utcnow
from andon.core.errors import AndonError
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.documents import service, signoffs
from andon.documents.content import content_sha256
from andon.documents.markdown_io import parse_markdown
from andon.documents.models import (
    Document,
    DocumentReview,
    DocumentRevision,
    DocumentSignature,
    TrainingAssignment,
)
from andon.documents.store import document_file
from tests.factories import PASSWORD, make_user
from tests.integration.risk_plant import make_risk

CAST: dict[str, tuple[Role, ...]] = {
    "author": (Role.QUALITY, Role.SAFETY),  # may write, and holds both approving roles
    "qe1": (Role.QUALITY,),  # may write too, so their own revisions test their duties
    "qe2": (Role.QUALITY,),
    "se": (Role.SAFETY,),
    "op": (Role.OPERATOR,),
    "vw": (Role.VIEWER,),
}
PEOPLE = st.sampled_from(sorted(CAST))
# Anyone may try anything, but the people whose job it is try more often, so that sequences
# reach approval, taking effect and supersession often enough to test them.
WRITERS = st.sampled_from(["author", "author", "author", "qe1", "qe2", "se", "op", "vw"])
SIGNERS = st.sampled_from(["qe1", "qe2", "qe2", "se", "se", "se", "author", "op", "vw"])
MAX_DOCUMENTS = 2  # per example: few enough that actions meet the same revision
# Mostly the right password, so that sequences get far; a wrong one now and then.
RIGHT = st.sampled_from([True, True, True, False])
PICK = st.integers(min_value=0, max_value=MAX_DOCUMENTS - 1)  # which of the example's documents
WORDS = st.sampled_from(["guard", "ram", "valve", "torque", "seal"])
SAFETY = st.sampled_from([None, False, True, True])  # a safety change is the hard path
DAYS = st.none() | st.integers(min_value=0, max_value=3)
ONCE_EFFECTIVE = ("effective", "superseded", "obsolete")
FULLY_APPROVED = ("approved", *ONCE_EFFECTIVE)
# One document numbering shared by all examples of a test: the database outlives an example.
_serial = itertools.count(1)


def _markdown(
    number: str,
    *,
    word: str,
    reason: str | None,
    safety: bool | None,
    risk: bool,
    training: bool | None,
) -> str:
    front = [f"number: {number}", "type: SOP", f"title: Clearing a {word} jam", "owner: author"]
    if reason:
        front.append(f"reason: {reason}")
    if safety is not None:
        front.append(f"safety_impact: {str(safety).lower()}")
    if training is not None:
        front.append(f"training: {str(training).lower()}")
    if risk:
        front.append("risk: RSK-1")  # the register entry the machine starts with
    return (
        "---\n"
        + "\n".join(front)
        + "\n---\n\n## Purpose\n\nClear a jam without injury.\n\n## Steps\n\n"
        + f"1. Stop the press and check the {word}\n2. Clear the jam\n"
    )


@dataclass(frozen=True)
class Frozen:
    """What an effective revision said; it never changes afterwards."""

    title: str
    content: Any
    change: Any
    content_sha256: str


def _count(session: Session, table: type) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


def _snapshot(session: Session) -> tuple[Any, ...]:
    """Every row count the services write to (the audit entries' last), and the mutable
    fields of documents and revisions."""
    counts = tuple(
        _count(session, t)
        for t in (
            Document,
            DocumentRevision,
            DocumentSignature,
            DocumentReview,
            TrainingAssignment,
            AuditEntry,
        )
    )
    documents = tuple(
        session.execute(
            select(
                Document.id,
                Document.status,
                Document.effective_revision,
                Document.title,
                Document.owner_id,
                Document.next_review_on,
            ).order_by(Document.id)
        )
    )
    revisions = tuple(
        session.execute(
            select(
                DocumentRevision.id,
                DocumentRevision.status,
                DocumentRevision.content_sha256,
                DocumentRevision.version,
                DocumentRevision.review_round,
                DocumentRevision.effective_on,
            ).order_by(DocumentRevision.id)
        )
    )
    return counts, documents, revisions


def _lifecycle_machine(system: Context) -> type[RuleBasedStateMachine]:
    users = {name: make_user(system, name, *roles) for name, roles in CAST.items()}
    make_risk(system, next(iter(CAST)))  # RSK-1, which safety changes link
    people = {name: system.as_actor(actor_for(user)) for name, user in users.items()}
    roles_of = {user.id: {r.value for r in CAST[name]} for name, user in users.items()}
    names_of = {user.id: (user.username, user.display_name) for user in users.values()}

    class DocumentLifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.numbers: list[str] = []
            self.now = utcnow()
            self.frozen: dict[int, Frozen] = {}
            self.statuses: dict[int, str] = {}
            self.signed: dict[int, tuple[int, str, str]] = {}
            with system.read() as session:
                head = session.execute(
                    select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc())
                ).first()
            self.audit_seq, self.audit_hash = tuple(head) if head else (0, GENESIS_HASH)

        # --- acting --------------------------------------------------------------------------

        def attempt(self, action: Any) -> None:
            """Run one use case: a refusal must leave every row as it was, and whatever a
            success changes must be in the audit trail."""
            with system.read() as session:
                before = _snapshot(session)
            try:
                action()
            except AndonError:
                with system.read() as session:
                    assert _snapshot(session) == before, "a refused action wrote something"
                return
            with system.read() as session:
                after = _snapshot(session)
            (*counts_before, audit_before), *rows_before = before
            (*counts_after, audit_after), *rows_after = after
            if (counts_after, rows_after) != (counts_before, rows_before):
                assert audit_after > audit_before, "a change left no audit entry"

        def pick(self, which: int) -> str:
            return self.numbers[which % len(self.numbers)]

        def password(self, right: bool) -> str:
            return PASSWORD if right else PASSWORD + "!"

        def today(self) -> date:
            return self.now.astimezone(UTC).date()

        @initialize(safety=st.booleans(), training=st.none() | st.booleans())
        def first_document(self, safety: bool, training: bool | None) -> None:
            self.import_change("author", True, 0, "guard", "first issue", safety, True, training)

        @rule(
            who=st.sampled_from(["author", "author", "qe1", "op"]),
            new=st.booleans(),
            which=PICK,
            word=WORDS,
            reason=st.sampled_from([None, "near miss on the press"]),
            safety=SAFETY,
            risk=st.sampled_from([True, True, False]),
            training=st.none() | st.booleans(),
        )
        def import_change(
            self,
            who: str,
            new: bool,
            which: int,
            word: str,
            reason: str | None,
            safety: bool | None,
            risk: bool,
            training: bool | None,
        ) -> None:
            if (new and len(self.numbers) < MAX_DOCUMENTS) or not self.numbers:
                number = f"SOP-M-{next(_serial):05d}"
            else:
                number = self.pick(which)
            text = _markdown(
                number, word=word, reason=reason, safety=safety, risk=risk, training=training
            )

            def act() -> None:
                service.import_markdown(people[who], text)
                if number not in self.numbers:
                    self.numbers.append(number)

            self.attempt(act)

        @precondition(lambda self: self.numbers)
        @rule(
            who=st.sampled_from(["author", "qe1", "qe2"]),
            which=PICK,
            stale=st.booleans(),
            word=WORDS,
            safety=st.none() | st.booleans(),
            risk=st.booleans(),
        )
        def save_draft(
            self, who: str, which: int, stale: bool, word: str, safety: bool | None, risk: bool
        ) -> None:
            number = self.pick(which)
            with system.read() as session:
                version = session.scalar(
                    select(DocumentRevision.version)
                    .join(Document, Document.id == DocumentRevision.document_id)
                    .where(Document.number == number)
                    .order_by(DocumentRevision.number.desc())
                    .limit(1)
                )
            assert version is not None
            text = _markdown(
                number, word=word, reason="edit", safety=safety, risk=risk, training=None
            )
            # Parsing is part of the attempt: a file the parser refuses is a refused edit.
            self.attempt(
                lambda: service.save_draft(
                    people[who],
                    number,
                    parse_markdown(text),
                    version=version - 1 if stale else version,
                )
            )

        @precondition(lambda self: self.numbers)
        @rule(
            who=WRITERS,
            which=PICK,
            sign=st.sampled_from([None, None, None, True, False]),
            days=DAYS,
        )
        def submit(self, who: str, which: int, sign: bool | None, days: int | None) -> None:
            # The date checked against is the real one: submit reads the clock itself.
            on = None if days is None else utcnow().date() + timedelta(days=days)
            password = None if sign is None else self.password(sign)
            self.attempt(
                lambda: service.submit(
                    people[who], self.pick(which), effective_on=on, password=password
                )
            )

        @precondition(lambda self: self.numbers)
        @rule(
            who=SIGNERS,
            which=PICK,
            right=RIGHT,
            role=st.sampled_from([None, None, None, Role.QUALITY, Role.SAFETY, Role.OPERATOR]),
            days=DAYS,
        )
        def approve(
            self, who: str, which: int, right: bool, role: Role | None, days: int | None
        ) -> None:
            on = None if days is None else self.today() + timedelta(days=days)
            self.attempt(
                lambda: service.approve(
                    people[who],
                    self.pick(which),
                    self.password(right),
                    role=role,
                    effective_on=on,
                    at=self.now,
                )
            )

        @precondition(lambda self: self.numbers)
        @rule(
            who=SIGNERS,
            which=PICK,
            right=RIGHT,
            role=st.sampled_from([None, Role.QUALITY, Role.SAFETY]),
            comment=st.sampled_from(["", "step 2 is unclear", "step 2 is unclear"]),
        )
        def reject(
            self, who: str, which: int, right: bool, role: Role | None, comment: str
        ) -> None:
            self.attempt(
                lambda: service.reject(
                    people[who], self.pick(which), self.password(right), comment, role=role
                )
            )

        @precondition(lambda self: self.numbers)
        @rule(who=PEOPLE, which=PICK, right=RIGHT)
        def acknowledge(self, who: str, which: int, right: bool) -> None:
            self.attempt(
                lambda: signoffs.acknowledge(people[who], self.pick(which), self.password(right))
            )

        @precondition(lambda self: self.numbers)
        @rule(
            who=WRITERS,
            which=PICK,
            reason=st.sampled_from(["", "new press fitted", "new press fitted"]),
            safety=SAFETY,
            risk=st.sampled_from([None, None, 1, 1]),
            training=st.none() | st.booleans(),
        )
        def revise(
            self,
            who: str,
            which: int,
            reason: str,
            safety: bool | None,
            risk: int | None,
            training: bool | None,
        ) -> None:
            self.attempt(
                lambda: service.revise(
                    people[who],
                    self.pick(which),
                    reason=reason,
                    safety_impact=safety,
                    training=training,
                    risk_id=risk,
                )
            )

        @precondition(lambda self: self.numbers)
        @rule(
            who=WRITERS,
            which=PICK,
            right=RIGHT,
            outcome=st.sampled_from(["confirm", "change"]),
            comment=st.sampled_from(["", "the press was replaced"]),
        )
        def periodic_review(
            self, who: str, which: int, right: bool, outcome: Any, comment: str
        ) -> None:
            self.attempt(
                lambda: signoffs.review(
                    people[who], self.pick(which), self.password(right), outcome, comment=comment
                )
            )

        @rule(days=st.integers(min_value=0, max_value=4))
        def take_effect_due(self, days: int) -> None:
            self.now += timedelta(days=days)
            self.attempt(lambda: service.take_effect_due(system, now=self.now))

        @precondition(lambda self: self.numbers)
        @rule(who=WRITERS, which=PICK, reason=st.sampled_from(["", "line closed", "line closed"]))
        def obsolete(self, who: str, which: int, reason: str) -> None:
            self.attempt(lambda: service.make_obsolete(people[who], self.pick(which), reason))

        # --- checking ------------------------------------------------------------------------

        @invariant()
        def change_control_holds(self) -> None:
            with system.read() as session:
                documents = {
                    d.id: d
                    for d in session.scalars(
                        select(Document).where(Document.number.in_(self.numbers))
                    )
                }
                rows = list(
                    session.scalars(
                        select(DocumentRevision)
                        .where(DocumentRevision.document_id.in_(list(documents)))
                        .order_by(DocumentRevision.document_id, DocumentRevision.number)
                    )
                )
                signatures: dict[int, list[DocumentSignature]] = {r.id: [] for r in rows}
                for sig in session.scalars(
                    select(DocumentSignature)
                    .where(DocumentSignature.revision_id.in_(list(signatures)))
                    .order_by(DocumentSignature.id)
                ):
                    signatures[sig.revision_id].append(sig)
                # The digest of each revision as its Markdown file says it, as signatures sign it.
                shas = {
                    r.id: content_sha256(document_file(session, documents[r.document_id], r))
                    for r in rows
                }
                self.check_new_audit_entries(session)
            for document in documents.values():
                mine = [r for r in rows if r.document_id == document.id]
                self.check_document(document, shas, mine, signatures)

        def check_document(
            self,
            document: Document,
            shas: dict[int, str],
            rows: list[DocumentRevision],
            signatures: dict[int, list[DocumentSignature]],
        ) -> None:
            effective = [r.number for r in rows if r.status == "effective"]
            assert len(effective) <= 1, f"{document.number}: revisions {effective} in force"
            assert document.effective_revision == (effective[0] if effective else None)
            for row in rows:
                sha = shas[row.id]
                assert row.content_sha256 == sha, f"{document.number}/{row.number}: stale digest"
                self.check_signatures(row, sha, signatures[row.id])
                self.check_status(document, row, signatures[row.id])

        def check_signatures(
            self, row: DocumentRevision, sha: str, signatures: list[DocumentSignature]
        ) -> None:
            for sig in signatures:
                seen = (row.id, sig.meaning, sig.content_sha256)
                if sig.id not in self.signed:
                    # Signed in the step just taken, over the revision's content as it is now
                    # (no action both signs and edits).
                    assert sig.content_sha256 == sha, f"signature {sig.id} over other content"
                    self.signed[sig.id] = seen
                assert self.signed[sig.id] == seen, f"signature {sig.id} changed"
                assert (sig.username, sig.name) == names_of[sig.user_id]

        def check_status(
            self, document: Document, row: DocumentRevision, signatures: list[DocumentSignature]
        ) -> None:
            was = self.statuses.get(row.id)
            if was in ONCE_EFFECTIVE:
                allowed = {"effective": {"effective", "superseded", "obsolete"}}.get(was, {was})
                assert row.status in allowed, f"revision {row.id} went {was} -> {row.status}"
            self.statuses[row.id] = row.status
            if row.status in ONCE_EFFECTIVE:
                now = Frozen(row.title, row.content, row.change, row.content_sha256)
                assert self.frozen.setdefault(row.id, now) == now, "an effective revision changed"
            if row.status not in FULLY_APPROVED:
                return
            # The approvals that count: over this content, in this round, not by the author,
            # each by someone holding the role signed for, one decision per person.
            valid = [
                s
                for s in signatures
                if s.meaning == "approved"
                and s.content_sha256 == row.content_sha256
                and s.review_round == row.review_round
            ]
            editors = set(row.plan.get("editors", ()))
            assert all(s.user_id != row.author_id for s in valid), "self-approval"
            assert all(s.user_id not in editors for s in valid), "approval by an editor"
            assert all(s.role in roles_of[s.user_id] for s in valid), "a role not held"
            people = [s.user_id for s in valid]
            assert len(people) == len(set(people)), "one person approved twice"
            required = {"quality"} | ({"safety"} if row.change.get("safety_impact") else set())
            given = {s.role for s in valid}
            assert required <= given, (
                f"{document.number}/{row.number} is {row.status} with approvals {given}, "
                f"needs {required}"
            )

        def check_new_audit_entries(self, session: Session) -> None:
            # The chain from where the last check ended (the whole chain is verified at the
            # end of each example): links and hashes, with the module's own hashing.
            entries = session.scalars(
                select(AuditEntry).where(AuditEntry.seq > self.audit_seq).order_by(AuditEntry.seq)
            )
            for entry in entries:
                assert entry.seq == self.audit_seq + 1, f"audit entry {self.audit_seq + 1} missing"
                assert entry.prev_hash == self.audit_hash, f"audit entry {entry.seq}: broken link"
                assert chain_hash(entry.prev_hash, entry.canonical()) == entry.hash
                self.audit_seq, self.audit_hash = entry.seq, entry.hash

        def teardown(self) -> None:
            with system.read() as session:
                result = verify_chain(session)
            assert result.ok, result.problem

    return DocumentLifecycle


def test_change_control_holds_whatever_the_sequence(system: Context) -> None:
    machine = _lifecycle_machine(system)
    # Fewer sequences on PostgreSQL: the rules are the same code on both databases, and each
    # example there costs about three times as much (the suite's budget is 20 minutes).
    examples = 80 if system.db.engine.dialect.name == "sqlite" else 30
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_the_machine_walks_a_safety_change_to_supersession(system: Context) -> None:
    """The path random sequences reach least often, step by step with the checks after each:
    a safety change approved by quality and safety, effective on a later date, superseding
    the revision in force, then reviewed and withdrawn."""
    machine = _lifecycle_machine(system)()
    steps = [
        lambda: machine.first_document(safety=True, training=True),
        lambda: machine.submit("author", 0, sign=True, days=None),
        lambda: machine.approve("qe2", 0, right=True, role=None, days=None),
        lambda: machine.approve("se", 0, right=True, role=None, days=None),
        lambda: machine.acknowledge("op", 0, right=True),
        lambda: machine.revise("qe1", 0, "new ram", safety=True, risk=1, training=True),
        lambda: machine.save_draft("qe1", 0, stale=True, word="ram", safety=True, risk=True),
        lambda: machine.save_draft("qe1", 0, stale=False, word="ram", safety=True, risk=True),
        lambda: machine.submit("qe1", 0, sign=None, days=2),
        lambda: machine.approve("qe1", 0, right=True, role=Role.QUALITY, days=None),
        lambda: machine.approve("qe2", 0, right=False, role=None, days=None),
        lambda: machine.approve("qe2", 0, right=True, role=None, days=None),
        lambda: machine.approve("author", 0, right=True, role=Role.SAFETY, days=None),
        lambda: machine.take_effect_due(1),
        lambda: machine.take_effect_due(1),
        lambda: machine.periodic_review("qe2", 0, right=True, outcome="confirm", comment=""),
        lambda: machine.obsolete("author", 0, "line closed"),
    ]
    machine.change_control_holds()
    statuses = []
    for step in steps:
        step()
        machine.change_control_holds()
        with system.read() as session:
            statuses.append(
                tuple(
                    session.scalars(select(DocumentRevision.status).order_by(DocumentRevision.id))
                )
            )
    machine.teardown()
    assert statuses[3] == ("effective",)  # quality and safety both signed
    assert statuses[12] == ("effective", "approved")  # "author" signs safety for qe1
    assert statuses[13] == ("effective", "approved")  # a day before its date
    assert statuses[14] == ("superseded", "effective")
    assert statuses[-1] == ("superseded", "obsolete")
