"""Document forms that sign or start a change: submit, approve, reject, acknowledge, periodic
review and revise. Each signing form asks for the password again; a refusal re-renders the
document page with the message at the field, and nothing is stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from andon.core.errors import AndonError, InvalidInput
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.documents import attachments, changes, queries, service, signoffs
from andon.documents.service import Outcome
from andon.web import csrf, flash
from andon.web.document_pages import refusal, rules_of, show_page
from andon.web.forms import read_form, text
from andon.web.session import PageCtx

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]


def _run(
    request: Request,
    ctx: Context,
    number: str,
    form: FormData,
    name: str,
    action: Callable[[], Outcome],
    message: Callable[[Outcome], str],
) -> Response:
    """Run one use case; on success back to the revision it touched with a flash message,
    on refusal the page again with the form ``name``'s errors. Not found and not allowed
    (403) end on the error page: the page offers no form to someone who may not use it."""
    revision = text(form, "revision")
    shown = int(revision) if revision.isdigit() else None
    try:
        outcome = action()
    except AndonError as exc:
        if exc.status in (403, 404):
            raise
        kept = {k: v for k, v in form.items() if isinstance(v, str) and k != "password"}
        return show_page(
            request,
            ctx,
            number,
            shown,
            form_errors={name: refusal(exc)},
            form_values={name: kept},
            status_code=422 if exc.status == 401 else exc.status,
        )
    response = RedirectResponse(
        f"/documents/{outcome.number}?revision={outcome.revision}", status_code=303
    )
    flash.put(request, response, message(outcome))
    return response


def _password(form: FormData) -> str:
    # Not stripped: a password is exactly what was typed.
    value = form.get("password")
    if not isinstance(value, str) or not value:
        raise InvalidInput.for_field("password", "enter your password to sign")
    return value


def _date(form: FormData, name: str) -> date | None:
    raw = text(form, name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput.for_field(name, "a date as YYYY-MM-DD") from None


def _effective(form: FormData) -> date | None:
    return _date(form, "effective")


def _status_words(outcome: Outcome) -> str:
    words = outcome.status.replace("_", " ")
    if outcome.status == "approved" and outcome.effective_on:
        words += f", effective {outcome.effective_on.isoformat()}"
    return words


@router.post("/documents/{number}/submit")
def submit(request: Request, ctx: PageCtx, number: str, form: Form) -> Response:
    rules = rules_of(request)
    return _run(
        request,
        ctx,
        number,
        form,
        "submit",
        lambda: service.submit(
            ctx, number, effective_on=_effective(form), password=_password(form), rules=rules
        ),
        lambda o: f"Signed as author and sent revision {o.revision} to review.",
    )


@router.post("/documents/{number}/approve")
def approve(request: Request, ctx: PageCtx, number: str, form: Form) -> Response:
    rules = rules_of(request)

    def action() -> Outcome:
        password = _password(form)
        role = _role(form)
        return service.approve(
            ctx, number, password, role=role, effective_on=_effective(form), rules=rules
        )

    return _run(
        request,
        ctx,
        number,
        form,
        "approve",
        action,
        lambda o: f"Approved revision {o.revision}; it is now {_status_words(o)}.",
    )


def _role(form: FormData) -> Role | None:
    raw = text(form, "role")
    if not raw:
        return None
    try:
        return Role(raw)
    except ValueError:
        raise InvalidInput.for_field("role", "not a role") from None


@router.post("/documents/{number}/reject")
def reject(request: Request, ctx: PageCtx, number: str, form: Form) -> Response:
    rules = rules_of(request)
    return _run(
        request,
        ctx,
        number,
        form,
        "reject",
        lambda: service.reject(
            ctx, number, _password(form), text(form, "comment"), role=_role(form), rules=rules
        ),
        lambda o: f"Rejected revision {o.revision}; it is back in draft.",
    )


@router.post("/documents/{number}/acknowledge")
def acknowledge(request: Request, ctx: PageCtx, number: str, form: Form) -> Response:
    def action() -> Outcome:
        password = _password(form)
        return signoffs.acknowledge(ctx, number, password, answers=_answers(form))

    return _run(
        request,
        ctx,
        number,
        form,
        "acknowledge",
        action,
        lambda o: f"Acknowledged revision {o.revision} of {o.number}.",
    )


def _answers(form: FormData) -> list[int] | None:
    count = text(form, "question_count")
    if not count.isdigit() or int(count) == 0:
        return None
    answers: list[int] = []
    for i in range(int(count)):
        raw = text(form, f"answer-{i}")
        if not raw.isdigit():
            raise InvalidInput.for_field("answers", "answer every question (one option each)")
        answers.append(int(raw))
    return answers


@router.post("/documents/{number}/review")
def review(request: Request, ctx: PageCtx, number: str, form: Form) -> Response:
    rules = rules_of(request)
    outcome_choice = text(form, "outcome")

    def action() -> Outcome:
        password = _password(form)
        if outcome_choice not in ("confirm", "change"):
            raise InvalidInput.for_field("outcome", "choose confirm or change")
        return signoffs.review(
            ctx,
            number,
            password,
            outcome_choice,  # type: ignore[arg-type]  # checked above
            comment=text(form, "comment"),
            rules=rules,
        )

    def message(o: Outcome) -> str:
        if outcome_choice == "change":
            return f"Review signed; revision {o.revision} is a new draft to change."
        return f"Review signed; revision {o.revision} still holds."

    return _run(request, ctx, number, form, "review", action, message)


@router.post("/documents/{number}/revise")
def revise(request: Request, ctx: PageCtx, number: str, form: Form) -> Response:
    rules = rules_of(request)
    flags = {"yes": True, "no": False}

    def action() -> Outcome:
        return service.revise(
            ctx,
            number,
            reason=text(form, "reason") or None,
            safety_impact=flags.get(text(form, "safety_impact")),
            training=flags.get(text(form, "training")),
            risk_id=int(text(form, "risk_id")) if text(form, "risk_id").isdigit() else None,
            rules=rules,
        )

    response = _run(
        request,
        ctx,
        number,
        form,
        "revise",
        action,
        lambda o: f"Started revision {o.revision} as a draft; edit it below.",
    )
    if isinstance(response, RedirectResponse):
        # Straight to the editor of the new draft.
        response.headers["location"] = f"/documents/{number}/edit"
    return response


@router.post("/documents/{number}/done/{index}")
def complete_item(request: Request, ctx: PageCtx, number: str, index: int, form: Form) -> Response:
    def action() -> Outcome:
        return changes.complete_item(ctx, number, index, revision=_revision(form))

    return _run(request, ctx, number, form, "rollout", action, lambda o: f"Item {index + 1} done.")


@router.post("/documents/{number}/close")
def close_change(request: Request, ctx: PageCtx, number: str, form: Form) -> Response:
    def action() -> Outcome:
        return changes.close_change(ctx, number, revision=_revision(form))

    return _run(
        request,
        ctx,
        number,
        form,
        "rollout",
        action,
        lambda o: f"The change of revision {o.revision} is closed.",
    )


def _revision(form: FormData) -> int | None:
    raw = text(form, "revision")
    return int(raw) if raw.isdigit() else None


@router.post("/documents/{number}/attachments")
def attach(request: Request, ctx: PageCtx, number: str, form: Form) -> Response:
    settings = request.app.state.settings

    def action() -> Outcome:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput.for_field("file", "choose a file to attach")
        attachments.attach_file(
            ctx,
            number,
            upload.filename,
            upload.content_type or "",
            upload.file.read(settings.max_attachment_bytes + 1),
            storage=settings.data_dir,
            max_bytes=settings.max_attachment_bytes,
        )
        view = queries.show(ctx, number, _revision(form))
        return Outcome(number, view.revision.number, view.revision.status)

    return _run(request, ctx, number, form, "attach", action, lambda o: "File attached.")
