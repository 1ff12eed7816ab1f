"""Process definition endpoints: publish (JSON or YAML), read versions, export, switch on/off."""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from andon.api.deps import Ctx
from andon.api.lanes import FloorRoute
from andon.api.problems import ERROR_RESPONSES, relocated
from andon.api.work import decode_text, media_type, raw_body
from andon.core.errors import FieldError, InvalidInput
from andon.core.schemas import MAX_ID, Input, Output, Reason
from andon.processes import service
from andon.processes.bpmn import export_bpmn
from andon.processes.spec import ProcessSpec, parse_spec, spec_document
from andon.processes.spec_yaml import dump_spec_yaml, load_spec_yaml
from andon.work.escalations import set_escalation_active

router = APIRouter(
    prefix="/api/v1", tags=["processes"], responses=ERROR_RESPONSES, route_class=FloorRoute
)
ProcessKey = Annotated[
    str, Path(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="Process key, e.g. assembly.")
]
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
EXPORT_TYPES = {
    "yaml": "application/yaml",
    "json": "application/json",
    "bpmn": "application/xml",
}


class ProcessPublish(Input):
    definition: dict[str, Any] = Field(description="The definition document (docs/processes.md).")
    reason: Reason

    @field_validator("definition")
    @classmethod
    def _no_nul_inside(cls, value: dict[str, Any]) -> dict[str, Any]:
        # Nested text reaches PostgreSQL too, which cannot store NUL.
        if _holds_nul(value):
            raise PydanticCustomError("value_error", "must not contain NUL characters")
        return value


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


class ActiveSet(Input):
    reason: Reason


class EscalationSwitch(Input):
    active: bool = Field(description="false: no escalation for any item of this process.")
    reason: Reason


class ProcessOut(Output):
    id: int
    key: str
    name: str
    current_version: int
    active: bool
    escalation_active: bool
    created_at: datetime
    updated_at: datetime
    version: int


class ProcessDetailOut(ProcessOut):
    definition: dict[str, Any] = Field(description="The current version's definition.")


class VersionOut(Output):
    number: int
    published_at: datetime
    published_by: str
    reason: str


class VersionDetailOut(VersionOut):
    definition: dict[str, Any]
    source: str = Field(description="The text as published (YAML or JSON).")


class PublishedOut(BaseModel):
    process: ProcessOut
    version: VersionOut
    created: bool = Field(description="True when this published a new process.")


class EscalationSwitchOut(BaseModel):
    key: str
    escalation_active: bool
    items_recomputed: int


@router.get("/processes", response_model=list[ProcessOut], summary="List processes")
def list_processes(ctx: Ctx) -> object:
    return service.list_processes(ctx)


@router.post(
    "/processes",
    response_model=PublishedOut,
    status_code=201,
    summary="Publish a definition as the next version of its process",
    description=(
        "Send JSON `{definition, reason}`, or the definition itself as YAML "
        "(`Content-Type: application/yaml`) with `?reason=`. Errors name the field's path; "
        "for YAML their message starts with the line, e.g. `line 28: unknown stage 'plam'`."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": ProcessPublish.model_json_schema()},
                **{t: {"schema": {"type": "string"}} for t in YAML_TYPES},
            },
        }
    },
)
def publish_process(
    request: Request,
    ctx: Ctx,
    body: Annotated[bytes, Depends(raw_body)],
    reason: Annotated[
        str | None, Query(max_length=2000, description="Why; required with a YAML body.")
    ] = None,
) -> object:
    kind = media_type(request)
    if kind == "application/json":
        spec, why, source = _from_json(body, reason)
    elif kind in YAML_TYPES:
        spec, why, source = _from_yaml(decode_text(body), reason)
    else:
        raise HTTPException(415, f"send application/json or {', '.join(YAML_TYPES)}")
    published = service.publish(ctx, spec, reason=why, source=source)
    return {
        "process": published.process,
        "version": published.version,
        "created": published.created,
    }


def _from_json(body: bytes, reason: str | None) -> tuple[ProcessSpec, str, str]:
    try:
        data = ProcessPublish.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    if reason is not None:
        raise _query_reason("with a JSON body, give the reason in the body")
    try:
        spec = parse_spec(data.definition)
    except InvalidInput as exc:
        raise relocated(exc, "definition") from None
    return spec, data.reason, json.dumps(data.definition, indent=2, ensure_ascii=False)


def _from_yaml(text: str, reason: str | None) -> tuple[ProcessSpec, str, str]:
    if reason is None or not reason.strip():
        raise _query_reason("say why in ?reason= when publishing YAML")
    try:
        spec = load_spec_yaml(text)
    except InvalidInput as exc:
        raise relocated(exc) from None
    return spec, reason.strip(), text


def _query_reason(msg: str) -> InvalidInput:
    return InvalidInput(f"reason: {msg}", [FieldError(("reason",), msg)], source="query")


@router.get(
    "/processes/{key}",
    response_model=ProcessDetailOut,
    summary="Read a process with its current definition",
)
def get_process(ctx: Ctx, key: ProcessKey) -> object:
    process, version, _ = service.get_version(ctx, key)
    return {**ProcessOut.model_validate(process).model_dump(), "definition": version.spec}


@router.get(
    "/processes/{key}/versions",
    response_model=list[VersionOut],
    summary="Versions of a process, newest first",
)
def list_versions(ctx: Ctx, key: ProcessKey) -> object:
    return service.list_versions(ctx, key)


@router.get(
    "/processes/{key}/versions/{number}",
    response_model=VersionDetailOut,
    summary="Read one version with its definition and the text it was published from",
)
def get_version(ctx: Ctx, key: ProcessKey, number: Annotated[int, Path(ge=1, le=MAX_ID)]) -> object:
    _, version, _ = service.get_version(ctx, key, number)
    return {
        **VersionOut.model_validate(version).model_dump(),
        "definition": version.spec,
        "source": version.source,
    }


@router.get(
    "/processes/{key}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The definition as YAML, JSON or BPMN 2.0 XML (a download).",
            "content": {
                "application/yaml": {"schema": {"type": "object"}},
                "application/json": {"schema": {"type": "object"}},
                "application/xml": {"schema": {"type": "string"}},
            },
        }
    },
    summary="Export a version (the current one by default)",
)
def export_process(
    ctx: Ctx,
    key: ProcessKey,
    fmt: Annotated[Literal["yaml", "json", "bpmn"], Query(alias="format")] = "yaml",
    number: Annotated[int | None, Query(alias="version", ge=1, le=MAX_ID)] = None,
) -> Response:
    process, version, spec = service.get_version(ctx, key, number)
    if fmt == "bpmn":
        content = export_bpmn(spec)
    elif fmt == "json":
        content = json.dumps(spec_document(spec), indent=2, ensure_ascii=False) + "\n"
    else:
        content = dump_spec_yaml(spec)
    extension = "bpmn" if fmt == "bpmn" else fmt
    filename = f"{process.key}-v{version.number}.{extension}"
    return Response(
        content,
        media_type=EXPORT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/processes/{key}/deactivate",
    response_model=ProcessOut,
    summary="Deactivate: no new items; running ones carry on",
)
def deactivate_process(ctx: Ctx, key: ProcessKey, data: ActiveSet) -> object:
    return service.set_active(ctx, key, False, reason=data.reason)


@router.post("/processes/{key}/activate", response_model=ProcessOut, summary="Reactivate")
def activate_process(ctx: Ctx, key: ProcessKey, data: ActiveSet) -> object:
    return service.set_active(ctx, key, True, reason=data.reason)


@router.post(
    "/processes/{key}/escalation",
    response_model=EscalationSwitchOut,
    summary="Switch the process's escalation on or off; open items follow at once",
)
def switch_escalation(ctx: Ctx, key: ProcessKey, data: EscalationSwitch) -> object:
    count = set_escalation_active(ctx, key, data.active, reason=data.reason)
    return {"key": key, "escalation_active": data.active, "items_recomputed": count}
