"""Process pages: the list, one process's map and definition, its exports, and publishing."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile

from andon.core.errors import AndonError, FieldError, InvalidInput, NotFound
from andon.core.permissions import Action
from andon.core.uow import Context
from andon.processes import service as processes
from andon.processes.bpmn import export_bpmn
from andon.processes.diagram import render_svg
from andon.processes.spec import ProcessSpec, format_duration, spec_document
from andon.processes.spec_yaml import dump_spec_yaml, load_spec_yaml
from andon.web import csrf, flash
from andon.web.forms import FORM_LEVEL, errors_from, read_form, text
from andon.web.session import PageCtx
from andon.web.templating import render
from andon.work import queries

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

# Format → (media type, file extension) of the downloads.
EXPORTS: dict[str, tuple[str, str]] = {
    "yaml": ("application/yaml; charset=utf-8", "yaml"),
    "json": ("application/json", "json"),
    "bpmn": ("application/xml; charset=utf-8", "bpmn"),
}
_LINE = re.compile(r"(line \d+(?: column \d+)?): (.*)", re.DOTALL)


def open_counts(ctx: Context, process_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """Open and late work items per stage key, as the map wants them."""
    counts = queries.stage_counts(ctx, process_id)
    return (
        {stage: total for stage, (total, _) in counts.items()},
        {stage: late for stage, (_, late) in counts.items()},
    )


@router.get("/processes")
def list_page(request: Request, ctx: PageCtx) -> Response:
    return _list_page(request, ctx)


def _list_page(
    request: Request,
    ctx: Context,
    problems: list[str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    rows = []
    for process in processes.list_processes(ctx):
        totals, late = open_counts(ctx, process.id)
        rows.append({"process": process, "open": sum(totals.values()), "late": sum(late.values())})
    return render(
        request,
        "processes/list.html",
        {
            "section": "processes",
            "rows": rows,
            "can_manage": ctx.actor.can(Action.PROCESS_MANAGE),
            "problems": problems or [],
            "values": values or {},
        },
        status_code=status_code,
    )


def _detail_page(
    request: Request,
    ctx: Context,
    key: str,
    number: int | None = None,
    *,
    problems: list[str] | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    process, version, spec = processes.get_version(ctx, key, number)
    totals, late = open_counts(ctx, process.id)
    return render(
        request,
        "processes/detail.html",
        {
            "section": "processes",
            "process": process,
            "version": version,
            "spec": spec,
            "stages": stage_facts(spec),
            "versions": processes.list_versions(ctx, process.key),
            "is_current": version.number == process.current_version,
            "svg": Markup(render_svg(spec, stage_counts=totals, breached=late)),  # noqa: S704 - render_svg escapes every text
            "totals": totals,
            "late": late,
            "duration": format_duration,
            "can_manage": ctx.actor.can(Action.PROCESS_MANAGE),
            "problems": problems or [],
            "values": values or {},
            "form_errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/processes/{key}")
def detail_page(request: Request, ctx: PageCtx, key: str, version: int | None = None) -> Response:
    return _detail_page(request, ctx, key, version)


@router.get("/processes/{key}/export.{fmt}")
def export(ctx: PageCtx, key: str, fmt: str, version: int | None = None) -> Response:
    """The definition as a file: YAML (re-importable), JSON, or BPMN 2.0 XML."""
    if fmt not in EXPORTS:
        raise NotFound(f"no export format {fmt!r}; use yaml, json or bpmn")
    process, stored, spec = processes.get_version(ctx, key, version)
    media_type, extension = EXPORTS[fmt]
    body = _export_body(spec, fmt)
    filename = f"{process.key}-v{stored.number}.{extension}"
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _export_body(spec: ProcessSpec, fmt: str) -> str:
    if fmt == "yaml":
        return dump_spec_yaml(spec)
    if fmt == "bpmn":
        return export_bpmn(spec)
    return json.dumps(spec_document(spec), ensure_ascii=False, indent=2) + "\n"


def _uploaded_text(form: FormData) -> str | None:
    """The chosen file's text, or None when no file was chosen."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    raw = upload.file.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput.for_field("file", "the file is not UTF-8 text") from None


def problem_lines(error: AndonError) -> list[str]:
    """A refusal as the lines to list under the form, each with its "line N:" where known."""
    if not isinstance(error, InvalidInput) or not error.errors:
        return [error.detail]
    return [_problem(e) for e in error.errors]


def _problem(error: FieldError) -> str:
    # A YAML syntax error is about the whole document: its line number says where.
    path = ".".join(str(p) for p in error.loc if p != "yaml")
    if not path:
        return error.msg
    located = _LINE.match(error.msg)
    if located is None:
        return f"{path}: {error.msg}"
    return f"{located.group(1)}: {path}: {located.group(2)}"


def _publish(
    request: Request, ctx: Context, form: FormData, expected_key: str | None
) -> tuple[Response | None, list[str], dict[str, str]]:
    """Publish the submitted YAML; the redirect on success, else the problems to show."""
    pasted = form.get("document")
    values = {
        "document": pasted if isinstance(pasted, str) else "",
        "reason": text(form, "reason"),
    }
    try:
        document = _uploaded_text(form)
        if document is None:
            document = values["document"]
        else:
            values["document"] = document
        if not document.strip():
            raise InvalidInput.for_field("document", "paste the YAML or choose a file")
        if not values["reason"]:
            raise InvalidInput.for_field("reason", "say why this version is published")
        spec = load_spec_yaml(document)
        if expected_key is not None and spec.key != expected_key:
            raise InvalidInput.for_field(
                "key",
                f"the document defines process {spec.key!r}, not {expected_key!r}; "
                "import it from the process list instead",
            )
        published = processes.publish(ctx, spec, reason=values["reason"], source=document)
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        return None, problem_lines(exc), values
    response = RedirectResponse(f"/processes/{published.process.key}", status_code=303)
    if published.created:
        message = f"Created process “{published.spec.name}” (version 1)."
    else:
        message = f"Published version {published.version.number} of “{published.spec.name}”."
    flash.put(request, response, message)
    return response, [], values


@router.post("/processes/import")
def import_process(request: Request, ctx: PageCtx, form: Form) -> Response:
    """Publish a definition from the process list: a new process or a new version."""
    response, problems, values = _publish(request, ctx, form, None)
    if response is not None:
        return response
    return _list_page(request, ctx, problems, values, 422)


@router.post("/processes/{key}/publish")
def publish_version(request: Request, ctx: PageCtx, key: str, form: Form) -> Response:
    process = processes.get_process(ctx, key)
    response, problems, values = _publish(request, ctx, form, process.key)
    if response is not None:
        return response
    return _detail_page(
        request, ctx, process.key, problems=problems, values=values, status_code=422
    )


@router.post("/processes/{key}/active")
def set_active(request: Request, ctx: PageCtx, key: str, form: Form) -> Response:
    active = text(form, "active") == "true"
    reason = text(form, "reason")
    if not reason:
        errors = {"active": {"reason": "say why"}}
        return _detail_page(request, ctx, key, errors=errors, status_code=422)
    try:
        process = processes.set_active(ctx, key, active, reason=reason)
    except AndonError as exc:
        if exc.status in (401, 403, 404):
            raise
        errors = {"active": errors_from(exc) or {FORM_LEVEL: exc.detail}}
        return _detail_page(request, ctx, key, errors=errors, status_code=exc.status)
    response = RedirectResponse(f"/processes/{process.key}", status_code=303)
    state = "active: new items may start" if process.active else "inactive: no new items start"
    flash.put(request, response, f"Process “{process.name}” is {state}.")
    return response


def stage_facts(spec: ProcessSpec) -> list[dict[str, Any]]:
    """What the stage table shows per stage, in definition order."""
    return [
        {
            "stage": stage,
            "start": stage.key == spec.start,
            "end": stage.key in spec.end,
            "ways_out": [spec.stage(t).name for t in spec.targets(stage.key)],
        }
        for stage in spec.stages
    ]
