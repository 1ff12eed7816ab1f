"""Training pages: the matrix with filters and export, "my training", and a change's adoption."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup

from andon.core.config import Settings
from andon.core.errors import PermissionDenied
from andon.core.permissions import Action, Actor, Role, authorize_somewhere
from andon.documents.rules import DocumentRules, document_rules
from andon.plant import service as plant
from andon.training import adoption, due, export, matrix
from andon.web import csrf
from andon.web.line_charts import Series, share_chart
from andon.web.session import PageCtx
from andon.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_csrf)])

PAGE_SIZE = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILTERS = ("line", "role", "type", "area")
CELLS = {
    matrix.CURRENT: ("current", "Current"),
    matrix.DUE_CODE: ("due", "Due"),
    matrix.OVERDUE: ("overdue", "Overdue"),
    matrix.NOT_REQUIRED: ("none", "—"),
}
"""Cell code → (CSS class, text shown): the text carries the state without colour."""
CELL_HTML = {
    code: Markup('<td class="tm-{}">{}</td>').format(cls, text)
    for code, (cls, text) in CELLS.items()
}
"""A row of 300 cells is joined in Python: a Jinja loop over 30,000 cells is what made a
page of the matrix slow."""


def _row_html(row: str) -> Markup:
    return Markup("").join(CELL_HTML[code] for code in row)


def _rules(request: Request) -> DocumentRules:
    settings: Settings = request.app.state.settings
    return document_rules(settings)


def _filters(params: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    values = {name: params.get(name, "").strip() for name in FILTERS}
    errors: dict[str, str] = {}
    if values["line"] and not values["line"].isdigit():
        errors["line"] = "choose a line from the list"
    if values["role"] and values["role"] not in {r.value for r in Role}:
        errors["role"] = "choose a role from the list"
    return values, errors


def _matrix_filter(values: dict[str, str], page: int = 0) -> matrix.MatrixFilter:
    return matrix.MatrixFilter(
        line_id=int(values["line"]) if values["line"] else None,
        role=values["role"] or None,
        type=values["type"] or None,
        area=values["area"] or None,
        offset=page * PAGE_SIZE,
        limit=PAGE_SIZE,
    )


@router.get("/training")
def matrix_page(request: Request, ctx: PageCtx) -> Response:
    values, errors = _filters(request.query_params)
    page_text = request.query_params.get("page", "0")
    page = int(page_text) if page_text.isdigit() else 0
    found = None
    if not errors:
        found = matrix.training_matrix(ctx, _matrix_filter(values, page), rules=_rules(request))
    kept = {k: v for k, v in values.items() if v}
    pages = (found.total_people + PAGE_SIZE - 1) // PAGE_SIZE if found else 0
    tree = plant.plant_tree(ctx)
    lines = sorted((ln for group in tree.lines.values() for ln in group), key=lambda ln: ln.code)
    return render(
        request,
        "training/matrix.html",
        {
            "section": "training",
            "matrix": found,
            "cells": CELLS,
            "row_html": [_row_html(row) for row in found.rows] if found else [],
            "filters": values,
            "filter_errors": errors,
            "line_options": [(str(ln.id), f"{ln.code} · {ln.name}") for ln in lines],
            "role_options": [(r.value, r.value) for r in Role],
            "export_href": "/training/matrix.xlsx" + (f"?{urlencode(kept)}" if kept else ""),
            "page": page,
            "pages": pages,
            "page_href": lambda n: "/training?" + urlencode({**kept, "page": n}),
        },
        status_code=422 if errors else 200,
    )


@router.get("/training/matrix.xlsx")
def matrix_xlsx(request: Request, ctx: PageCtx) -> Response:
    values, errors = _filters(request.query_params)
    if errors:
        values = dict.fromkeys(FILTERS, "")
    filters = _matrix_filter(values)
    everyone = matrix.MatrixFilter(filters.line_id, filters.role, filters.type, filters.area)
    found = matrix.training_matrix(ctx, everyone, rules=_rules(request))
    return Response(
        export.matrix_xlsx_bytes(found),
        media_type=XLSX,
        headers={
            "Content-Disposition": 'attachment; filename="training-matrix.xlsx"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/training/me")
def my_page(request: Request, ctx: PageCtx) -> Response:
    tasks = due.my_tasks(ctx, rules=_rules(request)) if ctx.actor.user_id is not None else []
    return render(
        request,
        "training/me.html",
        {
            "section": "training",
            "tasks": tasks,
            "can_read_matrix": _may_read(ctx.actor),
        },
    )


@router.get("/training/adoption/{number}")
def adoption_page(request: Request, ctx: PageCtx, number: str) -> Response:
    text = request.query_params.get("revision", "")
    revision = int(text) if text.isdigit() else None
    found = adoption.change_adoption(ctx, number, revision)
    chart = adoption_chart(found)
    return render(
        request,
        "training/adoption.html",
        {"section": "training", "adoption": found, "chart": chart},
    )


def adoption_chart(found: adoption.Adoption) -> str:
    """The two adoption curves of a change, drawn server-side (the revision page shows it too)."""
    return share_chart(
        [
            Series("Acknowledged", "#2563eb", "", [d.acknowledged_share for d in found.days]),
            Series(
                "Executions trained, new revision",
                "#b45309",
                "6 4",
                [d.trained_share for d in found.days],
            ),
        ],
        title=f"Adoption of {found.number} revision {found.revision}",
    )


def _may_read(actor: Actor) -> bool:
    """Whether the actor may read the matrix somewhere (a site's supervisor reads theirs)."""
    try:
        authorize_somewhere(actor, Action.TRAINING_READ)
    except PermissionDenied:
        return False
    return True
