"""Work forms: a process's intake form and a stage's checklist, from the spec to inputs and back."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from andon.core.errors import AndonError, InvalidInput
from andon.processes.spec import IntakeField, Stage
from andon.web.forms import FORM_LEVEL, FormInvalid, text
from andon.work.schemas import ChecklistRecord, CheckResultIn

# Intake field type → HTML input type; "choice" is a select and "boolean" a checkbox.
INPUT_TYPES = {"string": "text", "integer": "number", "number": "number", "date": "date"}
ITEM_FIELDS = ("process", "line_id", "title", "product", "quantity", "priority")
PASS, FAIL = "pass", "fail"


def intake_name(field: IntakeField) -> str:
    """The form name of an intake field; the same path the service's errors name it by."""
    return f"fields.{field.key}"


@dataclass(frozen=True)
class IntakeInput:
    """How the template draws one intake field."""

    field: IntakeField
    name: str
    input_type: str  # text | number | date | select | checkbox
    step: str | None

    @property
    def hint(self) -> str:
        f = self.field
        parts = []
        if f.min is not None and f.max is not None:
            parts.append(f"from {f.min:g} to {f.max:g}")
        elif f.min is not None:
            parts.append(f"at least {f.min:g}")
        elif f.max is not None:
            parts.append(f"at most {f.max:g}")
        if f.pattern:
            parts.append(f"format {f.pattern}")
        if f.type == "date":
            parts.append("YYYY-MM-DD")
        return "; ".join(parts)


def intake_inputs(fields: tuple[IntakeField, ...]) -> list[IntakeInput]:
    inputs = []
    for f in fields:
        if f.type == "choice":
            kind = "select"
        elif f.type == "boolean":
            kind = "checkbox"
        else:
            kind = INPUT_TYPES[f.type]
        step = "1" if f.type == "integer" else "any" if f.type == "number" else None
        inputs.append(IntakeInput(f, intake_name(f), kind, step))
    return inputs


def read_item_create(
    form: FormData, intake: tuple[IntakeField, ...]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The ItemCreate data a new-item form sends, and its raw values to refill the form.

    Blank optional inputs are left out so the schema's defaults apply; an unticked boolean
    is ``false`` (a checkbox sends nothing when unticked).
    """
    values = {name: text(form, name) for name in ITEM_FIELDS}
    data: dict[str, Any] = {k: v for k, v in values.items() if v or k in ("process", "line_id")}
    fields: dict[str, Any] = {}
    for f in intake:
        name = intake_name(f)
        raw = text(form, name)
        values[name] = raw
        if f.type == "boolean":
            fields[f.key] = raw in ("true", "on")
        elif raw:
            fields[f.key] = raw
    data["fields"] = fields
    return data, values


def error_paths(error: AndonError) -> dict[str, str]:
    """A refusal as messages keyed by dotted field path (``fields.order_ref``) or form level."""
    if isinstance(error, InvalidInput) and error.errors:
        errors: dict[str, str] = {}
        for item in error.errors:
            path = ".".join(str(p) for p in item.loc)
            errors.setdefault(path or FORM_LEVEL, item.msg.removeprefix("Value error, "))
        return errors
    return {FORM_LEVEL: error.detail}


def read_checklist(form: FormData, stage: Stage) -> ChecklistRecord:
    """Each checklist line's pass/fail, measured value and note; FormInvalid names the lines."""
    results: list[CheckResultIn] = []
    errors: dict[str, str] = {}
    for check in stage.checklist:
        verdict = text(form, f"check.{check.key}")
        raw_value = text(form, f"value.{check.key}")
        value: float | None = None
        if raw_value:
            try:
                value = float(raw_value.replace(",", "."))
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                errors[check.key] = f"{check.text}: enter the measured value as a number"
                continue
        if verdict not in (PASS, FAIL):
            errors[check.key] = f"{check.text}: choose pass or fail"
            continue
        if check.measured is not None and value is None:
            errors[check.key] = f"{check.text}: enter the measured value"
            continue
        note = text(form, f"note.{check.key}")[:500]
        results.append(CheckResultIn(key=check.key, passed=verdict == PASS, value=value, note=note))
    if errors:
        raise FormInvalid(errors)
    return ChecklistRecord(results=results)


def limits_text(stage: Stage, key: str) -> str:
    """ "10.5–12.5 Nm" for a measured checklist line, "" for a plain one."""
    check = next((c for c in stage.checklist if c.key == key), None)
    if check is None or check.measured is None:
        return ""
    m = check.measured
    unit = f" {m.unit}" if m.unit else ""
    if m.min is not None and m.max is not None:
        return f"{m.min:g}–{m.max:g}{unit}"
    if m.min is not None:
        return f"at least {m.min:g}{unit}"
    if m.max is not None:
        return f"at most {m.max:g}{unit}"
    return m.unit
