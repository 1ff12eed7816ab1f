"""Risk register endpoints: list with filters, heat map, XLSX export, add, read, edit,
review, verify and open a mitigation."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from andon.actions.schemas import ActionOut
from andon.api.deps import Ctx, get_settings
from andon.api.problems import ERROR_RESPONSES
from andon.core.clock import to_local, utcnow
from andon.core.config import Settings
from andon.core.schemas import MAX_ID
from andon.improvement import risks
from andon.improvement.risk_schemas import (
    HeatMapOut,
    MitigationCreate,
    RiskCreate,
    RiskDetailOut,
    RiskFilters,
    RiskOut,
    RiskReview,
    RiskUpdate,
    RiskVerify,
)

router = APIRouter(prefix="/api/v1", tags=["risks"], responses=ERROR_RESPONSES)
RiskId = Annotated[int, Path(ge=1, le=MAX_ID, description="Risk id (RSK-12 is 12).")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _today(settings: Settings) -> date:
    return to_local(utcnow(), settings.zone).date()


def _filters(
    area: Annotated[str | None, Query(max_length=60, description="Area code or name.")] = None,
    status: Annotated[
        Literal["to_assess", "open", "mitigating", "accepted", "closed", "active"] | None,
        Query(description="active = every status but closed."),
    ] = None,
    band: Annotated[Literal["low", "medium", "high", "extreme"] | None, Query()] = None,
    scale: Annotated[
        Literal["inherent", "residual"], Query(description="Which scores band and cell read.")
    ] = "inherent",
    likelihood: Annotated[int | None, Query(ge=1, le=5, description="A heat-map cell.")] = None,
    severity: Annotated[int | None, Query(ge=1, le=5, description="A heat-map cell.")] = None,
) -> RiskFilters:
    return RiskFilters(
        area=area,
        status=status,
        band=band,
        scale=scale,
        likelihood=likelihood,
        severity=severity,
    )


Filters = Annotated[RiskFilters, Depends(_filters)]


@router.get("/risks", response_model=list[RiskOut], summary="List risks, highest score first")
def list_risks(ctx: Ctx, settings: SettingsDep, filters: Filters) -> object:
    return risks.list_risks(ctx, filters, today=_today(settings))


@router.get("/risks/heatmap", response_model=HeatMapOut, summary="Counts of risks in the 5×5 grid")
def heat_map(ctx: Ctx, filters: Filters) -> object:
    """Rows from likelihood 5 down to 1, severity 1..5 in each; `scale` picks inherent or
    residual scores; the area and status filters apply."""
    return risks.heat_map(ctx, filters, scale=filters.scale)


@router.get(
    "/risks.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "The register as a workbook."}},
    summary="The risk register as XLSX",
)
def export_risks(ctx: Ctx, settings: SettingsDep, filters: Filters) -> Response:
    return Response(
        risks.export_xlsx(ctx, filters, today=_today(settings)),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="risk-register.xlsx"'},
    )


@router.post("/risks", response_model=RiskDetailOut, status_code=201, summary="Add a risk")
def add_risk(ctx: Ctx, settings: SettingsDep, data: RiskCreate) -> object:
    return risks.add_risk(ctx, data, today=_today(settings))


@router.get("/risks/{id}", response_model=RiskDetailOut, summary="Read a risk")
def get_risk(ctx: Ctx, settings: SettingsDep, id: RiskId) -> object:
    """With its mitigations and the document revisions linking it."""
    return risks.get_risk(ctx, id, today=_today(settings))


@router.patch("/risks/{id}", response_model=RiskDetailOut, summary="Edit or score a risk")
def edit_risk(ctx: Ctx, settings: SettingsDep, id: RiskId, data: RiskUpdate) -> object:
    """Scores are 1..5; a value off the scale, half a pair, or a residual score worse than
    the inherent one is refused (422) naming the field."""
    return risks.edit_risk(ctx, id, data, today=_today(settings))


@router.post("/risks/{id}/review", response_model=RiskDetailOut, summary="Record a review")
def review_risk(ctx: Ctx, settings: SettingsDep, id: RiskId, data: RiskReview) -> object:
    return risks.review_risk(ctx, id, data, today=_today(settings))


@router.post("/risks/{id}/verify", response_model=RiskDetailOut, summary="Record a verification")
def verify_risk(ctx: Ctx, settings: SettingsDep, id: RiskId, data: RiskVerify) -> object:
    """A recurring check takes `result`; a metric is judged on its latest finished value."""
    return risks.verify_risk(ctx, id, data, zone=settings.zone, today=_today(settings))


@router.post(
    "/risks/{id}/mitigations",
    response_model=ActionOut,
    status_code=201,
    summary="Open a mitigation (an action linked to the risk)",
)
def add_mitigation(ctx: Ctx, id: RiskId, data: MitigationCreate) -> object:
    return risks.add_mitigation(ctx, id, data)
