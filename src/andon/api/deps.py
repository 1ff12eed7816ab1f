"""Request dependencies: the database, the acting user (from a bearer token), the context."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Request, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from andon.accounts.service import actor_from_token, cached_token_actor
from andon.core.config import Settings
from andon.core.database import Database
from andon.core.errors import NotAuthenticated
from andon.core.permissions import Actor
from andon.core.uow import Context

bearer = HTTPBearer(
    auto_error=False,
    description="An API token from `andon token create` or the Tokens page.",
)


# The dependencies are coroutines: FastAPI runs a plain function dependency on a worker
# thread, and a thread hand-off per dependency per request costs more than the work in it.


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


async def current_actor(
    db: Annotated[Database, Depends(get_db)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    if credentials is None:
        raise NotAuthenticated("send an API token as `Authorization: Bearer <token>`")
    actor = cached_token_actor(credentials.credentials)
    if actor is None:
        actor = await run_in_threadpool(actor_from_token, db, credentials.credentials)
    if actor is None:
        raise NotAuthenticated("the API token is unknown, revoked or expired")
    return actor


async def context(
    request: Request,
    db: Annotated[Database, Depends(get_db)],
    actor: Annotated[Actor, Depends(current_actor)],
) -> Context:
    return Context(db, actor, str(getattr(request.state, "request_id", "-")))


Ctx = Annotated[Context, Depends(context)]


T_co = TypeVar("T_co", covariant=True)


class Attach(Protocol[T_co]):
    """A domain's ``attach_file`` (work items, documents): what an upload endpoint hands on."""

    def __call__(
        self,
        ctx: Context,
        target: Any,
        filename: str,
        content_type: str,
        data: bytes,
        /,
        *,
        storage: Path,
        max_bytes: int,
    ) -> T_co: ...


def attach_upload(
    attach: Attach[T_co], ctx: Context, target: object, file: UploadFile, settings: Settings
) -> T_co:
    """Hand an uploaded file to ``attach``: read at most one byte over the limit (so an
    oversize file is refused by the domain's own check, with its message), stored under the
    data directory."""
    limit = settings.max_attachment_bytes
    return attach(
        ctx,
        target,
        file.filename or "",
        file.content_type or "",
        file.file.read(limit + 1),
        storage=settings.data_dir,
        max_bytes=limit,
    )
