"""Postmortem pages: the list with its search box, a new one (from a line stop), and one
postmortem (read view; while a draft, the edit forms, its timeline and blameless prompts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from andon.core.clock import to_local
from andon.core.config import Settings
from andon.core.errors import AndonError, PermissionDenied
from andon.core.permissions import Action, authorize_somewhere
from andon.core.uow import Context
from andon.improvement import postmortems as service
from andon.improvement.postmortem_schemas import (
    ENTRY_KINDS,
    KINDS,
    EntryIn,
    PostmortemCreate,
    PostmortemUpdate,
)
from andon.web import csrf, flash
from andon.web.forms import FormInvalid, build, errors_from, read_form, refusal, text
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

STATUS_NAMES = {"draft": "Draft", "in_review": "In review", "published": "Published"}
KIND_NAMES = {"line_stop": "Line stop", "missed_shipment": "Missed shipment", "other": "Other"}
EDIT_FIELDS = (
    "title",
    "summary",
    "impact_items",
    "impact_hours",
    "impact_cost",
    "impact_currency",
    "what_happened",
    "why",
    "rca_id",
    "changes",
)


def _may(ctx: Context, action: Action) -> bool:
    try:
        authorize_somewhere(ctx.actor, action)
    except PermissionDenied:
        return False
    return True


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _local_input(request: Request, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return to_local(moment, _settings(request).zone).strftime("%Y-%m-%dT%H:%M")


def _instant(request: Request, value: str) -> datetime | None:
    """A ``datetime-local`` field, read in the display zone."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_settings(request).zone)
    return moment


@router.get("/postmortems")
def list_page(request: Request, ctx: PageCtx) -> Response:
    query = request.query_params.get("q", "").strip()
    hits = None
    error = ""
    if query:
        try:
            hits = service.search_postmortems(ctx, query)
        except AndonError as exc:
            error = errors_from(exc).get("q") or exc.detail
    return render(
        request,
        "postmortems/list.html",
        {
            "section": "improvement",
            "rows": service.list_postmortems(ctx),
            "q": query,
            "hits": hits,
            "search_error": error,
            "status_names": STATUS_NAMES,
            "kind_names": KIND_NAMES,
            "can_write": _may(ctx, Action.POSTMORTEM_WRITE),
        },
    )


def _new_page(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    facts: service.IncidentFacts | None = None,
) -> Response:
    return render(
        request,
        "postmortems/new.html",
        {
            "section": "improvement",
            "values": values,
            "facts": facts,
            "errors": errors or {},
            "kinds": [(k, KIND_NAMES[k]) for k in KINDS],
        },
        status_code=status_code,
    )


@router.get("/postmortems/new")
def new_page(request: Request, ctx: PageCtx) -> Response:
    authorize_somewhere(ctx.actor, Action.POSTMORTEM_WRITE)
    values = {"kind": "other"}
    facts = None
    line_stop = request.query_params.get("line_stop", "")
    item = request.query_params.get("item", "")
    if line_stop.isdigit():
        facts = service.line_stop_facts(ctx, int(line_stop))
        values.update(kind="line_stop", line_stop_id=line_stop, title=facts.suggested_title)
    elif item.isdigit():
        values.update(kind="missed_shipment", work_item_id=item)
    return _new_page(request, values, facts=facts)


@router.post("/postmortems/new")
def create(request: Request, ctx: PageCtx, form: Form) -> Response:
    names = ("title", "kind", "line_stop_id", "work_item_id", "line_id", "started_at", "ended_at")
    values = {name: text(form, name) for name in (*names, "summary")}
    data: dict[str, Any] = {name: values[name] or None for name in names}
    data["kind"] = values["kind"] or "other"
    data["summary"] = values["summary"]
    for name in ("started_at", "ended_at"):
        if values[name]:
            data[name] = _instant(request, values[name]) or values[name]
    try:
        pm = service.create_postmortem(ctx, build(PostmortemCreate, data))
    except FormInvalid as exc:
        return _new_page(request, values, exc.errors, 422)
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        return _new_page(request, values, errors_from(exc), exc.status)
    return _done(request, pm.id, f"Started postmortem #{pm.id} with its timeline.")


def _detail_page(
    request: Request,
    ctx: Context,
    postmortem_id: int,
    form_name: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    pm = service.get_postmortem(ctx, postmortem_id)
    writer = _may(ctx, Action.POSTMORTEM_WRITE)
    reviewer = _may(ctx, Action.POSTMORTEM_PUBLISH) and pm.created_by != ctx.actor.username
    return render(
        request,
        "postmortems/detail.html",
        {
            "section": "improvement",
            "pm": pm,
            "follow_ups": service.follow_ups(ctx, pm.id),
            "status_names": STATUS_NAMES,
            "kind_names": KIND_NAMES,
            "entry_kinds": [(k, k.replace("_", " ")) for k in ENTRY_KINDS],
            "may_edit": writer and pm.status == "draft",
            "may_review": reviewer and pm.status == "in_review",
            "local_input": lambda moment: _local_input(request, moment),
            "form_errors": {form_name: errors or {}},
            "form_values": {form_name: values or {}},
        },
        status_code=status_code,
    )


@router.get("/postmortems/{postmortem_id}")
def detail_page(request: Request, ctx: PageCtx, postmortem_id: int) -> Response:
    return _detail_page(request, ctx, postmortem_id)


def _done(request: Request, postmortem_id: int, message: str) -> Response:
    return flash.redirect(request, f"/postmortems/{postmortem_id}", message)


def _refused(
    request: Request,
    ctx: Context,
    postmortem_id: int,
    form_name: str,
    exc: Exception,
    values: dict[str, str],
) -> Response:
    errors, status = refusal(exc)
    return _detail_page(request, ctx, postmortem_id, form_name, errors, values, status)


@router.post("/postmortems/{postmortem_id}/edit")
def edit(request: Request, ctx: PageCtx, postmortem_id: int, form: Form) -> Response:
    values = {name: text(form, name) for name in ("version", *EDIT_FIELDS)}
    data: dict[str, Any] = {name: values[name] for name in EDIT_FIELDS}
    data["version"] = values["version"] or None
    # Blank numbers and currency clear them; a blank RCA unlinks it (0).
    for name in ("impact_items", "impact_hours", "impact_cost", "impact_currency"):
        data[name] = values[name] or None
    data["rca_id"] = values["rca_id"] or 0
    try:
        service.update_postmortem(ctx, postmortem_id, build(PostmortemUpdate, data))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, postmortem_id, "edit", exc, values)
    return _done(request, postmortem_id, "Saved.")


def _entry_data(request: Request, form: FormData) -> tuple[dict[str, str], dict[str, Any]]:
    values = {name: text(form, name) for name in ("at", "kind", "title", "ref", "note")}
    data: dict[str, Any] = {
        "at": _instant(request, values["at"]) or values["at"] or None,
        "kind": values["kind"] or "note",
        "title": values["title"],
        "ref": values["ref"] or None,
        "note": values["note"],
    }
    return values, data


@router.post("/postmortems/{postmortem_id}/entries")
def add_entry(request: Request, ctx: PageCtx, postmortem_id: int, form: Form) -> Response:
    values, data = _entry_data(request, form)
    try:
        service.add_entry(ctx, postmortem_id, build(EntryIn, data))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, postmortem_id, "entry", exc, values)
    return _done(request, postmortem_id, "Timeline entry added.")


@router.post("/postmortems/{postmortem_id}/entries/{entry_id}")
def edit_entry(
    request: Request, ctx: PageCtx, postmortem_id: int, entry_id: int, form: Form
) -> Response:
    values, data = _entry_data(request, form)
    try:
        service.update_entry(ctx, postmortem_id, entry_id, build(EntryIn, data))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, postmortem_id, f"entry-{entry_id}", exc, values)
    return _done(request, postmortem_id, "Timeline entry saved.")


@router.post("/postmortems/{postmortem_id}/entries/{entry_id}/remove")
def remove_entry(request: Request, ctx: PageCtx, postmortem_id: int, entry_id: int) -> Response:
    try:
        service.remove_entry(ctx, postmortem_id, entry_id)
    except AndonError as exc:
        return _refused(request, ctx, postmortem_id, f"entry-{entry_id}", exc, {})
    return _done(request, postmortem_id, "Timeline entry removed.")


def _version(form: FormData) -> int | None:
    value = text(form, "version")
    return int(value) if value.isdigit() else None


@router.post("/postmortems/{postmortem_id}/submit")
def submit(request: Request, ctx: PageCtx, postmortem_id: int, form: Form) -> Response:
    try:
        service.submit_postmortem(ctx, postmortem_id, version=_version(form))
    except AndonError as exc:
        return _refused(request, ctx, postmortem_id, "submit", exc, {})
    return _done(request, postmortem_id, "Sent for review.")


@router.post("/postmortems/{postmortem_id}/publish")
def publish(request: Request, ctx: PageCtx, postmortem_id: int, form: Form) -> Response:
    try:
        service.publish_postmortem(ctx, postmortem_id, version=_version(form))
    except AndonError as exc:
        return _refused(request, ctx, postmortem_id, "review", exc, {})
    return _done(request, postmortem_id, "Published: it is read-only and found by search.")


@router.post("/postmortems/{postmortem_id}/return")
def return_(request: Request, ctx: PageCtx, postmortem_id: int, form: Form) -> Response:
    values = {"reason": text(form, "reason")}
    try:
        service.return_postmortem(
            ctx, postmortem_id, reason=values["reason"], version=_version(form)
        )
    except AndonError as exc:
        return _refused(request, ctx, postmortem_id, "review", exc, values)
    return _done(request, postmortem_id, "Returned to draft.")
