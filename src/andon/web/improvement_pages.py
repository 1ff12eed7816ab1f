"""The improvement hub: what needs attention across RCAs, CAPAs, risks, postmortems and
decisions, with the month's repeat offenders, one page to start the week's improvement work."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from andon.actions.service import is_overdue
from andon.core.clock import to_local, utcnow
from andon.core.config import Settings
from andon.improvement import capa, decisions, offenders, postmortems, rca, risks
from andon.improvement.rca_schemas import RcaFilters
from andon.improvement.risk_schemas import RiskFilters
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False)

# The repeat offenders the hub shows: the last four weeks, the three worst by count.
OFFENDER_DAYS = 28
OFFENDERS_SHOWN = 3
RISKS_SHOWN = 5


@router.get("/improvement")
def hub_page(request: Request, ctx: PageCtx) -> Response:
    settings: Settings = request.app.state.settings
    today: date = to_local(utcnow(), settings.zone).date()
    report = offenders.offenders(
        ctx, since=today - timedelta(days=OFFENDER_DAYS - 1), until=today, zone=settings.zone
    )
    open_capas = capa.list_capas(ctx, status="unfinished")
    active = risks.list_risks(ctx, RiskFilters(status="active", scale="residual"), today=today)
    return render(
        request,
        "improvement/hub.html",
        {
            "section": "improvement",
            "today": today,
            "report": report,
            "worst": report.rows[:OFFENDERS_SHOWN],
            "rcas": rca.list_rcas(ctx, RcaFilters(status="open")),
            "capas": open_capas,
            "overdue_capas": sum(1 for c in open_capas if is_overdue(c.action, today)),
            "postmortems": postmortems.list_postmortems(ctx, limit=6),
            "revisit": decisions.due_for_revisit(ctx, today=today, limit=10),
            # Highest residual score first: what is left after the mitigations in place.
            "top_risks": active[:RISKS_SHOWN],
            "risks_to_assess": sum(1 for r in active if r.status == "to_assess"),
            "risks_attention": sum(
                1
                for r in active
                if r.review_overdue or r.verification_state in ("not_met", "overdue")
            ),
            "is_overdue": is_overdue,
        },
    )
