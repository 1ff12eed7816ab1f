"""The data-quality report: what an import rejected and what looks wrong in what it kept.

Every figure is an Ibis expression over the judged table (the normalised rows plus their
rejection reason), so the report runs where the rows are. Definitions, in words, are in
docs/event-logs.md; each issue kind below is one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from andon.analytics.log import ACTIVITY, CASE, ORDER, RESOURCE, START, TIMESTAMP

if TYPE_CHECKING:
    import ibis.expr.types as ir

REASON = "__reason"  # why a row is rejected; null for a kept row
RAW_TIMESTAMP = "__raw_timestamp"  # the source text of a rejected row's timestamp

# Rejections, in the order they are judged: a row gets the first that applies.
MISSING_CASE = "missing_case"
MISSING_ACTIVITY = "missing_activity"
MISSING_TIMESTAMP = "missing_timestamp"
UNPARSABLE_TIMESTAMP = "unparsable_timestamp"
FUTURE_TIMESTAMP = "future_timestamp"
REJECTIONS = (
    MISSING_CASE,
    MISSING_ACTIVITY,
    MISSING_TIMESTAMP,
    UNPARSABLE_TIMESTAMP,
    FUTURE_TIMESTAMP,
)

# Findings about kept rows; they are reported, never removed.
DUPLICATE_EVENT = "duplicate_event"
OUT_OF_ORDER_EVENT = "out_of_order_event"
SINGLE_EVENT_CASE = "single_event_case"
ACTIVITY_NAME_VARIANTS = "activity_name_variants"
CLOCK_SKEW = "clock_skew"
START_AFTER_COMPLETION = "start_after_completion"
FINDINGS = (
    DUPLICATE_EVENT,
    OUT_OF_ORDER_EVENT,
    SINGLE_EVENT_CASE,
    ACTIVITY_NAME_VARIANTS,
    CLOCK_SKEW,
    START_AFTER_COMPLETION,
)

EXAMPLES = 5
# A resource is suspected of clock skew only with enough handovers to judge by.
SKEW_MIN_HANDOVERS = 5
SKEW_MIN_SHARE = 0.5


@dataclass(frozen=True)
class Issue:
    """One kind of problem: how many rows (or cases, names, resources) and a few examples."""

    kind: str
    count: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rejects(self) -> bool:
        return self.kind in REJECTIONS


@dataclass(frozen=True)
class QualityReport:
    """``rows_read`` = ``rows_rejected`` + ``events``; ``issues`` lists every kind, in order.

    A report made without findings (``assess(..., findings=False)``, for commands that only
    warn about rejections) lists the rejections alone and leaves ``cases`` unknown (None).
    ``kept_with_start`` counts kept rows with a start time: an interval log has some.
    """

    rows_read: int
    rows_rejected: int
    cases: int | None
    events: int
    issues: list[Issue]
    kept_with_start: int = 0

    def issue(self, kind: str) -> Issue:
        for issue in self.issues:
            if issue.kind == kind:
                return issue
        raise KeyError(kind)

    def rejected_by_reason(self) -> dict[str, int]:
        return {i.kind: i.count for i in self.issues if i.rejects and i.count}

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``andon log check --json``."""
        return {
            "rows_read": self.rows_read,
            "rows_rejected": self.rows_rejected,
            "cases": self.cases,
            "events": self.events,
            "issues": [
                {"kind": i.kind, "count": i.count, "examples": i.examples} for i in self.issues
            ],
        }


def plain(value: Any) -> Any:
    """A JSON-ready value: instants as ISO 8601 text, NaN and NaT as None."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    from andon.analytics.results import fetch_rows

    return [{k: plain(v) for k, v in row.items()} for row in fetch_rows(expr)]


def _count(value: Any) -> int:
    return int(value) if value is not None and value == value else 0


def assess(judged: ir.Table, *, findings: bool = True) -> QualityReport:
    """The report for ``judged``: normalised rows with REASON (and RAW_TIMESTAMP) columns.

    Rejected rows are those with a REASON; every other figure is about the kept rows.
    A clean log costs four scans: one aggregate over every row, one ordered pass over the
    kept rows within their cases, and two group-bys (duplicates, activity names); examples
    are fetched only for the kinds that have any. Without ``findings`` only the first scan
    runs: the rejections, with their examples, and nothing about the kept rows.
    """
    import ibis

    is_kept = judged[REASON].isnull()
    with_start = is_kept & judged[START].notnull()
    late = with_start & (judged[START] > judged[TIMESTAMP])
    totals = _rows(
        judged.aggregate(
            rows_read=judged.count(),
            events=judged.count(where=is_kept),
            with_start=judged.count(where=with_start),
            late=judged.count(where=late),
            **{reason: judged.count(where=judged[REASON] == reason) for reason in REJECTIONS},
        )
    )[0]
    rejected = {reason: _count(totals[reason]) for reason in REJECTIONS}
    examples = _rejection_examples(judged) if any(rejected.values()) else {}
    issues = [Issue(reason, rejected[reason], examples.get(reason, [])) for reason in REJECTIONS]
    rejections_only = QualityReport(
        rows_read=_count(totals["rows_read"]),
        rows_rejected=sum(rejected.values()),
        cases=None,
        events=_count(totals["events"]),
        issues=issues.copy(),  # the findings below are added to ``issues``, not to this
        kept_with_start=_count(totals["with_start"]),
    )
    if not findings:
        return rejections_only

    kept = judged.filter(is_kept)
    sequence, cases = _sequence_findings(kept, ibis)
    issues.append(_duplicates(kept, ibis))
    issues.extend(sequence)
    issues.append(_activity_name_variants(kept, ibis))
    issues.append(_start_after_completion(kept, _count(totals["late"])))
    order = {kind: i for i, kind in enumerate((*REJECTIONS, *FINDINGS))}
    issues.sort(key=lambda i: order[i.kind])
    return replace(rejections_only, cases=cases, issues=issues)


def _rejection_examples(judged: ir.Table) -> dict[str, list[dict[str, Any]]]:
    """The first EXAMPLES rejected rows of each reason, in source order, in one query."""
    import ibis

    rejected = judged.filter(judged[REASON].notnull())
    rank = ibis.row_number().over(group_by=rejected[REASON], order_by=rejected[ORDER])
    ranked = rejected.mutate(example_rank=rank)
    sample = ranked.filter(ranked.example_rank < EXAMPLES).order_by(ORDER)
    rows = _rows(
        sample.select(
            reason=sample[REASON],
            row=sample[ORDER],
            case_id=sample[CASE],
            activity=sample[ACTIVITY],
            timestamp=sample[RAW_TIMESTAMP],
            resource=sample[RESOURCE],
        )
    )
    examples: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        examples.setdefault(row.pop("reason"), []).append(row)
    return examples


def _duplicates(kept: ir.Table, ibis: Any) -> Issue:
    keys = [CASE, ACTIVITY, TIMESTAMP, RESOURCE]
    groups = kept.group_by(keys).agg(occurrences=kept.count(), first_row=kept[ORDER].min())
    repeated = groups.filter(groups.occurrences > 1)
    # The total rides along with the first examples, so one group-by answers both.
    extra = (repeated.occurrences - 1).sum().over(ibis.window())
    rows = _rows(repeated.mutate(extra=extra).order_by("first_row").limit(EXAMPLES))
    count = _count(rows[0]["extra"]) if rows else 0
    for row in rows:
        del row["extra"]
    return Issue(DUPLICATE_EVENT, count, rows)


def _sequence_findings(kept: ir.Table, ibis: Any) -> tuple[list[Issue], int]:
    """Out-of-order events, suspected clock skew and single-event cases, and the number of
    cases: all from one pass comparing each event with its neighbours in source order
    within its case (one sort of the kept rows)."""
    window = ibis.window(group_by=kept[CASE], order_by=kept[ORDER])
    paired = kept.mutate(
        previous_timestamp=kept[TIMESTAMP].lag().over(window),
        previous_resource=kept[RESOURCE].lag().over(window),
        previous_activity=kept[ACTIVITY].lag().over(window),
        next_timestamp=kept[TIMESTAMP].lead().over(window),
    )
    backwards = paired[TIMESTAMP] < paired.previous_timestamp
    handover = (
        paired[RESOURCE].notnull()
        & paired.previous_resource.notnull()
        & (paired[RESOURCE] != paired.previous_resource)
    )
    seconds_earlier = (
        paired.previous_timestamp.epoch_seconds() - paired[TIMESTAMP].epoch_seconds()
    ).cast("float64")
    # Kept rows always have a timestamp, so a missing neighbour's means none exists.
    first = paired.previous_timestamp.isnull()
    last = paired.next_timestamp.isnull()
    per_resource = paired.group_by(paired[RESOURCE]).agg(
        out_of_order=backwards.sum(),
        handovers=handover.sum(),
        backwards=(handover & backwards).sum(),
        median_seconds_earlier=ibis.ifelse(handover & backwards, seconds_earlier, None).median(),
        cases=first.sum(),
        single_event_cases=(first & last).sum(),
    )
    rows = _rows(per_resource)
    out_of_order = sum(_count(r["out_of_order"]) for r in rows)
    cases = sum(_count(r["cases"]) for r in rows)
    single = sum(_count(r["single_event_cases"]) for r in rows)
    examples: list[dict[str, Any]] = []
    if out_of_order:
        sample = paired.filter(backwards).order_by(ORDER).limit(EXAMPLES)
        examples = _rows(
            sample.select(
                row=sample[ORDER],
                case_id=sample[CASE],
                activity=sample[ACTIVITY],
                timestamp=sample[TIMESTAMP],
                previous_activity=sample.previous_activity,
                previous_timestamp=sample.previous_timestamp,
            )
        )
    skewed = [
        {
            "resource": r[RESOURCE],
            "handovers": _count(r["handovers"]),
            "backwards": _count(r["backwards"]),
            "median_seconds_earlier": r["median_seconds_earlier"],
        }
        for r in rows
        if r[RESOURCE] is not None
        and _count(r["handovers"]) >= SKEW_MIN_HANDOVERS
        and _count(r["backwards"]) >= SKEW_MIN_SHARE * _count(r["handovers"])
    ]
    skewed.sort(key=lambda r: (-r["backwards"], str(r["resource"])))
    issues = [
        Issue(OUT_OF_ORDER_EVENT, out_of_order, examples),
        Issue(CLOCK_SKEW, len(skewed), skewed[:EXAMPLES]),
        Issue(SINGLE_EVENT_CASE, single, _single_event_examples(kept) if single else []),
    ]
    return issues, cases


def _single_event_examples(kept: ir.Table) -> list[dict[str, Any]]:
    per_case = kept.group_by(CASE).agg(
        events=kept.count(), activity=kept[ACTIVITY].min(), first_row=kept[ORDER].min()
    )
    single = per_case.filter(per_case.events == 1)
    return _rows(single.order_by("first_row").limit(EXAMPLES).select(CASE, ACTIVITY))


def _activity_name_variants(kept: ir.Table, ibis: Any) -> Issue:
    names = kept.select(kept[ACTIVITY]).distinct()
    normalised = names.mutate(normalised=names[ACTIVITY].lower().re_replace(r"\s+", " ").strip())
    groups = normalised.group_by("normalised").agg(
        spellings=normalised[ACTIVITY].nunique(),
        names=normalised[ACTIVITY].collect(),
    )
    clashing = groups.filter(groups.spellings > 1)
    clashing = clashing.mutate(total=clashing.spellings.count().over(ibis.window()))
    rows = _rows(clashing.order_by("normalised").limit(EXAMPLES))
    count = _count(rows[0]["total"]) if rows else 0
    examples = [{"normalised": r["normalised"], "names": sorted(r["names"])} for r in rows]
    return Issue(ACTIVITY_NAME_VARIANTS, count, examples)


def _start_after_completion(kept: ir.Table, count: int) -> Issue:
    examples: list[dict[str, Any]] = []
    if count:
        late = kept.filter(kept[START].notnull() & (kept[START] > kept[TIMESTAMP]))
        sample = late.order_by(ORDER).limit(EXAMPLES)
        examples = _rows(
            sample.select(
                row=sample[ORDER],
                case_id=sample[CASE],
                activity=sample[ACTIVITY],
                start_timestamp=sample[START],
                timestamp=sample[TIMESTAMP],
            )
        )
    return Issue(START_AFTER_COMPLETION, count, examples)
