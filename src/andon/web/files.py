"""Sending a stored file back to a browser, the same way for every page that offers one."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response


def file_response(data: bytes, filename: str, content_type: str) -> Response:
    """The file's bytes: pictures and PDFs open in the browser, anything else comes as a
    download; whatever the file holds, it runs nothing and loads nothing on this site."""
    inline = content_type.startswith("image/") or content_type.endswith("/pdf")
    disposition = "inline" if inline else "attachment"
    media_type = content_type
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
        },
    )
