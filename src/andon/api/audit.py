"""Audit trail endpoints: query, verify the hash chain, export CSV."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from andon.api.deps import Ctx
from andon.api.lanes import ReportRoute
from andon.api.problems import ERROR_RESPONSES
from andon.core import audit_queries
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
