"""Checking a work item's intake fields against the process's intake form (pure)."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from andon.core.errors import FieldError, InvalidInput
from andon.processes.spec import IntakeField, ProcessSpec


def validate_fields(
    spec: ProcessSpec, given: dict[str, Any], *, loc: tuple[str | int, ...] = ("fields",)
) -> dict[str, Any]:
    """The fields as stored (typed, in form order); every problem reported at once."""
    known = {f.key: f for f in spec.intake}
    errors = [
        FieldError((*loc, name), f"not a field of the {spec.name} intake form")
        for name in given
        if name not in known
    ]
    clean: dict[str, Any] = {}
    for form_field in spec.intake:
        raw = given.get(form_field.key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if form_field.required:
                errors.append(FieldError((*loc, form_field.key), "is required", "missing"))
            continue
        try:
            clean[form_field.key] = _coerce(form_field, raw)
        except ValueError as exc:
            errors.append(FieldError((*loc, form_field.key), str(exc)))
    if errors:
        where = ".".join(str(p) for p in errors[0].loc)
        raise InvalidInput(f"{where}: {errors[0].msg}", errors)
    return clean


def _coerce(f: IntakeField, raw: Any) -> Any:
    if f.type == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in {"true", "yes", "1", "on"}:
            return True
        if isinstance(raw, str) and raw.strip().lower() in {"false", "no", "0", "off"}:
            return False
        raise ValueError("must be true or false")
    if f.type in {"integer", "number"}:
        value = _number(raw, integer=f.type == "integer")
        if f.min is not None and value < f.min:
            raise ValueError(f"must be at least {f.min:g}")
        if f.max is not None and value > f.max:
            raise ValueError(f"must be at most {f.max:g}")
        return value
    if f.type == "date":
        try:
            return date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValueError("must be a date written YYYY-MM-DD") from None
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ValueError("must be text")
    text = str(raw).strip()
    if f.type == "choice":
        if text not in f.choices:
            raise ValueError(f"must be one of: {', '.join(f.choices)}")
        return text
    if f.max_length is not None and len(text) > f.max_length:
        raise ValueError(f"must be at most {f.max_length} characters")
    if f.pattern is not None and re.fullmatch(f.pattern, text) is None:
        raise ValueError(f"must match the pattern {f.pattern}")
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


def _number(raw: Any, *, integer: bool) -> int | float:
    if isinstance(raw, bool):
        raise ValueError("must be a number")
    try:
        value = float(raw) if not isinstance(raw, int) else raw
    except (TypeError, ValueError):
        raise ValueError("must be a number") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value
