"""Case filters applied before any discovery or KPI: time range, attributes, variants, ends.

Every filter keeps or drops whole cases of a :class:`CaseOrderedLog`, so the ordering and
successor columns stay valid and the log is not sorted again. :func:`apply_filters` runs
them in a fixed order (time range, attributes, start and end activities, variants, then
top-k variants), each on what the previous ones kept. :func:`parse_case_filters` is the one
reading of the filters as a person types them, for the CLI flags, the API's query and the pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
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
from andon.core.errors import FieldError, InvalidInput

if TYPE_CHECKING:
    import ibis.expr.types as ir

TimeMode = Literal["contained", "intersecting"]
TIME_MODES: tuple[TimeMode, ...] = ("intersecting", "contained")


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
    cases = ordered.cases
    conditions = time_conditions(cases, time_from, time_to, mode=mode)
    return restrict_to_cases(ordered, cases.filter(conditions))


def time_conditions(
    cases: ir.Table,
    time_from: datetime | None,
    time_to: datetime | None,
    *,
    mode: TimeMode = "intersecting",
) -> list[ir.BooleanValue]:
    """The conditions on a cases table (with :data:`FIRST_US` and :data:`LAST_US`) that keep
    the cases :func:`filter_time_range` keeps; a refused range raises InvalidInput."""
    lower = _microseconds(time_from, "time_from") if time_from is not None else None
    upper = _microseconds(time_to, "time_to") if time_to is not None else None
    if lower is not None and upper is not None and lower > upper:
        raise _refused("time_from", "the range ends before it starts")
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
        raise _refused("time_mode", "choose contained or intersecting")
    return conditions


def filter_attribute(
    ordered: CaseOrderedLog, column: str, values: tuple[str, ...]
) -> CaseOrderedLog:
    """Cases with at least one event whose ``column`` (compared as text) is in ``values``.

    The column must have been carried by ``order_events(attributes=...)``.
    """
    events = ordered.events
    check_attribute(column, values, events.columns)
    matching = events.filter(events[column].cast("string").isin(list(values)))
    return restrict_to_cases(ordered, matching.select(CASE_KEY).distinct())


def check_attribute(column: str, values: tuple[str, ...], columns: Iterable[str]) -> None:
    """Refuse an attribute filter on a column not among ``columns``, or with no values."""
    if column not in columns:
        raise _refused("attribute", f"the log has no column {column!r}")
    if not values:
        raise _refused("attribute", f"no values given for {column!r}")


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
    matches = [cases[VARIANT] == sequence_literal(v, ordered.engine) for v in variants]
    condition = ibis.or_(*matches)
    return restrict_to_cases(ordered, cases.filter(~condition if exclude else condition))


# PostgreSQL's longest varchar: a cast to it cuts nothing.
_PG_LONGEST_VARCHAR = 10_485_760


def sequence_literal(activities: tuple[str, ...], engine: str) -> ir.ArrayValue:
    """An activity sequence as a literal that compares with a variant column on ``engine``.

    PostgreSQL types ``ARRAY['a', 'b']`` as ``text[]`` and has no ``=`` between that and
    the ``varchar[]`` of a stored variant: there the literal is cast to varchar.
    """
    import ibis
    import ibis.expr.datatypes as dt

    literal = ibis.literal(list(activities), type="array<string>")
    if engine == "postgres":
        return literal.cast(dt.Array(dt.String(length=_PG_LONGEST_VARCHAR)))
    return literal


def filter_top_variants(ordered: CaseOrderedLog, k: int) -> CaseOrderedLog:
    """Cases of the ``k`` most frequent variants; ties at the cut go by activity sequence."""
    check_top_variants(k)
    from andon.analytics.discovery import discover_variants

    kept = discover_variants(ordered, limit=k)
    return filter_variants(ordered, tuple(v.activities for v in kept))


def check_top_variants(k: int) -> None:
    """Refuse a top-k variants filter keeping fewer than one variant."""
    if k < 1:
        raise _refused("top_variants", "must be at least 1")


def _microseconds(moment: datetime, name: str) -> int:
    if moment.tzinfo is None:
        raise _refused(name, "give a time zone (e.g. 2024-01-01T00:00:00Z)")
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_case_filters(
    *,
    time_from: str | None = None,
    time_to: str | None = None,
    time_mode: str = "intersecting",
    attribute: Iterable[str] = (),
    start_activity: Iterable[str] = (),
    end_activity: Iterable[str] = (),
    variant: Iterable[str] = (),
    exclude_variant: Iterable[str] = (),
    top_variants: int | None = None,
    zone: tzinfo | Callable[[], tzinfo] = UTC,
) -> CaseFilters:
    """The filters as typed: the CLI's flags and the API's query parameters, which share
    these names (``--from``/``--to`` are ``time_from``/``time_to``).

    - Times are ISO 8601 (``2024-01-01``, ``2024-01-01T08:00``, ``...T08:00:00Z``,
      ``...T08:00:00+02:00``); one without an offset is a wall-clock time in ``zone``, the
      site's zone (``ANDON_TIMEZONE``), and a date alone is its midnight there. They come
      back in UTC, so the same instant typed two ways gives equal filters. ``zone`` may be a
      function, called only when a time has no offset (the CLI's settings cost a start-up).
    - ``attribute`` values are ``COLUMN=VALUE`` (a column repeated means any of its values;
      the value may itself hold ``=``); ``variant``/``exclude_variant`` are ``A,B,C``.
    - Blank activities and sequences are left out, as an empty form field would be.

    InvalidInput names the field at fault by the names above, with no location prefix.
    """
    moment_from = _instant(time_from, "time_from", zone)
    moment_to = _instant(time_to, "time_to", zone)
    if moment_from is not None and moment_to is not None and moment_from > moment_to:
        raise _refused("time_from", "the range ends before it starts")
    if time_mode not in TIME_MODES:
        raise _refused("time_mode", "choose intersecting or contained")
    if top_variants is not None and top_variants < 1:
        raise _refused("top_variants", "must be at least 1")
    by_column: dict[str, tuple[str, ...]] = {}
    for pair in attribute:
        column, sep, value = pair.partition("=")
        column = column.strip()
        if not sep or not column:
            raise _refused("attribute", f"expected COL=VALUE, got {pair!r}")
        by_column[column] = (*by_column.get(column, ()), value)
    return CaseFilters(
        time_from=moment_from,
        time_to=moment_to,
        time_mode="contained" if time_mode == "contained" else "intersecting",
        attributes=dict(sorted(by_column.items())),
        start_activities=_activities(start_activity),
        end_activities=_activities(end_activity),
        variants=_sequences(variant),
        exclude_variants=_sequences(exclude_variant),
        top_variants=top_variants,
    )


def parse_instant(text: str, name: str, zone: tzinfo | Callable[[], tzinfo] = UTC) -> datetime:
    """``text`` as a UTC instant: ISO 8601, a wall-clock time in ``zone`` when it has no
    offset (a date alone: its midnight). InvalidInput on ``name`` if it is no such time."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _refused(
            name, f"{text!r} is not a time; give ISO 8601, e.g. 2024-01-01T08:00 or ...T08:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone if isinstance(zone, tzinfo) else zone())
    return moment.astimezone(UTC)


def _instant(text: str | None, name: str, zone: tzinfo | Callable[[], tzinfo]) -> datetime | None:
    if text is None or not text.strip():
        return None
    return parse_instant(text, name, zone)


def _activities(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(value for value in values if value)


def _sequences(specs: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(part.strip() for part in spec.split(",")) for spec in specs if spec)


def _refused(name: str, msg: str) -> InvalidInput:
    """A filter's refusal located by its name alone: each adapter says where it came from."""
    return InvalidInput(f"{name}: {msg}", [FieldError((name,), msg)])
