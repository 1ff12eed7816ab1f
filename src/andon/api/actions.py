"""Action endpoints: list with filters, open, read, change, comment, close and cancel."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from andon.actions import service
from andon.actions.schemas import (
    LINK_KINDS,
    ActionClose,
    ActionCreate,
    ActionDetailOut,
    ActionFilters,
    ActionLink,
    ActionOut,
    ActionUpdate,
    CommentCreate,
    CommentOut,
)
from andon.api.deps import Ctx, get_settings
from andon.api.lanes import FloorRoute
from andon.api.problems import ERROR_RESPONSES
from andon.core.clock import to_local, utcnow
from andon.core.config import Settings
from andon.core.errors import InvalidInput
from andon.core.permissions import Role
from andon.core.schemas import MAX_ID

router = APIRouter(
    prefix="/api/v1", tags=["actions"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
ActionId = Annotated[int, Path(ge=1, le=MAX_ID, description="Action id.")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


@router.get("/actions", response_model=list[ActionOut], summary="List actions, soonest due first")
def list_actions(
    ctx: Ctx,
    settings: SettingsDep,
    mine: Annotated[bool, Query(description="Owned by me, or by a role I hold.")] = False,
    status: Annotated[
        Literal["open", "in_progress", "done", "cancelled", "unfinished"] | None,
        Query(description="unfinished = open or in progress."),
    ] = None,
    overdue: Annotated[
        bool, Query(description="Unfinished and due before today (the plant's date).")
    ] = False,
    link: Annotated[
        str | None, Query(max_length=130, description="KIND:REF, e.g. metric:rework-rate.")
    ] = None,
    owner: Annotated[str | None, Query(max_length=64, description="A username or a role.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> object:
    roles = {r.value for r in Role}
    filters = ActionFilters(
        mine=mine,
        status=status,
        overdue=overdue,
        today=to_local(utcnow(), settings.zone).date(),
        link=_link(link) if link else None,
        owner_user=owner if owner and owner not in roles else None,
        owner_role=Role(owner) if owner in roles else None,
        limit=limit,
    )
    return service.list_actions(ctx, filters)


@router.post("/actions", response_model=ActionOut, status_code=201, summary="Open an action")
def open_action(ctx: Ctx, data: ActionCreate) -> object:
    action, _ = service.open_action(ctx, data)
    return action


@router.get("/actions/{id}", response_model=ActionDetailOut, summary="Read an action")
def get_action(ctx: Ctx, id: ActionId) -> object:
    return service.get_action(ctx, id)


@router.patch(
    "/actions/{id}",
    response_model=ActionOut,
    summary="Change status, due date, priority or owner",
)
def update_action(ctx: Ctx, id: ActionId, data: ActionUpdate) -> object:
    return service.update_action(ctx, id, data)


@router.post("/actions/{id}/close", response_model=ActionOut, summary="Mark done, with a note")
def close_action(ctx: Ctx, id: ActionId, data: ActionClose) -> object:
    return service.close_action(ctx, id, note=data.note, version=data.version)


@router.post("/actions/{id}/cancel", response_model=ActionOut, summary="Cancel, saying why")
def cancel_action(ctx: Ctx, id: ActionId, data: ActionClose) -> object:
    return service.cancel_action(ctx, id, note=data.note, version=data.version)


@router.post(
    "/actions/{id}/comments", response_model=CommentOut, status_code=201, summary="Comment"
)
def comment_action(ctx: Ctx, id: ActionId, data: CommentCreate) -> object:
    return service.comment_action(ctx, id, data)


def _link(text: str) -> ActionLink:
    kind, sep, ref = text.partition(":")
    try:
        if not sep:
            raise ValueError("KIND:REF")
        return ActionLink.model_validate({"kind": kind.strip(), "ref": ref.strip()})
    except ValueError:
        raise InvalidInput.for_field(
            "link",
            f"KIND:REF with KIND one of {', '.join(LINK_KINDS)}",
        ) from None
