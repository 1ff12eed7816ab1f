"""Postmortem endpoints (list, search, create, read, edit, timeline entries, submit, return,
publish) and the timeline of a window."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, Field

from andon.api.deps import Ctx
from andon.api.lanes import FloorRoute
from andon.api.problems import ERROR_RESPONSES
from andon.core.schemas import MAX_ID, Input, Reason
from andon.improvement import postmortems as service
from andon.improvement.postmortem_schemas import (
    EntryIn,
    EntryOut,
    PostmortemCreate,
    PostmortemDetailOut,
    PostmortemOut,
    PostmortemUpdate,
    PromptOut,
    SearchHitOut,
)
from andon.improvement.timeline import MAX_ENTRIES, build_timeline

router = APIRouter(
    prefix="/api/v1", tags=["improvement"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
PostmortemId = Annotated[int, Path(ge=1, le=MAX_ID, description="Postmortem id.")]
EntryId = Annotated[int, Path(ge=1, le=MAX_ID, description="Timeline entry id.")]


class TimelineEntryOut(BaseModel):
    at: AwareDatetime
    kind: str
    title: str
    ref: str | None
    line: str | None


class TimelineOut(BaseModel):
    entries: list[TimelineEntryOut]
    truncated: bool = Field(description=f"More than {MAX_ENTRIES} entries: the oldest are kept.")


class StepIn(Input):
    version: int | None = Field(default=None, ge=1, description="Stale versions are refused.")


class ReturnIn(StepIn):
    reason: Reason


class PromptsIn(Input):
    texts: dict[str, Annotated[str, Field(max_length=20000)]] = Field(max_length=10)


@router.get("/timeline", response_model=TimelineOut, summary="What happened in a window")
def timeline(
    ctx: Ctx,
    from_: Annotated[AwareDatetime, Query(alias="from", description="Start, with offset.")],
    to: Annotated[AwareDatetime, Query(description="End, with offset (included).")],
    line: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Line id.")] = None,
    item: Annotated[
        list[int] | None, Query(description="Work items whose moves are listed one by one.")
    ] = None,
) -> Any:
    entries = build_timeline(ctx, started_at=from_, ended_at=to, line_id=line, item_ids=item or [])
    return {"entries": [e.to_json() for e in entries], "truncated": entries.truncated}


@router.get("/postmortems", response_model=list[PostmortemOut], summary="List postmortems")
def list_postmortems(
    ctx: Ctx,
    status: Annotated[Literal["draft", "in_review", "published"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> Any:
    return service.list_postmortems(ctx, status=status, limit=limit)


@router.get(
    "/postmortems/search", response_model=list[SearchHitOut], summary="Search published ones"
)
def search_postmortems(
    ctx: Ctx,
    q: Annotated[str, Query(max_length=200, description="Words; prefixes count.")],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    return service.search_postmortems(ctx, q, limit=limit)


@router.post(
    "/postmortems/prompts", response_model=list[PromptOut], summary="Blameless wording prompts"
)
def prompts(ctx: Ctx, data: PromptsIn) -> Any:
    return [p.to_json() for p in service.prompts_for(ctx, data.texts)]


@router.post(
    "/postmortems", response_model=PostmortemDetailOut, status_code=201, summary="Start a draft"
)
def create_postmortem(ctx: Ctx, data: PostmortemCreate) -> Any:
    return service.create_postmortem(ctx, data)


@router.get("/postmortems/{id}", response_model=PostmortemDetailOut, summary="Read a postmortem")
def get_postmortem(ctx: Ctx, id: PostmortemId) -> Any:
    return service.get_postmortem(ctx, id)


@router.patch("/postmortems/{id}", response_model=PostmortemDetailOut, summary="Edit a draft")
def update_postmortem(ctx: Ctx, id: PostmortemId, data: PostmortemUpdate) -> Any:
    return service.update_postmortem(ctx, id, data)


@router.post(
    "/postmortems/{id}/entries",
    response_model=EntryOut,
    status_code=201,
    summary="Add a timeline entry",
)
def add_entry(ctx: Ctx, id: PostmortemId, data: EntryIn) -> Any:
    return service.add_entry(ctx, id, data)


@router.put(
    "/postmortems/{id}/entries/{entry_id}", response_model=EntryOut, summary="Edit an entry"
)
def update_entry(ctx: Ctx, id: PostmortemId, entry_id: EntryId, data: EntryIn) -> Any:
    return service.update_entry(ctx, id, entry_id, data)


@router.delete("/postmortems/{id}/entries/{entry_id}", status_code=204, summary="Remove an entry")
def remove_entry(ctx: Ctx, id: PostmortemId, entry_id: EntryId) -> Response:
    service.remove_entry(ctx, id, entry_id)
    return Response(status_code=204)


@router.post("/postmortems/{id}/submit", response_model=PostmortemOut, summary="Ask for review")
def submit(ctx: Ctx, id: PostmortemId, data: StepIn) -> Any:
    return service.submit_postmortem(ctx, id, version=data.version)


@router.post("/postmortems/{id}/return", response_model=PostmortemOut, summary="Send back to draft")
def return_(ctx: Ctx, id: PostmortemId, data: ReturnIn) -> Any:
    return service.return_postmortem(ctx, id, reason=data.reason, version=data.version)


@router.post("/postmortems/{id}/publish", response_model=PostmortemOut, summary="Publish")
def publish(ctx: Ctx, id: PostmortemId, data: StepIn) -> Any:
    return service.publish_postmortem(ctx, id, version=data.version)
