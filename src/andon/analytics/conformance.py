"""Conformance of an event log to an Andon process definition: moves, start, end, mandatory stages.

The definition is small, so what it allows (stages, ways in, end stages, allowed moves, mandatory
stages) is worked out here in plain Python; the log is large, so everything per case is an Ibis
expression over the normalised table and runs on DuckDB, PostgreSQL or Spark.

Definitions (docs/conformance.md has them with examples):

- An event belongs to a stage when its activity equals the stage's key or its name (the key
  wins if one stage's name is another's key). Other activities are *unknown*: each such event
  is a deviation and is otherwise left out, so the stages around it are checked as neighbours.
- Within a case, events are ordered by timestamp, then source order (interval logs: start,
  completion, source order). Consecutive events of the same stage are one *visit*: a stage
  cannot move to itself, and logs often record a stage twice (start and complete).
- A *move* is a change of stage between consecutive visits; it is allowed when the process has
  that transition (rework loops included).
- The case starts right when its first visit is the start stage or a stage a routing rule opens
  items at. It is *complete* when its last visit is an end stage; otherwise it is incomplete.
- A stage is *mandatory* when every path from a way in to an end stage passes through it (end
  stages excluded: a complete case has reached one by definition). Only complete cases are
  checked for mandatory stages: in an unfinished case the rest of the path is still ahead.
- Checks of a case: one per move, one per unknown event (always failed), the start, the end, and
  (complete cases) one per mandatory stage. Fitness = passed checks / checks, in [0, 1]; it is
  1.0 exactly when the case has no deviation. Overall fitness is the mean over cases.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from andon.analytics.log import ACTIVITY, CASE, ORDER, START, TIMESTAMP, EventLog
from andon.core.errors import InvalidInput

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from andon.processes.spec import ProcessSpec

IncompletePolicy = Literal["deviation", "exclude"]
INCOMPLETE_POLICIES: tuple[IncompletePolicy, ...] = ("deviation", "exclude")

# Deviation kinds; a report lists groups by cases (most first), then kind and edge.
ILLEGAL_MOVE = "illegal_move"
WRONG_START = "wrong_start"
INCOMPLETE = "incomplete"
MISSING_STAGE = "missing_stage"
UNKNOWN_ACTIVITY = "unknown_activity"
DEVIATION_KINDS = (ILLEGAL_MOVE, WRONG_START, INCOMPLETE, MISSING_STAGE, UNKNOWN_ACTIVITY)

DEFAULT_EXAMPLES = 5
_FITNESS_SCALE = 2**60

# Working column names, prefixed so they never collide with a log's attribute columns.
_STAGE = "_stage"
_PREV = "_prev_stage"
_NEXT = "_next_stage"
_SRC = "_edge_source"
_DST = "_edge_target"
_ALLOWED = "_edge_allowed"
_MANDATORY = "_mandatory_stage"


@dataclass(frozen=True)
class ProcessModel:
    """What a process definition allows, in the terms conformance checks."""

    stage_of: dict[str, str]  # activity label (stage key or name) → stage key
    entries: frozenset[str]  # the start stage and every stage a routing rule opens items at
    ends: frozenset[str]
    edges: frozenset[tuple[str, str]]
    mandatory: tuple[str, ...]  # in the order the definition lists the stages


def process_model(spec: ProcessSpec) -> ProcessModel:
    """Labels, ways in, end stages, allowed moves and mandatory stages of ``spec``."""
    stage_of = {stage.name: stage.key for stage in spec.stages}
    stage_of.update({stage.key: stage.key for stage in spec.stages})
    entries = frozenset([spec.start, *(r.stage for r in spec.routing if r.stage)])
    edges = frozenset((t.source, t.target) for t in spec.transitions)
    return ProcessModel(
        stage_of=stage_of,
        entries=entries,
        ends=frozenset(spec.end),
        edges=edges,
        mandatory=mandatory_stages(spec),
    )


def mandatory_stages(spec: ProcessSpec) -> tuple[str, ...]:
    """Non-end stages on every path from a way in (start or routed stage) to an end stage.

    A stage is mandatory when, with it removed, no end stage can be reached from the ways in
    that remain; a way in that is itself removed is no way in.
    """
    entries = [spec.start, *(r.stage for r in spec.routing if r.stage)]
    ends = set(spec.end)
    following: dict[str, list[str]] = {}
    for t in spec.transitions:
        following.setdefault(t.source, []).append(t.target)

    def reaches_end(without: str) -> bool:
        seen = {e for e in entries if e != without}
        queue = deque(seen)
        while queue:
            stage = queue.popleft()
            if stage in ends:
                return True
            for nxt in following.get(stage, []):
                if nxt != without and nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return False

    return tuple(s.key for s in spec.stages if s.key not in ends and not reaches_end(s.key))


def order_columns(log: EventLog) -> tuple[ir.Table, list[str]]:
    """The log's table and the columns that order events within a case, first key first.

    Timestamp, then source order; interval logs by start first, an event without a start
    ordering by its completion time (an extra column ``_order_start`` carries that key).
    """
    import ibis

    t = log.table
    if log.interval:
        t = t.mutate(_order_start=ibis.coalesce(t[START], t[TIMESTAMP]))
        return t, ["_order_start", TIMESTAMP, ORDER]
    return t, [TIMESTAMP, ORDER]


def _stage_column(activity: ir.StringValue, model: ProcessModel) -> ir.StringValue:
    import ibis

    branches = [(ibis.literal(label), ibis.literal(key)) for label, key in model.stage_of.items()]
    return activity.cases(*branches, else_=ibis.null("string"))


def _check_policy(incomplete: str) -> None:
    if incomplete not in INCOMPLETE_POLICIES:
        raise InvalidInput.for_field(
            "incomplete", f"choose one of {', '.join(INCOMPLETE_POLICIES)}, not {incomplete!r}"
        )


@dataclass(frozen=True)
class _Frames:
    """The per-case table and one row per (case, deviation), as expressions."""

    cases: ir.Table
    deviations: ir.Table


def _frames(log: EventLog, spec: ProcessSpec, incomplete: IncompletePolicy) -> _Frames:
    import ibis

    _check_policy(incomplete)
    model = process_model(spec)
    t, keys = order_columns(log)
    events = t.mutate(**{_STAGE: _stage_column(t[ACTIVITY], model)})
    unknown = events.filter(events[_STAGE].isnull())
    known = events.filter(events[_STAGE].notnull())
    by_case = ibis.window(group_by=known[CASE], order_by=[known[k] for k in keys])
    known = known.mutate(**{_PREV: known[_STAGE].lag().over(by_case)})
    # A repeat of the same stage is the same visit, not a move; no self-loops exist in a spec.
    known = known.filter(known[_PREV].isnull() | (known[_PREV] != known[_STAGE]))
    by_visit = ibis.window(group_by=known[CASE], order_by=[known[k] for k in keys])
    known = known.mutate(**{_NEXT: known[_STAGE].lead().over(by_visit)})

    edges = ibis.memtable(
        {
            _SRC: [s for s, _ in sorted(model.edges)],
            _DST: [d for _, d in sorted(model.edges)],
            _ALLOWED: [True] * len(model.edges),
        },
        schema={_SRC: "string", _DST: "string", _ALLOWED: "boolean"},
    )
    visits = known.left_join(
        edges, [known[_PREV] == edges[_SRC], known[_STAGE] == edges[_DST]]
    ).select(CASE, _STAGE, _PREV, _NEXT, _ALLOWED)
    is_move = visits[_PREV].notnull()
    # Booleans are counted with ifelse(1, 0): PostgreSQL refuses to cast boolean to bigint.
    per_case_known = visits.group_by(CASE).aggregate(
        first_stage=visits[_STAGE].max(where=visits[_PREV].isnull()),
        last_stage=visits[_STAGE].max(where=visits[_NEXT].isnull()),
        moves=is_move.ifelse(1, 0).sum(),
        allowed_moves=(is_move & visits[_ALLOWED].notnull()).ifelse(1, 0).sum(),
    )
    per_case_unknown = unknown.group_by(CASE).aggregate(unknown_events=unknown.count())
    mandatory_list = list(model.mandatory)
    mandatory_seen = (
        visits.filter(visits[_STAGE].isin(mandatory_list))
        .group_by(CASE)
        .aggregate(mandatory_visited=visits[_STAGE].nunique())
        if mandatory_list
        else None
    )

    cases = t.select(CASE).distinct()
    cases = cases.left_join(per_case_known, CASE).select(
        CASE, "first_stage", "last_stage", "moves", "allowed_moves"
    )
    cases = cases.left_join(per_case_unknown, CASE).select(*cases.columns, "unknown_events")
    if mandatory_seen is not None:
        cases = cases.left_join(mandatory_seen, CASE).select(*cases.columns, "mandatory_visited")
    else:
        cases = cases.mutate(mandatory_visited=ibis.literal(0, "int64"))
    ends = sorted(model.ends)
    cases = cases.mutate(
        moves=cases.moves.fill_null(0),
        allowed_moves=cases.allowed_moves.fill_null(0),
        unknown_events=cases.unknown_events.fill_null(0),
        mandatory_visited=cases.mandatory_visited.fill_null(0),
        start_ok=cases.first_stage.isin(sorted(model.entries)).fill_null(False),
        complete=cases.last_stage.isin(ends).fill_null(False),
    )
    if incomplete == "exclude":
        cases = cases.filter(cases.complete)
    n_mandatory = ibis.literal(len(mandatory_list), "int64")
    mandatory_checks = cases.complete.ifelse(n_mandatory, 0)
    mandatory_passed = cases.complete.ifelse(cases.mandatory_visited, 0)
    checks = cases.moves + cases.unknown_events + 2 + mandatory_checks
    passed = (
        cases.allowed_moves
        + cases.start_ok.ifelse(1, 0)
        + cases.complete.ifelse(1, 0)
        + mandatory_passed
    )
    cases = cases.mutate(
        missing_stages=mandatory_checks - mandatory_passed,
        checks=checks,
        fitness=passed.cast("float64") / checks.cast("float64"),
        conforming=passed == checks,
    ).select(
        CASE,
        "first_stage",
        "last_stage",
        "start_ok",
        "complete",
        "moves",
        "allowed_moves",
        "unknown_events",
        "missing_stages",
        "checks",
        "fitness",
        "conforming",
    )

    null = ibis.null("string")
    parts = [
        visits.filter(visits[_PREV].notnull() & visits[_ALLOWED].isnull()).select(
            CASE, kind=ibis.literal(ILLEGAL_MOVE), source=visits[_PREV], target=visits[_STAGE]
        ),
        cases.filter(~cases.start_ok).select(
            CASE, kind=ibis.literal(WRONG_START), source=null, target=cases.first_stage
        ),
        cases.filter(~cases.complete).select(
            CASE, kind=ibis.literal(INCOMPLETE), source=cases.last_stage, target=null
        ),
        unknown.select(
            CASE, kind=ibis.literal(UNKNOWN_ACTIVITY), source=null, target=unknown[ACTIVITY]
        ),
    ]
    if mandatory_list:
        required = ibis.memtable({_MANDATORY: mandatory_list}, schema={_MANDATORY: "string"})
        seen = visits.select(CASE, _STAGE).distinct()
        owed = cases.filter(cases.complete).select(CASE).cross_join(required)
        missing = owed.anti_join(
            seen, [owed[CASE] == seen[CASE], owed[_MANDATORY] == seen[_STAGE]]
        ).select(CASE, kind=ibis.literal(MISSING_STAGE), source=null, target=owed[_MANDATORY])
        parts.append(missing)
    deviations = ibis.union(*parts, distinct=False)
    if incomplete == "exclude":
        deviations = deviations.semi_join(cases.select(CASE), CASE)
    return _Frames(cases=cases, deviations=deviations)


def case_conformance(
    log: EventLog, spec: ProcessSpec, *, incomplete: IncompletePolicy = "deviation"
) -> ir.Table:
    """One row per case: first/last stage, checks, fitness and whether it conforms.

    Columns: case_id, first_stage, last_stage (stage keys; null when no event is a stage),
    start_ok, complete, moves, allowed_moves, unknown_events, missing_stages, checks, fitness,
    conforming. ``incomplete="exclude"`` leaves out cases that did not reach an end stage.
    """
    return _frames(log, spec, incomplete).cases


def check_conformance(
    log: EventLog,
    spec: ProcessSpec,
    *,
    incomplete: IncompletePolicy = "deviation",
    examples: int = DEFAULT_EXAMPLES,
) -> dict[str, Any]:
    """Conformance of ``log`` to ``spec`` as the ``andon conformance --json`` document.

    ``{"cases", "conforming_cases", "incomplete_cases", "fitness", "deviations": [{"kind",
    "source", "target", "cases", "examples"}]}``. Deviations are grouped by kind and edge
    (``source``/``target`` are stage keys, or the raw activity for ``unknown_activity``), most
    cases first; ``examples`` are up to ``examples`` case ids in ascending order. With no case
    to judge (an empty table, or every case excluded as incomplete) ``fitness`` is None.
    ``incomplete="deviation"`` (default) counts a case that did not reach an end stage as a
    deviation; ``"exclude"`` leaves such cases out (``incomplete_cases`` says how many).
    """
    import ibis

    if examples < 0:
        raise InvalidInput.for_field("examples", "must not be negative")
    _check_policy(incomplete)
    frames = _frames(log, spec, "deviation")
    cases = frames.cases
    totals = cases.aggregate(
        cases=cases.count(),
        incomplete_cases=cases.complete.ifelse(0, 1).sum(),
    ).execute()
    incomplete_cases = int(totals["incomplete_cases"].fillna(0).iloc[0])
    if incomplete == "exclude":
        frames = _frames(log, spec, "exclude")
        cases = frames.cases
    # Fitness (in [0, 1]) in whole units of 2**-60 loses nothing a float of 0.01 or more
    # holds; summed as integers, the mean is the same however the engine splits the cases.
    scaled = (cases.fitness * _FITNESS_SCALE).round().cast("int64").cast("decimal(38, 0)")
    summary = cases.aggregate(
        cases=cases.count(),
        conforming_cases=cases.conforming.ifelse(1, 0).sum(),
        fitness_scaled=scaled.sum(),
    ).execute()
    n_cases = int(summary["cases"].iloc[0])
    conforming = summary["conforming_cases"].iloc[0]
    fitness = None
    if n_cases:
        fitness = float(Fraction(int(summary["fitness_scaled"].iloc[0]), n_cases * _FITNESS_SCALE))

    dev = frames.deviations
    groups = (
        dev.group_by(["kind", "source", "target"])
        .aggregate(cases=dev[CASE].nunique())
        .order_by([ibis.desc("cases"), "kind", "source", "target"])
        .execute()
    )
    samples: dict[tuple[str, str | None, str | None], list[str]] = {}
    if examples and len(groups):
        distinct = dev.select(CASE, "kind", "source", "target").distinct()
        rank = ibis.row_number().over(
            group_by=[distinct.kind, distinct.source, distinct.target], order_by=distinct[CASE]
        )
        picked = (
            distinct.mutate(_rank=rank)
            .filter(ibis._["_rank"] < examples)
            .order_by(["kind", "source", "target", CASE])
            .execute()
        )
        for row in picked.itertuples(index=False):
            key = (row.kind, _text(row.source), _text(row.target))
            samples.setdefault(key, []).append(str(getattr(row, CASE)))
    deviations = []
    for row in groups.itertuples(index=False):
        key = (str(row.kind), _text(row.source), _text(row.target))
        deviations.append(
            {
                "kind": key[0],
                "source": key[1],
                "target": key[2],
                "cases": int(row.cases),
                "examples": samples.get(key, []),
            }
        )
    return {
        "cases": n_cases,
        "conforming_cases": int(conforming) if n_cases else 0,
        "incomplete_cases": incomplete_cases,
        "fitness": fitness,
        "deviations": deviations,
    }


def _text(value: object) -> str | None:
    """A grouping key from a result frame: SQL null arrives as None or NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)
