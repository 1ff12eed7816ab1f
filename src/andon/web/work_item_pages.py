"""A work item's page, with its clocks and timeline, and every action on it as a plain form.

Every action redirects back to the item with a flash message, so the page works without
JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from andon.core import blobs
from andon.core.clock import to_local
from andon.core.errors import AndonError, Conflict, InvalidInput, NotFound
from andon.core.uow import Context
from andon.processes import service as processes
from andon.processes.sla import ClockReading, format_business_duration
from andon.processes.spec import ProcessSpec, Severity
from andon.web import csrf, flash
from andon.web.files import file_response
from andon.web.forms import FormInvalid, build, read_form, text
from andon.web.session import PageCtx
from andon.web.templating import format_local, render
from andon.web.work_floor import Floor, add_site_data, person, read_floor
from andon.web.work_forms import error_paths, limits_text, read_checklist
from andon.work import attachments, checks, escalations, exceptions, items, line_stops, queries
from andon.work.models import Escalation, LineStop, WorkEvent, WorkItem
from andon.work.queries import ItemRecord
from andon.work.rules import Countdown, pause_name, reading_countdown, stage_name
from andon.work.schemas import (
    CommentCreate,
    EscalationSend,
    ExceptionRaise,
    ItemAssign,
    ItemMove,
    ItemPause,
    ItemResume,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

SEVERITIES = [(s.value, s.value.capitalize()) for s in Severity]


@dataclass(frozen=True)
class ClockPanel:
    """One clock on the item page; a finished clock has ``finished`` and ``outcome`` set."""

    title: str
    reading: ClockReading | None
    countdown: Countdown
    target: str = ""
    due: str = ""
    used: str = ""
    paused: str = ""
    remaining: str = ""
    finished: str = ""
    outcome: str = ""


@dataclass(frozen=True)
class TimelineRow:
    event: WorkEvent
    text: str
    detail: str = ""


def _site_time(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return "—"
    return to_local(moment, zone).strftime("%Y-%m-%d %H:%M %Z")


def clock_panel(
    title: str,
    reading: ClockReading | None,
    zone: ZoneInfo,
    pause_name: str = "",
    *,
    finished: bool = False,
) -> ClockPanel:
    badge = reading_countdown(reading, pause_name)
    if reading is None:
        return ClockPanel(title, None, Countdown("sla-none", "finished") if finished else badge)
    remaining = reading.business_seconds_remaining
    outcome = ""
    if reading.stopped_at is not None:
        outcome = (
            f"Breached, {format_business_duration(max(-remaining, 0.0))} over"
            if reading.breached
            else f"Met, {format_business_duration(max(remaining, 0.0))} to spare"
        )
    return ClockPanel(
        title=title,
        reading=reading,
        countdown=badge,
        target=format_business_duration(reading.target_seconds),
        due=_site_time(reading.due_at or reading.projected_due_at, zone),
        used=format_business_duration(reading.business_seconds_used),
        paused=format_business_duration(reading.business_seconds_paused),
        remaining=(
            format_business_duration(remaining)
            if remaining >= 0
            else f"{format_business_duration(-remaining)} over"
        ),
        finished=_site_time(reading.stopped_at, zone) if reading.stopped_at else "",
        outcome=outcome,
    )


def describe(
    event: WorkEvent, spec: ProcessSpec, escalations_by_id: Mapping[int, Escalation], floor: Floor
) -> TimelineRow:
    """One timeline line in words: "moved Kit → Assemble", "checklist failed: torque"."""
    a = event.attributes
    kind = event.kind
    reason = str(a.get("reason") or "")
    if kind == "created":
        return TimelineRow(event, f"created at {stage_name(spec, a.get('stage'))}")
    if kind == "moved":
        words = f"moved {stage_name(spec, a.get('from'))} → {stage_name(spec, a.get('to'))}"
        words += " (rework)" if a.get("rework") else ""
        if a.get("sop_revision") is not None:
            words += f" under {a['sop']} revision {a['sop_revision']}"
            words += " (not acknowledged)" if a.get("untrained") else ""
        return TimelineRow(event, words, reason)
    if kind == "completed":
        if a.get("final"):
            return TimelineRow(event, f"finished at {event.activity}")
        return TimelineRow(event, f"completed {event.activity}")
    if kind == "paused":
        return TimelineRow(event, f"paused: {pause_name(spec, a.get('state'))}", reason)
    if kind == "resumed":
        return TimelineRow(event, "resumed", reason)
    if kind == "assigned":
        who = a.get("assignee") or person(floor, a.get("assignee_id"))
        return TimelineRow(event, f"assigned to {who}" if who else "unassigned")
    if kind == "updated":
        changed = [k for k in a if k not in ("reason",)]
        return TimelineRow(event, "changed " + ", ".join(changed), reason)
    if kind == "rerouted":
        place = floor.places.get(a.get("line_id", 0))
        return TimelineRow(event, f"rerouted to line {place.line.code if place else '?'}", reason)
    if kind == "commented":
        return TimelineRow(event, "commented")
    if kind == "checked":
        if a.get("passed"):
            return TimelineRow(event, f"checklist passed at {event.activity}")
        return TimelineRow(event, "checklist failed: " + ", ".join(a.get("defects") or []))
    if kind == "exception":
        category = spec.category(str(a.get("category")))
        name = category.name if category else a.get("category")
        words = f"raised exception #{a.get('exception_id')}: {name} ({a.get('severity')})"
        return TimelineRow(event, words)
    if kind == "escalated":
        return TimelineRow(event, f"escalated to {a.get('tier_name')} (tier {a.get('tier')})")
    if kind == "acknowledged":
        escalation = escalations_by_id.get(a.get("escalation_id", 0))
        tier = escalation.tier_name if escalation else f"tier {a.get('tier')}"
        return TimelineRow(
            event, f"acknowledged the escalation to {tier}", str(a.get("note") or "")
        )
    if kind == "attached":
        return TimelineRow(event, f"attached {a.get('filename')}")
    if kind == "stage_breached":
        return TimelineRow(event, f"stage SLA breached at {stage_name(spec, a.get('stage'))}")
    if kind == "breached":
        return TimelineRow(event, "end-to-end SLA breached")
    return TimelineRow(event, f"{kind} at {event.activity}")


def _item_context(ctx: Context, record: ItemRecord) -> dict[str, Any]:
    item, spec, actions = record.item, record.spec, record.actions
    floor = read_floor(ctx)
    place = floor.places[item.line_id]
    add_site_data(ctx, floor, [place])
    zone = ZoneInfo(place.site.timezone)
    stage = spec.stage(item.stage)
    pause = pause_name(spec, item.pause_state) if item.pause_state else ""
    by_id = {e.id: e for e in record.escalations}
    people = sorted(floor.people.values(), key=lambda u: u.username)
    return {
        "section": "work",
        "record": record,
        "item": item,
        "spec": spec,
        "stage": stage,
        "place": place,
        "process_name": floor.process_names.get(item.process_id, spec.name),
        "assignee": person(floor, item.assignee_id),
        "zone_label": place.site.timezone,
        "pause_name": pause,
        "clocks": [
            clock_panel(
                f"{stage.name} stage",
                record.clocks.stage,
                zone,
                pause,
                finished=item.status == "done",
            ),
            clock_panel("End to end", record.clocks.process, zone, pause),
        ],
        # The service refuses every move on a stopped line; the page says so instead of
        # offering buttons, and shows a gate as a hint only (the service enforces it).
        "actions": actions,
        "pause_options": [(p.key, p.name) for p in spec.pause_states],
        "people_options": [("", "— nobody —")]
        + [(str(u.id), f"{u.display_name} ({u.username})") for u in people],
        "checklist": list(stage.checklist) if actions.can_record_checklist else [],
        "limits": {c.key: limits_text(stage, c.key) for c in stage.checklist},
        "category_options": [
            (c.key, f"{c.name} (default {c.severity.value})") for c in spec.exception_categories
        ],
        "severity_options": [("", "The category's default"), *SEVERITIES],
        "tier_options": [
            (str(n), f"{n}. {t.name}") for n, t in enumerate(spec.escalation.tiers, start=1)
        ],
        "accept": blobs.accept(attachments.ALLOWED),
        "timeline": [describe(e, spec, by_id, floor) for e in reversed(record.events)],
        "categories": {c.key: c.name for c in spec.exception_categories},
        "stage_names": {s.key: s.name for s in spec.stages},
    }


@router.get("/work/{item_id:int}")
def item_page(request: Request, ctx: PageCtx, item_id: int) -> Response:
    record = queries.item_record(ctx, item_id)
    context = _item_context(ctx, record)
    context["max_attachment_mib"] = f"{request.app.state.settings.max_attachment_bytes / 2**20:g}"
    return render(request, "work/item.html", context)


def _stopped_words(request: Request, stop: LineStop) -> str:
    """Why nothing moves on a stopped line, with the time in the display zone."""
    return (
        f"the line is stopped (since {format_local(stop.stopped_at, request)}); nothing moves "
        "until a supervisor and quality sign off the restart"
    )


def _spec_of(ctx: Context, item: WorkItem) -> ProcessSpec | None:
    """The spec of the version an item runs on (for naming stages in a message)."""
    for version in processes.list_versions(ctx, item.process_id):
        if version.id == item.process_version_id:
            return processes.spec_of(version)
    return None


def _version(form: FormData) -> int:
    raw = text(form, "version")
    if not raw.isdigit():
        raise FormInvalid({"version": "the form carries no item version; reload the page"})
    return int(raw)


def _back(request: Request, item_id: int, failed: str, action: Callable[[], str]) -> Response:
    """Run one action and go back to the item with what happened, or why it did not."""
    try:
        message, kind = action(), "ok"
    except FormInvalid as exc:
        message, kind = f"{failed}: " + "; ".join(exc.errors.values()), "error"
    except AndonError as exc:
        if exc.status == 401:
            raise
        # Stale versions, refused moves, a stopped line, a missing right: all said on the
        # item's page. An unknown item ends on its 404 page after the redirect.
        message, kind = f"{failed}: {exc.detail}", "error"
        if isinstance(exc, InvalidInput) and exc.errors:
            message = f"{failed}: " + "; ".join(
                f"{path}: {msg}" if path else msg for path, msg in error_paths(exc).items()
            )
    response = RedirectResponse(f"/work/{item_id}", status_code=303)
    flash.put(request, response, message, kind)
    return response


@router.post("/work/{item_id:int}/move")
def move(request: Request, ctx: PageCtx, item_id: int, form: Form) -> Response:
    def act() -> str:
        data = build(
            ItemMove,
            {
                "to": text(form, "to"),
                "version": _version(form),
                "reason": text(form, "reason") or None,
            },
        )
        try:
            item = items.move_item(ctx, item_id, data)
        except Conflict:
            # Most likely the line stopped since the page was drawn: say so in local time.
            line_id = queries.item_record(ctx, item_id).item.line_id
            stop = line_stops.current_stop(ctx, line_id)
            if stop is None:
                raise
            raise Conflict(_stopped_words(request, stop)) from None
        done = " It is finished." if item.status == "done" else ""
        return f"Moved #{item.id} to {stage_name(_spec_of(ctx, item), item.stage)}.{done}"

    return _back(request, item_id, "Not moved", act)


@router.post("/work/{item_id:int}/pause")
def pause(request: Request, ctx: PageCtx, item_id: int, form: Form) -> Response:
    def act() -> str:
        data = build(
            ItemPause,
            {
                "state": text(form, "state"),
                "version": _version(form),
                "reason": text(form, "reason") or None,
            },
        )
        items.pause_item(ctx, item_id, data)
        return f"Paused #{item_id}; its SLA clocks are stopped until it resumes."

    return _back(request, item_id, "Not paused", act)


@router.post("/work/{item_id:int}/resume")
def resume(request: Request, ctx: PageCtx, item_id: int, form: Form) -> Response:
    def act() -> str:
        data = build(
            ItemResume, {"version": _version(form), "reason": text(form, "reason") or None}
        )
        items.resume_item(ctx, item_id, data)
        return f"Resumed #{item_id}; its SLA clocks run again."

    return _back(request, item_id, "Not resumed", act)


@router.post("/work/{item_id:int}/assign")
def assign(request: Request, ctx: PageCtx, item_id: int, form: Form) -> Response:
    def act() -> str:
        if text(form, "take"):
            assignee: int | None = ctx.actor.user_id
        else:
            raw = text(form, "assignee_id")
            assignee = int(raw) if raw.isdigit() else None
        items.assign_item(ctx, item_id, ItemAssign(assignee_id=assignee, version=_version(form)))
        if assignee is None:
            return f"#{item_id} is unassigned."
        if assignee == ctx.actor.user_id:
            return f"#{item_id} is yours now."
        return f"Assigned #{item_id}."

    return _back(request, item_id, "Not assigned", act)


@router.post("/work/{item_id:int}/comment")
def comment(request: Request, ctx: PageCtx, item_id: int, form: Form) -> Response:
    def act() -> str:
        items.comment_item(ctx, item_id, build(CommentCreate, {"body": text(form, "body")}))
        return "Comment added."

    return _back(request, item_id, "No comment added", act)


@router.post("/work/{item_id:int}/checklist")
def checklist(request: Request, ctx: PageCtx, item_id: int, form: Form) -> Response:
    def act() -> str:
        record = queries.item_record(ctx, item_id)
        stage = record.spec.stage(record.item.stage)
        run = checks.record_checklist(ctx, item_id, read_checklist(form, stage))
        if run.passed:
            return f"Checklist passed at {stage.name}."
        failed = ", ".join(str(r["text"]) for r in run.results if not r["passed"])
        sent = (
            f"; #{item_id} went to {stage_name(record.spec, stage.on_fail)}"
            if stage.on_fail
            else ""
        )
        return f"Checklist failed: {failed}{sent}."

    return _back(request, item_id, "Checklist not recorded", act)


@router.post("/work/{item_id:int}/exception")
def raise_exception(request: Request, ctx: PageCtx, item_id: int, form: Form) -> Response:
    def act() -> str:
        data = build(
            ExceptionRaise,
            {
                "item_id": item_id,
                "category": text(form, "category"),
                "severity": text(form, "severity") or None,
                "description": text(form, "description"),
            },
        )
        raised = exceptions.raise_exception(ctx, data)
        return f"Raised exception #{raised.id} ({raised.severity})."

    return _back(request, item_id, "No exception raised", act)


@router.post("/work/{item_id:int}/escalate")
def escalate(request: Request, ctx: PageCtx, item_id: int, form: Form) -> Response:
    def act() -> str:
        data = build(EscalationSend, {"tier": text(form, "tier"), "reason": text(form, "reason")})
        sent = escalations.send_to_tier(ctx, item_id, data)
        return f"Escalated to {sent.tier_name} (tier {sent.tier})."

    return _back(request, item_id, "Not escalated", act)


@router.post("/work/{item_id:int}/escalations/{escalation_id:int}/acknowledge")
def acknowledge(
    request: Request, ctx: PageCtx, item_id: int, escalation_id: int, form: Form
) -> Response:
    def act() -> str:
        if escalation_id not in {e.id for e in escalations.list_escalations(ctx, item_id)}:
            raise NotFound(f"work item {item_id} has no escalation {escalation_id}")
        done = escalations.acknowledge(ctx, escalation_id, note=text(form, "note") or None)
        return f"Acknowledged the escalation to {done.tier_name}."

    return _back(request, item_id, "Not acknowledged", act)


@router.post("/work/{item_id:int}/attachments")
def attach(request: Request, ctx: PageCtx, item_id: int, form: Form) -> Response:
    settings = request.app.state.settings

    def act() -> str:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise FormInvalid({"file": "choose a file to attach"})
        data = upload.file.read(settings.max_attachment_bytes + 1)
        attached = attachments.attach_file(
            ctx,
            item_id,
            upload.filename,
            upload.content_type or "",
            data,
            storage=settings.data_dir,
            max_bytes=settings.max_attachment_bytes,
        )
        return f"Attached {attached.filename}."

    return _back(request, item_id, "Not attached", act)


@router.get("/work/attachments/{attachment_id:int}")
def download(request: Request, ctx: PageCtx, attachment_id: int) -> Response:
    """An attachment's bytes: pictures and PDFs open in the browser, text comes as a file."""
    attachment, data = attachments.read_attachment(
        ctx, attachment_id, request.app.state.settings.data_dir
    )
    return file_response(data, attachment.filename, attachment.content_type)
