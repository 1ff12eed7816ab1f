"""The process definition document: stages, transitions, SLAs, intake, routing, escalation.

A definition is plain data (YAML or JSON) validated here, with no database. Every error
names its path, e.g. ``("transitions", 3, "to")``, so the YAML reader can add a line number.
"""

from __future__ import annotations

import fnmatch
import re
from collections import deque
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from andon.core.errors import FieldError, InvalidInput
from andon.core.permissions import Role

Key = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,39}$"),
]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]

_DURATION = re.compile(r"^(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$")
_SHARE = re.compile(r"^(\d+(?:\.\d+)?)%$")


LONGEST_DURATION_SECONDS = 8760 * 3600
"""The longest duration a definition or a retarget may give: a year of business time.

The SLA clock looks ``SEARCH_HORIZON`` (five years) ahead for a due time; a year of business
time fits in it on any calendar with at least 34 working hours a week.
"""


def parse_duration(value: object, *, longest: int | None = LONGEST_DURATION_SECONDS) -> int:
    """Seconds from ``"4h"``, ``"2h30m"``, ``"90m"``, ``"45s"`` or a whole number of seconds.

    Refuses zero, negative and (unless ``longest`` is None) durations longer than ``longest``.
    """
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text such as '4h' or '2h30m'")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        match = _DURATION.match(value.strip())
        if not value.strip() or match is None or not any(match.groups()):
            raise ValueError(f"{value!r} is not a duration; write e.g. '4h', '2h30m', '90m'")
        hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    else:
        raise ValueError("a duration is a number of seconds or text such as '4h' or '2h30m'")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    if longest is not None and seconds > longest:
        raise ValueError(
            f"{format_duration(seconds)} is too long: a duration is at most "
            f"{format_duration(longest)} ({longest // 86_400} days of business time)"
        )
    return seconds


def format_duration(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts) or "0s"


STORED = "stored"
"""Validation context flag for versions already published: durations are not capped there,
so a version published before the cap still loads (its clock has no due time if too long)."""


def _duration_field(value: object, info: ValidationInfo) -> int:
    stored = isinstance(info.context, dict) and info.context.get(STORED) is True
    return parse_duration(value, longest=None if stored else LONGEST_DURATION_SECONDS)


Duration = Annotated[int, BeforeValidator(_duration_field)]


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Measurement(_Part):
    unit: str = Field(default="", max_length=20)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _limits_in_order(self) -> Measurement:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class CheckItem(_Part):
    """One line of a QA checklist: pass/fail, optionally a measured value within limits."""

    key: Key
    text: Label
    measured: Measurement | None = None


class Stage(_Part):
    key: Key
    name: Label
    owner_role: Role
    sop: str | None = Field(default=None, max_length=40, description="SOP slot (document code).")
    sla: Duration | None = Field(default=None, description="Business time allowed in the stage.")
    checklist: tuple[CheckItem, ...] = ()
    on_fail: Key | None = Field(
        default=None, description="Stage a failed checklist sends the item to (rework)."
    )
    require_training: bool = Field(
        default=False,
        description="Refuse moves out of the stage by people who have not acknowledged the "
        "effective revision of its SOP.",
    )

    @model_validator(mode="after")
    def _training_needs_sop(self) -> Stage:
        if self.require_training and self.sop is None:
            raise ValueError("require_training needs an sop: there is nothing to be trained on")
        return self


class Transition(_Part):
    source: Key = Field(alias="from")
    target: Key = Field(alias="to")
    rework: bool = False
    roles: tuple[Role, ...] = Field(
        default=(), description="Roles that may make this move; default: the stage owner's."
    )


class PauseState(_Part):
    """A hold whose time does not count against any SLA, e.g. waiting for parts."""

    key: Key
    name: Label


FieldType = Literal["string", "integer", "number", "boolean", "date", "choice"]


class IntakeField(_Part):
    key: Key
    label: Label
    type: FieldType = "string"
    required: bool = False
    min: float | None = None
    max: float | None = None
    max_length: int | None = Field(default=None, ge=1, le=4000)
    pattern: str | None = Field(default=None, max_length=200)
    choices: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> IntakeField:
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice field needs choices")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class RouteWhen(_Part):
    line: str | None = Field(default=None, description="Line code.")
    product: str | None = Field(default=None, description="Part number; * and ? match.")
    priority: Priority | None = None


class Route(_Part):
    """The first matching route picks the first stage and the assignee role."""

    when: RouteWhen
    stage: Key | None = None
    assignee_role: Role | None = None

    def matches(self, *, line: str | None, product: str | None, priority: str) -> bool:
        w = self.when
        if w.line is not None and (line or "").upper() != w.line.upper():
            return False
        if w.product is not None and not fnmatch.fnmatchcase(product or "", w.product):
            return False
        return w.priority is None or w.priority.value == priority


class ExceptionCategory(_Part):
    key: Key
    name: Label
    severity: Severity = Severity.MEDIUM


class Notify(_Part):
    roles: tuple[Role, ...] = ()
    users: tuple[str, ...] = ()
    emails: tuple[Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")], ...] = ()
    webhooks: tuple[Annotated[str, StringConstraints(pattern=r"^https?://\S+$")], ...] = ()

    @model_validator(mode="after")
    def _someone(self) -> Notify:
        if not (self.roles or self.users or self.emails or self.webhooks):
            raise ValueError("notify needs at least one of roles, users, emails, webhooks")
        return self


def _parse_trigger(value: object) -> object:
    if isinstance(value, dict | Trigger):
        return value
    if isinstance(value, str) and (m := _SHARE.match(value.strip())):
        share = float(m.group(1))
        if share <= 0:
            raise ValueError("a share of the SLA must be positive")
        return {"share": share / 100}
    return {"after": value}


class Trigger(_Part):
    share: float | None = None
    after: Duration | None = None


class Tier(_Part):
    name: Label
    at: Annotated[Trigger, BeforeValidator(_parse_trigger)] = Field(
        description="'75%' of the SLA, or business time such as '2h'."
    )
    notify: Notify
    ack_within: Duration | None = Field(
        default=None, description="Unacknowledged after this business time: next tier."
    )
    immediate_for: tuple[Severity, ...] = Field(
        default=(), description="Exceptions of these severities go to this tier at once."
    )


class EscalationPolicy(_Part):
    active: bool = True
    urgent: tuple[Severity, ...] = Field(
        default=(Severity.CRITICAL,), description="Severities notified even in quiet hours."
    )
    tiers: tuple[Tier, ...] = ()


class ProcessSpec(_Part):
    """A whole process definition; ``validate_spec`` adds the graph checks."""

    key: Key
    name: Label
    description: str = Field(default="", max_length=4000)
    stages: tuple[Stage, ...] = Field(min_length=1)
    start: Key
    end: tuple[Key, ...] = Field(min_length=1)
    transitions: tuple[Transition, ...] = ()
    sla: Duration | None = Field(default=None, description="End-to-end business time allowed.")
    pause_states: tuple[PauseState, ...] = ()
    intake: tuple[IntakeField, ...] = ()
    routing: tuple[Route, ...] = ()
    exception_categories: tuple[ExceptionCategory, ...] = ()
    escalation: EscalationPolicy = EscalationPolicy()

    def stage(self, key: str) -> Stage:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def targets(self, source: str) -> list[str]:
        return [t.target for t in self.transitions if t.source == source]

    def transition(self, source: str, target: str) -> Transition | None:
        for t in self.transitions:
            if t.source == source and t.target == target:
                return t
        return None

    def category(self, key: str) -> ExceptionCategory | None:
        return next((c for c in self.exception_categories if c.key == key), None)

    def route(self, *, line: str | None, product: str | None, priority: str) -> Route | None:
        return next(
            (r for r in self.routing if r.matches(line=line, product=product, priority=priority)),
            None,
        )


def _duplicates(loc: str, keys: list[str]) -> list[FieldError]:
    seen: set[str] = set()
    errors = []
    for i, key in enumerate(keys):
        if key in seen:
            errors.append(FieldError((loc, i, "key"), f"duplicate key {key!r}"))
        seen.add(key)
    return errors


def graph_errors(spec: ProcessSpec) -> list[FieldError]:
    """What a valid schema can still get wrong: unknown stages, unreachable stages, dead ends."""
    keys = [s.key for s in spec.stages]
    known = set(keys)
    errors = _duplicates("stages", keys)
    errors += _duplicates("pause_states", [p.key for p in spec.pause_states])
    errors += _duplicates("intake", [f.key for f in spec.intake])
    errors += _duplicates("exception_categories", [c.key for c in spec.exception_categories])

    def unknown(loc: tuple[str | int, ...], key: str | None) -> None:
        if key is not None and key not in known:
            errors.append(FieldError(loc, f"unknown stage {key!r}", "unknown_stage"))

    unknown(("start",), spec.start)
    for i, end in enumerate(spec.end):
        unknown(("end", i), end)
    pairs: set[tuple[str, str]] = set()
    for i, t in enumerate(spec.transitions):
        unknown(("transitions", i, "from"), t.source)
        unknown(("transitions", i, "to"), t.target)
        if t.source == t.target:
            errors.append(FieldError(("transitions", i, "to"), "a stage cannot move to itself"))
        if (t.source, t.target) in pairs:
            errors.append(FieldError(("transitions", i), f"duplicate {t.source} → {t.target}"))
        pairs.add((t.source, t.target))
        if t.source in spec.end:
            errors.append(FieldError(("transitions", i, "from"), f"{t.source!r} is an end stage"))
    for i, stage in enumerate(spec.stages):
        if stage.on_fail is not None:
            unknown(("stages", i, "on_fail"), stage.on_fail)
            if stage.on_fail in known and (stage.key, stage.on_fail) not in pairs:
                errors.append(
                    FieldError(
                        ("stages", i, "on_fail"),
                        f"no transition {stage.key} → {stage.on_fail} for a failed checklist",
                    )
                )
        if stage.checklist:
            errors += [
                FieldError(("stages", i, "checklist", m.loc[1], "key"), m.msg)
                for m in _duplicates("checklist", [c.key for c in stage.checklist])
            ]
    for i, route in enumerate(spec.routing):
        unknown(("routing", i, "stage"), route.stage)
    if errors:
        return errors

    entries = [spec.start, *(r.stage for r in spec.routing if r.stage)]
    reachable = _reachable(entries, spec.transitions)
    # Stages from which no end stage can be reached trap every item that enters them.
    finishing = _reachable(list(spec.end), spec.transitions, backwards=True)
    for i, stage in enumerate(spec.stages):
        if stage.key not in reachable:
            errors.append(
                FieldError(
                    ("stages", i, "key"),
                    f"stage {stage.key!r} cannot be reached from {spec.start!r}",
                    "unreachable_stage",
                )
            )
        elif stage.key not in spec.end and not spec.targets(stage.key):
            errors.append(
                FieldError(
                    ("stages", i, "key"),
                    f"stage {stage.key!r} is not an end stage and has no way out",
                    "dead_end",
                )
            )
        elif stage.key not in finishing:
            errors.append(
                FieldError(
                    ("stages", i, "key"),
                    f"no end stage can be reached from stage {stage.key!r}",
                    "dead_end",
                )
            )
    for i, tier in enumerate(spec.escalation.tiers):
        if tier.at.share is not None and spec.sla is None and not any(s.sla for s in spec.stages):
            errors.append(
                FieldError(("escalation", "tiers", i, "at"), "a share needs an SLA to share")
            )
    return errors


def _reachable(
    starts: list[str], transitions: tuple[Transition, ...], *, backwards: bool = False
) -> set[str]:
    following: dict[str, list[str]] = {}
    for t in transitions:
        a, b = (t.target, t.source) if backwards else (t.source, t.target)
        following.setdefault(a, []).append(b)
    seen = set(starts)
    queue = deque(starts)
    while queue:
        for nxt in following.get(queue.popleft(), []):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def parse_spec(data: Any) -> ProcessSpec:
    """Validate a definition document; InvalidInput lists every field at fault."""
    if not isinstance(data, dict):
        raise InvalidInput(
            "a process definition is a mapping", [FieldError((), "expected a mapping")]
        )
    try:
        spec = ProcessSpec.model_validate(data)
    except ValidationError as exc:
        errors = [
            FieldError(tuple(_clean_loc(e["loc"])), _clean_msg(e["msg"]), e["type"])
            for e in exc.errors()
        ]
        # The graph checks need a valid model, but a misspelt stage key is worth reporting
        # in the same run as a misspelt role: one round trip shows every mistake it can.
        seen = {e.loc for e in errors}
        errors += [e for e in _unknown_stage_references(data) if e.loc not in seen]
        raise InvalidInput(_summary(errors), errors) from None
    problems = graph_errors(spec)
    if problems:
        raise InvalidInput(_summary(problems), problems)
    return spec


def _unknown_stage_references(data: dict[str, Any]) -> list[FieldError]:
    """References to stages the document does not define, read from the raw document.

    Only for a document the schema refused: the stage keys that can be read are the known
    ones, and anything that is not plain text is left to the schema's own errors.
    """
    stages = data.get("stages")
    if not isinstance(stages, list):
        return []
    rows = [s for s in stages if isinstance(s, dict)]
    known = {s["key"].strip() for s in rows if isinstance(s.get("key"), str)}
    if not known:
        return []
    refs: list[tuple[tuple[str | int, ...], object]] = [(("start",), data.get("start"))]
    ends = data.get("end")
    refs += [(("end", i), e) for i, e in enumerate(ends)] if isinstance(ends, list) else []
    for name in ("transitions", "routing"):
        entries = data.get(name)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict):
                continue
            fields = ("from", "to") if name == "transitions" else ("stage",)
            refs += [((name, i, f), entry.get(f)) for f in fields]
    refs += [
        (("stages", i, "on_fail"), s.get("on_fail"))
        for i, s in enumerate(stages)
        if isinstance(s, dict)
    ]
    return [
        FieldError(loc, f"unknown stage {key.strip()!r}", "unknown_stage")
        for loc, key in refs
        if isinstance(key, str) and key.strip() not in known
    ]


def _clean_loc(loc: tuple[Any, ...]) -> list[str | int]:
    # Pydantic adds validator names ("function-before[...]") to some paths; users never wrote them.
    return [p for p in loc if not (isinstance(p, str) and ("[" in p or p in {"share", "after"}))]


def _clean_msg(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def _summary(errors: list[FieldError]) -> str:
    first = errors[0]
    where = ".".join(str(p) for p in first.loc) or "definition"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid process definition: {where}: {first.msg}{more}"


def spec_document(spec: ProcessSpec) -> dict[str, Any]:
    """The definition as plain data in the documented shape, durations as text."""
    data = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data.setdefault("key", spec.key)
    _durations_as_text(data)
    return data


def _durations_as_text(node: Any) -> None:
    if isinstance(node, dict):
        for name, value in list(node.items()):
            if name in {"sla", "ack_within", "after"} and isinstance(value, int):
                node[name] = format_duration(value)
            elif name == "at" and isinstance(value, dict):
                if value.get("share") is not None:
                    node[name] = f"{value['share'] * 100:.10g}%"
                elif value.get("after") is not None:
                    node[name] = format_duration(value["after"])
            else:
                _durations_as_text(value)
    elif isinstance(node, list):
        for item in node:
            _durations_as_text(item)
