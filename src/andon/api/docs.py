"""The interactive API documentation (Swagger UI), served from the app's own static files."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

# No inline script: /static/api-docs.js starts Swagger UI with the schema URL it reads from
# the page, so the page runs under the same Content-Security-Policy as every other page.
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API documentation</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui.css">
<link rel="icon" href="/static/vendor/swagger-favicon.png">
<script src="/static/vendor/swagger-ui-bundle.js" defer></script>
<script src="/static/api-docs.js" defer></script>
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
</body>
</html>
"""


@router.get("/api/docs")
def api_docs(request: Request) -> HTMLResponse:
    root_path = str(request.scope.get("root_path", "")).rstrip("/")
    openapi_url = root_path + (request.app.openapi_url or "")
    page = _PAGE.format(
        title=html.escape(request.app.title), openapi_url=html.escape(openapi_url, quote=True)
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})
