"""Plant hierarchy endpoints: the same five routes at each level."""

# No `from __future__ import annotations`: the route factory hands FastAPI real classes.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from andon.api.deps import Ctx
from andon.api.lanes import FloorRoute
from andon.api.problems import ERROR_RESPONSES
from andon.core.schemas import MAX_ID, PageOut
from andon.plant import service
from andon.plant.schemas import (
    AreaCreate,
    AreaOut,
    AreaUpdate,
    EnterpriseCreate,
    EnterpriseOut,
    EnterpriseUpdate,
    LineCreate,
    LineOut,
    LineUpdate,
    SiteCreate,
    SiteOut,
    SiteUpdate,
)

router = APIRouter(
    prefix="/api/v1", tags=["plant"], responses=ERROR_RESPONSES, route_class=FloorRoute
)


def _routes(
    plural: str,
    singular: str,
    out: Any,
    create_model: Any,
    update_model: Any,
    parent: str | None,
    fns: tuple[Callable[..., Any], ...],
) -> None:
    list_fn, get_fn, create_fn, update_fn, delete_fn = fns
    path = f"/{plural}"
    item = f"/{plural}/{{id}}"

    if parent is None:

        def list_nodes(
            ctx: Ctx,
            cursor: Annotated[str | None, Query(max_length=200)] = None,
            limit: Annotated[int, Query(ge=1, le=500)] = 100,
        ) -> Any:
            page = list_fn(ctx, cursor=cursor, limit=limit)
            return {"items": page.items, "next_cursor": page.next_cursor}

    else:

        def list_nodes(  # type: ignore[misc]
            ctx: Ctx,
            parent_id: Annotated[int | None, Query(alias=parent, ge=1, le=MAX_ID)] = None,
            cursor: Annotated[str | None, Query(max_length=200)] = None,
            limit: Annotated[int, Query(ge=1, le=500)] = 100,
        ) -> Any:
            page = list_fn(ctx, parent_id, cursor=cursor, limit=limit)
            return {"items": page.items, "next_cursor": page.next_cursor}

    def get_node(ctx: Ctx, id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Any:
        return get_fn(ctx, id)

    def create_node(ctx: Ctx, data: create_model) -> Any:
        return create_fn(ctx, data)

    def update_node(
        ctx: Ctx,
        id: Annotated[int, Path(ge=1, le=MAX_ID)],
        data: update_model,
    ) -> Any:
        return update_fn(ctx, id, data)

    def delete_node(
        ctx: Ctx,
        id: Annotated[int, Path(ge=1, le=MAX_ID)],
        version: Annotated[int, Query(ge=1, description="Version being deleted.")],
        reason: Annotated[str | None, Query(max_length=2000)] = None,
    ) -> Response:
        delete_fn(ctx, id, version, reason)
        return Response(status_code=204)

    for fn, name in ((get_node, "get"), (update_node, "update"), (delete_node, "delete")):
        fn.__name__ = f"{name}_{singular}"
    list_nodes.__name__ = f"list_{plural}"
    create_node.__name__ = f"create_{singular}"

    router.get(path, response_model=PageOut[out], summary=f"List {plural}")(list_nodes)
    router.post(path, response_model=out, status_code=201, summary=f"Create a {singular}")(
        create_node
    )
    router.get(item, response_model=out, summary=f"Read a {singular}")(get_node)
    router.patch(item, response_model=out, summary=f"Update a {singular}")(update_node)
    router.delete(item, status_code=204, summary=f"Delete a {singular}")(delete_node)


_routes(
    "enterprises",
    "enterprise",
    EnterpriseOut,
    EnterpriseCreate,
    EnterpriseUpdate,
    None,
    (
        service.list_enterprises,
        service.get_enterprise,
        service.create_enterprise,
        service.update_enterprise,
        service.delete_enterprise,
    ),
)
_routes(
    "sites",
    "site",
    SiteOut,
    SiteCreate,
    SiteUpdate,
    "enterprise_id",
    (
        service.list_sites,
        service.get_site,
        service.create_site,
        service.update_site,
        service.delete_site,
    ),
)
_routes(
    "areas",
    "area",
    AreaOut,
    AreaCreate,
    AreaUpdate,
    "site_id",
    (
        service.list_areas,
        service.get_area,
        service.create_area,
        service.update_area,
        service.delete_area,
    ),
)
_routes(
    "lines",
    "line",
    LineOut,
    LineCreate,
    LineUpdate,
    "area_id",
    (
        service.list_lines,
        service.get_line,
        service.create_line,
        service.update_line,
        service.delete_line,
    ),
)
