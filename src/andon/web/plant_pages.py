"""Plant pages: the enterprise → site → area → line tree, and forms to change each level."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from starlette.datastructures import FormData

from andon.core import audit_queries
from andon.core.errors import AndonError, Conflict, NotFound
from andon.core.permissions import Action, Actor, Scope
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.models import LineKind
from andon.plant.schemas import (
    AreaCreate,
    AreaUpdate,
    EnterpriseCreate,
    EnterpriseUpdate,
    LineCreate,
    LineUpdate,
    SiteCreate,
    SiteUpdate,
)
from andon.web import csrf, flash
from andon.web.audit_pages import entry_rows
from andon.web.forms import FORM_LEVEL, FormInvalid, build, errors_from, read_form, text
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])
Form = Annotated[FormData, Depends(read_form)]


@dataclass(frozen=True)
class Field:
    """An editable field of a level; ``kind`` picks the input the template draws."""

    name: str
    label: str
    kind: str = "text"  # text | code | textarea | timezone | line_kind
    required: bool = True


@dataclass(frozen=True)
class Level:
    """One level of the hierarchy and the service functions that read and change it."""

    slug: str
    noun: str
    create_schema: type[BaseModel]
    update_schema: type[BaseModel]
    get: Callable[[Context, int], Any]
    create: Callable[[Context, Any], Any]
    update: Callable[[Context, int, Any], Any]
    delete: Callable[[Context, int, int, str | None], None]
    fields: tuple[Field, ...]
    parent_field: str | None = None
    parent_noun: str | None = None


NAME = Field("name", "Name")
CODE = Field("code", "Code", "code")
DESCRIPTION = Field("description", "Description", "textarea", required=False)

LEVELS: dict[str, Level] = {
    level.slug: level
    for level in (
        Level(
            "enterprises",
            "enterprise",
            EnterpriseCreate,
            EnterpriseUpdate,
            plant.get_enterprise,
            plant.create_enterprise,
            plant.update_enterprise,
            plant.delete_enterprise,
            (NAME, DESCRIPTION),
        ),
        Level(
            "sites",
            "site",
            SiteCreate,
            SiteUpdate,
            plant.get_site,
            plant.create_site,
            plant.update_site,
            plant.delete_site,
            (NAME, CODE, Field("timezone", "Time zone", "timezone"), DESCRIPTION),
            "enterprise_id",
            "enterprise",
        ),
        Level(
            "areas",
            "area",
            AreaCreate,
            AreaUpdate,
            plant.get_area,
            plant.create_area,
            plant.update_area,
            plant.delete_area,
            (NAME, CODE, DESCRIPTION),
            "site_id",
            "site",
        ),
        Level(
            "lines",
            "line",
            LineCreate,
            LineUpdate,
            plant.get_line,
            plant.create_line,
            plant.update_line,
            plant.delete_line,
            (NAME, CODE, Field("kind", "Kind", "line_kind"), DESCRIPTION),
            "area_id",
            "area",
        ),
    )
}
LINE_KINDS = [(LineKind.LINE.value, "Line"), (LineKind.WORK_CENTRE.value, "Work centre")]


def _level(slug: str) -> Level:
    level = LEVELS.get(slug)
    if level is None:
        raise NotFound(f"no plant level called {slug!r}")
    return level


def may_manage_somewhere(actor: Actor) -> bool:
    """Whether to offer the forms at all; each service call still checks the exact scope."""
    scopes = [Scope()] + [Scope(g.site_id, g.area_id) for g in actor.grants]
    return any(actor.can(Action.PLANT_MANAGE, scope) for scope in scopes)


def _tree_page(
    request: Request,
    ctx: Context,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    tree = plant.plant_tree(ctx)
    sites = [s for group in tree.sites.values() for s in group]
    site_codes = {s.id: s.code for s in sites}
    areas = [a for group in tree.areas.values() for a in group]
    return render(
        request,
        "plant/tree.html",
        {
            "section": "plant",
            "tree": tree,
            "levels": LEVELS,
            "line_kinds": LINE_KINDS,
            "can_manage": may_manage_somewhere(ctx.actor),
            "parents": {
                "sites": [(e.id, e.name) for e in tree.enterprises],
                "areas": [(s.id, f"{s.code} · {s.name}") for s in sites],
                "lines": [(a.id, f"{site_codes.get(a.site_id, '?')} / {a.name}") for a in areas],
            },
            "form_errors": errors or {},
            "form_values": values or {},
            "default_zone": request.app.state.settings.timezone,
        },
        status_code=status_code,
    )


@router.get("/plant")
def tree_page(request: Request, ctx: PageCtx) -> Response:
    return _tree_page(request, ctx)


@router.post("/plant/{slug}")
def create_node(request: Request, ctx: PageCtx, slug: str, form: Form) -> Response:
    level = _level(slug)
    names = [f.name for f in level.fields] + ([level.parent_field] if level.parent_field else [])
    values = {name: text(form, name) for name in names}
    data = {k: v for k, v in values.items() if v or k == "description"}
    try:
        node = level.create(ctx, build(level.create_schema, data))
    except FormInvalid as exc:
        return _tree_page(request, ctx, {slug: exc.errors}, {slug: values}, 422)
    except AndonError as exc:
        if exc.status in (401, 403):
            raise
        return _tree_page(request, ctx, {slug: errors_from(exc)}, {slug: values}, exc.status)
    response = RedirectResponse("/plant", status_code=303)
    flash.put(request, response, f"Created {level.noun} “{node.name}”.")
    return response


def _node_page(
    request: Request,
    ctx: Context,
    level: Level,
    node: Any,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    submitted: dict[str, str] | None = None,
) -> Response:
    """A record's page; ``submitted`` refills the edit form (and its version) after a typo."""
    history = None
    if ctx.actor.can(Action.AUDIT_READ):
        history = entry_rows(reversed(audit_queries.entity_history(ctx, level.noun, node.id)))
    return render(
        request,
        "plant/node.html",
        {
            "section": "plant",
            "level": level,
            "node": node,
            "line_kinds": LINE_KINDS,
            "can_manage": may_manage_somewhere(ctx.actor),
            "errors": errors or {},
            "submitted": submitted,
            "history": history,
        },
        status_code=status_code,
    )


@router.get("/plant/{slug}/{node_id}")
def node_page(request: Request, ctx: PageCtx, slug: str, node_id: int) -> Response:
    level = _level(slug)
    return _node_page(request, ctx, level, level.get(ctx, node_id))


def _refusal(
    request: Request, ctx: Context, level: Level, node_id: int, error: AndonError
) -> Response:
    """Show the current record again with why the change was refused."""
    if error.status in (401, 403, 404):
        raise error
    errors = errors_from(error)
    if isinstance(error, Conflict):
        errors = {
            FORM_LEVEL: f"Not saved: {error.detail}. The form now shows the current values; "
            "make your change again if it is still needed."
        }
    return _node_page(request, ctx, level, level.get(ctx, node_id), errors, error.status)


@router.post("/plant/{slug}/{node_id}")
def update_node(request: Request, ctx: PageCtx, slug: str, node_id: int, form: Form) -> Response:
    level = _level(slug)
    data: dict[str, str] = {f.name: text(form, f.name) for f in level.fields}
    data["version"] = text(form, "version")
    if reason := text(form, "reason"):
        data["reason"] = reason
    try:
        node = level.update(ctx, node_id, build(level.update_schema, data))
    except FormInvalid as exc:
        node = level.get(ctx, node_id)
        return _node_page(request, ctx, level, node, exc.errors, 422, data)
    except AndonError as exc:
        return _refusal(request, ctx, level, node_id, exc)
    response = RedirectResponse(f"/plant/{slug}/{node_id}", status_code=303)
    flash.put(request, response, f"Saved {level.noun} “{node.name}”.")
    return response


@router.post("/plant/{slug}/{node_id}/delete")
def delete_node(request: Request, ctx: PageCtx, slug: str, node_id: int, form: Form) -> Response:
    level = _level(slug)
    try:
        version = int(text(form, "version"))
    except ValueError:
        return _node_page(
            request, ctx, level, level.get(ctx, node_id), {"version": "missing version"}, 422
        )
    try:
        level.delete(ctx, node_id, version, text(form, "reason") or None)
    except AndonError as exc:
        return _refusal(request, ctx, level, node_id, exc)
    response = RedirectResponse("/plant", status_code=303)
    flash.put(request, response, f"Deleted {level.noun} {node_id}.")
    return response
