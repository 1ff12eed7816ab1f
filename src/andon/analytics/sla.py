"""SLA attainment of an event log against a process definition's stage and end-to-end targets.

Two bases. ``elapsed`` (any log): wall-clock time, measured from the events. ``business``
(Andon's own events read with ``events="all"``): Andon's verdicts in business time — shifts,
holidays and pauses excluded, as the item clocks count — taken from the breach records Andon
keeps (``stage_breached`` events of the sweep, the item's end-to-end breach flag).

Definitions (docs/conformance.md has them with examples). Events map to stages and collapse
into visits exactly as in conformance. On the elapsed basis a visit lasts from its first event
to the first event of the next visit (each event marks the case reaching its stage, as Andon's
own log does); in an interval log, from the start of its first event to the completion of its
last. A visit without an end (the last of a non-interval case) is not measured. A case is
measured end to end when it is complete (its last visit is an end stage): from its first event
(its start, in an interval log) to reaching the end stage. "Within target" is ≤ the target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from andon.analytics.conformance import order_columns, process_model
from andon.analytics.log import ACTIVITY, CASE, ORDER, START, TIMESTAMP, EventLog
from andon.analytics.ordering import backend_name
from andon.core.errors import InvalidInput

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from andon.processes.spec import ProcessSpec

Basis = Literal["elapsed", "business"]
STAGE_ENTRY_KINDS = ("created", "moved")
STAGE_BREACH_KIND = "stage_breached"
_BUSINESS_COLUMNS = ("kind", "item_status", "item_breached")


def sla_attainment(log: EventLog, spec: ProcessSpec, *, basis: Basis = "elapsed") -> dict[str, Any]:
    """Share of stage visits and of cases within the SLA targets of ``spec``.

    ``{"basis", "stages": [{"stage", "name", "target_seconds", "visits", "within",
    "attainment"}], "stage_visits": {"visits", "within", "attainment"}, "process":
    {"target_seconds", "cases", "within", "attainment"} | None}``. Only stages with an SLA are
    listed; ``process`` is None when the definition has no end-to-end SLA. ``attainment`` is
    ``within / visits`` (or cases), None when nothing was measured. ``basis="business"`` needs a
    log of Andon's own events read with ``events="all"``.
    """
    if basis not in ("elapsed", "business"):
        raise InvalidInput.for_field("basis", f"choose elapsed or business, not {basis!r}")
    if basis == "business":
        missing = [c for c in _BUSINESS_COLUMNS if c not in log.table.columns]
        if missing:
            raise InvalidInput.for_field(
                "basis",
                "business time needs Andon's own events (read with events='all'); "
                f"the log has no {', '.join(missing)} column",
            )
    targets = {s.key: s.sla for s in spec.stages if s.sla is not None}
    visits = stage_visits(log, spec, basis)
    stage_rows: list[dict[str, Any]] = []
    if targets:
        measured = visits.filter(visits.stage.isin(sorted(targets)) & visits.measured)
        counts = (
            measured.group_by("stage")
            .aggregate(visits=measured.count(), within=measured.within.ifelse(1, 0).sum())
            .execute()
        )
        found = {
            str(row.stage): (int(row.visits), int(row.within))
            for row in counts.itertuples(index=False)
        }
        for stage in spec.stages:
            if stage.sla is None:
                continue
            n, ok = found.get(stage.key, (0, 0))
            stage_rows.append(
                {
                    "stage": stage.key,
                    "name": stage.name,
                    "target_seconds": stage.sla,
                    "visits": n,
                    "within": ok,
                    "attainment": ok / n if n else None,
                }
            )
    all_visits = sum(r["visits"] for r in stage_rows)
    all_within = sum(r["within"] for r in stage_rows)
    return {
        "basis": basis,
        "stages": stage_rows,
        "stage_visits": {
            "visits": all_visits,
            "within": all_within,
            "attainment": all_within / all_visits if all_visits else None,
        },
        "process": _process_attainment(log, spec, visits, basis),
    }


def stage_visits(log: EventLog, spec: ProcessSpec, basis: Basis = "elapsed") -> ir.Table:
    """One row per visit of a stage of ``spec``, with the verdicts :func:`sla_attainment` counts.

    Columns: ``case_id``, ``visit_no`` (1 for the case's first visit), ``stage`` (the key),
    ``entered_at``, ``next_entered_at`` (null for the case's last visit), ``left_at`` (when the
    visit was over, as the module docstring defines), ``target_seconds`` (null for a stage
    without SLA), ``measured`` and ``within`` (a measured visit kept its target). Events of
    activities that are no stage of ``spec`` are ignored.
    """
    import ibis

    model = process_model(spec)
    t, keys = order_columns(log)
    if basis == "business":
        t = t.filter(t.kind.isin(STAGE_ENTRY_KINDS))
    labels = [(ibis.literal(label), ibis.literal(key)) for label, key in model.stage_of.items()]
    t = t.mutate(stage=t[ACTIVITY].cases(*labels, else_=ibis.null("string")))
    t = t.filter(t.stage.notnull())
    t = t.mutate(entered_at=ibis.coalesce(t[START], t[TIMESTAMP]) if log.interval else t[TIMESTAMP])
    by_case = ibis.window(group_by=t[CASE], order_by=[t[k] for k in keys])
    if basis == "business" and not log.interval and backend_name(t) == "duckdb":
        return _business_visits(log, spec, t, labels)
    t = t.mutate(_prev=t.stage.lag().over(by_case))
    starts = (t._prev.isnull() | (t._prev != t.stage)).ifelse(1, 0)
    t = t.mutate(visit_no=starts.cumsum(group_by=t[CASE], order_by=[t[k] for k in keys]))
    visits = t.group_by([CASE, "visit_no"]).aggregate(
        stage=t.stage.max(),
        entered_at=t.entered_at.min(),
        last_at=t[TIMESTAMP].max(),
    )
    in_order = ibis.window(group_by=visits[CASE], order_by=visits.visit_no)
    visits = visits.mutate(
        next_entered_at=visits.entered_at.lead().over(in_order),
        is_last=visits.visit_no.lead().over(in_order).isnull(),
        is_first=visits.visit_no.lag().over(in_order).isnull(),
    )
    if log.interval:
        visits = visits.mutate(left_at=visits.last_at)
    else:
        visits = visits.mutate(left_at=visits.next_entered_at)
    targets = [(s.key, s.sla) for s in spec.stages if s.sla is not None]
    target = (
        visits.stage.cases(
            *[(ibis.literal(k), ibis.literal(v, "int64")) for k, v in targets],
            else_=ibis.null("int64"),
        )
        if targets
        else ibis.null("int64")
    )
    visits = visits.mutate(target_seconds=target)
    if basis == "elapsed":
        return visits.mutate(
            measured=visits.left_at.notnull(),
            within=(
                visits.left_at <= visits.entered_at + visits.target_seconds.as_interval("s")
            ).fill_null(False),
        )
    breaches = log.table.filter(log.table.kind == STAGE_BREACH_KIND)
    breaches = breaches.mutate(
        b_stage=breaches[ACTIVITY].cases(*labels, else_=ibis.null("string")),
        b_case=breaches[CASE],
        b_at=breaches[TIMESTAMP],
    ).select("b_case", "b_stage", "b_at")
    hit = visits.left_join(breaches, _breach_predicates(visits, breaches))
    # One pass: each visit with its breaches, folded back to one row per visit (joining the
    # verdicts back to ``visits`` would compute the visits' windows twice).
    # Every row of a visit holds the same visit columns, so any aggregate keeps them (max;
    # ``any`` for flags, as PostgreSQL has no max of booleans).
    kept = {
        c: hit[c].any() if visits.schema()[c].is_boolean() else hit[c].max()
        for c in visits.columns
        if c not in (CASE, "visit_no")
    }
    visits = hit.group_by([CASE, "visit_no"]).aggregate(**kept, breached=hit.b_at.notnull().any())
    return visits.mutate(
        measured=visits.next_entered_at.notnull(),
        within=~visits.breached.fill_null(False),
    )


def _business_visits(log: EventLog, spec: ProcessSpec, t: ir.Table, labels: list[Any]) -> ir.Table:
    """:func:`stage_visits` on the business basis, the same rows, for Andon's own log on
    DuckDB: without grouping entries into visits.

    A visit starts at an entry into another stage than the case's previous entry (or at its
    first entry), so the starts alone are the visits: each one's end is the next start, its
    last entry the one just before the next start (else the case's last entry). Two window
    passes over the entries (one over all, one over the starts) replace three and a grouping
    of every entry (at 10M events most visits are one entry, so the grouping moved as many
    rows as it read). The breaches, few, are matched to the visits of the cases that have
    one (the windows run again on those cases alone) and the breached visits looked up by key.
    """

    visits = _visits_from_starts(spec, t)
    hit = _breached_from_starts(log, spec, t, labels)
    breached = hit.select(_h_case=hit[CASE], _h_visit=hit.visit_no)
    marked = visits.left_join(
        breached, [visits[CASE] == breached._h_case, visits.visit_no == breached._h_visit]
    )
    marked = marked.mutate(breached=marked._h_visit.notnull()).drop("_h_case", "_h_visit")
    return marked.mutate(
        measured=marked.next_entered_at.notnull(),
        within=~marked.breached,
    )


def breached_visits(log: EventLog, spec: ProcessSpec) -> ir.Table:
    """The visits of ``stage_visits(log, spec, "business")`` with a breach (``within``
    false; all measured): ``case_id``, ``visit_no``, ``stage``, ``entered_at``,
    ``next_entered_at``. Andon's own log (``events="all"``) on DuckDB; reads only the items
    with a ``stage_breached`` event, so it costs a fraction of the visits themselves.
    """
    import ibis

    model = process_model(spec)
    t = log.table.filter(log.table.kind.isin(STAGE_ENTRY_KINDS))
    labels = [(ibis.literal(label), ibis.literal(key)) for label, key in model.stage_of.items()]
    t = t.mutate(stage=t[ACTIVITY].cases(*labels, else_=ibis.null("string")))
    t = t.filter(t.stage.notnull()).mutate(entered_at=t[TIMESTAMP])
    return _breached_from_starts(log, spec, t, labels)


def _breached_from_starts(
    log: EventLog, spec: ProcessSpec, t: ir.Table, labels: list[Any]
) -> ir.Table:
    """One row per visit of the stage entries ``t`` with a breach during it (see
    :func:`breached_visits`); the visits are built for the items with a breach alone."""
    import ibis

    breaches = log.table.filter(log.table.kind == STAGE_BREACH_KIND)
    breaches = breaches.mutate(
        b_stage=breaches[ACTIVITY].cases(*labels, else_=ibis.null("string")),
        b_case=breaches[CASE],
        b_at=breaches[TIMESTAMP],
    ).select("b_case", "b_stage", "b_at")
    of_breached = t.semi_join(breaches, t[CASE] == breaches.b_case)
    some = _visits_from_starts(spec, of_breached)
    hit = some.join(breaches, _breach_predicates(some, breaches))
    return hit.select(CASE, "visit_no", "stage", "entered_at", "next_entered_at").distinct()


def _visits_from_starts(spec: ProcessSpec, t: ir.Table) -> ir.Table:
    """The visits of the stage entries ``t`` (ordered by timestamp, then event order)."""
    import ibis

    by_case = ibis.window(group_by=t[CASE], order_by=[t[TIMESTAMP], t[ORDER]])
    t = t.mutate(
        _prev=t.stage.lag().over(by_case),
        _prev_at=t[TIMESTAMP].lag().over(by_case),
        _case_last_at=t[TIMESTAMP].max().over(by_case),
    )
    s = t.filter(t._prev.isnull() | (t._prev != t.stage))
    in_order = ibis.window(group_by=s[CASE], order_by=[s[TIMESTAMP], s[ORDER]])
    visits = s.select(
        s[CASE],
        visit_no=ibis.row_number().over(in_order) + 1,
        stage=s.stage,
        entered_at=s.entered_at,
        last_at=ibis.coalesce(s._prev_at.lead().over(in_order), s._case_last_at),
        next_entered_at=s.entered_at.lead().over(in_order),
    )
    visits = visits.mutate(
        is_last=visits.next_entered_at.isnull(),
        is_first=visits.visit_no == 1,
        left_at=visits.next_entered_at,
    )
    targets = [(st.key, st.sla) for st in spec.stages if st.sla is not None]
    target = (
        visits.stage.cases(
            *[(ibis.literal(k), ibis.literal(v, "int64")) for k, v in targets],
            else_=ibis.null("int64"),
        )
        if targets
        else ibis.null("int64")
    )
    return visits.mutate(target_seconds=target)


def _breach_predicates(visits: ir.Table, breaches: ir.Table) -> list[ir.BooleanValue]:
    """A breach of the visit's stage recorded while the item was in it (a visit without an
    end has none: it is not measured)."""
    return [
        visits[CASE] == breaches.b_case,
        visits.stage == breaches.b_stage,
        breaches.b_at >= visits.entered_at,
        breaches.b_at < visits.next_entered_at,
    ]


def _process_attainment(
    log: EventLog, spec: ProcessSpec, visits: ir.Table, basis: Basis
) -> dict[str, Any] | None:
    import ibis

    if spec.sla is None:
        return None
    ends = sorted(spec.end)
    if basis == "elapsed":
        first = visits.filter(visits.is_first).select(CASE, began_at=visits.entered_at)
        last = visits.filter(visits.is_last & visits.stage.isin(ends)).select(
            CASE, ended_at=visits.entered_at
        )
        cases = first.join(last, CASE)
        cases = cases.mutate(
            within=cases.ended_at <= cases.began_at + ibis.interval(seconds=spec.sla)
        )
    else:
        t = log.table
        done = (
            t.filter(t.item_status == "done")
            .group_by(CASE)
            .aggregate(breached=t.item_breached.max())
        )
        cases = done.mutate(within=~done.breached.fill_null(False))
    result = cases.aggregate(n=cases.count(), ok=cases.within.ifelse(1, 0).sum()).execute()
    n = int(result["n"].iloc[0])
    ok = int(result["ok"].fillna(0).iloc[0]) if n else 0
    return {
        "target_seconds": spec.sla,
        "cases": n,
        "within": ok,
        "attainment": ok / n if n else None,
    }
