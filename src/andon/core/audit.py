"""Append-only, hash-chained audit trail: who changed what, when, why, from which request."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Final, cast

import psycopg
from sqlalchemy import JSON, Index, String, Table, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from andon.core.clock import utcnow
from andon.core.database import Base, UTCDateTime
from andon.core.queued import insert_rows, waiting, waiting_key, write_queued

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(nullable=True)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(60), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[str] = mapped_column(String(60), nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    request_id: Mapped[str] = mapped_column(String(100), nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)

    __table_args__ = (
        Index("ix_audit_entries_entity", "entity_type", "entity_id"),
        Index("ix_audit_entries_actor_name", "actor_name"),
        Index("ix_audit_entries_occurred_at", "occurred_at"),
    )

    def canonical(self) -> str:
        """The exact text the entry's hash covers; any edit to a stored field changes it."""
        return canonical_json(
            {
                "seq": self.seq,
                "occurred_at": self.occurred_at.isoformat(),
                "actor_id": self.actor_id,
                "actor_name": self.actor_name,
                "entity_type": self.entity_type,
                "entity_id": self.entity_id,
                "action": self.action,
                "changes": self.changes,
                "reason": self.reason,
                "request_id": self.request_id,
            }
        )


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def jsonable(value: Any) -> Any:
    """Plain JSON form of a column value, stable across SQLite and PostgreSQL."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {name: jsonable(getattr(obj, name)) for name in fields}


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Before/after of the fields that changed; whole snapshots for create and delete."""
    if before is None or after is None:
        return {"before": before, "after": after}
    changed = [k for k in after if before.get(k) != after[k]]
    return {"before": {k: before.get(k) for k in changed}, "after": {k: after[k] for k in changed}}


def append_entry(
    session: Session,
    *,
    actor_id: int | None,
    actor_name: str,
    entity_type: str,
    entity_id: str,
    action: str,
    changes: dict[str, Any],
    reason: str | None,
    request_id: str,
) -> None:
    """Add one entry to the chain as part of the caller's transaction (see append_entries)."""
    append_entries(
        session,
        [
            EntryInput(
                actor_id=actor_id,
                actor_name=actor_name,
                entity_type=entity_type,
                entity_id=entity_id,
                action=action,
                changes=changes,
                reason=reason,
                request_id=request_id,
            )
        ],
    )


@dataclass(frozen=True)
class EntryInput:
    """What one audit entry records; the chain adds its number, time and hashes."""

    actor_id: int | None
    actor_name: str
    entity_type: str
    entity_id: str
    action: str
    changes: dict[str, Any]
    reason: str | None
    request_id: str


def append_entries(session: Session, inputs: Sequence[EntryInput]) -> None:
    """Add entries to the chain, in order, when the caller's transaction commits.

    They join the chain as the last thing before COMMIT, so the chain's lock is held for
    as short a time as possible: every writer of the system waits for it. On PostgreSQL the
    database takes the lock, numbers, hashes and inserts the entries, and commits, all sent
    as one message (migration 0005). On SQLite the transaction holds the write lock from
    BEGIN IMMEDIATE on; the entries are numbered and hashed here. Each entry's time is when
    it was recorded, so an entry may carry a time a few milliseconds before the entry
    numbered ahead of it.
    """
    waiting(session, _PENDING).extend(pending_entry(data) for data in inputs)


def canonical_body(fields: dict[str, Any]) -> str:
    """An entry's canonical JSON without its number: what the database completes and hashes."""
    return canonical_json({**fields, "occurred_at": fields["occurred_at"].isoformat()})


def with_seq(body: str, seq: int) -> str:
    """The canonical JSON of the entry numbered ``seq``: "seq" sorts after every other key."""
    return f'{body[:-1]},"seq":{seq}}}'


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's release: the entries wait for the transaction's own commit
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    # Everything else first: on PostgreSQL the COMMIT goes out with the entries.
    session.flush()
    write_queued(session)
    if session.get_bind().dialect.name == "postgresql":
        _append_in_database(session, pending)
    else:
        _append_here(session, pending)


def _append_here(session: Session, pending: list[dict[str, Any]]) -> None:
    last = session.execute(_HEAD).first()
    seq, prev_hash = (last[0], last[1]) if last else (0, GENESIS_HASH)
    rows = []
    for fields in pending:
        seq += 1
        entry_hash = chain_hash(prev_hash, with_seq(canonical_body(fields), seq))
        rows.append({**fields, "seq": seq, "prev_hash": prev_hash, "hash": entry_hash})
        prev_hash = entry_hash
    insert_rows(session, _TABLE, rows)


def _append_in_database(session: Session, pending: list[dict[str, Any]]) -> None:
    connection = session.connection()
    dbapi = cast(psycopg.Connection[Any], connection.connection.dbapi_connection)
    # no_parameters: the text goes to the driver as it is, or "%" in a value would be read as
    # a placeholder. After it, SQLAlchemy's own commit finds nothing left to commit.
    connection.exec_driver_sql(
        append_message(dbapi, pending), execution_options={"no_parameters": True}
    )


def append_message(dbapi: psycopg.Connection[Any], pending: list[dict[str, Any]]) -> str:
    """``andon_audit_append`` of the entries, then COMMIT, as one message.

    The entries go as one JSON array written into the text client-side: a statement with
    parameters could not share its message with COMMIT.
    """
    entries = [
        {
            **fields,
            "occurred_at": fields["occurred_at"].astimezone(UTC).replace(tzinfo=None).isoformat(),
            "body": canonical_body(fields),
        }
        for fields in pending
    ]
    return psycopg.ClientCursor(dbapi).mogrify(_APPEND, [json.dumps(entries)])


def pending_entry(data: EntryInput) -> dict[str, Any]:
    """The fields of an entry as it waits for its transaction's commit."""
    return {
        # Microsecond precision survives both databases: the hash is reproducible.
        "occurred_at": utcnow(),
        "actor_id": data.actor_id,
        "actor_name": data.actor_name,
        "entity_type": data.entity_type,
        "entity_id": data.entity_id,
        "action": data.action,
        "changes": jsonable(data.changes),
        "reason": data.reason,
        "request_id": data.request_id,
    }


_PENDING = waiting_key("andon.audit.pending")
_APPEND = "SELECT andon_audit_append(%s::json); COMMIT"
_TABLE = cast(Table, AuditEntry.__table__)
# Built once, on the table rather than the entity: a plain statement skips the ORM's
# handling of a query against a mapped class.
_HEAD = select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    broken_seq: int | None = None
    problem: str | None = None
    anchor_failed: bool = False  # the chain verified; the anchored entry is not as it was


def verify_chain(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain in order; report the first entry whose link or hash is wrong."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    count = 0
    query = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    for entry in session.scalars(query):
        if entry.seq != expected_seq:
            return VerifyResult(False, count, entry.seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != prev_hash:
            return VerifyResult(False, count, entry.seq, "link to the previous entry is broken")
        if chain_hash(prev_hash, entry.canonical()) != entry.hash:
            return VerifyResult(False, count, entry.seq, "content does not match its hash")
        prev_hash = entry.hash
        expected_seq += 1
        count += 1
        session.expunge(entry)
    return VerifyResult(True, count)


ANCHOR_FORMAT: Final = "andon-audit-anchor"


@dataclass(frozen=True)
class AuditAnchor:
    """The newest entry at one moment, kept outside the database to detect truncation.

    The chain proves that no stored entry was edited, removed from the middle or reordered;
    an anchor adds that the entry it names is still there with the same hash, so removing
    the newest entries (everything after some point) no longer goes unnoticed.
    """

    seq: int
    hash: str
    occurred_at: datetime
    taken_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "format": ANCHOR_FORMAT,
            "seq": self.seq,
            "hash": self.hash,
            "occurred_at": self.occurred_at.isoformat(),
            "taken_at": self.taken_at.isoformat(),
        }

    @classmethod
    def parse(cls, text: str) -> AuditAnchor:
        """Read an anchor file; anything else is refused with InvalidInput."""
        from andon.core.errors import InvalidInput

        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != ANCHOR_FORMAT:
                raise ValueError("not an Andon audit anchor")
            anchor = cls(
                seq=int(data["seq"]),
                hash=str(data["hash"]),
                occurred_at=datetime.fromisoformat(data["occurred_at"]),
                taken_at=datetime.fromisoformat(data["taken_at"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"anchor: unreadable ({exc})") from None
        if anchor.seq < 1 or len(anchor.hash) != len(GENESIS_HASH):
            raise InvalidInput("anchor: names no audit entry")
        return anchor


def take_anchor(session: Session) -> AuditAnchor | None:
    """The anchor of the chain's newest entry; None while the trail is empty."""
    newest = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    if newest is None:
        return None
    return AuditAnchor(newest.seq, newest.hash, newest.occurred_at, utcnow())


def check_anchor(session: Session, anchor: AuditAnchor) -> str | None:
    """Why the chain no longer holds the anchored entry as it was; None when it does.

    Run after :func:`verify_chain`: on a verified chain, the anchored entry being there
    with its hash means every entry before it is also as it was.
    """
    entry = session.get(AuditEntry, anchor.seq)
    if entry is None:
        newest = session.execute(_HEAD).first()
        end = f"the trail ends at entry {newest[0]}" if newest else "the trail is empty"
        return (
            f"entry {anchor.seq} named by the anchor is missing ({end}): the newest "
            "entries were cut off"
        )
    if entry.hash != anchor.hash:
        return f"entry {anchor.seq} no longer has the anchored hash: the chain was rewritten"
    return None


CSV_COLUMNS = (
    "seq",
    "occurred_at",
    "actor_name",
    "entity_type",
    "entity_id",
    "action",
    "reason",
    "request_id",
    "changes",
    "hash",
)
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """Neutralise spreadsheet formula injection: a cell that starts like a formula is quoted."""
    text_value = "" if value is None else str(value)
    if text_value.startswith(_FORMULA_PREFIXES):
        return "'" + text_value
    return text_value


def csv_rows(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """CSV text, header first, one chunk per entry, for streaming responses and files."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        chunk = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for e in entries:
        values = [
            e.seq,
            e.occurred_at.isoformat(),
            e.actor_name,
            e.entity_type,
            e.entity_id,
            e.action,
            e.reason,
            e.request_id,
            canonical_json(e.changes),
            e.hash,
        ]
        writer.writerow([csv_safe(v) for v in values])
        yield flush()
