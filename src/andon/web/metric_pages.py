"""Metric pages: the list by SQDC letter, one metric's page (control chart, definition, values,
actions and its forms) and the SQDC board for a wall screen or a tablet, refreshing itself."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile

from andon.core.config import Settings
from andon.core.errors import AndonError, InvalidInput
from andon.core.permissions import Action
from andon.core.uow import Context
from andon.improvement import capa as capas
from andon.improvement.capa_schemas import VERDICT_WORDS, CapaOut
from andon.metrics import board, service
from andon.metrics.board import MetricPage, SqdcBoard, Tile, series_label
from andon.metrics.definition import Baseline
from andon.metrics.definition_yaml import load_definition_yaml
from andon.metrics.periods import period_containing
from andon.reviews import service as reviews
from andon.web import csrf, flash
from andon.web.control_charts import Annotation, Band, control_chart, sparkline
from andon.web.forms import errors_from, read_form, text
from andon.web.session import PageCtx, optional_actor, page_context
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

REFRESH_SECONDS = 60
HTMX_STOP_POLLING = 286  # htmx stops an "every" trigger when a poll answers with this status
MAX_CSV_BYTES = 2_000_000
LETTERS = {"safety": "S", "quality": "Q", "delivery": "D", "cost": "C"}
CSV_HEADERS = {
    "xmr": "period,value",
    "p": "period,count,n",
    "u": "period,count,n",
    "c": "period,count",
}
CHART_NAMES = {
    "xmr": "XmR (individuals and moving range)",
    "p": "p-chart (proportion)",
    "u": "u-chart (rate)",
    "c": "c-chart (count)",
}
EXAMPLE_YAML = """key: near_misses
name: Near misses
unit: count
direction: lower_is_better
kind: leading
owner: safety_officer
sqdc: safety
source: manual
period: week
chart: xmr
rules: [western-electric]
baseline: {points: 8}
thresholds:
  - level: warning
    above: 6
    decision: The safety officer walks the area with the team lead this week.
"""


def _zone(request: Request) -> ZoneInfo:
    """The site's time zone, which periods are counted in (``ANDON_TIMEZONE``)."""
    settings: Settings = request.app.state.settings
    return settings.zone


def show(value: float | None, unit: str) -> str:
    """A value as people read it: a share in per cent for ``%`` units, else a short number."""
    if value is None:
        return "—"
    if unit.strip() == "%":
        return f"{value * 100:.1f} %"
    if float(value).is_integer():
        number = str(int(value))
    else:
        number = f"{value:.3g}" if abs(value) < 100 else f"{value:.1f}"
    return f"{number} {unit}".strip()


def _spark(tile: Tile) -> Markup:
    title = f"{tile.name} ({series_label(tile.line)}): the last {len(tile.recent)} values"
    return Markup(sparkline(tile.recent, title=title))  # noqa: S704 - sparkline escapes its text


def _board_context(
    ctx: Context, area: str | None, line: str | None, zone: ZoneInfo
) -> dict[str, Any]:
    data: SqdcBoard = board.sqdc_board(ctx, area=area, line=line, zone=zone)
    query = urlencode({k: v for k, v in (("area", area), ("line", line)) if v})
    return {
        "board": data,
        "letters": LETTERS,
        "show": show,
        "spark": _spark,
        "series_label": series_label,
        "counts": board.statuses(data.tiles),
        "refresh_seconds": REFRESH_SECONDS,
        "query": query,
    }


# --- the list -----------------------------------------------------------------------------------


def _list_page(
    request: Request,
    ctx: Context,
    values: dict[str, str] | None = None,
    yaml_errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "metrics/list.html",
        {
            "section": "metrics",
            **_board_context(ctx, None, None, _zone(request)),
            "can_manage": ctx.actor.can(Action.METRIC_MANAGE),
            "values": values or {"yaml": EXAMPLE_YAML},
            "yaml_errors": yaml_errors or [],
        },
        status_code=status_code,
    )


@router.get("/metrics")
def list_page(request: Request, ctx: PageCtx) -> Response:
    return _list_page(request, ctx)


def _definition_errors(exc: AndonError) -> list[str]:
    """Each field at fault as ``path: message`` (a definition's or a CSV's problems)."""
    if isinstance(exc, InvalidInput) and exc.errors:
        return [
            (".".join(str(p) for p in e.loc) + ": " if e.loc else "") + e.msg for e in exc.errors
        ]
    return [exc.detail]


@router.post("/metrics")
def define(request: Request, ctx: PageCtx, form: Form) -> Response:
    """Define a metric (or a new version of one) from pasted YAML."""
    values = {"yaml": text(form, "yaml"), "reason": text(form, "reason")}
    try:
        defn = load_definition_yaml(values["yaml"])
        done = service.define_metric(ctx, defn, reason=values["reason"] or "defined on the page")
    except AndonError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _list_page(request, ctx, values, _definition_errors(exc), exc.status)
    return _to_metric(request, defn.key, None, _defined_message(done))


def _defined_message(done: service.Defined) -> str:
    key = done.metric.key
    if done.created:
        return f"Defined {key}. Compute it or enter its values to see its chart."
    if done.changed:
        return f"{key} is now at version {done.version.version}; it is recomputed under it."
    return f"{key} is unchanged: the definition is the same as version {done.version.version}."


# --- one metric ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapaMark:
    """A CAPA checked on the metric's series, and the period its change took effect in."""

    capa: CapaOut
    effective_on: date | None
    period: str | None


def _capa_marks(ctx: Context, page: MetricPage, zone: ZoneInfo) -> list[CapaMark]:
    """The CAPAs whose check measures this series, with the period of their date (none for
    shift periods, whose hours the calendar holds)."""
    if not ctx.actor.can(Action.IMPROVEMENT_READ):
        return []
    found = []
    for capa in capas.capas_for_metric(ctx, page.metric.key, page.line or None):
        on = capas.effective_date(capa, zone)
        period = None
        if on is not None and page.definition.period != "shift":
            start = datetime.combine(on, time(), tzinfo=zone)
            period = period_containing(page.definition.period, start, zone).key
        found.append(CapaMark(capa, on, period))
    return found


def _chart_svg(page: MetricPage, marks: Sequence[CapaMark] = ()) -> Markup:
    defn = page.definition
    percent = defn.unit.strip() == "%"
    if page.chart is None:
        return Markup(  # noqa: S704 - sparkline escapes its text
            sparkline(
                page.recent,
                title=f"{defn.name}: values without control limits",
                width=880,
                height=200,
            )
        )
    bands = [Band(b.level, b.above, b.below) for _, b in page.bands]
    notes = [Annotation(m.period, m.label) for m in page.markers]
    notes += [
        Annotation(m.period, f"CAPA {m.capa.id}", f"/capa/{m.capa.id}")
        for m in marks
        if m.period is not None
    ]
    title = f"{defn.name} ({series_label(page.line)}): {CHART_NAMES[defn.chart]}"
    return Markup(  # noqa: S704 - control_chart escapes every text
        control_chart(
            page.chart,
            title=title,
            unit="" if percent else defn.unit,
            bands=bands,
            annotations=notes,
            percent=percent,
        )
    )


def _metric_page(
    request: Request,
    ctx: Context,
    key: str,
    line: str | None,
    form_name: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    yaml_errors: list[str] | None = None,
) -> Response:
    page = board.metric_page(ctx, key, line=line, zone=_zone(request))
    marks = _capa_marks(ctx, page, _zone(request))
    defn = page.definition
    manual = defn.source == "manual"
    form_values: dict[str, dict[str, str]] = {"redefine": {"yaml": service.export_metric(ctx, key)}}
    if form_name:
        form_values[form_name] = values or {}
    series = page.line or ""
    crossings = [c for c in service.list_crossings(ctx, key, limit=200) if c.line == series][:20]
    decisions = reviews.decisions_about(ctx, key)
    signals = [] if page.chart is None else [p for p in page.chart.points if p.signals]
    noise = 0 if page.chart is None else sum(1 for p in page.chart.points if not p.signals)
    return render(
        request,
        "metrics/detail.html",
        {
            "section": "metrics",
            "page": page,
            "defn": defn,
            "metric": page.metric,
            "svg": _chart_svg(page, marks),
            "capa_marks": marks,
            "verdicts": VERDICT_WORDS,
            "signals": signals,
            "noise": noise,
            "manual": manual,
            "chart_name": CHART_NAMES[defn.chart],
            "csv_header": CSV_HEADERS[defn.chart],
            "show": show,
            "series_label": series_label,
            "status_words": board.STATUS_WORDS,
            "letters": LETTERS,
            "can_record": manual and ctx.actor.can(Action.METRIC_RECORD),
            "can_manage": ctx.actor.can(Action.METRIC_MANAGE),
            "can_act": ctx.actor.can(Action.ACTION_CREATE),
            "form_errors": {form_name: errors or {}} if form_name else {},
            "form_values": form_values,
            "yaml_errors": yaml_errors or [],
            "crossings": crossings,
            "decisions": decisions,
        },
        status_code=status_code,
    )


@router.get("/metrics/{key}")
def metric_page(request: Request, ctx: PageCtx, key: str) -> Response:
    return _metric_page(request, ctx, key, request.query_params.get("line") or None)


def _to_metric(request: Request, key: str, line: str | None, message: str) -> Response:
    target = f"/metrics/{key}" + (f"?{urlencode({'line': line})}" if line else "")
    response = RedirectResponse(target, status_code=303)
    flash.put(request, response, message)
    return response


def _refused(
    request: Request,
    ctx: Context,
    key: str,
    line: str | None,
    form_name: str,
    exc: AndonError,
    values: dict[str, str],
) -> Response:
    if exc.status in (401, 403, 404):
        raise exc
    errors = errors_from(exc)
    return _metric_page(request, ctx, key, line, form_name, errors, values, exc.status)


def _one_row_csv(chart: str, values: dict[str, str]) -> str:
    """The manual value form as the CSV ``import_values`` reads (one row under its header)."""
    columns = CSV_HEADERS[chart].split(",")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerow([values.get(c, "") for c in columns])
    return out.getvalue()


@router.post("/metrics/{key}/values")
def enter_value(request: Request, ctx: PageCtx, key: str, form: Form) -> Response:
    """Enter one period's value of a manual metric (a period already stored is replaced)."""
    values = {name: text(form, name) for name in ("period", "value", "count", "n")}
    try:
        chart = service.get_metric(ctx, key).chart
        done = service.import_values(ctx, key, _one_row_csv(chart, values), zone=_zone(request))
    except AndonError as exc:
        return _refused(request, ctx, key, None, "value", exc, values)
    return _to_metric(request, key, None, f"Stored the value of {done.first_period}.")


@router.post("/metrics/{key}/import")
async def import_csv(request: Request, ctx: PageCtx, key: str, form: Form) -> Response:
    """Load a manual metric's values from an uploaded CSV file, or CSV pasted in the form."""
    values = {"csv": text(form, "csv")}
    upload = form.get("file")
    try:
        body = values["csv"]
        if isinstance(upload, UploadFile) and upload.filename:
            raw = await upload.read(MAX_CSV_BYTES + 1)
            if len(raw) > MAX_CSV_BYTES:
                raise InvalidInput.for_field("file", "the file is larger than 2 MB")
            try:
                body = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InvalidInput.for_field("file", "the file is not UTF-8 text") from None
        if not body.strip():
            raise InvalidInput.for_field("csv", "choose a CSV file or paste its rows")
        done = service.import_values(ctx, key, body, zone=_zone(request))
    except AndonError as exc:
        if exc.status in (401, 403, 404):
            raise
        # Every bad row, by line, above the form: the columns are not fields of the form.
        errors = {"": "; ".join(_definition_errors(exc))}
        return _metric_page(request, ctx, key, None, "import", errors, values, exc.status)
    message = f"Loaded {done.values} values, {done.first_period} to {done.last_period}."
    if done.limits_frozen:
        message += " The baseline is complete: control limits are now frozen."
    return _to_metric(request, key, None, message)


@router.post("/metrics/{key}/rebaseline")
def rebaseline(request: Request, ctx: PageCtx, key: str, form: Form) -> Response:
    """Recompute and freeze the control limits on purpose, with a reason."""
    names = ("reason", "points", "from", "to", "line")
    values = {name: text(form, name) for name in names}
    line = values["line"] or None
    try:
        baseline = None
        if values["points"] or values["from"] or values["to"]:
            spec: dict[str, Any] = {"from": values["from"] or None, "to": values["to"] or None}
            if values["points"]:
                if not values["points"].isdigit():
                    raise InvalidInput.for_field("points", "a whole number of points")
                spec = {"points": int(values["points"])}
            try:
                baseline = Baseline.model_validate(spec)
            except ValueError as exc:
                raise InvalidInput.for_field("points", str(exc).splitlines()[-1]) from None
        row = service.rebaseline(ctx, key, reason=values["reason"], baseline=baseline, line=line)
    except AndonError as exc:
        return _refused(request, ctx, key, line, "rebaseline", exc, values)
    return _to_metric(
        request,
        key,
        line,
        f"New control limits (number {row.seq}) from {row.baseline_points} points.",
    )


@router.post("/metrics/{key}/definition")
def redefine(request: Request, ctx: PageCtx, key: str, form: Form) -> Response:
    """A new version of the definition from the pasted YAML (its key must stay the same)."""
    values = {"yaml": text(form, "yaml"), "reason": text(form, "reason")}
    try:
        defn = load_definition_yaml(values["yaml"])
        if defn.key != key:
            raise InvalidInput.for_field(
                "key", f"the key stays {key}; define {defn.key} as a new metric on /metrics"
            )
        if not values["reason"]:
            raise InvalidInput.for_field("reason", "say why the definition changes")
        done = service.define_metric(ctx, defn, reason=values["reason"])
    except AndonError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _metric_page(
            request,
            ctx,
            key,
            None,
            "redefine",
            errors_from(exc),
            values,
            exc.status,
            _definition_errors(exc),
        )
    return _to_metric(request, key, None, _defined_message(done))


# --- the SQDC board -----------------------------------------------------------------------------


def _filters(request: Request) -> tuple[str | None, str | None]:
    params = request.query_params
    return params.get("area") or None, params.get("line") or None


@router.get("/sqdc")
def sqdc_page(request: Request, ctx: PageCtx) -> Response:
    area, line = _filters(request)
    return render(
        request,
        "metrics/sqdc.html",
        {"section": "sqdc", **_board_context(ctx, area, line, _zone(request))},
    )


@router.get("/sqdc/tiles")
def sqdc_tiles(request: Request) -> Response:
    """The board's columns alone, which the page polls; a signed-out poll stops the polling."""
    actor = optional_actor(request)
    if actor is None:
        return HTMLResponse(
            '<p class="alert" role="alert">Signed out: the board is no longer updating. '
            '<a href="/login?next=/sqdc">Sign in again</a>.</p>',
            status_code=HTMX_STOP_POLLING if request.headers.get("HX-Request") else 401,
            headers={"Cache-Control": "no-store"},
        )
    area, line = _filters(request)
    ctx = page_context(request, actor)
    return render(
        request, "metrics/_sqdc_board.html", _board_context(ctx, area, line, _zone(request))
    )
