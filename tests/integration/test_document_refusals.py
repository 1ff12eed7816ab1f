"""Each refusal of change control at the service level: the named error with its status, a
message that says what is wrong, and nothing written (no revision, signature or audit entry).
On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from andon.accounts.service import actor_for
from andon.core.audit import AuditEntry
from andon.core.errors import AndonError, Conflict, InvalidInput, NotAuthenticated, PermissionDenied
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.demo.document_files import demo_change_texts, demo_document_texts
from andon.documents import queries, service
from andon.documents.markdown_io import parse_markdown
from andon.documents.models import Document, DocumentRevision, DocumentSignature
from tests.factories import PASSWORD, make_plant, make_user
from tests.integration.risk_plant import make_risk

TEXTS = dict(demo_document_texts())
CHANGES = dict(demo_change_texts())
LOTO = "SOP-SAF-001"  # its demo change has safety impact: quality and safety approve it
CHANGEOVER = "SOP-ASM-002"  # no safety impact: quality alone approves it


@dataclass
class People:
    author: Context  # holds quality and safety, so self-approval is a matter of duties
    quality: Context
    safety: Context
    both: Context  # quality and safety: one person who could sign for either role
    viewer: Context


@pytest.fixture
def people(system: Context) -> People:
    make_plant(system)  # the areas the demo documents name
    for owner in ("safety", "supervisor"):
        make_user(system, owner, Role.SAFETY)
    make_risk(system, "safety")  # RSK-1, which the demo's safety change links

    def ctx(username: str, *roles: Role) -> Context:
        return system.as_actor(actor_for(make_user(system, username, *roles)))

    return People(
        author=ctx("author", Role.QUALITY, Role.SAFETY),
        quality=ctx("qe", Role.QUALITY),
        safety=ctx("se", Role.SAFETY),
        both=ctx("qs", Role.QUALITY, Role.SAFETY),
        viewer=ctx("vw", Role.VIEWER),
    )


def _counts(system: Context) -> dict[str, int]:
    with system.read() as session:
        return {
            table.__name__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Document, DocumentRevision, DocumentSignature, AuditEntry)
        }


def _refused(
    system: Context, error: type[AndonError], status: int, action: Callable[[], Any]
) -> AndonError:
    """Run ``action``, expect ``error`` with ``status``, and check that it wrote nothing."""
    before = _counts(system)
    with pytest.raises(error) as caught:
        action()
    assert caught.value.status == status
    assert _counts(system) == before
    return caught.value


def _in_review(people: People, text: str) -> str:
    made = service.import_markdown(people.author, text)
    service.submit(people.author, made.number)
    return made.number


def _effective(people: People, number: str) -> None:
    service.import_markdown(people.author, TEXTS[number])
    service.submit(people.author, number)
    assert service.approve(people.quality, number, PASSWORD).status == "effective"


def test_approval_by_a_role_that_is_not_required_is_refused(
    people: People, system: Context
) -> None:
    number = _in_review(people, TEXTS[CHANGEOVER])
    error = _refused(
        system,
        PermissionDenied,
        403,
        lambda: service.approve(people.safety, number, PASSWORD, role=Role.SAFETY),
    )
    assert "safety role is not required" in str(error)
    assert "required: quality" in str(error)


def test_approval_by_someone_holding_no_required_role_is_refused(
    people: People, system: Context
) -> None:
    number = _in_review(people, TEXTS[CHANGEOVER])
    error = _refused(
        system, PermissionDenied, 403, lambda: service.approve(people.safety, number, PASSWORD)
    )
    assert "se holds safety" in str(error)
    assert "needs approval by quality" in str(error)


def test_self_approval_is_refused(people: People, system: Context) -> None:
    number = _in_review(people, TEXTS[CHANGEOVER])
    error = _refused(
        system,
        PermissionDenied,
        403,
        lambda: service.approve(people.author, number, PASSWORD, role=Role.QUALITY),
    )
    assert "author of revision 1" in str(error)
    assert "separation of duties" in str(error)


def test_a_second_signature_by_the_same_person_is_refused(people: People, system: Context) -> None:
    _effective(people, LOTO)
    _in_review(people, CHANGES[LOTO])  # safety impact: quality and safety must approve
    assert service.approve(people.both, LOTO, PASSWORD, role=Role.QUALITY).status == "in_review"
    error = _refused(
        system,
        Conflict,
        409,
        lambda: service.approve(people.both, LOTO, PASSWORD, role=Role.SAFETY),
    )
    assert "qs already signed revision 2" in str(error)
    assert "one person signs once per revision" in str(error)
    view = queries.show(people.viewer, LOTO, revision=2).to_json()
    assert view["status"] == "in_review"
    assert [s["username"] for s in view["signatures"]] == ["qs"]


def test_a_wrong_password_is_refused_and_stores_no_signature(
    people: People, system: Context
) -> None:
    number = _in_review(people, TEXTS[CHANGEOVER])
    error = _refused(
        system,
        NotAuthenticated,
        401,
        lambda: service.approve(people.quality, number, PASSWORD + "x"),
    )
    assert "password of qe is wrong" in str(error)
    assert "nothing was signed" in str(error)
    assert queries.show(people.viewer, number).to_json()["signatures"] == []


def test_editing_an_effective_revision_is_refused(people: People, system: Context) -> None:
    _effective(people, CHANGEOVER)
    view = queries.show(people.viewer, CHANGEOVER)
    error = _refused(
        system,
        Conflict,
        409,
        lambda: service.save_draft(
            people.author, CHANGEOVER, view.file, version=view.revision.version
        ),
    )
    assert "cannot edit a revision that is effective" in str(error)
    assert "revise it to start a new draft" in str(error)
    assert (
        queries.show(people.viewer, CHANGEOVER).revision.content_sha256
        == view.revision.content_sha256
    )


def test_a_stale_edit_is_refused(people: People, system: Context) -> None:
    service.import_markdown(people.author, TEXTS[CHANGEOVER])
    opened = queries.show(people.viewer, CHANGEOVER)
    edited = TEXTS[CHANGEOVER].replace("Line changeover between", "Changeover of a line between")
    service.save_draft(
        people.author, CHANGEOVER, parse_markdown(edited), version=opened.revision.version
    )
    saved = queries.show(people.viewer, CHANGEOVER)
    assert saved.revision.version != opened.revision.version
    error = _refused(
        system,
        Conflict,
        409,
        lambda: service.save_draft(
            people.quality, CHANGEOVER, opened.file, version=opened.revision.version
        ),
    )
    assert "changed by someone else since you opened it" in str(error)
    assert (
        queries.show(people.viewer, CHANGEOVER).revision.content_sha256
        == saved.revision.content_sha256
    )


def test_markdown_missing_a_required_field_is_refused_naming_field_and_line(
    people: People, system: Context
) -> None:
    lines = TEXTS[CHANGEOVER].splitlines(keepends=True)
    assert lines[3].startswith("title:")
    no_title = "".join(lines[:3] + lines[4:])
    error = _refused(
        system, InvalidInput, 422, lambda: service.import_markdown(people.author, no_title)
    )
    assert isinstance(error, InvalidInput)
    (fault,) = error.errors
    assert fault.loc == ("front_matter", "title")
    assert fault.msg == "line 1: 'title' is missing from the front matter"
    assert "title" in str(error)


def test_markdown_with_an_unknown_field_is_refused_naming_field_and_line(
    people: People, system: Context
) -> None:
    lines = TEXTS[CHANGEOVER].splitlines(keepends=True)
    with_colour = "".join([*lines[:4], "colour: red\n", *lines[4:]])
    error = _refused(
        system, InvalidInput, 422, lambda: service.import_markdown(people.author, with_colour)
    )
    assert isinstance(error, InvalidInput)
    (fault,) = error.errors
    assert fault.loc == ("front_matter", "colour")
    assert fault.msg.startswith("line 5:")
    assert "colour" in str(error)
    assert "line 5" in str(error)


def test_a_safety_change_without_a_risk_is_refused_on_import(
    people: People, system: Context
) -> None:
    _effective(people, LOTO)
    no_risk = "".join(
        line for line in CHANGES[LOTO].splitlines(keepends=True) if not line.startswith("risk:")
    )
    assert "safety_impact: true" in no_risk
    error = _refused(
        system, InvalidInput, 422, lambda: service.import_markdown(people.author, no_risk)
    )
    assert isinstance(error, InvalidInput)
    (fault,) = error.errors
    assert fault.loc == ("front_matter", "risk")
    assert fault.msg.startswith("line 9:")  # the line that states the safety impact
    assert "safety impact must name a risk" in str(error)
    assert [r["status"] for r in queries.show(people.viewer, LOTO).to_json()["revisions"]] == [
        "effective"
    ]


def test_a_safety_change_without_a_risk_is_refused_on_revise(
    people: People, system: Context
) -> None:
    _effective(people, CHANGEOVER)
    error = _refused(
        system,
        InvalidInput,
        422,
        lambda: service.revise(people.author, CHANGEOVER, reason="new guard", safety_impact=True),
    )
    assert "safety impact must name a risk" in str(error)
    assert [e.loc for e in error.errors] == [("risk_id",)]


def test_someone_who_edited_the_draft_cannot_approve_it(system: Context) -> None:
    make_plant(system)
    make_user(system, "safety", Role.SAFETY)
    author = system.as_actor(actor_for(make_user(system, "writer", Role.QUALITY)))
    editor = system.as_actor(actor_for(make_user(system, "helper", Role.QUALITY)))
    checker = system.as_actor(actor_for(make_user(system, "checker", Role.QUALITY)))
    text = dict(demo_document_texts())["SOP-SAF-001"]
    service.import_markdown(author, text)
    file = queries.show(author, "SOP-SAF-001").file
    service.save_draft(editor, "SOP-SAF-001", file, version=None)
    service.submit(author, "SOP-SAF-001")
    with pytest.raises(PermissionDenied, match="editor"):
        service.approve(editor, "SOP-SAF-001", PASSWORD)
    assert service.approve(checker, "SOP-SAF-001", PASSWORD).status == "effective"
