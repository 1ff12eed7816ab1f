"""Reading submitted forms into the services' Pydantic schemas, and errors back onto fields."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from andon.core.errors import AndonError, InvalidInput

M = TypeVar("M", bound=BaseModel)
FORM_LEVEL = ""  # key of a message about the whole form rather than one field


class FormInvalid(Exception):
    """The form cannot become a valid request; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k or 'form'}: {v}" for k, v in errors.items()))
        self.errors = errors


async def read_form(request: Request) -> FormData:
    """The submitted fields (parsed once; the CSRF check reads the same copy)."""
    return await request.form()


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional_text(form: FormData, name: str) -> str | None:
    return text(form, name) or None


def build(model: type[M], data: dict[str, Any]) -> M:
    """Validate form values into ``model``; FormInvalid names each field at fault."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            loc = [str(p) for p in error["loc"]]
            field = loc[0] if loc else FORM_LEVEL
            errors.setdefault(field, _readable(str(error["msg"])))
        raise FormInvalid(errors) from None


def kind_refs(raw: str, kinds: tuple[str, ...], field: str = "links") -> list[dict[str, str]]:
    """``metric:rework-rate, work_item:42`` (commas, spaces or lines) → ``{"kind", "ref"}``
    links; a part that is not ``KIND:REF`` with one of ``kinds`` is refused on ``field``."""
    found = []
    for part in raw.replace(",", " ").split():
        kind, sep, ref = part.partition(":")
        if not sep or kind not in kinds or not ref:
            raise FormInvalid(
                {field: f"write KIND:REF with KIND one of {', '.join(kinds)}; not {part!r}"}
            )
        found.append({"kind": kind, "ref": ref})
    return found


def refusal(exc: Exception) -> tuple[dict[str, str], int]:
    """The field errors and status a refused form is shown again with: the form's own errors
    (422) or the domain error's. Sign-in, permission and not-found errors are raised again,
    for the error page rather than a form."""
    if isinstance(exc, FormInvalid):
        return exc.errors, 422
    if not isinstance(exc, AndonError):
        raise exc
    if exc.status in (401, 403, 404):
        raise exc
    return errors_from(exc), exc.status


def errors_from(error: AndonError) -> dict[str, str]:
    """A service's refusal as field messages (InvalidInput) or one form-level message."""
    if isinstance(error, InvalidInput) and error.errors:
        errors: dict[str, str] = {}
        for item in error.errors:
            field = str(item.loc[0]) if item.loc else FORM_LEVEL
            errors.setdefault(field, _readable(item.msg))
        return errors
    return {FORM_LEVEL: error.detail}


def _readable(msg: str) -> str:
    return msg.removeprefix("Value error, ")
