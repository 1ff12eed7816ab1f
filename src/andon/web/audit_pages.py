"""The audit trail pages: filter, read, page back, export CSV and verify the hash chain."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from andon.api.lanes import ReportRoute
from andon.core import audit_queries
from andon.core.audit import AuditEntry
from andon.core.audit_queries import AuditFilter
from andon.core.config import Settings
from andon.core.errors import InvalidInput
from andon.web import csrf
from andon.web.forms import errors_from
from andon.web.session import PageCtx
from andon.web.templating import plain_value, render

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(csrf.check_csrf)], route_class=ReportRoute
)
FILTER_FIELDS = ("entity_type", "entity_id", "actor", "action", "since", "until")
PAGE_SIZE = 50


@dataclass(frozen=True)
class Change:
    """One field of an entry: ``before`` is None when it was set, ``after`` when removed."""

    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class EntryRow:
    entry: AuditEntry
    changes: list[Change]


def change_list(changes: Mapping[str, Any]) -> list[Change]:
    """The before → after pairs of an entry's ``changes``, in the order the fields were stored."""
    before = changes.get("before") or {}
    after = changes.get("after") or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [Change("changes", None, plain_value(dict(changes)))]
    names = list(after) + [name for name in before if name not in after]
    return [
        Change(
            name,
            plain_value(before[name]) if name in before else None,
            plain_value(after[name]) if name in after else None,
        )
        for name in names
    ]


def entry_rows(entries: Iterable[AuditEntry]) -> list[EntryRow]:
    return [EntryRow(e, change_list(e.changes)) for e in entries]


def _local_to_utc(value: str, zone: ZoneInfo) -> datetime:
    """A datetime-local value (wall-clock time in the display zone) as a UTC instant."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _read_filter(
    params: Mapping[str, str], zone: ZoneInfo
) -> tuple[AuditFilter, dict[str, str], dict[str, str]]:
    """The filter, the raw values to put back in the form, and any field errors."""
    values = {name: params.get(name, "").strip() for name in FILTER_FIELDS}
    errors: dict[str, str] = {}
    bounds: dict[str, datetime | None] = {"since": None, "until": None}
    for name in bounds:
        if values[name]:
            try:
                bounds[name] = _local_to_utc(values[name], zone)
            except ValueError:
                errors[name] = "enter a date and time, e.g. 2025-03-01T08:00"
    where = AuditFilter(
        entity_type=values["entity_type"] or None,
        entity_id=values["entity_id"] or None,
        actor=values["actor"].lower() or None,
        action=values["action"] or None,
        since=bounds["since"],
        until=bounds["until"],
    )
    return where, values, errors


def _query(values: Mapping[str, str], **extra: str) -> str:
    kept = {k: v for k, v in values.items() if v}
    kept.update(extra)
    return urlencode(kept)


@router.get("/audit")
def audit_page(request: Request, ctx: PageCtx, cursor: str = "") -> Response:
    settings: Settings = request.app.state.settings
    where, values, errors = _read_filter(request.query_params, settings.zone)
    rows: list[EntryRow] = []
    older = None
    status_code = 200
    if not errors:
        try:
            page = audit_queries.list_entries(ctx, where, cursor or None, PAGE_SIZE)
        except InvalidInput as exc:
            errors = errors_from(exc)
            status_code = 422
        else:
            rows = entry_rows(page.items)
            if page.next_cursor:
                older = "/audit?" + _query(values, cursor=page.next_cursor)
    else:
        status_code = 422
    return render(
        request,
        "audit/audit.html",
        {
            "section": "audit",
            "rows": rows,
            "values": values,
            "errors": errors,
            "older": older,
            "paged": bool(cursor),
            "newest": "/audit?" + _query(values),
            "export": "/audit/export.csv?" + _query(values),
        },
        status_code=status_code,
    )


@router.get("/audit/export.csv")
def export_csv(request: Request, ctx: PageCtx) -> Response:
    settings: Settings = request.app.state.settings
    where, _, errors = _read_filter(request.query_params, settings.zone)
    if errors:
        name, message = next(iter(errors.items()))
        raise InvalidInput.for_field(name, message)
    chunks = audit_queries.export_csv(ctx, where)
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="andon-audit.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/audit/verify")
def verify_chain(request: Request, ctx: PageCtx) -> Response:
    result = audit_queries.verify(ctx)
    # htmx asks for just the result to swap into the audit page; a plain link gets a page.
    fragment = request.headers.get("HX-Request") == "true"
    template = "audit/_verify.html" if fragment else "audit/verify.html"
    return render(request, template, {"section": "audit", "result": result})
