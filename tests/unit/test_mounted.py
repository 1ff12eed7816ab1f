"""Every API router, page router and CLI group defined in the package is reachable."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import typer
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

import andon.api
import andon.cli
import andon.web
from andon.cli import main as cli_main
from andon.core.config import Settings
from andon.core.database import Database


def modules_of(package: ModuleType) -> list[ModuleType]:
    """Every module in ``package`` and its subpackages, imported."""
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
        if not info.ispkg
    ]


def routers_of(package: ModuleType) -> dict[str, APIRouter]:
    """Module name -> its module-level ``router``, for every module that has one."""
    return {
        module.__name__: module.router
        for module in modules_of(package)
        if isinstance(getattr(module, "router", None), APIRouter)
    }


def unmounted_routes(app: FastAPI, routers: dict[str, APIRouter]) -> list[str]:
    """``module: METHODS path`` for each route of ``routers`` that ``app`` does not serve.

    A route is mounted when the app serves a route with its endpoint function and methods.
    """
    served = {(route.endpoint, frozenset(route.methods)) for route in served_routes(app.routes)}
    return [
        f"{name}: {','.join(sorted(route.methods))} {route.path}"
        for name, router in sorted(routers.items())
        for route in router.routes
        if isinstance(route, APIRoute) and (route.endpoint, frozenset(route.methods)) not in served
    ]


def served_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """The API routes in ``routes``, looking inside included routers.

    FastAPI keeps an included router as one entry holding the original (``original_router``)
    and resolves its routes per request; older versions copied the routes into the app.
    """
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            yield from served_routes(included.routes)


def module_typers() -> dict[str, typer.Typer]:
    """``module.attribute`` -> every module-level Typer app in andon.cli."""
    return {
        f"{module.__name__}.{name}": value
        for module in modules_of(andon.cli)
        for name, value in vars(module).items()
        if isinstance(value, typer.Typer)
    }


def reachable_typers(root: typer.Typer, lazy: dict[str, tuple[str, str]]) -> list[typer.Typer]:
    """``root``, its lazily loaded groups, and every group added below them."""
    pending = [root] + [getattr(importlib.import_module(m), a) for m, a in lazy.values()]
    seen: list[typer.Typer] = []
    while pending:
        current = pending.pop()
        if any(current is known for known in seen):
            continue
        seen.append(current)
        pending.extend(
            info.typer_instance for info in current.registered_groups if info.typer_instance
        )
    return seen


def unreachable_typers(typers: dict[str, typer.Typer], reachable: list[Any]) -> list[str]:
    return sorted(
        name for name, app in typers.items() if not any(app is known for known in reachable)
    )


def built_app(tmp_path: Path) -> FastAPI:
    from andon.api.app import create_app

    url = f"sqlite:///{tmp_path / 'andon.db'}"  # never opened: no request is made
    settings = Settings(database_url=url, secret_key="k" * 64, data_dir=tmp_path)
    return create_app(settings, Database(url))


def test_every_api_router_is_mounted(tmp_path: Path) -> None:
    routers = routers_of(andon.api)
    assert {"andon.api.work", "andon.api.health", "andon.api.analytics"} <= routers.keys()
    assert all(router.routes for router in routers.values())

    assert unmounted_routes(built_app(tmp_path), routers) == []


def test_every_page_router_is_mounted(tmp_path: Path) -> None:
    routers = routers_of(andon.web)
    assert {"andon.web.work_item_pages", "andon.web.home_pages"} <= routers.keys()

    assert unmounted_routes(built_app(tmp_path), routers) == []


def test_a_router_left_out_of_the_app_is_reported() -> None:
    routers = routers_of(andon.api)
    app = FastAPI()
    app.include_router(routers["andon.api.health"])

    missing = unmounted_routes(app, routers)

    assert not any(line.startswith("andon.api.health:") for line in missing)
    assert "andon.api.work: POST /api/v1/work-items" in missing


def test_every_cli_group_is_added_to_the_main_app() -> None:
    typers = module_typers()
    assert {"andon.cli.db.app", "andon.cli.lines.rule_app", "andon.cli.mining.app"} <= (
        typers.keys()
    )

    reachable = reachable_typers(cli_main.app, cli_main.LAZY_GROUPS)

    assert unreachable_typers(typers, reachable) == []


def test_a_cli_group_left_out_of_the_main_app_is_reported() -> None:
    lazy = {k: v for k, v in cli_main.LAZY_GROUPS.items() if k != "line"}

    reachable = reachable_typers(cli_main.app, lazy)

    assert unreachable_typers(module_typers(), reachable) == [
        "andon.cli.lines.app",
        "andon.cli.lines.rule_app",
    ]
