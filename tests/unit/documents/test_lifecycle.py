"""The pure change-control rules: the transition table, approvals, signatures and refusals."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from andon.core.errors import ConfigurationError, Conflict, InvalidInput, PermissionDenied, Refused
from andon.core.permissions import Role
from andon.documents.lifecycle import (
    ApprovalPolicy,
    Change,
    LifecycleAction,
    Meaning,
    MitigationsUnfinished,
    Revision,
    Signer,
    Status,
    acknowledge,
    allowed_actions,
    approve,
    current_signatures,
    edit,
    effective_revision,
    is_fully_approved,
    make_obsolete,
    missing_approvals,
    next_status,
    reject,
    sign_authored,
    start_revision,
    submit,
    take_effect,
)


def digest(text: str) -> str:
    """A stand-in for a revision's content digest (the rules only compare digests)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


S, A = Status, LifecycleAction
# Written out by hand from the issue, not derived from the module's table.
EXPECTED = {
    (S.DRAFT, A.EDIT): S.DRAFT,
    (S.DRAFT, A.SUBMIT): S.IN_REVIEW,
    (S.IN_REVIEW, A.APPROVE): S.APPROVED,
    (S.IN_REVIEW, A.REJECT): S.DRAFT,
    (S.APPROVED, A.MAKE_EFFECTIVE): S.EFFECTIVE,
    (S.EFFECTIVE, A.SUPERSEDE): S.SUPERSEDED,
    (S.EFFECTIVE, A.OBSOLETE): S.OBSOLETE,
    (S.EFFECTIVE, A.REVISE): S.EFFECTIVE,
    (S.EFFECTIVE, A.ACKNOWLEDGE): S.EFFECTIVE,
}
EVERY_PAIR = [(s, a) for s in Status for a in LifecycleAction]

SOP = "SOP"
AT = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)
V1 = digest("# Lockout/tagout\n1. Isolate the line.\n")
V2 = digest("# Lockout/tagout\n1. Isolate and lock the line.\n")
ANNA = Signer(1, "anna", "Anna Author", frozenset({Role.SUPERVISOR, Role.QUALITY}))
QUINN = Signer(2, "quinn", "Quinn Quality", frozenset({Role.QUALITY}))
SAM = Signer(3, "sam", "Sam Safety", frozenset({Role.SAFETY}))
OLLIE = Signer(4, "ollie", "Ollie Operator", frozenset({Role.OPERATOR}))
BOTH = Signer(5, "bo", "Bo Both", frozenset({Role.QUALITY, Role.SAFETY}))
SAFETY_CHANGE = Change("guard removed", safety_impact=True, risk="pinch point at the press")


def in_review(change: Change = Change(), content: str = V1) -> Revision:
    return submit(Revision(1, S.DRAFT, ANNA.user_id, content, change))


@pytest.mark.parametrize(("status", "action"), EVERY_PAIR)
def test_transition_table_allows_exactly_the_listed_pairs(
    status: Status, action: LifecycleAction
) -> None:
    if (status, action) in EXPECTED:
        assert next_status(status, action) is EXPECTED[(status, action)]
    else:
        with pytest.raises(Refused) as refused:
            next_status(status, action)
        assert refused.value.status == 409
        assert refused.value.allowed == sorted(a.value for s, a in EXPECTED if s == status)


def test_allowed_actions_of_a_draft_are_edit_and_submit() -> None:
    assert allowed_actions(S.DRAFT) == {A.EDIT, A.SUBMIT}
    assert allowed_actions(S.SUPERSEDED) == frozenset()


def test_default_sop_needs_one_quality_approval() -> None:
    assert ApprovalPolicy().required_approvals(SOP, Change()) == {Role.QUALITY: 1}


def test_safety_impact_adds_the_safety_role() -> None:
    assert ApprovalPolicy().required_approvals(SOP, SAFETY_CHANGE) == {
        Role.QUALITY: 1,
        Role.SAFETY: 1,
    }


def test_configured_type_replaces_the_default() -> None:
    policy = ApprovalPolicy(required={"WI": {Role.SUPERVISOR: 1, Role.QUALITY: 2}})
    assert policy.required_approvals("WI", Change()) == {Role.SUPERVISOR: 1, Role.QUALITY: 2}
    assert policy.required_approvals(SOP, Change()) == {Role.QUALITY: 1}


def test_policy_with_no_approver_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least one role"):
        ApprovalPolicy(required={"form": {}})
    with pytest.raises(ConfigurationError):
        ApprovalPolicy(required={"form": {Role.QUALITY: 0}})


def test_quality_approval_makes_sop_approved_effective_on_approval_day() -> None:
    approved = approve(in_review(), QUINN, Role.QUALITY, AT, SOP)
    assert approved.status is S.APPROVED
    assert approved.effective_on == date(2026, 12, 7)
    [signature] = approved.signatures
    assert (signature.username, signature.meaning, signature.role) == (
        "quinn",
        Meaning.APPROVED,
        Role.QUALITY,
    )
    assert signature.content_sha256 == V1
    assert signature.to_json()["signed_at"] == "2026-12-07T14:30:00+00:00"


def test_the_approval_day_is_the_plants_calendar_day_not_utcs() -> None:
    # 01:30 UTC on 8 December is still the 7th in Chicago: the revision takes effect on the
    # plant's day of approval (on the 8th it would wait until tomorrow there).
    late = datetime(2026, 12, 8, 1, 30, tzinfo=UTC)
    today = late.astimezone(ZoneInfo("America/Chicago")).date()
    approved = approve(in_review(), QUINN, Role.QUALITY, late, SOP, today=today)
    assert approved.effective_on == date(2026, 12, 7)


def test_safety_change_stays_in_review_until_safety_signs() -> None:
    after_quality = approve(in_review(SAFETY_CHANGE), QUINN, Role.QUALITY, AT, SOP)
    assert after_quality.status is S.IN_REVIEW
    assert missing_approvals(after_quality, SOP) == {Role.SAFETY: 1}
    after_safety = approve(after_quality, SAM, Role.SAFETY, AT, SOP)
    assert after_safety.status is S.APPROVED
    assert is_fully_approved(after_safety, SOP)


def test_effective_date_set_at_submission_is_kept() -> None:
    revision = submit(Revision(1, S.DRAFT, 1, V1), effective_on=date(2027, 1, 4))
    assert approve(revision, QUINN, Role.QUALITY, AT, SOP).effective_on == date(2027, 1, 4)


def test_self_approval_is_refused() -> None:
    with pytest.raises(PermissionDenied, match="author"):
        approve(in_review(), ANNA, Role.QUALITY, AT, SOP)


def test_approval_by_a_role_that_is_not_required_is_refused() -> None:
    with pytest.raises(PermissionDenied, match="safety role is not required") as denied:
        approve(in_review(), SAM, Role.SAFETY, AT, SOP)
    assert denied.value.status == 403


def test_approval_under_a_role_the_signer_does_not_hold_is_refused() -> None:
    with pytest.raises(PermissionDenied, match="does not hold the quality role"):
        approve(in_review(), OLLIE, Role.QUALITY, AT, SOP)


def test_second_signature_by_the_same_person_is_refused() -> None:
    once = approve(in_review(SAFETY_CHANGE), BOTH, Role.QUALITY, AT, SOP)
    with pytest.raises(Conflict, match="bo already signed revision 1") as conflict:
        approve(once, BOTH, Role.SAFETY, AT, SOP)
    assert conflict.value.status == 409


def test_second_approval_for_a_role_already_approved_is_refused() -> None:
    once = approve(in_review(SAFETY_CHANGE), QUINN, Role.QUALITY, AT, SOP)
    other = Signer(9, "quincy", "Quincy", frozenset({Role.QUALITY}))
    with pytest.raises(Conflict, match="already has its quality approval"):
        approve(once, other, Role.QUALITY, AT, SOP)


def test_safety_change_without_a_risk_is_refused_at_submission() -> None:
    draft = Revision(1, S.DRAFT, 1, V1, Change("guard", safety_impact=True, risk="  "))
    with pytest.raises(InvalidInput) as invalid:
        submit(draft)
    assert [e.loc for e in invalid.value.errors] == [("risk_id",)]


def test_safety_change_without_a_risk_is_refused_when_starting_a_revision() -> None:
    with pytest.raises(InvalidInput, match="risk"):
        start_revision([], 1, V1, Change("guard", safety_impact=True))


def test_editing_an_effective_revision_is_refused() -> None:
    effective = Revision(1, S.EFFECTIVE, 1, V1)
    with pytest.raises(Refused, match="never edited; revise it") as refused:
        edit(effective, V2)
    assert refused.value.status == 409
    assert refused.value.allowed == ["acknowledge", "obsolete", "revise", "supersede"]


def test_editing_a_revision_in_review_is_refused() -> None:
    with pytest.raises(Refused, match="reject it back to draft"):
        edit(in_review(), V2)


def test_rejection_sends_back_to_draft_with_a_signed_comment() -> None:
    rejected = reject(in_review(), QUINN, Role.QUALITY, "step 3 lacks the torque", AT, SOP)
    assert rejected.status is S.DRAFT
    [signature] = rejected.signatures
    assert (signature.meaning, signature.comment) == (Meaning.REVIEWED, "step 3 lacks the torque")


def test_rejection_without_a_comment_is_refused() -> None:
    with pytest.raises(InvalidInput, match="comment"):
        reject(in_review(), QUINN, Role.QUALITY, " ", AT, SOP)


def test_changed_content_invalidates_earlier_signatures() -> None:
    quality_only = in_review(SAFETY_CHANGE)
    approved_once = approve(quality_only, QUINN, Role.QUALITY, AT, SOP)
    rejected = reject(approved_once, SAM, Role.SAFETY, "add the guard check", AT, SOP)
    edited = edit(rejected, V2)
    assert len(edited.signatures) == 2
    assert current_signatures(edited) == ()
    resubmitted = submit(edited)
    assert missing_approvals(resubmitted, SOP) == {Role.QUALITY: 1, Role.SAFETY: 1}


def test_resubmission_without_edit_asks_for_every_approval_again() -> None:
    approved_once = approve(in_review(SAFETY_CHANGE), QUINN, Role.QUALITY, AT, SOP)
    rejected = reject(approved_once, SAM, Role.SAFETY, "wrong glove class", AT, SOP)
    again = submit(rejected)
    assert missing_approvals(again, SOP) == {Role.QUALITY: 1, Role.SAFETY: 1}
    assert approve(again, QUINN, Role.QUALITY, AT, SOP).signatures[-1].review_round == 2


def test_author_signs_authored_once_and_nobody_else_may() -> None:
    draft = Revision(1, S.DRAFT, ANNA.user_id, V1)
    signed = sign_authored(draft, ANNA, AT)
    assert signed.signatures[0].meaning is Meaning.AUTHORED
    with pytest.raises(Conflict):
        sign_authored(signed, ANNA, AT)
    with pytest.raises(PermissionDenied):
        sign_authored(draft, QUINN, AT)


def test_signature_time_is_recorded_in_utc() -> None:
    chicago = datetime(2026, 12, 7, 8, 30, tzinfo=ZoneInfo("America/Chicago"))
    signed = approve(in_review(), QUINN, Role.QUALITY, chicago, SOP)
    assert signed.signatures[0].signed_at.isoformat() == "2026-12-07T14:30:00+00:00"


def test_signature_time_must_be_timezone_aware() -> None:
    with pytest.raises(InvalidInput, match="timezone"):
        approve(in_review(), QUINN, Role.QUALITY, datetime(2026, 12, 7, 14, 30), SOP)


def approved_revision(number: int, effective_on: date) -> Revision:
    revision = Revision(number, S.DRAFT, ANNA.user_id, digest(f"rev {number}"))
    return approve(submit(revision, effective_on), QUINN, Role.QUALITY, AT, SOP)


def test_taking_effect_supersedes_the_previous_revision_in_the_same_step() -> None:
    first = replace(approved_revision(1, date(2026, 1, 1)), status=S.EFFECTIVE)
    second = approved_revision(2, date(2026, 12, 7))
    after = take_effect([first, second], 2, date(2026, 12, 7), SOP)
    assert [r.status for r in after] == [S.SUPERSEDED, S.EFFECTIVE]
    assert effective_revision(after) == after[1]


def test_revision_does_not_take_effect_before_its_date() -> None:
    revision = approved_revision(1, date(2026, 12, 8))
    with pytest.raises(Conflict, match="takes effect on 2026-12-08"):
        take_effect([revision], 1, date(2026, 12, 7), SOP)


def test_revision_without_every_approval_never_takes_effect() -> None:
    # Stored as approved but its only approval signed other content.
    revision = replace(approved_revision(1, date(2026, 12, 7)), content_sha256=V2)
    with pytest.raises(Conflict, match="still needs approvals: quality ×1"):
        take_effect([revision], 1, date(2026, 12, 7), SOP)


def test_two_effective_revisions_break_the_rule() -> None:
    with pytest.raises(Conflict, match="revisions 1, 2 are all effective"):
        effective_revision([Revision(1, S.EFFECTIVE, 1, V1), Revision(2, S.EFFECTIVE, 1, V2)])


def test_revise_starts_the_next_draft_from_the_effective_revision() -> None:
    revisions = [Revision(1, S.SUPERSEDED, 1, V1), Revision(2, S.EFFECTIVE, 1, V1)]
    draft = start_revision(revisions, 7, V1, Change("new torque"))
    assert (draft.number, draft.status, draft.author_id) == (3, S.DRAFT, 7)


def test_revise_while_a_change_is_in_flight_is_refused() -> None:
    revisions = [Revision(1, S.EFFECTIVE, 1, V1), Revision(2, S.IN_REVIEW, 1, V2)]
    with pytest.raises(Conflict, match="revision 2 is already in_review"):
        start_revision(revisions, 7, V1, Change())


def test_obsolete_document_cannot_be_revised() -> None:
    obsolete = make_obsolete(Revision(1, S.EFFECTIVE, 1, V1))
    assert obsolete.status is S.OBSOLETE
    with pytest.raises(Conflict, match="no effective revision"):
        start_revision([obsolete], 7, V1, Change())


def test_acknowledgement_only_on_the_effective_revision_and_once() -> None:
    effective = Revision(1, S.EFFECTIVE, 1, V1)
    acked = acknowledge(effective, OLLIE, AT)
    assert acked.signatures[0].meaning is Meaning.ACKNOWLEDGED
    with pytest.raises(Conflict):
        acknowledge(acked, OLLIE, AT)
    with pytest.raises(Refused):
        acknowledge(in_review(), OLLIE, AT)


def test_safety_change_waits_for_its_risks_unfinished_mitigations() -> None:
    approved = approve(
        approve(in_review(SAFETY_CHANGE), QUINN, Role.QUALITY, AT, SOP), SAM, Role.SAFETY, AT, SOP
    )
    open_ones = ['action #4 "Fit a ram block" (open, due 2026-12-10)']
    with pytest.raises(MitigationsUnfinished, match="Fit a ram block") as held:
        take_effect([approved], 1, date(2026, 12, 7), SOP, unfinished_mitigations=open_ones)
    assert held.value.status == 409
    assert held.value.waiting_for == tuple(open_ones)
    (done,) = take_effect([approved], 1, date(2026, 12, 7), SOP, unfinished_mitigations=())
    assert done.status is S.EFFECTIVE


def test_a_change_without_safety_impact_is_not_held_by_mitigations() -> None:
    approved = approve(in_review(), QUINN, Role.QUALITY, AT, SOP)
    (done,) = take_effect([approved], 1, date(2026, 12, 7), SOP, unfinished_mitigations=["x"])
    assert done.status is S.EFFECTIVE
