"""Decision-log endpoints: list, due for revisit, record, read (with its chain), reopen,
settle."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from andon.api.deps import Ctx, get_settings
from andon.api.lanes import FloorRoute
from andon.api.problems import ERROR_RESPONSES
from andon.core.clock import to_local, utcnow
from andon.core.config import Settings
from andon.core.schemas import MAX_ID
from andon.improvement import decisions as service
from andon.improvement.decision_schemas import (
    DecisionCreate,
    DecisionDetailOut,
    DecisionOut,
    DecisionReopen,
    DecisionSettle,
)

router = APIRouter(
    prefix="/api/v1", tags=["improvement"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
DecisionId = Annotated[int, Path(ge=1, le=MAX_ID, description="Decision id.")]


@router.get("/decisions", response_model=list[DecisionOut], summary="List decisions")
def list_decisions(
    ctx: Ctx,
    status: Annotated[Literal["settled", "reopened", "superseded"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> Any:
    return service.list_decisions(ctx, status=status, limit=limit)


@router.get(
    "/decisions/due", response_model=list[DecisionOut], summary="Settled decisions due a revisit"
)
def due(ctx: Ctx, settings: Annotated[Settings, Depends(get_settings)]) -> Any:
    return service.due_for_revisit(ctx, today=to_local(utcnow(), settings.zone).date())


@router.post(
    "/decisions", response_model=DecisionDetailOut, status_code=201, summary="Record a decision"
)
def record(ctx: Ctx, data: DecisionCreate) -> Any:
    return service.record_decision(ctx, data)


@router.get("/decisions/{id}", response_model=DecisionDetailOut, summary="Read a decision")
def get_decision(ctx: Ctx, id: DecisionId) -> Any:
    return service.get_decision(ctx, id)


@router.post(
    "/decisions/{id}/reopen",
    response_model=DecisionDetailOut,
    status_code=201,
    summary="Reopen: a new decision supersedes this one",
)
def reopen(ctx: Ctx, id: DecisionId, data: DecisionReopen) -> Any:
    return service.reopen_decision(ctx, id, data)


@router.post(
    "/decisions/{id}/settle", response_model=DecisionDetailOut, summary="Settle a reopened one"
)
def settle(ctx: Ctx, id: DecisionId, data: DecisionSettle) -> Any:
    return service.settle_decision(ctx, id, data)
