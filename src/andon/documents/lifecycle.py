"""Change-control rules of a revision: statuses, transitions, approvals and signatures.

Pure: every function takes the revision (or a document's revisions) as values and returns the
new values or raises a named error; nothing is written. A service loads the revisions, calls
one function inside its unit of work and stores what it returns, so a refusal leaves nothing
behind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from andon.core.errors import ConfigurationError, Conflict, InvalidInput, PermissionDenied, Refused
from andon.core.permissions import Role
from andon.documents.content import Change


class Status(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    EFFECTIVE = "effective"
    SUPERSEDED = "superseded"
    OBSOLETE = "obsolete"


class LifecycleAction(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    MAKE_EFFECTIVE = "make_effective"
    SUPERSEDE = "supersede"
    OBSOLETE = "obsolete"
    REVISE = "revise"
    ACKNOWLEDGE = "acknowledge"


class Meaning(StrEnum):
    """What a signer declares by signing (21 CFR Part 11 §11.50: the meaning is recorded)."""

    AUTHORED = "authored"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    ACKNOWLEDGED = "acknowledged"


TRANSITIONS: Mapping[tuple[Status, LifecycleAction], Status] = {
    (Status.DRAFT, LifecycleAction.EDIT): Status.DRAFT,
    (Status.DRAFT, LifecycleAction.SUBMIT): Status.IN_REVIEW,
    # An approval leaves the revision in review until the last required one is signed.
    (Status.IN_REVIEW, LifecycleAction.APPROVE): Status.APPROVED,
    (Status.IN_REVIEW, LifecycleAction.REJECT): Status.DRAFT,
    (Status.APPROVED, LifecycleAction.MAKE_EFFECTIVE): Status.EFFECTIVE,
    (Status.EFFECTIVE, LifecycleAction.SUPERSEDE): Status.SUPERSEDED,
    (Status.EFFECTIVE, LifecycleAction.OBSOLETE): Status.OBSOLETE,
    # Revising leaves the effective revision in force and starts a new draft beside it.
    (Status.EFFECTIVE, LifecycleAction.REVISE): Status.EFFECTIVE,
    (Status.EFFECTIVE, LifecycleAction.ACKNOWLEDGE): Status.EFFECTIVE,
}
"""(status, action) → the status after it; a pair not listed is refused."""

OPEN_STATUSES = frozenset({Status.DRAFT, Status.IN_REVIEW, Status.APPROVED})
"""A revision in one of these is a change in flight; a document has at most one."""

_HINTS: Mapping[Status, str] = {
    Status.IN_REVIEW: "reject it back to draft to change it",
    Status.APPROVED: "it waits for its effective date",
    Status.EFFECTIVE: "an effective revision is never edited; revise it to start a new draft",
    Status.SUPERSEDED: "a superseded revision is history and never changes",
    Status.OBSOLETE: "an obsolete revision is history and never changes",
}

# Signatures in one group count against "one person signs once per revision": a review or an
# approval is one decision per person, whatever the meaning chosen.
_GROUP: Mapping[Meaning, str] = {
    Meaning.AUTHORED: "authored",
    Meaning.REVIEWED: "review",
    Meaning.APPROVED: "review",
    Meaning.ACKNOWLEDGED: "acknowledged",
}


def allowed_actions(status: Status) -> frozenset[LifecycleAction]:
    """The actions the transition table allows on a revision in ``status``."""
    return frozenset(action for (source, action) in TRANSITIONS if source == status)


def next_status(status: Status, action: LifecycleAction) -> Status:
    """The status after ``action``; raises ``Refused`` (409) naming the allowed actions."""
    target = TRANSITIONS.get((status, action))
    if target is None:
        allowed = sorted(allowed_actions(status))
        hint = _HINTS.get(status)
        detail = f"cannot {action.value.replace('_', ' ')} a revision that is {status.value}"
        raise Refused(
            f"{detail}: {hint}" if hint else detail,
            field="action",
            allowed=[a.value for a in allowed],
            kind="lifecycle",
        )
    return target


@dataclass(frozen=True)
class Signer:
    """A person at the moment of signing, with the roles they hold in the document's scope."""

    user_id: int
    username: str
    name: str
    roles: frozenset[Role] = frozenset()


@dataclass(frozen=True)
class Signature:
    """One electronic signature: who (printed name), when (UTC), what it means, under which role,
    and the digest of the exact content signed. ``review_round`` is the submission it belongs to,
    so a rejected and resubmitted revision is reviewed afresh."""

    user_id: int
    username: str
    name: str
    meaning: Meaning
    signed_at: datetime
    content_sha256: str
    role: Role | None = None
    review_round: int = 0
    comment: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "name": self.name,
            "meaning": self.meaning.value,
            "signed_at": self.signed_at.isoformat(),
            "content_sha256": self.content_sha256,
            "role": self.role.value if self.role else None,
            "comment": self.comment,
        }


@dataclass(frozen=True)
class Revision:
    """One revision of a document as the rules see it."""

    number: int
    status: Status
    author_id: int
    content_sha256: str
    change: Change = field(default_factory=Change)
    effective_on: date | None = None
    review_round: int = 0
    signatures: tuple[Signature, ...] = ()
    editor_ids: frozenset[int] = frozenset()
    """People besides the author who wrote content into the draft: they may not approve it
    either (separation of duties holds for every hand in the text)."""


@dataclass(frozen=True)
class ApprovalPolicy:
    """Which roles must approve a revision of each document type, and how many approvals each.

    A type not listed needs ``default``. A change with safety impact adds one approval by
    ``safety_role`` (unless the type already asks for more).
    """

    required: Mapping[str, Mapping[Role, int]] = field(default_factory=dict)
    default: Mapping[Role, int] = field(default_factory=lambda: {Role.QUALITY: 1})
    safety_role: Role = Role.SAFETY

    def __post_init__(self) -> None:
        for roles in [self.default, *self.required.values()]:
            if not roles or any(count < 1 for count in roles.values()):
                raise ConfigurationError(
                    "required approvals: every document type needs at least one role, each "
                    "with at least one approval"
                )

    def required_approvals(self, doc_type: str, change: Change) -> dict[Role, int]:
        """Role → number of approvals a revision of ``doc_type`` with ``change`` needs."""
        needed = dict(self.required.get(doc_type, self.default))
        if change.safety_impact:
            needed[self.safety_role] = max(needed.get(self.safety_role, 0), 1)
        return needed


DEFAULT_POLICY = ApprovalPolicy()


def validate_change(change: Change) -> None:
    """Refuses a change with safety impact that links no risk register entry."""
    if change.safety_impact and not (change.risk or "").strip():
        raise InvalidInput.for_field(
            "risk_id", "a change with safety impact must name a risk (a risk register entry)"
        )


class MitigationsUnfinished(Conflict):
    """A change with safety impact waits for its risk's mitigations before taking effect."""

    def __init__(self, detail: str, waiting_for: Sequence[str]) -> None:
        super().__init__(detail)
        self.waiting_for = tuple(waiting_for)


def waiting_message(number: int, risk: str | None, waiting_for: Sequence[str]) -> str:
    """Why revision ``number`` waits: its risk's unfinished mitigations, named."""
    named = f"its risk {risk}" if risk else "its risk"
    return (
        f"revision {number} has safety impact and cannot take effect while the mitigations "
        f"of {named} are unfinished: " + "; ".join(waiting_for)
    )


def is_current(signature: Signature, revision: Revision) -> bool:
    """Whether ``signature`` still holds: it signed the revision's present content and, for a
    review or approval, belongs to the present review round."""
    if signature.content_sha256 != revision.content_sha256:
        return False
    if _GROUP[signature.meaning] == "review":
        return signature.review_round == revision.review_round
    return True


def current_signatures(revision: Revision) -> tuple[Signature, ...]:
    """The signatures that still hold; those over earlier content or rounds are void."""
    return tuple(s for s in revision.signatures if is_current(s, revision))


def given_approvals(revision: Revision) -> Counter[Role]:
    return Counter(
        s.role
        for s in current_signatures(revision)
        if s.meaning is Meaning.APPROVED and s.role is not None
    )


def missing_approvals(
    revision: Revision, doc_type: str, policy: ApprovalPolicy = DEFAULT_POLICY
) -> dict[Role, int]:
    """Role → approvals still needed; empty when the revision is fully approved."""
    given = given_approvals(revision)
    needed = policy.required_approvals(doc_type, revision.change)
    return {role: n - given[role] for role, n in needed.items() if given[role] < n}


def is_fully_approved(
    revision: Revision, doc_type: str, policy: ApprovalPolicy = DEFAULT_POLICY
) -> bool:
    """Every required role has its approvals, each over the present content and round."""
    return not missing_approvals(revision, doc_type, policy)


def _refuse_second_signature(revision: Revision, signer: Signer, meaning: Meaning) -> None:
    group = _GROUP[meaning]
    for s in current_signatures(revision):
        if s.user_id == signer.user_id and _GROUP[s.meaning] == group:
            raise Conflict(
                f"{signer.username} already signed revision {revision.number} "
                f"({s.meaning.value}); one person signs once per revision"
            )


def _signature(
    revision: Revision,
    signer: Signer,
    meaning: Meaning,
    at: datetime,
    role: Role | None = None,
    comment: str = "",
) -> Signature:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput.for_field("signed_at", "a signature's time must be timezone-aware")
    return Signature(
        user_id=signer.user_id,
        username=signer.username,
        name=signer.name,
        meaning=meaning,
        signed_at=at.astimezone(UTC),
        content_sha256=revision.content_sha256,
        role=role,
        review_round=revision.review_round,
        comment=comment,
    )


def edit(revision: Revision, content_sha256: str, editor_id: int | None = None) -> Revision:
    """New content for a draft, written by ``editor_id`` (the author when None). Refused (409)
    in any other status, above all an effective one. Earlier signatures stay on record but no
    longer hold: they signed other content. An editor other than the author is remembered:
    they may not approve the revision."""
    next_status(revision.status, LifecycleAction.EDIT)
    editors = revision.editor_ids
    if editor_id is not None and editor_id != revision.author_id:
        editors = editors | {editor_id}
    return replace(revision, content_sha256=content_sha256, editor_ids=editors)


def sign_authored(revision: Revision, signer: Signer, at: datetime) -> Revision:
    """The author's signature over the draft or the revision in review."""
    if revision.status not in (Status.DRAFT, Status.IN_REVIEW):
        raise Refused(
            f"revision {revision.number} is {revision.status.value}; its author signs before "
            "it is approved",
            field="meaning",
            allowed=[],
            kind="lifecycle",
        )
    if signer.user_id != revision.author_id:
        raise PermissionDenied(
            f"only the author signs revision {revision.number} as authored, not {signer.username}"
        )
    _refuse_second_signature(revision, signer, Meaning.AUTHORED)
    signature = _signature(revision, signer, Meaning.AUTHORED, at)
    return replace(revision, signatures=(*revision.signatures, signature))


def submit(revision: Revision, effective_on: date | None = None) -> Revision:
    """Send a draft to review, starting a new review round. A change with safety impact must
    name its risk first. ``effective_on`` sets when it takes effect once approved."""
    target = next_status(revision.status, LifecycleAction.SUBMIT)
    validate_change(revision.change)
    return replace(
        revision,
        status=target,
        review_round=revision.review_round + 1,
        effective_on=effective_on if effective_on is not None else revision.effective_on,
    )


def _check_reviewer(
    revision: Revision,
    signer: Signer,
    role: Role,
    doc_type: str,
    policy: ApprovalPolicy,
    verb: str,
) -> dict[Role, int]:
    needed = policy.required_approvals(doc_type, revision.change)
    if role not in needed:
        roles = ", ".join(sorted(r.value for r in needed))
        raise PermissionDenied(
            f"the {role.value} role is not required to {verb} a {doc_type} revision "
            f"like {revision.number}; required: {roles}"
        )
    if role not in signer.roles:
        raise PermissionDenied(f"{signer.username} does not hold the {role.value} role")
    if signer.user_id == revision.author_id or signer.user_id in revision.editor_ids:
        wrote = "the author" if signer.user_id == revision.author_id else "an editor"
        raise PermissionDenied(
            f"{signer.username} is {wrote} of revision {revision.number} and cannot "
            f"{verb} it (separation of duties)"
        )
    return needed


def approve(
    revision: Revision,
    signer: Signer,
    role: Role,
    at: datetime,
    doc_type: str,
    policy: ApprovalPolicy = DEFAULT_POLICY,
    effective_on: date | None = None,
    today: date | None = None,
) -> Revision:
    """Sign an approval as ``role``. The last required approval makes the revision approved,
    taking effect on ``effective_on``, the date set at submission, or the day of approval:
    ``today``, the plant's calendar date at ``at`` (``at``'s own date when not given; in a
    plant west of UTC the two differ each evening).

    Refused: a role the revision does not need or the signer does not hold, and the author
    (403); a second signature by the same person, a role already fully approved (409).
    """
    target = next_status(revision.status, LifecycleAction.APPROVE)
    needed = _check_reviewer(revision, signer, role, doc_type, policy, "approve")
    _refuse_second_signature(revision, signer, Meaning.APPROVED)
    if given_approvals(revision)[role] >= needed[role]:
        raise Conflict(
            f"revision {revision.number} already has its {role.value} approval"
            + ("s" if needed[role] > 1 else "")
        )
    signature = _signature(revision, signer, Meaning.APPROVED, at, role)
    signed = replace(
        revision,
        signatures=(*revision.signatures, signature),
        effective_on=effective_on if effective_on is not None else revision.effective_on,
    )
    if not is_fully_approved(signed, doc_type, policy):
        return signed
    return replace(signed, status=target, effective_on=signed.effective_on or today or at.date())


def reject(
    revision: Revision,
    signer: Signer,
    role: Role,
    comment: str,
    at: datetime,
    doc_type: str,
    policy: ApprovalPolicy = DEFAULT_POLICY,
) -> Revision:
    """Send a revision in review back to draft with a signed review carrying ``comment``.
    The approvals given in this round no longer count once it is resubmitted."""
    target = next_status(revision.status, LifecycleAction.REJECT)
    if not comment.strip():
        raise InvalidInput.for_field("comment", "a rejection says why")
    _check_reviewer(revision, signer, role, doc_type, policy, "reject")
    _refuse_second_signature(revision, signer, Meaning.REVIEWED)
    signature = _signature(revision, signer, Meaning.REVIEWED, at, role, comment.strip())
    return replace(revision, status=target, signatures=(*revision.signatures, signature))


def acknowledge(revision: Revision, signer: Signer, at: datetime) -> Revision:
    """A reader's signed acknowledgement of the effective revision, once per person."""
    next_status(revision.status, LifecycleAction.ACKNOWLEDGE)
    _refuse_second_signature(revision, signer, Meaning.ACKNOWLEDGED)
    signature = _signature(revision, signer, Meaning.ACKNOWLEDGED, at)
    return replace(revision, signatures=(*revision.signatures, signature))


def effective_revision(revisions: Sequence[Revision]) -> Revision | None:
    """The revision in force, or None. More than one effective is a broken rule (409)."""
    effective = [r for r in revisions if r.status is Status.EFFECTIVE]
    if len(effective) > 1:
        numbers = ", ".join(str(r.number) for r in effective)
        raise Conflict(f"revisions {numbers} are all effective; at most one may be")
    return effective[0] if effective else None


def open_revision(revisions: Sequence[Revision]) -> Revision | None:
    """The change in flight (draft, in review or approved), or None."""
    return next((r for r in revisions if r.status in OPEN_STATUSES), None)


def _index(revisions: Sequence[Revision], number: int) -> int:
    for i, r in enumerate(revisions):
        if r.number == number:
            return i
    raise InvalidInput.for_field("revision", f"no revision {number}")


def start_revision(
    revisions: Sequence[Revision], author_id: int, content_sha256: str, change: Change
) -> Revision:
    """A new draft: the first revision of a new document, or the next one revising the
    effective revision (whose content the caller copies). Refused while another change is in
    flight or when nothing is in force (409)."""
    validate_change(change)
    if revisions:
        in_flight = open_revision(revisions)
        if in_flight is not None:
            raise Conflict(
                f"revision {in_flight.number} is already {in_flight.status.value}; "
                "finish or reject it before starting another"
            )
        current = effective_revision(revisions)
        if current is None:
            raise Conflict("the document has no effective revision to revise (it is obsolete)")
        next_status(current.status, LifecycleAction.REVISE)
    number = max((r.number for r in revisions), default=0) + 1
    return Revision(number, Status.DRAFT, author_id, content_sha256, change)


def take_effect(
    revisions: Sequence[Revision],
    number: int,
    today: date,
    doc_type: str,
    policy: ApprovalPolicy = DEFAULT_POLICY,
    unfinished_mitigations: Sequence[str] = (),
) -> tuple[Revision, ...]:
    """The document's revisions after revision ``number`` takes effect: it becomes effective
    and the one in force until now superseded, in the same step. Refused before its effective
    date (``today`` is the date at the document's site), without every required approval,
    and — for a change with safety impact — while ``unfinished_mitigations`` (of the risk it
    links) is not empty: ``MitigationsUnfinished`` names them."""
    revisions = tuple(revisions)
    i = _index(revisions, number)
    revision = revisions[i]
    target = next_status(revision.status, LifecycleAction.MAKE_EFFECTIVE)
    if revision.effective_on is None or revision.effective_on > today:
        raise Conflict(
            f"revision {number} takes effect on {revision.effective_on}, not before"
            if revision.effective_on
            else f"revision {number} has no effective date"
        )
    missing = missing_approvals(revision, doc_type, policy)
    if missing:
        roles = ", ".join(f"{role.value} ×{n}" for role, n in sorted(missing.items()))
        raise Conflict(f"revision {number} still needs approvals: {roles}")
    if revision.change.safety_impact and unfinished_mitigations:
        raise MitigationsUnfinished(
            waiting_message(number, revision.change.risk, unfinished_mitigations),
            unfinished_mitigations,
        )
    previous = effective_revision(revisions)
    out = list(revisions)
    if previous is not None:
        j = _index(revisions, previous.number)
        out[j] = replace(previous, status=next_status(previous.status, LifecycleAction.SUPERSEDE))
    out[i] = replace(revision, status=target)
    return tuple(out)


def make_obsolete(revision: Revision) -> Revision:
    """Withdraw the effective revision without a successor."""
    return replace(revision, status=next_status(revision.status, LifecycleAction.OBSOLETE))
