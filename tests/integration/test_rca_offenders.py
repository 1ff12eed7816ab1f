"""The repeat-offender report on a small plant with a day shift (06:00-14:00, Mon-Fri, in
Chicago): counts, items, business hours, line-stop minutes, weekly trend and root causes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from andon.core.uow import Context
from andon.improvement import rca
from andon.improvement.offenders import OffenderReport, offenders
from andon.improvement.rca_schemas import CauseCreate, CauseVerify, RcaCreate
from andon.work import exceptions
from andon.work.models import LineStop
from andon.work.schemas import ExceptionRaise, ExceptionResolve
from tests.factories import make_floor, new_item

CHICAGO = ZoneInfo("America/Chicago")
SINCE, UNTIL = date(2026, 11, 23), date(2026, 12, 6)  # two weeks from a Monday


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant on a November/December 2026 day (day > 30 is in December), Chicago time."""
    month, day = (11, day) if day <= 30 else (12, day - 30)
    return datetime(2026, month, day, hour, minute, tzinfo=CHICAGO).astimezone(UTC)


def _raise(system: Context, at: datetime, category: str, **target: int) -> int:
    raised = exceptions.raise_exception(
        system, ExceptionRaise(category=category, description="seen", **target), at=at
    )
    return raised.id


def _resolve(system: Context, exception_id: int, at: datetime) -> None:
    exceptions.resolve_exception(
        system, exception_id, ExceptionResolve(version=1, resolution="fixed"), at=at
    )


def _stop(
    system: Context, line_id: int, exception_id: int, start: datetime, end: datetime | None
) -> None:
    with system.write() as tx:
        tx.session.add(
            LineStop(
                line_id=line_id,
                stopped_at=start,
                stopped_by="system",
                reason="exception",
                exception_id=exception_id,
                restarted_at=end,
            )
        )


@pytest.fixture
def plant(system: Context) -> tuple[int, int]:
    floor = make_floor(system)
    line = floor.line.id
    a = new_item(system, floor, at=local(23, 6), product="PH-100")
    b = new_item(system, floor, at=local(23, 6), product="PH-200")
    # Quality on item A, twice, overlapping: 07:00-09:00 and 08:00-10:00 → 3 h once merged.
    e1 = _raise(system, local(23, 7), "quality", item_id=a.id)
    e2 = _raise(system, local(23, 8), "quality", item_id=a.id)
    _resolve(system, e1, local(23, 9))
    _resolve(system, e2, local(23, 10))
    # Quality on item B from Tuesday 13:00 to Wednesday 07:00: 1 h + 1 h of shift.
    e3 = _raise(system, local(24, 13), "quality", item_id=b.id)
    _resolve(system, e3, local(25, 7))
    _stop(system, line, e3, local(24, 13), local(24, 13, 30))
    # Material on the line in week 2, still open at 09:00: 2 h, and a 2 h line stop.
    e4 = _raise(system, local(30, 7), "material", line_id=line)
    _stop(system, line, e4, local(30, 7), None)
    # Before the period: not counted.
    _raise(system, local(20, 7), "quality", item_id=b.id)
    return line, e1


def _report(system: Context, **options: object) -> OffenderReport:
    return offenders(
        system,
        since=SINCE,
        until=UNTIL,
        zone=CHICAGO,
        at=local(30, 9),
        **options,  # type: ignore[arg-type]
    )


def test_categories_are_ranked_with_their_impact(system: Context, plant: tuple[int, int]) -> None:
    report = _report(system)

    quality, material = report.rows
    assert (quality.category, quality.count, quality.items) == ("quality", 3, 2)
    assert quality.business_hours == pytest.approx(5.0)
    assert quality.stop_minutes == pytest.approx(30.0)
    assert quality.weekly == (3, 0)
    assert quality.products == (("PH-100", 2), ("PH-200", 1))
    assert quality.lines == (("CHI/ASM/L1", 3),)
    assert (material.count, material.items, material.weekly) == (1, 0, (0, 1))
    assert material.business_hours == pytest.approx(2.0)
    assert material.stop_minutes == pytest.approx(120.0)
    assert [r.category for r in _report(system, sort="stop_minutes").rows] == [
        "material",
        "quality",
    ]


def test_a_product_filter_keeps_only_its_items_exceptions(
    system: Context, plant: tuple[int, int]
) -> None:
    (quality,) = _report(system, product="PH-200").rows

    assert (quality.count, quality.items, quality.business_hours) == (1, 1, pytest.approx(2.0))
    assert quality.stop_minutes == pytest.approx(30.0)


def test_verified_root_causes_of_linked_rcas_are_ranked_within_the_category(
    system: Context, plant: tuple[int, int]
) -> None:
    from tests.factories import make_user

    make_user(system, "quinn")
    opened = rca.open_rca(
        system,
        RcaCreate.model_validate(
            {
                "title": "Leaks",
                "what": "Housings leak",
                "started_at": local(23, 0),
                "owner_user": "quinn",
                "links": [{"kind": "exception", "ref": str(plant[1])}],
            }
        ),
    )
    cause = rca.add_cause(system, opened.id, CauseCreate(text="No press calibration"))
    rca.verify_cause(system, opened.id, cause.id, CauseVerify(evidence="log"))
    rca.set_root(system, opened.id, cause.id)
    rca.add_cause(system, opened.id, CauseCreate(text="Unverified guess"))

    quality = next(r for r in _report(system).rows if r.category == "quality")

    assert quality.causes == (("No press calibration", 1),)
