"""Images and PDFs attached to documents, kept once by SHA-256 in the shared blob store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from andon.core import blobs
from andon.core.clock import utcnow
from andon.core.errors import NotFound
from andon.core.permissions import Action, authorize_somewhere
from andon.core.uow import Context
from andon.documents.models import DocumentAttachment
from andon.documents.store import load_document

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# What a document shows or links: photos of a step, drawings and scans. Text files are work
# items' machine logs; a document's text lives in its revisions, signed.
ALLOWED = ("image/png", "image/jpeg", "application/pdf")


def attach_file(
    ctx: Context,
    number: str,
    filename: str,
    content_type: str,
    data: bytes,
    *,
    storage: Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    at: datetime | None = None,
) -> DocumentAttachment:
    """Attach an image or PDF to document ``number``.

    The type is decided from the content, never from ``content_type`` or the name (HTML named
    .pdf is refused); an empty file or one over ``max_bytes`` too, all as InvalidInput on
    ``file`` with nothing written. The row and its audit entry are one transaction.
    """
    authorize_somewhere(ctx.actor, Action.DOCUMENT_AUTHOR)
    now = at or utcnow()
    upload = blobs.checked_upload(
        data, filename, content_type, max_bytes=max_bytes, allowed=ALLOWED
    )
    with ctx.write() as tx:
        document = load_document(tx.session, number)
        attachment = DocumentAttachment(
            document_id=document.id,
            filename=upload.filename,
            content_type=upload.media_type,
            size_bytes=upload.size_bytes,
            sha256=upload.sha256,
            uploaded_at=now,
            uploaded_by=ctx.actor.username,
        )
        tx.session.add(attachment)
        tx.session.flush()
        tx.audit(
            "document_attachment",
            attachment.id,
            "create",
            after={
                "document": document.number,
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


def list_attachments(ctx: Context, number: str) -> list[DocumentAttachment]:
    """A document's attachments, oldest first."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_READ)
    with ctx.read() as session:
        document = load_document(session, number)
        return list(
            session.scalars(
                select(DocumentAttachment)
                .where(DocumentAttachment.document_id == document.id)
                .order_by(DocumentAttachment.id)
            )
        )


def read_attachment(
    ctx: Context, attachment_id: int, storage: Path
) -> tuple[DocumentAttachment, bytes]:
    """An attachment and its bytes; NotFound if the row or its file is missing."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_READ)
    with ctx.read() as session:
        attachment = session.get(DocumentAttachment, attachment_id)
    if attachment is None:
        raise NotFound(f"no document attachment with id {attachment_id}")
    try:
        data = blobs.read_blob(storage, attachment.sha256)
    except NotFound:
        raise NotFound(f"the file of attachment {attachment_id} is missing from storage") from None
    return attachment, data
