"""Files attached to work items: checked by content, kept by hash under the data directory."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from datetime import datetime
from pathlib import Path, PurePosixPath

from andon.core.clock import utcnow
from andon.core.errors import FieldError, InvalidInput, NotFound
from andon.core.permissions import Action, authorize
from andon.core.uow import Context
from andon.work.events import append_event
from andon.work.loading import load
from andon.work.models import Attachment
from andon.work.queries import item_rows

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
FOLDER = "attachments"

# Allowed types, told apart by their first bytes; text is anything that is clean UTF-8.
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
ALLOWED = tuple(EXTENSIONS)
# Control characters a text file has no business holding (tab, newlines, form feed are fine).
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_UNSAFE_NAME = re.compile(r"[^\w.\- ()+]", re.UNICODE)
MAX_FILENAME = 120


def detect_type(data: bytes, filename: str) -> str | None:
    """The allowed media type ``data`` really is, or None; the client's claim plays no part.

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


def blob_path(storage: Path, sha256: str) -> Path:
    return storage / FOLDER / sha256[:2] / sha256


def _store(storage: Path, sha256: str, data: bytes) -> None:
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


def attach_file(
    ctx: Context,
    item_id: int,
    filename: str,
    content_type: str,
    data: bytes,
    *,
    storage: Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    at: datetime | None = None,
) -> Attachment:
    """Attach a file to a work item.

    The type is decided from the content (PNG, JPEG, PDF, UTF-8 text/CSV), never from
    ``content_type`` or the name; anything else, an empty file or one over ``max_bytes`` is
    refused with nothing written. The name is cleaned (see ``safe_filename``). The item
    gets an "attached" event and the audit trail an entry, in one transaction.
    """
    now = at or utcnow()
    if not data:
        raise _refuse("the file is empty")
    if len(data) > max_bytes:
        raise _refuse(f"the file is {len(data)} bytes; the limit is {max_bytes} bytes")
    media_type = detect_type(data, filename)
    if media_type is None:
        claimed = f" (sent as {content_type[:60]})" if content_type else ""
        raise _refuse(
            f"the content is not an allowed type{claimed}; allowed: PNG, JPEG, PDF, "
            "UTF-8 text or CSV"
        )
    name = safe_filename(filename, media_type)
    digest = hashlib.sha256(data).hexdigest()
    with ctx.write() as tx:
        loaded = load(tx.session, item_id)
        authorize(ctx.actor, Action.WORK_RECORD, loaded.scope)
        attachment = Attachment(
            item_id=loaded.item.id,
            filename=name,
            content_type=media_type,
            size_bytes=len(data),
            sha256=digest,
            uploaded_at=now,
            uploaded_by=ctx.actor.username,
        )
        tx.session.add(attachment)
        tx.session.flush()
        append_event(
            tx.session,
            loaded.item,
            kind="attached",
            activity=loaded.spec.stage(loaded.item.stage).name,
            at=now,
            resource=ctx.actor.username,
            process_key=loaded.spec.key,
            lifecycle="attach",
            attachment_id=attachment.id,
            filename=name,
            content_type=media_type,
            size_bytes=len(data),
        )
        tx.audit(
            "attachment",
            attachment.id,
            "create",
            after={
                "item_id": loaded.item.id,
                "filename": name,
                "content_type": media_type,
                "size_bytes": len(data),
                "sha256": digest,
            },
        )
        # Last, so a refusal above leaves no file; a failed commit leaves at most an
        # unreferenced blob, which a later upload of the same bytes reuses.
        _store(storage, digest, data)
        return attachment


def _refuse(msg: str) -> InvalidInput:
    return InvalidInput(f"file: {msg}", [FieldError(("file",), msg)])


def list_attachments(ctx: Context, item_id: int) -> list[Attachment]:
    """An item's attachments, oldest first."""
    return item_rows(ctx, item_id, Attachment, Attachment.item_id)


def read_attachment(ctx: Context, attachment_id: int, storage: Path) -> tuple[Attachment, bytes]:
    """An attachment and its bytes; NotFound if the row or its file is missing."""
    with ctx.read() as session:
        attachment = session.get(Attachment, attachment_id)
        if attachment is None:
            raise NotFound(f"no attachment with id {attachment_id}")
        if attachment.item_id is not None:
            authorize(ctx.actor, Action.WORK_READ, load(session, attachment.item_id).scope)
        else:
            authorize(ctx.actor, Action.WORK_READ)
    try:
        data = blob_path(storage, attachment.sha256).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"the file of attachment {attachment_id} is missing from storage") from None
    return attachment, data
