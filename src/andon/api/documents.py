"""Document endpoints: list, search, write, read, redline, sign, revise, withdraw, attach."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Path, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from andon.api.deps import Ctx, attach_upload, get_settings
from andon.api.problems import ERROR_RESPONSES, relocated
from andon.api.work import decode_text, file_download, media_type, raw_body
from andon.core.clock import to_local, utcnow
from andon.core.config import Settings
from andon.core.errors import FieldError, InvalidInput
from andon.core.schemas import MAX_ID
from andon.documents import attachments, changes, queries, search, service, signoffs
from andon.documents.markdown_io import check_exportable
from andon.documents.printing import pdf_bytes, print_html
from andon.documents.rules import DocumentRules, document_rules
from andon.documents.schemas import (
    AcknowledgeIn,
    ApproveIn,
    AttachmentOut,
    DocumentIn,
    DocumentRowOut,
    DraftIn,
    MarkdownIn,
    ObsoleteIn,
    OutcomeOut,
    PlanIn,
    RedlineOut,
    RejectIn,
    ReviewIn,
    ReviseIn,
    RevisionOut,
    SearchHitOut,
    Status,
    SubmitIn,
)

router = APIRouter(prefix="/api/v1", tags=["documents"], responses=ERROR_RESPONSES)

Number = Annotated[
    str,
    Path(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="E.g. SOP-ASM-001."),
]
Revision = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="Default: the effective, else the newest.")
]
MARKDOWN = "text/markdown"


async def rules(settings: Annotated[Settings, Depends(get_settings)]) -> DocumentRules:
    return document_rules(settings)


Rules = Annotated[DocumentRules, Depends(rules)]

# --- reading -------------------------------------------------------------------------------


@router.get("/documents", response_model=list[DocumentRowOut], summary="List documents")
def list_documents(
    ctx: Ctx,
    rules: Rules,
    type: Annotated[str | None, Query(max_length=20, description="SOP, WI, checklist...")] = None,
    status: Annotated[Status | None, Query(description="Document or newest revision.")] = None,
    area: Annotated[str | None, Query(max_length=20, description="Area code.")] = None,
    line_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    owner: Annotated[str | None, Query(max_length=64, description="Username.")] = None,
    review_due_by: Annotated[
        date | None, Query(description="Next periodic review on or before.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
) -> object:
    where = queries.DocumentFilter(type, status, area, line_id, owner, review_due_by)
    found = queries.list_documents(ctx, where, limit=limit, rules=rules)
    return [row.to_json() for row in found]


@router.get(
    "/documents/search",
    response_model=list[SearchHitOut],
    summary="Search the effective revisions (every word must match; prefixes count)",
)
def search_documents(
    ctx: Ctx,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Words to find.")],
    type: Annotated[str | None, Query(max_length=20)] = None,
    area: Annotated[str | None, Query(max_length=20)] = None,
    line_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    owner: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> object:
    hits = search.search_documents(
        ctx, q, type=type, area=area, line_id=line_id, owner=owner, limit=limit
    )
    return [hit.to_json() for hit in hits]


@router.get(
    "/documents/attachments/{id}",
    response_class=Response,
    responses={
        200: {
            "description": "The file, as a download.",
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}} for t in attachments.ALLOWED
            },
        }
    },
    summary="Download a document's attachment",
)
def download_attachment(
    ctx: Ctx,
    id: Annotated[int, Path(ge=1, le=MAX_ID)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    attachment, data = attachments.read_attachment(ctx, id, settings.data_dir)
    return file_download(data, attachment.filename, attachment.content_type)


@router.get(
    "/documents/{number}",
    response_model=RevisionOut,
    summary="Read a revision with its change record and signatures",
)
def show_document(ctx: Ctx, number: Number, rules: Rules, revision: Revision = None) -> object:
    return queries.show(ctx, number, revision, rules=rules).to_json()


@router.get(
    "/documents/{number}/markdown",
    response_class=Response,
    responses={200: {"description": "The revision's Markdown file.", "content": {MARKDOWN: {}}}},
    summary="Export a revision as Markdown (the file it was imported from, byte for byte)",
)
def export_markdown(ctx: Ctx, number: Number, revision: Revision = None) -> Response:
    text = queries.export_markdown(ctx, number, revision)
    return Response(text, media_type=f"{MARKDOWN}; charset=utf-8")


@router.get(
    "/documents/{number}/pdf",
    response_class=Response,
    responses={200: {"description": "The revision as PDF.", "content": {"application/pdf": {}}}},
    summary="A revision as PDF: content, signatures, 'uncontrolled when printed' on every page",
)
def export_pdf(ctx: Ctx, number: Number, rules: Rules, revision: Revision = None) -> Response:
    view = queries.show(ctx, number, revision, rules=rules)
    printed_at = to_local(utcnow(), rules.zone).strftime("%Y-%m-%d %H:%M %Z")
    body = pdf_bytes(print_html(view, rules.zone, printed_at=printed_at))
    filename = f"{view.document.number}-rev{view.revision.number}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/documents/{number}/diff",
    response_model=RedlineOut,
    summary="Redline from one revision to another: sections, safety notes and steps",
)
def diff_revisions(
    ctx: Ctx,
    number: Number,
    old: Annotated[int, Query(alias="from", ge=1, le=MAX_ID, description="Older revision.")],
    new: Annotated[int, Query(alias="to", ge=1, le=MAX_ID, description="Newer revision.")],
) -> object:
    return queries.diff(ctx, number, old, new).to_json()


# --- writing -------------------------------------------------------------------------------


@router.post(
    "/documents",
    response_model=OutcomeOut,
    status_code=201,
    summary="Write a document from structured data (a new one, or the named one's next draft)",
)
def create_document(ctx: Ctx, data: DocumentIn, rules: Rules) -> object:
    file = data.to_file()
    with _located_in_document():
        # The same check a page's form gets: what is stored exports as Markdown and reads back.
        check_exportable(file)
    plan = data.plan.to_dict() if data.plan else None
    return service.write_file(ctx, file, stated=data.stated(), plan=plan, rules=rules).to_json()


@router.post(
    "/documents/import",
    response_model=OutcomeOut,
    status_code=201,
    summary="Import a Markdown file (a new document, or the named one's next draft)",
    description=(
        'The body is the file as `text/markdown`, or JSON `{"markdown": "..."}`. '
        "The front matter names `type`, `title`, `owner` and optionally `number`, `area`, "
        "`review_interval_months`, and for a change `reason`, `safety_impact`, `training`, "
        "`risk` (a risk register reference, `RSK-12`). Errors name the field and the line."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                MARKDOWN: {"schema": {"type": "string"}},
                "application/json": {"schema": MarkdownIn.model_json_schema()},
            },
        }
    },
)
def import_markdown(
    request: Request, ctx: Ctx, rules: Rules, body: Annotated[bytes, Depends(raw_body)]
) -> object:
    kind = media_type(request)
    prefix: tuple[str, ...] = ()
    if kind == MARKDOWN:
        text = decode_text(body)
    elif kind == "application/json":
        text, prefix = _markdown_member(body), ("markdown",)
    else:
        raise HTTPException(415, f'send the file as {MARKDOWN} or JSON {{"markdown": ...}}')
    try:
        return service.import_markdown(ctx, text, rules=rules).to_json()
    except InvalidInput as exc:
        # Every path of a file's refusal lies in the body, whatever its name (a front-matter
        # field may share a query parameter's name).
        raise relocated(exc, *prefix, source="body") from None


def _markdown_member(body: bytes) -> str:
    try:
        return MarkdownIn.model_validate_json(body).markdown
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None


@router.put(
    "/documents/{number}/draft",
    response_model=OutcomeOut,
    summary="Rewrite the open draft (409 if it changed since `version`, or is not a draft)",
)
def save_draft(ctx: Ctx, number: Number, data: DraftIn, rules: Rules) -> object:
    file = data.to_file()
    with _located_in_document():
        check_exportable(file)
    plan = data.plan.to_dict() if data.plan else None
    outcome = service.save_draft(
        ctx, number, file, version=data.version, stated=data.stated(), plan=plan, rules=rules
    )
    return outcome.to_json()


@contextmanager
def _located_in_document() -> Iterator[None]:
    """Put a Markdown check's paths where the structured body holds them."""
    try:
        yield
    except InvalidInput as exc:
        errors = [FieldError(_body_loc(e.loc), e.msg, e.type) for e in exc.errors]
        raise InvalidInput(exc.detail, errors, source="body") from None


CHANGE_FIELDS = ("reason", "safety_impact", "training", "risk")


def _body_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    if loc[:1] == ("front_matter",):
        name = loc[1] if len(loc) > 1 else ""
        return ("change", *loc[1:]) if name in CHANGE_FIELDS else loc[1:]
    return ("content", *loc)


# --- change control ------------------------------------------------------------------------


@router.post(
    "/documents/{number}/submit",
    response_model=OutcomeOut,
    summary="Send the draft to review; with `password` the author also signs it",
)
def submit(ctx: Ctx, number: Number, data: SubmitIn, rules: Rules) -> object:
    return service.submit(
        ctx, number, effective_on=data.effective_on, password=data.password, rules=rules
    ).to_json()


@router.post(
    "/documents/{number}/approve",
    response_model=OutcomeOut,
    summary="Sign an approval (password re-entered); the last one approves the revision",
    description=(
        "401 with `password` at fault when the password is wrong (nothing is signed); 403 for "
        "a role the revision does not need, or the author approving their own revision; 409 "
        "for a second signature by the same person."
    ),
)
def approve(ctx: Ctx, number: Number, data: ApproveIn, rules: Rules) -> object:
    return service.approve(
        ctx, number, data.password, role=data.role, effective_on=data.effective_on, rules=rules
    ).to_json()


@router.post(
    "/documents/{number}/reject",
    response_model=OutcomeOut,
    summary="Send the revision in review back to draft, signed, with a comment",
)
def reject(ctx: Ctx, number: Number, data: RejectIn, rules: Rules) -> object:
    return service.reject(
        ctx, number, data.password, data.comment, role=data.role, rules=rules
    ).to_json()


@router.post(
    "/documents/{number}/acknowledge",
    response_model=OutcomeOut,
    summary="Acknowledge having read the effective revision (an e-signature)",
)
def acknowledge(ctx: Ctx, number: Number, data: AcknowledgeIn) -> object:
    return signoffs.acknowledge(ctx, number, data.password, answers=data.answers).to_json()


@router.post(
    "/documents/{number}/review",
    response_model=OutcomeOut,
    summary="Periodic review: confirm the revision in force, or start a change",
)
def review(ctx: Ctx, number: Number, data: ReviewIn, rules: Rules) -> object:
    return signoffs.review(
        ctx, number, data.password, data.outcome, comment=data.comment, rules=rules
    ).to_json()


@router.post(
    "/documents/{number}/revise",
    response_model=OutcomeOut,
    status_code=201,
    summary="Start a new draft from the effective revision, with its change record",
)
def revise(ctx: Ctx, number: Number, data: ReviseIn, rules: Rules) -> object:
    return service.revise(
        ctx,
        number,
        reason=data.reason,
        safety_impact=data.safety_impact,
        training=data.training,
        risk_id=data.risk_id,
        plan=data.plan.to_dict() if data.plan else None,
        rules=rules,
    ).to_json()


@router.post(
    "/documents/{number}/obsolete",
    response_model=OutcomeOut,
    summary="Withdraw the document: its effective revision becomes obsolete",
)
def make_obsolete(ctx: Ctx, number: Number, data: ObsoleteIn) -> object:
    return service.make_obsolete(ctx, number, data.reason).to_json()


# --- the change after approval ------------------------------------------------------------


@router.put(
    "/documents/{number}/plan",
    response_model=OutcomeOut,
    summary="Replace the change plan of the newest revision until its change closes",
)
def update_plan(ctx: Ctx, number: Number, data: PlanIn, revision: Revision = None) -> object:
    return changes.update_plan(ctx, number, data.to_dict(), revision=revision).to_json()


@router.post(
    "/documents/{number}/plan/done/{index}",
    response_model=OutcomeOut,
    summary="Tick off an item of the change's definition of done (its owner, or an author)",
)
def complete_item(
    ctx: Ctx,
    number: Number,
    index: Annotated[int, Path(ge=0, le=49, description="Item position, from 0.")],
    revision: Revision = None,
) -> object:
    return changes.complete_item(ctx, number, index, revision=revision).to_json()


@router.post(
    "/documents/{number}/close",
    response_model=OutcomeOut,
    summary="Close the change: its revision is in force and its definition of done is done",
)
def close_change(ctx: Ctx, number: Number, revision: Revision = None) -> object:
    return changes.close_change(ctx, number, revision=revision).to_json()


# --- attachments ---------------------------------------------------------------------------


@router.post(
    "/documents/{number}/attachments",
    response_model=AttachmentOut,
    status_code=201,
    summary="Attach an image or PDF (PNG, JPEG, PDF; type checked by content)",
)
def upload_attachment(
    ctx: Ctx,
    number: Number,
    settings: Annotated[Settings, Depends(get_settings)],
    file: Annotated[UploadFile, File(description="The file, as multipart/form-data.")],
) -> object:
    return attach_upload(attachments.attach_file, ctx, number, file, settings)


@router.get(
    "/documents/{number}/attachments",
    response_model=list[AttachmentOut],
    summary="The document's attachments, oldest first",
)
def list_attachments(ctx: Ctx, number: Number) -> object:
    return attachments.list_attachments(ctx, number)
