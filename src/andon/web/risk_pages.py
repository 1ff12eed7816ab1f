"""Risk register pages: the register with its filters and 5×5 heat map, a new risk, one
risk (scores, mitigations, verification, review, the documents linking it), the XLSX."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from andon.actions.schemas import PRIORITIES
from andon.core.clock import to_local, utcnow
from andon.core.config import Settings
from andon.core.errors import AndonError
from andon.core.permissions import Action, Role, authorize
from andon.core.uow import Context
from andon.improvement import risk_matrix, risks
from andon.improvement.risk_models import RISK_STATUSES
from andon.improvement.risk_schemas import (
    MitigationCreate,
    RiskCreate,
    RiskFilters,
    RiskReview,
    RiskUpdate,
    RiskVerify,
)
from andon.web import csrf, flash
from andon.web.forms import FormInvalid, build, errors_from, read_form, refusal, text
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS_OPTIONS = [(s, s.replace("_", " ")) for s in RISK_STATUSES]
SCORE_OPTIONS = [("", "unknown")] + [(str(i), str(i)) for i in risk_matrix.SCALE]
METHOD_OPTIONS = [
    ("", "none"),
    ("metric", "a metric against a threshold"),
    ("check", "a recurring check"),
]
COMPARISON_OPTIONS = [("", "—")] + [(k, v) for k, v in risk_matrix.COMPARISONS.items()]
ROLE_OPTIONS = [(r.value, r.value.replace("_", " ")) for r in Role]
RISK_FIELDS = (
    "title",
    "area",
    "cause",
    "consequence",
    "inherent_likelihood",
    "inherent_severity",
    "residual_likelihood",
    "residual_severity",
    "owner",
    "status",
    "method",
    "metric_key",
    "metric_comparison",
    "metric_threshold",
    "check_interval_days",
    "review_on",
)


def _today(request: Request) -> date:
    settings: Settings = request.app.state.settings
    return to_local(utcnow(), settings.zone).date()


def _filters(request: Request) -> RiskFilters:
    q = request.query_params
    data: dict[str, Any] = {
        name: q.get(name) or None for name in ("area", "status", "band", "likelihood", "severity")
    }
    data["scale"] = q.get("scale") if q.get("scale") in ("inherent", "residual") else "inherent"
    try:
        return RiskFilters.model_validate(data)
    except ValueError:
        return RiskFilters(scale=data["scale"])


def _query(filters: RiskFilters, **changes: Any) -> str:
    values = {**filters.model_dump(exclude_none=True), **changes}
    return urlencode({k: v for k, v in values.items() if v not in (None, "")})


@router.get("/risks")
def list_page(request: Request, ctx: PageCtx) -> Response:
    filters = _filters(request)
    today = _today(request)
    rows = risks.list_risks(ctx, filters, today=today)
    grid = risks.heat_map(ctx, filters, scale=filters.scale)
    return render(
        request,
        "risks/list.html",
        {
            "section": "improvement",
            "rows": rows,
            "grid": grid,
            "filters": filters,
            "query": lambda **changes: _query(filters, **changes),
            "statuses": [("", "Any"), ("active", "active (not closed)"), *STATUS_OPTIONS],
            "bands": [("", "Any")] + [(b, b) for b in risk_matrix.BANDS],
            "can_manage": ctx.actor.can(Action.RISK_MANAGE),
        },
    )


@router.get("/risks.xlsx")
def export(request: Request, ctx: PageCtx) -> Response:
    data = risks.export_xlsx(ctx, _filters(request), today=_today(request))
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="risk-register.xlsx"'},
    )


def _new_page(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "risks/new.html",
        {
            "section": "improvement",
            "values": values,
            "errors": errors or {},
            **_options(),
        },
        status_code=status_code,
    )


def _options() -> dict[str, Any]:
    return {
        "statuses": STATUS_OPTIONS,
        "scores": SCORE_OPTIONS,
        "methods": METHOD_OPTIONS,
        "comparisons": COMPARISON_OPTIONS,
        "roles": ROLE_OPTIONS,
        "priorities": [(p, p) for p in PRIORITIES],
    }


@router.get("/risks/new")
def new_page(request: Request, ctx: PageCtx) -> Response:
    authorize(ctx.actor, Action.RISK_MANAGE)
    return _new_page(request, {"owner": ctx.actor.username if ctx.actor.user_id else ""})


@router.post("/risks/new")
def create(request: Request, ctx: PageCtx, form: Form) -> Response:
    values = {name: text(form, name) for name in RISK_FIELDS}
    try:
        data = _risk_data(values)
        risk = risks.add_risk(ctx, build(RiskCreate, data), today=_today(request))
    except FormInvalid as exc:
        return _new_page(request, values, exc.errors, 422)
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        return _new_page(request, values, errors_from(exc), exc.status)
    response = RedirectResponse(f"/risks/{risk.id}", status_code=303)
    flash.put(request, response, f"Added {risk.reference}.")
    return response


def _risk_data(values: dict[str, str]) -> dict[str, Any]:
    """Form strings → the fields of RiskCreate (or RiskUpdate, whose form shows every field
    filled in): empty is unknown (None), which an edit stores as cleared."""
    data: dict[str, Any] = {}
    for name in ("title", "area", "cause", "consequence", "owner", "status", "review_on"):
        data[name] = values.get(name) or (None if name not in ("cause", "consequence") else "")
    for name in risks.SCORES:
        raw = values.get(name, "")
        data[name] = int(raw) if raw.lstrip("-").isdigit() else (raw or None)
    method = values.get("method", "")
    if method:
        data["verification"] = {
            "method": method,
            "metric_key": values.get("metric_key") or None,
            "metric_comparison": values.get("metric_comparison") or None,
            "metric_threshold": values.get("metric_threshold") or None,
            "check_interval_days": values.get("check_interval_days") or None,
        }
    else:
        data["verification"] = None
    return data


def _detail_page(
    request: Request,
    ctx: Context,
    risk_id: int,
    form_name: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    risk = risks.get_risk(ctx, risk_id, today=_today(request))
    current = {
        "title": risk.title,
        "area": risk.area or "",
        "cause": risk.cause,
        "consequence": risk.consequence,
        "owner": risk.owner,
        "status": risk.status,
        "method": risk.verification_method or "",
        "metric_key": risk.metric_key or "",
        "metric_comparison": risk.metric_comparison or "",
        "metric_threshold": "" if risk.metric_threshold is None else f"{risk.metric_threshold:g}",
        "check_interval_days": str(risk.check_interval_days or ""),
        "review_on": risk.review_on.isoformat() if risk.review_on else "",
        **{name: str(getattr(risk, name) or "") for name in risks.SCORES},
    }
    return render(
        request,
        "risks/detail.html",
        {
            "section": "improvement",
            "risk": risk,
            "current": current,
            "may_manage": ctx.actor.can(Action.RISK_MANAGE),
            "form_errors": {form_name: errors or {}},
            "form_values": {form_name: values or {}},
            "verification_text": _verification_text(risk),
            "today": _today(request),
            **_options(),
        },
        status_code=status_code,
    )


def _verification_text(risk: Any) -> str:
    from andon.improvement.risk_export import verification_text

    return verification_text(risk)


@router.get("/risks/{risk_id}")
def detail_page(request: Request, ctx: PageCtx, risk_id: int) -> Response:
    return _detail_page(request, ctx, risk_id)


def _done(request: Request, risk_id: int, message: str) -> Response:
    return flash.redirect(request, f"/risks/{risk_id}", message)


def _refused(
    request: Request,
    ctx: Context,
    risk_id: int,
    form_name: str,
    exc: Exception,
    values: dict[str, str],
) -> Response:
    errors, status = refusal(exc)
    return _detail_page(request, ctx, risk_id, form_name, errors, values, status)


@router.post("/risks/{risk_id}/edit")
def edit(request: Request, ctx: PageCtx, risk_id: int, form: Form) -> Response:
    values = {name: text(form, name) for name in (*RISK_FIELDS, "version", "reason")}
    try:
        data = _risk_data(values)
        if data["status"] is None:
            del data["status"]  # "(from the scores)": keep the status it has
        data["version"] = int(values["version"]) if values["version"].isdigit() else 0
        data["reason"] = values["reason"] or None
        risks.edit_risk(ctx, risk_id, build(RiskUpdate, data), today=_today(request))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, risk_id, "edit", exc, values)
    return _done(request, risk_id, "Risk saved.")


@router.post("/risks/{risk_id}/review")
def review(request: Request, ctx: PageCtx, risk_id: int, form: Form) -> Response:
    values = {name: text(form, name) for name in ("next_review_on", "note", "version")}
    data: dict[str, Any] = {
        "next_review_on": values["next_review_on"] or None,
        "note": values["note"],
        "version": int(values["version"]) if values["version"].isdigit() else None,
    }
    try:
        risks.review_risk(ctx, risk_id, build(RiskReview, data), today=_today(request))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, risk_id, "review", exc, values)
    return _done(request, risk_id, "Review recorded.")


@router.post("/risks/{risk_id}/verify")
def verify(request: Request, ctx: PageCtx, risk_id: int, form: Form) -> Response:
    values = {name: text(form, name) for name in ("result", "note")}
    settings: Settings = request.app.state.settings
    try:
        risks.verify_risk(
            ctx,
            risk_id,
            build(RiskVerify, {"result": values["result"] or None, "note": values["note"]}),
            zone=settings.zone,
            today=_today(request),
        )
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, risk_id, "verify", exc, values)
    return _done(request, risk_id, "Verification recorded.")


@router.post("/risks/{risk_id}/mitigations")
def mitigate(request: Request, ctx: PageCtx, risk_id: int, form: Form) -> Response:
    names = ("title", "owner_user", "owner_role", "due_on", "priority")
    values = {name: text(form, name) for name in names}
    data = {k: v or None for k, v in values.items()}
    data["priority"] = values["priority"] or "normal"
    try:
        action = risks.add_mitigation(ctx, risk_id, build(MitigationCreate, data))
    except (FormInvalid, AndonError) as exc:
        return _refused(request, ctx, risk_id, "mitigate", exc, values)
    return _done(request, risk_id, f"Opened mitigation action #{action.id}.")
