"""Action pages: "My actions" (mine, all, overdue), one action with its comments, and a new one."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from andon.actions import service
from andon.actions.schemas import (
    LINK_KINDS,
    PRIORITIES,
    ActionCreate,
    ActionFilters,
    ActionLinkOut,
    ActionUpdate,
    CommentCreate,
)
from andon.core.clock import to_local, utcnow
from andon.core.config import Settings
from andon.core.errors import AndonError
from andon.core.permissions import Action, Role
from andon.core.uow import Context
from andon.web import csrf, flash
from andon.web.forms import FormInvalid, build, errors_from, kind_refs, read_form, refusal, text
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

TABS = [("mine", "Mine"), ("all", "All open"), ("overdue", "Overdue"), ("closed", "Closed")]
STATUS_NAMES = {
    "open": "Open",
    "in_progress": "In progress",
    "done": "Done",
    "cancelled": "Cancelled",
}
ROLE_OPTIONS = [(r.value, r.value.replace("_", " ")) for r in Role]


def link_href(link: ActionLinkOut) -> str | None:
    """The page a link points to, where there is one."""
    pages = {
        "work_item": "/work/{}",
        "document": "/documents/{}",
        "metric": "/metrics/{}",
        "exception": "/exceptions/{}",
        "rca": "/rca/{}",
        "capa": "/capa/{}",
        "risk": "/risks/{}",
        "postmortem": "/postmortems/{}",
        "decision": "/decisions/{}",
    }
    pattern = pages.get(link.kind)
    if pattern is None or (link.kind not in {"document", "metric"} and not link.ref.isdigit()):
        return None
    return pattern.format(link.ref)


def _today(request: Request) -> date:
    settings: Settings = request.app.state.settings
    return to_local(utcnow(), settings.zone).date()


@router.get("/actions")
def list_page(request: Request, ctx: PageCtx) -> Response:
    tab = request.query_params.get("tab", "mine" if ctx.actor.user_id else "all")
    if tab not in dict(TABS):
        tab = "mine"
    today = _today(request)
    filters = {
        "mine": ActionFilters(mine=True, status="unfinished", today=today),
        "all": ActionFilters(status="unfinished", today=today),
        "overdue": ActionFilters(overdue=True, today=today),
        "closed": ActionFilters(status="done", today=today),
    }[tab]
    rows = service.list_actions(ctx, filters)
    return render(
        request,
        "actions/list.html",
        {
            "section": "actions",
            "tab": tab,
            "tabs": TABS,
            "rows": rows,
            "today": today,
            "status_names": STATUS_NAMES,
            "link_href": link_href,
            "can_create": ctx.actor.can(Action.ACTION_CREATE),
        },
    )


def _new_page(
    request: Request,
    ctx: Context,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "actions/new.html",
        {
            "section": "actions",
            "values": values or {"priority": "normal"},
            "errors": errors or {},
            "priorities": [(p, p) for p in PRIORITIES],
            "roles": ROLE_OPTIONS,
            "link_kinds": LINK_KINDS,
        },
        status_code=status_code,
    )


@router.get("/actions/new")
def new_page(request: Request, ctx: PageCtx) -> Response:
    values = {"priority": "normal"}
    # A link to open an action about something: /actions/new?link=metric:rework-rate
    values["links"] = request.query_params.get("link", "")
    return _new_page(request, ctx, values)


@router.post("/actions/new")
def create(request: Request, ctx: PageCtx, form: Form) -> Response:
    names = (
        "title",
        "description",
        "owner_user",
        "owner_role",
        "due_on",
        "priority",
        "links",
    )
    values = {name: text(form, name) for name in names}
    data: dict[str, Any] = {
        "title": values["title"],
        "description": values["description"],
        "due_on": values["due_on"] or None,
        "priority": values["priority"] or "normal",
    }
    # Exactly one of the two; the service names the field when both or neither are given.
    data["owner_user"] = values["owner_user"] or None
    data["owner_role"] = values["owner_role"] or None
    try:
        data["links"] = _links(values["links"])
        action, _ = service.open_action(ctx, build(ActionCreate, data))
    except FormInvalid as exc:
        return _new_page(request, ctx, values, exc.errors, 422)
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        return _new_page(request, ctx, values, errors_from(exc), exc.status)
    response = RedirectResponse(f"/actions/{action.id}", status_code=303)
    flash.put(request, response, f"Opened action #{action.id}; its owner is notified.")
    return response


def _links(raw: str) -> list[dict[str, str]]:
    return kind_refs(raw, LINK_KINDS)


def _detail_page(
    request: Request,
    ctx: Context,
    action_id: int,
    form_name: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    action = service.get_action(ctx, action_id)
    today = _today(request)
    return render(
        request,
        "actions/detail.html",
        {
            "section": "actions",
            "action": action,
            "overdue": service.is_overdue(action, today),
            "status_names": STATUS_NAMES,
            "link_href": link_href,
            "may_change": service.may_change(ctx, action),
            "may_manage": ctx.actor.can(Action.ACTION_MANAGE),
            "may_comment": ctx.actor.can(Action.ACTION_CREATE) or service.is_owner(ctx, action),
            "priorities": [(p, p) for p in PRIORITIES],
            "statuses": [("open", "Open"), ("in_progress", "In progress")],
            "roles": ROLE_OPTIONS,
            "form_errors": {form_name: errors or {}},
            "form_values": {form_name: values or {}},
        },
        status_code=status_code,
    )


@router.get("/actions/{action_id}")
def detail_page(request: Request, ctx: PageCtx, action_id: int) -> Response:
    return _detail_page(request, ctx, action_id)


def _done(request: Request, action_id: int, message: str) -> Response:
    return flash.redirect(request, f"/actions/{action_id}", message)


def _refused(
    request: Request,
    ctx: Context,
    action_id: int,
    form_name: str,
    exc: Exception,
    values: dict[str, str],
) -> Response:
    errors, status = refusal(exc)
    return _detail_page(request, ctx, action_id, form_name, errors, values, status)


@router.post("/actions/{action_id}/update")
def update(request: Request, ctx: PageCtx, action_id: int, form: Form) -> Response:
    names = ("version", "status", "due_on", "priority", "owner_user", "owner_role", "reason")
    values = {name: text(form, name) for name in names}
    data = {k: v for k, v in values.items() if v}
    try:
        service.update_action(ctx, action_id, build(ActionUpdate, data))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, action_id, "update", exc, values)
    return _done(request, action_id, f"Action #{action_id} updated.")


@router.post("/actions/{action_id}/comments")
def comment(request: Request, ctx: PageCtx, action_id: int, form: Form) -> Response:
    values = {"body": text(form, "body")}
    try:
        service.comment_action(ctx, action_id, build(CommentCreate, values))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, action_id, "comment", exc, values)
    return _done(request, action_id, "Comment added.")


@router.post("/actions/{action_id}/close")
def close(request: Request, ctx: PageCtx, action_id: int, form: Form) -> Response:
    values = {"version": text(form, "version"), "note": text(form, "note")}
    try:
        if not values["note"]:
            raise FormInvalid({"note": "say what was done"})
        version = int(values["version"]) if values["version"].isdigit() else None
        service.close_action(ctx, action_id, note=values["note"], version=version)
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, action_id, "close", exc, values)
    return _done(request, action_id, f"Action #{action_id} closed.")


@router.post("/actions/{action_id}/cancel")
def cancel(request: Request, ctx: PageCtx, action_id: int, form: Form) -> Response:
    values = {"version": text(form, "version"), "note": text(form, "note")}
    try:
        if not values["note"]:
            raise FormInvalid({"note": "say why it is cancelled"})
        version = int(values["version"]) if values["version"].isdigit() else None
        service.cancel_action(ctx, action_id, note=values["note"], version=version)
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, action_id, "cancel", exc, values)
    return _done(request, action_id, f"Action #{action_id} cancelled.")
