"""What the work pages read once per request (lines, processes, specs) and items as cards."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from andon.accounts.models import User
from andon.calendars.hours import WorkingCalendar
from andon.calendars.service import working_calendar
from andon.core.permissions import Action, Actor, Role, Scope
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.models import Area, Line, Site
from andon.processes import service as processes
from andon.processes.layout import layout
from andon.processes.sla import format_business_duration
from andon.processes.spec import ProcessSpec
from andon.work.models import WorkItem
from andon.work.recipients import users_with_roles
from andon.work.rules import Countdown, countdown_for, stage_name, stage_sla


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


def add_site_data(ctx: Context, floor: Floor, places: Iterable[Place]) -> None:
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


def person(floor: Floor, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = floor.people.get(user_id)
    return user.username if user else f"user #{user_id}"


def make_cards(ctx: Context, floor: Floor, found: list[WorkItem], now: datetime) -> list[Card]:
    add_site_data(ctx, floor, (floor.places[i.line_id] for i in found))
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
                assignee=person(floor, item.assignee_id),
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
            sla = stage_sla(spec, key) if spec else None
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
