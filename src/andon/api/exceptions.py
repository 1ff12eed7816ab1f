"""Exception endpoints: raise on an item or a line, triage, resolve, and the Pareto of causes."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from andon.api.deps import Ctx
from andon.api.lanes import FloorRoute
from andon.api.problems import ERROR_RESPONSES
from andon.core.schemas import MAX_ID, Instant, PageOut
from andon.work import exceptions as service
from andon.work.schemas import (
    ExceptionOut,
    ExceptionRaise,
    ExceptionResolve,
    ExceptionTriage,
    OwnerCandidateOut,
    ParetoBarOut,
)

router = APIRouter(
    prefix="/api/v1", tags=["exceptions"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
ExceptionId = Annotated[int, Path(ge=1, le=MAX_ID, description="Exception id.")]
LineId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.post(
    "/exceptions",
    response_model=ExceptionOut,
    status_code=201,
    summary="Raise an exception on a work item or a line",
)
def raise_exception(ctx: Ctx, data: ExceptionRaise) -> object:
    return service.raise_exception(ctx, data)


@router.get(
    "/exceptions", response_model=PageOut[ExceptionOut], summary="List exceptions, newest first"
)
def list_exceptions(
    ctx: Ctx,
    status: Annotated[
        Literal["open", "triaged", "resolved", "unresolved"] | None,
        Query(description="unresolved = open or triaged."),
    ] = None,
    line_id: LineId = None,
    item_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> object:
    page = service.list_exceptions(
        ctx,
        status=status,
        line_id=line_id,
        item_id=item_id,
        category=category,
        cursor=cursor,
        limit=limit,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/exceptions/pareto",
    response_model=list[ParetoBarOut],
    summary="Exceptions counted by category, line or severity, largest first",
)
def pareto(
    ctx: Ctx,
    by: Literal["category", "line", "severity"] = "category",
    since: Annotated[Instant | None, Query(description="Raised at or after, with zone.")] = None,
    until: Annotated[Instant | None, Query(description="Raised before, with zone.")] = None,
    line_id: LineId = None,
) -> object:
    return service.pareto(ctx, by=by, since=since, until=until, line_id=line_id)


@router.get("/exceptions/{id}", response_model=ExceptionOut, summary="Read an exception")
def get_exception(ctx: Ctx, id: ExceptionId) -> object:
    return service.get_exception(ctx, id)


@router.get(
    "/exceptions/{id}/owner-candidates",
    response_model=list[OwnerCandidateOut],
    summary="Who may own the exception: active users with a working role where its line is",
)
def owner_candidates(ctx: Ctx, id: ExceptionId) -> object:
    return service.owner_candidates(ctx, id)


@router.post(
    "/exceptions/{id}/triage",
    response_model=ExceptionOut,
    summary="Triage: set owner, category or severity",
)
def triage_exception(ctx: Ctx, id: ExceptionId, data: ExceptionTriage) -> object:
    return service.triage_exception(ctx, id, data)


@router.post("/exceptions/{id}/resolve", response_model=ExceptionOut, summary="Resolve")
def resolve_exception(ctx: Ctx, id: ExceptionId, data: ExceptionResolve) -> object:
    return service.resolve_exception(ctx, id, data)
