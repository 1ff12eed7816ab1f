"""A change after its approval: the rollout plan kept up to date, the definition-of-done items
ticked off by their owners, and the change closed once every item is done.

The plan is not signed (it says how a change is rolled out, not what the standard says), so it
may be updated until the change closes; every update is audited.
"""

from __future__ import annotations

from typing import Any

from andon.core.clock import utcnow
from andon.core.errors import Conflict, InvalidInput, PermissionDenied
from andon.core.permissions import Action, authorize_somewhere
from andon.core.uow import Context
from andon.documents.lifecycle import Status
from andon.documents.models import DocumentRevision
from andon.documents.plan import checked_plan
from andon.documents.service import Outcome, lines_exist
from andon.documents.store import kept_in_plan, load_document, load_revisions, pick_revision


def update_plan(
    ctx: Context, number: str, plan: dict[str, Any], *, revision: int | None = None
) -> Outcome:
    """Replace the rollout plan of a change that has not closed. Items already done stay done
    when the new plan keeps them (same text and owner)."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_AUTHOR)
    checked = checked_plan(plan)
    with ctx.write() as tx:
        document = load_document(tx.session, number)
        row = _latest_change(load_revisions(tx.session, document), revision)
        checked = lines_exist(tx.session, checked)
        done = {(i["text"], i["owner"]): i for i in row.plan.get("done", []) if i.get("done_at")}
        checked["done"] = [done.get((i["text"], i["owner"]), i) for i in checked.get("done", [])]
        before = {k: v for k, v in row.plan.items() if k not in kept_in_plan(row.plan)}
        row.plan = {**checked, **kept_in_plan(row.plan)}
        tx.audit(
            "document_revision",
            row.id,
            "plan",
            before={"plan": before},
            after={"plan": {k: v for k, v in row.plan.items() if k not in kept_in_plan(row.plan)}},
        )
        return Outcome(number, row.number, row.status, row.effective_on)


def complete_item(ctx: Context, number: str, index: int, *, revision: int | None = None) -> Outcome:
    """Tick off item ``index`` of the definition of done: its owner does, or a document author."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_READ)
    now = utcnow()
    with ctx.write() as tx:
        document = load_document(tx.session, number)
        row = _latest_change(load_revisions(tx.session, document), revision)
        items = [dict(i) for i in row.plan.get("done", [])]
        if not 0 <= index < len(items):
            raise InvalidInput.for_field("item", f"the change has {len(items)} items; no {index}")
        item = items[index]
        if item["owner"] != ctx.actor.username and not ctx.actor.can(Action.DOCUMENT_AUTHOR):
            raise PermissionDenied(f"item {index} is {item['owner']}'s to tick off")
        if item.get("done_at"):
            raise Conflict(f"item {index} was done by {item.get('done_by')} at {item['done_at']}")
        item["done_at"] = now.isoformat()
        item["done_by"] = ctx.actor.username
        row.plan = {**row.plan, "done": items}
        tx.audit("document_revision", row.id, "done_item", after={"index": index, **item})
        return Outcome(number, row.number, row.status, row.effective_on)


def close_change(ctx: Context, number: str, *, revision: int | None = None) -> Outcome:
    """Close the change once its revision is in force and every item of its definition of done
    is ticked off; refused (409) naming what is left."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_AUTHOR)
    now = utcnow()
    with ctx.write() as tx:
        document = load_document(tx.session, number)
        row = _latest_change(load_revisions(tx.session, document), revision)
        if row.status != Status.EFFECTIVE:
            raise Conflict(f"revision {row.number} is {row.status}; a change closes once in force")
        left = [i["text"] for i in row.plan.get("done", []) if not i.get("done_at")]
        if left:
            raise Conflict(
                f"{len(left)} item(s) of the definition of done are open: " + "; ".join(left)
            )
        row.closed_at = now
        tx.audit("document_revision", row.id, "close", after={"closed_at": now.isoformat()})
        return Outcome(number, row.number, row.status, row.effective_on)


def _latest_change(revisions: list[DocumentRevision], revision: int | None) -> DocumentRevision:
    row = pick_revision(revisions, revision) if revision is not None else revisions[-1]
    if row.closed_at is not None:
        raise Conflict(f"the change of revision {row.number} closed at {row.closed_at.isoformat()}")
    if row.status in (Status.SUPERSEDED, Status.OBSOLETE):
        raise Conflict(f"revision {row.number} is {row.status}; its change is history")
    return row
