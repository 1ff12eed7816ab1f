"""Exception pages: the filtered list, raising one, triage and resolution, and the Pareto."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from andon.accounts import service as accounts
from andon.accounts.models import User
from andon.core import audit_queries
from andon.core.clock import to_local, utcnow
from andon.core.config import Settings
from andon.core.errors import AndonError
from andon.core.permissions import Action, Actor, Scope
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.models import Line
from andon.processes.spec import Severity
from andon.web import csrf, flash
from andon.web.audit_pages import entry_rows
from andon.web.forms import FormInvalid, build, errors_from, read_form, text
from andon.web.rca_pages import start_href
from andon.web.session import PageCtx
from andon.web.templating import render
from andon.work import exceptions, line_stops
from andon.work.exceptions import ParetoBar
from andon.work.models import PlantException
from andon.work.schemas import ExceptionRaise, ExceptionResolve, ExceptionTriage

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

STATUSES = [
    ("", "Any status"),
    ("unresolved", "Not resolved"),
    ("open", "Open"),
    ("triaged", "Triaged"),
    ("resolved", "Resolved"),
]
PARETO_BY = [("category", "Category"), ("line", "Line"), ("severity", "Severity")]
PARETO_DAYS = 30
PAGE_SIZE = 50


def _line_options(ctx: Context) -> dict[int, Line]:
    """Every line by id, ordered by code, for selects and for naming lines in tables."""
    tree = plant.plant_tree(ctx)
    found = [line for group in tree.lines.values() for line in group]
    return {line.id: line for line in sorted(found, key=lambda line: line.code)}


def _may_raise_somewhere(actor: Actor) -> bool:
    scopes = [Scope()] + [Scope(g.site_id, g.area_id) for g in actor.grants]
    return any(actor.can(Action.EXCEPTION_RAISE, scope) for scope in scopes)


def _filters(params: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The list filter's values as typed, and errors for the ones that cannot be used."""
    values = {name: params.get(name, "").strip() for name in ("status", "line", "category")}
    errors: dict[str, str] = {}
    if values["status"] not in {key for key, _ in STATUSES}:
        errors["status"] = "choose a status from the list"
    if values["line"] and not values["line"].isdigit():
        errors["line"] = "choose a line from the list"
    return values, errors


def _list_page(
    request: Request,
    ctx: Context,
    errors: dict[str, str] | None = None,
    raised: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    values, filter_errors = _filters(request.query_params)
    cursor = request.query_params.get("cursor") or None
    rows: list[PlantException] = []
    older = None
    if not filter_errors:
        page = exceptions.list_exceptions(
            ctx,
            status=values["status"] or None,
            line_id=int(values["line"]) if values["line"] else None,
            category=values["category"] or None,
            cursor=cursor,
            limit=PAGE_SIZE,
        )
        rows = page.items
        if page.next_cursor:
            kept = {k: v for k, v in values.items() if v}
            older = "/exceptions?" + urlencode({**kept, "cursor": page.next_cursor})
    else:
        status_code = 422
    line_by_id = _line_options(ctx)
    categories = exceptions.known_categories(ctx)
    category_names = {key: name for key, (name, _) in categories.items()}
    raise_values = raised or {"line_id": values["line"]}
    return render(
        request,
        "exceptions/list.html",
        {
            "section": "exceptions",
            "rows": rows,
            "older": older,
            "paged": bool(cursor),
            "filters": values,
            "filter_errors": filter_errors,
            "statuses": STATUSES,
            "lines": line_by_id,
            "line_options": [(str(i), f"{ln.code} · {ln.name}") for i, ln in line_by_id.items()],
            "category_names": category_names,
            "category_options": [
                (key, f"{name} (default {severity.value})")
                for key, (name, severity) in sorted(categories.items())
            ],
            "severity_options": [("", "The category's default")]
            + [(s.value, s.value) for s in Severity],
            "can_raise": _may_raise_somewhere(ctx.actor),
            "errors": errors or {},
            "raise_values": raise_values,
        },
        status_code=status_code,
    )


@router.get("/exceptions")
def list_page(request: Request, ctx: PageCtx) -> Response:
    return _list_page(request, ctx)


@router.post("/exceptions")
def raise_exception(request: Request, ctx: PageCtx, form: Form) -> Response:
    values = {name: text(form, name) for name in ("line_id", "category", "severity")}
    description = form.get("description")
    values["description"] = description.strip() if isinstance(description, str) else ""
    data = {k: v for k, v in values.items() if v or k == "description"}
    try:
        exception = exceptions.raise_exception(ctx, build(ExceptionRaise, data))
    except FormInvalid as exc:
        return _list_page(request, ctx, exc.errors, values, 422)
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        return _list_page(request, ctx, errors_from(exc), values, exc.status)
    message = f"Raised exception #{exception.id}."
    stopped = next((r for r in line_stops.board(ctx) if r.line.id == exception.line_id), None)
    if stopped is not None and stopped.stop and stopped.stop.exception_id == exception.id:
        message += f" Line {stopped.line.code} stopped by rule “{stopped.stop.rule}”."
    response = RedirectResponse(f"/exceptions/{exception.id}", status_code=303)
    flash.put(request, response, message)
    return response


def _user_label(ctx: Context, user_id: int | None, known: list[User] | None = None) -> str:
    """A user's name where the viewer may read it (or triages here), else their number."""
    if user_id is None:
        return "—"
    if user_id == ctx.actor.user_id:
        return f"{ctx.actor.username} (you)"
    found = next((u for u in known or [] if u.id == user_id), None)
    if found is not None:
        return found.username
    if ctx.actor.can(Action.USER_READ):
        return accounts.get_user(ctx, user_id).username
    return f"user #{user_id}"


def _owner_options(ctx: Context, candidates: list[User]) -> list[tuple[str, str]]:
    """Who an exception can be given to: the viewer first, then everyone else eligible."""
    options = [("", "Keep the current owner")]
    if any(u.id == ctx.actor.user_id for u in candidates):
        options.append((str(ctx.actor.user_id), f"Me ({ctx.actor.username})"))
    options += [
        (str(u.id), f"{u.display_name} ({u.username})")
        for u in candidates
        if u.id != ctx.actor.user_id
    ]
    return options


def _detail_page(
    request: Request,
    ctx: Context,
    exception_id: int,
    form_name: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    exception = exceptions.get_exception(ctx, exception_id)
    line = plant.get_line(ctx, exception.line_id)
    area = plant.get_area(ctx, line.area_id)
    scope = Scope(site_id=area.site_id, area_id=area.id)
    categories = exceptions.known_categories(ctx)
    can_manage = ctx.actor.can(Action.EXCEPTION_MANAGE, scope)
    # Only a triager needs the people who may own it (and may be shown them).
    candidates = exceptions.owner_candidates(ctx, exception.id) if can_manage else []
    history = None
    if ctx.actor.can(Action.AUDIT_READ):
        entries = audit_queries.entity_history(ctx, "exception", exception.id)
        history = entry_rows(reversed(entries))
    category_names = {key: name for key, (name, _) in categories.items()}
    category_options = sorted(category_names.items())
    if exception.category not in categories:
        category_options.insert(0, (exception.category, exception.category))
    return render(
        request,
        "exceptions/detail.html",
        {
            "section": "exceptions",
            "exception": exception,
            "line": line,
            "category_name": category_names.get(exception.category, exception.category),
            "category_options": category_options,
            "severity_options": [(s.value, s.value) for s in Severity],
            "owner": _user_label(ctx, exception.owner_id, candidates),
            "owner_options": _owner_options(ctx, candidates),
            "can_manage": can_manage,
            "history": history,
            "form_errors": {form_name: errors or {}},
            "form_values": {form_name: values or {}},
        },
        status_code=status_code,
    )


@router.get("/exceptions/pareto")
def pareto_page(request: Request, ctx: PageCtx) -> Response:
    settings: Settings = request.app.state.settings
    params = request.query_params
    today = to_local(utcnow(), settings.zone).date()
    values = {
        "by": params.get("by", "category"),
        "since": params.get("since", "").strip(),
        "until": params.get("until", "").strip(),
        "line": params.get("line", "").strip(),
    }
    errors: dict[str, str] = {}
    if values["by"] not in dict(PARETO_BY):
        errors["by"] = "choose category, line or severity"
    since = _day(values["since"], today - timedelta(days=PARETO_DAYS - 1), "since", errors)
    until = _day(values["until"], today, "until", errors)
    if not errors and until < since:
        errors["until"] = "must not be before the first day"
    if values["line"] and not values["line"].isdigit():
        errors["line"] = "choose a line from the list"
    values["since"], values["until"] = since.isoformat(), until.isoformat()
    bars: list[ParetoBar] = []
    if not errors:
        bars = exceptions.pareto(
            ctx,
            by=values["by"],
            since=_start_of(since, settings),
            until=_start_of(until + timedelta(days=1), settings),
            line_id=int(values["line"]) if values["line"] else None,
        )
    line_by_id = _line_options(ctx)
    labels = _labels(ctx, values["by"], line_by_id)
    return render(
        request,
        "exceptions/pareto.html",
        {
            "section": "exceptions",
            "values": values,
            "errors": errors,
            "bars": bars,
            "labels": labels,
            "total": sum(b.count for b in bars),
            "chart": pareto_chart(bars, labels),
            # Each category bar (and row) opens the new-RCA form for that category and period.
            "rca_hrefs": {bar.key: start_href(bar.key, values) for bar in bars}
            if values["by"] == "category" and ctx.actor.can(Action.RCA_MANAGE)
            else {},
            "by_options": PARETO_BY,
            "line_options": [("", "All lines")]
            + [(str(i), f"{ln.code} · {ln.name}") for i, ln in line_by_id.items()],
        },
        status_code=422 if errors else 200,
    )


def _day(raw: str, default: date, name: str, errors: dict[str, str]) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "enter a date like 2026-03-01"
        return default


def _start_of(day: date, settings: Settings) -> datetime:
    """Midnight at the start of a local day, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=settings.zone).astimezone(UTC)


def _labels(ctx: Context, by: str, line_by_id: Mapping[int, Line]) -> dict[str, str]:
    if by == "category":
        return {key: name for key, (name, _) in exceptions.known_categories(ctx).items()}
    if by == "line":
        # Pareto keys lines by SITE/AREA/LINE code; name each bar by its line's name too.
        tree = plant.plant_tree(ctx)
        areas = {a.id: a for group in tree.areas.values() for a in group}
        sites = {s.id: s for group in tree.sites.values() for s in group}
        labels = {}
        for line in line_by_id.values():
            area = areas.get(line.area_id)
            site = sites.get(area.site_id) if area else None
            if area and site:
                labels[f"{site.code}/{area.code}/{line.code}"] = f"{line.code} · {line.name}"
        return labels
    return {}


@dataclass(frozen=True)
class ChartBar:
    label: str
    short: str  # the label cut to fit under its bar
    count: int
    cumulative: float
    x: float
    y: float
    width: float
    height: float
    cx: float
    cy: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    bars: list[ChartBar]
    count_ticks: list[tuple[int, float]]
    share_ticks: list[tuple[int, float]]
    line_points: str
    eighty_y: float


def pareto_chart(bars: list[ParetoBar], labels: Mapping[str, str]) -> Chart:
    """Where the Pareto chart draws each bar, the cumulative line and the axis ticks."""
    width, height = 900, 340
    left, right, top, bottom = 56, 56, 24, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = _nice_ceiling(max((b.count for b in bars), default=1))
    slot = plot_w / max(len(bars), 1)
    fits = max(4, int(slot / 7.5))  # characters of 12 px text under one bar
    placed = []
    for i, bar in enumerate(bars):
        label = labels.get(bar.key, bar.key)
        bar_h = plot_h * bar.count / highest
        x = left + i * slot + slot * 0.15
        cx = left + i * slot + slot / 2
        placed.append(
            ChartBar(
                label=label,
                short=label if len(label) <= fits else label[: fits - 1].rstrip() + "…",
                count=bar.count,
                cumulative=bar.cumulative_share,
                x=round(x, 1),
                y=round(top + plot_h - bar_h, 1),
                width=round(slot * 0.7, 1),
                height=round(bar_h, 1),
                cx=round(cx, 1),
                cy=round(top + plot_h * (1 - bar.cumulative_share), 1),
            )
        )
    step = max(1, highest // 5)
    count_ticks = [
        (n, round(top + plot_h * (1 - n / highest), 1)) for n in range(0, highest + 1, step)
    ]
    share_ticks = [(p, round(top + plot_h * (1 - p / 100), 1)) for p in (0, 25, 50, 75, 100)]
    return Chart(
        width=width,
        height=height,
        left=left,
        right=width - right,
        top=top,
        bottom=top + plot_h,
        bars=placed,
        count_ticks=count_ticks,
        share_ticks=share_ticks,
        line_points=" ".join(f"{b.cx},{b.cy}" for b in placed),
        eighty_y=round(top + plot_h * 0.2, 1),
    )


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... not below ``value``, so ticks stay round."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


@router.get("/exceptions/{exception_id}")
def detail_page(request: Request, ctx: PageCtx, exception_id: int) -> Response:
    return _detail_page(request, ctx, exception_id)


def _changed(request: Request, exception_id: int, message: str) -> Response:
    response = RedirectResponse(f"/exceptions/{exception_id}", status_code=303)
    flash.put(request, response, message)
    return response


@router.post("/exceptions/{exception_id}/triage")
def triage(request: Request, ctx: PageCtx, exception_id: int, form: Form) -> Response:
    names = ("version", "owner_id", "category", "severity", "reason")
    values = {name: text(form, name) for name in names}
    data: dict[str, Any] = {k: v for k, v in values.items() if v}
    try:
        exceptions.triage_exception(ctx, exception_id, build(ExceptionTriage, data))
    except FormInvalid as exc:
        return _detail_page(request, ctx, exception_id, "triage", exc.errors, values, 422)
    except AndonError as exc:
        if exc.status in (401, 403, 404):
            raise
        errors = errors_from(exc)
        return _detail_page(request, ctx, exception_id, "triage", errors, values, exc.status)
    return _changed(request, exception_id, f"Exception #{exception_id} triaged.")


@router.post("/exceptions/{exception_id}/resolve")
def resolve(request: Request, ctx: PageCtx, exception_id: int, form: Form) -> Response:
    values = {"version": text(form, "version"), "resolution": text(form, "resolution")}
    try:
        if not values["resolution"]:
            raise FormInvalid({"resolution": "say how it was resolved"})
        exceptions.resolve_exception(ctx, exception_id, build(ExceptionResolve, values))
    except FormInvalid as exc:
        return _detail_page(request, ctx, exception_id, "resolve", exc.errors, values, 422)
    except AndonError as exc:
        if exc.status in (401, 403, 404):
            raise
        errors = errors_from(exc)
        return _detail_page(request, ctx, exception_id, "resolve", errors, values, exc.status)
    return _changed(request, exception_id, f"Exception #{exception_id} resolved.")
