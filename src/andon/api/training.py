"""Training endpoints: the matrix (JSON or XLSX), open tasks, the caller's own, adoption."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from andon.api.deps import Ctx, get_settings
from andon.api.lanes import ReportRoute
from andon.api.problems import ERROR_RESPONSES
from andon.core.config import Settings
from andon.core.schemas import MAX_ID
from andon.documents.rules import document_rules
from andon.training import adoption, due, export, matrix
from andon.training.schemas import AdoptionOut, DueTaskOut, MatrixOut

router = APIRouter(
    prefix="/api/v1/training",
    tags=["training"],
    responses=ERROR_RESPONSES,
    route_class=ReportRoute,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Setting = Annotated[Settings, Depends(get_settings)]
LineId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this line (id).")]
RoleName = Annotated[
    str | None,
    Query(max_length=32, description="People holding this role (default: the training roles)."),
]


def matrix_filter(
    line: LineId = None,
    role: RoleName = None,
    type: Annotated[str | None, Query(max_length=20, description="Document type.")] = None,
    area: Annotated[str | None, Query(max_length=20, description="Document area code.")] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="People to skip.")] = 0,
    limit: Annotated[
        int | None, Query(ge=1, le=10_000, description="People per page (default: all).")
    ] = None,
) -> matrix.MatrixFilter:
    return matrix.MatrixFilter(
        line_id=line, role=role, type=type, area=area, offset=offset, limit=limit
    )


Filters = Annotated[matrix.MatrixFilter, Depends(matrix_filter)]


@router.get("/matrix", response_model=MatrixOut, summary="The training matrix")
def get_matrix(ctx: Ctx, settings: Setting, filters: Filters) -> object:
    """People × effective documents, a state code per cell. Needs training.read."""
    return matrix.training_matrix(ctx, filters, rules=document_rules(settings)).to_json()


@router.get(
    "/matrix.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "The matrix as a workbook."}},
    summary="The training matrix as XLSX",
)
def get_matrix_xlsx(ctx: Ctx, settings: Setting, filters: Filters) -> Response:
    found = matrix.training_matrix(ctx, filters, rules=document_rules(settings))
    return Response(
        export.matrix_xlsx_bytes(found),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="training-matrix.xlsx"'},
    )


@router.get("/due", response_model=list[DueTaskOut], summary="Open training tasks")
def get_due(
    ctx: Ctx,
    settings: Setting,
    user: Annotated[str | None, Query(max_length=64, description="Only this username.")] = None,
    overdue: Annotated[bool, Query(description="Only tasks past due.")] = False,
    line: LineId = None,
    role: RoleName = None,
    document: Annotated[str | None, Query(max_length=40, description="Document number.")] = None,
) -> object:
    """Open tasks by due date. Your own (``user`` = you) need no permission; others' need
    training.read."""
    filters = due.DueFilter(
        username=user, line_id=line, role=role, number=document, overdue_only=overdue
    )
    return [t.to_json() for t in due.due_tasks(ctx, filters, rules=document_rules(settings))]


@router.get("/me", response_model=list[DueTaskOut], summary="My open training tasks")
def get_mine(ctx: Ctx, settings: Setting) -> object:
    return [t.to_json() for t in due.my_tasks(ctx, rules=document_rules(settings))]


@router.get(
    "/adoption/{number}", response_model=AdoptionOut, summary="Adoption curves of a revision"
)
def get_adoption(
    ctx: Ctx,
    number: Annotated[str, Path(max_length=40, description="Document number.")],
    revision: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Default: the effective revision.")
    ] = None,
) -> object:
    return adoption.change_adoption(ctx, number, revision).to_json()
