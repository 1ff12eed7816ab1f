"""Case filters applied before any discovery or KPI: time range, attributes, variants, ends.

Every filter keeps or drops whole cases of a :class:`CaseOrderedLog`, so the ordering and
successor columns stay valid and the log is not sorted again. :func:`apply_filters` runs
them in a fixed order (time range, attributes, start and end activities, variants, then
top-k variants), each on what the previous ones kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from andon.analytics.ordering import (
    CASE_KEY,
    END_ACTIVITY,
    FIRST_US,
    LAST_US,
    START_ACTIVITY,
    VARIANT,
    CaseOrderedLog,
    restrict_to_cases,
)
from andon.core.errors import InvalidInput

if TYPE_CHECKING:
    import ibis.expr.types as ir

TimeMode = Literal["contained", "intersecting"]


@dataclass(frozen=True)
class CaseFilters:
    """What to keep; empty fields keep everything.

    - ``time_from``/``time_to`` (aware datetimes, either may be None): ``contained`` keeps
      cases that start and end within the range, ``intersecting`` cases that have any
      time in it; both ends are included.
    - ``attributes``: column → values; a case is kept when one of its events has one of
      the values (as text) in that column, for every column given.
    - ``start_activities``/``end_activities``: the case's first/last activity is one of them.
    - ``variants``/``exclude_variants``: whole activity sequences to keep/drop.
    - ``top_variants``: keep the cases of the k most frequent variants (ties by sequence).
    """

    time_from: datetime | None = None
    time_to: datetime | None = None
    time_mode: TimeMode = "intersecting"
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    start_activities: tuple[str, ...] = ()
    end_activities: tuple[str, ...] = ()
    variants: tuple[tuple[str, ...], ...] = ()
    exclude_variants: tuple[tuple[str, ...], ...] = ()
    top_variants: int | None = None

    def is_empty(self) -> bool:
        return self == CaseFilters()

    def attribute_columns(self) -> tuple[str, ...]:
        """Columns ``order_events`` must carry for these filters."""
        return tuple(self.attributes)


def apply_filters(ordered: CaseOrderedLog, filters: CaseFilters) -> CaseOrderedLog:
    """The log restricted to the cases every given filter keeps (see :class:`CaseFilters`)."""
    if filters.time_from is not None or filters.time_to is not None:
        ordered = filter_time_range(
            ordered, filters.time_from, filters.time_to, mode=filters.time_mode
        )
    for column, values in filters.attributes.items():
        ordered = filter_attribute(ordered, column, values)
    if filters.start_activities:
        ordered = filter_start_activities(ordered, filters.start_activities)
    if filters.end_activities:
        ordered = filter_end_activities(ordered, filters.end_activities)
    if filters.variants:
        ordered = filter_variants(ordered, filters.variants)
    if filters.exclude_variants:
        ordered = filter_variants(ordered, filters.exclude_variants, exclude=True)
    if filters.top_variants is not None:
        ordered = filter_top_variants(ordered, filters.top_variants)
    return ordered


def filter_time_range(
    ordered: CaseOrderedLog,
    time_from: datetime | None,
    time_to: datetime | None,
    *,
    mode: TimeMode = "intersecting",
) -> CaseOrderedLog:
    """Cases inside (``contained``) or touching (``intersecting``) ``[time_from, time_to]``.

    A case spans its first event (first start, for interval logs) to its last completion.
    Naive datetimes are refused: the range must say its time zone.
    """
    if time_from is None and time_to is None:
        return ordered
    lower = _microseconds(time_from, "time_from") if time_from is not None else None
    upper = _microseconds(time_to, "time_to") if time_to is not None else None
    if lower is not None and upper is not None and lower > upper:
        raise InvalidInput.for_field("time_from", "the range ends before it starts")
    cases = ordered.cases
    conditions: list[ir.BooleanValue] = []
    if mode == "contained":
        if lower is not None:
            conditions.append(cases[FIRST_US] >= lower)
        if upper is not None:
            conditions.append(cases[LAST_US] <= upper)
    elif mode == "intersecting":
        if lower is not None:
            conditions.append(cases[LAST_US] >= lower)
        if upper is not None:
            conditions.append(cases[FIRST_US] <= upper)
    else:
        raise InvalidInput.for_field("time_mode", "choose contained or intersecting")
    return restrict_to_cases(ordered, cases.filter(conditions))


def filter_attribute(
    ordered: CaseOrderedLog, column: str, values: tuple[str, ...]
) -> CaseOrderedLog:
    """Cases with at least one event whose ``column`` (compared as text) is in ``values``.

    The column must have been carried by ``order_events(attributes=...)``.
    """
    events = ordered.events
    if column not in events.columns:
        raise InvalidInput.for_field("attribute", f"the log has no column {column!r}")
    if not values:
        raise InvalidInput.for_field("attribute", f"no values given for {column!r}")
    matching = events.filter(events[column].cast("string").isin(list(values)))
    return restrict_to_cases(ordered, matching.select(CASE_KEY).distinct())


def filter_start_activities(ordered: CaseOrderedLog, activities: tuple[str, ...]) -> CaseOrderedLog:
    """Cases whose first activity is one of ``activities``."""
    cases = ordered.cases
    return restrict_to_cases(ordered, cases.filter(cases[START_ACTIVITY].isin(list(activities))))


def filter_end_activities(ordered: CaseOrderedLog, activities: tuple[str, ...]) -> CaseOrderedLog:
    """Cases whose last activity is one of ``activities``."""
    cases = ordered.cases
    return restrict_to_cases(ordered, cases.filter(cases[END_ACTIVITY].isin(list(activities))))


def filter_variants(
    ordered: CaseOrderedLog, variants: tuple[tuple[str, ...], ...], *, exclude: bool = False
) -> CaseOrderedLog:
    """Cases whose activity sequence is one of ``variants`` (or, with ``exclude``, is not)."""
    import ibis

    if not variants:
        return ordered
    cases = ordered.cases
    matches = [cases[VARIANT] == ibis.literal(list(v), type="array<string>") for v in variants]
    condition = ibis.or_(*matches)
    return restrict_to_cases(ordered, cases.filter(~condition if exclude else condition))


def filter_top_variants(ordered: CaseOrderedLog, k: int) -> CaseOrderedLog:
    """Cases of the ``k`` most frequent variants; ties at the cut go by activity sequence."""
    if k < 1:
        raise InvalidInput.for_field("top_variants", "must be at least 1")
    from andon.analytics.discovery import discover_variants

    kept = discover_variants(ordered, limit=k)
    return filter_variants(ordered, tuple(v.activities for v in kept))


def _microseconds(moment: datetime, name: str) -> int:
    if moment.tzinfo is None:
        raise InvalidInput.for_field(name, "give a time zone (e.g. 2024-01-01T00:00:00Z)")
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
