"""The changes improvement work points at, found by the references people write:
``SOP-ASM-001/3`` (a document's revision), ``assembly/2`` (a process version), ``rework_rate/2``
(a metric definition's version). Each finder returns None for a reference that names nothing,
malformed ones included, so the caller refuses it on its own field."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.documents.models import Document, DocumentRevision
from andon.metrics.models import Metric, MetricVersion
from andon.processes.models import Process, ProcessVersion


def split_ref(ref: str) -> tuple[str, int] | None:
    """``NAME/NUMBER`` as (name, number); None when it is not written that way."""
    name, _, number = ref.rpartition("/")
    if not name or not number.isdigit():
        return None
    return name, int(number)


def revision_by_ref(session: Session, ref: str) -> DocumentRevision | None:
    parts = split_ref(ref)
    if parts is None:
        return None
    return session.scalar(
        select(DocumentRevision)
        .join(Document, Document.id == DocumentRevision.document_id)
        .where(Document.number == parts[0], DocumentRevision.number == parts[1])
    )


def process_version_by_ref(session: Session, ref: str) -> ProcessVersion | None:
    parts = split_ref(ref)
    if parts is None:
        return None
    return session.scalar(
        select(ProcessVersion)
        .join(Process, Process.id == ProcessVersion.process_id)
        .where(Process.key == parts[0], ProcessVersion.number == parts[1])
    )


def metric_version_by_ref(session: Session, ref: str) -> MetricVersion | None:
    parts = split_ref(ref)
    if parts is None:
        return None
    return session.scalar(
        select(MetricVersion)
        .join(Metric, Metric.id == MetricVersion.metric_id)
        .where(Metric.key == parts[0], MetricVersion.version == parts[1])
    )
