"""Weekly review endpoints: the pack (JSON, HTML, PDF) and the review meeting."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from andon.actions.schemas import ActionOut
from andon.api.deps import Ctx
from andon.api.lanes import FloorRoute, ReportRoute
from andon.api.metrics import Zone
from andon.api.problems import ERROR_RESPONSES
from andon.core.schemas import MAX_ID
from andon.reviews import service
from andon.reviews.schemas import (
    AttendanceIn,
    DecisionIn,
    DecisionOut,
    MeetingClose,
    MeetingOpen,
    MeetingOut,
    ReviewActionIn,
    ReviewPack,
)

router = APIRouter(
    prefix="/api/v1", tags=["reviews"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
Week = Annotated[str, Path(pattern=r"^\d{4}-W\d{2}$", description="ISO week, e.g. 2026-W47.")]
AreaQuery = Annotated[
    str | None,
    Query(max_length=20, description="Area code: that area's review (default: the plant's)."),
]
MeetingId = Annotated[int, Path(ge=1, le=MAX_ID, description="Review meeting id.")]


@router.get("/reviews", response_model=list[MeetingOut], summary="Review meetings held")
def list_meetings(ctx: Ctx) -> object:
    return service.list_meetings(ctx)


# Building a pack reads every metric's history and a PDF takes seconds: these run on the
# report lane (added at the end of the module).
def get_pack(ctx: Ctx, week: Week, zone: Zone, area: AreaQuery = None) -> object:
    return service.build_pack(ctx, week, area=area, zone=zone)


def get_pack_html(ctx: Ctx, week: Week, zone: Zone, area: AreaQuery = None) -> Response:
    from andon.web.review_print import pack_html

    built = service.build_pack(ctx, week, area=area, zone=zone)
    return Response(
        pack_html(built, zone, screen_links=False), media_type="text/html; charset=utf-8"
    )


def get_pack_pdf(ctx: Ctx, week: Week, zone: Zone, area: AreaQuery = None) -> Response:
    from andon.web.review_print import pack_pdf

    built = service.build_pack(ctx, week, area=area, zone=zone)
    name = f"review-{built.week}{'-' + built.area if built.area else ''}.pdf"
    return Response(
        pack_pdf(built, zone),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/reviews/{week}/meeting", response_model=MeetingOut, summary="The review meeting of a week"
)
def get_meeting(ctx: Ctx, week: Week, area: AreaQuery = None) -> object:
    return service.get_meeting(ctx, week, area)


@router.post(
    "/reviews/{week}/meeting",
    response_model=MeetingOut,
    responses={
        200: {"description": "The meeting already open for the week and area."},
        201: {"model": MeetingOut, "description": "The meeting, opened now."},
    },
    summary="Open the review meeting of a week (or return the one already open)",
)
def open_meeting(ctx: Ctx, week: Week, data: MeetingOpen, response: Response) -> object:
    meeting, created = service.open_meeting(ctx, week, data.area, chair=data.chair)
    response.status_code = 201 if created else 200
    return meeting


@router.put(
    "/reviews/meetings/{id}/attendance",
    response_model=MeetingOut,
    summary="Record who attended (replaces the list)",
)
def put_attendance(ctx: Ctx, id: MeetingId, data: AttendanceIn) -> object:
    return service.record_attendance(
        ctx, id, users=data.users, guests=data.guests, version=data.version
    )


@router.post(
    "/reviews/meetings/{id}/decisions",
    response_model=DecisionOut,
    status_code=201,
    summary="Record a decision, about a metric or in general",
)
def post_decision(ctx: Ctx, id: MeetingId, data: DecisionIn) -> object:
    return service.add_decision(ctx, id, data.metric_key, data.text)


@router.post(
    "/reviews/meetings/{id}/actions",
    response_model=ActionOut,
    status_code=201,
    summary="Open an action in the review (linked to the review and the metric)",
)
def post_action(ctx: Ctx, id: MeetingId, data: ReviewActionIn) -> object:
    return service.add_action(ctx, id, data)


@router.post("/reviews/meetings/{id}/close", response_model=MeetingOut, summary="Close the meeting")
def close_meeting(ctx: Ctx, id: MeetingId, data: MeetingClose) -> object:
    return service.close_meeting(ctx, id, notes=data.notes, version=data.version)


router.add_api_route(
    "/reviews/{week}/pack",
    get_pack,
    methods=["GET"],
    response_model=ReviewPack,
    summary="The review pack of a week",
    description=(
        "Each metric grouped by SQDC letter: the week's values against target, control-chart "
        "signals and threshold crossings in the week, open and overdue actions, last week's "
        "and this week's decisions."
    ),
    route_class_override=ReportRoute,
)

router.add_api_route(
    "/reviews/{week}/pack.html",
    get_pack_html,
    methods=["GET"],
    response_class=Response,
    responses={200: {"description": "The pack as HTML.", "content": {"text/html": {}}}},
    summary="The review pack of a week as a printable HTML page",
    route_class_override=ReportRoute,
)

router.add_api_route(
    "/reviews/{week}/pack.pdf",
    get_pack_pdf,
    methods=["GET"],
    response_class=Response,
    responses={200: {"description": "The pack as PDF.", "content": {"application/pdf": {}}}},
    summary="The review pack of a week as PDF",
    route_class_override=ReportRoute,
)
