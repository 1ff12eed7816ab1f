"""Uploaded files: checked by content, kept once by their SHA-256 under the data directory.

Work-item attachments and document images share this store; each domain keeps its own rows
(name, who, when) and chooses which of the known types it accepts.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from andon.core.errors import FieldError, InvalidInput, NotFound

# The folder name predates documents; backups and existing data directories hold it.
FOLDER = "attachments"

# Known types, told apart by their first bytes; text is anything that is clean UTF-8.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"%PDF-", "application/pdf"),
)
EXTENSIONS = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "application/pdf": (".pdf",),
    "text/csv": (".csv",),
    "text/plain": (".txt", ".log"),
}
# How a refusal names each type, in the order it lists them.
_LABELS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "application/pdf": "PDF",
    "text/plain": "UTF-8 text",
    "text/csv": "CSV",
}
# Control characters a text file has no business holding (tab, newlines, form feed are fine).
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_UNSAFE_NAME = re.compile(r"[^\w.\- ()+]", re.UNICODE)
MAX_FILENAME = 120


@dataclass(frozen=True)
class Upload:
    """A file that passed ``checked_upload``: its cleaned name, real type and digest."""

    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    data: bytes = field(repr=False)


def detect_type(data: bytes, filename: str) -> str | None:
    """The known media type ``data`` really is, or None; the client's claim plays no part.

    Text (UTF-8, optionally with a byte-order mark, no control characters) is ``text/csv``
    when the name ends in .csv and ``text/plain`` otherwise.
    """
    for magic, media_type in _SIGNATURES:
        if data.startswith(magic):
            return media_type
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None
    if _CONTROL.search(text):
        return None
    return "text/csv" if filename.lower().endswith(".csv") else "text/plain"


def safe_filename(raw: str, media_type: str) -> str:
    """A name safe to store and to send back: no path, no control or shell characters, no
    leading dot, at most 120 characters, ending in an extension that matches the content."""
    name = unicodedata.normalize("NFC", raw.replace("\\", "/"))
    name = PurePosixPath(name).name if "/" in name else name
    name = _UNSAFE_NAME.sub("_", name).strip(" .").lstrip("-")
    name = re.sub(r"_{2,}", "_", name) or "attachment"
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    suffix = f".{ext.lower()}" if ext else ""
    if suffix not in EXTENSIONS[media_type]:
        stem, suffix = name, EXTENSIONS[media_type][0]
    return stem[: MAX_FILENAME - len(suffix)] + suffix


def accept(allowed: Collection[str]) -> str:
    """The extensions of ``allowed`` types for a file input's ``accept`` attribute."""
    return ",".join(sorted({ext for t in allowed for ext in EXTENSIONS[t]}))


def checked_upload(
    data: bytes,
    filename: str,
    content_type: str,
    *,
    max_bytes: int,
    allowed: Collection[str],
) -> Upload:
    """``data`` as an upload of one of the ``allowed`` types, or InvalidInput on ``file``.

    Refused: an empty file, one over ``max_bytes``, and content that is none of ``allowed``
    (the type comes from the bytes; ``content_type`` and the name's extension only appear
    in the message, so an executable named .png or HTML named .pdf is refused).
    """
    unknown = set(allowed) - set(EXTENSIONS)
    if unknown:
        raise ValueError(f"unknown media types: {', '.join(sorted(unknown))}")
    if not data:
        raise _refuse("the file is empty")
    if len(data) > max_bytes:
        raise _refuse(f"the file is {len(data)} bytes; the limit is {max_bytes} bytes")
    media_type = detect_type(data, filename)
    if media_type is None or media_type not in allowed:
        claimed = f" (sent as {content_type[:60]})" if content_type else ""
        raise _refuse(f"the content is not an allowed type{claimed}; allowed: {_listed(allowed)}")
    return Upload(
        filename=safe_filename(filename, media_type),
        media_type=media_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )


def _listed(allowed: Collection[str]) -> str:
    labels = [label for media_type, label in _LABELS.items() if media_type in allowed]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"


def _refuse(msg: str) -> InvalidInput:
    return InvalidInput(f"file: {msg}", [FieldError(("file",), msg)])


def blob_path(storage: Path, sha256: str) -> Path:
    """Where the content with ``sha256`` lives under the data directory ``storage``."""
    return storage / FOLDER / sha256[:2] / sha256


def store_blob(storage: Path, sha256: str, data: bytes) -> None:
    """Write the content once; the same bytes uploaded twice share one file."""
    target = blob_path(storage, sha256)
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write aside and rename, so a reader never sees half a file.
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_blob(storage: Path, sha256: str) -> bytes:
    """The stored content with ``sha256``; NotFound if its file is gone."""
    try:
        return blob_path(storage, sha256).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"the stored file {sha256} is missing from storage") from None
