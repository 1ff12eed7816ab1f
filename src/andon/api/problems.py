"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from andon.core.errors import (
    AndonError,
    FieldError,
    InvalidInput,
    NotAuthenticated,
    Refused,
    Source,
    TooManyAttempts,
)

log = logging.getLogger("andon.api")
PROBLEM_JSON = "application/problem+json"


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description="Path to the field at fault, e.g. [body, name].")
    msg: str
    type: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldProblem] | None = None
    allowed: list[str] | None = Field(
        default=None, description="A refused move: the stages the item may move to from here."
    )
    rejected: list[dict[str, Any]] | None = Field(
        default=None,
        description="A refused import: every bad row as {line, errors, raw}; nothing was written.",
    )


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    body = Problem(
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        errors=[FieldProblem(**e) for e in errors] if errors is not None else None,
        **(extra or {}),
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": text}
    for code, text in {
        400: "Bad request",
        401: "Not authenticated",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict with the current state (e.g. stale version)",
        413: "Request body too large",
        415: "Unsupported media type",
        422: "Invalid input; `errors` names the fields",
        429: "Too many attempts",
    }.items()
}


def request_loc(
    request: Request, loc: Sequence[str | int], source: Source | None = None
) -> list[str | int]:
    """A service's field path located in the request: under ``source`` when the adapter set
    one, else under ``query`` when the path starts at one of the endpoint's query parameters,
    else under ``body`` (JSON, form or raw body alike)."""
    if source is None:
        source = "query" if loc and loc[0] in _query_parameters(request) else "body"
    return [source, *loc]


def _query_parameters(request: Request) -> set[str | int]:
    # Read from the matched route and its dependencies, so a new endpoint needs no list kept
    # by hand; only a refusal pays for the walk.
    route = request.scope.get("route")
    names: set[str | int] = set()
    pending = [route.dependant] if isinstance(route, APIRoute) else []
    while pending:
        dependant = pending.pop()
        names.update(p.alias for p in dependant.query_params)
        pending.extend(dependant.dependencies)
    return names


def relocated(exc: InvalidInput, *prefix: str | int, source: Source = "body") -> InvalidInput:
    """The same refusal for input the adapter nested: a parsed document's paths put under
    ``prefix`` in ``source``, whatever their first key (a document's keys could be anything,
    even a query parameter's name)."""
    return InvalidInput(
        exc.detail,
        [FieldError((*prefix, *e.loc), e.msg, e.type) for e in exc.errors],
        source=source,
    )


def _clean_errors(raw: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "loc": [p for p in e.get("loc", ()) if isinstance(p, str | int)],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "value_error")),
        }
        for e in raw
    ]


def install(app: FastAPI, html_renderer: Any = None) -> None:
    """Map errors once. Page requests get HTML from ``html_renderer`` when one is given."""

    def respond(request: Request, status: int, title: str, detail: str, **kw: Any) -> Response:
        if html_renderer is not None and not request.url.path.startswith(("/api/", "/healthz")):
            response: Response = html_renderer(request, status, title, detail)
            return response
        return problem_response(request, status, title, detail, **kw)

    @app.exception_handler(AndonError)
    async def _domain(request: Request, exc: AndonError) -> Response:
        headers = {}
        errors = None
        extra = None
        if isinstance(exc, NotAuthenticated) and exc.field is not None:
            # The credentials were fine; a field of the request (a signing password) was not.
            loc = request_loc(request, (exc.field,))
            errors = [{"loc": loc, "msg": exc.detail, "type": "not_authenticated"}]
        elif isinstance(exc, NotAuthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, TooManyAttempts):
            headers["Retry-After"] = str(exc.retry_after_seconds)
        if isinstance(exc, InvalidInput):
            errors = [
                {"loc": request_loc(request, e.loc, exc.source), "msg": e.msg, "type": e.type}
                for e in exc.errors
            ]
        if isinstance(exc, Refused):
            loc = request_loc(request, (exc.field,))
            errors = [{"loc": loc, "msg": exc.detail, "type": exc.kind}]
            extra = {"allowed": exc.allowed}
        return respond(
            request, exc.status, exc.title, exc.detail, errors=errors, headers=headers, extra=extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = _clean_errors(list(exc.errors()))
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"])
        detail = f"{where}: {first['msg']}" if where else str(first["msg"])
        return respond(request, 422, "Invalid input", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = {
            404: "Not found",
            405: "Method not allowed",
            415: "Unsupported media type",
        }.get(exc.status_code, "Error")
        return respond(request, exc.status_code, title, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(
            request, 500, "Internal error", "an unexpected error occurred; it was logged"
        )
