"""Work pages: the queue, my work, a new item, and an item's page with every action on it.

Every action is a plain form that redirects back to the item with a flash message, so the
pages work without JavaScript; htmx only refreshes the queue's list every 30 seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from andon.accounts.models import User
from andon.calendars.hours import WorkingCalendar
from andon.calendars.service import working_calendar
from andon.core.clock import to_local, utcnow
from andon.core.errors import AndonError, Conflict, InvalidInput, NotFound
from andon.core.permissions import Action, Actor, Role, Scope
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.models import Area, Line, Site
from andon.processes import service as processes
from andon.processes.layout import layout
from andon.processes.sla import ClockReading, format_business_duration
from andon.processes.spec import Priority, ProcessSpec, Severity
from andon.web import csrf, flash
from andon.web.forms import FormInvalid, build, read_form, text
from andon.web.session import PageCtx, optional_actor, page_context
from andon.web.templating import format_local, render, templates
from andon.web.work_forms import (
    error_paths,
    intake_inputs,
    limits_text,
    read_checklist,
    read_item_create,
)
from andon.work import attachments, checks, escalations, exceptions, items, lines, queries
from andon.work.models import Escalation, LineStop, WorkEvent, WorkItem
from andon.work.queries import ItemFilter, ItemRecord
from andon.work.recipients import users_with_roles
from andon.work.schemas import (
    CommentCreate,
    EscalationSend,
    ExceptionRaise,
    ItemAssign,
    ItemCreate,
    ItemMove,
    ItemPause,
    ItemResume,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

REFRESH_SECONDS = 30
QUEUE_LIMIT = 200
WARN_SHARE = 0.25  # at or below this share of the stage SLA left, a card turns amber
PRIORITIES = [(p.value, p.value.capitalize()) for p in Priority]
SEVERITIES = [(s.value, s.value.capitalize()) for s in Severity]


# -- what the pages show ----------------------------------------------------------------------


@dataclass(frozen=True)
class Countdown:
    """An SLA clock as a badge: ``css`` is sla-ok, sla-warn, sla-late, sla-paused or sla-none."""

    css: str
    text: str
    due_at: datetime | None = None


@dataclass(frozen=True)
class Place:
    """Where a line is: its area and site (the site's zone is the line's local time)."""

    line: Line
    area: Area
    site: Site

    @property
    def scope(self) -> Scope:
        return Scope(site_id=self.site.id, area_id=self.area.id)


@dataclass(frozen=True)
class Card:
    item: WorkItem
    process_name: str
    stage_name: str
    line: Line
    assignee: str | None
    countdown: Countdown


@dataclass(frozen=True)
class Group:
    key: str
    title: str
    note: str
    cards: list[Card]

    @property
    def late(self) -> int:
        return sum(1 for c in self.cards if c.countdown.css == "sla-late")


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


@dataclass
class Floor:
    """What the work pages look up once per request: lines, processes, specs, calendars."""

    places: dict[int, Place]
    process_names: dict[int, str]
    process_keys: dict[int, str]
    current: dict[str, ProcessSpec]  # process key → current version's spec
    specs: dict[int, ProcessSpec]  # process version id → spec
    active: list[tuple[str, str]]  # (key, name) of processes open for new items
    calendars: dict[int, WorkingCalendar] = field(default_factory=dict)
    people: dict[int, User] = field(default_factory=dict)


def countdown_for(
    item: WorkItem, spec: ProcessSpec, calendar: WorkingCalendar, now: datetime
) -> Countdown:
    """The stage clock of a queue card from the cached due time, in business time."""
    if item.status == "done":
        return Countdown("sla-none", "finished")
    if item.status == "paused":
        return Countdown("sla-paused", f"paused: {_pause_name(spec, item.pause_state)}")
    due = item.stage_due_at
    if due is None:
        return Countdown("sla-none", "no stage SLA")
    if due <= now:
        over = calendar.business_seconds(due, now)
        return Countdown("sla-late", f"late by {format_business_duration(over)}", due)
    left = calendar.business_seconds(now, due)
    target = _stage_sla(spec, item.stage)
    css = "sla-warn" if target and left <= WARN_SHARE * target else "sla-ok"
    return Countdown(css, f"due in {format_business_duration(left)}", due)


def reading_countdown(reading: ClockReading | None, pause_name: str = "") -> Countdown:
    """The same badge from a full clock reading (the item page's clocks).

    A stopped clock (the item finished) shows its outcome, not a countdown.
    """
    if reading is None:
        return Countdown("sla-none", "no SLA")
    if reading.stopped_at is not None:
        if reading.breached:
            over = max(-reading.business_seconds_remaining, 0.0)
            return Countdown("sla-late", f"breached by {format_business_duration(over)}")
        spare = max(reading.business_seconds_remaining, 0.0)
        return Countdown("sla-ok", f"met, {format_business_duration(spare)} to spare")
    if reading.breached:
        over = max(-reading.business_seconds_remaining, 0.0)
        return Countdown("sla-late", f"late by {format_business_duration(over)}", reading.due_at)
    if reading.paused:
        return Countdown("sla-paused", f"paused: {pause_name}" if pause_name else "paused")
    if reading.due_at is None:
        return Countdown("sla-none", "no due time on this calendar")
    left = reading.business_seconds_remaining
    css = "sla-warn" if left <= WARN_SHARE * reading.target_seconds else "sla-ok"
    return Countdown(css, f"due in {format_business_duration(left)}", reading.due_at)


def _stage_sla(spec: ProcessSpec, key: str) -> int | None:
    try:
        return spec.stage(key).sla
    except KeyError:
        return None


def stage_name(spec: ProcessSpec | None, key: str | None) -> str:
    if spec is None or key is None:
        return key or "—"
    try:
        return spec.stage(key).name
    except KeyError:
        return key


def _pause_name(spec: ProcessSpec, key: str | None) -> str:
    name = next((p.name for p in spec.pause_states if p.key == key), key or "on hold")
    # "Waiting for parts" reads "paused: waiting for parts"; an acronym keeps its capitals.
    return name[:1].lower() + name[1:] if name[1:2].islower() else name


def map_order(spec: ProcessSpec) -> list[str]:
    """Stage keys as the process map draws them: left to right, then top to bottom."""
    try:
        boxes = layout(spec).stages
    except ValueError:
        return [s.key for s in spec.stages]
    return sorted(boxes, key=lambda k: (boxes[k].column, boxes[k].row))


def may_somewhere(actor: Actor, action: Action) -> bool:
    """Whether to offer a form at all; each service call still checks the exact place."""
    scopes = [Scope()] + [Scope(g.site_id, g.area_id) for g in actor.grants]
    return any(actor.can(action, scope) for scope in scopes)


# -- reading the floor ----------------------------------------------------------------------


def read_floor(ctx: Context) -> Floor:
    """Lines with their place, and every version's spec of every process (there are few)."""
    tree = plant.plant_tree(ctx)
    sites = {s.id: s for group in tree.sites.values() for s in group}
    areas = {a.id: a for group in tree.areas.values() for a in group}
    places = {
        line.id: Place(line, areas[line.area_id], sites[areas[line.area_id].site_id])
        for group in tree.lines.values()
        for line in group
    }
    floor = Floor(places, {}, {}, {}, {}, [])
    for process in processes.list_processes(ctx):
        floor.process_names[process.id] = process.name
        floor.process_keys[process.id] = process.key
        if process.active:
            floor.active.append((process.key, process.name))
        for version in processes.list_versions(ctx, process.id):
            spec = processes.spec_of(version)
            floor.specs[version.id] = spec
            if version.number == process.current_version:
                floor.current[process.key] = spec
    return floor


def _add_site_data(ctx: Context, floor: Floor, places: Iterable[Place]) -> None:
    """The calendars and people of the sites and areas shown.

    The work services have no read of "a site's working calendar" or "who may work here"
    for pages, so this reads both through the same domain functions the services use.
    """
    places = list(places)
    with ctx.read() as session:
        for site_id in {p.site.id for p in places} - floor.calendars.keys():
            floor.calendars[site_id] = working_calendar(session, site_id)
        for scope in {p.scope for p in places}:
            for user in users_with_roles(session, list(Role), scope):
                floor.people.setdefault(user.id, user)


def _person(floor: Floor, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = floor.people.get(user_id)
    return user.username if user else f"user #{user_id}"


def make_cards(ctx: Context, floor: Floor, found: list[WorkItem], now: datetime) -> list[Card]:
    _add_site_data(ctx, floor, (floor.places[i.line_id] for i in found))
    cards = []
    for item in found:
        spec = floor.specs[item.process_version_id]
        place = floor.places[item.line_id]
        cards.append(
            Card(
                item=item,
                process_name=floor.process_names.get(item.process_id, spec.name),
                stage_name=stage_name(spec, item.stage),
                line=place.line,
                assignee=_person(floor, item.assignee_id),
                countdown=countdown_for(item, spec, floor.calendars[place.site.id], now),
            )
        )
    return cards


def by_stage(floor: Floor, cards: list[Card]) -> list[Group]:
    """One group per (process, stage), processes by name, stages in process-map order."""
    buckets: dict[tuple[int, str], list[Card]] = {}
    for card in cards:
        buckets.setdefault((card.item.process_id, card.item.stage), []).append(card)
    several = len({pid for pid, _ in buckets}) > 1
    groups = []
    for process_id in sorted({pid for pid, _ in buckets}, key=lambda p: floor.process_names[p]):
        spec = floor.current.get(floor.process_keys[process_id])
        order = map_order(spec) if spec else []
        keys = sorted(
            (k for pid, k in buckets if pid == process_id),
            key=lambda k: (order.index(k) if k in order else len(order), k),
        )
        for key in keys:
            sla = _stage_sla(spec, key) if spec else None
            note = [floor.process_names[process_id]] if several else []
            if sla:
                note.append(f"SLA {format_business_duration(sla)}")
            groups.append(
                Group(
                    key=f"{floor.process_keys[process_id]}-{key}",
                    title=stage_name(spec, key),
                    note=" · ".join(note),
                    cards=buckets[(process_id, key)],
                )
            )
    return groups


def by_line(floor: Floor, cards: list[Card]) -> list[Group]:
    buckets: dict[int, list[Card]] = {}
    for card in cards:
        buckets.setdefault(card.line.id, []).append(card)
    groups = []
    for line_id in sorted(buckets, key=lambda i: floor.places[i].line.code):
        place = floor.places[line_id]
        groups.append(
            Group(
                key=f"line-{line_id}",
                title=f"{place.line.code} · {place.line.name}",
                note=f"{place.site.code} / {place.area.name}",
                cards=buckets[line_id],
            )
        )
    return groups


# -- the queue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueQuery:
    process: str
    stage: str
    line: str
    late: bool
    view: str

    @classmethod
    def read(cls, params: Mapping[str, str]) -> QueueQuery:
        line = params.get("line", "").strip()
        view = params.get("view", "")
        return cls(
            process=params.get("process", "").strip(),
            stage=params.get("stage", "").strip(),
            line=line if line.isdigit() else "",
            late=params.get("late", "") in ("1", "true", "on"),
            view="line" if view == "line" else "stage",
        )

    def item_filter(self) -> ItemFilter:
        return ItemFilter(
            process=self.process or None,
            stage=self.stage or None,
            line_id=int(self.line) if self.line else None,
            late=True if self.late else None,
        )

    def query_string(self, **changes: str) -> str:
        values = {
            "process": self.process,
            "stage": self.stage,
            "line": self.line,
            "late": "1" if self.late else "",
            "view": "line" if self.view == "line" else "",
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v})


def _queue_context(ctx: Context, query: QueueQuery) -> dict[str, Any]:
    now = utcnow()
    floor = read_floor(ctx)
    found = queries.queue(ctx, query.item_filter(), limit=QUEUE_LIMIT, now=now)
    cards = make_cards(ctx, floor, found, now)
    groups = by_line(floor, cards) if query.view == "line" else by_stage(floor, cards)
    if query.process and query.process in floor.current:
        shown = [floor.current[query.process]]
    else:
        shown = [floor.current[k] for k in sorted(floor.current)]
    stages: dict[str, str] = {}
    for spec in shown:
        for key in map_order(spec):
            if key not in spec.end:
                stages.setdefault(key, spec.stage(key).name)
    places = sorted(floor.places.values(), key=lambda p: p.line.code)
    processes_by_name = sorted(
        ((key, floor.process_names[pid]) for pid, key in floor.process_keys.items()),
        key=lambda option: option[1],
    )
    return {
        "query": query,
        "groups": groups,
        "count": len(cards),
        "late": sum(g.late for g in groups),
        "capped": len(found) >= QUEUE_LIMIT,
        "updated_at": now,
        "process_options": [("", "All processes"), *processes_by_name],
        "stage_options": [("", "All stages"), *stages.items()],
        "line_options": [
            ("", "All lines"),
            *((str(p.line.id), f"{p.line.code} · {p.line.name}") for p in places),
        ],
        "list_url": "/work/list?" + query.query_string(),
        "refresh_seconds": REFRESH_SECONDS,
    }


def _fragment(request: Request, template: str, context: dict[str, Any]) -> Response:
    """A piece of a page for htmx: no layout, and the flash message is left for the page."""
    response = templates.TemplateResponse(request, template, context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/work")
def queue_page(request: Request, ctx: PageCtx) -> Response:
    query = QueueQuery.read(request.query_params)
    context = _queue_context(ctx, query)
    context.update(
        section="work",
        may_create=may_somewhere(ctx.actor, Action.WORK_CREATE),
    )
    return render(request, "work/queue.html", context)


@router.get("/work/list")
def queue_list(request: Request) -> Response:
    """The queue's list alone: what the page's htmx refresh swaps in every 30 s."""
    actor = optional_actor(request)
    if actor is None:
        # The session ended while the page sat open on a wall screen: rather than swap the
        # sign-in form into the list, htmx reloads the page, which goes to the sign-in.
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    ctx = page_context(request, actor)
    context = _queue_context(ctx, QueueQuery.read(request.query_params))
    return _fragment(request, "work/_list.html", context)


# -- my work --------------------------------------------------------------------------------


@router.get("/work/mine")
def my_work(request: Request, ctx: PageCtx) -> Response:
    """Items assigned to me, then unassigned items in stages a role of mine owns here."""
    now = utcnow()
    actor = ctx.actor
    floor = read_floor(ctx)
    mine: list[WorkItem] = []
    if actor.user_id is not None:
        mine = queries.queue(ctx, ItemFilter(assignee_id=actor.user_id), limit=QUEUE_LIMIT, now=now)
    everything = queries.queue(ctx, ItemFilter(), limit=500, now=now)
    owned = [
        i
        for i in everything
        if i.assignee_id is None
        and i.assignee_role is not None
        and any(
            g.role == i.assignee_role and g.covers(floor.places[i.line_id].scope)
            for g in actor.grants
        )
    ]
    return render(
        request,
        "work/mine.html",
        {
            "section": "mine",
            "assigned": make_cards(ctx, floor, mine, now),
            "owned": make_cards(ctx, floor, owned, now),
            "roles": sorted(str(r) for r in actor.roles),
        },
    )


# -- a new item -----------------------------------------------------------------------------


def _new_page(
    request: Request,
    ctx: Context,
    process_key: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    floor = read_floor(ctx)
    spec = floor.current.get(process_key) if process_key in dict(floor.active) else None
    errors = dict(errors or {})
    if process_key and spec is None and "process" not in errors:
        errors["process"] = f"no active process {process_key!r}; choose one"
    places = sorted(floor.places.values(), key=lambda p: (p.site.code, p.line.code))
    return render(
        request,
        "work/new.html",
        {
            "section": "work",
            "spec": spec,
            "process_key": process_key if spec else "",
            "process_options": [("", "Choose a process"), *floor.active],
            "line_options": [("", "Choose a line")]
            + [
                (str(p.line.id), f"{p.line.code} · {p.line.name} ({p.site.code} / {p.area.name})")
                for p in places
            ],
            "priority_options": PRIORITIES,
            "intake": intake_inputs(spec.intake) if spec else [],
            "values": values or {"quantity": "1", "priority": Priority.NORMAL.value},
            "errors": errors,
        },
        status_code=status_code,
    )


@router.get("/work/new")
def new_item_page(request: Request, ctx: PageCtx, process: str | None = None) -> Response:
    if process is None:
        # One active process: no need to ask which (``?process=`` asks anyway).
        active = [k for k, _ in read_floor(ctx).active]
        process = active[0] if len(active) == 1 else ""
    return _new_page(request, ctx, process.strip())


@router.post("/work/new")
def create_item(request: Request, ctx: PageCtx, form: Form) -> Response:
    process_key = text(form, "process")
    floor = read_floor(ctx)
    spec = floor.current.get(process_key)
    data, values = read_item_create(form, spec.intake if spec else ())
    try:
        item = items.create_item(ctx, build(ItemCreate, data))
    except FormInvalid as exc:
        return _new_page(request, ctx, process_key, values, exc.errors, 422)
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        return _new_page(request, ctx, process_key, values, error_paths(exc), exc.status)
    response = RedirectResponse(f"/work/{item.id}", status_code=303)
    where = stage_name(spec, item.stage)
    flash.put(request, response, f"Created work item #{item.id} at {where}.")
    return response


# -- an item --------------------------------------------------------------------------------


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
        return TimelineRow(event, words + (" (rework)" if a.get("rework") else ""), reason)
    if kind == "completed":
        if a.get("final"):
            return TimelineRow(event, f"finished at {event.activity}")
        return TimelineRow(event, f"completed {event.activity}")
    if kind == "paused":
        return TimelineRow(event, f"paused: {_pause_name(spec, a.get('state'))}", reason)
    if kind == "resumed":
        return TimelineRow(event, "resumed", reason)
    if kind == "assigned":
        who = a.get("assignee") or _person(floor, a.get("assignee_id"))
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
    actor = ctx.actor
    item, spec = record.item, record.spec
    floor = read_floor(ctx)
    place = floor.places[item.line_id]
    _add_site_data(ctx, floor, [place])
    scope = place.scope
    zone = ZoneInfo(place.site.timezone)
    stage = spec.stage(item.stage)
    pause = _pause_name(spec, item.pause_state) if item.pause_state else ""
    open_item = item.status != "done"
    # The service refuses every move on a stopped line; say so instead of offering buttons.
    line_stop = lines.current_stop(ctx, item.line_id) if open_item else None
    may_move = open_item and actor.can(Action.WORK_MOVE, scope)
    can_move = may_move and line_stop is None
    gate_passed = any(
        run.passed and run.stage == item.stage and run.recorded_at >= item.stage_entered_at
        for run in record.check_runs
    )
    moves = []
    for target in record.allowed_moves if can_move else []:
        if not items.may_move(actor, spec, item.stage, target):
            continue
        transition = spec.transition(item.stage, target)
        moves.append(
            {
                "key": target,
                "name": stage_name(spec, target),
                "rework": bool(transition and transition.rework) or target == stage.on_fail,
                # Shown as a hint only; the service refuses the move until the gate passes.
                "gated": bool(stage.checklist) and target != stage.on_fail and not gate_passed,
            }
        )
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
        "assignee": _person(floor, item.assignee_id),
        "zone_label": place.site.timezone,
        "pause_name": pause,
        "clocks": [
            clock_panel(
                f"{stage.name} stage", record.clocks.stage, zone, pause, finished=not open_item
            ),
            clock_panel("End to end", record.clocks.process, zone, pause),
        ],
        "moves": moves,
        "can_move": can_move,
        "may_move": may_move,
        "line_stop": line_stop,
        "can_pause": may_move and item.status == "open" and bool(spec.pause_states),
        "can_resume": may_move and item.status == "paused",
        "pause_options": [(p.key, p.name) for p in spec.pause_states],
        "can_assign": open_item and actor.can(Action.WORK_ASSIGN, scope),
        "can_take": may_move and actor.user_id is not None and item.assignee_id != actor.user_id,
        "people_options": [("", "— nobody —")]
        + [(str(u.id), f"{u.display_name} ({u.username})") for u in people],
        "can_record": actor.can(Action.WORK_RECORD, scope),
        "checklist": list(stage.checklist) if open_item and item.status == "open" else [],
        "limits": {c.key: limits_text(stage, c.key) for c in stage.checklist},
        "can_raise": open_item and actor.can(Action.EXCEPTION_RAISE, scope),
        "category_options": [
            (c.key, f"{c.name} (default {c.severity.value})") for c in spec.exception_categories
        ],
        "severity_options": [("", "The category's default"), *SEVERITIES],
        "can_escalate": open_item
        and actor.can(Action.ESCALATION_SEND, scope)
        and bool(spec.escalation.tiers),
        "tier_options": [
            (str(n), f"{n}. {t.name}") for n, t in enumerate(spec.escalation.tiers, start=1)
        ],
        "can_ack": actor.can(Action.ESCALATION_ACK, scope),
        "accept": ",".join(
            sorted({ext for exts in attachments.EXTENSIONS.values() for ext in exts})
        ),
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
            stop = lines.current_stop(ctx, line_id)
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
    inline = attachment.content_type.startswith("image/") or attachment.content_type.endswith(
        "/pdf"
    )
    disposition = "inline" if inline else "attachment"
    media_type = attachment.content_type
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(attachment.filename)}",
            "Cache-Control": "private, no-store",
            # Whatever the file holds, it runs nothing and loads nothing on this site.
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
        },
    )
