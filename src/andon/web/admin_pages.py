"""User administration pages: list and create users, set their roles, disable, reset passwords."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from andon.accounts import service as accounts
from andon.accounts.models import User
from andon.accounts.schemas import PasswordSet, RolesSet, UserCreate, UserUpdate
from andon.core.errors import AndonError
from andon.core.permissions import Role
from andon.core.security import MIN_PASSWORD_LENGTH
from andon.core.uow import Context
from andon.plant import service as plant
from andon.web import csrf, flash
from andon.web.forms import FormInvalid, build, errors_from, optional_text, read_form, text
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]

ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.OPS_MANAGER: "Operations manager",
    Role.QUALITY: "Quality",
    Role.SAFETY: "Safety",
    Role.SUPERVISOR: "Supervisor",
    Role.OPERATOR: "Operator",
    Role.VIEWER: "Viewer",
}


def _scope_options(ctx: Context) -> list[tuple[str, str]]:
    """Where a role may be limited to: the whole plant, one site, or one area of a site."""
    tree = plant.plant_tree(ctx)
    options = [("", "Whole plant")]
    for sites in tree.sites.values():
        for site in sites:
            options.append((f"site:{site.id}", f"Site {site.code} · {site.name}"))
            for area in tree.areas.get(site.id, []):
                options.append((f"area:{area.id}", f"Area {site.code} / {area.name}"))
    return options


def _grants_from(form: FormData) -> list[dict[str, Any]]:
    grants: list[dict[str, Any]] = []
    for role in form.getlist("role"):
        if not isinstance(role, str):
            continue
        grant: dict[str, Any] = {"role": role}
        kind, _, scope_id = text(form, f"scope_{role}").partition(":")
        if kind in ("site", "area") and scope_id:
            grant[f"{kind}_id"] = scope_id
        grants.append(grant)
    return grants


def _selected_roles(form: FormData) -> dict[str, str]:
    return {
        str(role): text(form, f"scope_{role}") for role in form.getlist("role") if role is not None
    }


def _roles_of(user: User) -> dict[str, str]:
    selected: dict[str, str] = {}
    for g in user.grants:
        scope = f"area:{g.area_id}" if g.area_id else (f"site:{g.site_id}" if g.site_id else "")
        selected.setdefault(g.role, scope)
    return selected


def _users_page(
    request: Request,
    ctx: Context,
    cursor: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    selected: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    page = accounts.list_users(ctx, cursor)
    return render(
        request,
        "admin/users.html",
        {
            "section": "admin",
            "users": page.items,
            "more": f"/admin/users?cursor={page.next_cursor}" if page.next_cursor else None,
            "roles": ROLE_LABELS,
            "scopes": _scope_options(ctx),
            "selected": selected or {},
            "errors": errors or {},
            "values": values or {},
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
    )


@router.get("/admin/users")
def users_page(request: Request, ctx: PageCtx, cursor: str = "") -> Response:
    return _users_page(request, ctx, cursor or None)


@router.post("/admin/users")
def create_user(request: Request, ctx: PageCtx, form: Form) -> Response:
    values = {name: text(form, name) for name in ("username", "display_name", "email")}
    data = {
        "username": values["username"],
        "display_name": values["display_name"],
        "email": values["email"] or None,
        "password": form.get("password") or "",
        "grants": _grants_from(form),
    }
    selected = _selected_roles(form)
    try:
        user = accounts.create_user(ctx, build(UserCreate, data))
    except FormInvalid as exc:
        return _users_page(request, ctx, None, exc.errors, values, selected, 422)
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        return _users_page(request, ctx, None, errors_from(exc), values, selected, exc.status)
    response = RedirectResponse(f"/admin/users/{user.id}", status_code=303)
    flash.put(request, response, f"Created user {user.username}.")
    return response


def _user_page(
    request: Request,
    ctx: Context,
    user_id: int,
    form_name: str = "",
    errors: dict[str, str] | None = None,
    selected: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    user = accounts.get_user(ctx, user_id)
    return render(
        request,
        "admin/user.html",
        {
            "section": "admin",
            "user": user,
            "roles": ROLE_LABELS,
            "scopes": _scope_options(ctx),
            "selected": selected if selected is not None else _roles_of(user),
            "form_errors": {form_name: errors or {}},
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
    )


def _saved(request: Request, user_id: int, message: str) -> Response:
    response = RedirectResponse(f"/admin/users/{user_id}", status_code=303)
    flash.put(request, response, message)
    return response


@router.get("/admin/users/{user_id}")
def user_page(request: Request, ctx: PageCtx, user_id: int) -> Response:
    return _user_page(request, ctx, user_id)


@router.post("/admin/users/{user_id}")
def update_profile(request: Request, ctx: PageCtx, user_id: int, form: Form) -> Response:
    data = {
        "display_name": text(form, "display_name"),
        "email": optional_text(form, "email"),
        "version": text(form, "version"),
    }
    try:
        user = accounts.update_user(ctx, user_id, build(UserUpdate, data))
    except FormInvalid as exc:
        return _user_page(request, ctx, user_id, "profile", exc.errors, status_code=422)
    except AndonError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _user_page(request, ctx, user_id, "profile", errors_from(exc), None, exc.status)
    return _saved(request, user_id, f"Saved {user.username}.")


@router.post("/admin/users/{user_id}/roles")
def set_roles(request: Request, ctx: PageCtx, user_id: int, form: Form) -> Response:
    selected = _selected_roles(form)
    data = {"grants": _grants_from(form), "reason": optional_text(form, "reason")}
    try:
        roles = build(RolesSet, data)
        user = accounts.set_roles(ctx, user_id, roles.grants, roles.reason)
    except FormInvalid as exc:
        return _user_page(request, ctx, user_id, "roles", exc.errors, selected, 422)
    except AndonError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _user_page(request, ctx, user_id, "roles", errors_from(exc), selected, exc.status)
    return _saved(request, user_id, f"Roles of {user.username} saved.")


@router.post("/admin/users/{user_id}/active")
def set_active(request: Request, ctx: PageCtx, user_id: int, form: Form) -> Response:
    data = {
        "active": text(form, "active") == "true",
        "version": text(form, "version"),
        "reason": optional_text(form, "reason"),
    }
    try:
        user = accounts.update_user(ctx, user_id, build(UserUpdate, data))
    except FormInvalid as exc:
        return _user_page(request, ctx, user_id, "active", exc.errors, status_code=422)
    except AndonError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _user_page(request, ctx, user_id, "active", errors_from(exc), None, exc.status)
    state = "enabled" if user.active else "disabled"
    return _saved(request, user_id, f"{user.username} is {state}.")


@router.post("/admin/users/{user_id}/password")
def set_password(request: Request, ctx: PageCtx, user_id: int, form: Form) -> Response:
    password = form.get("password") or ""
    if password != (form.get("confirm") or ""):
        errors = {"confirm": "the two passwords differ"}
        return _user_page(request, ctx, user_id, "password", errors, status_code=422)
    try:
        data = build(PasswordSet, {"password": password})
        accounts.set_password(ctx, user_id, data.password)
    except FormInvalid as exc:
        return _user_page(request, ctx, user_id, "password", exc.errors, status_code=422)
    return _saved(request, user_id, "Password set; the user must sign in again with it.")
