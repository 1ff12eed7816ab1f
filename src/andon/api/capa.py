"""CAPA endpoints: list, open, read, link a change, check (recorded or not), close, cancel."""

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query

from andon.api.deps import Ctx, get_settings
from andon.api.problems import ERROR_RESPONSES
from andon.core.config import Settings
from andon.improvement import capa as service
from andon.improvement.capa_schemas import (
    CapaCheck,
    CapaCreate,
    CapaFinish,
    CapaOut,
    ChangeLink,
    CheckOut,
    CheckRequest,
)

router = APIRouter(prefix="/api/v1", tags=["capa"], responses=ERROR_RESPONSES)
CapaId = Annotated[int, Path(ge=1, le=2_147_483_647, description="CAPA id.")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


@router.get("/capa", response_model=list[CapaOut], summary="List CAPAs, newest first")
def list_capas(
    ctx: Ctx,
    status: Annotated[
        Literal["unfinished", "done", "cancelled"] | None,
        Query(description="unfinished = open or in progress."),
    ] = None,
    rca: Annotated[int | None, Query(ge=1, description="Raised from this RCA.")] = None,
) -> object:
    return service.list_capas(ctx, status=status, rca_id=rca)


@router.post("/capa", response_model=CapaOut, status_code=201, summary="Open a CAPA")
def open_capa(ctx: Ctx, data: CapaCreate) -> object:
    return service.open_capa(ctx, data)


@router.post(
    "/capa/check",
    response_model=CheckOut,
    summary="Check any metric's effectiveness around a date, recorded nowhere",
)
def check_metric(ctx: Ctx, settings: SettingsDep, data: CheckRequest) -> object:
    return service.check_metric(
        ctx,
        data.metric_key,
        effective_on=data.effective_on,
        zone=settings.zone,
        window_days=data.window_days,
        line=data.metric_line,
    )


@router.get("/capa/{id}", response_model=CapaOut, summary="Read a CAPA")
def get_capa(ctx: Ctx, id: CapaId) -> object:
    return service.get_capa(ctx, id)


@router.get("/capa/{id}/checks", response_model=list[CheckOut], summary="A CAPA's checks")
def list_checks(ctx: Ctx, id: CapaId) -> object:
    return service.list_checks(ctx, id)


@router.post("/capa/{id}/changes", response_model=CapaOut, status_code=201, summary="Link a change")
def link_change(ctx: Ctx, id: CapaId, data: ChangeLink) -> object:
    return service.link_change(ctx, id, data)


@router.post(
    "/capa/{id}/check",
    response_model=CheckOut,
    status_code=201,
    summary="Run the CAPA's effectiveness check and record it",
)
def run_check(
    ctx: Ctx,
    settings: SettingsDep,
    id: CapaId,
    data: Annotated[CapaCheck | None, Body()] = None,
) -> object:
    data = data or CapaCheck()
    return service.run_check(
        ctx,
        id,
        zone=settings.zone,
        metric_key=data.metric_key,
        effective_on=data.effective_on,
        window_days=data.window_days,
    )


@router.post("/capa/{id}/close", response_model=CapaOut, summary="Close, on an effective check")
def close_capa(ctx: Ctx, id: CapaId, data: CapaFinish) -> object:
    return service.close_capa(ctx, id, note=data.note)


@router.post("/capa/{id}/cancel", response_model=CapaOut, summary="Cancel, saying why")
def cancel_capa(ctx: Ctx, id: CapaId, data: CapaFinish) -> object:
    return service.cancel_capa(ctx, id, note=data.note)
