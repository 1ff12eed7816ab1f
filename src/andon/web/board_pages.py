"""The andon board: every line's status at a glance, and one line's cord, sign-offs and rules."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from andon.core.errors import AndonError, NotFound
from andon.core.permissions import Action, Scope
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.models import Line
from andon.processes.spec import Severity
from andon.web import csrf, flash
from andon.web.forms import FormInvalid, build, errors_from, read_form, text
from andon.web.session import PageCtx, optional_actor, page_context
from andon.web.templating import render
from andon.work import exceptions, line_stops
from andon.work.schemas import LineSignoff, LineStopRequest, StopRuleCreate

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

REFRESH_SECONDS = 5
HTMX_STOP_POLLING = 286  # htmx stops an "every" trigger when a poll answers with this status
HISTORY = 20
RULE_KINDS = [("exception", "An exception is raised"), ("failed_checks", "Checks keep failing")]
SIGNOFF_ROLES = [("", "My role"), ("supervisor", "Supervisor"), ("quality", "Quality")]


def _tiles_context(ctx: Context) -> dict[str, Any]:
    rows = line_stops.board(ctx)
    return {
        "rows": rows,
        "stopped": sum(1 for r in rows if r.status == "stopped"),
        "refresh_seconds": REFRESH_SECONDS,
    }


@router.get("/board")
def board_page(request: Request, ctx: PageCtx) -> Response:
    return render(request, "board/board.html", {"section": "board", **_tiles_context(ctx)})


@router.get("/board/tiles")
def board_tiles(request: Request) -> Response:
    """The tiles alone, which the board page polls; a signed-out poll stops the polling."""
    actor = optional_actor(request)
    if actor is None:
        # A wall screen outlives its session: say so in place of the tiles, not a login form.
        return HTMLResponse(
            '<p class="alert" role="alert">Signed out: the board is no longer updating. '
            '<a href="/login?next=/board">Sign in again</a>.</p>',
            status_code=HTMX_STOP_POLLING if request.headers.get("HX-Request") else 401,
            headers={"Cache-Control": "no-store"},
        )
    return render(request, "board/_tiles.html", _tiles_context(page_context(request, actor)))


def _scope(ctx: Context, line: Line) -> Scope:
    area = plant.get_area(ctx, line.area_id)
    return Scope(site_id=area.site_id, area_id=area.id)


def _line_page(
    request: Request,
    ctx: Context,
    line_id: int,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    line = plant.get_line(ctx, line_id)
    row = next((r for r in line_stops.board(ctx) if r.line.id == line.id), None)
    if row is None:
        raise NotFound(f"no line with id {line_id}")
    scope = _scope(ctx, line)
    categories = exceptions.known_categories(ctx)
    return render(
        request,
        "board/line.html",
        {
            "section": "board",
            "row": row,
            "line": line,
            "rules": line_stops.list_rules(ctx, line.id),
            "stops": line_stops.list_stops(ctx, line.id, HISTORY),
            "can_stop": ctx.actor.can(Action.LINE_STOP, scope),
            "can_sign": ctx.actor.can(Action.LINE_RESTART, scope),
            "can_rules": ctx.actor.can(Action.LINE_RULES, scope),
            "can_follow": ctx.actor.user_id is not None,
            "category_names": {key: name for key, (name, _) in categories.items()},
            "category_options": [("", "Any category")]
            + [(key, name) for key, (name, _) in sorted(categories.items())],
            "severity_options": [("", "Any severity")]
            + [(s.value, f"{s.value} or worse") for s in Severity],
            "rule_kinds": RULE_KINDS,
            "signoff_roles": SIGNOFF_ROLES,
            "form_errors": errors or {},
            "form_values": values or {},
        },
        status_code=status_code,
    )


@router.get("/board/lines/{line_id}")
def line_page(request: Request, ctx: PageCtx, line_id: int) -> Response:
    return _line_page(request, ctx, line_id)


def _done(request: Request, line_id: int, message: str) -> Response:
    response = RedirectResponse(f"/board/lines/{line_id}", status_code=303)
    flash.put(request, response, message)
    return response


def _refused(
    request: Request,
    ctx: Context,
    line_id: int,
    form_name: str,
    error: AndonError | FormInvalid,
    values: dict[str, str] | None = None,
) -> Response:
    """The line page again, the refusal shown on the form that caused it."""
    if isinstance(error, FormInvalid):
        return _line_page(
            request, ctx, line_id, {form_name: error.errors}, {form_name: values or {}}, 422
        )
    if error.status in (401, 403, 404):
        raise error
    errors = errors_from(error)
    return _line_page(
        request, ctx, line_id, {form_name: errors}, {form_name: values or {}}, error.status
    )


@router.post("/board/lines/{line_id}/stop")
def pull_cord(request: Request, ctx: PageCtx, line_id: int, form: Form) -> Response:
    values = {"reason": text(form, "reason")}
    try:
        data = build(LineStopRequest, values)
        line_stops.pull_cord(ctx, line_id, data.reason)
    except (AndonError, FormInvalid) as exc:
        return _refused(request, ctx, line_id, "stop", exc, values)
    line = plant.get_line(ctx, line_id)
    return _done(request, line_id, f"Line {line.code} is STOPPED. Restart needs two sign-offs.")


@router.post("/board/lines/{line_id}/signoff")
def sign_off(request: Request, ctx: PageCtx, line_id: int, form: Form) -> Response:
    values = {"reason": text(form, "reason"), "as_role": text(form, "as_role")}
    try:
        data = build(LineSignoff, {"reason": values["reason"]})
        stop = line_stops.sign_off_restart(
            ctx, line_id, data.reason, as_role=values["as_role"] or None
        )
    except (AndonError, FormInvalid) as exc:
        return _refused(request, ctx, line_id, "signoff", exc, values)
    line = plant.get_line(ctx, line_id)
    if stop.restarted_at is not None:
        message = f"Line {line.code} is RUNNING again: supervisor and quality signed off."
    else:
        message = f"Sign-off recorded for line {line.code}; it restarts after the second one."
    return _done(request, line_id, message)


@router.post("/board/lines/{line_id}/rules")
def add_rule(request: Request, ctx: PageCtx, line_id: int, form: Form) -> Response:
    names = ("name", "kind", "category", "min_severity", "count", "window_minutes")
    values = {name: text(form, name) for name in names}
    try:
        data = build(StopRuleCreate, {k: v for k, v in values.items() if v})
        rule = line_stops.add_rule(ctx, line_id, data)
    except (AndonError, FormInvalid) as exc:
        return _refused(request, ctx, line_id, "rule", exc, values)
    return _done(request, line_id, f"Added stop rule “{rule.name}”.")


@router.post("/board/lines/{line_id}/rules/{rule_id}/delete")
def remove_rule(request: Request, ctx: PageCtx, line_id: int, rule_id: int, form: Form) -> Response:
    try:
        line_stops.remove_rule(ctx, rule_id, reason=text(form, "reason") or None)
    except AndonError as exc:
        return _refused(request, ctx, line_id, "rules", exc)
    return _done(request, line_id, f"Removed stop rule {rule_id}.")


@router.post("/board/lines/{line_id}/subscription")
def set_subscription(request: Request, ctx: PageCtx, line_id: int, form: Form) -> Response:
    wanted = text(form, "subscribed") == "true"
    try:
        line_stops.subscribe(ctx, line_id, subscribed=wanted)
    except AndonError as exc:
        return _refused(request, ctx, line_id, "follow", exc)
    line = plant.get_line(ctx, line_id)
    if wanted:
        return _done(request, line_id, f"You will be notified when line {line.code} stops.")
    return _done(request, line_id, f"You will no longer be notified about line {line.code}.")
