"""Work queue pages: the queue by stage or line, its self-refreshing list, and my work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from andon.core.clock import utcnow
from andon.core.permissions import Action
from andon.core.uow import Context
from andon.web import csrf
from andon.web.session import PageCtx, optional_actor, page_context
from andon.web.templating import render, templates
from andon.web.work_floor import by_line, by_stage, make_cards, map_order, may_somewhere, read_floor
from andon.work import queries
from andon.work.models import WorkItem
from andon.work.queries import ItemFilter

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])

REFRESH_SECONDS = 30
QUEUE_LIMIT = 200


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
