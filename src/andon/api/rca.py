"""Root-cause analysis endpoints, and the repeat-offender report they start from."""

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from andon.api.deps import Ctx, get_settings
from andon.api.lanes import FloorRoute, ReportRoute
from andon.api.problems import ERROR_RESPONSES
from andon.core.clock import to_local, utcnow
from andon.core.config import Settings
from andon.core.schemas import MAX_ID
from andon.improvement import offenders, rca
from andon.improvement.offender_schemas import OffenderReportOut
from andon.improvement.rca_schemas import (
    CauseCreate,
    CauseOut,
    CauseRoot,
    CauseUpdate,
    CauseVerify,
    ContainmentCreate,
    ContainmentOut,
    RcaClose,
    RcaCreate,
    RcaDetailOut,
    RcaFilters,
    RcaLinkIn,
    RcaLinkOut,
    RcaOut,
    RcaUpdate,
)

router = APIRouter(
    prefix="/api/v1", tags=["rca"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
reports = APIRouter(
    prefix="/api/v1", tags=["rca"], responses=ERROR_RESPONSES, route_class=ReportRoute
)
RcaId = Annotated[int, Path(ge=1, le=MAX_ID, description="RCA id.")]
CauseId = Annotated[int, Path(ge=1, le=MAX_ID, description="Cause id.")]
LinkId = Annotated[int, Path(ge=1, le=MAX_ID, description="Link id.")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


@router.get("/rca", response_model=list[RcaOut], summary="List root-cause analyses, newest first")
def list_rcas(
    ctx: Ctx,
    status: Literal["open", "closed"] | None = None,
    line_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    owner: Annotated[str | None, Query(max_length=64, description="Owner's username.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> object:
    filters = RcaFilters(
        status=status, line_id=line_id, category=category, owner_user=owner, limit=limit
    )
    return rca.list_rcas(ctx, filters)


@router.post("/rca", response_model=RcaDetailOut, status_code=201, summary="Open an RCA")
def open_rca(ctx: Ctx, data: RcaCreate) -> object:
    return rca.open_rca(ctx, data)


@router.get("/rca/{id}", response_model=RcaDetailOut, summary="Read an RCA with its causes")
def get_rca(ctx: Ctx, id: RcaId) -> object:
    return rca.get_rca(ctx, id)


@router.patch("/rca/{id}", response_model=RcaOut, summary="Change the problem statement")
def update_rca(ctx: Ctx, id: RcaId, data: RcaUpdate) -> object:
    return rca.update_rca(ctx, id, data)


@router.post("/rca/{id}/links", response_model=RcaLinkOut, status_code=201, summary="Link evidence")
def add_link(ctx: Ctx, id: RcaId, data: RcaLinkIn) -> object:
    return rca.add_link(ctx, id, data)


@router.delete("/rca/{id}/links/{link_id}", status_code=204, summary="Remove a link")
def remove_link(ctx: Ctx, id: RcaId, link_id: LinkId) -> Response:
    rca.remove_link(ctx, id, link_id)
    return Response(status_code=204)


@router.post(
    "/rca/{id}/containment",
    response_model=ContainmentOut,
    status_code=201,
    summary="Open a containment action",
)
def add_containment(ctx: Ctx, id: RcaId, data: ContainmentCreate) -> object:
    return rca.add_containment(ctx, id, data)


@router.post("/rca/{id}/causes", response_model=CauseOut, status_code=201, summary="Add a why")
def add_cause(ctx: Ctx, id: RcaId, data: CauseCreate) -> object:
    return rca.add_cause(ctx, id, data)


@router.patch("/rca/{id}/causes/{cause_id}", response_model=CauseOut, summary="Edit a cause")
def update_cause(ctx: Ctx, id: RcaId, cause_id: CauseId, data: CauseUpdate) -> object:
    return rca.update_cause(ctx, id, cause_id, data)


@router.post(
    "/rca/{id}/causes/{cause_id}/verify", response_model=CauseOut, summary="Verify with evidence"
)
def verify_cause(ctx: Ctx, id: RcaId, cause_id: CauseId, data: CauseVerify) -> object:
    return rca.verify_cause(ctx, id, cause_id, data)


@router.post(
    "/rca/{id}/causes/{cause_id}/root",
    response_model=CauseOut,
    summary="Name (or un-name) a verified cause a root cause",
)
def set_root(ctx: Ctx, id: RcaId, cause_id: CauseId, data: CauseRoot) -> object:
    return rca.set_root(ctx, id, cause_id, root=data.root)


@router.post("/rca/{id}/close", response_model=RcaOut, summary="Close with a root cause named")
def close_rca(ctx: Ctx, id: RcaId, data: RcaClose) -> object:
    return rca.close_rca(ctx, id, data)


@reports.get(
    "/improvement/exceptions",
    response_model=OffenderReportOut,
    summary="Repeat offenders: exception categories ranked by count and impact",
)
def offender_report(
    ctx: Ctx,
    settings: SettingsDep,
    since: Annotated[
        date | None, Query(description="First plant date; default 27 days ago.")
    ] = None,
    until: Annotated[
        date | None, Query(description="Last plant date, included; default today.")
    ] = None,
    line_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    product: Annotated[str | None, Query(max_length=60)] = None,
    sort: Literal["count", "items", "business_hours", "stop_minutes"] = "count",
) -> object:
    today = to_local(utcnow(), settings.zone).date()
    report = offenders.offenders(
        ctx,
        since=since or (until or today) - timedelta(days=27),
        until=until or today,
        zone=settings.zone,
        line_id=line_id,
        product=product,
        sort=sort,
    )
    return OffenderReportOut.of(report)
