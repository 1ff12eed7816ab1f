"""Whatever people do to a document's revisions, the change-control invariants hold."""

from __future__ import annotations

import hashlib
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from andon.core.errors import AndonError
from andon.core.permissions import Role
from andon.documents import lifecycle
from andon.documents.lifecycle import (
    ApprovalPolicy,
    Change,
    Meaning,
    Revision,
    Signer,
    Status,
)


def digest(text: str) -> str:
    """A stand-in for a revision's content digest (the rules only compare digests)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


PEOPLE = (
    Signer(1, "ana", "Ana", frozenset({Role.SUPERVISOR})),
    Signer(2, "quinn", "Quinn", frozenset({Role.QUALITY})),
    Signer(3, "sam", "Sam", frozenset({Role.SAFETY})),
    Signer(4, "bo", "Bo", frozenset({Role.QUALITY, Role.SAFETY})),
    Signer(5, "olga", "Olga", frozenset({Role.OPERATOR})),
    Signer(6, "quincy", "Quincy", frozenset({Role.QUALITY, Role.SUPERVISOR})),
)
ROLES = (Role.QUALITY, Role.SAFETY, Role.SUPERVISOR, Role.OPERATOR)
TEXTS = ("1. Isolate.", "1. Isolate.\n2. Lock.", "1. Lock.\n2. Isolate.", "1. Isolate and lock.")
POLICIES = (
    ApprovalPolicy(),
    ApprovalPolicy(required={"SOP": {Role.QUALITY: 2}}),
    ApprovalPolicy(required={"SOP": {Role.SUPERVISOR: 1, Role.QUALITY: 1}}),
)
FINAL = frozenset({Status.EFFECTIVE, Status.SUPERSEDED, Status.OBSOLETE})

person = st.sampled_from(PEOPLE)
# None: a role the signer holds, so that approvals often succeed and the machine gets far.
role = st.none() | st.none() | st.sampled_from(ROLES)
pick = st.integers(min_value=-10, max_value=5)


# Every action and how to draw its arguments. One rule picks among them, so that hypothesis's
# swarm testing (which switches whole rules off for a run) never leaves a run unable to revise.
ACTIONS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "revise": {
        "author": person,
        "text": st.sampled_from(TEXTS),
        "safety": st.booleans(),
        "risk": st.sampled_from(["", "pinch point"]),
    },
    "edit": {"n": pick, "text": st.sampled_from(TEXTS)},
    "sign_authored": {"n": pick, "signer": person},
    "submit": {"n": pick, "days": st.none() | st.integers(0, 5)},
    "approve": {"n": pick, "signer": person, "role_or_held": role},
    "reject": {"n": pick, "signer": person, "role_or_held": role, "dice": st.integers(0, 2)},
    "take_effect": {"n": pick, "days": st.integers(0, 3)},
    "make_obsolete": {"n": pick, "dice": st.integers(0, 7)},
    "acknowledge": {"n": pick, "signer": person},
}


class DocumentLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.revisions: tuple[Revision, ...] = ()
        self.today = date(2026, 12, 1)
        self.now = datetime(2026, 12, 1, 8, tzinfo=UTC)
        self.policy = POLICIES[0]
        self.digests: dict[int, set[str]] = {}
        self.in_force_digest: dict[int, str] = {}
        self.became_effective: set[int] = set()

    @initialize(policy=st.sampled_from(POLICIES), in_force=st.booleans())
    def start(self, policy: ApprovalPolicy, in_force: bool) -> None:
        """An empty document, or (more telling) one whose revision 1 is in force, built through
        the rules themselves, so that every completed change supersedes something."""
        self.policy = policy
        if not in_force:
            return
        author, reviewers = PEOPLE[0], (PEOPLE[1], PEOPLE[5], PEOPLE[2])
        revision = lifecycle.submit(
            lifecycle.start_revision((), author.user_id, digest(TEXTS[0]), Change())
        )
        for reviewer in reviewers:
            needed = lifecycle.missing_approvals(revision, "SOP", policy)
            held = sorted(needed.keys() & reviewer.roles)
            if held:
                revision = lifecycle.approve(
                    revision, reviewer, held[0], self._tick(), "SOP", policy
                )
        self.revisions = (revision,)
        self.digests[1] = {revision.content_sha256}
        self.revisions = lifecycle.take_effect(self.revisions, 1, self.today, "SOP", policy)
        self.became_effective.add(1)

    def _tick(self) -> datetime:
        self.now += timedelta(minutes=7)
        return self.now

    def _pick(self, n: int, *statuses: Status) -> Revision | None:
        """Revision ``n`` (modulo the count), whatever its status, so that refusals are tried
        too; a negative ``n`` picks the newest revision in one of ``statuses``, where the action
        may succeed, so that runs get far."""
        if n >= 0:
            return self.revisions[n % len(self.revisions)] if self.revisions else None
        fitting = [r for r in self.revisions if r.status in statuses]
        return fitting[-1] if fitting else None

    def _store(self, before: Revision, after: Revision) -> None:
        new_signatures = after.signatures[len(before.signatures) :]
        assert after.signatures[: len(before.signatures)] == before.signatures
        for signature in new_signatures:
            # A signature carries the digest of the content as it was when signed.
            assert signature.content_sha256 == before.content_sha256
        self.digests.setdefault(after.number, set()).add(after.content_sha256)
        self.revisions = tuple(after if r.number == after.number else r for r in self.revisions)

    def revise(self, author: Signer, text: str, safety: bool, risk: str) -> None:
        change = Change("update", safety_impact=safety, risk=risk)
        try:
            draft = lifecycle.start_revision(self.revisions, author.user_id, digest(text), change)
        except AndonError:
            return
        assert draft.status is Status.DRAFT
        assert not draft.signatures
        self.digests[draft.number] = {draft.content_sha256}
        self.revisions = (*self.revisions, draft)

    def edit(self, n: int, text: str) -> None:
        revision = self._pick(n, Status.DRAFT)
        if revision is None:
            return
        try:
            edited = lifecycle.edit(revision, digest(text))
        except AndonError:
            assert revision.status is not Status.DRAFT
            return
        self._store(revision, edited)

    def sign_authored(self, n: int, signer: Signer) -> None:
        revision = self._pick(n, Status.DRAFT, Status.IN_REVIEW)
        if revision is None:
            return
        try:
            self._store(revision, lifecycle.sign_authored(revision, signer, self._tick()))
        except AndonError:
            return

    def submit(self, n: int, days: int | None) -> None:
        revision = self._pick(n, Status.DRAFT)
        if revision is None:
            return
        on = None if days is None else self.today + timedelta(days=days)
        try:
            self._store(revision, lifecycle.submit(revision, on))
        except AndonError:
            return

    def approve(self, n: int, signer: Signer, role_or_held: Role | None) -> None:
        revision = self._pick(n, Status.IN_REVIEW)
        if revision is None:
            return
        as_role = role_or_held or min(signer.roles)
        try:
            approved = lifecycle.approve(
                revision, signer, as_role, self._tick(), "SOP", self.policy
            )
        except AndonError:
            return
        assert signer.user_id != revision.author_id
        assert as_role in signer.roles
        self._store(revision, approved)

    def reject(self, n: int, signer: Signer, role_or_held: Role | None, dice: int) -> None:
        revision = self._pick(n, Status.IN_REVIEW)
        # Rejections are tried a third as often as approvals so that changes get through.
        if revision is None or dice:
            return
        as_role = role_or_held or min(signer.roles)
        try:
            rejected = lifecycle.reject(
                revision, signer, as_role, "not yet", self._tick(), "SOP", self.policy
            )
        except AndonError:
            return
        assert rejected.status is Status.DRAFT
        self._store(revision, rejected)

    def take_effect(self, n: int, days: int) -> None:
        self.today += timedelta(days=days)
        revision = self._pick(n, Status.APPROVED)
        if revision is None:
            return
        try:
            after = lifecycle.take_effect(
                self.revisions, revision.number, self.today, "SOP", self.policy
            )
        except AndonError:
            return
        for old, new in zip(self.revisions, after, strict=True):
            assert old.content_sha256 == new.content_sha256
            assert old.signatures == new.signatures
        self.revisions = after
        self.became_effective.add(revision.number)
        with suppress(InvalidArgument):  # outside a hypothesis run (the plain path below)
            event("a revision took effect" + (" over another" if revision.number > 1 else ""))

    def make_obsolete(self, n: int, dice: int) -> None:
        revision = self._pick(n, Status.EFFECTIVE)
        # Obsoleting ends the document's story; kept rare so that runs go on to revise it.
        if revision is None or dice:
            return
        try:
            self._store(revision, lifecycle.make_obsolete(revision))
        except AndonError:
            return

    def acknowledge(self, n: int, signer: Signer) -> None:
        revision = self._pick(n, Status.EFFECTIVE)
        if revision is None:
            return
        try:
            self._store(revision, lifecycle.acknowledge(revision, signer, self._tick()))
        except AndonError:
            return

    @rule(action=st.sampled_from(sorted(ACTIONS)), data=st.data())
    def act(self, action: str, data: st.DataObject) -> None:
        arguments = {
            name: data.draw(strategy, label=name) for name, strategy in ACTIONS[action].items()
        }
        getattr(self, action)(**arguments)

    @invariant()
    def at_most_one_revision_is_effective(self) -> None:
        assert sum(r.status is Status.EFFECTIVE for r in self.revisions) <= 1
        assert sum(r.status in lifecycle.OPEN_STATUSES for r in self.revisions) <= 1

    @invariant()
    def nothing_takes_effect_without_every_required_signature(self) -> None:
        for r in self.revisions:
            if r.status in FINAL or r.status is Status.APPROVED:
                assert r.number in self.became_effective or r.status is Status.APPROVED
                assert lifecycle.is_fully_approved(r, "SOP", self.policy)
                approvers = [
                    s for s in lifecycle.current_signatures(r) if s.meaning is Meaning.APPROVED
                ]
                assert r.author_id not in {s.user_id for s in approvers}
                assert len({s.user_id for s in approvers}) == len(approvers)
                assert r.effective_on is not None
                if r.status in FINAL:
                    assert r.effective_on <= self.today

    @invariant()
    def signatures_match_content_their_revision_had(self) -> None:
        for r in self.revisions:
            for s in r.signatures:
                assert s.content_sha256 in self.digests[r.number]
            for s in lifecycle.current_signatures(r):
                assert s.content_sha256 == r.content_sha256

    @invariant()
    def effective_content_never_changes(self) -> None:
        for r in self.revisions:
            if r.status in FINAL:
                first = self.in_force_digest.setdefault(r.number, r.content_sha256)
                assert r.content_sha256 == first

    @invariant()
    def revisions_are_numbered_in_order(self) -> None:
        assert [r.number for r in self.revisions] == list(range(1, len(self.revisions) + 1))


DocumentLifecycle.TestCase.settings = settings(max_examples=200, stateful_step_count=80)
test_change_control_invariants_hold_whatever_people_do = DocumentLifecycle.TestCase


def test_machine_reaches_an_effective_revision_with_a_successor() -> None:
    """The rules above are not vacuous: a plain path takes revision 2 into force over 1."""
    machine = DocumentLifecycle()
    machine.revise(PEOPLE[0], TEXTS[0], False, "")
    machine.submit(0, None)
    machine.approve(0, PEOPLE[1], Role.QUALITY)
    machine.take_effect(0, 0)
    machine.revise(PEOPLE[0], TEXTS[1], True, "pinch point")
    machine.submit(1, 1)
    machine.approve(1, PEOPLE[1], Role.QUALITY)
    machine.approve(1, PEOPLE[2], Role.SAFETY)
    machine.take_effect(1, 1)
    assert [r.status for r in machine.revisions] == [Status.SUPERSEDED, Status.EFFECTIVE]
    machine.effective_content_never_changes()
    machine.nothing_takes_effect_without_every_required_signature()
