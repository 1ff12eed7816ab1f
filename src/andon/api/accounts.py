"""Endpoints for the signed-in user, user administration and API tokens."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from andon.accounts import service
from andon.accounts.schemas import (
    PasswordSet,
    RolesSet,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from andon.api.deps import Ctx
from andon.api.lanes import FloorRoute
from andon.api.problems import ERROR_RESPONSES
from andon.core.schemas import MAX_ID, PageOut

router = APIRouter(
    prefix="/api/v1", tags=["accounts"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/me", response_model=UserOut, summary="The user the token belongs to")
def read_me(ctx: Ctx) -> object:
    assert ctx.actor.user_id is not None
    return service.get_user(ctx, ctx.actor.user_id)


@router.get("/users", response_model=PageOut[UserOut], summary="List users")
def list_users(
    ctx: Ctx,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> object:
    page = service.list_users(ctx, cursor, limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a user")
def create_user(ctx: Ctx, data: UserCreate) -> object:
    return service.create_user(ctx, data)


@router.get("/users/{id}", response_model=UserOut, summary="Read a user")
def get_user(ctx: Ctx, id: UserId) -> object:
    return service.get_user(ctx, id)


@router.patch("/users/{id}", response_model=UserOut, summary="Update or disable a user")
def update_user(ctx: Ctx, id: UserId, data: UserUpdate) -> object:
    return service.update_user(ctx, id, data)


@router.put("/users/{id}/roles", response_model=UserOut, summary="Replace a user's roles")
def set_roles(ctx: Ctx, id: UserId, data: RolesSet) -> object:
    return service.set_roles(ctx, id, data.grants, data.reason)


@router.put("/users/{id}/password", status_code=204, summary="Set a user's password")
def set_password(ctx: Ctx, id: UserId, data: PasswordSet) -> Response:
    service.set_password(ctx, id, data.password)
    return Response(status_code=204)


@router.get("/tokens", response_model=list[TokenOut], summary="List your API tokens")
def list_tokens(ctx: Ctx) -> object:
    return service.list_tokens(ctx)


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=201,
    summary="Create an API token for yourself; the secret is in this response only",
)
def create_token(ctx: Ctx, data: TokenCreate) -> object:
    token, raw = service.create_token(ctx, data)
    return {**TokenOut.model_validate(token).model_dump(), "token": raw}


@router.delete("/tokens/{id}", response_model=TokenOut, summary="Revoke an API token")
def revoke_token(ctx: Ctx, id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> object:
    return service.revoke_token(ctx, id)
