"""Reading the audit trail: filtered pages, verification and CSV export, behind audit.read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from andon.core.audit import (
    AuditAnchor,
    AuditEntry,
    VerifyResult,
    check_anchor,
    csv_rows,
    take_anchor,
    verify_chain,
)
from andon.core.errors import Conflict, FieldError, InvalidInput
from andon.core.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from andon.core.permissions import Action, authorize
from andon.core.uow import Context


@dataclass(frozen=True)
class AuditFilter:
    entity_type: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        for bound, name in ((self.since, "since"), (self.until, "until")):
            if bound is not None and bound.tzinfo is None:
                raise InvalidInput(
                    f"{name}: give a time zone (e.g. Z or +01:00)",
                    [FieldError((name,), "time zone missing")],
                )
        if self.since and self.until and self.since > self.until:
            raise InvalidInput("since: is after until", [FieldError(("since",), "is after until")])
        if self.entity_type:
            query = query.where(AuditEntry.entity_type == self.entity_type)
        if self.entity_id:
            query = query.where(AuditEntry.entity_id == self.entity_id)
        if self.actor:
            query = query.where(AuditEntry.actor_name == self.actor)
        if self.action:
            query = query.where(AuditEntry.action == self.action)
        if self.since:
            query = query.where(AuditEntry.occurred_at >= self.since)
        if self.until:
            query = query.where(AuditEntry.occurred_at < self.until)
        return query


def list_entries(
    ctx: Context, where: AuditFilter, cursor: str | None = None, limit: int = 100
) -> Page[AuditEntry]:
    """Newest first; the cursor walks back through older entries."""
    authorize(ctx.actor, Action.AUDIT_READ)
    before = decode_cursor(cursor)
    limit = max(1, min(limit, MAX_LIMIT))
    query = where.apply(select(AuditEntry)).order_by(AuditEntry.seq.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    with ctx.read() as session:
        rows: list[AuditEntry] = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].seq) if more and rows else None)


def entity_history(ctx: Context, entity_type: str, entity_id: object) -> list[AuditEntry]:
    authorize(ctx.actor, Action.AUDIT_READ)
    query = AuditFilter(entity_type=entity_type, entity_id=str(entity_id)).apply(select(AuditEntry))
    with ctx.read() as session:
        return list(session.scalars(query.order_by(AuditEntry.seq)))


def verify(ctx: Context, anchor: AuditAnchor | None = None) -> VerifyResult:
    """Verify the chain; with an anchor, also that the entry it names is still as it was.

    An anchor problem is reported with ``broken_seq`` the anchored entry and ``count`` every
    entry verified.
    """
    authorize(ctx.actor, Action.AUDIT_READ)
    with ctx.read() as session:
        result = verify_chain(session)
        if not result.ok or anchor is None:
            return result
        problem = check_anchor(session, anchor)
    if problem is None:
        return result
    return VerifyResult(False, result.count, anchor.seq, problem, anchor_failed=True)


def anchor(ctx: Context) -> AuditAnchor:
    """The newest entry's number, hash and time, to keep where the database admin cannot write."""
    authorize(ctx.actor, Action.AUDIT_READ)
    with ctx.read() as session:
        taken = take_anchor(session)
    if taken is None:
        raise Conflict("the audit trail is empty; there is no entry to anchor yet")
    return taken


def export_csv(ctx: Context, where: AuditFilter) -> Iterator[str]:
    """CSV chunks, oldest first; authorization and filter checks happen before the first chunk."""
    authorize(ctx.actor, Action.AUDIT_READ)
    query = where.apply(select(AuditEntry)).order_by(AuditEntry.seq)

    def chunks() -> Iterator[str]:
        with ctx.read() as session:
            yield from csv_rows(session.scalars(query.execution_options(yield_per=1000)))

    return chunks()
