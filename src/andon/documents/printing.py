"""A revision as one printable HTML page, and that page as PDF (WeasyPrint, no network).

The page is the template ``documents/print.html`` of the web package's templates, rendered
here with its own autoescaping environment so the CLI and the worker can print without the
web app. Every page carries "UNCONTROLLED WHEN PRINTED" in its running header.
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2
from markupsafe import Markup

from andon.core.clock import to_local
from andon.documents.markdown_io import render_html
from andon.documents.queries import RevisionView

_PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = _PACKAGE / "web" / "templates"
STATIC_DIR = _PACKAGE / "web" / "static"
UNCONTROLLED = "UNCONTROLLED WHEN PRINTED"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def print_context(view: RevisionView, zone: tzinfo) -> dict[str, Any]:
    """What the print page shows: header facts, the content, the signatures in ``zone``."""
    d, r = view.document, view.revision
    signatures = [
        {
            "name": s.name,
            "username": s.username,
            "meaning": s.meaning,
            "role": s.role,
            "signed_at": to_local(s.signed_at, zone).strftime("%Y-%m-%d %H:%M %Z"),
            "digest": s.content_sha256[:12],
            "comment": s.comment,
            "valid": s.id in view.current,
        }
        for s in view.signatures
    ]
    return {
        "number": d.number,
        "title": r.title,
        "type": d.type,
        "revision": r.number,
        "status": r.status,
        "effective_on": r.effective_on.isoformat() if r.effective_on else None,
        "owner": view.owner.username,
        "area": d.area_code,
        "content_sha256": r.content_sha256,
        "change": dict(r.change),
        # render_html escapes all text and drops unsafe addresses.
        "content_html": Markup(render_html(view.file.content)),  # noqa: S704
        "signatures": signatures,
        "uncontrolled": UNCONTROLLED,
    }


def print_html(view: RevisionView, zone: tzinfo, *, printed_at: str = "") -> str:
    """The revision as a standalone HTML page styled by ``/static/print.css``."""
    template = _env.get_template("documents/print.html")
    return template.render(**print_context(view, zone), printed_at=printed_at)


def static_file(url: str) -> Path:
    """The static file ``url`` names (``file:`` inside the static folder, or ``/static/...``);
    ValueError for anything else, so a PDF never reaches the network (an image address in a
    step is left out rather than fetched)."""
    parts = urlsplit(url)
    if parts.scheme not in ("file", ""):
        raise ValueError(f"refused to fetch {url!r}: only the site's own static files")
    path = unquote(parts.path)
    static = STATIC_DIR.resolve()
    if path.startswith("/static/"):
        path = str(static / path.removeprefix("/static/"))
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(static) or not resolved.is_file():
        raise ValueError(f"refused to fetch {url!r}: not one of the site's static files")
    return resolved


def _mime(path: Path) -> str:
    return {
        ".css": "text/css",
        ".svg": "image/svg+xml",
        ".png": "image/png",
        ".woff2": "font/woff2",
    }.get(path.suffix, "application/octet-stream")


def pdf_bytes(html: str) -> bytes:
    """``html`` (from :func:`print_html`) as PDF; stylesheets come from our static files."""
    # Imported here: WeasyPrint loads Pango and fonts, which costs the other commands time.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnly(URLFetcher):  # type: ignore[misc]  # WeasyPrint has no type hints
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            path = static_file(url)
            return URLFetcherResponse(
                url, body=path.read_bytes(), headers={"Content-Type": _mime(path)}
            )

    document = HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=StaticOnly())
    result: bytes = document.write_pdf()
    return result
