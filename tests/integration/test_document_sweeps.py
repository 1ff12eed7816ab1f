"""The documents' worker jobs on both databases: taking effect, periodic-review and training
reminders and escalations, newcomers' tasks; each once, quiet hours respected."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from andon.accounts.models import User
from andon.accounts.service import actor_for
from andon.calendars.service import ShiftInput, set_shifts
from andon.core.clock import utcnow
from andon.core.config import Settings
from andon.core.database import Database
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.demo.document_files import demo_document_texts
from andon.documents import service, signoffs, sweeps
from andon.documents.models import Document, TrainingAssignment
from andon.documents.rules import DocumentRules
from andon.notifications.models import Notification
from andon.notifications.transport import DeliveryResult
from andon.plant import service as plant_service
from andon.plant.schemas import AreaCreate
from andon.work.worker import run_worker
from tests.factories import PASSWORD, make_plant, make_user

ASM = "SOP-ASM-001"  # area ASM, owner "supervisor", training needed
HOOK = "https://hooks.example.com/documents"
RULES = DocumentRules(escalation_webhooks=(HOOK,))
CHICAGO = ZoneInfo("America/Chicago")


@dataclass
class Plant:
    author: Context
    quality: Context
    operator: Context
    site_id: int
    area_id: int


@pytest.fixture
def plant(system: Context) -> Plant:
    _, site, area, _ = make_plant(system)
    place = {"site_id": site.id, "area_id": area.id}
    make_user(system, "supervisor", Role.SUPERVISOR, email="sup@example.com", **place)
    author = make_user(system, "author", Role.QUALITY, Role.SAFETY)
    quality = make_user(system, "qe", Role.QUALITY, email="qe@example.com")
    operator = make_user(system, "op", Role.OPERATOR, email="op@example.com", **place)
    # Another area of the site: neither trained on the assembly SOP nor told about it.
    paint = plant_service.create_area(system, AreaCreate(site_id=site.id, name="Paint", code="PNT"))
    make_user(
        system, "far", Role.OPERATOR, Role.SUPERVISOR, Role.QUALITY, email="far@example.com",
        site_id=site.id, area_id=paint.id,
    )  # fmt: skip

    def ctx(user: Any) -> Context:
        return system.as_actor(actor_for(user))

    return Plant(ctx(author), ctx(quality), ctx(operator), site.id, area.id)


def _effective(plant: Plant) -> date:
    """SOP-ASM-001 in force from today (UTC); returns that day."""
    service.import_markdown(plant.author, dict(demo_document_texts())[ASM])
    service.submit(plant.author, ASM)
    assert service.approve(plant.quality, ASM, PASSWORD).status == "effective"
    return utcnow().date()


def _noon(day: date) -> datetime:
    """Noon in Chicago on ``day``: outside any quiet hours the tests set."""
    return datetime.combine(day, time(12), CHICAGO).astimezone(UTC)


def _notes(system: Context, event: str) -> list[Notification]:
    with system.read() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id))
        return [n for n in rows if n.payload.get("event") == event]


def _targets(notes: list[Notification]) -> set[str]:
    return {n.target for n in notes}


def test_approved_revision_takes_effect_when_its_date_comes(plant: Plant, system: Context) -> None:
    service.import_markdown(plant.author, dict(demo_document_texts())[ASM])
    start = utcnow().date() + timedelta(days=3)
    service.submit(plant.author, ASM, effective_on=start)
    assert service.approve(plant.quality, ASM, PASSWORD).status == "approved"

    early = sweeps.sweep_documents(system, rules=RULES, now=_noon(start - timedelta(days=1)))
    due = sweeps.sweep_documents(system, rules=RULES, now=_noon(start))
    again = sweeps.sweep_documents(system, rules=RULES, now=_noon(start))

    assert (early.took_effect, due.took_effect, again.took_effect) == (0, 1, 0)
    with system.read() as session:
        document = session.scalars(select(Document).where(Document.number == ASM)).one()
        tasks = list(session.scalars(select(TrainingAssignment)))
    assert (document.status, document.effective_revision) == ("effective", 1)
    assert document.next_review_on == date(start.year + 2, start.month, start.day)
    assert len(tasks) == 2  # the operator and the supervisor of the assembly area


def test_owner_is_reminded_once_before_the_review_date(plant: Plant, system: Context) -> None:
    _effective(plant)
    with system.read() as session:
        review_on = session.scalars(select(Document.next_review_on)).one()
    assert review_on is not None

    too_early = sweeps.sweep_reviews(system, rules=RULES, now=_noon(review_on - timedelta(days=15)))
    first = sweeps.sweep_reviews(system, rules=RULES, now=_noon(review_on - timedelta(days=14)))
    second = sweeps.sweep_reviews(system, rules=RULES, now=_noon(review_on - timedelta(days=3)))

    assert too_early == (0, 0, 0)
    assert first == (1, 0, 1)
    assert second == (0, 0, 0)
    (note,) = _notes(system, "review_reminder")
    assert (note.channel, note.target) == ("email", "sup@example.com")
    assert note.payload["document"]["next_review_on"] == review_on.isoformat()
    assert ASM in note.subject


def test_overdue_review_escalates_once_to_owner_quality_and_webhooks(
    plant: Plant, system: Context
) -> None:
    _effective(plant)
    with system.read() as session:
        review_on = session.scalars(select(Document.next_review_on)).one()
    assert review_on is not None

    on_the_day = sweeps.sweep_reviews(system, rules=RULES, now=_noon(review_on))
    overdue = sweeps.sweep_reviews(system, rules=RULES, now=_noon(review_on + timedelta(days=1)))
    later = sweeps.sweep_reviews(system, rules=RULES, now=_noon(review_on + timedelta(days=9)))

    assert on_the_day[1] == 0
    assert overdue[:2] == (0, 1)
    assert later == (0, 0, 0)
    notes = _notes(system, "review_escalation")
    assert _targets(notes) == {"sup@example.com", "qe@example.com", HOOK}
    assert {n.channel for n in notes if n.target == HOOK} == {"webhook"}


def test_a_confirmed_review_is_reminded_again_before_the_next_date(
    plant: Plant, system: Context
) -> None:
    _effective(plant)
    with system.read() as session:
        review_on = session.scalars(select(Document.next_review_on)).one()
    assert review_on is not None
    sweeps.sweep_reviews(system, rules=RULES, now=_noon(review_on - timedelta(days=10)))
    signoffs.review(
        plant.quality, ASM, PASSWORD, "confirm", at=_noon(review_on - timedelta(days=5))
    )
    with system.read() as session:
        document = session.scalars(select(Document)).one()
    assert document.review_reminded_at is None
    assert document.next_review_on == service.add_months(review_on - timedelta(days=5), 24)

    swept = sweeps.sweep_reviews(
        system, rules=RULES, now=_noon(document.next_review_on - timedelta(days=1))
    )

    assert swept == (1, 0, 1)
    assert len(_notes(system, "review_reminder")) == 2


def test_training_reminder_then_escalation_to_supervisors(plant: Plant, system: Context) -> None:
    _effective(plant)
    with system.read() as session:
        due_on = session.scalars(select(TrainingAssignment.due_on)).first()
    assert due_on is not None

    reminded = sweeps.sweep_training(system, rules=RULES, now=_noon(due_on - timedelta(days=2)))
    signoffs.acknowledge(plant.operator, ASM, PASSWORD)
    escalated = sweeps.sweep_training(system, rules=RULES, now=_noon(due_on + timedelta(days=1)))
    again = sweeps.sweep_training(system, rules=RULES, now=_noon(due_on + timedelta(days=5)))

    assert reminded == (2, 0, 2)  # the operator's and the supervisor's task, one mail each
    assert _targets(_notes(system, "training_reminder")) == {"op@example.com", "sup@example.com"}
    # The operator acknowledged in time: only the supervisor's own task is overdue, and it
    # goes to them, to the supervisors where they work (themselves) and to the webhook.
    assert escalated == (0, 1, 2)
    notes = _notes(system, "training_escalation")
    assert _targets(notes) == {"sup@example.com", HOOK}
    assert notes[0].payload["user"] == "supervisor"
    assert again == (0, 0, 0)


def test_operator_overdue_escalates_to_their_area_supervisor(plant: Plant, system: Context) -> None:
    _effective(plant)
    with system.read() as session:
        due_on = session.scalars(select(TrainingAssignment.due_on)).first()
    assert due_on is not None

    sweeps.sweep_training(system, rules=RULES, now=_noon(due_on + timedelta(days=1)))

    by_person: dict[str, set[str]] = {}
    for note in _notes(system, "training_escalation"):
        by_person.setdefault(note.payload["user"], set()).add(note.target)
    assert by_person["op"] == {"op@example.com", "sup@example.com", HOOK}


def test_reminders_wait_for_the_end_of_quiet_hours(plant: Plant, system: Context) -> None:
    set_shifts(
        system,
        plant.site_id,
        [ShiftInput("Day", (0, 1, 2, 3, 4, 5, 6), time(6), time(22))],
        quiet_hours=(time(22), time(6)),
    )
    _effective(plant)
    with system.read() as session:
        due_on = session.scalars(select(TrainingAssignment.due_on)).first()
    assert due_on is not None
    late = datetime.combine(due_on - timedelta(days=1), time(23), CHICAGO).astimezone(UTC)

    sweeps.sweep_training(system, rules=RULES, now=late)

    notes = _notes(system, "training_reminder")
    morning = datetime.combine(due_on, time(6), CHICAGO).astimezone(UTC)
    assert len(notes) == 2
    assert {n.next_attempt_at for n in notes} == {morning}


def test_a_newcomer_to_the_role_gets_a_task_once(plant: Plant, system: Context) -> None:
    _effective(plant)
    make_user(
        system, "newop", Role.OPERATOR, email="new@example.com",
        site_id=plant.site_id, area_id=plant.area_id,
    )  # fmt: skip

    first = sweeps.assign_newcomers(system, rules=RULES, now=_noon(utcnow().date()))
    second = sweeps.assign_newcomers(system, rules=RULES, now=_noon(utcnow().date()))

    assert (first, second) == (1, 0)
    with system.read() as session:
        tasks = {
            username: task
            for task, username in session.execute(
                select(TrainingAssignment, User.username).join(
                    User, User.id == TrainingAssignment.user_id
                )
            )
        }
    assert sorted(tasks) == ["newop", "op", "supervisor"]
    assert tasks["newop"].status == "due"
    assert tasks["newop"].due_on == utcnow().date() + timedelta(days=RULES.training_due_days)


def test_two_workers_at_once_send_each_reminder_once(
    plant: Plant, system: Context, db: Database
) -> None:
    _effective(plant)
    with system.read() as session:
        due_on = session.scalars(select(TrainingAssignment.due_on)).first()
        review_on = session.scalars(select(Document.next_review_on)).one()
    assert due_on is not None
    assert review_on is not None
    # Both kinds due at the same moment: move the review date next to the tasks'.
    with db.write_session() as session:
        session.execute(update(Document).values(next_review_on=due_on))
        session.commit()
    now = _noon(due_on - timedelta(days=1))
    reports: list[sweeps.DocumentSweepReport] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            reports.append(sweeps.sweep_documents(Context(db, system.actor), rules=RULES, now=now))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sum(r.training_reminders for r in reports) == 2
    assert sum(r.review_reminders for r in reports) == 1
    assert len(_notes(system, "training_reminder")) == 2
    assert len(_notes(system, "review_reminder")) == 1


class Recording:
    def __init__(self) -> None:
        self.mail: list[tuple[str, str]] = []

    def send_email(
        self, to: str, subject: str, body: str, *, delivery_id: str | None = None
    ) -> DeliveryResult:
        self.mail.append((to, subject))
        return DeliveryResult(True)

    def post_webhook(
        self, url: str, payload: Mapping[str, Any], *, delivery_id: str | None = None
    ) -> DeliveryResult:
        return DeliveryResult(True)


def test_the_worker_runs_the_document_jobs_and_delivers_once(
    plant: Plant, system: Context, db: Database, settings: Settings
) -> None:
    service.import_markdown(plant.author, dict(demo_document_texts())[ASM])
    start = utcnow().date() + timedelta(days=1)
    service.submit(plant.author, ASM, effective_on=start)
    service.approve(plant.quality, ASM, PASSWORD)
    transport = Recording()

    def cycle(day: date) -> Any:
        return run_worker(
            db,
            settings,
            interval_seconds=0,
            once=True,
            now_fn=lambda: _noon(day),
            transport=transport,
        )

    took = cycle(start)
    # Twelve days after it took effect the two tasks (due in 14) are within 3 days.
    reminded = cycle(start + timedelta(days=12))
    again = cycle(start + timedelta(days=12))

    assert (took.failed_cycles, reminded.failed_cycles, again.failed_cycles) == (0, 0, 0)
    assert (took.took_effect, took.reminders) == (1, 0)
    assert (reminded.reminders, again.reminders) == (2, 0)
    assert sorted(to for to, _ in transport.mail) == ["op@example.com", "sup@example.com"]
