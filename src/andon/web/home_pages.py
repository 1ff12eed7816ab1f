"""The home page: who you are, the plant at a glance, and the latest changes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from andon.accounts import service as accounts
from andon.core import audit_queries
from andon.core.audit_queries import AuditFilter
from andon.core.permissions import Action
from andon.plant import service as plant
from andon.web import csrf
from andon.web.audit_pages import entry_rows
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
LATEST_ENTRIES = 10


@router.get("/")
def home(request: Request, ctx: PageCtx) -> Response:
    tree = plant.plant_tree(ctx)
    user = accounts.get_user(ctx, ctx.actor.user_id) if ctx.actor.user_id is not None else None
    entries = None
    if ctx.actor.can(Action.AUDIT_READ):
        page = audit_queries.list_entries(ctx, AuditFilter(), limit=LATEST_ENTRIES)
        entries = entry_rows(page.items)
    counts = {
        "sites": sum(len(v) for v in tree.sites.values()),
        "areas": sum(len(v) for v in tree.areas.values()),
        "lines": sum(len(v) for v in tree.lines.values()),
    }
    return render(
        request,
        "home/home.html",
        {
            "section": "home",
            "display_name": user.display_name if user else ctx.actor.username,
            "tree": tree,
            "counts": counts,
            "entries": entries,
        },
    )
