"""The link from a change record to the risk register, and the gate it sets: a change with
safety impact does not take effect while its risk has unfinished mitigations (actions linked
``risk:ID`` that are open or in progress)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.actions.models import ActionItem, ActionLink
from andon.actions.schemas import UNFINISHED
from andon.core.errors import InvalidInput
from andon.documents.content import Change, parse_risk_reference, risk_reference
from andon.documents.models import DocumentRevision
from andon.improvement.risk_models import Risk


@dataclass(frozen=True)
class LinkedRisk:
    """The register entry a revision links, as the document page shows it."""

    id: int
    reference: str
    title: str
    status: str


def link_risk(
    session: Session,
    change: Change,
    *,
    field: str = "risk",
    row: DocumentRevision | None = None,
) -> tuple[Change, int | None]:
    """The change with its risk named by the canonical reference (``RSK-12``), and that
    risk's id; ``(change, None)`` when it names none.

    Refused (``field`` named): text that is not a reference, a risk not in the register, a
    closed risk. A draft from before the register (``row``) may keep the free text it was
    written with: it stays linked to the entry the migration made of it.
    """
    text = (change.risk or "").strip()
    if not text:
        return replace(change, risk=None), None
    if row is not None and row.risk_id is not None and text == row.change.get("risk"):
        return change, row.risk_id
    risk_id = parse_risk_reference(text)
    if risk_id is None:
        raise InvalidInput.for_field(
            field,
            f"name a risk register entry such as RSK-12, not {text[:60]!r} "
            "(add it with 'andon risk new' or on /risks/new)",
        )
    risk = session.get(Risk, risk_id)
    if risk is None:
        raise InvalidInput.for_field(field, f"no risk {risk_reference(risk_id)} in the register")
    if risk.status == "closed":
        raise InvalidInput.for_field(
            field, f"{risk_reference(risk_id)} is closed; link a risk that is still live"
        )
    return replace(change, risk=risk_reference(risk_id)), risk_id


def linked_risk(session: Session, row: DocumentRevision) -> LinkedRisk | None:
    if row.risk_id is None:
        return None
    risk = session.get(Risk, row.risk_id)
    if risk is None:
        return None
    return LinkedRisk(risk.id, risk_reference(risk.id), risk.title, risk.status)


def unfinished_mitigations(session: Session, risk_id: int) -> list[str]:
    """The mitigations of a risk not yet done or cancelled, soonest due first, each as
    ``action #5 "Fit the ram lock" (open, due 2026-12-10)``."""
    rows = session.execute(
        select(ActionItem.id, ActionItem.title, ActionItem.status, ActionItem.due_on)
        .join(ActionLink, ActionLink.action_id == ActionItem.id)
        .where(
            ActionLink.kind == "risk",
            ActionLink.ref == str(risk_id),
            ActionItem.status.in_(UNFINISHED),
        )
        .order_by(ActionItem.due_on, ActionItem.id)
    )
    return [
        f'action #{i} "{title}" ({status.replace("_", " ")}, due {due.isoformat()})'
        for i, title, status, due in rows
    ]


def gate_of(session: Session, row: DocumentRevision) -> list[str]:
    """What a revision waits for before it may take effect: the unfinished mitigations of
    its risk when the change has safety impact; empty when nothing holds it."""
    if not row.change.get("safety_impact") or row.risk_id is None:
        return []
    return unfinished_mitigations(session, row.risk_id)
