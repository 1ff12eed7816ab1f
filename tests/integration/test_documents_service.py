"""Change control end to end through the services, on both databases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from andon.accounts.service import actor_for
from andon.core.audit import AuditEntry
from andon.core.errors import Conflict, InvalidInput, NotAuthenticated, PermissionDenied
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.demo.document_files import demo_change_texts, demo_document_texts
from andon.documents import queries, service, signoffs
from andon.documents.models import Document, DocumentSignature, TrainingAssignment
from andon.plant import service as plant
from andon.plant.schemas import AreaCreate
from tests.factories import PASSWORD, make_plant, make_user
from tests.integration.risk_plant import make_risk

TEXTS = dict(demo_document_texts())
CHANGES = dict(demo_change_texts())
LOTO = "SOP-SAF-001"


@dataclass
class People:
    author: Context
    quality: Context
    safety: Context
    operator: Context
    viewer: Context


@pytest.fixture
def people(system: Context) -> People:
    _, site, area, _ = make_plant(system)
    for code, name in (("QLAB", "Quality Lab"), ("WH", "Warehouse")):
        plant.create_area(system, AreaCreate(site_id=site.id, name=name, code=code))
    for name in ("safety", "quality", "supervisor", "ops-manager"):
        make_user(system, name, Role.QUALITY if name == "quality" else Role.SAFETY)
    make_risk(system, "safety")  # RSK-1, which the demo's safety change links

    def ctx(username: str, *roles: Role, **scope: int) -> Context:
        return system.as_actor(actor_for(make_user(system, username, *roles, **scope)))

    return People(
        author=ctx("author", Role.QUALITY, Role.SAFETY),
        quality=ctx("qe", Role.QUALITY),
        safety=ctx("se", Role.SAFETY),
        operator=ctx("op", Role.OPERATOR, site_id=site.id, area_id=area.id),
        viewer=ctx("vw", Role.VIEWER),
    )


def _signatures(system: Context) -> int:
    with system.read() as session:
        return session.scalar(select(func.count()).select_from(DocumentSignature)) or 0


def test_first_revision_takes_effect_on_its_quality_approval(people: People) -> None:
    made = service.import_markdown(people.author, TEXTS[LOTO])
    assert (made.number, made.revision, made.status) == (LOTO, 1, "draft")
    service.submit(people.author, LOTO)
    done = service.approve(people.quality, LOTO, PASSWORD)
    assert done.status == "effective"
    view = queries.show(people.viewer, LOTO)
    data = view.to_json()
    assert data["status"] == "effective"
    assert data["effective_at"] is not None
    (sig,) = data["signatures"]
    assert (sig["username"], sig["meaning"], sig["role"]) == ("qe", "approved", "quality")
    assert sig["content_sha256"] == data["content_sha256"]
    assert queries.export_markdown(people.viewer, LOTO) == TEXTS[LOTO]


def test_safety_change_needs_both_roles_and_supersedes(people: People, system: Context) -> None:
    service.import_markdown(people.author, TEXTS[LOTO])
    service.submit(people.author, LOTO)
    service.approve(people.quality, LOTO, PASSWORD)
    draft = service.import_markdown(people.author, CHANGES[LOTO])
    assert (draft.revision, draft.status) == (2, "draft")
    service.submit(people.author, LOTO)
    assert service.approve(people.quality, LOTO, PASSWORD).status == "in_review"
    assert queries.show(people.viewer, LOTO).to_json()["revision"] == 1  # still in force
    done = service.approve(people.safety, LOTO, PASSWORD)
    assert (done.revision, done.status) == (2, "effective")
    statuses = [r["status"] for r in queries.show(people.viewer, LOTO).to_json()["revisions"]]
    assert statuses == ["superseded", "effective"]
    with system.read() as session:
        tasks = list(session.scalars(select(TrainingAssignment)))
    assert {t.status for t in tasks if t.revision_id == tasks[-1].revision_id} == {"due"}
    signoffs.acknowledge(people.operator, LOTO, PASSWORD)
    with pytest.raises(Conflict, match="already signed"):
        signoffs.acknowledge(people.operator, LOTO, PASSWORD)
    red = queries.diff(people.viewer, LOTO, 1, 2)
    assert red.to_json()["steps"]


def test_refusals_store_nothing(people: People, system: Context) -> None:
    service.import_markdown(people.author, TEXTS[LOTO])
    service.submit(people.author, LOTO)
    before = _signatures(system)
    with pytest.raises(NotAuthenticated):
        service.approve(people.quality, LOTO, "wrong")
    with pytest.raises(PermissionDenied, match=r"separation of duties|author"):
        service.approve(people.author, LOTO, PASSWORD, role=Role.QUALITY)
    with pytest.raises(PermissionDenied):
        service.approve(people.safety, LOTO, PASSWORD)  # safety is not required here
    with pytest.raises(PermissionDenied):
        service.approve(people.viewer, LOTO, PASSWORD)
    assert _signatures(system) == before
    service.approve(people.quality, LOTO, PASSWORD)
    with pytest.raises(Conflict):
        service.save_draft(
            people.author, LOTO, queries.show(people.viewer, LOTO).file, version=None
        )


def test_safety_change_without_risk_is_refused(people: People) -> None:
    text = CHANGES[LOTO]
    service.import_markdown(people.author, TEXTS[LOTO])
    service.submit(people.author, LOTO)
    service.approve(people.quality, LOTO, PASSWORD)
    no_risk = "\n".join(line for line in text.splitlines() if not line.startswith("risk:"))
    with pytest.raises(InvalidInput, match="risk"):
        service.import_markdown(people.author, no_risk + "\n")
    assert [r["revision"] for r in queries.show(people.viewer, LOTO).to_json()["revisions"]] == [1]


def test_reject_sends_back_and_voids_round(people: People) -> None:
    service.import_markdown(people.author, TEXTS[LOTO])
    service.submit(people.author, LOTO)
    out = service.reject(people.quality, LOTO, PASSWORD, "step 3 is unclear")
    assert out.status == "draft"
    service.submit(people.author, LOTO)
    assert service.approve(people.quality, LOTO, PASSWORD).status == "effective"


def test_periodic_review_confirm_sets_next_date(people: People, system: Context) -> None:
    service.import_markdown(people.author, TEXTS[LOTO])
    service.submit(people.author, LOTO)
    service.approve(people.quality, LOTO, PASSWORD)
    signoffs.review(people.quality, LOTO, PASSWORD, "confirm")
    out = signoffs.review(people.quality, LOTO, PASSWORD, "change", comment="new press")
    assert (out.revision, out.status) == (2, "draft")
    with system.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) > 0


def test_search_finds_effective_revisions_only(people: People) -> None:
    from andon.documents.search import search_documents

    service.import_markdown(people.author, TEXTS[LOTO])
    service.import_markdown(people.author, TEXTS["WI-ASM-002"])
    with pytest.raises(InvalidInput):
        search_documents(people.viewer, "  ")
    assert search_documents(people.viewer, "lockout") == []  # a draft is not searchable
    service.submit(people.author, LOTO)
    service.approve(people.quality, LOTO, PASSWORD)
    hits = search_documents(people.viewer, "lockou")
    assert [h.number for h in hits] == [LOTO]
    assert any(hit for _, hit in hits[0].snippet)
    assert search_documents(people.viewer, "lockout", type="WI") == []
    assert search_documents(people.viewer, 'lockout" OR x*') == []  # operators are words


def test_change_closes_only_when_its_definition_of_done_is_done(people: People) -> None:
    from andon.documents import changes

    plan = {
        "quality_impact": False,
        "communication": "toolbox talk on both shifts",
        "done": [
            {"text": "retrain line 1", "owner": "qe"},
            {"text": "update poster", "owner": "se"},
        ],
    }
    service.import_markdown(people.author, TEXTS[LOTO], plan=plan)
    with pytest.raises(InvalidInput, match="owner"):
        changes.update_plan(people.author, LOTO, {"done": [{"text": "x", "owner": "nobody"}]})
    with pytest.raises(InvalidInput, match="plan"):
        changes.update_plan(people.author, LOTO, {"surprise": 1})
    service.submit(people.author, LOTO)
    service.approve(people.quality, LOTO, PASSWORD)
    changes.complete_item(people.quality, LOTO, 0)
    with pytest.raises(Conflict, match="update poster"):
        changes.close_change(people.author, LOTO)
    with pytest.raises(PermissionDenied):
        changes.complete_item(people.operator, LOTO, 1)
    with pytest.raises(Conflict):
        changes.complete_item(people.quality, LOTO, 0)
    changes.complete_item(people.safety, LOTO, 1)
    changes.close_change(people.author, LOTO)
    with pytest.raises(Conflict, match="closed"):
        changes.close_change(people.author, LOTO)


def test_every_demo_document_exports_byte_identical_after_import(people: People) -> None:
    for number, text in TEXTS.items():
        made = service.import_markdown(people.author, text)
        assert made.number == number
        assert queries.export_markdown(people.viewer, number) == text
    for number, text in CHANGES.items():
        service.submit(people.author, number)
        service.approve(people.quality, number, PASSWORD)
        service.import_markdown(people.author, text)
        assert queries.export_markdown(people.viewer, number, 2) == text


def test_approved_in_the_plants_evening_takes_effect_that_day(people: People) -> None:
    from andon.core.clock import utcnow
    from andon.core.config import Settings
    from andon.documents.rules import document_rules

    rules = document_rules(Settings(timezone="America/Chicago"))
    # 03:00 UTC tomorrow is 21:00 or 22:00 today in Chicago: UTC's date is a day ahead.
    tomorrow = utcnow().date() + timedelta(days=1)
    evening = datetime.combine(tomorrow, time(3), tzinfo=UTC)
    service.import_markdown(people.author, TEXTS[LOTO])
    service.submit(people.author, LOTO)
    done = service.approve(people.quality, LOTO, PASSWORD, rules=rules, at=evening)
    assert done.status == "effective"
    assert queries.show(people.viewer, LOTO).to_json()["effective_on"] == str(
        evening.astimezone(rules.zone).date()
    )


def test_a_plant_adds_its_own_document_type(people: People) -> None:
    from andon.core.config import Settings
    from andon.documents.rules import document_rules

    rules = document_rules(
        Settings(
            document_types="SOP,WI,checklist,form,policy,drawing",
            document_approvals="drawing=quality,safety",
            document_review_months="drawing=60",
        )
    )
    text = (
        TEXTS["WI-ASM-002"].replace("type: WI", "type: drawing").replace("number: WI-ASM-002\n", "")
    )
    with pytest.raises(InvalidInput, match="type"):
        service.import_markdown(people.author, text)  # not a type with nothing configured
    made = service.import_markdown(people.author, text, rules=rules)
    assert made.number == "DRAWING-ASM-001"
    service.submit(people.author, made.number, rules=rules)
    assert service.approve(people.quality, made.number, PASSWORD, rules=rules).status == (
        "in_review"
    )  # the drawing also needs safety
    assert service.approve(people.safety, made.number, PASSWORD, rules=rules).status == "effective"
    shown = queries.show(people.viewer, made.number, rules=rules).to_json()
    assert (shown["type"], shown["review_interval_months"]) == ("drawing", 24)


def test_a_document_for_one_line_of_one_site_round_trips_and_trains_that_line(
    people: People, system: Context
) -> None:
    text = TEXTS["CHK-ASM-002"].replace("area: ASM\n", "site: CHI\narea: ASM\nline: L1\n")
    made = service.import_markdown(people.author, text)
    assert queries.export_markdown(people.viewer, made.number) == text
    shown = queries.show(people.viewer, made.number).to_json()
    assert shown["site_id"] is not None
    assert shown["line_id"] is not None
    with pytest.raises(InvalidInput, match="line"):
        service.import_markdown(
            people.author, text.replace("line: L1", "line: L9").replace("CHK-ASM-002", "CHK-X-1")
        )
    moved = text.replace("line: L1", "line: L2")
    with pytest.raises(InvalidInput, match="line"):
        service.import_markdown(people.author, moved)  # a revision cannot move the document
    service.submit(people.author, made.number)
    service.approve(people.quality, made.number, PASSWORD)
    with system.read() as session:
        trained = set(
            session.scalars(
                select(TrainingAssignment.user_id).where(
                    TrainingAssignment.document_id
                    == select(Document.id).where(Document.number == made.number).scalar_subquery()
                )
            )
        )
    assert people.operator.actor.user_id in trained  # the operator's grant covers L1's area
