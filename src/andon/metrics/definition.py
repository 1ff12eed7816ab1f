"""A metric definition: what is measured, who owns it, its chart, rules and action thresholds.

Pure: no database. ``parse_definition`` validates a plain document (as read from YAML or a
request) and reports every field at fault with its path; ``definition_document`` writes the
documented shape back.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from andon.core.errors import FieldError, InvalidInput
from andon.core.permissions import Role
from andon.metrics.periods import PeriodKind, periods_between

KpiName = Literal[
    "rework_rate",
    "first_pass_yield",
    "time_in_stage",
    "cycle_time",
    "throughput",
    "wip",
    "sla_attainment",
    "exception_count",
    "oee",
]
KPI_NAMES: tuple[str, ...] = get_args(KpiName)
# Which statistic each built-in KPI gives: a p-chart needs a share of a counted sample, a
# u-chart a count per varying amount of opportunity, a c-chart a count.
PROPORTION_KPIS = frozenset({"rework_rate", "first_pass_yield", "sla_attainment"})
RATE_KPIS = frozenset({"exception_count"})
COUNT_KPIS = frozenset({"exception_count", "throughput", "wip"})
ChartKind = Literal["xmr", "p", "u", "c"]
DEFAULT_CHART: dict[str, ChartKind] = {
    "rework_rate": "p",
    "first_pass_yield": "p",
    "sla_attainment": "p",
    "exception_count": "c",
}
WE_RULES = ("WE1", "WE2", "WE3", "WE4")
NELSON_RULES = ("N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8")
RULE_SETS: dict[str, tuple[str, ...]] = {"western-electric": WE_RULES, "nelson": NELSON_RULES}
RULE_IDS = WE_RULES + NELSON_RULES
MIN_BASELINE_POINTS = 2  # a moving range needs two points; fewer give no limits at all

Key = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Filter = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"
    ),
]
Decision = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


def _known_rule(rule: str) -> str:
    if rule not in RULE_IDS and rule not in RULE_SETS:
        known = ", ".join((*RULE_IDS, *RULE_SETS))
        raise ValueError(f"unknown rule {rule!r}; expected one of {known}")
    return rule


RuleName = Annotated[str, AfterValidator(_known_rule)]
_DURATION = re.compile(r"^(\d{1,4})([hdw])$")
_DURATION_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1)}


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Owner(_Part):
    """A role (anyone holding it answers) or one user. Plain text is a role when it names one."""

    role: Role | None = None
    user: Username | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            return {"role": text} if text in set(Role) else {"user": text}
        return value

    @model_validator(mode="after")
    def _one_of(self) -> Owner:
        if (self.role is None) == (self.user is None):
            raise ValueError("an owner is either a role or a user")
        return self


class KpiSource(_Part):
    """A built-in KPI over the plant's event log, narrowed by filters."""

    kpi: KpiName
    process: Filter | None = None
    line: Filter | None = None
    product: Filter | None = None
    stage: Filter | None = None
    category: Filter | None = None

    @model_validator(mode="after")
    def _filters_fit(self) -> KpiSource:
        if self.kpi == "time_in_stage" and self.stage is None:
            raise ValueError("time_in_stage needs a stage: the time spent in which stage")
        if self.category is not None and self.kpi != "exception_count":
            raise ValueError("category filters exception_count only")
        if self.kpi == "oee" and self.stage is not None:
            raise ValueError("oee is measured per line, not per stage")
        return self


class Baseline(_Part):
    """The points the control limits come from: the first N, or those in a date range."""

    points: int | None = Field(default=None, ge=MIN_BASELINE_POINTS, le=10_000)
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Baseline:
        dated = self.from_ is not None or self.to is not None
        if (self.points is None) == (not dated):
            raise ValueError("a baseline is either {points: N} or {from: DATE, to: DATE}")
        if dated and (self.from_ is None or self.to is None):
            raise ValueError("a dated baseline needs both from and to")
        if self.from_ is not None and self.to is not None and self.from_ >= self.to:
            raise ValueError("the baseline's from must be before its to")
        return self


DEFAULT_DUE_DAYS = {"warning": 7, "critical": 2}


class ActionTemplate(_Part):
    """The action a crossing creates for the metric's owner; due ``due_in_days`` after the
    plant's today (unset: 7 days for a warning band, 2 for a critical one)."""

    title: Label
    due_in_days: int | None = Field(default=None, ge=1, le=365)


class Threshold(_Part):
    """A band that fires when a value is above ``above`` or below ``below``."""

    level: Literal["warning", "critical"]
    above: float | None = Field(default=None, allow_inf_nan=False)
    below: float | None = Field(default=None, allow_inf_nan=False)
    min_points: int = Field(default=1, ge=1, le=1000)
    decision: Decision
    action: ActionTemplate | None = None
    line: Filter | None = None

    @property
    def due_in_days(self) -> int:
        """Days from the plant's today to the due date of the action a crossing opens."""
        given = self.action.due_in_days if self.action is not None else None
        return given if given is not None else DEFAULT_DUE_DAYS[self.level]

    @model_validator(mode="after")
    def _has_a_limit(self) -> Threshold:
        if self.above is None and self.below is None:
            raise ValueError("a band needs above or below (or both)")
        if self.above is not None and self.below is not None and self.below >= self.above:
            raise ValueError("below must be less than above, or the band always fires")
        return self


class MetricDefinition(_Part):
    key: Key
    name: Label
    description: Text = ""
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    direction: Literal["higher_is_better", "lower_is_better"]
    kind: Literal["leading", "lagging"]
    owner: Owner
    source: Literal["manual"] | KpiSource
    computation: Text = ""
    edge_cases: Text = ""
    target: float | None = Field(default=None, allow_inf_nan=False)
    period: PeriodKind
    chart: ChartKind
    rules: list[RuleName] = Field(default_factory=lambda: ["western-electric"], max_length=20)
    baseline: Baseline = Field(default_factory=lambda: Baseline(points=20))
    thresholds: list[Threshold] = Field(default_factory=list, max_length=50)
    no_data_after: timedelta | None = None
    review: Literal["daily", "weekly", "biweekly", "monthly", "quarterly"] = "weekly"
    # Where the metric sits on the SQDC board, and the area whose board shows it (an area
    # code, e.g. ASM; none: every area's board of the site).
    sqdc: Literal["safety", "quality", "delivery", "cost"] | None = None
    area: Filter | None = None
    # Also compute the KPI for each line on its own (values, chart and bands per line).
    by_line: bool = False

    @model_validator(mode="before")
    @classmethod
    def _default_chart(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("chart") is None:
            source = data.get("source")
            kpi = source.get("kpi") if isinstance(source, dict) else None
            chart = DEFAULT_CHART.get(kpi, "xmr") if isinstance(kpi, str) else "xmr"
            data = {**data, "chart": chart}
        return data

    @field_validator("source", mode="before")
    @classmethod
    def _source_shape(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip() != "manual":
            raise ValueError("a source is 'manual' or {kpi: NAME, ...filters}")
        return value.strip() if isinstance(value, str) else value

    @field_validator("rules")
    @classmethod
    def _each_rule_once(cls, rules: list[str]) -> list[str]:
        if len(set(rules)) != len(rules):
            raise ValueError("a rule is listed twice")
        return rules

    @field_validator("no_data_after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str):
            m = _DURATION.match(value.strip())
            if not m or int(m[1]) == 0:
                raise ValueError(f"{value!r} is not a gap; write e.g. '36h', '3d' or '2w'")
            return int(m[1]) * _DURATION_UNITS[m[2]]
        if value is not None and not isinstance(value, timedelta):
            raise ValueError("a gap is text such as '36h', '3d' or '2w'")
        return value

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> MetricDefinition:
        # parse_definition reports these with exact paths itself; a direct construction
        # must still never produce an inconsistent definition.
        if not (info.context or {}).get("paths_later"):
            problems = definition_errors(self)
            if problems:
                raise ValueError("; ".join(f"{_where(e.loc)}: {e.msg}" for e in problems))
        return self

    def rule_ids(self) -> list[str]:
        """The rule ids to apply, rule-set names expanded, in the order of ``RULE_IDS``."""
        chosen = {r for rule in self.rules for r in RULE_SETS.get(rule, (rule,))}
        return [r for r in RULE_IDS if r in chosen]


def definition_errors(defn: MetricDefinition) -> list[FieldError]:
    """Cross-field problems of a schema-valid definition, each at the path of its field."""
    errors: list[FieldError] = []
    kpi = defn.source.kpi if isinstance(defn.source, KpiSource) else None
    if kpi is not None:
        fits = {"p": PROPORTION_KPIS, "u": RATE_KPIS, "c": COUNT_KPIS}.get(defn.chart)
        if fits is not None and kpi not in fits:
            need = {"p": "a proportion", "u": "a rate", "c": "a count"}[defn.chart]
            fitting = ", ".join(sorted(fits))
            errors.append(
                FieldError(
                    ("chart",),
                    f"a {defn.chart}-chart needs {need}; {kpi} is not one (use xmr, or a "
                    f"source among {fitting})",
                    "chart_mismatch",
                )
            )
    baseline = defn.baseline
    if baseline.from_ is not None and baseline.to is not None and defn.period != "shift":
        count = len(periods_between(defn.period, baseline.from_, baseline.to))
        if count < MIN_BASELINE_POINTS:
            errors.append(
                FieldError(
                    ("baseline",),
                    f"from {baseline.from_} to {baseline.to} holds {count} {defn.period} "
                    f"period; control limits need at least {MIN_BASELINE_POINTS}",
                    "baseline_too_short",
                )
            )
    errors += _split_errors(defn)
    errors += _threshold_errors(defn)
    return errors


def _split_errors(defn: MetricDefinition) -> list[FieldError]:
    if not defn.by_line:
        return []
    if not isinstance(defn.source, KpiSource):
        msg = "a manual metric has one series; enter a metric per line instead"
        return [FieldError(("by_line",), msg, "by_line")]
    if defn.source.line is not None:
        msg = f"the source measures line {defn.source.line!r} only; there is nothing to split"
        return [FieldError(("by_line",), msg, "by_line")]
    return []


def _threshold_errors(defn: MetricDefinition) -> list[FieldError]:
    errors: list[FieldError] = []
    source_line = defn.source.line if isinstance(defn.source, KpiSource) else None
    seen: dict[tuple[str, str | None], int] = {}
    for i, band in enumerate(defn.thresholds):
        if band.line is not None and source_line is not None and band.line != source_line:
            errors.append(
                FieldError(
                    ("thresholds", i, "line"),
                    f"the source measures line {source_line!r} only; a band for line "
                    f"{band.line!r} would never apply",
                    "threshold_line",
                )
            )
        if band.line is not None and source_line is None and not defn.by_line:
            errors.append(
                FieldError(
                    ("thresholds", i, "line"),
                    f"a band for line {band.line!r} needs a metric split by line (by_line: true)",
                    "threshold_line",
                )
            )
        slot = (band.level, band.line)
        if slot in seen:
            errors.append(
                FieldError(
                    ("thresholds", i, "level"),
                    f"a second {band.level} band"
                    + (f" for line {band.line!r}" if band.line else "")
                    + f" (the first is thresholds {seen[slot]})",
                    "threshold_duplicate",
                )
            )
        else:
            seen[slot] = i
    # A critical band lies beyond its warning band on the bad side: for higher_is_better the
    # critical floor is at or under the warning floor; for lower_is_better the critical
    # ceiling is at or over the warning one. The same holds for the other side's limit.
    for i, band in enumerate(defn.thresholds):
        warning_at = seen.get(("warning", band.line))
        if band.level != "critical" or warning_at is None:
            continue
        warning = defn.thresholds[warning_at]
        if band.below is not None and warning.below is not None and band.below > warning.below:
            errors.append(
                FieldError(
                    ("thresholds", i, "below"),
                    f"the critical band's below ({band.below:g}) must be at or under the "
                    f"warning band's ({warning.below:g}, thresholds {warning_at})",
                    "threshold_order",
                )
            )
        if band.above is not None and warning.above is not None and band.above < warning.above:
            errors.append(
                FieldError(
                    ("thresholds", i, "above"),
                    f"the critical band's above ({band.above:g}) must be at or over the "
                    f"warning band's ({warning.above:g}, thresholds {warning_at})",
                    "threshold_order",
                )
            )
    return errors


def parse_definition(data: Any) -> MetricDefinition:
    """Validate a definition document; InvalidInput lists every field at fault with its path."""
    if not isinstance(data, dict):
        expected = [FieldError((), "expected a mapping")]
        raise InvalidInput("a metric definition is a mapping", expected)
    try:
        defn = MetricDefinition.model_validate(data, context={"paths_later": True})
    except ValidationError as exc:
        errors = [
            FieldError(_clean_loc(e["loc"]), e["msg"].removeprefix("Value error, "), e["type"])
            for e in exc.errors()
            if not _other_union_member(e, data)
        ]
        raise InvalidInput(_summary(errors), errors) from None
    problems = definition_errors(defn)
    if problems:
        raise InvalidInput(_summary(problems), problems)
    return defn


def definition_document(defn: MetricDefinition) -> dict[str, Any]:
    """The definition as plain data in the documented shape, every field written out."""
    data = defn.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["owner"] = _owner_text(defn.owner)
    for band in data["thresholds"]:
        if band.get("min_points") == 1:
            del band["min_points"]
    if defn.no_data_after is not None:
        data["no_data_after"] = format_gap(defn.no_data_after)
    return data


def format_gap(gap: timedelta) -> str:
    """A gap as the largest whole unit: ``2w``, ``3d`` or ``36h``."""
    for unit, size in _DURATION_UNITS.items():
        if gap % size == timedelta(0):
            return f"{gap // size}{unit}"
    raise ValueError(f"{gap} is not a whole number of hours")


def _owner_text(owner: Owner) -> str | dict[str, str]:
    if owner.role is not None:
        return owner.role.value
    assert owner.user is not None
    # A user named like a role would read back as the role; spell it out.
    return {"user": owner.user} if owner.user in set(Role) else owner.user


def _clean_loc(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    # Pydantic names union members and validators in paths ("KpiSource", "function-after[...]");
    # the writer of the file never wrote them.
    return tuple(
        p
        for p in loc
        if not (isinstance(p, str) and ("[" in p or p in {"KpiSource", "literal['manual']"}))
    )


def _other_union_member(error: Any, data: dict[str, Any]) -> bool:
    # A source written as a mapping is a KPI source; "should be 'manual'" says nothing to it.
    return tuple(error["loc"]) == ("source", "literal['manual']") and isinstance(
        data.get("source"), dict
    )


def _where(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in loc) or "definition"


def _summary(errors: list[FieldError]) -> str:
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid metric definition: {_where(errors[0].loc)}: {errors[0].msg}{more}"
