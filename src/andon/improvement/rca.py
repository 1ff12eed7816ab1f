"""Root-cause analysis use cases: open, link, contain, ask why, verify, name roots, close.

Reading is ``improvement.read`` (everyone); every change is ``rca.manage`` and is audited
under ``rca``. A closed RCA is not changed. A cause is named a root cause only once verified
(the table checks it too), and an RCA closes only with at least one verified root cause and
no CAPA of it still unfinished.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andon.accounts.models import User
from andon.actions import service as actions
from andon.actions.models import ActionItem
from andon.actions.schemas import UNFINISHED, ActionCreate, ActionLink
from andon.core.audit import AuditEntry, snapshot
from andon.core.clock import utcnow
from andon.core.errors import Conflict, FieldError, InvalidInput, NotFound
from andon.core.permissions import Action, authorize
from andon.core.uow import Context, Transaction
from andon.improvement.models import Capa, RcaCause, RcaLink, RootCauseAnalysis
from andon.improvement.rca_schemas import (
    CapaSummary,
    CauseCreate,
    CauseOut,
    CauseUpdate,
    CauseVerify,
    ContainmentCreate,
    ContainmentOut,
    RcaClose,
    RcaCreate,
    RcaDetailOut,
    RcaFilters,
    RcaLinkIn,
    RcaLinkOut,
    RcaOut,
    RcaUpdate,
)
from andon.metrics.models import Metric
from andon.plant.models import Line
from andon.work.models import Attachment, PlantException, WorkItem

FIELDS = (
    "title",
    "what",
    "location",
    "how_much",
    "started_at",
    "ended_at",
    "line_id",
    "category",
    "metric_key",
    "owner_user_id",
    "status",
    "version",
)
CAUSE_FIELDS = (
    "parent_id",
    "text",
    "category",
    "verified",
    "evidence",
    "evidence_attachment_id",
    "evidence_query",
    "root",
)
CONTAINMENT = "containment"
# KEY@PERIOD or KEY@PERIOD/LINE: a metric's value in one period (on one line) that signalled.
METRIC_SIGNAL = re.compile(r"^(?P<key>[^@\s/]+)@(?P<period>[^@\s/]+)(?:/(?P<line>[^@\s/]+))?$")


def open_rca(ctx: Context, data: RcaCreate, *, at: datetime | None = None) -> RcaDetailOut:
    """Open an RCA with its problem statement and the links it starts from."""
    now = at or utcnow()
    with ctx.write() as tx:
        authorize(ctx.actor, Action.RCA_MANAGE)
        session = tx.session
        owner_id = _owner_id(session, data.owner_user)
        _check_line(session, data.line_id, "line_id")
        _check_metric(session, data.metric_key, "metric_key")
        links = list(dict.fromkeys(data.links))
        for i, link in enumerate(links):
            _check_link(session, link, ("links", i, "ref"))
        rca = RootCauseAnalysis(
            title=data.title,
            what=data.what,
            location=data.location,
            how_much=data.how_much,
            started_at=data.started_at,
            ended_at=data.ended_at,
            line_id=data.line_id,
            category=data.category,
            metric_key=data.metric_key,
            owner_user_id=owner_id,
            status="open",
            created_by=ctx.actor.username,
            created_at=now,
        )
        session.add(rca)
        session.flush()
        for link in links:
            session.add(_link_row(rca.id, link, ctx.actor.username, now))
        tx.audit(
            "rca",
            rca.id,
            "open",
            after={
                **snapshot(rca, FIELDS),
                "links": [f"{link.kind}:{link.ref}" for link in links],
            },
        )
        return _detail(session, rca)


def list_rcas(ctx: Context, filters: RcaFilters | None = None) -> list[RcaOut]:
    """RCAs matching ``filters``, newest first."""
    filters = filters or RcaFilters()
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        query = select(RootCauseAnalysis).order_by(RootCauseAnalysis.id.desc()).limit(filters.limit)
        if filters.status is not None:
            query = query.where(RootCauseAnalysis.status == filters.status)
        if filters.line_id is not None:
            query = query.where(RootCauseAnalysis.line_id == filters.line_id)
        if filters.category is not None:
            query = query.where(RootCauseAnalysis.category == filters.category)
        if filters.owner_user is not None:
            owner = session.scalar(
                select(User.id).where(User.username == filters.owner_user.strip().lower())
            )
            query = query.where(RootCauseAnalysis.owner_user_id == (owner or 0))
        return _outs(session, list(session.scalars(query)))


def get_rca(ctx: Context, rca_id: int) -> RcaDetailOut:
    """One RCA with its links, cause tree (oldest first), containment actions and CAPAs."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        return _detail(session, _get(session, rca_id))


def update_rca(ctx: Context, rca_id: int, data: RcaUpdate) -> RcaOut:
    """Change the problem statement or the owner, based on ``data.version``."""
    with ctx.write() as tx:
        session = tx.session
        rca = _for_change(tx, rca_id, data.version)
        before = snapshot(rca, FIELDS)
        given = data.model_dump(exclude_unset=True, exclude={"version", "reason"})
        for name in ("title", "what", "location", "how_much", "started_at", "ended_at"):
            if given.get(name) is not None:
                setattr(rca, name, given[name])
        if "line_id" in given and given["line_id"] is not None:
            line_id = given["line_id"] or None
            _check_line(session, line_id, "line_id")
            rca.line_id = line_id
        if "category" in given and given["category"] is not None:
            rca.category = given["category"] or None
        if "metric_key" in given and given["metric_key"] is not None:
            _check_metric(session, given["metric_key"] or None, "metric_key")
            rca.metric_key = given["metric_key"] or None
        if data.owner_user is not None:
            rca.owner_user_id = _owner_id(session, data.owner_user)
        if rca.ended_at is not None and rca.ended_at < rca.started_at:
            raise InvalidInput.for_field("ended_at", "must not be before started_at")
        after = snapshot(rca, FIELDS)
        if after == before:
            raise InvalidInput.for_field("what", "nothing to change")
        session.flush()
        tx.audit(
            "rca",
            rca.id,
            "update",
            before=before,
            after=snapshot(rca, FIELDS),
            reason=data.reason,
        )
        return _outs(session, [rca])[0]


def add_link(
    ctx: Context, rca_id: int, link: RcaLinkIn, *, at: datetime | None = None
) -> RcaLinkOut:
    """Link an exception, a work item, a metric signal or an audit entry; each must exist."""
    with ctx.write() as tx:
        session = tx.session
        rca = _for_change(tx, rca_id)
        _check_link(session, link, ("ref",))
        if _find_link(session, rca.id, link.kind, link.ref) is not None:
            raise Conflict(f"RCA {rca_id} already links {link.kind}:{link.ref}")
        row = _link_row(rca.id, link, ctx.actor.username, at or utcnow())
        session.add(row)
        session.flush()
        tx.audit(
            "rca", rca.id, "link", after={"link": f"{link.kind}:{link.ref}", "note": link.note}
        )
        return RcaLinkOut.model_validate(row)


def remove_link(ctx: Context, rca_id: int, link_id: int) -> None:
    """Remove a link; a containment link stays (its action is finished in the actions room)."""
    with ctx.write() as tx:
        session = tx.session
        rca = _for_change(tx, rca_id)
        row = session.get(RcaLink, link_id)
        if row is None or row.rca_id != rca.id:
            raise NotFound(f"RCA {rca_id} has no link {link_id}")
        if row.kind == CONTAINMENT:
            raise Conflict("a containment action stays linked; close or cancel it instead")
        session.delete(row)
        tx.audit("rca", rca.id, "unlink", before={"link": f"{row.kind}:{row.ref}"})


def add_containment(
    ctx: Context, rca_id: int, data: ContainmentCreate, *, at: datetime | None = None
) -> ContainmentOut:
    """Open a containment action in the actions room, linked ``rca:ID``, and record it."""
    now = at or utcnow()
    with ctx.atomic() as tx:
        session = tx.session
        rca = _for_change(tx, rca_id)
        action, _ = actions.open_action(
            ctx,
            ActionCreate(
                title=data.title,
                description=data.description,
                owner_user=data.owner_user,
                owner_role=data.owner_role,
                due_on=data.due_on,
                priority="high",
                links=[ActionLink(kind="rca", ref=str(rca.id))],
            ),
            at=now,
        )
        session.add(
            RcaLink(
                rca_id=rca.id,
                kind=CONTAINMENT,
                ref=str(action.id),
                note=data.title,
                added_by=ctx.actor.username,
                added_at=now,
            )
        )
        tx.audit("rca", rca.id, "contain", after={"action_id": action.id, "title": data.title})
        return ContainmentOut(
            action_id=action.id,
            title=action.title,
            status=action.status,
            owner=action.owner_user or f"role {action.owner_role}",
            due_on=action.due_on,
        )


def add_cause(
    ctx: Context, rca_id: int, data: CauseCreate, *, at: datetime | None = None
) -> CauseOut:
    """Add a why under the problem statement or under a cause of the same RCA (a second
    child of one cause is a branch)."""
    with ctx.write() as tx:
        session = tx.session
        rca = _for_change(tx, rca_id)
        if data.parent_id is not None:
            _cause(session, rca.id, data.parent_id, field="parent_id")
        cause = RcaCause(
            rca_id=rca.id,
            parent_id=data.parent_id,
            text=data.text,
            category=data.category,
            created_by=ctx.actor.username,
            created_at=at or utcnow(),
        )
        session.add(cause)
        session.flush()
        tx.audit(
            "rca", rca.id, "cause", after={"cause_id": cause.id, **snapshot(cause, CAUSE_FIELDS)}
        )
        return CauseOut.model_validate(cause)


def update_cause(ctx: Context, rca_id: int, cause_id: int, data: CauseUpdate) -> CauseOut:
    """Edit a cause's text or 6M category."""
    with ctx.write() as tx:
        session = tx.session
        rca = _for_change(tx, rca_id)
        cause = _cause(session, rca.id, cause_id)
        before = snapshot(cause, CAUSE_FIELDS)
        if data.text is not None:
            cause.text = data.text
        if data.category is not None:
            cause.category = data.category or None
        if snapshot(cause, CAUSE_FIELDS) == before:
            raise InvalidInput.for_field("text", "nothing to change")
        return _cause_changed(tx, rca, cause, "cause_edit", before)


def verify_cause(
    ctx: Context, rca_id: int, cause_id: int, data: CauseVerify, *, at: datetime | None = None
) -> CauseOut:
    """Record the evidence that a cause is real (again: new evidence replaces the old)."""
    with ctx.write() as tx:
        session = tx.session
        rca = _for_change(tx, rca_id)
        cause = _cause(session, rca.id, cause_id)
        if data.evidence_attachment_id is not None and (
            session.get(Attachment, data.evidence_attachment_id) is None
        ):
            raise InvalidInput.for_field(
                "evidence_attachment_id", f"no attachment with id {data.evidence_attachment_id}"
            )
        before = snapshot(cause, CAUSE_FIELDS)
        cause.verified = True
        cause.evidence = data.evidence
        cause.evidence_attachment_id = data.evidence_attachment_id
        cause.evidence_query = data.evidence_query
        cause.verified_by = ctx.actor.username
        cause.verified_at = at or utcnow()
        return _cause_changed(tx, rca, cause, "verify", before)


def set_root(ctx: Context, rca_id: int, cause_id: int, *, root: bool = True) -> CauseOut:
    """Name a verified cause a root cause (``root=False``: no longer one)."""
    with ctx.write() as tx:
        session = tx.session
        rca = _for_change(tx, rca_id)
        cause = _cause(session, rca.id, cause_id)
        if root and not cause.verified:
            raise InvalidInput.for_field(
                "root", f"cause {cause_id} is not verified: record its evidence first"
            )
        if cause.root == root:
            raise InvalidInput.for_field(
                "root", f"cause {cause_id} is {'already' if root else 'not'} a root cause"
            )
        before = snapshot(cause, CAUSE_FIELDS)
        cause.root = root
        return _cause_changed(tx, rca, cause, "root" if root else "unroot", before)


def close_rca(ctx: Context, rca_id: int, data: RcaClose, *, at: datetime | None = None) -> RcaOut:
    """Close the RCA: at least one verified root cause named, and no CAPA of it unfinished."""
    with ctx.write() as tx:
        session = tx.session
        rca = _for_change(tx, rca_id, data.version)
        roots = session.scalar(
            select(func.count()).where(RcaCause.rca_id == rca.id, RcaCause.root.is_(True))
        )
        if not roots:
            raise InvalidInput.for_field(
                "root_causes", "name at least one verified root cause before closing"
            )
        unfinished = session.scalar(
            select(func.count())
            .select_from(Capa)
            .join(ActionItem, ActionItem.id == Capa.action_id)
            .where(Capa.rca_id == rca.id, ActionItem.status.in_(UNFINISHED))
        )
        if unfinished:
            raise InvalidInput.for_field(
                "capas", f"{unfinished} CAPA(s) of this RCA are not finished yet"
            )
        before = snapshot(rca, FIELDS)
        rca.status = "closed"
        rca.closed_at = at or utcnow()
        rca.closed_by = ctx.actor.username
        session.flush()
        tx.audit(
            "rca", rca.id, "close", before=before, after=snapshot(rca, FIELDS), reason=data.reason
        )
        return _outs(session, [rca])[0]


# --- shared --------------------------------------------------------------------------------


def _get(session: Session, rca_id: int) -> RootCauseAnalysis:
    rca = session.get(RootCauseAnalysis, rca_id)
    if rca is None:
        raise NotFound(f"no RCA with id {rca_id}")
    return rca


def _for_change(tx: Transaction, rca_id: int, version: int | None = None) -> RootCauseAnalysis:
    """The open RCA, if the actor manages RCAs and ``version`` (when given) holds."""
    authorize(tx.actor, Action.RCA_MANAGE)
    rca = _get(tx.session, rca_id)
    if version is not None and rca.version != version:
        raise Conflict(f"RCA {rca_id} is at version {rca.version}, not {version}")
    if rca.status != "open":
        raise Conflict(f"RCA {rca_id} is closed")
    return rca


def _cause(session: Session, rca_id: int, cause_id: int, *, field: str = "") -> RcaCause:
    cause = session.get(RcaCause, cause_id)
    if cause is None or cause.rca_id != rca_id:
        if field:
            raise InvalidInput.for_field(field, f"RCA {rca_id} has no cause {cause_id}")
        raise NotFound(f"RCA {rca_id} has no cause {cause_id}")
    return cause


def _cause_changed(
    tx: Transaction, rca: RootCauseAnalysis, cause: RcaCause, action: str, before: dict[str, Any]
) -> CauseOut:
    tx.session.flush()
    tx.audit(
        "rca",
        rca.id,
        action,
        before={"cause_id": cause.id, **before},
        after={"cause_id": cause.id, **snapshot(cause, CAUSE_FIELDS)},
    )
    return CauseOut.model_validate(cause)


def _owner_id(session: Session, username: str) -> int:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active:
        raise InvalidInput.for_field("owner_user", f"no active user named {username!r}")
    return user.id


def _check_line(session: Session, line_id: int | None, field: str) -> None:
    if line_id is not None and session.get(Line, line_id) is None:
        raise InvalidInput.for_field(field, f"no line with id {line_id}")


def _check_metric(session: Session, key: str | None, field: str) -> None:
    if key is not None and session.scalar(select(Metric.id).where(Metric.key == key)) is None:
        raise InvalidInput.for_field(field, f"no metric with key {key!r}")


def _check_link(session: Session, link: RcaLinkIn, loc: tuple[str | int, ...]) -> None:
    """Refuse a link to nothing, naming the field (``ref`` or ``links.N.ref``)."""
    problem: str | None = None
    if link.kind in {"exception", "work_item", "audit"}:
        if not link.ref.isdigit() or len(link.ref) > 10:
            problem = f"a {link.kind} is linked by its number, not {link.ref!r}"
        else:
            number = int(link.ref)
            found: object
            if link.kind == "exception":
                found = session.get(PlantException, number)
            elif link.kind == "work_item":
                found = session.get(WorkItem, number)
            else:
                found = session.scalar(select(AuditEntry.seq).where(AuditEntry.seq == number))
            if found is None:
                name = {"exception": "exception", "work_item": "work item", "audit": "audit entry"}
                problem = f"no {name[link.kind]} {number}"
    else:
        signal = METRIC_SIGNAL.match(link.ref)
        if signal is None:
            problem = f"write a metric signal as KEY@PERIOD or KEY@PERIOD/LINE, not {link.ref!r}"
        elif session.scalar(select(Metric.id).where(Metric.key == signal["key"])) is None:
            problem = f"no metric with key {signal['key']!r}"
    if problem is not None:
        raise InvalidInput(
            ".".join(str(p) for p in loc) + ": " + problem, [FieldError(loc, problem)]
        )


def _link_row(rca_id: int, link: RcaLinkIn, by: str, at: datetime) -> RcaLink:
    return RcaLink(
        rca_id=rca_id, kind=link.kind, ref=link.ref, note=link.note, added_by=by, added_at=at
    )


def _find_link(session: Session, rca_id: int, kind: str, ref: str) -> RcaLink | None:
    return session.scalar(
        select(RcaLink).where(RcaLink.rca_id == rca_id, RcaLink.kind == kind, RcaLink.ref == ref)
    )


def _outs(session: Session, rows: Sequence[RootCauseAnalysis]) -> list[RcaOut]:
    """RCAs with their owners' usernames and line codes, in two queries."""
    user_ids = {r.owner_user_id for r in rows}
    line_ids = {r.line_id for r in rows if r.line_id is not None}
    names: dict[int, str] = {}
    codes: dict[int, str] = {}
    if user_ids:
        names = dict(
            session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all()
        )
    if line_ids:
        codes = dict(session.execute(select(Line.id, Line.code).where(Line.id.in_(line_ids))).all())
    return [
        RcaOut(
            id=r.id,
            title=r.title,
            what=r.what,
            location=r.location,
            how_much=r.how_much,
            started_at=r.started_at,
            ended_at=r.ended_at,
            line_id=r.line_id,
            line=codes.get(r.line_id) if r.line_id is not None else None,
            category=r.category,
            metric_key=r.metric_key,
            owner_user=names.get(r.owner_user_id, "?"),
            status=r.status,
            created_by=r.created_by,
            created_at=r.created_at,
            closed_at=r.closed_at,
            closed_by=r.closed_by,
            version=r.version,
        )
        for r in rows
    ]


def _detail(session: Session, rca: RootCauseAnalysis) -> RcaDetailOut:
    links = list(
        session.scalars(select(RcaLink).where(RcaLink.rca_id == rca.id).order_by(RcaLink.id))
    )
    causes = list(
        session.scalars(select(RcaCause).where(RcaCause.rca_id == rca.id).order_by(RcaCause.id))
    )
    action_ids = [int(link.ref) for link in links if link.kind == CONTAINMENT]
    capas = list(
        session.execute(select(Capa).where(Capa.rca_id == rca.id).order_by(Capa.id)).scalars()
    )
    held = {
        a.id: a
        for a in session.scalars(
            select(ActionItem).where(ActionItem.id.in_(action_ids + [c.action_id for c in capas]))
        )
    }
    owners: dict[int, str] = {}
    owner_ids = {a.owner_user_id for a in held.values() if a.owner_user_id is not None}
    if owner_ids:
        owners = dict(
            session.execute(select(User.id, User.username).where(User.id.in_(owner_ids))).all()
        )
    containment = [
        ContainmentOut(
            action_id=a.id,
            title=a.title,
            status=a.status,
            owner=owners.get(a.owner_user_id, "?")
            if a.owner_user_id is not None
            else f"role {a.owner_role}",
            due_on=a.due_on,
        )
        for a in (held[i] for i in action_ids if i in held)
    ]
    return RcaDetailOut(
        **_outs(session, [rca])[0].model_dump(),
        links=[RcaLinkOut.model_validate(link) for link in links if link.kind != CONTAINMENT],
        causes=[CauseOut.model_validate(c) for c in causes],
        containment=containment,
        capas=[
            CapaSummary(
                id=c.id,
                kind=c.kind,
                action_id=c.action_id,
                title=held[c.action_id].title if c.action_id in held else "",
                status=held[c.action_id].status if c.action_id in held else "",
            )
            for c in capas
        ],
        root_causes=[c.text for c in causes if c.root],
    )
