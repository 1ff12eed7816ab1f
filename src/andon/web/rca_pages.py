"""Root-cause pages: the repeat-offender report, the RCA list, a new RCA (pre-filled from a
report row or a Pareto bar) and one RCA with its why-tree, fishbone and forms."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import FormData

from andon.core.clock import to_local, utcnow
from andon.core.config import Settings
from andon.core.errors import AndonError
from andon.core.permissions import Action, Role
from andon.core.uow import Context
from andon.improvement import capa, diagrams, offenders, rca
from andon.improvement.capa_schemas import VERDICT_WORDS, CapaOut
from andon.improvement.impact import SORTS
from andon.improvement.rca_schemas import (
    LINK_KINDS,
    SIX_M,
    CauseCreate,
    CauseUpdate,
    CauseVerify,
    ContainmentCreate,
    RcaClose,
    RcaCreate,
    RcaFilters,
    RcaLinkIn,
    RcaLinkOut,
)
from andon.improvement.recurrence import Recurrence, next_exceptions
from andon.improvement.timeline import MAX_ITEMS, build_timeline
from andon.plant import service as plant
from andon.plant.models import Line
from andon.web import csrf, flash
from andon.web.control_charts import sparkline
from andon.web.forms import FormInvalid, build, errors_from, kind_refs, read_form, refusal, text
from andon.web.session import PageCtx
from andon.web.templating import render
from andon.work.exceptions import known_categories

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

REPORT_DAYS = 28
SORT_NAMES = {
    "count": "Exceptions",
    "items": "Items affected",
    "business_hours": "Business hours lost",
    "stop_minutes": "Line-stop minutes",
}
TABS = [("open", "Open"), ("closed", "Closed"), ("all", "All")]
CATEGORY_NAMES = {m: diagrams.BONE_NAMES[m] for m in SIX_M}
ROLE_OPTIONS = [(r.value, r.value.replace("_", " ")) for r in Role]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _today(request: Request) -> date:
    return to_local(utcnow(), _settings(request).zone).date()


def _lines(ctx: Context) -> dict[int, Line]:
    tree = plant.plant_tree(ctx)
    found = [line for group in tree.lines.values() for line in group]
    return {line.id: line for line in sorted(found, key=lambda line: line.code)}


def _line_options(lines: Mapping[int, Line], empty: str) -> list[tuple[str, str]]:
    return [("", empty)] + [(str(i), f"{ln.code} · {ln.name}") for i, ln in lines.items()]


def _day(raw: str, default: date, name: str, errors: dict[str, str]) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "enter a date like 2026-03-01"
        return default


def _period(
    params: Mapping[str, str], today: date
) -> tuple[dict[str, str], dict[str, str], date, date]:
    """The report's filter as typed, its errors, and the period's first and last days."""
    values = {n: params.get(n, "").strip() for n in ("since", "until", "line", "product", "sort")}
    errors: dict[str, str] = {}
    since = _day(values["since"], today - timedelta(days=REPORT_DAYS - 1), "since", errors)
    until = _day(values["until"], today, "until", errors)
    if "until" not in errors and until < since:
        errors["until"] = "must not be before the first day"
    if values["line"] and not values["line"].isdigit():
        errors["line"] = "choose a line from the list"
    values["sort"] = values["sort"] or "count"
    if values["sort"] not in SORTS:
        errors["sort"] = "choose how to rank"
    values["since"], values["until"] = since.isoformat(), until.isoformat()
    return values, errors, since, until


def start_href(category: str, values: Mapping[str, str]) -> str:
    """The new-RCA form pre-filled for a category over the period (and line, product)."""
    query = {
        "category": category,
        "since": values.get("since", ""),
        "until": values.get("until", ""),
    }
    query.update({k: values[k] for k in ("line", "product") if values.get(k)})
    return "/rca/new?" + urlencode({k: v for k, v in query.items() if v})


@router.get("/improvement/exceptions")
def offenders_page(request: Request, ctx: PageCtx) -> Response:
    values, errors, since, until = _period(request.query_params, _today(request))
    report = None
    if not errors:
        try:
            report = offenders.offenders(
                ctx,
                since=since,
                until=until,
                zone=_settings(request).zone,
                line_id=int(values["line"]) if values["line"] else None,
                product=values["product"] or None,
                sort=values["sort"],
            )
        except AndonError as exc:
            if exc.status in (401, 403):
                raise
            errors = errors_from(exc)
    lines = _lines(ctx)
    rows = []
    for row in report.rows if report else ():
        trend = Markup(  # noqa: S704 - sparkline escapes its text
            sparkline(
                [float(n) for n in row.weekly],
                title=f"{row.name}: exceptions per week, " + ", ".join(str(n) for n in row.weekly),
            )
        )
        rows.append({"row": row, "trend": trend, "start": start_href(row.category, values)})
    return render(
        request,
        "improvement/exceptions.html",
        {
            "section": "improvement",
            "values": values,
            "errors": errors,
            "report": report,
            "rows": rows,
            "sort_names": SORT_NAMES,
            "sort_options": list(SORT_NAMES.items()),
            "line_options": _line_options(lines, "All lines"),
            "can_start": ctx.actor.can(Action.RCA_MANAGE),
        },
        status_code=422 if errors else 200,
    )


@router.get("/rca")
def list_page(request: Request, ctx: PageCtx) -> Response:
    params = request.query_params
    tab = params.get("tab", "open")
    tab = tab if tab in dict(TABS) else "open"
    line = params.get("line", "").strip()
    category = params.get("category", "").strip()
    rows = rca.list_rcas(
        ctx,
        RcaFilters(
            status=None if tab == "all" else tab,
            line_id=int(line) if line.isdigit() else None,
            category=category or None,
        ),
    )
    return render(
        request,
        "rca/list.html",
        {
            "section": "improvement",
            "tab": tab,
            "tabs": TABS,
            "rows": rows,
            "values": {"line": line, "category": category},
            "line_options": _line_options(_lines(ctx), "All lines"),
            "can_create": ctx.actor.can(Action.RCA_MANAGE),
        },
    )


def _new_page(
    request: Request,
    ctx: Context,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    categories = known_categories(ctx)
    return render(
        request,
        "rca/new.html",
        {
            "section": "improvement",
            "values": values,
            "errors": errors or {},
            "line_options": _line_options(_lines(ctx), "No line"),
            "category_options": [("", "No category")]
            + [(k, name) for k, (name, _) in sorted(categories.items())],
            "link_kinds": LINK_KINDS,
        },
        status_code=status_code,
    )


@router.get("/rca/new")
def new_page(request: Request, ctx: PageCtx) -> Response:
    """A blank form, or one pre-filled from ``?category=&since=&until=&line=&product=``."""
    params = request.query_params
    today = _today(request)
    values = {"owner_user": ctx.actor.username, "started_on": today.isoformat()}
    category = params.get("category", "").strip()
    if category:
        period, errors, since, until = _period(params, today)
        if not errors:
            values.update(_prefill(request, ctx, category, period, since, until))
    return _new_page(request, ctx, values)


def _prefill(
    request: Request, ctx: Context, category: str, period: dict[str, str], since: date, until: date
) -> dict[str, str]:
    """The problem statement's numbers for ``category`` over the period, and its exceptions."""
    zone = _settings(request).zone
    line_id = int(period["line"]) if period["line"] else None
    product = period["product"] or None
    report = offenders.offenders(
        ctx,
        since=since,
        until=until,
        zone=zone,
        line_id=line_id,
        product=product,
        category=category,
    )
    ids = offenders.category_exceptions(
        ctx,
        category=category,
        since=since,
        until=until,
        zone=zone,
        line_id=line_id,
        product=product,
    )
    line = _lines(ctx).get(line_id) if line_id else None
    name = report.rows[0].name if report.rows else category
    where = f" on line {line.code}" if line else ""
    for_product = f" for product {product}" if product else ""
    values = {
        "title": f"Repeat {name} exceptions{where}"[:200],
        "category": category,
        "line_id": str(line_id or ""),
        "location": f"Line {line.code} · {line.name}" if line else "All lines",
        "started_on": since.isoformat(),
        "ended_on": until.isoformat(),
        "links": " ".join(f"exception:{i}" for i in ids),
    }
    if report.rows:
        row = report.rows[0]
        values["what"] = (
            f"{row.count} {name} exceptions were raised from {since} to {until}"
            f"{where}{for_product}."
        )
        values["how_much"] = (
            f"{row.count} exceptions, {row.items} work items affected, "
            f"{row.business_hours:.1f} business hours lost, "
            f"{row.stop_minutes:.0f} line-stop minutes."
        )
    return values


NEW_FIELDS = (
    "title",
    "what",
    "location",
    "how_much",
    "started_on",
    "ended_on",
    "line_id",
    "category",
    "metric_key",
    "owner_user",
    "links",
)


@router.post("/rca/new")
def create(request: Request, ctx: PageCtx, form: Form) -> Response:
    values = {name: text(form, name) for name in NEW_FIELDS}
    zone = _settings(request).zone
    try:
        errors: dict[str, str] = {}
        started = _day(values["started_on"], date.min, "started_on", errors)
        ended = (
            _day(values["ended_on"], date.min, "ended_on", errors) if values["ended_on"] else None
        )
        if not values["started_on"]:
            errors["started_on"] = "give the first day the problem was seen"
        if errors:
            raise FormInvalid(errors)
        data: dict[str, Any] = {
            "title": values["title"],
            "what": values["what"],
            "location": values["location"],
            "how_much": values["how_much"],
            "started_at": _midnight(started, zone),
            "ended_at": _midnight(ended + timedelta(days=1), zone) if ended else None,
            "line_id": int(values["line_id"]) if values["line_id"].isdigit() else None,
            "category": values["category"] or None,
            "metric_key": values["metric_key"] or None,
            "owner_user": values["owner_user"],
            "links": _links(values["links"]),
        }
        opened = rca.open_rca(ctx, build(RcaCreate, data))
    except FormInvalid as exc:
        return _new_page(request, ctx, values, _form_fields(exc.errors), 422)
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        return _new_page(request, ctx, values, _form_fields(errors_from(exc)), exc.status)
    response = RedirectResponse(f"/rca/{opened.id}", status_code=303)
    flash.put(request, response, f"Opened RCA #{opened.id}.")
    return response


def _form_fields(errors: dict[str, str]) -> dict[str, str]:
    """Service field names onto the form's: a window instant onto its day, a link onto links."""
    renamed = {"started_at": "started_on", "ended_at": "ended_on"}
    found: dict[str, str] = {}
    for name, message in errors.items():
        found.setdefault(renamed.get(name, name), message)
    return found


def _midnight(day: date, zone: Any) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _links(raw: str) -> list[dict[str, str]]:
    return kind_refs(raw, LINK_KINDS)


def link_href(link: RcaLinkOut) -> str | None:
    """The page a link points to, where there is one."""
    if link.kind == "exception":
        return f"/exceptions/{link.ref}"
    if link.kind == "work_item":
        return f"/work/{link.ref}"
    if link.kind == "metric":
        return "/metrics/" + link.ref.split("@", 1)[0]
    return None


def _detail_page(
    request: Request,
    ctx: Context,
    rca_id: int,
    form_name: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    detail = rca.get_rca(ctx, rca_id)
    problem = detail.what
    items = [int(link.ref) for link in detail.links if link.kind == "work_item"][:MAX_ITEMS]
    timeline = build_timeline(
        ctx,
        started_at=detail.started_at,
        ended_at=detail.ended_at or utcnow(),
        line_id=detail.line_id,
        item_ids=items,
        count_moves=False,
    )
    numbers = {c.id: n for n, c in enumerate(detail.causes, start=1)}
    capas = sorted(capa.list_capas(ctx, rca_id=rca_id), key=lambda c: c.id)
    return render(
        request,
        "rca/detail.html",
        {
            "section": "improvement",
            "rca": detail,
            "why_tree": Markup(  # noqa: S704 - the diagram escapes its text
                diagrams.why_tree(problem, detail.causes, title=f"Why-tree of RCA #{detail.id}")
            ),
            "fishbone": Markup(  # noqa: S704 - the diagram escapes its text
                diagrams.fishbone(problem, detail.causes, title=f"Fishbone of RCA #{detail.id}")
            ),
            "cause_numbers": numbers,
            "timeline": timeline,
            "link_href": link_href,
            "link_kinds": LINK_KINDS,
            "category_names": CATEGORY_NAMES,
            "category_options": [("", "No 6M category"), *CATEGORY_NAMES.items()],
            "parent_options": [("", "The problem statement (a first why)")]
            + [(str(c.id), f"Cause {numbers[c.id]}: {c.text[:60]}") for c in detail.causes],
            "roles": ROLE_OPTIONS,
            "capas": capas,
            "verdicts": VERDICT_WORDS,
            "recurrence": _recurrence(ctx, detail.category, detail.line_id, capas, request),
            "may_open_capa": ctx.actor.can(Action.CAPA_MANAGE) and detail.status == "open",
            "may_manage": ctx.actor.can(Action.RCA_MANAGE) and detail.status == "open",
            "form_errors": {form_name: errors or {}},
            "form_values": {form_name: values or {}},
        },
        status_code=status_code,
    )


def _recurrence(
    ctx: Context,
    category: str | None,
    line_id: int | None,
    capas: list[CapaOut],
    request: Request,
) -> Recurrence | None:
    """The next 20 exceptions of the RCA's category (on its line) after its earliest CAPA
    took effect; ``None`` without a category or a CAPA with a date."""
    zone = _settings(request).zone
    dates = [d for c in capas if (d := capa.effective_date(c, zone)) is not None]
    if category is None or not dates:
        return None
    since = _midnight(min(dates), zone)
    return next_exceptions(ctx, category=category, line_id=line_id, since=since)


@router.get("/rca/{rca_id:int}")
def detail_page(request: Request, ctx: PageCtx, rca_id: int) -> Response:
    return _detail_page(request, ctx, rca_id)


def _done(request: Request, rca_id: int, message: str, anchor: str = "") -> Response:
    return flash.redirect(request, f"/rca/{rca_id}{anchor}", message)


def _refused(
    request: Request,
    ctx: Context,
    rca_id: int,
    form_name: str,
    exc: Exception,
    values: dict[str, str],
) -> Response:
    errors, status = refusal(exc)
    return _detail_page(request, ctx, rca_id, form_name, errors, values, status)


@router.post("/rca/{rca_id:int}/links")
def add_link(request: Request, ctx: PageCtx, rca_id: int, form: Form) -> Response:
    values = {name: text(form, name) for name in ("kind", "ref", "note")}
    try:
        rca.add_link(ctx, rca_id, build(RcaLinkIn, values))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, rca_id, "link", exc, values)
    return _done(request, rca_id, f"Linked {values['kind'].replace('_', ' ')} {values['ref']}.")


@router.post("/rca/{rca_id:int}/links/{link_id:int}/remove")
def remove_link(request: Request, ctx: PageCtx, rca_id: int, link_id: int) -> Response:
    try:
        rca.remove_link(ctx, rca_id, link_id)
    except AndonError as exc:
        return _refused(request, ctx, rca_id, "link", exc, {})
    return _done(request, rca_id, "Link removed.")


@router.post("/rca/{rca_id:int}/containment")
def contain(request: Request, ctx: PageCtx, rca_id: int, form: Form) -> Response:
    names = ("title", "description", "owner_user", "owner_role", "due_on")
    values = {name: text(form, name) for name in names}
    data = {k: v for k, v in values.items() if v}
    try:
        done = rca.add_containment(ctx, rca_id, build(ContainmentCreate, data))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, rca_id, "contain", exc, values)
    return _done(request, rca_id, f"Opened containment action #{done.action_id}.")


@router.post("/rca/{rca_id:int}/causes")
def add_cause(request: Request, ctx: PageCtx, rca_id: int, form: Form) -> Response:
    values = {name: text(form, name) for name in ("text", "parent_id", "category")}
    data = {k: v for k, v in values.items() if v}
    try:
        rca.add_cause(ctx, rca_id, build(CauseCreate, data))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, rca_id, "cause", exc, values)
    return _done(request, rca_id, "Why added.", "#causes-heading")


@router.post("/rca/{rca_id:int}/causes/{cause_id:int}/edit")
def edit_cause(request: Request, ctx: PageCtx, rca_id: int, cause_id: int, form: Form) -> Response:
    values = {name: text(form, name) for name in ("text", "category")}
    data: dict[str, str] = {"category": values["category"]}
    if values["text"]:
        data["text"] = values["text"]
    try:
        rca.update_cause(ctx, rca_id, cause_id, build(CauseUpdate, data))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, rca_id, f"edit-{cause_id}", exc, values)
    return _done(request, rca_id, "Cause changed.", f"#cause-{cause_id}")


@router.post("/rca/{rca_id:int}/causes/{cause_id:int}/verify")
def verify(request: Request, ctx: PageCtx, rca_id: int, cause_id: int, form: Form) -> Response:
    names = ("evidence", "evidence_attachment_id", "evidence_query")
    values = {name: text(form, name) for name in names}
    data = {k: v for k, v in values.items() if v}
    try:
        rca.verify_cause(ctx, rca_id, cause_id, build(CauseVerify, data))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, rca_id, f"verify-{cause_id}", exc, values)
    return _done(request, rca_id, "Cause verified.", f"#cause-{cause_id}")


@router.post("/rca/{rca_id:int}/causes/{cause_id:int}/root")
def root(request: Request, ctx: PageCtx, rca_id: int, cause_id: int, form: Form) -> Response:
    values = {"root": text(form, "root")}
    named = values["root"] != "0"
    try:
        rca.set_root(ctx, rca_id, cause_id, root=named)
    except AndonError as exc:
        return _refused(request, ctx, rca_id, f"root-{cause_id}", exc, values)
    message = "Named a root cause." if named else "No longer a root cause."
    return _done(request, rca_id, message, f"#cause-{cause_id}")


@router.post("/rca/{rca_id:int}/close")
def close(request: Request, ctx: PageCtx, rca_id: int, form: Form) -> Response:
    values = {"version": text(form, "version"), "reason": text(form, "reason")}
    try:
        data = {"version": values["version"] or "0", "reason": values["reason"] or None}
        rca.close_rca(ctx, rca_id, build(RcaClose, data))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, rca_id, "close", exc, values)
    return _done(request, rca_id, f"RCA #{rca_id} closed.")
