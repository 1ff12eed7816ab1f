"""A line's downtime and OEE page: OEE per week, entered downtime, and the entry form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from andon.core.config import Settings
from andon.core.errors import AndonError, InvalidInput
from andon.core.permissions import Action, Scope
from andon.core.uow import Context
from andon.metrics import downtime
from andon.metrics.oee_schemas import DowntimeCreate
from andon.plant import service as plant
from andon.web import csrf, flash
from andon.web.forms import errors_from, read_form, text
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

WEEKS_SHOWN = 8
ENTRIES_SHOWN = 50


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _page(
    request: Request,
    ctx: Context,
    line_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    line = plant.get_line(ctx, line_id)
    area = plant.get_area(ctx, line.area_id)
    site = plant.get_site(ctx, area.site_id)
    weeks = downtime.line_oee(ctx, line.id, "week")[-WEEKS_SHOWN:]
    reasons = _settings(request).downtime_reason_codes
    return render(
        request,
        "oee/downtime.html",
        {
            "section": "board",
            "line": line,
            "site": site,
            "weeks": list(reversed(weeks)),
            "entries": downtime.list_downtime(ctx, line.id, limit=ENTRIES_SHOWN),
            "zone": ZoneInfo(site.timezone),
            "reason_options": [(code, code.replace("_", " ")) for code in reasons],
            "can_record": ctx.actor.can(
                Action.METRIC_RECORD, Scope(site_id=site.id, area_id=area.id)
            ),
            "form_errors": errors or {},
            "form_values": values or {},
        },
        status_code=status_code,
    )


@router.get("/lines/{line_id}/downtime")
def downtime_page(request: Request, ctx: PageCtx, line_id: int) -> Response:
    return _page(request, ctx, line_id)


def _site_instant(value: str, zone: ZoneInfo, name: str) -> datetime:
    """A datetime-local value, wall-clock time at the site, as a UTC instant."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput.for_field(name, "enter a date and time, e.g. 2026-11-23T09:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


@router.post("/lines/{line_id}/downtime")
def record_downtime(request: Request, ctx: PageCtx, line_id: int, form: Form) -> Response:
    values = {
        "started_at": text(form, "started_at"),
        "ended_at": text(form, "ended_at"),
        "reason_code": text(form, "reason_code"),
        "note": text(form, "note"),
    }
    try:
        line = plant.get_line(ctx, line_id)
        site = plant.get_site(ctx, plant.get_area(ctx, line.area_id).site_id)
        zone = ZoneInfo(site.timezone)
        data = DowntimeCreate(
            started_at=_site_instant(values["started_at"], zone, "started_at"),
            ended_at=_site_instant(values["ended_at"], zone, "ended_at"),
            reason_code=values["reason_code"] or "-",
            note=values["note"],
        )
        entry = downtime.record_downtime(
            ctx, line_id, data, reasons=_settings(request).downtime_reason_codes
        )
    except AndonError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _page(
            request,
            ctx,
            line_id,
            errors=errors_from(exc),
            values=values,
            status_code=exc.status,
        )
    minutes = (entry.ended_at - entry.started_at).total_seconds() / 60
    response = RedirectResponse(f"/lines/{line_id}/downtime", status_code=303)
    flash.put(request, response, f"Recorded {minutes:g} min of {entry.reason_code}.")
    return response
