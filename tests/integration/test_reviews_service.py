"""The weekly review on SQLite and PostgreSQL: the pack's contents (values against target,
signals, crossings, actions, decisions carried from last week), the meeting's use cases and
their refusals, and the pack as PDF."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from andon.actions import service as actions
from andon.actions.models import ActionItem
from andon.actions.schemas import ActionCreate
from andon.core.audit import AuditEntry
from andon.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.reviews import service
from andon.reviews.models import ReviewDecision, ReviewMeeting
from andon.reviews.schemas import PackMetric, ReviewActionIn, ReviewPack
from andon.web.review_print import pack_html, pack_pdf
from tests.factories import make_plant, make_user
from tests.integration.review_plant import LAST_WEEK, WEEK, ZONE, define, review_plant

TODAY = date.today()


def counts(system: Context) -> tuple[int, int, int, int]:
    with system.read() as s:
        return tuple(  # type: ignore[return-value]
            int(s.scalar(select(func.count()).select_from(model)) or 0)
            for model in (ReviewMeeting, ReviewDecision, ActionItem, AuditEntry)
        )


def metric(pack: ReviewPack, key: str) -> PackMetric:
    (found,) = [m for g in pack.groups for m in g.metrics if m.key == key]
    return found


def as_user(system: Context, username: str) -> Context:
    from andon.accounts import service as accounts

    return system.as_actor(accounts.actor_for(accounts.find_user(system, username)))


@pytest.fixture
def plant(system: Context) -> Context:
    review_plant(system)
    return system


def test_pack_groups_metrics_by_sqdc_letter(plant: Context) -> None:
    pack = service.build_pack(plant, WEEK, zone=ZONE)
    assert [(g.sqdc, [m.key for m in g.metrics]) for g in pack.groups] == [
        ("safety", ["near_misses"]),
        ("quality", ["defect_share"]),
        ("cost", ["scrap_cost"]),
    ]
    assert (pack.first_day, pack.last_day) == (date(2026, 11, 16), date(2026, 11, 22))


def test_week_metric_shows_its_value_a_signal_and_a_crossing(plant: Context) -> None:
    m = metric(service.build_pack(plant, WEEK, zone=ZONE), "near_misses")
    (series,) = m.series
    assert m.periods == [WEEK]
    assert [(v.period, v.value) for v in series.values] == [(WEEK, 9.0)]
    assert (series.value, m.target, series.on_target) == (9.0, 2.0, False)
    (signal,) = series.signals
    assert (signal.period, signal.rules) == (WEEK, ["WE1"])
    assert "beyond" in signal.reasons[0] or "limit" in signal.reasons[0]
    (crossing,) = series.crossings
    assert (crossing.period, crossing.level, crossing.above) == (WEEK, "warning", 5.0)
    assert crossing.decision == "Walk the area with safety"


def test_last_weeks_pack_has_neither_signal_nor_crossing(plant: Context) -> None:
    (series,) = metric(service.build_pack(plant, LAST_WEEK, zone=ZONE), "near_misses").series
    assert (series.value, series.on_target, series.signals, series.crossings) == (
        3.0,
        False,
        [],
        [],
    )


def test_day_metric_takes_the_weeks_days_and_their_mean(plant: Context) -> None:
    m = metric(service.build_pack(plant, WEEK, zone=ZONE), "scrap_cost")
    (series,) = m.series
    assert m.periods == [f"2026-11-{d}" for d in range(16, 23)]
    assert [(v.period, v.value) for v in series.values] == [
        ("2026-11-16", 80.0),
        ("2026-11-17", 120.0),
    ]
    assert (series.value, series.on_target, series.signals) == (100.0, True, [])


def test_p_chart_week_value_is_the_pooled_rate(plant: Context) -> None:
    (series,) = metric(service.build_pack(plant, WEEK, zone=ZONE), "defect_share").series
    assert series.value == pytest.approx(10 / 40)
    assert series.on_target is False
    # p̄ = 0.1; at n = 30 the UCL is 0.1 + 3·sqrt(0.1·0.9/30) ≈ 0.264, below 9/30 = 0.3.
    assert [(s.period, s.rules) for s in series.signals] == [("2026-11-17", ["WE1"])]


def test_open_and_overdue_actions_of_each_metric_with_owners(plant: Context) -> None:
    def open_(title: str, due: date, **extra: Any) -> int:
        data = {"title": title, "due_on": due, "links": [{"kind": "metric", "ref": "near_misses"}]}
        data.update(extra)
        action, _ = actions.open_action(
            plant, ActionCreate.model_validate({"owner_user": "sue", **data})
        )
        return action.id

    # The plant's near-miss values cross a band: its action is already open.
    crossing = [
        a.id for a in metric(service.build_pack(plant, WEEK, zone=ZONE), "near_misses").open_actions
    ]
    late = open_("Walk the area", TODAY - timedelta(days=2))
    soon = open_("Brief the shift", TODAY + timedelta(days=5), owner_user=None, owner_role="safety")
    done = open_("Old one", TODAY - timedelta(days=9))
    actions.close_action(plant, done, note="done")
    m = metric(service.build_pack(plant, WEEK, zone=ZONE), "near_misses")
    assert [(a.id, a.owner_user, a.owner_role) for a in m.open_actions if a.id not in crossing] == [
        (late, "sue", None),
        (soon, None, "safety"),
    ]
    assert {a.id for a in m.open_actions} >= set(crossing)
    assert m.overdue_actions == [late]
    assert metric(service.build_pack(plant, WEEK, zone=ZONE), "scrap_cost").open_actions == []


def test_last_weeks_decisions_are_carried_into_the_pack(plant: Context) -> None:
    last, created = service.open_meeting(plant, LAST_WEEK)
    assert created
    service.add_decision(plant, last.id, "near_misses", "Count near misses at shift start")
    service.add_decision(plant, last.id, None, "Review moves to Tuesdays")
    service.close_meeting(plant, last.id, notes="short one")
    this, _ = service.open_meeting(plant, WEEK)
    service.add_decision(plant, this.id, "near_misses", "Safety walk on line 2")
    pack = service.build_pack(plant, WEEK, zone=ZONE)
    m = metric(pack, "near_misses")
    assert [d.text for d in m.last_week_decisions] == ["Count near misses at shift start"]
    assert [d.text for d in m.decisions] == ["Safety walk on line 2"]
    assert [d.text for d in pack.last_week_general_decisions] == ["Review moves to Tuesdays"]
    assert metric(pack, "scrap_cost").last_week_decisions == []
    assert pack.meeting is not None
    assert pack.meeting.id == this.id
    assert pack.last_meeting is not None
    assert pack.last_meeting.status == "closed"


def test_meeting_records_attendance_decisions_actions_and_closes(plant: Context) -> None:
    meeting, created = service.open_meeting(plant, WEEK, chair="sue")
    again, created_again = service.open_meeting(plant, WEEK)
    assert (created, created_again, again.id, meeting.chair) == (True, False, meeting.id, "sue")
    attended = service.record_attendance(
        plant, meeting.id, users=["sue", "QE"], guests=["Jo (auditor)"], version=meeting.version
    )
    assert [a.label for a in attended.attendees] == ["sue", "qe", "Jo (auditor) (guest)"]
    action = service.add_action(
        plant,
        meeting.id,
        ReviewActionIn(
            title="Walk the area",
            owner_user="qe",
            due_on=TODAY + timedelta(days=7),
            metric_key="near_misses",
        ),
    )
    assert {(link.kind, link.ref) for link in action.links} == {
        ("review", WEEK),
        ("metric", "near_misses"),
    }
    pack = service.build_pack(plant, WEEK, zone=ZONE)
    assert [a.id for a in pack.review_actions] == [action.id]
    # The review's action beside the one the near-miss values' crossing opened.
    assert action.id in [a.id for a in metric(pack, "near_misses").open_actions]
    closed = service.close_meeting(plant, meeting.id, notes="Good week", version=attended.version)
    assert (closed.status, closed.notes) == ("closed", "Good week")
    before = counts(plant)
    with pytest.raises(Conflict):
        service.add_decision(plant, meeting.id, None, "too late")
    assert counts(plant) == before


def test_stale_attendance_is_refused(plant: Context) -> None:
    meeting, _ = service.open_meeting(plant, WEEK)
    service.record_attendance(plant, meeting.id, users=["sue"], version=meeting.version)
    with pytest.raises(Conflict):
        service.record_attendance(plant, meeting.id, users=["qe"], version=meeting.version)


def test_refusals_write_nothing(plant: Context) -> None:
    meeting, _ = service.open_meeting(plant, WEEK)
    before = counts(plant)
    operator = as_user(plant, "otto")
    with pytest.raises(PermissionDenied):
        service.open_meeting(operator, LAST_WEEK)
    with pytest.raises(PermissionDenied):
        service.add_decision(operator, meeting.id, None, "mine")
    with pytest.raises(InvalidInput) as unknown:
        service.record_attendance(plant, meeting.id, users=["sue", "nobody"])
    assert unknown.value.errors[0].loc == ("users", 1)
    with pytest.raises(InvalidInput) as no_metric:
        service.add_decision(plant, meeting.id, "no_such", "text")
    assert no_metric.value.errors[0].loc == ("metric_key",)
    # The action is refused after the review's own checks passed: nothing of it stays.
    with pytest.raises(InvalidInput):
        service.add_action(
            plant,
            meeting.id,
            ReviewActionIn(title="x", owner_user="ghost", due_on=TODAY, metric_key="scrap_cost"),
        )
    with pytest.raises(NotFound):
        service.add_decision(plant, 9999, None, "text")
    assert counts(plant) == before


def test_a_bad_week_names_the_week_field(plant: Context) -> None:
    for bad in ("2026-W99", "2026-47", "next week"):
        with pytest.raises(InvalidInput) as refused:
            service.build_pack(plant, bad, zone=ZONE)
        assert refused.value.errors[0].loc == ("week",)


def test_an_areas_pack_holds_its_metrics_and_the_plant_wide_ones(plant: Context) -> None:
    make_plant(plant)
    define(plant, key="asm_scrap", name="Assembly scrap", period="week", area="ASM")
    define(plant, key="pnt_scrap", name="Paint scrap", period="week", area="PNT")
    keys = {
        m.key
        for g in service.build_pack(plant, WEEK, area="ASM", zone=ZONE).groups
        for m in g.metrics
    }
    assert keys == {"near_misses", "scrap_cost", "defect_share", "asm_scrap"}
    with pytest.raises(InvalidInput) as refused:
        service.build_pack(plant, WEEK, area="NOPE", zone=ZONE)
    assert refused.value.errors[0].loc == ("area",)


def test_an_operator_may_read_the_pack(plant: Context) -> None:
    pack = service.build_pack(as_user(plant, "otto"), WEEK, zone=ZONE)
    assert metric(pack, "near_misses").series[0].value == 9.0


def test_pdf_pack_holds_every_metric_and_its_signal(plant: Context) -> None:
    pack = service.build_pack(plant, WEEK, zone=ZONE)
    pdf = pack_pdf(pack, ZONE)
    assert pdf.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for name in ("Near misses", "Scrap cost", "Defect share", "Walk the area with safety"):
        assert name in text
    html = pack_html(pack, ZONE)
    assert html.count('class="chart control-chart"') == 3
    assert 'data-signals="WE1"' in html


def test_an_area_supervisor_runs_that_areas_review_only(plant: Context) -> None:
    _, site, area, _ = make_plant(plant)
    make_user(plant, "asm_lead", Role.SUPERVISOR, site_id=site.id, area_id=area.id)
    lead = as_user(plant, "asm_lead")
    meeting, created = service.open_meeting(lead, WEEK, "ASM")
    assert (created, meeting.area, meeting.chair) == (True, "ASM", "asm_lead")
    decision = service.add_decision(lead, meeting.id, None, "ASM only")
    assert decision.decided_by == "asm_lead"
    assert service.may_run(lead, "ASM")
    assert not service.may_run(lead)
    with pytest.raises(PermissionDenied):
        service.open_meeting(lead, WEEK)
    plant_review, _ = service.open_meeting(plant, LAST_WEEK)
    before = counts(plant)
    with pytest.raises(PermissionDenied):
        service.add_decision(lead, plant_review.id, None, "not mine")
    assert counts(plant) == before
