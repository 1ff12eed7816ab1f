"""Audit trail endpoints: query, verify the hash chain (against an anchor), export CSV."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from andon.api.deps import Ctx
from andon.api.lanes import ReportRoute
from andon.api.problems import ERROR_RESPONSES
from andon.core import audit_queries
from andon.core.audit import ANCHOR_FORMAT, AuditAnchor
from andon.core.audit_queries import AuditFilter
from andon.core.schemas import Output, PageOut

router = APIRouter(
    prefix="/api/v1/audit", tags=["audit"], responses=ERROR_RESPONSES, route_class=ReportRoute
)


class AuditEntryOut(Output):
    seq: int
    occurred_at: datetime
    actor_id: int | None
    actor_name: str
    entity_type: str
    entity_id: str
    action: str
    changes: dict[str, object]
    reason: str | None
    request_id: str
    prev_hash: str
    hash: str


class VerifyOut(BaseModel):
    ok: bool
    count: int = Field(description="Entries checked before the first break (all when ok).")
    broken_seq: int | None
    problem: str | None
    anchor_failed: bool = Field(
        default=False,
        description="The chain verified, but the anchored entry is gone or has another hash.",
    )


class AnchorBody(BaseModel):
    """The newest entry at one moment, as `GET /anchor` and `andon audit anchor` give it."""

    format: Literal["andon-audit-anchor"] = ANCHOR_FORMAT
    seq: int = Field(ge=1)
    hash: str = Field(pattern="^[0-9a-f]{64}$")
    occurred_at: datetime
    taken_at: datetime


def audit_filter(
    entity_type: Annotated[str | None, Query(max_length=60)] = None,
    entity_id: Annotated[str | None, Query(max_length=100)] = None,
    actor: Annotated[str | None, Query(max_length=200, description="Username.")] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    since: Annotated[datetime | None, Query(description="Inclusive, with time zone.")] = None,
    until: Annotated[datetime | None, Query(description="Exclusive, with time zone.")] = None,
) -> AuditFilter:
    return AuditFilter(entity_type, entity_id, actor, action, since, until)


Filter = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("", response_model=PageOut[AuditEntryOut], summary="Query the audit trail")
def list_entries(
    ctx: Ctx,
    where: Filter,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> object:
    page = audit_queries.list_entries(ctx, where, cursor, limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/verify", response_model=VerifyOut, summary="Verify the hash chain")
def verify(ctx: Ctx) -> object:
    return audit_queries.verify(ctx).__dict__


@router.post(
    "/verify",
    response_model=VerifyOut,
    summary="Verify the hash chain and that an anchored entry is still as it was",
)
def verify_with_anchor(ctx: Ctx, body: AnchorBody) -> object:
    anchor = AuditAnchor(body.seq, body.hash, body.occurred_at, body.taken_at)
    return audit_queries.verify(ctx, anchor).__dict__


@router.get(
    "/anchor",
    response_model=AnchorBody,
    summary="The newest entry's number, hash and time, to keep where the database admin cannot",
)
def anchor(ctx: Ctx) -> object:
    return audit_queries.anchor(ctx).as_json()


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV, oldest first"}},
    summary="Export as CSV (cells that look like formulas are neutralised)",
)
def export(ctx: Ctx, where: Filter) -> StreamingResponse:
    chunks = audit_queries.export_csv(ctx, where)
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="andon-audit.csv"'},
    )
