"""Weekly review pages: the weeks and their reviews, and the meeting page used during the
review (attendance, decisions and actions per metric, the pack to download)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from andon.core.config import Settings
from andon.core.errors import AndonError, InvalidInput, NotFound
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.reviews import service
from andon.reviews.schemas import MeetingOut, ReviewActionIn
from andon.web import csrf, flash
from andon.web.forms import FormInvalid, build, errors_from, read_form, text
from andon.web.review_print import number, pack_html, pack_pdf
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]
ROLE_OPTIONS = [(r.value, r.value.replace("_", " ")) for r in Role]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _where(week: str, area: str | None) -> str:
    return f"/reviews/{week}" + (f"?{urlencode({'area': area})}" if area else "")


@router.get("/reviews")
def list_page(request: Request, ctx: PageCtx) -> Response:
    week = request.query_params.get("week", "").strip()
    area = request.query_params.get("area", "").strip() or None
    errors: dict[str, str] = {}
    if week:
        try:
            key = service.parse_week(week).key
        except InvalidInput as exc:
            errors = errors_from(exc)
        else:
            return RedirectResponse(_where(key, area), status_code=303)
    today = service.today_in(_settings(request).zone)
    held = service.list_meetings(ctx)
    by_week: dict[str, list[MeetingOut]] = {}
    for m in held:
        by_week.setdefault(m.week, []).append(m)
    weeks = sorted(set(service.recent_weeks(today)) | set(by_week), reverse=True)
    return render(
        request,
        "reviews/list.html",
        {
            "section": "reviews",
            "weeks": [(w, by_week.get(w, [])) for w in weeks],
            "this_week": service.recent_weeks(today, 1)[0],
            "values": {"week": week, "area": area or ""},
            "errors": errors,
        },
        status_code=422 if errors else 200,
    )


def _meeting_page(
    request: Request,
    ctx: Context,
    week: str,
    area: str | None,
    form_name: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    pack = service.build_pack(ctx, week, area=area, zone=_settings(request).zone)
    may_run = service.may_run(ctx, pack.area)
    candidates = service.attendee_candidates(ctx, pack.area) if may_run and pack.meeting else []
    attending = {a.user for a in pack.meeting.attendees} if pack.meeting else set()
    guests = [a.guest for a in pack.meeting.attendees if a.guest] if pack.meeting else []
    query = f"?{urlencode({'area': pack.area})}" if pack.area else ""
    return render(
        request,
        "reviews/meeting.html",
        {
            "section": "reviews",
            "pack": pack,
            "meeting": pack.meeting,
            "may_run": may_run,
            "editable": may_run and pack.meeting is not None and pack.meeting.status == "open",
            "candidates": candidates,
            "attending": attending,
            "guests": "\n".join(guests),
            "roles": ROLE_OPTIONS,
            "number": number,
            "query": query,
            "form_name": form_name,
            "form_errors": errors or {},
            "form_values": values or {},
        },
        status_code=status_code,
    )


@router.get("/reviews/{week}")
def meeting_page(request: Request, ctx: PageCtx, week: str) -> Response:
    area = request.query_params.get("area", "").strip() or None
    return _meeting_page(request, ctx, week, area)


@router.get("/reviews/{week}/pack.html")
def pack_html_page(request: Request, ctx: PageCtx, week: str) -> Response:
    zone = _settings(request).zone
    area = request.query_params.get("area", "").strip() or None
    pack = service.build_pack(ctx, week, area=area, zone=zone)
    return Response(
        pack_html(pack, zone),
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


@router.get("/reviews/{week}/pack.pdf")
def pack_pdf_page(request: Request, ctx: PageCtx, week: str) -> Response:
    zone = _settings(request).zone
    area = request.query_params.get("area", "").strip() or None
    pack = service.build_pack(ctx, week, area=area, zone=zone)
    name = f"review-{pack.week}{'-' + pack.area if pack.area else ''}.pdf"
    return Response(
        pack_pdf(pack, zone),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _done(
    request: Request, week: str, area: str | None, message: str, anchor: str = ""
) -> Response:
    response = RedirectResponse(_where(week, area) + anchor, status_code=303)
    flash.put(request, response, message)
    return response


def _refused(
    request: Request,
    ctx: Context,
    week: str,
    area: str | None,
    form_name: str,
    exc: Exception,
    values: dict[str, str],
) -> Response:
    if isinstance(exc, FormInvalid):
        return _meeting_page(request, ctx, week, area, form_name, exc.errors, values, 422)
    assert isinstance(exc, AndonError)
    if exc.status in (401, 403) or isinstance(exc, NotFound):
        raise exc
    return _meeting_page(request, ctx, week, area, form_name, errors_from(exc), values, exc.status)


def _meeting(ctx: Context, week: str, area: str | None) -> MeetingOut:
    return service.get_meeting(ctx, week, area)


@router.post("/reviews/{week}/open")
def open_meeting(request: Request, ctx: PageCtx, week: str, form: Form) -> Response:
    area = text(form, "area") or None
    values = {"chair": text(form, "chair")}
    try:
        meeting, created = service.open_meeting(ctx, week, area, chair=values["chair"] or None)
    except AndonError as exc:
        return _refused(request, ctx, week, area, "open", exc, values)
    message = "Review opened." if created else "The review was already open."
    return _done(request, meeting.week, area, message)


@router.post("/reviews/{week}/attendance")
def attendance(request: Request, ctx: PageCtx, week: str, form: Form) -> Response:
    area = text(form, "area") or None
    users = [u for u in form.getlist("users") if isinstance(u, str)]
    guests = [g for g in text(form, "guests").splitlines() if g.strip()]
    values = {"guests": text(form, "guests")}
    try:
        version = int(text(form, "version") or 0) or None
        meeting = _meeting(ctx, week, area)
        service.record_attendance(ctx, meeting.id, users=users, guests=guests, version=version)
    except ValueError:
        return _refused(
            request, ctx, week, area, "attendance", FormInvalid({"": "bad version"}), values
        )
    except AndonError as exc:
        return _refused(request, ctx, week, area, "attendance", exc, values)
    count = len(users) + len(guests)
    return _done(request, week, area, f"Attendance recorded: {count} present.", "#attendance")


@router.post("/reviews/{week}/decisions")
def decide(request: Request, ctx: PageCtx, week: str, form: Form) -> Response:
    area = text(form, "area") or None
    key = text(form, "metric_key") or None
    values = {"text": text(form, "text")}
    form_name = f"decide-{key or ''}"
    try:
        meeting = _meeting(ctx, week, area)
        service.add_decision(ctx, meeting.id, key, values["text"])
    except AndonError as exc:
        return _refused(request, ctx, week, area, form_name, exc, values)
    anchor = f"#metric-{key}" if key else "#general"
    return _done(request, week, area, "Decision recorded.", anchor)


@router.post("/reviews/{week}/actions")
def new_action(request: Request, ctx: PageCtx, week: str, form: Form) -> Response:
    area = text(form, "area") or None
    names = ("title", "owner_user", "owner_role", "due_on", "metric_key")
    values = {name: text(form, name) for name in names}
    form_name = f"action-{values['metric_key']}"
    data: dict[str, Any] = {
        "title": values["title"],
        "owner_user": values["owner_user"] or None,
        "owner_role": values["owner_role"] or None,
        "due_on": values["due_on"] or None,
        "metric_key": values["metric_key"] or None,
    }
    try:
        meeting = _meeting(ctx, week, area)
        action = service.add_action(ctx, meeting.id, build(ReviewActionIn, data))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, week, area, form_name, exc, values)
    anchor = f"#metric-{values['metric_key']}" if values["metric_key"] else "#general"
    owner = action.owner_user or action.owner_role
    return _done(
        request, week, area, f"Opened action #{action.id} for {owner}, due {action.due_on}.", anchor
    )


@router.post("/reviews/{week}/close")
def close(request: Request, ctx: PageCtx, week: str, form: Form) -> Response:
    area = text(form, "area") or None
    values = {"notes": text(form, "notes")}
    try:
        version = int(text(form, "version") or 0) or None
        meeting = _meeting(ctx, week, area)
        service.close_meeting(ctx, meeting.id, notes=values["notes"], version=version)
    except ValueError:
        return _refused(request, ctx, week, area, "close", FormInvalid({"": "bad version"}), values)
    except AndonError as exc:
        return _refused(request, ctx, week, area, "close", exc, values)
    return _done(request, week, area, "Review closed.")
