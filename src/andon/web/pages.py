"""Page routes (being built out; see the web room)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response


def render_error(request: Request, status: int, title: str, detail: str) -> Response:
    return HTMLResponse(f"<h1>{title}</h1><p>{detail}</p>", status_code=status)


def install(app: FastAPI) -> None:
    return None
