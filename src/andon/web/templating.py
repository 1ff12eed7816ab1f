"""The Jinja environment of the pages and the one function that renders a page."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from andon.core.clock import to_local
from andon.core.config import Settings
from andon.core.permissions import Action, Actor
from andon.web import csrf, flash

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def format_local(moment: datetime | None, request: Request) -> str:
    """A UTC instant as wall-clock time in the display zone, with the zone's abbreviation.

    What ``local_time`` shows in templates, for messages built in Python (flash messages).
    """
    if moment is None:
        return "—"
    settings: Settings = request.app.state.settings
    return to_local(moment, settings.zone).strftime("%Y-%m-%d %H:%M %Z")


@jinja2.pass_context
def local_time(context: jinja2.runtime.Context, moment: datetime | None) -> str:
    """A UTC instant as wall-clock time in the display zone, with the zone's abbreviation."""
    return format_local(moment, context["request"])


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``"1 stop"``, ``"3 stops"``, ``"0 stops"``: a count with its noun in the right number."""
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {noun}"


def plain_value(value: Any) -> str:
    """A stored value as a person reads it: blanks as a dash, structures as compact JSON."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local_time"] = local_time
    env.filters["plain"] = plain_value
    env.filters["plural"] = plural
    env.globals["Action"] = Action
    return env


templates = Jinja2Templates(env=_environment())


def current_actor(request: Request) -> Actor | None:
    """The signed-in actor the session dependency found for this request, if any."""
    actor: Actor | None = getattr(request.state, "actor", None)
    return actor


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page in the layout: signed-in user, CSRF token and any flash message included."""
    settings: Settings = request.app.state.settings
    message = flash.read(request)
    values: dict[str, Any] = {
        "actor": current_actor(request),
        "csrf_token": csrf.token_for(request),
        "flash": message,
        "zone_name": settings.timezone,
        "section": "",
        "errors": {},
        "values": {},
    }
    values.update(context or {})
    response = templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=headers
    )
    response.headers["Cache-Control"] = "no-store"
    csrf.attach(request, response)
    if message is not None:
        flash.clear(request, response)
    return response
