"""The data-quality report: what an import rejected and what looks wrong in what it kept.

Every figure is an Ibis expression over the judged table (the normalised rows plus their
rejection reason), so the report runs where the rows are. Definitions, in words, are in
docs/event-logs.md; each issue kind below is one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """``rows_read`` = ``rows_rejected`` + ``events``; ``issues`` lists every kind, in order."""

    rows_read: int
    rows_rejected: int
    cases: int
    events: int
    issues: list[Issue]

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
    return [{k: plain(v) for k, v in row.items()} for row in expr.to_pyarrow().to_pylist()]


def _scalar(expr: Any) -> int:
    # Arrow, not execute(): execute() returns pandas, which costs seconds to import.
    value = expr.to_pyarrow().as_py()
    return int(value) if value is not None and value == value else 0


def assess(judged: ir.Table) -> QualityReport:
    """The report for ``judged``: normalised rows with REASON (and RAW_TIMESTAMP) columns.

    Rejected rows are those with a REASON; every other figure is about the kept rows.
    """
    import ibis

    rejected_rows = judged.filter(judged[REASON].notnull())
    reasons = _rows(rejected_rows.group_by(REASON).agg(n=rejected_rows.count()))
    rejected = {r[REASON]: int(r["n"]) for r in reasons}
    rows_read = _scalar(judged.count())
    kept = judged.filter(judged[REASON].isnull())
    totals = _rows(kept.agg(events=kept.count(), cases=kept[CASE].nunique()))[0]

    issues: list[Issue] = []
    for reason in REJECTIONS:
        count = rejected.get(reason, 0)
        examples: list[dict[str, Any]] = []
        if count:
            sample = judged.filter(judged[REASON] == reason).order_by(ORDER).limit(EXAMPLES)
            examples = _rows(
                sample.select(
                    row=sample[ORDER],
                    case_id=sample[CASE],
                    activity=sample[ACTIVITY],
                    timestamp=sample[RAW_TIMESTAMP],
                    resource=sample[RESOURCE],
                )
            )
        issues.append(Issue(reason, count, examples))

    issues.append(_duplicates(kept))
    issues.extend(_sequence_findings(kept, ibis))
    issues.append(_single_event_cases(kept))
    issues.append(_activity_name_variants(kept, ibis))
    issues.append(_start_after_completion(kept))
    order = {kind: i for i, kind in enumerate((*REJECTIONS, *FINDINGS))}
    issues.sort(key=lambda i: order[i.kind])
    return QualityReport(
        rows_read=rows_read,
        rows_rejected=sum(rejected.values()),
        cases=int(totals["cases"]),
        events=int(totals["events"]),
        issues=issues,
    )


def _duplicates(kept: ir.Table) -> Issue:
    keys = [CASE, ACTIVITY, TIMESTAMP, RESOURCE]
    groups = kept.group_by(keys).agg(occurrences=kept.count(), first_row=kept[ORDER].min())
    repeated = groups.filter(groups.occurrences > 1)
    count = _scalar((repeated.occurrences - 1).sum())
    examples = _rows(repeated.order_by("first_row").limit(EXAMPLES)) if count else []
    return Issue(DUPLICATE_EVENT, count, examples)


def _sequence_findings(kept: ir.Table, ibis: Any) -> list[Issue]:
    """Out-of-order events and suspected clock skew: both compare an event with the one
    before it in source order within its case."""
    window = ibis.window(group_by=kept[CASE], order_by=kept[ORDER])
    paired = kept.mutate(
        previous_timestamp=kept[TIMESTAMP].lag().over(window),
        previous_resource=kept[RESOURCE].lag().over(window),
        previous_activity=kept[ACTIVITY].lag().over(window),
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
    per_resource = paired.group_by(paired[RESOURCE]).agg(
        out_of_order=backwards.sum(),
        handovers=handover.sum(),
        backwards=(handover & backwards).sum(),
        median_seconds_earlier=ibis.ifelse(handover & backwards, seconds_earlier, None).median(),
    )
    rows = _rows(per_resource)
    out_of_order = sum(int(r["out_of_order"] or 0) for r in rows)
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
            "handovers": int(r["handovers"]),
            "backwards": int(r["backwards"]),
            "median_seconds_earlier": r["median_seconds_earlier"],
        }
        for r in rows
        if r[RESOURCE] is not None
        and int(r["handovers"] or 0) >= SKEW_MIN_HANDOVERS
        and int(r["backwards"] or 0) >= SKEW_MIN_SHARE * int(r["handovers"])
    ]
    skewed.sort(key=lambda r: (-r["backwards"], str(r["resource"])))
    return [
        Issue(OUT_OF_ORDER_EVENT, out_of_order, examples),
        Issue(CLOCK_SKEW, len(skewed), skewed[:EXAMPLES]),
    ]


def _single_event_cases(kept: ir.Table) -> Issue:
    per_case = kept.group_by(CASE).agg(
        events=kept.count(), activity=kept[ACTIVITY].min(), first_row=kept[ORDER].min()
    )
    single = per_case.filter(per_case.events == 1)
    count = _scalar(single.count())
    examples = (
        _rows(single.order_by("first_row").limit(EXAMPLES).select(CASE, ACTIVITY)) if count else []
    )
    return Issue(SINGLE_EVENT_CASE, count, examples)


def _activity_name_variants(kept: ir.Table, ibis: Any) -> Issue:
    names = kept.select(kept[ACTIVITY]).distinct()
    normalised = names.mutate(normalised=names[ACTIVITY].lower().re_replace(r"\s+", " ").strip())
    groups = normalised.group_by("normalised").agg(
        spellings=normalised[ACTIVITY].nunique(),
        names=normalised[ACTIVITY].collect(),
    )
    clashing = groups.filter(groups.spellings > 1)
    count = _scalar(clashing.count())
    examples: list[dict[str, Any]] = []
    if count:
        for row in _rows(clashing.order_by("normalised").limit(EXAMPLES)):
            examples.append({"normalised": row["normalised"], "names": sorted(row["names"])})
    return Issue(ACTIVITY_NAME_VARIANTS, count, examples)


def _start_after_completion(kept: ir.Table) -> Issue:
    late = kept.filter(kept[START].notnull() & (kept[START] > kept[TIMESTAMP]))
    count = _scalar(late.count())
    examples: list[dict[str, Any]] = []
    if count:
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
