"""Decision-log pages: the log with the decisions due a revisit, a new decision, and one
decision with its chain of reopened and superseding decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from andon.core.clock import to_local, utcnow
from andon.core.config import Settings
from andon.core.errors import AndonError, PermissionDenied
from andon.core.permissions import Action, authorize_somewhere
from andon.core.uow import Context
from andon.improvement import decisions as service
from andon.improvement.decision_schemas import DecisionCreate, DecisionReopen, DecisionSettle
from andon.web import csrf, flash
from andon.web.forms import FormInvalid, build, errors_from, read_form, refusal, text
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

STATUS_NAMES = {"settled": "Settled", "reopened": "Reopened", "superseded": "Superseded"}
LINK_FIELDS = ("metrics", "document_revisions", "process_versions", "rcas")
PARTY_FIELDS = ("decides", "consulted", "informed")


def _may_record(ctx: Context) -> bool:
    try:
        authorize_somewhere(ctx.actor, Action.DECISION_RECORD)
    except PermissionDenied:
        return False
    return True


def _words(raw: str) -> list[str]:
    return raw.replace(",", " ").split()


def _options(raw: str) -> list[dict[str, str]]:
    """One option a line: ``name | pros | cons``."""
    found = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        name, _, rest = line.partition("|")
        pros, _, cons = rest.partition("|")
        found.append({"name": name.strip(), "pros": pros.strip(), "cons": cons.strip()})
    return found


@router.get("/decisions")
def list_page(request: Request, ctx: PageCtx) -> Response:
    settings: Settings = request.app.state.settings
    today = to_local(utcnow(), settings.zone).date()
    return render(
        request,
        "decisions/list.html",
        {
            "section": "improvement",
            "rows": service.list_decisions(ctx),
            "due": service.due_for_revisit(ctx, today=today),
            "status_names": STATUS_NAMES,
            "can_record": _may_record(ctx),
        },
    )


def _new_page(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "decisions/new.html",
        {"section": "improvement", "values": values, "errors": errors or {}},
        status_code=status_code,
    )


@router.get("/decisions/new")
def new_page(request: Request, ctx: PageCtx) -> Response:
    authorize_somewhere(ctx.actor, Action.DECISION_RECORD)
    return _new_page(request, {})


@router.post("/decisions/new")
def create(request: Request, ctx: PageCtx, form: Form) -> Response:
    names = (
        "title",
        "decision",
        "context",
        "options",
        "decided_on",
        "revisit_on",
        *PARTY_FIELDS,
        *LINK_FIELDS,
    )
    values = {name: text(form, name) for name in names}
    data: dict[str, Any] = {
        "title": values["title"],
        "decision": values["decision"],
        "context": values["context"],
        "options": _options(values["options"]),
        "decided_on": values["decided_on"] or None,
        "revisit_on": values["revisit_on"] or None,
    }
    for name in (*PARTY_FIELDS, *LINK_FIELDS):
        data[name] = _words(values[name])
    try:
        found = service.record_decision(ctx, build(DecisionCreate, data))
    except FormInvalid as exc:
        return _new_page(request, values, exc.errors, 422)
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        return _new_page(request, values, errors_from(exc), exc.status)
    return _done(request, found.id, f"Recorded decision #{found.id}.")


def _detail_page(
    request: Request,
    ctx: Context,
    decision_id: int,
    form_name: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "decisions/detail.html",
        {
            "section": "improvement",
            "d": service.get_decision(ctx, decision_id),
            "status_names": STATUS_NAMES,
            "can_record": _may_record(ctx),
            "form_errors": {form_name: errors or {}},
            "form_values": {form_name: values or {}},
        },
        status_code=status_code,
    )


@router.get("/decisions/{decision_id}")
def detail_page(request: Request, ctx: PageCtx, decision_id: int) -> Response:
    return _detail_page(request, ctx, decision_id)


def _done(request: Request, decision_id: int, message: str) -> Response:
    return flash.redirect(request, f"/decisions/{decision_id}", message)


def _refused(
    request: Request,
    ctx: Context,
    decision_id: int,
    form_name: str,
    exc: Exception,
    values: dict[str, str],
) -> Response:
    errors, status = refusal(exc)
    return _detail_page(request, ctx, decision_id, form_name, errors, values, status)


@router.post("/decisions/{decision_id}/reopen")
def reopen(request: Request, ctx: PageCtx, decision_id: int, form: Form) -> Response:
    values = {name: text(form, name) for name in ("version", "reason", "title")}
    data = {
        "version": values["version"] or None,
        "reason": values["reason"],
        "title": values["title"] or None,
    }
    try:
        found = service.reopen_decision(ctx, decision_id, build(DecisionReopen, data))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, decision_id, "reopen", exc, values)
    return _done(request, found.id, f"Reopened as decision #{found.id}; settle it when decided.")


@router.post("/decisions/{decision_id}/settle")
def settle(request: Request, ctx: PageCtx, decision_id: int, form: Form) -> Response:
    names = ("version", "decision", "decided_on", "revisit_on")
    values = {name: text(form, name) for name in names}
    data = {name: values[name] or None for name in names}
    try:
        found = service.settle_decision(ctx, decision_id, build(DecisionSettle, data))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, decision_id, "settle", exc, values)
    return _done(request, found.id, f"Decision #{found.id} settled.")
