"""Use cases of the plant hierarchy: list, read, create, update and delete each level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from andon.core.audit import snapshot
from andon.core.errors import Conflict, FieldError, InvalidInput, NotFound
from andon.core.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from andon.core.permissions import PLANT_WIDE, Action, Scope, authorize, authorize_somewhere
from andon.core.schemas import VersionedUpdate
from andon.core.uow import Context
from andon.plant.models import Area, Enterprise, Line, Site
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

Node = Enterprise | Site | Area | Line
N = TypeVar("N", Enterprise, Site, Area, Line)


@dataclass(frozen=True)
class _Level:
    entity: str
    model: type[Any]
    fields: tuple[str, ...]
    parent_field: str | None = None
    parent_model: type[Any] | None = None
    child_model: type[Any] | None = None
    child_field: str | None = None


_COMMON = ("name", "description", "version")
ENTERPRISE = _Level(
    "enterprise", Enterprise, _COMMON, child_model=Site, child_field="enterprise_id"
)
SITE = _Level(
    "site",
    Site,
    (*_COMMON, "enterprise_id", "code", "timezone"),
    "enterprise_id",
    Enterprise,
    Area,
    "site_id",
)
AREA = _Level("area", Area, (*_COMMON, "site_id", "code"), "site_id", Site, Line, "area_id")
LINE = _Level("line", Line, (*_COMMON, "area_id", "code", "kind"), "area_id", Area)


def _scope_of(session: Session, node: Node) -> Scope:
    """Where a node sits, for scoped role grants."""
    if isinstance(node, Site):
        return Scope(site_id=node.id)
    if isinstance(node, Area):
        return Scope(site_id=node.site_id, area_id=node.id)
    if isinstance(node, Line):
        area = session.get(Area, node.area_id)
        return Scope(site_id=area.site_id if area else None, area_id=node.area_id)
    return PLANT_WIDE


def _parent_scope(session: Session, level: _Level, parent_id: int | None) -> Scope:
    """Creating a child is an act inside its parent: a site's manager may add its areas."""
    if level.parent_model is None or parent_id is None:
        return PLANT_WIDE
    parent = session.get(level.parent_model, parent_id)
    if parent is None:
        field = level.parent_field or "parent"
        raise InvalidInput(
            f"{field}: no {field.removesuffix('_id')} with id {parent_id}",
            [FieldError((field,), f"no {field.removesuffix('_id')} with id {parent_id}")],
        )
    return Scope() if isinstance(parent, Enterprise) else _scope_of(session, parent)


def _load(session: Session, level: _Level, node_id: int) -> Any:
    node = session.get(level.model, node_id)
    if node is None:
        raise NotFound(f"no {level.entity} with id {node_id}")
    return node


def _list(
    ctx: Context, level: _Level, parent_id: int | None, cursor: str | None, limit: int
) -> Page[Any]:
    authorize_somewhere(ctx.actor, Action.PLANT_READ)
    after = decode_cursor(cursor)
    limit = max(1, min(limit, MAX_LIMIT))
    query = select(level.model).order_by(level.model.id).limit(limit + 1)
    if after is not None:
        query = query.where(level.model.id > after)
    if parent_id is not None and level.parent_field:
        query = query.where(getattr(level.model, level.parent_field) == parent_id)
    with ctx.read() as session:
        rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].id) if more and rows else None)


def _get(ctx: Context, level: _Level, node_id: int) -> Any:
    authorize_somewhere(ctx.actor, Action.PLANT_READ)
    with ctx.read() as session:
        return _load(session, level, node_id)


def _create(ctx: Context, level: _Level, data: BaseModel) -> Any:
    values = data.model_dump()
    with ctx.write() as tx:
        parent_id = values.get(level.parent_field) if level.parent_field else None
        authorize(ctx.actor, Action.PLANT_MANAGE, _parent_scope(tx.session, level, parent_id))
        node = level.model(**values)
        tx.session.add(node)
        tx.session.flush()
        tx.audit(level.entity, node.id, "create", after=snapshot(node, level.fields))
        return node


def _update(ctx: Context, level: _Level, node_id: int, data: VersionedUpdate) -> Any:
    changes = data.model_dump(exclude_unset=True, exclude={"version", "reason"})
    nulls = [name for name, value in changes.items() if value is None]
    if nulls:
        raise InvalidInput(
            f"{nulls[0]}: may not be null; leave it out to keep the current value",
            [FieldError((name,), "may not be null") for name in nulls],
        )
    with ctx.write() as tx:
        node = _load(tx.session, level, node_id)
        authorize(ctx.actor, Action.PLANT_MANAGE, _scope_of(tx.session, node))
        _check_version(level, node, data.version)
        before = snapshot(node, level.fields)
        for name, value in changes.items():
            setattr(node, name, value)
        tx.session.flush()
        tx.audit(
            level.entity,
            node.id,
            "update",
            before=before,
            after=snapshot(node, level.fields),
            reason=data.reason,
        )
        return node


def _delete(ctx: Context, level: _Level, node_id: int, version: int, reason: str | None) -> None:
    with ctx.write() as tx:
        node = _load(tx.session, level, node_id)
        authorize(ctx.actor, Action.PLANT_MANAGE, _scope_of(tx.session, node))
        _check_version(level, node, version)
        if level.child_model is not None and level.child_field is not None:
            children = tx.session.scalar(
                select(func.count())
                .select_from(level.child_model)
                .where(getattr(level.child_model, level.child_field) == node.id)
            )
            if children:
                raise Conflict(
                    f"{level.entity} {node.id} still has {children} "
                    f"{level.child_model.__tablename__}; remove them first"
                )
        before = snapshot(node, level.fields)
        tx.session.delete(node)
        tx.session.flush()
        tx.audit(level.entity, node_id, "delete", before=before, reason=reason)


def _check_version(level: _Level, node: Any, version: int) -> None:
    if node.version != version:
        raise Conflict(
            f"{level.entity} {node.id} is at version {node.version}, not {version}; "
            "reload and retry"
        )


def list_enterprises(ctx: Context, cursor: str | None = None, limit: int = 100) -> Page[Enterprise]:
    return _list(ctx, ENTERPRISE, None, cursor, limit)


def get_enterprise(ctx: Context, enterprise_id: int) -> Enterprise:
    return _get(ctx, ENTERPRISE, enterprise_id)  # type: ignore[no-any-return]


def create_enterprise(ctx: Context, data: EnterpriseCreate) -> Enterprise:
    return _create(ctx, ENTERPRISE, data)  # type: ignore[no-any-return]


def update_enterprise(ctx: Context, enterprise_id: int, data: EnterpriseUpdate) -> Enterprise:
    return _update(ctx, ENTERPRISE, enterprise_id, data)  # type: ignore[no-any-return]


def delete_enterprise(
    ctx: Context, enterprise_id: int, version: int, reason: str | None = None
) -> None:
    _delete(ctx, ENTERPRISE, enterprise_id, version, reason)


def list_sites(
    ctx: Context, enterprise_id: int | None = None, cursor: str | None = None, limit: int = 100
) -> Page[Site]:
    return _list(ctx, SITE, enterprise_id, cursor, limit)


def get_site(ctx: Context, site_id: int) -> Site:
    return _get(ctx, SITE, site_id)  # type: ignore[no-any-return]


def create_site(ctx: Context, data: SiteCreate) -> Site:
    return _create(ctx, SITE, data)  # type: ignore[no-any-return]


def update_site(ctx: Context, site_id: int, data: SiteUpdate) -> Site:
    return _update(ctx, SITE, site_id, data)  # type: ignore[no-any-return]


def delete_site(ctx: Context, site_id: int, version: int, reason: str | None = None) -> None:
    _delete(ctx, SITE, site_id, version, reason)


def list_areas(
    ctx: Context, site_id: int | None = None, cursor: str | None = None, limit: int = 100
) -> Page[Area]:
    return _list(ctx, AREA, site_id, cursor, limit)


def get_area(ctx: Context, area_id: int) -> Area:
    return _get(ctx, AREA, area_id)  # type: ignore[no-any-return]


def create_area(ctx: Context, data: AreaCreate) -> Area:
    return _create(ctx, AREA, data)  # type: ignore[no-any-return]


def update_area(ctx: Context, area_id: int, data: AreaUpdate) -> Area:
    return _update(ctx, AREA, area_id, data)  # type: ignore[no-any-return]


def delete_area(ctx: Context, area_id: int, version: int, reason: str | None = None) -> None:
    _delete(ctx, AREA, area_id, version, reason)


def list_lines(
    ctx: Context, area_id: int | None = None, cursor: str | None = None, limit: int = 100
) -> Page[Line]:
    return _list(ctx, LINE, area_id, cursor, limit)


def get_line(ctx: Context, line_id: int) -> Line:
    return _get(ctx, LINE, line_id)  # type: ignore[no-any-return]


def create_line(ctx: Context, data: LineCreate) -> Line:
    return _create(ctx, LINE, data)  # type: ignore[no-any-return]


def update_line(ctx: Context, line_id: int, data: LineUpdate) -> Line:
    return _update(ctx, LINE, line_id, data)  # type: ignore[no-any-return]


def delete_line(ctx: Context, line_id: int, version: int, reason: str | None = None) -> None:
    _delete(ctx, LINE, line_id, version, reason)


@dataclass
class PlantTree:
    """The whole hierarchy in one read, for pages and the CLI's tree view."""

    enterprises: list[Enterprise]
    sites: dict[int, list[Site]]
    areas: dict[int, list[Area]]
    lines: dict[int, list[Line]]


def plant_tree(ctx: Context) -> PlantTree:
    authorize_somewhere(ctx.actor, Action.PLANT_READ)
    with ctx.read() as session:
        tree = PlantTree(
            list(session.scalars(select(Enterprise).order_by(Enterprise.name))), {}, {}, {}
        )
        for site in session.scalars(select(Site).order_by(Site.name)):
            tree.sites.setdefault(site.enterprise_id, []).append(site)
        for area in session.scalars(select(Area).order_by(Area.name)):
            tree.areas.setdefault(area.site_id, []).append(area)
        for line in session.scalars(select(Line).order_by(Line.name)):
            tree.lines.setdefault(line.area_id, []).append(line)
    return tree


def find_enterprise_by_name(ctx: Context, name: str) -> Enterprise:
    """The enterprise with this exact name (names are unique); NotFound otherwise."""
    authorize_somewhere(ctx.actor, Action.PLANT_READ)
    with ctx.read() as session:
        enterprise = session.scalar(select(Enterprise).where(Enterprise.name == name.strip()))
    if enterprise is None:
        raise NotFound(f"no enterprise named {name.strip()!r}")
    return enterprise


def find_site_by_code(ctx: Context, code: str) -> Site:
    """The site with this code, case-insensitively (codes are stored upper-case and unique)."""
    authorize_somewhere(ctx.actor, Action.PLANT_READ)
    wanted = code.strip().upper()
    with ctx.read() as session:
        site = session.scalar(select(Site).where(Site.code == wanted))
    if site is None:
        raise NotFound(f"no site with code {wanted!r}")
    return site


def find_area_by_code(ctx: Context, site_code: str, area_code: str) -> Area:
    """The area with this code in the site with that code; area codes repeat across sites."""
    site = find_site_by_code(ctx, site_code)
    wanted = area_code.strip().upper()
    with ctx.read() as session:
        area = session.scalar(select(Area).where(Area.site_id == site.id, Area.code == wanted))
    if area is None:
        raise NotFound(f"no area with code {wanted!r} in site {site.code}")
    return area
