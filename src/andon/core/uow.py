"""Unit of work: one use case, one transaction, audited inside it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from andon.core.audit import EntryInput, append_entries, append_entry, diff
from andon.core.database import Database
from andon.core.errors import Conflict
from andon.core.permissions import Actor
from andon.core.queued import write_queued


@dataclass
class Transaction:
    """A writing session plus the audit context of the request that opened it."""

    session: Session
    actor: Actor
    request_id: str

    def audit(
        self,
        entity_type: str,
        entity_id: object,
        action: str,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        # Flush first so generated ids and versions are in the entry.
        write_queued(self.session)
        self.session.flush()
        append_entry(
            self.session,
            actor_id=self.actor.user_id,
            actor_name=self.actor.username,
            entity_type=entity_type,
            entity_id=str(entity_id),
            action=action,
            changes=diff(before, after),
            reason=reason,
            request_id=self.request_id,
        )

    def audit_many(self, records: Sequence[AuditRecord]) -> None:
        """``audit`` for many changes at once: one flush, one insert of all the entries."""
        if not records:
            return
        write_queued(self.session)
        self.session.flush()
        append_entries(
            self.session,
            [
                EntryInput(
                    actor_id=self.actor.user_id,
                    actor_name=self.actor.username,
                    entity_type=r.entity_type,
                    entity_id=str(r.entity_id),
                    action=r.action,
                    changes=diff(r.before, r.after),
                    reason=r.reason,
                    request_id=self.request_id,
                )
                for r in records
            ],
        )


@dataclass(frozen=True)
class AuditRecord:
    """One change for ``Transaction.audit_many``."""

    entity_type: str
    entity_id: object
    action: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str | None = None


@dataclass
class _Shared:
    """The unit of work open for a request: one per context and the contexts derived from it."""

    tx: Transaction | None = None


@dataclass
class Context:
    """What every service function receives: the database, who acts, and the request id.

    ``as_actor`` derives a context for another person that shares this one's unit of work:
    inside ``atomic()`` both write in the one transaction, and each audit entry names the
    person whose context wrote it.
    """

    db: Database
    actor: Actor
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _shared: _Shared = field(default_factory=_Shared, repr=False)

    @contextmanager
    def atomic(self) -> Iterator[Transaction]:
        """One transaction around several use cases (a bulk load): all of them or none."""
        if self._shared.tx is not None:
            yield self._joined(self._shared.tx)
            return
        with self.write() as tx:
            self._shared.tx = tx
            try:
                yield tx
            finally:
                self._shared.tx = None

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        """Commit once at the end; any error rolls everything back, audit entries included."""
        if self._shared.tx is not None:
            # Inside atomic(): the outer unit of work commits or rolls back for everyone.
            yield self._joined(self._shared.tx)
            return
        session = self.db.write_session()
        try:
            yield Transaction(session, self.actor, self.request_id)
            session.commit()
        except StaleDataError:
            session.rollback()
            raise Conflict("the record was changed by someone else; reload and retry") from None
        except IntegrityError as exc:
            session.rollback()
            raise Conflict(f"the change clashes with existing data: {_constraint(exc)}") from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _joined(self, active: Transaction) -> Transaction:
        # A view of the open transaction for this context's actor: the shared one is never
        # re-labelled, so an entry written after this step still names its own person.
        if active.actor == self.actor and active.request_id == self.request_id:
            return active
        return Transaction(active.session, self.actor, self.request_id)

    @contextmanager
    def read(self) -> Iterator[Session]:
        if self._shared.tx is not None:
            yield self._shared.tx.session
            return
        session = self.db.read_session()
        try:
            yield session
        finally:
            # close() ends the transaction without expiring what was loaded, so results
            # stay readable after the session is gone.
            session.close()

    def as_actor(self, actor: Actor) -> Context:
        """This context acting as ``actor``, inside the same unit of work when one is open."""
        return Context(self.db, actor, self.request_id, self._shared)


def _constraint(exc: IntegrityError) -> str:
    message = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
    return message[:200]
