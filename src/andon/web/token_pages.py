"""Your API tokens: list, create (the secret is shown once) and revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from andon.accounts import service as accounts
from andon.accounts.schemas import TokenCreate
from andon.core.errors import AndonError
from andon.core.uow import Context
from andon.web import csrf, flash
from andon.web.forms import FormInvalid, build, errors_from, read_form, text
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]


def _tokens_page(
    request: Request,
    ctx: Context,
    *,
    created: Any = None,
    secret: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "tokens/tokens.html",
        {
            "section": "tokens",
            "tokens": accounts.list_tokens(ctx),
            "created": created,
            "secret": secret,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


@router.get("/account/tokens")
def tokens_page(request: Request, ctx: PageCtx) -> Response:
    return _tokens_page(request, ctx)


@router.post("/account/tokens")
def create_token(request: Request, ctx: PageCtx, form: Form) -> Response:
    values = {"name": text(form, "name"), "expires_in_days": text(form, "expires_in_days")}
    data: dict[str, Any] = {"name": values["name"]}
    if values["expires_in_days"]:
        data["expires_in_days"] = values["expires_in_days"]
    try:
        token, secret = accounts.create_token(ctx, build(TokenCreate, data))
    except FormInvalid as exc:
        return _tokens_page(request, ctx, errors=exc.errors, values=values, status_code=422)
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        errors = errors_from(exc)
        return _tokens_page(request, ctx, errors=errors, values=values, status_code=exc.status)
    # Rendered, not redirected: the secret exists only in this response.
    return _tokens_page(request, ctx, created=token, secret=secret, status_code=201)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, ctx: PageCtx, token_id: int) -> Response:
    token = accounts.revoke_token(ctx, token_id)
    response = RedirectResponse("/account/tokens", status_code=303)
    flash.put(request, response, f"Revoked token “{token.name}”.")
    return response
