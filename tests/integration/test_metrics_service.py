"""Metric definitions, manual values, computing from a source, frozen limits and re-baselining,
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andon.core.audit import AuditEntry
from andon.core.errors import Conflict, InvalidInput, PermissionDenied
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.metrics import service
from andon.metrics.definition import Baseline, MetricDefinition, parse_definition
from andon.metrics.definition_yaml import load_definition_yaml
from andon.metrics.models import MetricLimits, MetricValue, MetricVersion
from andon.metrics.periods import Period, period_containing
from andon.metrics.series import PeriodValue
from andon.work.models import WorkEvent
from tests.factories import make_floor, make_user, new_item

ZONE = ZoneInfo("Europe/Berlin")


def near_misses(**overrides: Any) -> MetricDefinition:
    doc: dict[str, Any] = {
        "key": "near_misses",
        "name": "Near misses",
        "unit": "count",
        "direction": "lower_is_better",
        "kind": "leading",
        "owner": "quality",
        "source": "manual",
        "period": "week",
        "chart": "xmr",
        "rules": ["WE1"],
        "baseline": {"points": 5},
    }
    doc.update(overrides)
    return parse_definition(doc)


CSV = "period,value\n2026-W40,10\n2026-W41,12\n2026-W42,11\n2026-W43,13\n2026-W44,12\n"


def audit_actions(system: Context, entity_type: str = "metric") -> list[str]:
    with system.read() as s:
        return list(
            s.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity_type == entity_type)
                .order_by(AuditEntry.seq)
            )
        )


def count(system: Context, model: Any) -> int:
    with system.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


# --- definitions --------------------------------------------------------------------------------


def test_define_creates_version_one_and_audits(system: Context) -> None:
    defined = service.define_metric(system, near_misses(), reason="new metric")
    assert (defined.created, defined.changed) == (True, True)
    assert defined.metric.current_version == 1
    assert (defined.metric.owner_kind, defined.metric.owner) == ("role", "quality")
    assert audit_actions(system) == ["define"]


def test_identical_redefine_changes_nothing(system: Context) -> None:
    service.define_metric(system, near_misses(), reason="new")
    again = service.define_metric(system, near_misses(), reason="again")
    assert (again.created, again.changed, again.version.version) == (False, False, 1)
    assert count(system, MetricVersion) == 1
    assert audit_actions(system) == ["define"]


def test_changed_definition_is_a_new_version(system: Context) -> None:
    service.define_metric(system, near_misses(), reason="new")
    changed = service.define_metric(system, near_misses(rules=["WE1", "WE2"]), reason="more rules")
    assert (changed.created, changed.changed, changed.version.version) == (False, True, 2)
    versions = service.metric_versions(system, "near_misses")
    assert [v.version for v in versions] == [2, 1]
    assert versions[0].reason == "more rules"
    assert audit_actions(system) == ["define", "redefine"]


def test_owner_user_must_exist(system: Context) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.define_metric(system, near_misses(owner="ghost"), reason="r")
    assert caught.value.errors[0].loc == ("owner",)
    assert count(system, MetricVersion) == 0
    make_user(system, "ghost", Role.QUALITY)
    defined = service.define_metric(system, near_misses(owner="ghost"), reason="r")
    assert (defined.metric.owner_kind, defined.metric.owner) == ("user", "ghost")


def test_define_needs_metric_manage(system: Context) -> None:
    from andon.accounts.service import actor_for

    user = make_user(system, "olga", Role.OPERATOR)
    with pytest.raises(PermissionDenied):
        service.define_metric(system.as_actor(actor_for(user)), near_misses(), reason="r")


@pytest.mark.parametrize(
    ("yaml_text", "loc"),
    [
        ("source: {kpi: scrap_rate}\n", ("source", "kpi")),
        (
            "thresholds:\n"
            "  - {level: warning, above: 10, decision: look}\n"
            "  - {level: critical, above: 5, decision: stop}\n",
            ("thresholds", 1, "above"),
        ),
        ("baseline: {from: 2026-11-03, to: 2026-11-05}\nperiod: week\n", ("baseline",)),
        ("rules: [WE1, WE9]\n", ("rules", 1)),
    ],
    ids=["unknown-kpi", "thresholds-out-of-order", "baseline-too-short", "unknown-rule"],
)
def test_invalid_definitions_are_refused_with_the_field(yaml_text: str, loc: tuple[Any]) -> None:
    base = (
        "key: m\nname: M\nunit: x\ndirection: lower_is_better\nkind: lagging\n"
        "owner: quality\nchart: xmr\n"
    )
    if "source:" not in yaml_text:
        base += "source: manual\n"
    if "period:" not in yaml_text:
        base += "period: day\n"
    with pytest.raises(InvalidInput) as caught:
        load_definition_yaml(base + yaml_text)
    assert loc in [e.loc for e in caught.value.errors]


def test_export_round_trips_through_import(system: Context) -> None:
    defn = near_misses(
        thresholds=[{"level": "warning", "above": 14, "decision": "walk the floor"}],
        no_data_after="2w",
    )
    service.define_metric(system, defn, reason="new")
    text = service.export_metric(system, "near_misses")
    assert load_definition_yaml(text) == defn
    again = service.define_metric(system, load_definition_yaml(text), reason="re-import")
    assert again.changed is False


# --- manual values, limits, charts --------------------------------------------------------------


def test_bad_csv_row_names_its_line_and_stores_nothing(system: Context) -> None:
    service.define_metric(system, near_misses(), reason="new")
    bad = "period,value\n2026-W40,10\n2026-W41,twelve\n"
    with pytest.raises(InvalidInput) as caught:
        service.import_values(system, "near_misses", bad, zone=ZONE)
    assert caught.value.errors[0].loc == ("value",)
    assert caught.value.errors[0].msg.startswith("line 3:")
    assert count(system, MetricValue) == 0
    assert audit_actions(system) == ["define"]


def test_import_stores_values_with_bounds_and_version(system: Context) -> None:
    service.define_metric(system, near_misses(), reason="new")
    imported = service.import_values(system, "near_misses", CSV, zone=ZONE)
    assert (imported.values, imported.first_period, imported.last_period) == (
        5,
        "2026-W40",
        "2026-W44",
    )
    with system.read() as s:
        first = s.scalars(select(MetricValue).order_by(MetricValue.period)).first()
    assert first is not None
    # Week 40 of 2026 starts on Monday 28 September, midnight in Berlin (UTC+2).
    assert first.period_start_at == datetime(2026, 9, 27, 22, 0, tzinfo=UTC)
    assert (first.value, first.version, first.source) == (10.0, 1, "manual")


def test_kpi_metric_refuses_manual_values(system: Context) -> None:
    service.define_metric(
        system, near_misses(key="wip", source={"kpi": "wip"}, period="day"), reason="r"
    )
    with pytest.raises(InvalidInput) as caught:
        service.import_values(system, "wip", "period,value\n2026-11-23,3\n", zone=ZONE)
    assert caught.value.errors[0].loc == ("source",)


def test_chart_uses_limits_frozen_from_the_baseline(system: Context) -> None:
    service.define_metric(system, near_misses(), reason="new")
    imported = service.import_values(system, "near_misses", CSV, zone=ZONE)
    assert imported.limits_frozen is True
    drawn = service.chart(system, "near_misses")
    # Mean 58/5 = 11.6; moving ranges 2, 1, 2, 1 -> MR-bar 1.5; limits 11.6 ± 2.66 · 1.5.
    assert drawn.center == pytest.approx(11.6)
    assert drawn.ucl == pytest.approx(15.59)
    assert drawn.lcl == pytest.approx(7.61)
    assert [p.value for p in drawn.points] == [10, 12, 11, 13, 12]
    assert all(p.is_noise for p in drawn.points)


def test_frozen_limits_survive_new_values(system: Context) -> None:
    service.define_metric(system, near_misses(), reason="new")
    service.import_values(system, "near_misses", CSV, zone=ZONE)
    later = "period,value\n2026-W45,20\n2026-W46,30\n"
    assert service.import_values(system, "near_misses", later, zone=ZONE).limits_frozen is False
    drawn = service.chart(system, "near_misses")
    assert drawn.center == pytest.approx(11.6)
    assert drawn.ucl == pytest.approx(15.59)
    assert [p.signals for p in drawn.points[-2:]] == [("WE1",), ("WE1",)]
    assert count(system, MetricLimits) == 1


def test_chart_before_enough_points_says_what_is_missing(system: Context) -> None:
    service.define_metric(system, near_misses(), reason="new")
    service.import_values(system, "near_misses", "period,value\n2026-W40,10\n", zone=ZONE)
    with pytest.raises(Conflict, match="5 points"):
        service.chart(system, "near_misses")


def test_rebaseline_recomputes_limits_with_reason_in_audit(system: Context) -> None:
    service.define_metric(system, near_misses(), reason="new")
    service.import_values(system, "near_misses", CSV, zone=ZONE)
    service.import_values(system, "near_misses", "period,value\n2026-W45,20\n", zone=ZONE)
    row = service.rebaseline(
        system, "near_misses", reason="new supplier from W41", baseline=Baseline(points=6)
    )
    assert row.seq == 2
    # 10, 12, 11, 13, 12, 20: mean 78/6 = 13; moving ranges 2, 1, 2, 1, 8 -> MR-bar 2.8.
    drawn = service.chart(system, "near_misses")
    assert drawn.center == pytest.approx(13.0)
    assert drawn.ucl == pytest.approx(13 + 2.66 * 2.8)
    with system.read() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "rebaseline")).one()
    assert entry.reason == "new supplier from W41"


def test_rebaseline_needs_a_reason(system: Context) -> None:
    service.define_metric(system, near_misses(), reason="new")
    service.import_values(system, "near_misses", CSV, zone=ZONE)
    with pytest.raises(InvalidInput) as caught:
        service.rebaseline(system, "near_misses", reason="  ")
    assert caught.value.errors[0].loc == ("reason",)
    assert count(system, MetricLimits) == 1


def test_p_chart_limits_per_point(system: Context) -> None:
    defn = near_misses(key="scrap_share", chart="p", baseline={"points": 2})
    service.define_metric(system, defn, reason="new")
    text = "period,count,n\n2026-W40,10,100\n2026-W41,30,200\n2026-W42,5,50\n"
    service.import_values(system, "scrap_share", text, zone=ZONE)
    drawn = service.chart(system, "scrap_share")
    # p-bar = 40 / 300; each point's limits are p-bar ± 3·sqrt(p-bar(1-p-bar)/n).
    pbar = 40 / 300
    assert drawn.center == pytest.approx(pbar)
    assert drawn.ucl is None
    for point, n in zip(drawn.points, (100, 200, 50), strict=True):
        assert point.ucl == pytest.approx(pbar + 3 * (pbar * (1 - pbar) / n) ** 0.5)
    assert [p.value for p in drawn.points] == pytest.approx([0.1, 0.15, 0.1])


def test_show_lists_versions_values_and_limits(system: Context) -> None:
    service.define_metric(system, near_misses(), reason="new")
    service.import_values(system, "near_misses", CSV, zone=ZONE)
    shown = service.show_metric(system, "near_misses")
    assert shown.definition["key"] == "near_misses"
    assert [v.version for v in shown.versions] == [1]
    assert [v.period for v in shown.latest_values][-1] == "2026-W44"
    assert [lim.seq for lim in shown.limits] == [1]


# --- computing from a source --------------------------------------------------------------------


class EventsPerDay:
    """A fake source: the number of work events per local day, recording what it was asked."""

    def __init__(self) -> None:
        self.asked: list[Collection[Period] | None] = []

    def __call__(
        self,
        session: Session,
        defn: MetricDefinition,
        zone: ZoneInfo,
        periods: Collection[Period] | None,
    ) -> list[PeriodValue]:
        self.asked.append(periods)
        stamps = session.scalars(select(WorkEvent.timestamp))
        counts = Counter(period_containing("day", at, zone) for at in stamps)
        return [
            PeriodValue(p.key, None, float(c))
            for p, c in sorted(counts.items())
            if periods is None or p in periods
        ]


def kpi_metric() -> MetricDefinition:
    return near_misses(key="events", source={"kpi": "throughput"}, period="day")


def test_late_event_recomputes_only_its_period(system: Context) -> None:
    floor = make_floor(system)
    new_item(system, floor, at=datetime(2026, 11, 23, 9, tzinfo=UTC))
    new_item(system, floor, at=datetime(2026, 11, 24, 9, tzinfo=UTC))
    service.define_metric(system, kpi_metric(), reason="new")
    source = EventsPerDay()
    first = service.compute_metric(system, "events", zone=ZONE, source=source)
    assert first.full is True
    assert first.periods == ["2026-11-23", "2026-11-24"]
    with system.read() as s:
        before = {v.period: v.value for v in s.scalars(select(MetricValue))}
        case_id = s.scalar(select(WorkEvent.case_id))
    # A late event for 23 November arrives after the compute.
    with system.write() as tx:
        tx.session.add(
            WorkEvent(
                case_id=case_id,
                process_key="assembly",
                activity="note",
                lifecycle="complete",
                kind="comment",
                timestamp=datetime(2026, 11, 23, 15, tzinfo=UTC),
                resource="late",
                attributes={},
            )
        )
    again = service.compute_metric(system, "events", zone=ZONE, source=source)
    assert again.full is False
    assert again.periods == ["2026-11-23"]
    assert source.asked[-1] == {Period("day", datetime(2026, 11, 23).date())}
    with system.read() as s:
        after = {v.period: v.value for v in s.scalars(select(MetricValue))}
    assert after["2026-11-23"] == before["2026-11-23"] + 1
    assert after["2026-11-24"] == before["2026-11-24"]


def test_compute_with_nothing_new_recomputes_nothing(system: Context) -> None:
    floor = make_floor(system)
    new_item(system, floor, at=datetime(2026, 11, 23, 9, tzinfo=UTC))
    service.define_metric(system, kpi_metric(), reason="new")
    source = EventsPerDay()
    service.compute_metric(system, "events", zone=ZONE, source=source)
    again = service.compute_metric(system, "events", zone=ZONE, source=source)
    assert again.periods == []
    assert len(source.asked) == 1


def test_new_version_makes_the_next_compute_full(system: Context) -> None:
    floor = make_floor(system)
    new_item(system, floor, at=datetime(2026, 11, 23, 9, tzinfo=UTC))
    service.define_metric(system, kpi_metric(), reason="new")
    source = EventsPerDay()
    service.compute_metric(system, "events", zone=ZONE, source=source)
    service.define_metric(system, kpi_metric().model_copy(update={"name": "Events"}), reason="r")
    again = service.compute_metric(system, "events", zone=ZONE, source=source)
    assert again.full is True
    with system.read() as s:
        assert set(s.scalars(select(MetricValue.version))) == {2}


def test_compute_reads_the_plant_events_through_the_real_source(system: Context) -> None:
    floor = make_floor(system)
    new_item(system, floor, at=datetime(2026, 11, 23, 9, tzinfo=UTC))
    new_item(system, floor, at=datetime(2026, 11, 24, 9, tzinfo=UTC))
    defn = near_misses(key="wip", source={"kpi": "wip"}, period="day")
    service.define_metric(system, defn, reason="new")
    done = service.compute_metric(system, "wip", zone=ZONE)
    assert done.periods == ["2026-11-23", "2026-11-24"]
    with system.read() as s:
        values = {v.period: v.value for v in s.scalars(select(MetricValue))}
    # Items open at each day's end: one on the 23rd, both on the 24th.
    assert values == {"2026-11-23": 1.0, "2026-11-24": 2.0}


def test_compute_skips_manual_metrics(system: Context) -> None:
    service.define_metric(system, near_misses(), reason="new")
    done = service.compute_metric(system, "near_misses", zone=ZONE)
    assert done.skipped == "manual values"


def test_dated_baseline_freezes_once_a_later_point_exists(system: Context) -> None:
    defn = near_misses(
        key="daily", period="day", baseline={"from": "2026-11-02", "to": "2026-11-04"}
    )
    service.define_metric(system, defn, reason="new")
    inside = "period,value\n2026-11-02,4\n2026-11-03,6\n2026-11-04,5\n"
    assert service.import_values(system, "daily", inside, zone=ZONE).limits_frozen is False
    later = "period,value\n2026-11-05,30\n"
    assert service.import_values(system, "daily", later, zone=ZONE).limits_frozen is True
    drawn = service.chart(system, "daily")
    # 4, 6, 5: mean 5; moving ranges 2 and 1 -> MR-bar 1.5; UCL 5 + 2.66 · 1.5 = 8.99.
    assert drawn.center == pytest.approx(5.0)
    assert drawn.ucl == pytest.approx(8.99)
    assert drawn.points[-1].signals == ("WE1",)
    with system.read() as s:
        row = s.scalars(select(MetricLimits)).one()
    assert row.baseline == {
        "from": "2026-11-02",
        "to": "2026-11-04",
        "first": "2026-11-02",
        "last": "2026-11-04",
    }


def test_full_recompute_removes_values_the_source_no_longer_yields(system: Context) -> None:
    service.define_metric(system, kpi_metric(), reason="new")
    yields = [PeriodValue("2026-11-23", None, 3.0), PeriodValue("2026-11-24", "L1", 4.0)]

    def source(
        session: Session, defn: MetricDefinition, zone: ZoneInfo, periods: object
    ) -> list[PeriodValue]:
        return list(yields)

    first = service.compute_metric(system, "events", zone=ZONE, source=source)
    assert (first.values, first.lines) == (2, ["", "L1"])
    yields.pop()
    again = service.compute_metric(system, "events", zone=ZONE, full=True, source=source)
    assert (again.values, again.removed) == (1, 1)
    with system.read() as s:
        assert [(v.line, v.period) for v in s.scalars(select(MetricValue))] == [("", "2026-11-23")]


def test_importing_many_periods_again_replaces_them(system: Context) -> None:
    service.define_metric(system, near_misses(key="daily", period="day"), reason="new")
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(700)]
    text = "period,value\n" + "".join(f"{d},{i % 7}\n" for i, d in enumerate(days))
    service.import_values(system, "daily", text, zone=ZONE)
    again = "period,value\n" + "".join(f"{d},{i % 5}\n" for i, d in enumerate(days))
    assert service.import_values(system, "daily", again, zone=ZONE).values == 700
    with system.read() as s:
        stored = {v.period: v.value for v in s.scalars(select(MetricValue))}
    assert len(stored) == 700
    assert stored[str(days[8])] == 3.0


def late_event(system: Context, case_id: int, at: datetime, event_id: int | None = None) -> None:
    with system.write() as tx:
        tx.session.add(
            WorkEvent(
                id=event_id,
                case_id=case_id,
                process_key="assembly",
                activity="note",
                lifecycle="complete",
                kind="comment",
                timestamp=at,
                resource="late",
                attributes={},
            )
        )


def test_an_event_committed_after_a_higher_id_is_still_picked_up(system: Context) -> None:
    floor = make_floor(system)
    item = new_item(system, floor, at=datetime(2026, 11, 23, 9, tzinfo=UTC))
    service.define_metric(system, kpi_metric(), reason="new")
    source = EventsPerDay()
    first = service.compute_metric(system, "events", zone=ZONE, source=source)
    top = first.watermark
    assert top is not None
    # Ids are handed out at insert and seen at commit: id top+2 commits first...
    late_event(system, item.id, datetime(2026, 11, 24, 9, tzinfo=UTC), top + 2)
    second = service.compute_metric(system, "events", zone=ZONE, source=source)
    assert second.periods == ["2026-11-24"]
    assert service.get_metric(system, "events").unseen is not None
    # ...and top+1, from a slower transaction, only after the watermark passed it.
    late_event(system, item.id, datetime(2026, 11, 25, 9, tzinfo=UTC), top + 1)
    third = service.compute_metric(system, "events", zone=ZONE, source=source)
    assert third.periods == ["2026-11-25"]
    assert service.get_metric(system, "events").unseen is None
    with system.read() as s:
        values = {v.period: v.value for v in s.scalars(select(MetricValue))}
    assert values["2026-11-25"] == 1.0
