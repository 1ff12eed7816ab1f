"""Decision-log use cases: record a decision, list and read them (with the chain of
reopened decisions), reopen a settled one, settle a reopened one, list those due a revisit.

``decision.record`` writes; everyone with ``improvement.read`` reads. A decision is never
edited: a change of mind reopens it, which makes a new decision pointing at the old one
(``supersedes_id``) and marks the old one superseded.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andon.accounts.models import User
from andon.core.audit import snapshot
from andon.core.errors import Conflict, FieldError, InvalidInput, NotFound
from andon.core.permissions import Action, Role, authorize_somewhere
from andon.core.uow import Context
from andon.improvement import changes
from andon.improvement.decision_models import Decision, DecisionLink
from andon.improvement.decision_schemas import (
    ChainLinkOut,
    DecisionCreate,
    DecisionDetailOut,
    DecisionLinks,
    DecisionOut,
    DecisionReopen,
    DecisionSettle,
    LinkOut,
    OptionIn,
    OptionOut,
)
from andon.improvement.models import RootCauseAnalysis
from andon.metrics.models import Metric

FIELDS = (
    "title",
    "decision",
    "context",
    "options",
    "decides",
    "consulted",
    "informed",
    "decided_on",
    "revisit_on",
    "status",
    "supersedes_id",
    "reopen_reason",
    "version",
)
MAX_CHAIN = 100
_LINK_FIELDS = {
    "metrics": "metric",
    "document_revisions": "document_revision",
    "process_versions": "process_version",
    "rcas": "rca",
}


def record_decision(ctx: Context, data: DecisionCreate) -> DecisionDetailOut:
    """Record a settled decision; every link and every person named must exist."""
    with ctx.write() as tx:
        authorize_somewhere(ctx.actor, Action.DECISION_RECORD)
        session = tx.session
        _check_dates(data.decided_on, data.revisit_on)
        decision = Decision(
            title=data.title,
            decision=data.decision,
            context=data.context,
            options=_options(data.options),
            decides=_parties(session, "decides", data.decides, required=True),
            consulted=_parties(session, "consulted", data.consulted),
            informed=_parties(session, "informed", data.informed),
            decided_on=data.decided_on,
            revisit_on=data.revisit_on,
            status="settled",
            created_by=ctx.actor.username,
        )
        links = _links(session, data)
        session.add(decision)
        session.flush()
        session.add_all(DecisionLink(decision_id=decision.id, kind=k, ref=r) for k, r in links)
        tx.audit(
            "decision",
            decision.id,
            "record",
            after={**snapshot(decision, FIELDS), "links": [f"{k}:{r}" for k, r in links]},
        )
        return _detail(session, decision)


def list_decisions(
    ctx: Context, *, status: str | None = None, limit: int = 200
) -> list[DecisionOut]:
    """Newest first, optionally of one status."""
    authorize_somewhere(ctx.actor, Action.IMPROVEMENT_READ)
    with ctx.read() as session:
        query = (
            select(Decision)
            .order_by(Decision.created_at.desc(), Decision.id.desc())
            .limit(max(1, min(limit, 500)))
        )
        if status is not None:
            query = query.where(Decision.status == status)
        return _outs(session, list(session.scalars(query)))


def due_for_revisit(ctx: Context, *, today: date, limit: int = 200) -> list[DecisionOut]:
    """Decisions in force (settled) whose revisit date is today or has passed, oldest due
    first."""
    authorize_somewhere(ctx.actor, Action.IMPROVEMENT_READ)
    with ctx.read() as session:
        query = (
            select(Decision)
            .where(Decision.status == "settled", Decision.revisit_on <= today)
            .order_by(Decision.revisit_on, Decision.id)
            .limit(max(1, min(limit, 500)))
        )
        return _outs(session, list(session.scalars(query)))


def get_decision(ctx: Context, decision_id: int) -> DecisionDetailOut:
    """One decision with its links and its whole chain of reopened decisions."""
    authorize_somewhere(ctx.actor, Action.IMPROVEMENT_READ)
    with ctx.read() as session:
        return _detail(session, _get(session, decision_id))


def reopen_decision(ctx: Context, decision_id: int, data: DecisionReopen) -> DecisionDetailOut:
    """Reopen a settled decision: a new decision (``reopened``, pointing at it) copies it,
    with the reason; the old one becomes ``superseded``. Only a settled one reopens."""
    with ctx.write() as tx:
        authorize_somewhere(ctx.actor, Action.DECISION_RECORD)
        session = tx.session
        old = _get(session, decision_id)
        _check_version(old, data.version)
        if old.status != "settled":
            newer = _superseded_by(session, [old.id]).get(old.id)
            where = f"; reopen decision {newer}" if newer else ""
            raise Conflict(f"decision {old.id} is {old.status}, not settled{where}")
        new = Decision(
            title=data.title or old.title,
            decision=old.decision,
            context=data.context if data.context is not None else old.context,
            options=list(old.options),
            decides=list(old.decides),
            consulted=list(old.consulted),
            informed=list(old.informed),
            decided_on=None,
            revisit_on=None,
            status="reopened",
            supersedes_id=old.id,
            reopen_reason=data.reason,
            created_by=ctx.actor.username,
        )
        session.add(new)
        before = snapshot(old, FIELDS)
        old.status = "superseded"
        session.flush()
        links = [(link.kind, link.ref) for link in _link_rows(session, [old.id])[old.id]]
        session.add_all(DecisionLink(decision_id=new.id, kind=k, ref=r) for k, r in links)
        tx.audit(
            "decision",
            old.id,
            "supersede",
            before=before,
            after=snapshot(old, FIELDS),
            reason=data.reason,
        )
        tx.audit(
            "decision",
            new.id,
            "reopen",
            after={**snapshot(new, FIELDS), "links": [f"{k}:{r}" for k, r in links]},
            reason=data.reason,
        )
        return _detail(session, new)


def settle_decision(ctx: Context, decision_id: int, data: DecisionSettle) -> DecisionDetailOut:
    """Settle a reopened decision with what was decided now. Links, options and rights
    given replace the copied ones; the others stay."""
    with ctx.write() as tx:
        authorize_somewhere(ctx.actor, Action.DECISION_RECORD)
        session = tx.session
        decision = _get(session, decision_id)
        _check_version(decision, data.version)
        if decision.status != "reopened":
            raise Conflict(
                f"decision {decision.id} is {decision.status}; only a reopened one settles"
            )
        _check_dates(data.decided_on, data.revisit_on)
        before = snapshot(decision, FIELDS)
        decision.decision = data.decision
        decision.decided_on, decision.revisit_on = data.decided_on, data.revisit_on
        if data.options is not None:
            decision.options = _options(data.options)
        if data.decides is not None:
            decision.decides = _parties(session, "decides", data.decides, required=True)
        if data.consulted is not None:
            decision.consulted = _parties(session, "consulted", data.consulted)
        if data.informed is not None:
            decision.informed = _parties(session, "informed", data.informed)
        decision.status = "settled"
        given = {name for name in _LINK_FIELDS if getattr(data, name)}
        links = _links(session, data)
        if given:
            for row in _link_rows(session, [decision.id])[decision.id]:
                if row.kind in {_LINK_FIELDS[name] for name in given}:
                    session.delete(row)
            session.flush()
            session.add_all(DecisionLink(decision_id=decision.id, kind=k, ref=r) for k, r in links)
        session.flush()
        tx.audit(
            "decision",
            decision.id,
            "settle",
            before=before,
            after={**snapshot(decision, FIELDS), "links": [f"{k}:{r}" for k, r in links]},
        )
        return _detail(session, decision)


# --- shared --------------------------------------------------------------------------------


def _get(session: Session, decision_id: int) -> Decision:
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise NotFound(f"no decision with id {decision_id}")
    return decision


def _check_version(decision: Decision, version: int | None) -> None:
    if version is not None and decision.version != version:
        raise Conflict(f"decision {decision.id} is at version {decision.version}, not {version}")


def _check_dates(decided_on: date, revisit_on: date | None) -> None:
    if revisit_on is not None and revisit_on < decided_on:
        raise InvalidInput.for_field("revisit_on", "must not be before the decision date")


def _options(options: list[OptionIn]) -> list[dict[str, str]]:
    return [{"name": o.name, "pros": o.pros, "cons": o.cons} for o in options]


def _parties(
    session: Session, field: str, given: list[str], *, required: bool = False
) -> list[str]:
    """``user:NAME`` / ``role:NAME`` (a bare name: a role if it is one, else a user), each
    checked: a role must exist, a user must be active. Duplicates are dropped."""
    if required and not given:
        raise InvalidInput.for_field(field, "name at least one person or role")
    roles = {r.value for r in Role}
    out: list[str] = []
    wanted: dict[str, int] = {}
    for i, raw in enumerate(given):
        kind, sep, name = raw.partition(":")
        if not sep:
            kind, name = ("role" if raw in roles else "user"), raw
        kind, name = kind.strip().lower(), name.strip()
        if kind == "role":
            if name not in roles:
                raise _bad((field, i), f"no role {name!r}; roles: {', '.join(sorted(roles))}")
        elif kind == "user":
            name = name.lower()
            wanted.setdefault(name, i)
        else:
            raise _bad((field, i), "write user:NAME or role:NAME")
        out.append(f"{kind}:{name}")
    if wanted:
        found = set(
            session.scalars(
                select(User.username).where(User.username.in_(list(wanted)), User.active)
            )
        )
        for name, i in wanted.items():
            if name not in found:
                raise _bad((field, i), f"no active user named {name!r}")
    return list(dict.fromkeys(out))


def _links(session: Session, data: DecisionLinks) -> list[tuple[str, str]]:
    """The links, each checked to exist (a dangling one is refused, the field named)."""
    out: list[tuple[str, str]] = []
    for i, key in enumerate(data.metrics):
        if session.scalar(select(Metric.id).where(Metric.key == key)) is None:
            raise _bad(("metrics", i), f"no metric with key {key!r}")
        out.append(("metric", key))
    for i, ref in enumerate(data.document_revisions):
        if changes.revision_by_ref(session, ref) is None:
            raise _bad(
                ("document_revisions", i), f"no document revision {ref!r} (write NUMBER/REVISION)"
            )
        out.append(("document_revision", ref))
    for i, ref in enumerate(data.process_versions):
        if changes.process_version_by_ref(session, ref) is None:
            raise _bad(("process_versions", i), f"no process version {ref!r} (write KEY/VERSION)")
        out.append(("process_version", ref))
    for i, rca_id in enumerate(data.rcas):
        if session.get(RootCauseAnalysis, rca_id) is None:
            raise _bad(("rcas", i), f"no root-cause analysis with id {rca_id}")
        out.append(("rca", str(rca_id)))
    return list(dict.fromkeys(out))


def _bad(loc: tuple[str | int, ...], msg: str) -> InvalidInput:
    return InvalidInput(f"{loc[0]}: {msg}", [FieldError(loc, msg)])


def _link_rows(session: Session, ids: list[int]) -> dict[int, list[DecisionLink]]:
    rows: dict[int, list[DecisionLink]] = {i: [] for i in ids}
    if ids:
        for row in session.scalars(
            select(DecisionLink).where(DecisionLink.decision_id.in_(ids)).order_by(DecisionLink.id)
        ):
            rows[row.decision_id].append(row)
    return rows


def _superseded_by(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    return {
        old: new
        for new, old in session.execute(
            select(Decision.id, Decision.supersedes_id).where(Decision.supersedes_id.in_(ids))
        )
        if old is not None
    }


def _outs(session: Session, decisions: list[Decision]) -> list[DecisionOut]:
    ids = [d.id for d in decisions]
    links = _link_rows(session, ids)
    newer = _superseded_by(session, ids)
    return [
        DecisionOut(
            id=d.id,
            title=d.title,
            decision=d.decision,
            context=d.context,
            options=[OptionOut.model_validate(o) for o in d.options],
            decides=d.decides,
            consulted=d.consulted,
            informed=d.informed,
            decided_on=d.decided_on,
            revisit_on=d.revisit_on,
            status=d.status,
            supersedes_id=d.supersedes_id,
            superseded_by_id=newer.get(d.id),
            reopen_reason=d.reopen_reason,
            links=[LinkOut(kind=row.kind, ref=row.ref) for row in links[d.id]],
            created_by=d.created_by,
            created_at=d.created_at,
            version=d.version,
        )
        for d in decisions
    ]


def _chain(session: Session, decision: Decision) -> list[Decision]:
    """The decisions this one reopened (back to the first), itself, and the ones that
    reopened it, oldest first; one query per step, at most ``MAX_CHAIN`` steps each way."""
    older: list[Decision] = []
    current = decision
    while current.supersedes_id is not None and len(older) < MAX_CHAIN:
        current = _get(session, current.supersedes_id)
        older.append(current)
    newer: list[Decision] = []
    current = decision
    while len(newer) < MAX_CHAIN:
        following = session.scalar(select(Decision).where(Decision.supersedes_id == current.id))
        if following is None:
            break
        newer.append(following)
        current = following
    return [*reversed(older), decision, *newer]


def _detail(session: Session, decision: Decision) -> DecisionDetailOut:
    session.flush()
    out = _outs(session, [decision])[0]
    return DecisionDetailOut(
        **out.model_dump(),
        chain=[
            ChainLinkOut(
                id=d.id,
                title=d.title,
                status=d.status,
                decided_on=d.decided_on,
                reopen_reason=d.reopen_reason,
            )
            for d in _chain(session, decision)
        ],
    )


def count_due(ctx: Context, *, today: date) -> int:
    """How many settled decisions are due a revisit (for a hub or a board)."""
    authorize_somewhere(ctx.actor, Action.IMPROVEMENT_READ)
    with ctx.read() as session:
        return int(
            session.scalar(
                select(func.count(Decision.id)).where(
                    Decision.status == "settled", Decision.revisit_on <= today
                )
            )
            or 0
        )
