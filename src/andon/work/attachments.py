"""Files attached to work items: checked by content, kept by hash under the data directory."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from andon.core import blobs
from andon.core.clock import utcnow
from andon.core.errors import NotFound
from andon.core.permissions import Action, authorize
from andon.core.uow import Context
from andon.work.events import append_event
from andon.work.loading import load
from andon.work.models import Attachment
from andon.work.queries import item_rows

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# Every type the shared store knows: photos, scans and the logs or CSVs a machine writes.
ALLOWED = tuple(blobs.EXTENSIONS)


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
    refused with nothing written. The name is cleaned (see ``blobs.safe_filename``). The item
    gets an "attached" event and the audit trail an entry, in one transaction.
    """
    now = at or utcnow()
    upload = blobs.checked_upload(
        data, filename, content_type, max_bytes=max_bytes, allowed=ALLOWED
    )
    with ctx.write() as tx:
        loaded = load(tx.session, item_id)
        authorize(ctx.actor, Action.WORK_RECORD, loaded.scope)
        attachment = Attachment(
            item_id=loaded.item.id,
            filename=upload.filename,
            content_type=upload.media_type,
            size_bytes=upload.size_bytes,
            sha256=upload.sha256,
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
            filename=upload.filename,
            content_type=upload.media_type,
            size_bytes=upload.size_bytes,
        )
        tx.audit(
            "attachment",
            attachment.id,
            "create",
            after={
                "item_id": loaded.item.id,
                "filename": upload.filename,
                "content_type": upload.media_type,
                "size_bytes": upload.size_bytes,
                "sha256": upload.sha256,
            },
        )
        # Last, so a refusal above leaves no file; a failed commit leaves at most an
        # unreferenced blob, which a later upload of the same bytes reuses.
        blobs.store_blob(storage, upload.sha256, upload.data)
        return attachment


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
        data = blobs.read_blob(storage, attachment.sha256)
    except NotFound:
        raise NotFound(f"the file of attachment {attachment_id} is missing from storage") from None
    return attachment, data
