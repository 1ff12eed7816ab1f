"""Document pages for reading: the list and search, one revision, the redline, print, PDF and
the Markdown download. Signing forms post to document_sign_pages; authoring is in
document_edit_pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup

from andon.core.clock import utcnow
from andon.core.config import Settings
from andon.core.errors import AndonError, InvalidInput, PermissionDenied
from andon.core.permissions import MATRIX, Action, Actor
from andon.core.uow import Context
from andon.documents import attachments, queries
from andon.documents.lifecycle import Meaning, Status
from andon.documents.markdown_io import render_html
from andon.documents.printing import pdf_bytes, print_html
from andon.documents.redline import side_by_side
from andon.documents.rules import DocumentRules, document_rules
from andon.documents.search import SearchHit, search_documents
from andon.documents.signoffs import questions_of
from andon.documents.store import EDITORS
from andon.plant import service as plant
from andon.web import csrf
from andon.web.document_forms import risk_options
from andon.web.files import file_response
from andon.web.forms import errors_from
from andon.web.session import PageCtx
from andon.web.templating import format_local, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])

STATUSES = tuple(s.value for s in Status)


def rules_of(request: Request) -> DocumentRules:
    settings: Settings = request.app.state.settings
    return document_rules(settings)


def may(actor: Actor, action: Action) -> bool:
    """Whether the actor may take ``action`` somewhere (the service checks the place)."""
    return actor.system or any(g.role in MATRIX[action] for g in actor.grants)


# --- list and search -----------------------------------------------------------------------


@router.get("/documents")
def list_page(request: Request, ctx: PageCtx) -> Response:
    params = request.query_params
    values = {
        k: params.get(k, "").strip() for k in ("q", "type", "status", "area", "owner", "review_due")
    }
    rules = rules_of(request)
    errors: dict[str, str] = {}
    rows: list[queries.DocumentRow] = []
    hits: list[SearchHit] = []
    due_by = rules.today() + timedelta(days=rules.review_reminder_days)
    try:
        if values["q"]:
            hits = search_documents(
                ctx,
                values["q"],
                type=values["type"] or None,
                area=values["area"] or None,
                owner=values["owner"] or None,
            )
        else:
            rows = queries.list_documents(
                ctx,
                queries.DocumentFilter(
                    type=values["type"] or None,
                    status=values["status"] or None,
                    area=values["area"] or None,
                    owner=values["owner"] or None,
                    review_due_by=due_by if values["review_due"] else None,
                ),
                rules=rules,
            )
    except InvalidInput as exc:
        errors = errors_from(exc)
    return render(
        request,
        "documents/list.html",
        {
            "section": "documents",
            "values": values,
            "errors": errors,
            "rows": rows,
            "hits": hits,
            "types": rules.types,
            "statuses": STATUSES,
            "areas": _area_codes(ctx),
            "due_by": due_by,
            "can_author": may(ctx.actor, Action.DOCUMENT_AUTHOR),
        },
        status_code=422 if errors else 200,
    )


def _area_codes(ctx: Context) -> list[str]:
    try:
        return sorted({a.code for a in plant.list_areas(ctx, limit=500).items})
    except PermissionDenied:
        return []


# --- one revision --------------------------------------------------------------------------


def show_page(
    request: Request,
    ctx: Context,
    number: str,
    revision: int | None = None,
    *,
    form_errors: dict[str, dict[str, str]] | None = None,
    form_values: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    """The revision page; signing forms re-render it with their errors at the fields."""
    rules = rules_of(request)
    view = queries.show(ctx, number, revision, rules=rules)
    questions, pass_mark = questions_of(view.revision.plan)
    return render(
        request,
        "documents/show.html",
        {
            "section": "documents",
            "view": view,
            "d": view.document,
            "r": view.revision,
            # render_html escapes every text and drops unsafe addresses.
            "content_html": Markup(render_html(view.file.content)),  # noqa: S704
            "actions": available_actions(ctx.actor, view),
            "questions": questions,
            "pass_mark": pass_mark,
            "open_revision": _open_revision(view),
            "previous": _previous(view),
            "line_names": _line_names(ctx, view.revision.plan.get("lines", [])),
            "line_labels": _line_labels(ctx, view.revision.plan.get("rollout", [])),
            "today": rules.today().isoformat(),
            "adoption": _adoption(ctx, view),
            "attachments": attachments.list_attachments(ctx, view.document.number),
            "form_errors": form_errors or {},
            "form_values": form_values or {},
            "risk_options": risk_options(ctx)
            if available_actions(ctx.actor, view).get("revise")
            else [],
        },
        status_code=status_code,
    )


@router.get("/documents/{number}")
def show(request: Request, ctx: PageCtx, number: str, revision: int | None = None) -> Response:
    return show_page(request, ctx, number, revision)


def available_actions(actor: Actor, view: queries.RevisionView) -> dict[str, Any]:
    """The forms the page offers for this revision, by its state and the actor's rights.

    The service decides in the end; this only leaves out forms that cannot succeed.
    """
    status = Status(view.revision.status)
    is_open = status in (Status.DRAFT, Status.IN_REVIEW, Status.APPROVED)
    has_open = _open_revision(view) is not None
    signed_by_me = {
        s.meaning for s in view.signatures if s.user_id == actor.user_id and s.id in view.current
    }
    approve_role = _approve_role(actor, view) if status == Status.IN_REVIEW else None
    person = actor.user_id is not None
    # Separation of duties: whoever wrote the revision (its author, anyone who edited the
    # draft) never approves or rejects it.
    writers = {view.revision.author_id, *view.revision.plan.get(EDITORS, ())}
    authored = person and actor.user_id in writers
    reviewing = status == Status.IN_REVIEW and person and not authored
    offered = {
        "edit": status == Status.DRAFT and may(actor, Action.DOCUMENT_AUTHOR),
        "submit": status == Status.DRAFT and person and may(actor, Action.DOCUMENT_AUTHOR),
        "approve": reviewing and approve_role is not None,
        "approve_role": approve_role,
        "reject": reviewing and may(actor, Action.DOCUMENT_APPROVE),
        "own_review": status == Status.IN_REVIEW and authored,
        "acknowledge": status == Status.EFFECTIVE
        and person
        and may(actor, Action.DOCUMENT_ACK)
        and Meaning.ACKNOWLEDGED.value not in signed_by_me,
        "acknowledged": Meaning.ACKNOWLEDGED.value in signed_by_me,
        "review": status == Status.EFFECTIVE and person and may(actor, Action.DOCUMENT_REVIEW),
        "revise": status == Status.EFFECTIVE
        and not has_open
        and person
        and may(actor, Action.DOCUMENT_AUTHOR),
        "is_open": is_open,
    }
    offered["any"] = (
        offered["acknowledged"]
        or offered["own_review"]
        or any(
            offered[k]
            for k in ("edit", "submit", "approve", "reject", "acknowledge", "review", "revise")
        )
    )
    return offered


def _approve_role(actor: Actor, view: queries.RevisionView) -> str | None:
    """The required role the actor would sign for (as the service picks it), or None."""
    if not may(actor, Action.DOCUMENT_APPROVE):
        return None
    held = {r.value for r in actor.roles}
    for role in sorted(view.missing):
        if role in held and view.missing[role] > 0:
            return role
    return None


def _line_names(ctx: Context, line_ids: list[int]) -> list[str]:
    if not line_ids:
        return []
    try:
        names = {line.id: line.name for line in plant.list_lines(ctx, limit=500).items}
    except PermissionDenied:
        names = {}
    return [names.get(int(i), f"line {i}") for i in line_ids]


def _line_labels(ctx: Context, rollout: list[dict[str, object]]) -> dict[object, str]:
    ids = [int(str(step["line_id"])) for step in rollout]
    return dict(zip(ids, _line_names(ctx, ids), strict=True))


def _adoption(ctx: Context, view: queries.RevisionView) -> Markup | None:
    """The adoption curves of a revision that took effect, for readers of the training
    matrix; None for a draft or for someone who may not read who has been trained."""
    if view.revision.effective_at is None or not ctx.actor.can(Action.TRAINING_READ):
        return None
    from andon.training.adoption import change_adoption
    from andon.web.training_pages import adoption_chart

    chart = adoption_chart(change_adoption(ctx, view.document.number, view.revision.number))
    # The SVG is drawn by line_charts, which escapes every text it writes.
    return Markup(chart)  # noqa: S704


def _open_revision(view: queries.RevisionView) -> int | None:
    for row in view.revisions:
        if row.status in (Status.DRAFT, Status.IN_REVIEW, Status.APPROVED):
            return row.number
    return None


def _previous(view: queries.RevisionView) -> int | None:
    numbers = [r.number for r in view.revisions if r.number < view.revision.number]
    return max(numbers) if numbers else None


# --- redline -------------------------------------------------------------------------------


@router.get("/documents/{number}/redline")
def redline_page(request: Request, ctx: PageCtx, number: str) -> Response:
    """Two revisions side by side, insertions and deletions marked word by word."""
    view = queries.show(ctx, number, rules=rules_of(request))
    numbers = [r.number for r in view.revisions]
    params = request.query_params
    try:
        new = _revision_param(params.get("to"), "to", max(numbers))
        old = _revision_param(params.get("from"), "from", max(1, new - 1))
        result = queries.diff(ctx, number, old, new)
    except InvalidInput as exc:
        return render(
            request,
            "documents/redline.html",
            {
                "section": "documents",
                "d": view.document,
                "numbers": numbers,
                "old": params.get("from", ""),
                "new": params.get("to", ""),
                "rows": [],
                "summary": {},
                "errors": errors_from(exc),
            },
            status_code=422,
        )
    rows = side_by_side(result)
    summary = {
        "steps added": sum(1 for s in result.steps if s.kind == "added"),
        "steps removed": sum(1 for s in result.steps if s.kind == "removed"),
        "steps moved": sum(1 for s in result.steps if s.moved),
        "steps changed": sum(1 for s in result.steps if s.text.changed and s.kind != "added"),
        "safety notes changed": sum(1 for n in result.safety_notes if n.kind != "unchanged"),
        "sections changed": sum(1 for s in result.sections if s.kind != "unchanged"),
    }
    return render(
        request,
        "documents/redline.html",
        {
            "section": "documents",
            "d": view.document,
            "numbers": numbers,
            "old": old,
            "new": new,
            "rows": rows,
            "changed": result.changed,
            "summary": summary,
        },
    )


def _revision_param(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    if not raw.strip().isdigit():
        raise InvalidInput.for_field(name, "a revision number")
    return int(raw)


# --- print, PDF, Markdown ------------------------------------------------------------------


def _printed(request: Request, ctx: Context, number: str, revision: int | None) -> str:
    rules = rules_of(request)
    view = queries.show(ctx, number, revision, rules=rules)
    return print_html(view, rules.zone, printed_at=format_local(utcnow(), request))


@router.get("/documents/{number}/print")
def print_page(
    request: Request, ctx: PageCtx, number: str, revision: int | None = None
) -> Response:
    return Response(
        _printed(request, ctx, number, revision),
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


@router.get("/documents/{number}/pdf")
def pdf(request: Request, ctx: PageCtx, number: str, revision: int | None = None) -> Response:
    view = queries.show(ctx, number, revision, rules=rules_of(request))
    body = pdf_bytes(_printed(request, ctx, number, view.revision.number))
    filename = f"{view.document.number}-rev{view.revision.number}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/documents/{number}/markdown")
def markdown(ctx: PageCtx, number: str, revision: int | None = None) -> Response:
    view = queries.show(ctx, number, revision)
    body = queries.export_markdown(ctx, number, view.revision.number)
    filename = f"{view.document.number}-rev{view.revision.number}.md"
    return Response(
        body,
        media_type="text/markdown; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def refusal(exc: AndonError) -> dict[str, str]:
    """A signing form's refusal as field messages; a wrong password sits at the password."""
    if exc.status == 401:
        return {"password": exc.detail or "the password is not right; nothing was signed"}
    return errors_from(exc)


@router.get("/documents/attachments/{attachment_id:int}")
def download(request: Request, ctx: PageCtx, attachment_id: int) -> Response:
    attachment, data = attachments.read_attachment(
        ctx, attachment_id, request.app.state.settings.data_dir
    )
    return file_response(data, attachment.filename, attachment.content_type)
