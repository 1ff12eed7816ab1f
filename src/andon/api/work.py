"""Work item endpoints: open, move, hold, assign, check, comment, attach, escalate, import."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from andon.api.deps import Ctx, attach_upload, get_settings
from andon.api.lanes import FloorRoute, on_report_threads
from andon.api.problems import ERROR_RESPONSES, problem_response, request_loc
from andon.core.config import Settings
from andon.core.errors import FieldError, InvalidInput
from andon.core.schemas import MAX_ID, Input, PageOut
from andon.processes.spec import parse_duration
from andon.work import attachments, bulk, checks, escalations, items, queries
from andon.work.schemas import (
    AttachmentOut,
    ChecklistRecord,
    CheckRunOut,
    ClockOut,
    CommentCreate,
    CommentOut,
    EscalationOut,
    EscalationSend,
    EventOut,
    ItemActionsOut,
    ItemAssign,
    ItemCreate,
    ItemMove,
    ItemOut,
    ItemPause,
    ItemReroute,
    ItemResume,
    ItemRetarget,
    ItemUpdate,
)

router = APIRouter(
    prefix="/api/v1", tags=["work"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="Work item id.")]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=500)]
MAX_WITHIN = timedelta(days=366)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def raw_body(request: Request) -> bytes:
    """The body as sent, for routes that read it by its media type themselves."""
    return await request.body()


def text_body(*accepted: str) -> Callable[[Request], Awaitable[str]]:
    """A dependency reading the body as UTF-8 text of one of the ``accepted`` media types."""

    async def read_text(request: Request) -> str:
        if media_type(request) not in accepted:
            raise HTTPException(415, f"send the body as {' or '.join(accepted)}")
        return decode_text(await request.body())

    return read_text


def decode_text(body: bytes) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"is not UTF-8 text (byte {exc.start})"
        raise InvalidInput(f"body: {msg}", [FieldError((), msg)]) from None
    if "\x00" in text:
        msg = "must not contain NUL characters"
        raise InvalidInput(f"body: {msg}", [FieldError((), msg)])
    return text


def text_request(description: str, *media_types: str) -> dict[str, Any]:
    """OpenAPI for a route that reads a raw text body itself."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {m: {"schema": {"type": "string"}} for m in media_types},
        }
    }


class ItemDetailOut(ItemOut):
    process_key: str
    process_version: int = Field(description="Number of the process version the item runs on.")
    allowed_moves: list[str] = Field(description="Stages the process map allows next.")


class ClocksOut(BaseModel):
    stage: ClockOut | None = Field(description="The current stage's SLA; null: none running.")
    process: ClockOut | None = Field(description="The end-to-end SLA; null: the process has none.")
    explanation: str


class EscalationAck(Input):
    note: str | None = Field(default=None, max_length=2000)


class ImportOut(BaseModel):
    created: int
    created_ids: list[int]


# --- items -------------------------------------------------------------------------------


@router.post("/work-items", response_model=ItemOut, status_code=201, summary="Open a work item")
def create_item(ctx: Ctx, data: ItemCreate) -> object:
    return items.create_item(ctx, data)


@router.get("/work-items", response_model=PageOut[ItemOut], summary="List work items")
def list_items(
    ctx: Ctx,
    process: Annotated[str | None, Query(max_length=40, description="Process key.")] = None,
    stage: Annotated[str | None, Query(max_length=40)] = None,
    line_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Annotated[
        Literal["active", "open", "paused", "done", "all"],
        Query(description="active = open or paused."),
    ] = "active",
    assignee_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    late: Annotated[bool | None, Query(description="Stage SLA already passed.")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> object:
    where = queries.ItemFilter(
        process, stage, line_id, None if status == "all" else status, assignee_id, late
    )
    page = queries.list_items(ctx, where, cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/work-items/due",
    response_model=list[ItemOut],
    summary="Open items whose stage or end-to-end SLA falls due within a time (or already has)",
)
def due_items(
    ctx: Ctx,
    within: Annotated[
        str, Query(max_length=20, description="Wall-clock time ahead, e.g. 2h or 90m.")
    ] = "2h",
    limit: Limit = 500,
) -> object:
    try:
        seconds = parse_duration(within)
        if seconds > MAX_WITHIN.total_seconds():
            raise ValueError(f"at most {MAX_WITHIN.days} days")
    except ValueError as exc:
        raise InvalidInput(
            f"within: {exc}", [FieldError(("within",), str(exc))], source="query"
        ) from None
    return queries.due_within(ctx, timedelta(seconds=seconds), limit=limit)


@router.post(
    "/work-items/import",
    response_model=ImportOut,
    status_code=201,
    summary="Open work items from CSV: all rows or, if any is refused, none",
    description=(
        "Header: `process,line,title,product,quantity,priority,assignee` and intake fields "
        "(`fields.<key>` or `<key>`). `line` is a line code, or `AREA/LINE` where codes "
        "repeat; `assignee` a username. A refusal is a 422 problem whose `rejected` member "
        "lists every bad row with its reasons; nothing is written."
    ),
    openapi_extra=text_request("CSV, UTF-8, at most 10,000 rows.", "text/csv"),
)
@on_report_threads
def import_items(
    request: Request, ctx: Ctx, text: Annotated[str, Depends(text_body("text/csv"))]
) -> object:
    report = bulk.import_items(ctx, text)
    if report.rejected:
        first = report.rejected[0]
        return problem_response(
            request,
            422,
            "Invalid input",
            f"{len(report.rejected)} row(s) refused; nothing was imported. "
            f"line {first.line}: {first.errors[0]}",
            errors=[
                {
                    "loc": request_loc(request, (row.line,), "body"),
                    "msg": "; ".join(row.errors),
                    "type": "rejected_row",
                }
                for row in report.rejected
            ],
            extra={"rejected": [row.__dict__ for row in report.rejected]},
        )
    return {"created": len(report.created_ids), "created_ids": report.created_ids}


@router.get(
    "/work-items/{id}",
    response_model=ItemDetailOut,
    summary="Read a work item, with the stages it may move to",
)
def get_item(ctx: Ctx, id: ItemId) -> object:
    record = queries.item_summary(ctx, id)
    return {
        **ItemOut.model_validate(record.item).model_dump(),
        "process_key": record.spec.key,
        "process_version": record.process_version,
        "allowed_moves": record.allowed_moves,
    }


@router.get(
    "/work-items/{id}/actions",
    response_model=ItemActionsOut,
    summary="What the caller may do with the item now",
    description=(
        "The moves open to the caller, each with its checklist gate (passed, or which "
        "checklist lines are missing), which other actions are open, the stop holding the "
        "item's line and the stage SLA badge: what the item's page offers. Each action is "
        "still checked when it is done."
    ),
)
def item_actions(ctx: Ctx, id: ItemId) -> object:
    return queries.read_item_actions(ctx, id)


@router.get(
    "/work-items/{id}/clock",
    response_model=ClocksOut,
    summary="The item's SLA clocks now: due time, time used and paused, and why",
)
def read_clock(ctx: Ctx, id: ItemId) -> object:
    clocks = items.read_clocks(ctx, id)
    stage = (
        f"This stage: {clocks.stage.explanation}"
        if clocks.stage
        else "This stage has no SLA clock running."
    )
    process = (
        f"End to end: {clocks.process.explanation}"
        if clocks.process
        else "The process has no end-to-end SLA."
    )
    return {"stage": clocks.stage, "process": clocks.process, "explanation": f"{stage} {process}"}


@router.get(
    "/work-items/{id}/events",
    response_model=list[EventOut],
    summary="The item's events, oldest first",
)
def item_events(ctx: Ctx, id: ItemId) -> object:
    return queries.item_events(ctx, id)


@router.post("/work-items/{id}/move", response_model=ItemOut, summary="Move to another stage")
def move_item(ctx: Ctx, id: ItemId, data: ItemMove) -> object:
    return items.move_item(ctx, id, data)


@router.post("/work-items/{id}/pause", response_model=ItemOut, summary="Put on hold")
def pause_item(ctx: Ctx, id: ItemId, data: ItemPause) -> object:
    return items.pause_item(ctx, id, data)


@router.post("/work-items/{id}/resume", response_model=ItemOut, summary="Resume from hold")
def resume_item(ctx: Ctx, id: ItemId, data: ItemResume) -> object:
    return items.resume_item(ctx, id, data)


@router.post("/work-items/{id}/assign", response_model=ItemOut, summary="Assign or unassign")
def assign_item(ctx: Ctx, id: ItemId, data: ItemAssign) -> object:
    return items.assign_item(ctx, id, data)


@router.patch("/work-items/{id}", response_model=ItemOut, summary="Change title, product, ...")
def update_item(ctx: Ctx, id: ItemId, data: ItemUpdate) -> object:
    return items.update_item(ctx, id, data)


@router.post("/work-items/{id}/reroute", response_model=ItemOut, summary="Send to another line")
def reroute_item(ctx: Ctx, id: ItemId, data: ItemReroute) -> object:
    return items.reroute_item(ctx, id, data)


@router.post(
    "/work-items/{id}/retarget",
    response_model=ItemOut,
    summary="Agree a new SLA target for the current stage",
)
def retarget_item(ctx: Ctx, id: ItemId, data: ItemRetarget) -> object:
    return items.retarget_item(ctx, id, data)


@router.post(
    "/work-items/{id}/comments", response_model=CommentOut, status_code=201, summary="Comment"
)
def comment_item(ctx: Ctx, id: ItemId, data: CommentCreate) -> object:
    return items.comment_item(ctx, id, data)


@router.get(
    "/work-items/{id}/comments", response_model=list[CommentOut], summary="Comments, oldest first"
)
def list_comments(ctx: Ctx, id: ItemId) -> object:
    return queries.item_comments(ctx, id)


@router.post(
    "/work-items/{id}/checklist",
    response_model=CheckRunOut,
    status_code=201,
    summary="Record the current stage's checklist; a failure sends the item to rework",
)
def record_checklist(ctx: Ctx, id: ItemId, data: ChecklistRecord) -> object:
    return checks.record_checklist(ctx, id, data)


# --- escalations -------------------------------------------------------------------------


@router.get(
    "/work-items/{id}/escalations",
    response_model=list[EscalationOut],
    summary="The item's escalation tiers: pending, fired, acknowledged",
)
def list_escalations(ctx: Ctx, id: ItemId) -> object:
    return escalations.list_escalations(ctx, id)


@router.post(
    "/work-items/{id}/escalate",
    response_model=EscalationOut,
    status_code=201,
    summary="Send the item straight to a tier of its escalation policy",
)
def escalate_item(ctx: Ctx, id: ItemId, data: EscalationSend) -> object:
    return escalations.send_to_tier(ctx, id, data)


@router.post(
    "/escalations/{id}/acknowledge",
    response_model=EscalationOut,
    summary="Acknowledge a fired tier; its re-escalation is dropped",
)
def acknowledge_escalation(
    ctx: Ctx,
    id: Annotated[int, Path(ge=1, le=MAX_ID)],
    data: EscalationAck | None = None,
) -> object:
    return escalations.acknowledge(ctx, id, note=data.note if data else None)


# --- attachments -------------------------------------------------------------------------


@router.post(
    "/work-items/{id}/attachments",
    response_model=AttachmentOut,
    status_code=201,
    summary="Attach a file (PNG, JPEG, PDF, UTF-8 text or CSV; type checked by content)",
)
def upload_attachment(
    ctx: Ctx,
    id: ItemId,
    settings: Annotated[Settings, Depends(get_settings)],
    file: Annotated[UploadFile, File(description="The file, as multipart/form-data.")],
) -> object:
    return attach_upload(attachments.attach_file, ctx, id, file, settings)


@router.get(
    "/work-items/{id}/attachments",
    response_model=list[AttachmentOut],
    summary="The item's attachments, oldest first",
)
def list_attachments(ctx: Ctx, id: ItemId) -> object:
    return attachments.list_attachments(ctx, id)


@router.get(
    "/attachments/{id}/content",
    response_class=Response,
    responses={
        200: {
            "description": "The file, as a download.",
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}} for t in attachments.ALLOWED
            },
        }
    },
    summary="Download an attachment",
)
def download_attachment(
    ctx: Ctx,
    id: Annotated[int, Path(ge=1, le=MAX_ID)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    attachment, data = attachments.read_attachment(ctx, id, settings.data_dir)
    return file_download(data, attachment.filename, attachment.content_type)


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name in RFC 5987 form."""
    fallback = "".join(c if c.isascii() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_download(data: bytes, filename: str, content_type: str) -> Response:
    """A stored file as a download that runs and loads nothing, whatever it holds."""
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": content_disposition(filename),
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


# --- the event log -----------------------------------------------------------------------


@router.get(
    "/events",
    response_model=PageOut[EventOut],
    summary="The whole event log in order, for process mining",
)
def list_events(
    ctx: Ctx,
    process: Annotated[str | None, Query(max_length=40, description="Process key.")] = None,
    cursor: Cursor = None,
    limit: Limit = 500,
) -> object:
    page = queries.events_page(ctx, cursor=cursor, limit=limit, process=process)
    return {"items": page.items, "next_cursor": page.next_cursor}
