"""CAPA pages: the list, a new CAPA, and one CAPA with its action, root cause, changes, the
effectiveness check on its control chart, "the next 20" and the forms to check and close."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import FormData

from andon.actions.schemas import PRIORITIES
from andon.core.clock import to_local, utcnow
from andon.core.config import Settings
from andon.core.errors import AndonError
from andon.core.permissions import Action, Role
from andon.core.uow import Context
from andon.improvement import capa as service
from andon.improvement.capa_schemas import (
    CAPA_KINDS,
    CHANGE_KINDS,
    VERDICT_WORDS,
    CapaCreate,
    CapaOut,
    ChangeLink,
)
from andon.improvement.recurrence import next_exceptions
from andon.web import csrf, flash
from andon.web.control_charts import Annotation, control_chart
from andon.web.forms import FormInvalid, build, errors_from, read_form, refusal, text
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

TABS = [("unfinished", "Open"), ("done", "Closed"), ("cancelled", "Cancelled")]
ROLE_OPTIONS = [(r.value, r.value.replace("_", " ")) for r in Role]
CHANGE_NAMES = {
    "document_revision": "Document revision",
    "process_version": "Process version",
    "metric_version": "Metric version",
}


def change_href(kind: str, ref: str) -> str:
    """The page of a linked change: the document, the process or the metric."""
    name = ref.rpartition("/")[0]
    return {
        "document_revision": f"/documents/{name}",
        "process_version": f"/processes/{name}",
        "metric_version": f"/metrics/{name}",
    }[kind]


def _zone(request: Request) -> Any:
    settings: Settings = request.app.state.settings
    return settings.zone


@router.get("/capa")
def list_page(request: Request, ctx: PageCtx) -> Response:
    tab = request.query_params.get("tab", "unfinished")
    if tab not in dict(TABS):
        tab = "unfinished"
    return render(
        request,
        "capa/list.html",
        {
            "section": "improvement",
            "tab": tab,
            "tabs": TABS,
            "rows": service.list_capas(ctx, status=tab),
            "verdicts": VERDICT_WORDS,
            "may_manage": ctx.actor.can(Action.CAPA_MANAGE),
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
        "capa/new.html",
        {
            "section": "improvement",
            "values": values,
            "errors": errors or {},
            "kinds": [(k, k) for k in CAPA_KINDS],
            "priorities": [(p, p) for p in PRIORITIES],
            "roles": ROLE_OPTIONS,
        },
        status_code=status_code,
    )


@router.get("/capa/new")
def new_page(request: Request, ctx: PageCtx) -> Response:
    # From an RCA: /capa/new?rca=3&cause=7
    values = {
        "kind": "corrective",
        "priority": "normal",
        "window_days": "28",
        "rca_id": request.query_params.get("rca", ""),
        "cause_id": request.query_params.get("cause", ""),
        "metric_key": request.query_params.get("metric", ""),
    }
    return _new_page(request, values)


@router.post("/capa/new")
def create(request: Request, ctx: PageCtx, form: Form) -> Response:
    names = (
        "title",
        "description",
        "kind",
        "owner_user",
        "owner_role",
        "due_on",
        "priority",
        "rca_id",
        "cause_id",
        "metric_key",
        "metric_line",
        "effective_on",
        "window_days",
    )
    values = {name: text(form, name) for name in names}
    data: dict[str, Any] = {k: v for k, v in values.items() if v}
    data.setdefault("title", "")
    try:
        capa = service.open_capa(ctx, build(CapaCreate, data))
    except FormInvalid as exc:
        return _new_page(request, values, exc.errors, 422)
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        return _new_page(request, values, errors_from(exc), exc.status)
    response = RedirectResponse(f"/capa/{capa.id}", status_code=303)
    flash.put(request, response, f"Opened CAPA #{capa.id}; its owner is notified.")
    return response


def _detail_page(
    request: Request,
    ctx: Context,
    capa_id: int,
    form_name: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    capa = service.get_capa(ctx, capa_id)
    zone = _zone(request)
    category, line_id = service.exception_category(ctx, capa)
    recurrence = None
    effective_on = capa.check.effective_on if capa.check else capa.effective_on
    if category is not None and effective_on is not None:
        since = datetime.combine(effective_on, time(), tzinfo=zone).astimezone(UTC)
        recurrence = next_exceptions(ctx, category=category, line_id=line_id, since=since)
    return render(
        request,
        "capa/detail.html",
        {
            "section": "improvement",
            "capa": capa,
            "chart_svg": _chart(ctx, capa, zone),
            "recurrence": recurrence,
            "verdicts": VERDICT_WORDS,
            "change_names": CHANGE_NAMES,
            "change_kinds": [(k, CHANGE_NAMES[k]) for k in CHANGE_KINDS],
            "change_href": change_href,
            "may_manage": ctx.actor.can(Action.CAPA_MANAGE),
            "today": to_local(utcnow(), zone).date(),
            "form_errors": {form_name: errors or {}},
            "form_values": {form_name: values or {}},
        },
        status_code=status_code,
    )


def _chart(ctx: Context, capa: CapaOut, zone: Any) -> Markup | None:
    check = capa.check
    if check is None:
        return None
    drawn = service.check_chart(
        ctx,
        check.metric_key,
        effective_on=check.effective_on,
        zone=zone,
        window_days=check.window_days,
        line=check.line,
    )
    if drawn is None:
        return None
    notes = []
    if drawn.before_from is not None:
        notes.append(Annotation(drawn.before_from, "before window"))
    if drawn.after_from is not None:
        notes.append(Annotation(drawn.after_from, f"change effective {check.effective_on}"))
    percent = drawn.unit.strip() == "%"
    return Markup(  # noqa: S704 - control_chart escapes every text
        control_chart(
            drawn.chart,
            title=f"{drawn.name}: {check.window_days} days before and after {check.effective_on}",
            unit="" if percent else drawn.unit,
            annotations=notes,
            percent=percent,
        )
    )


@router.get("/capa/{capa_id}")
def detail_page(request: Request, ctx: PageCtx, capa_id: int) -> Response:
    return _detail_page(request, ctx, capa_id)


def _done(request: Request, capa_id: int, message: str) -> Response:
    return flash.redirect(request, f"/capa/{capa_id}", message)


def _refused(
    request: Request,
    ctx: Context,
    capa_id: int,
    form_name: str,
    exc: Exception,
    values: dict[str, str],
) -> Response:
    errors, status = refusal(exc)
    return _detail_page(request, ctx, capa_id, form_name, errors, values, status)


@router.post("/capa/{capa_id}/check")
def check(request: Request, ctx: PageCtx, capa_id: int, form: Form) -> Response:
    names = ("metric_key", "effective_on", "window_days")
    values = {name: text(form, name) for name in names}
    try:
        on = None
        if values["effective_on"]:
            try:
                on = date.fromisoformat(values["effective_on"])
            except ValueError:
                raise FormInvalid({"effective_on": "a date, YYYY-MM-DD"}) from None
        days = None
        if values["window_days"]:
            if not values["window_days"].isdigit() or not 1 <= int(values["window_days"]) <= 365:
                raise FormInvalid({"window_days": "a number of days from 1 to 365"})
            days = int(values["window_days"])
        found = service.run_check(
            ctx,
            capa_id,
            zone=_zone(request),
            metric_key=values["metric_key"] or None,
            effective_on=on,
            window_days=days,
        )
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, capa_id, "check", exc, values)
    return _done(request, capa_id, f"Checked: {VERDICT_WORDS[found.verdict].lower()}.")


@router.post("/capa/{capa_id}/changes")
def link(request: Request, ctx: PageCtx, capa_id: int, form: Form) -> Response:
    values = {"kind": text(form, "kind"), "ref": text(form, "ref")}
    try:
        service.link_change(ctx, capa_id, build(ChangeLink, values))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, capa_id, "link", exc, values)
    return _done(request, capa_id, f"Linked {values['ref']}.")


@router.post("/capa/{capa_id}/close")
def close(request: Request, ctx: PageCtx, capa_id: int, form: Form) -> Response:
    values = {"note": text(form, "note")}
    try:
        if not values["note"]:
            raise FormInvalid({"note": "say what was done"})
        service.close_capa(ctx, capa_id, note=values["note"])
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, capa_id, "close", exc, values)
    return _done(request, capa_id, f"CAPA #{capa_id} closed.")


@router.post("/capa/{capa_id}/cancel")
def cancel(request: Request, ctx: PageCtx, capa_id: int, form: Form) -> Response:
    values = {"note": text(form, "note")}
    try:
        if not values["note"]:
            raise FormInvalid({"note": "say why it is cancelled"})
        service.cancel_capa(ctx, capa_id, note=values["note"])
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, capa_id, "cancel", exc, values)
    return _done(request, capa_id, f"CAPA #{capa_id} cancelled.")
