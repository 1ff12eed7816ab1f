"""The new work item page: choose a process and line, fill in its intake form, open it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from andon.core.errors import AndonError
from andon.core.uow import Context
from andon.processes.spec import Priority
from andon.web import csrf, flash
from andon.web.forms import FormInvalid, build, read_form, text
from andon.web.session import PageCtx
from andon.web.templating import render
from andon.web.work_floor import read_floor
from andon.web.work_forms import error_paths, intake_inputs, read_item_create
from andon.work import items
from andon.work.rules import stage_name
from andon.work.schemas import ItemCreate

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

PRIORITIES = [(p.value, p.value.capitalize()) for p in Priority]


def _new_page(
    request: Request,
    ctx: Context,
    process_key: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    floor = read_floor(ctx)
    spec = floor.current.get(process_key) if process_key in dict(floor.active) else None
    errors = dict(errors or {})
    if process_key and spec is None and "process" not in errors:
        errors["process"] = f"no active process {process_key!r}; choose one"
    places = sorted(floor.places.values(), key=lambda p: (p.site.code, p.line.code))
    return render(
        request,
        "work/new.html",
        {
            "section": "work",
            "spec": spec,
            "process_key": process_key if spec else "",
            "process_options": [("", "Choose a process"), *floor.active],
            "line_options": [("", "Choose a line")]
            + [
                (str(p.line.id), f"{p.line.code} · {p.line.name} ({p.site.code} / {p.area.name})")
                for p in places
            ],
            "priority_options": PRIORITIES,
            "intake": intake_inputs(spec.intake) if spec else [],
            "values": values or {"quantity": "1", "priority": Priority.NORMAL.value},
            "errors": errors,
        },
        status_code=status_code,
    )


@router.get("/work/new")
def new_item_page(request: Request, ctx: PageCtx, process: str | None = None) -> Response:
    if process is None:
        # One active process: no need to ask which (``?process=`` asks anyway).
        active = [k for k, _ in read_floor(ctx).active]
        process = active[0] if len(active) == 1 else ""
    return _new_page(request, ctx, process.strip())


@router.post("/work/new")
def create_item(request: Request, ctx: PageCtx, form: Form) -> Response:
    process_key = text(form, "process")
    floor = read_floor(ctx)
    spec = floor.current.get(process_key)
    data, values = read_item_create(form, spec.intake if spec else ())
    try:
        item = items.create_item(ctx, build(ItemCreate, data))
    except FormInvalid as exc:
        return _new_page(request, ctx, process_key, values, exc.errors, 422)
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        return _new_page(request, ctx, process_key, values, error_paths(exc), exc.status)
    response = RedirectResponse(f"/work/{item.id}", status_code=303)
    where = stage_name(spec, item.stage)
    flash.put(request, response, f"Created work item #{item.id} at {where}.")
    return response
