"""Use cases of process definitions: publish a version, list, read, export, deactivate."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.core.clock import utcnow
from andon.core.errors import Conflict, NotFound
from andon.core.permissions import Action, authorize, authorize_somewhere
from andon.core.schemas import MAX_ID
from andon.core.uow import Context
from andon.processes.models import Process, ProcessVersion
from andon.processes.spec import STORED, ProcessSpec, parse_spec, spec_document


@dataclass(frozen=True)
class Published:
    process: Process
    version: ProcessVersion
    spec: ProcessSpec
    created: bool


def publish(
    ctx: Context,
    spec: ProcessSpec | dict[str, Any],
    *,
    reason: str,
    source: str = "",
    at: datetime | None = None,
) -> Published:
    """Publish ``spec`` as the next version of its process (creating the process if new).

    Items already running keep the version they started on. Publishing a document equal
    to the current version is refused: it would add a version that changes nothing.
    ``at`` places the publication in time (a simulated history); default now.
    """
    if not isinstance(spec, ProcessSpec):
        spec = parse_spec(spec)
    document = spec_document(spec)
    with ctx.write() as tx:
        authorize(ctx.actor, Action.PROCESS_MANAGE)
        session = tx.session
        process = session.scalar(select(Process).where(Process.key == spec.key))
        created = process is None
        if process is None:
            process = Process(key=spec.key, name=spec.name, current_version=1)
            session.add(process)
            session.flush()
            number = 1
            before = None
        else:
            current = _version(session, process.id, process.current_version)
            if current.spec == document:
                raise Conflict(
                    f"process {spec.key!r} version {current.number} already has this definition"
                )
            number = _last_number(session, process.id) + 1
            before = {"current_version": process.current_version, "name": process.name}
            process.current_version = number
            process.name = spec.name
            process.active = True
        version = ProcessVersion(
            process_id=process.id,
            number=number,
            spec=document,
            spec_digest=digest_of(document),
            source=source,
            reason=reason,
            published_at=at or utcnow(),
            published_by=ctx.actor.username,
        )
        session.add(version)
        session.flush()
        tx.audit(
            "process",
            process.id,
            "create" if created else "publish",
            before=before,
            after={"key": spec.key, "name": spec.name, "current_version": number},
            reason=reason,
        )
        return Published(process, version, spec, created)


def _last_number(session: Session, process_id: int) -> int:
    numbers = session.scalars(
        select(ProcessVersion.number).where(ProcessVersion.process_id == process_id)
    )
    return max(numbers, default=0)


def _version(session: Session, process_id: int, number: int) -> ProcessVersion:
    version = session.scalar(
        select(ProcessVersion).where(
            ProcessVersion.process_id == process_id, ProcessVersion.number == number
        )
    )
    if version is None:
        raise NotFound(f"process {process_id} has no version {number}")
    return version


def find_process(session: Session, key_or_id: str | int) -> Process:
    # isdecimal, not isdigit: "²" is a digit that int() refuses. Ids beyond the key range
    # name no row (and would overflow PostgreSQL's integer).
    if isinstance(key_or_id, int) or (isinstance(key_or_id, str) and key_or_id.isdecimal()):
        number = int(key_or_id)
        process = session.get(Process, number) if 0 < number <= MAX_ID else None
    else:
        process = session.scalar(select(Process).where(Process.key == key_or_id))
    if process is None:
        raise NotFound(f"no process {key_or_id!r}")
    return process


def list_processes(ctx: Context) -> list[Process]:
    authorize_somewhere(ctx.actor, Action.PROCESS_READ)
    with ctx.read() as session:
        return list(session.scalars(select(Process).order_by(Process.key)))


def get_process(ctx: Context, key_or_id: str | int) -> Process:
    authorize_somewhere(ctx.actor, Action.PROCESS_READ)
    with ctx.read() as session:
        return find_process(session, key_or_id)


def get_version(
    ctx: Context, key_or_id: str | int, number: int | None = None
) -> tuple[Process, ProcessVersion, ProcessSpec]:
    """A process and one of its versions (the current one by default), with its spec."""
    authorize_somewhere(ctx.actor, Action.PROCESS_READ)
    with ctx.read() as session:
        process = find_process(session, key_or_id)
        version = _version(session, process.id, number or process.current_version)
        return process, version, spec_of(version)


def list_versions(ctx: Context, key_or_id: str | int) -> list[ProcessVersion]:
    authorize_somewhere(ctx.actor, Action.PROCESS_READ)
    with ctx.read() as session:
        process = find_process(session, key_or_id)
        return list(
            session.scalars(
                select(ProcessVersion)
                .where(ProcessVersion.process_id == process.id)
                .order_by(ProcessVersion.number.desc())
            )
        )


def set_active(ctx: Context, key_or_id: str | int, active: bool, *, reason: str) -> Process:
    """Deactivate (no new items; running ones carry on) or reactivate a process."""
    with ctx.write() as tx:
        authorize(ctx.actor, Action.PROCESS_MANAGE)
        process = find_process(tx.session, key_or_id)
        if process.active == active:
            return process
        process.active = active
        tx.audit(
            "process",
            process.id,
            "activate" if active else "deactivate",
            before={"active": not active},
            after={"active": active},
            reason=reason,
        )
        return process


def spec_of(version: ProcessVersion) -> ProcessSpec:
    """The validated spec of a stored version; parsed once per version per process."""
    if version.spec_digest:
        cached = _specs_by_digest.get(version.spec_digest)
        if cached is not None:
            return cached
    spec = _cached_spec(version.id, _freeze(version.spec))
    if version.spec_digest:
        _specs_by_digest[version.spec_digest] = spec
    return spec


def spec_for_version(session: Session, version_id: int, spec_digest: str) -> ProcessSpec:
    """The spec of a version whose digest is known: no database read once parsed here."""
    cached = _specs_by_digest.get(spec_digest) if spec_digest else None
    if cached is not None:
        return cached
    version = session.get(ProcessVersion, version_id)
    if version is None:
        raise NotFound(f"no process version with id {version_id}")
    return spec_of(version)


def digest_of(document: dict[str, Any]) -> str:
    return hashlib.sha256(_freeze(document).encode("utf-8")).hexdigest()


# Parsed specs by content digest. Content-addressed, so never stale; a plant has a few
# dozen versions at most, and each is a small object.
_specs_by_digest: dict[str, ProcessSpec] = {}


@lru_cache(maxsize=256)
def _cached_spec(version_id: int, frozen: str) -> ProcessSpec:
    return ProcessSpec.model_validate(json.loads(frozen), context={STORED: True})


def _freeze(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)
