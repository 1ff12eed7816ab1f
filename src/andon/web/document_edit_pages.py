"""Authoring pages: a new document and the draft editor, as structured fields or a whole
Markdown file pasted or uploaded. Mounted before document_pages, so ``/documents/new`` is not
read as a document number."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from andon.core.errors import AndonError, Conflict, InvalidInput, PermissionDenied
from andon.core.permissions import Action
from andon.core.uow import Context
from andon.documents import queries, service
from andon.documents.content import CRITICAL_KINDS
from andon.documents.lifecycle import Status
from andon.documents.service import Outcome
from andon.documents.store import kept_in_plan
from andon.plant import service as plant
from andon.web import csrf, flash
from andon.web.document_forms import (
    YES_NO,
    AuthoringValues,
    field_errors,
    file_from_markdown,
    file_from_values,
    plan_from_values,
    risk_options,
    uploaded_markdown,
    values_from_file,
    values_from_form,
)
from andon.web.document_pages import may, rules_of
from andon.web.forms import FORM_LEVEL, errors_from, read_form
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]


def _form_page(
    request: Request,
    ctx: Context,
    values: AuthoringValues,
    *,
    number: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "documents/edit.html",
        {
            "section": "documents",
            "number": number,
            "action": f"/documents/{number}/edit" if number else "/documents/new",
            "v": values,
            "errors": errors or {},
            "types": rules_of(request).types,
            "criticals": CRITICAL_KINDS,
            "yes_no": YES_NO,
            "areas": _areas(ctx),
            "lines": _lines(ctx),
            "risk_options": risk_options(ctx, values.risk),
        },
        status_code=status_code,
    )


def _areas(ctx: Context) -> list[tuple[str, str]]:
    try:
        items = plant.list_areas(ctx, limit=500).items
    except PermissionDenied:
        return []
    return sorted({(a.code, f"{a.code} — {a.name}") for a in items})


def _lines(ctx: Context) -> list[tuple[int, str]]:
    try:
        items = plant.list_lines(ctx, limit=500).items
    except PermissionDenied:
        return []
    return [(line.id, f"{line.name} ({line.code})") for line in items]


def _check_author(ctx: Context) -> None:
    if not may(ctx.actor, Action.DOCUMENT_AUTHOR):
        raise PermissionDenied(f"{ctx.actor.username} may not {Action.DOCUMENT_AUTHOR.value}")


@router.get("/documents/new")
def new_page(request: Request, ctx: PageCtx) -> Response:
    _check_author(ctx)
    return _form_page(request, ctx, AuthoringValues(owner=ctx.actor.username).padded())


@router.post("/documents/new")
def create(request: Request, ctx: PageCtx, form: Form) -> Response:
    _check_author(ctx)
    values = values_from_form(form)
    if "add_step" in form:
        return _form_page(request, ctx, values.padded(extra=1))
    rules = rules_of(request)

    def action() -> Outcome:
        plan = plan_from_values(values)
        markdown = uploaded_markdown(form)
        if markdown is not None:
            return service.import_markdown(ctx, markdown, plan=plan, rules=rules)
        file = file_from_values(values, types=rules.types)
        return service.create_document(ctx, file, plan=plan, rules=rules)

    return _save(request, ctx, values, None, action, "Created")


@router.get("/documents/{number}/edit")
def edit_page(request: Request, ctx: PageCtx, number: str) -> Response:
    _check_author(ctx)
    view = _draft(ctx, number)
    values = values_from_file(view.file, view.revision.plan, view.revision.version)
    values.area = view.document.area_code or ""
    return _form_page(request, ctx, values.padded(), number=view.document.number)


@router.post("/documents/{number}/edit")
def save(request: Request, ctx: PageCtx, number: str, form: Form) -> Response:
    _check_author(ctx)
    view = _draft(ctx, number)
    values = values_from_form(form)
    # Type and area belong to the document; the editor shows them but cannot change them.
    values.type = view.document.type
    values.area = view.document.area_code or ""
    if "add_step" in form:
        return _form_page(request, ctx, values.padded(extra=1), number=view.document.number)
    rules = rules_of(request)

    def action() -> Outcome:
        version = int(values.version) if values.version.isdigit() else None
        if version is None:
            raise InvalidInput.for_field("version", "reload the editor and retry")
        markdown = uploaded_markdown(form)
        file = (
            file_from_markdown(markdown, rules.types)
            if markdown is not None
            else file_from_values(values, types=rules.types)
        )
        # The form edits the lines and the quality impact; the rest of the plan (rollout,
        # definition of done, questions, set through the API) stays as it was.
        kept = view.revision.plan
        plan = {k: v for k, v in kept.items() if k not in kept_in_plan(kept)}
        plan.update(plan_from_values(values))
        return service.save_draft(ctx, number, file, version=version, plan=plan, rules=rules)

    return _save(request, ctx, values, view.document.number, action, "Saved")


def _draft(ctx: Context, number: str) -> queries.RevisionView:
    """The newest revision, which must be a draft to be edited."""
    view = queries.show(ctx, number)
    newest = view.revisions[-1]
    if newest.status != Status.DRAFT:
        raise Conflict(
            f"{number} has no draft to edit (revision {newest.number} is "
            f"{newest.status.replace('_', ' ')}); revise the effective revision to start one"
        )
    if view.revision.number != newest.number:
        view = queries.show(ctx, number, newest.number)
    return view


def _save(
    request: Request,
    ctx: Context,
    values: AuthoringValues,
    number: str | None,
    action: Callable[[], Outcome],
    verb: str,
) -> Response:
    try:
        outcome: Outcome = action()
    except InvalidInput as exc:
        errors = field_errors(exc)
        # The detail lists every problem (with its line in a pasted file); nothing was saved.
        errors[FORM_LEVEL] = f"Nothing was saved. {exc.detail}"
        return _form_page(
            request, ctx, values.padded(), number=number, errors=errors, status_code=422
        )
    except AndonError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _form_page(
            request,
            ctx,
            values.padded(),
            number=number,
            errors=errors_from(exc),
            status_code=exc.status,
        )
    response = RedirectResponse(
        f"/documents/{outcome.number}?revision={outcome.revision}", status_code=303
    )
    flash.put(request, response, f"{verb} {outcome.number} revision {outcome.revision} (draft).")
    return response
