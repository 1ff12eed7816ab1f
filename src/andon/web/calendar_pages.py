"""A site's business calendar page: weekly shifts, quiet hours, holidays and closures."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from andon.calendars import service as calendars
from andon.calendars.service import ShiftInput
from andon.core.clock import to_local, utcnow
from andon.core.errors import AndonError, InvalidInput
from andon.core.permissions import Action, Scope
from andon.core.uow import Context
from andon.plant import service as plant
from andon.web import csrf, flash
from andon.web.forms import FORM_LEVEL, errors_from, read_form, text
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

MAX_ROWS = 30
DAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]
Row = dict[str, Any]  # name, days (list of "0".."6"), start, end: as the form holds them


def _blank() -> Row:
    return {"name": "", "days": [], "start": "", "end": ""}


def _saved_rows(stored: list[dict[str, Any]]) -> list[Row]:
    return [
        {
            "name": str(s["name"]),
            "days": [str(d) for d in s["days"]],
            "start": str(s["start"]),
            "end": str(s["end"]),
        }
        for s in stored
    ]


def _path(site_id: int) -> str:
    return f"/plant/sites/{site_id}/calendar"


def _page(
    request: Request,
    ctx: Context,
    site_id: int,
    *,
    rows: list[Row] | None = None,
    quiet: dict[str, str] | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    site = plant.get_site(ctx, site_id)
    stored = calendars.get_calendar(ctx, site.id)
    zone = ZoneInfo(site.timezone)
    if rows is None:
        rows = [*_saved_rows(stored.shifts if stored else []), _blank()]
    if quiet is None:
        quiet = {
            "quiet_start": (stored.quiet_start or "") if stored else "",
            "quiet_end": (stored.quiet_end or "") if stored else "",
        }
    closures = [
        {
            "start": to_local(c.start_at, zone).strftime("%Y-%m-%d %H:%M %Z"),
            "end": to_local(c.end_at, zone).strftime("%Y-%m-%d %H:%M %Z"),
            "reason": c.reason,
        }
        for c in (stored.closures if stored else [])
    ]
    return render(
        request,
        "calendars/calendar.html",
        {
            "section": "plant",
            "site": site,
            "calendar": stored,
            "rows": rows,
            "quiet": quiet,
            "days": DAYS,
            "holidays": stored.holidays if stored else [],
            "closures": closures,
            "this_year": to_local(utcnow(), zone).year,
            "can_manage": ctx.actor.can(Action.CALENDAR_MANAGE, Scope(site_id=site.id)),
            "form_errors": errors or {},
            "form_values": values or {},
            "problems": problems or [],
        },
        status_code=status_code,
    )


@router.get("/plant/sites/{site_id}/calendar")
def calendar_page(request: Request, ctx: PageCtx, site_id: int) -> Response:
    return _page(request, ctx, site_id)


@router.get("/calendars/{site_id}")
def calendar_alias(site_id: int) -> Response:
    return RedirectResponse(_path(site_id), status_code=308)


def _saved(request: Request, site_id: int, message: str, anchor: str = "") -> Response:
    response = RedirectResponse(_path(site_id) + (f"#{anchor}" if anchor else ""), status_code=303)
    flash.put(request, response, message)
    return response


def _submitted_rows(form: FormData) -> list[Row]:
    """The shift rows as typed, without the ones ticked for removal."""
    raw = text(form, "rows")
    count = min(int(raw), MAX_ROWS) if raw.isdigit() else 0
    rows = []
    for i in range(count):
        if text(form, f"shift-{i}-remove"):
            continue
        rows.append(
            {
                "name": text(form, f"shift-{i}-name"),
                "days": [d for d in form.getlist(f"shift-{i}-days") if isinstance(d, str)],
                "start": text(form, f"shift-{i}-start"),
                "end": text(form, f"shift-{i}-end"),
            }
        )
    return rows


def _is_blank(row: Row) -> bool:
    return not (row["name"] or row["days"] or row["start"] or row["end"])


def _time(value: str, key: str, errors: dict[str, str]) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        errors[key] = "enter a time like 06:00" if value else "required"
        return time(0)


def _shifts_from(rows: list[Row]) -> tuple[list[ShiftInput], list[int], dict[str, str]]:
    """Shifts from the filled-in rows, the row each came from, and errors by field id."""
    shifts: list[ShiftInput] = []
    row_of: list[int] = []
    errors: dict[str, str] = {}
    for i, row in enumerate(rows):
        if _is_blank(row):
            continue
        days = tuple(int(d) for d in row["days"] if d.isdigit())
        if len(days) != len(row["days"]):
            errors[f"shift-{i}-days"] = "days are Monday to Sunday"
        start = _time(row["start"], f"shift-{i}-start", errors)
        end = _time(row["end"], f"shift-{i}-end", errors)
        shifts.append(ShiftInput(row["name"], days, start, end))
        row_of.append(i)
    return shifts, row_of, errors


def _shift_errors(error: AndonError, row_of: list[int]) -> dict[str, str]:
    """A refusal of ``set_shifts`` as messages next to the row fields they are about."""
    if not isinstance(error, InvalidInput):
        return {FORM_LEVEL: error.detail}
    found: dict[str, str] = {}
    for e in error.errors:
        loc = e.loc
        if (
            len(loc) >= 3
            and loc[0] == "shifts"
            and isinstance(loc[1], int)
            and loc[1] < len(row_of)
        ):
            found.setdefault(f"shift-{row_of[loc[1]]}-{loc[2]}", e.msg)
        else:
            found.setdefault(FORM_LEVEL, e.msg)
    return found


@router.post("/plant/sites/{site_id}/calendar/shifts")
def save_shifts(request: Request, ctx: PageCtx, site_id: int, form: Form) -> Response:
    rows = _submitted_rows(form)
    quiet = {"quiet_start": text(form, "quiet_start"), "quiet_end": text(form, "quiet_end")}
    if text(form, "add_row"):
        # "Add a row" without JavaScript: the same form back with one more empty row.
        return _page(request, ctx, site_id, rows=[*rows, _blank()], quiet=quiet)
    shifts, row_of, errors = _shifts_from(rows)
    quiet_hours = None
    if quiet["quiet_start"] or quiet["quiet_end"]:
        quiet_hours = (
            _time(quiet["quiet_start"], "quiet_start", errors),
            _time(quiet["quiet_end"], "quiet_end", errors),
        )
    if not errors:
        try:
            calendars.set_shifts(
                ctx,
                site_id,
                shifts,
                quiet_hours=quiet_hours,
                reason=text(form, "reason") or None,
            )
        except AndonError as exc:
            if exc.status in (401, 403, 404):
                raise
            errors = _shift_errors(exc, row_of)
    if errors:
        return _page(
            request,
            ctx,
            site_id,
            rows=rows,
            quiet=quiet,
            errors={"shifts": errors},
            status_code=422,
        )
    count = len(shifts)
    return _saved(request, site_id, f"Saved {count} shift{'' if count == 1 else 's'}.", "shifts")


def _refused(
    request: Request,
    ctx: Context,
    site_id: int,
    form_name: str,
    error: AndonError,
    values: dict[str, str],
) -> Response:
    if error.status in (401, 403, 404):
        raise error
    problems: list[str] = []
    if isinstance(error, InvalidInput) and any(e.loc[:1] == ("line",) for e in error.errors):
        problems = [f"line {e.loc[1]}: {e.msg}" for e in error.errors if e.loc[:1] == ("line",)]
        errors = {FORM_LEVEL: "Nothing was imported."}
    else:
        errors = errors_from(error)
    return _page(
        request,
        ctx,
        site_id,
        errors={form_name: errors},
        values={form_name: values},
        problems=problems,
        status_code=error.status,
    )


@router.post("/plant/sites/{site_id}/calendar/holidays")
def add_holiday(request: Request, ctx: PageCtx, site_id: int, form: Form) -> Response:
    values = {"day": text(form, "day"), "name": text(form, "name")}
    try:
        try:
            day = date.fromisoformat(values["day"])
        except ValueError:
            raise InvalidInput.for_field("day", "enter a date like 2026-12-24") from None
        if not values["name"]:
            raise InvalidInput.for_field("name", "the holiday needs a name")
        added = calendars.add_holidays(ctx, site_id, {day: values["name"]})
    except AndonError as exc:
        return _refused(request, ctx, site_id, "holiday", exc, values)
    if not added:
        return _saved(request, site_id, f"{day} already is a holiday.", "holidays")
    return _saved(request, site_id, f"Added holiday {day}: {values['name']}.", "holidays")


@router.post("/plant/sites/{site_id}/calendar/holidays/{day}/delete")
def remove_holiday(request: Request, ctx: PageCtx, site_id: int, day: date) -> Response:
    calendars.remove_holiday(ctx, site_id, day)
    return _saved(request, site_id, f"Removed the holiday on {day}.", "holidays")


@router.post("/plant/sites/{site_id}/calendar/holidays/generate")
def generate_holidays(request: Request, ctx: PageCtx, site_id: int, form: Form) -> Response:
    values = {
        "country": text(form, "country"),
        "year": text(form, "year"),
        "subdivision": text(form, "subdivision"),
    }
    try:
        if not values["year"].isdigit():
            raise InvalidInput.for_field("year", "enter a year like 2026")
        added = calendars.generate_holidays(
            ctx, site_id, values["country"], [int(values["year"])], values["subdivision"] or None
        )
    except AndonError as exc:
        return _refused(request, ctx, site_id, "generate", exc, values)
    where = values["country"].upper() + (
        f"-{values['subdivision']}" if values["subdivision"] else ""
    )
    return _saved(
        request,
        site_id,
        f"Added {added} public holiday{'' if added == 1 else 's'} of {where} for {values['year']}.",
        "holidays",
    )


@router.post("/plant/sites/{site_id}/calendar/holidays/import")
def import_holidays(request: Request, ctx: PageCtx, site_id: int, form: Form) -> Response:
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput.for_field("file", "choose a .csv or .ics file")
        try:
            content = upload.file.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput.for_field("file", "the file is not UTF-8 text") from None
        added = calendars.import_holiday_file(ctx, site_id, content)
    except AndonError as exc:
        return _refused(request, ctx, site_id, "import", exc, {})
    return _saved(
        request,
        site_id,
        f"Added {added} holiday{'' if added == 1 else 's'} from the file.",
        "holidays",
    )


def _site_instant(value: str, zone: ZoneInfo, name: str) -> datetime:
    """A datetime-local value, wall-clock time at the site, as a UTC instant."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput.for_field(name, "enter a date and time, e.g. 2026-08-03T06:00") from None
    return moment.replace(tzinfo=zone).astimezone(UTC)


@router.post("/plant/sites/{site_id}/calendar/closures")
def add_closure(request: Request, ctx: PageCtx, site_id: int, form: Form) -> Response:
    values = {"start_at": text(form, "start_at"), "end_at": text(form, "end_at")}
    values["reason"] = text(form, "reason")
    try:
        zone = ZoneInfo(plant.get_site(ctx, site_id).timezone)
        start_at = _site_instant(values["start_at"], zone, "start_at")
        end_at = _site_instant(values["end_at"], zone, "end_at")
        if not values["reason"]:
            raise InvalidInput.for_field("reason", "say why the site is closed")
        calendars.add_closure(ctx, site_id, start_at, end_at, values["reason"])
    except AndonError as exc:
        return _refused(request, ctx, site_id, "closure", exc, values)
    return _saved(request, site_id, f"Added the closure: {values['reason']}.", "closures")
