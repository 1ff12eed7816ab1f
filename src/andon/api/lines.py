"""Line endpoints: the andon board, stop the line, restart sign-offs, stop rules, followers."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from andon.api.deps import Ctx
from andon.api.lanes import FloorRoute
from andon.api.problems import ERROR_RESPONSES
from andon.core.schemas import MAX_ID
from andon.work import line_stops as service
from andon.work.line_stop_schemas import (
    BoardRowOut,
    LineStopOut,
    RestartSignoff,
    StopRuleOut,
    SubscriptionOut,
)
from andon.work.schemas import LineStopRequest, StopRuleCreate

router = APIRouter(
    prefix="/api/v1", tags=["lines"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
LineId = Annotated[int, Path(ge=1, le=MAX_ID, description="Line id.")]


@router.get(
    "/andon-board",
    response_model=list[BoardRowOut],
    summary="Every line's status with its open, late and exception counts",
)
def andon_board(ctx: Ctx) -> object:
    return [
        {
            "line_id": row.line.id,
            "line_code": row.line.code,
            "line_name": row.line.name,
            "area_id": row.line.area_id,
            "status": row.status,
            "since": row.since,
            "stop": row.stop,
            "open_items": row.open_items,
            "late_items": row.late_items,
            "open_exceptions": row.open_exceptions,
        }
        for row in service.board(ctx)
    ]


@router.post(
    "/lines/{id}/stop",
    response_model=LineStopOut,
    status_code=201,
    summary="Stop the line (pull the cord); restart needs supervisor and quality sign-off",
)
def stop_line(ctx: Ctx, id: LineId, data: LineStopRequest) -> object:
    return service.pull_cord(ctx, id, data.reason)


@router.post(
    "/lines/{id}/restart-signoff",
    response_model=LineStopOut,
    summary="Sign off a restart; with both sign-offs (two people) the line runs again",
)
def sign_off_restart(ctx: Ctx, id: LineId, data: RestartSignoff) -> object:
    return service.sign_off_restart(ctx, id, data.reason, as_role=data.as_role)


@router.get(
    "/lines/{id}/stops", response_model=list[LineStopOut], summary="The line's stops, newest first"
)
def list_stops(ctx: Ctx, id: LineId, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> object:
    return service.list_stops(ctx, id, limit=limit)


@router.get(
    "/lines/{id}/stop-rules", response_model=list[StopRuleOut], summary="The line's stop rules"
)
def list_rules(ctx: Ctx, id: LineId) -> object:
    return service.list_rules(ctx, id)


@router.post(
    "/lines/{id}/stop-rules",
    response_model=StopRuleOut,
    status_code=201,
    summary="Add a rule that stops the line by itself",
)
def add_rule(ctx: Ctx, id: LineId, data: StopRuleCreate) -> object:
    return service.add_rule(ctx, id, data)


@router.delete("/stop-rules/{id}", status_code=204, summary="Remove a stop rule")
def remove_rule(
    ctx: Ctx,
    id: Annotated[int, Path(ge=1, le=MAX_ID)],
    reason: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    service.remove_rule(ctx, id, reason=reason)
    return Response(status_code=204)


@router.post(
    "/lines/{id}/subscription",
    response_model=SubscriptionOut,
    summary="Follow the line: be told when it stops",
)
def subscribe(ctx: Ctx, id: LineId) -> object:
    return {"line_id": id, "subscribed": service.subscribe(ctx, id, subscribed=True)}


@router.delete(
    "/lines/{id}/subscription", response_model=SubscriptionOut, summary="Stop following the line"
)
def unsubscribe(ctx: Ctx, id: LineId) -> object:
    return {"line_id": id, "subscribed": service.subscribe(ctx, id, subscribed=False)}
