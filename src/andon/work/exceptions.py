"""Exceptions raised on work items or lines: raise, triage, resolve, and their Pareto."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from andon.accounts.models import User
from andon.core.audit import snapshot
from andon.core.clock import utcnow
from andon.core.errors import Conflict, FieldError, InvalidInput, NotFound
from andon.core.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from andon.core.permissions import Action, Role, authorize
from andon.core.uow import Context, Transaction
from andon.plant.models import Area, Line, Site
from andon.processes.models import Process, ProcessVersion
from andon.processes.service import spec_of
from andon.processes.spec import Severity
from andon.work import escalations
from andon.work.events import append_event
from andon.work.line_stops import check_exception_rules
from andon.work.loading import line_scope, load
from andon.work.models import PlantException
from andon.work.recipients import users_with_roles
from andon.work.schemas import ExceptionRaise, ExceptionResolve, ExceptionTriage
from andon.work.visibility import restrict

FIELDS = ("item_id", "line_id", "category", "severity", "status", "owner_id", "version")
# An owner works the exception; a viewer only reads.
OWNER_ROLES = [r for r in Role if r is not Role.VIEWER]


def known_categories(ctx: Context) -> dict[str, tuple[str, Severity]]:
    """Categories of every active process's current version: key → (name, default severity)."""
    with ctx.read() as session:
        rows = session.scalars(
            select(ProcessVersion)
            .join(Process, Process.id == ProcessVersion.process_id)
            .where(Process.active.is_(True), ProcessVersion.number == Process.current_version)
        )
        found: dict[str, tuple[str, Severity]] = {}
        for version in rows:
            for c in spec_of(version).exception_categories:
                found.setdefault(c.key, (c.name, c.severity))
        return found


def raise_exception(
    ctx: Context, data: ExceptionRaise, *, at: datetime | None = None
) -> PlantException:
    """Raise an exception on an item (its process's categories) or on a line (any process's).

    A severity its process lists under ``immediate_for`` escalates at once; the line's
    stop-the-line rules are evaluated in the same transaction.
    """
    now = at or utcnow()
    if data.item_id is None and data.line_id is None:
        raise InvalidInput(
            "item_id: give the work item or the line the exception is about",
            [FieldError(("item_id",), "item_id or line_id is required")],
        )
    categories = known_categories(ctx) if data.item_id is None else {}
    with ctx.write() as tx:
        loaded = None
        if data.item_id is not None:
            loaded = load(tx.session, data.item_id, lock=True)
            category = loaded.spec.category(data.category)
            allowed = [c.key for c in loaded.spec.exception_categories]
            default = category.severity if category else None
            line_id, scope = loaded.item.line_id, loaded.scope
        else:
            assert data.line_id is not None
            if tx.session.get(Line, data.line_id) is None:
                raise InvalidInput.for_field("line_id", f"no line with id {data.line_id}")
            _, scope = line_scope(tx.session, data.line_id)
            allowed = sorted(categories)
            default = categories[data.category][1] if data.category in categories else None
            line_id = data.line_id
        if default is None:
            raise InvalidInput(
                f"category: unknown category {data.category!r}",
                [FieldError(("category",), f"one of: {', '.join(allowed) or 'none'}")],
            )
        authorize(ctx.actor, Action.EXCEPTION_RAISE, scope)
        severity = data.severity or default
        exception = PlantException(
            item_id=data.item_id,
            line_id=line_id,
            category=data.category,
            severity=severity.value,
            description=data.description,
            status="open",
            raised_at=now,
            raised_by=ctx.actor.username,
        )
        tx.session.add(exception)
        tx.session.flush()
        tx.audit("exception", exception.id, "raise", after=snapshot(exception, FIELDS))
        if loaded is not None:
            append_event(
                tx.session,
                loaded.item,
                kind="exception",
                activity=loaded.spec.stage(loaded.item.stage).name,
                at=now,
                resource=ctx.actor.username,
                process_key=loaded.spec.key,
                lifecycle="exception",
                exception_id=exception.id,
                category=exception.category,
                severity=exception.severity,
            )
            escalations.escalate_exception(tx, loaded, exception, now)
        check_exception_rules(tx, exception, now)
        return exception


def _for_change(tx: Transaction, exception_id: int, version: int) -> PlantException:
    """The exception to change, if the actor may manage it and ``version`` is current."""
    exception = tx.session.get(PlantException, exception_id)
    if exception is None:
        raise NotFound(f"no exception with id {exception_id}")
    _, scope = line_scope(tx.session, exception.line_id)
    authorize(tx.actor, Action.EXCEPTION_MANAGE, scope)
    if exception.version != version:
        raise Conflict(f"exception {exception_id} is at version {exception.version}, not {version}")
    return exception


def triage_exception(
    ctx: Context, exception_id: int, data: ExceptionTriage, *, at: datetime | None = None
) -> PlantException:
    now = at or utcnow()
    with ctx.write() as tx:
        exception = _for_change(tx, exception_id, data.version)
        if exception.status == "resolved":
            raise Conflict(f"exception {exception_id} is resolved")
        if data.owner_id is not None:
            owner = tx.session.get(User, data.owner_id)
            if owner is None or not owner.active:
                raise InvalidInput.for_field("owner_id", f"no active user with id {data.owner_id}")
            line, scope = line_scope(tx.session, exception.line_id)
            if owner not in users_with_roles(tx.session, OWNER_ROLES, scope):
                raise InvalidInput.for_field(
                    "owner_id", f"{owner.username} has no working role where line {line.code} is"
                )
        before = snapshot(exception, FIELDS)
        if data.category is not None:
            exception.category = data.category
        if data.severity is not None:
            exception.severity = data.severity.value
        if data.owner_id is not None:
            exception.owner_id = data.owner_id
        exception.status = "triaged"
        exception.triaged_at = exception.triaged_at or now
        tx.session.flush()
        tx.audit(
            "exception",
            exception.id,
            "triage",
            before=before,
            after=snapshot(exception, FIELDS),
            reason=data.reason,
        )
        return exception


def resolve_exception(
    ctx: Context, exception_id: int, data: ExceptionResolve, *, at: datetime | None = None
) -> PlantException:
    now = at or utcnow()
    with ctx.write() as tx:
        exception = _for_change(tx, exception_id, data.version)
        if exception.status == "resolved":
            raise Conflict(f"exception {exception_id} is already resolved")
        before = snapshot(exception, FIELDS)
        exception.status = "resolved"
        exception.resolved_at = now
        exception.resolved_by = ctx.actor.username
        exception.resolution = data.resolution
        tx.session.flush()
        tx.audit(
            "exception",
            exception.id,
            "resolve",
            before=before,
            after=snapshot(exception, FIELDS),
            reason=data.resolution,
        )
        return exception


def owner_candidates(ctx: Context, exception_id: int) -> list[User]:
    """Who may own the exception: active users with a working role (any but viewer) where
    its line is — plant-wide, at its site or in its area — by username. What triage offers,
    and all ``triage_exception`` accepts. Needs ``exception.manage`` there, not the right to
    list every user.
    """
    with ctx.read() as session:
        exception = session.get(PlantException, exception_id)
        if exception is None:
            raise NotFound(f"no exception with id {exception_id}")
        _, scope = line_scope(session, exception.line_id)
        authorize(ctx.actor, Action.EXCEPTION_MANAGE, scope)
        return sorted(users_with_roles(session, OWNER_ROLES, scope), key=lambda u: u.username)


def get_exception(ctx: Context, exception_id: int) -> PlantException:
    with ctx.read() as session:
        exception = session.get(PlantException, exception_id)
        if exception is None:
            raise NotFound(f"no exception with id {exception_id}")
        authorize(ctx.actor, Action.WORK_READ, line_scope(session, exception.line_id)[1])
        return exception


def list_exceptions(
    ctx: Context,
    *,
    status: str | None = None,
    line_id: int | None = None,
    item_id: int | None = None,
    category: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[PlantException]:
    """Newest first."""
    after = decode_cursor(cursor)
    limit = max(1, min(limit, MAX_LIMIT))
    query = select(PlantException).order_by(PlantException.id.desc()).limit(limit + 1)
    query = restrict(query, ctx.actor, PlantException.line_id)
    if after is not None:
        query = query.where(PlantException.id < after)
    if status == "unresolved":
        query = query.where(PlantException.status != "resolved")
    elif status is not None:
        query = query.where(PlantException.status == status)
    if line_id is not None:
        query = query.where(PlantException.line_id == line_id)
    if item_id is not None:
        query = query.where(PlantException.item_id == item_id)
    if category is not None:
        query = query.where(PlantException.category == category)
    with ctx.read() as session:
        rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].id) if more and rows else None)


@dataclass(frozen=True)
class ParetoBar:
    key: str
    count: int
    share: float
    cumulative_share: float


def pareto(
    ctx: Context,
    *,
    by: str = "category",
    since: datetime | None = None,
    until: datetime | None = None,
    line_id: int | None = None,
) -> list[ParetoBar]:
    """Exceptions counted by category, line or severity, largest first, with cumulative share."""
    # Line codes repeat across areas and sites; a bar per line needs the full path.
    line_path = Site.code + "/" + Area.code + "/" + Line.code
    columns = {
        "category": PlantException.category,
        "severity": PlantException.severity,
        "line": line_path,
    }
    if by not in columns:
        raise InvalidInput.for_field("by", "one of: category, line, severity")
    column = columns[by]
    query = restrict(
        select(column, func.count()).select_from(PlantException),
        ctx.actor,
        PlantException.line_id,
    )
    if by == "line":
        query = (
            query.join(Line, Line.id == PlantException.line_id)
            .join(Area, Area.id == Line.area_id)
            .join(Site, Site.id == Area.site_id)
        )
    if since is not None:
        query = query.where(PlantException.raised_at >= since)
    if until is not None:
        query = query.where(PlantException.raised_at < until)
    if line_id is not None:
        query = query.where(PlantException.line_id == line_id)
    query = query.group_by(column)
    with ctx.read() as session:
        counts = sorted(session.execute(query).all(), key=lambda r: (-r[1], r[0]))
    total = sum(c for _, c in counts) or 1
    bars, running = [], 0
    for key, count in counts:
        running += count
        bars.append(ParetoBar(str(key), count, count / total, running / total))
    return bars
