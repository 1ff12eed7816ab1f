"""Risk register use cases: add, edit (and score), review, verify, mitigate, list, heat map,
export.

Who may do what: ``improvement.read`` reads the register; ``risk.manage`` adds, edits,
scores, reviews and verifies risks and opens their mitigations (actions in the actions room,
linked ``risk:ID``). Every change is audited as entity ``risk``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from andon.accounts.models import User
from andon.actions import service as actions
from andon.actions.models import ActionItem, ActionLink
from andon.actions.schemas import UNFINISHED, ActionCreate, ActionFilters, ActionOut
from andon.actions.schemas import ActionLink as LinkIn
from andon.core.audit import snapshot
from andon.core.clock import utcnow
from andon.core.errors import Conflict, InvalidInput, NotFound
from andon.core.permissions import Action, authorize
from andon.core.uow import Context
from andon.documents.content import risk_reference
from andon.documents.models import Document, DocumentRevision
from andon.improvement import risk_matrix
from andon.improvement.risk_models import Risk
from andon.improvement.risk_schemas import (
    HeatCellOut,
    HeatMapOut,
    LinkedRevision,
    MitigationCreate,
    RiskCreate,
    RiskDetailOut,
    RiskFilters,
    RiskOut,
    RiskReview,
    RiskUpdate,
    RiskVerify,
    Verification,
)
from andon.metrics.models import Metric

FIELDS = (
    "title",
    "area",
    "cause",
    "consequence",
    "inherent_likelihood",
    "inherent_severity",
    "residual_likelihood",
    "residual_severity",
    "owner_user_id",
    "status",
    "verification_method",
    "metric_key",
    "metric_comparison",
    "metric_threshold",
    "check_interval_days",
    "next_check_on",
    "review_on",
    "version",
)
SCORES = ("inherent_likelihood", "inherent_severity", "residual_likelihood", "residual_severity")
VERIFICATION_FIELDS = (
    "verification_method",
    "metric_key",
    "metric_comparison",
    "metric_threshold",
    "check_interval_days",
    "next_check_on",
)


def add_risk(
    ctx: Context, data: RiskCreate, *, today: date | None = None, at: datetime | None = None
) -> RiskDetailOut:
    """A new risk. Scores are checked on the 5×5 scale (the field at fault named); without
    an inherent score it is ``to_assess``, else ``open`` unless ``status`` says otherwise."""
    now = at or utcnow()
    today = today or now.date()
    with ctx.write() as tx:
        authorize(ctx.actor, Action.RISK_MANAGE)
        session = tx.session
        risk = Risk(
            title=data.title,
            area=data.area,
            cause=data.cause,
            consequence=data.consequence,
            owner_user_id=_owner(session, data.owner),
            created_by=ctx.actor.username,
            created_at=now,
            updated_at=now,
            review_on=data.review_on,
            verification_note="",
        )
        for name in SCORES:
            setattr(risk, name, getattr(data, name))
        scored = data.inherent_likelihood is not None
        risk.status = data.status or ("open" if scored else "to_assess")
        _set_verification(session, risk, data.verification, today)
        _check(risk)
        session.add(risk)
        session.flush()
        tx.audit("risk", risk.id, "create", after=snapshot(risk, FIELDS))
        return _detail(ctx, session, risk, today)


def edit_risk(
    ctx: Context,
    risk_id: int,
    data: RiskUpdate,
    *,
    today: date | None = None,
    at: datetime | None = None,
) -> RiskDetailOut:
    """Change the fields given (scoring is an edit of the four scores; a risk ``to_assess``
    that gets an inherent score becomes ``open`` unless a status is given). ``data.version``
    is the version the change is based on: a risk changed since is refused (409)."""
    now = at or utcnow()
    today = today or now.date()
    given = data.model_fields_set - {"version", "reason"}
    with ctx.write() as tx:
        authorize(ctx.actor, Action.RISK_MANAGE)
        session = tx.session
        risk = _get(session, risk_id)
        _check_version(risk, data.version)
        before = snapshot(risk, FIELDS)
        for name in ("title", "cause", "consequence", "status"):
            if name in given:
                value = getattr(data, name)
                if value is None:
                    raise InvalidInput.for_field(name, "cannot be cleared")
                setattr(risk, name, value)
        for name in ("area", "review_on", *SCORES):
            if name in given:
                setattr(risk, name, getattr(data, name))
        if "owner" in given:
            if data.owner is None:
                raise InvalidInput.for_field("owner", "a risk always has an owner")
            risk.owner_user_id = _owner(session, data.owner)
        if "verification" in given:
            _set_verification(session, risk, data.verification, today)
        if risk.status == "to_assess" and "status" not in given and risk.inherent_likelihood:
            risk.status = "open"  # scored now: assessed
        _check(risk)
        risk.updated_at = now
        session.flush()
        tx.audit(
            "risk", risk.id, "edit", before=before, after=snapshot(risk, FIELDS), reason=data.reason
        )
        return _detail(ctx, session, risk, today)


def review_risk(
    ctx: Context,
    risk_id: int,
    data: RiskReview,
    *,
    today: date | None = None,
    at: datetime | None = None,
) -> RiskDetailOut:
    """Record a review: when and by whom, what was found, and the date of the next one
    (today or later)."""
    now = at or utcnow()
    today = today or now.date()
    if data.next_review_on < today:
        raise InvalidInput.for_field("next_review_on", "the next review is not in the past")
    with ctx.write() as tx:
        authorize(ctx.actor, Action.RISK_MANAGE)
        risk = _get(tx.session, risk_id)
        _check_version(risk, data.version)
        before = {"review_on": risk.review_on, "reviewed_at": risk.reviewed_at}
        risk.review_on = data.next_review_on
        risk.reviewed_at = now
        risk.reviewed_by = ctx.actor.username
        risk.updated_at = now
        tx.session.flush()
        tx.audit(
            "risk",
            risk.id,
            "review",
            before=before,
            after={"review_on": risk.review_on, "reviewed_at": now, "note": data.note},
        )
        return _detail(ctx, tx.session, risk, today)


def verify_risk(
    ctx: Context,
    risk_id: int,
    data: RiskVerify,
    *,
    zone: ZoneInfo,
    today: date | None = None,
    at: datetime | None = None,
) -> RiskDetailOut:
    """Record a verification. A recurring check: ``result`` as given, the next one due an
    interval from today. A metric: its latest finished value (the whole metric's series)
    judged against the threshold; a metric with no finished value yet is refused (409)."""
    now = at or utcnow()
    today = today or now.date()
    with ctx.atomic() as tx:
        authorize(ctx.actor, Action.RISK_MANAGE)
        risk = _get(tx.session, risk_id)
        value: float | None = None
        if risk.verification_method is None:
            raise Conflict(f"{risk_reference(risk.id)} has no verification method; set one first")
        if risk.verification_method == "check":
            if data.result is None:
                raise InvalidInput.for_field("result", "say whether the check was met or not_met")
            result = data.result
            assert risk.check_interval_days is not None
            risk.next_check_on = today + timedelta(days=risk.check_interval_days)
        else:
            if data.result is not None:
                raise InvalidInput.for_field(
                    "result", "a metric's result is computed from its latest value"
                )
            value, period = _latest_value(ctx, risk, zone, now)
            assert risk.metric_comparison is not None
            assert risk.metric_threshold is not None
            met = risk_matrix.threshold_met(
                value,
                risk.metric_comparison,  # type: ignore[arg-type]
                risk.metric_threshold,
            )
            result = "met" if met else "not_met"
            data = RiskVerify(note=data.note or f"{risk.metric_key} {period}: {value:g}")
        before = {"verification_result": risk.verification_result, "verified_at": risk.verified_at}
        risk.verification_result = result
        risk.verification_value = value
        risk.verification_note = data.note
        risk.verified_at = now
        risk.verified_by = ctx.actor.username
        risk.updated_at = now
        tx.session.flush()
        tx.audit(
            "risk",
            risk.id,
            "verify",
            before=before,
            after={
                "verification_result": result,
                "verification_value": value,
                "verified_at": now,
                "next_check_on": risk.next_check_on,
                "note": data.note,
            },
        )
        return _detail(ctx, tx.session, risk, today)


def add_mitigation(
    ctx: Context, risk_id: int, data: MitigationCreate, *, at: datetime | None = None
) -> ActionOut:
    """Open a mitigation: an action in the actions room linked ``risk:ID`` (its owner is
    notified). A closed risk takes none. A change with safety impact linking this risk
    cannot take effect while the action is unfinished."""
    with ctx.atomic() as tx:
        authorize(ctx.actor, Action.RISK_MANAGE)
        risk = _get(tx.session, risk_id)
        if risk.status == "closed":
            raise Conflict(f"{risk_reference(risk.id)} is closed; it takes no new mitigation")
        action, _ = actions.open_action(
            ctx,
            ActionCreate(
                title=data.title,
                description=data.description,
                owner_user=data.owner_user,
                owner_role=data.owner_role,
                due_on=data.due_on,
                priority=data.priority,
                links=[LinkIn(kind="risk", ref=str(risk.id))],
            ),
            at=at,
        )
        if risk.status == "open":
            risk.status = "mitigating"
        risk.updated_at = at or utcnow()
        tx.session.flush()
        tx.audit("risk", risk.id, "mitigate", after={"action_id": action.id, "status": risk.status})
        return action


def get_risk(ctx: Context, risk_id: int, *, today: date | None = None) -> RiskDetailOut:
    """One risk with its mitigations (soonest due first) and the revisions linking it."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        return _detail(ctx, session, _get(session, risk_id), today or utcnow().date())


def list_risks(
    ctx: Context, filters: RiskFilters | None = None, *, today: date | None = None
) -> list[RiskOut]:
    """Risks matching ``filters``, highest score on the chosen scale first, then newest."""
    filters = filters or RiskFilters()
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        likelihood, severity = _scale_columns(filters.scale)
        query = _filtered(select(Risk), filters).order_by(
            (likelihood * severity).desc().nulls_last(), Risk.id.desc()
        )
        rows = list(session.scalars(query))
        return _outs(session, rows, today or utcnow().date())


def heat_map(
    ctx: Context, filters: RiskFilters | None = None, *, scale: str = "inherent"
) -> HeatMapOut:
    """Counts of the risks matching ``filters`` (band and cell filters aside) in each cell
    of the 5×5 grid on ``scale``, and how many have no score on it."""
    base = (filters or RiskFilters()).model_copy(
        update={"band": None, "likelihood": None, "severity": None, "scale": scale}
    )
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        likelihood, severity = _scale_columns(base.scale)
        pairs = []
        unscored = 0
        query = _filtered(select(likelihood, severity, func.count(Risk.id)), base).group_by(
            likelihood, severity
        )
        for l_value, s_value, count in session.execute(query):
            if l_value is None or s_value is None:
                unscored += count
            else:
                pairs.extend([(l_value, s_value)] * count)
    grid = risk_matrix.heat_map(pairs)
    return HeatMapOut(
        scale=base.scale,
        rows=[
            [
                HeatCellOut(
                    likelihood=c.likelihood, severity=c.severity, band=c.band, count=c.count
                )
                for c in row
            ]
            for row in grid
        ],
        unscored=unscored,
    )


def risk_choices(ctx: Context) -> list[tuple[int, str]]:
    """(id, "RSK-12 title") of every risk a change may link (all but closed), newest first."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.IMPROVEMENT_READ)
        rows = session.execute(
            select(Risk.id, Risk.title).where(Risk.status != "closed").order_by(Risk.id.desc())
        )
        return [(i, f"{risk_reference(i)} {title}") for i, title in rows]


# --- helpers -------------------------------------------------------------------------------


def _get(session: Session, risk_id: int) -> Risk:
    risk = session.get(Risk, risk_id)
    if risk is None:
        raise NotFound(f"no risk {risk_reference(risk_id)}")
    return risk


def _check_version(risk: Risk, version: int | None) -> None:
    if version is not None and version != risk.version:
        raise Conflict(
            f"{risk_reference(risk.id)} was changed by someone else (version {risk.version}, "
            f"yours {version}); reload and retry"
        )


def _owner(session: Session, username: str) -> int:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active:
        raise InvalidInput.for_field("owner", f"no active user named {username!r}")
    return user.id


def _check(risk: Risk) -> None:
    """The rules a stored risk obeys: the 5×5 scores, and a status that matches them."""
    risk_matrix.check_assessment(
        risk.inherent_likelihood,
        risk.inherent_severity,
        risk.residual_likelihood,
        risk.residual_severity,
    )
    if risk.status != "to_assess" and risk.inherent_likelihood is None:
        raise InvalidInput.for_field(
            "inherent_likelihood", f"a risk that is {risk.status} has an inherent score"
        )
    if risk.status == "accepted" and risk.residual_likelihood is None:
        raise InvalidInput.for_field(
            "residual_likelihood", "an accepted risk states the residual risk it accepts"
        )


def _set_verification(session: Session, risk: Risk, data: Verification | None, today: date) -> None:
    for name in VERIFICATION_FIELDS:
        setattr(risk, name, None)
    if data is None:
        return
    risk.verification_method = data.method
    if data.method == "metric":
        for name in ("metric_key", "metric_comparison", "metric_threshold"):
            if getattr(data, name) is None:
                raise InvalidInput.for_field(
                    f"verification.{name}",
                    "a metric verification needs a key, a comparison and a threshold",
                )
        if session.scalar(select(Metric.id).where(Metric.key == data.metric_key)) is None:
            raise InvalidInput.for_field("verification.metric_key", f"no metric {data.metric_key}")
        risk.metric_key = data.metric_key
        risk.metric_comparison = data.metric_comparison
        risk.metric_threshold = data.metric_threshold
    else:
        if data.check_interval_days is None:
            raise InvalidInput.for_field(
                "verification.check_interval_days", "a recurring check needs an interval"
            )
        risk.check_interval_days = data.check_interval_days
        risk.next_check_on = data.next_check_on or today + timedelta(days=data.check_interval_days)
    # A new method starts unverified: the last result was of something else.
    risk.verification_result = None
    risk.verification_value = None


def _latest_value(ctx: Context, risk: Risk, zone: ZoneInfo, now: datetime) -> tuple[float, str]:
    from andon.metrics.service import metric_status

    assert risk.metric_key is not None
    series = metric_status(ctx, risk.metric_key, zone=zone, at=now)
    whole = next((s for s in series if s.line is None), None)
    if whole is None or whole.value is None or whole.period is None:
        raise Conflict(f"{risk.metric_key} has no finished value yet to verify against")
    return whole.value, whole.period


def _scale_columns(scale: str) -> tuple[Any, Any]:
    if scale == "residual":
        return Risk.residual_likelihood, Risk.residual_severity
    return Risk.inherent_likelihood, Risk.inherent_severity


def _filtered(query: Select[Any], filters: RiskFilters) -> Select[Any]:
    if filters.area:
        query = query.where(func.lower(Risk.area) == filters.area.strip().lower())
    if filters.status == "active":
        query = query.where(Risk.status != "closed")
    elif filters.status is not None:
        query = query.where(Risk.status == filters.status)
    likelihood, severity = _scale_columns(filters.scale)
    if filters.band is not None:
        floors = risk_matrix.BAND_FLOORS
        names = list(risk_matrix.BANDS)
        low = floors[filters.band]
        i = names.index(filters.band)
        high = floors[names[i + 1]] if i + 1 < len(names) else 26
        product = likelihood * severity
        query = query.where(product >= low, product < high)
    if filters.likelihood is not None:
        query = query.where(likelihood == filters.likelihood)
    if filters.severity is not None:
        query = query.where(severity == filters.severity)
    return query


def open_mitigation_counts(session: Session, risk_ids: list[int]) -> dict[int, int]:
    if not risk_ids:
        return {}
    rows = session.execute(
        select(ActionLink.ref, func.count(ActionItem.id))
        .join(ActionItem, ActionItem.id == ActionLink.action_id)
        .where(
            ActionLink.kind == "risk",
            ActionLink.ref.in_([str(i) for i in risk_ids]),
            ActionItem.status.in_(UNFINISHED),
        )
        .group_by(ActionLink.ref)
    )
    return {int(ref): int(count) for ref, count in rows}


def _outs(session: Session, risks: list[Risk], today: date) -> list[RiskOut]:
    owners = (
        dict(
            session.execute(
                select(User.id, User.username).where(User.id.in_({r.owner_user_id for r in risks}))
            ).all()
        )
        if risks
        else {}
    )
    unfinished = open_mitigation_counts(session, [r.id for r in risks])
    out = []
    for r in risks:
        inherent = _score(r.inherent_likelihood, r.inherent_severity)
        residual = _score(r.residual_likelihood, r.residual_severity)
        out.append(
            RiskOut(
                id=r.id,
                reference=risk_reference(r.id),
                title=r.title,
                area=r.area,
                cause=r.cause,
                consequence=r.consequence,
                inherent_likelihood=r.inherent_likelihood,
                inherent_severity=r.inherent_severity,
                inherent_score=inherent,
                inherent_band=risk_matrix.band(inherent) if inherent else None,
                residual_likelihood=r.residual_likelihood,
                residual_severity=r.residual_severity,
                residual_score=residual,
                residual_band=risk_matrix.band(residual) if residual else None,
                owner=owners.get(r.owner_user_id, "?"),
                status=r.status,
                verification_method=r.verification_method,
                metric_key=r.metric_key,
                metric_comparison=r.metric_comparison,
                metric_threshold=r.metric_threshold,
                check_interval_days=r.check_interval_days,
                next_check_on=r.next_check_on,
                verification_state=risk_matrix.verification_state(
                    r.verification_method, r.verification_result, r.next_check_on, today
                ),
                verified_at=r.verified_at,
                verified_by=r.verified_by,
                verification_result=r.verification_result,
                verification_value=r.verification_value,
                verification_note=r.verification_note,
                review_on=r.review_on,
                review_overdue=r.review_on is not None and r.review_on < today,
                reviewed_at=r.reviewed_at,
                reviewed_by=r.reviewed_by,
                open_mitigations=unfinished.get(r.id, 0),
                created_by=r.created_by,
                created_at=r.created_at,
                updated_at=r.updated_at,
                version=r.version,
            )
        )
    return out


def _score(likelihood: int | None, severity: int | None) -> int | None:
    return likelihood * severity if likelihood is not None and severity is not None else None


def _detail(ctx: Context, session: Session, risk: Risk, today: date) -> RiskDetailOut:
    session.flush()
    (out,) = _outs(session, [risk], today)
    mitigations = actions.list_actions(
        ctx, ActionFilters(link=LinkIn(kind="risk", ref=str(risk.id)), limit=500)
    )
    documents = [
        LinkedRevision(
            number=number,
            revision=revision,
            status=status,
            title=title,
            safety_impact=bool((change or {}).get("safety_impact")),
        )
        for number, revision, status, title, change in session.execute(
            select(
                Document.number,
                DocumentRevision.number,
                DocumentRevision.status,
                DocumentRevision.title,
                DocumentRevision.change,
            )
            .join(Document, Document.id == DocumentRevision.document_id)
            .where(DocumentRevision.risk_id == risk.id)
            .order_by(Document.number, DocumentRevision.number)
        )
    ]
    return RiskDetailOut(
        **out.model_dump(),
        mitigations=mitigations,
        documents=documents,
    )


def export_xlsx(ctx: Context, filters: RiskFilters | None = None, *, today: date) -> bytes:
    """The risks matching ``filters`` (as ``list_risks`` orders them) as an XLSX workbook."""
    from andon.improvement.risk_export import risks_xlsx_bytes

    return risks_xlsx_bytes(list_risks(ctx, filters, today=today), today)
