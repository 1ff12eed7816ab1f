"""Action use cases: open (once per key), list, read, change, comment, close, cancel.

Who may do what: ``action.create`` opens actions and comments; the owner of an action (the
user, or anyone holding the owning role) changes its status, due date and priority, comments
and closes it; ``action.manage`` does all of that to anyone's action, and alone reassigns
and cancels.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from andon.accounts.models import User
from andon.actions import notices
from andon.actions.models import ActionComment, ActionItem, ActionLink
from andon.actions.schemas import (
    UNFINISHED,
    ActionClose,
    ActionCreate,
    ActionDetailOut,
    ActionFilters,
    ActionLinkOut,
    ActionOut,
    ActionUpdate,
    CommentCreate,
    CommentOut,
)
from andon.core.audit import snapshot
from andon.core.clock import utcnow
from andon.core.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied
from andon.core.permissions import Action, Actor, authorize
from andon.core.uow import Context, Transaction

FIELDS = ("title", "owner_user_id", "owner_role", "due_on", "status", "priority", "version")
MAX_KEY = 200


def open_action(
    ctx: Context,
    data: ActionCreate,
    *,
    dedupe_key: str | None = None,
    at: datetime | None = None,
    held_by: str | None = None,
) -> tuple[ActionOut, bool]:
    """Open an action and notify its owner; returns it and whether it was created.

    With ``held_by`` (a room's name, e.g. ``capa``) the action is finished only by that room:
    ``close_action``/``cancel_action`` refuse it unless called with ``holder=held_by``.

    With ``dedupe_key``, at most one open action per key exists, ever: when one is open the
    call returns it (and False) and writes nothing. Two writers racing with the same key are
    settled by the unique ``open_key``: the loser returns the winner's action. Once that
    action is done or cancelled, the key opens a new one.
    """
    now = at or utcnow()
    if dedupe_key is not None and not 0 < len(dedupe_key) <= MAX_KEY:
        raise InvalidInput.for_field("dedupe_key", f"1 to {MAX_KEY} characters")
    with ctx.write() as tx:
        authorize(ctx.actor, Action.ACTION_CREATE)
        session = tx.session
        if dedupe_key is not None:
            found = _open_with_key(session, dedupe_key)
            if found is not None:
                return _out(session, found), False
        owner_id = _owner(session, data.owner_user, data.owner_role, required=True)
        action = ActionItem(
            title=data.title,
            description=data.description,
            owner_user_id=owner_id,
            owner_role=data.owner_role.value if data.owner_role else None,
            due_on=data.due_on,
            status="open",
            priority=data.priority,
            created_by=ctx.actor.username,
            created_at=now,
            open_key=dedupe_key,
            held_by=held_by,
        )
        try:
            # A savepoint: a concurrent writer may hold the key; on PostgreSQL this insert
            # waits for it and fails once it commits, then its action is read back.
            with session.begin_nested():
                session.add(action)
                session.flush()
        except IntegrityError:
            if dedupe_key is None:
                raise
            found = _open_with_key(session, dedupe_key)
            if found is None:
                raise
            return _out(session, found), False
        for link in dict.fromkeys(data.links):
            session.add(ActionLink(action_id=action.id, kind=link.kind, ref=link.ref))
        session.flush()
        tx.audit(
            "action",
            action.id,
            "open",
            after={
                **snapshot(action, FIELDS),
                "links": [f"{link.kind}:{link.ref}" for link in data.links],
                "dedupe_key": dedupe_key,
            },
        )
        notices.assigned(session, action, now)
        return _out(session, action), True


def list_actions(ctx: Context, filters: ActionFilters | None = None) -> list[ActionOut]:
    """Actions matching ``filters``, soonest due first (at most ``filters.limit``)."""
    filters = filters or ActionFilters()
    with ctx.read() as session:
        authorize(ctx.actor, Action.ACTION_READ)
        query = select(ActionItem).order_by(ActionItem.due_on, ActionItem.id).limit(filters.limit)
        if filters.mine:
            query = query.where(_owned_by(ctx.actor))
        if filters.status == "unfinished":
            query = query.where(ActionItem.status.in_(UNFINISHED))
        elif filters.status is not None:
            query = query.where(ActionItem.status == filters.status)
        if filters.overdue:
            today = filters.today or utcnow().date()
            query = query.where(ActionItem.status.in_(UNFINISHED), ActionItem.due_on < today)
        if filters.link is not None:
            query = query.where(
                exists().where(
                    ActionLink.action_id == ActionItem.id,
                    ActionLink.kind == filters.link.kind,
                    ActionLink.ref == filters.link.ref,
                )
            )
        if filters.owner_user is not None:
            user_id = session.scalar(
                select(User.id).where(User.username == filters.owner_user.strip().lower())
            )
            query = query.where(ActionItem.owner_user_id == (user_id or 0))
        if filters.owner_role is not None:
            query = query.where(ActionItem.owner_role == filters.owner_role.value)
        return _outs(session, list(session.scalars(query)))


def open_counts(ctx: Context, kind: str, refs: list[str]) -> dict[str, int]:
    """How many unfinished actions link to each of ``refs`` of ``kind`` (one query; a ref
    with none is left out): what a board shows beside each metric."""
    if not refs:
        return {}
    with ctx.read() as session:
        authorize(ctx.actor, Action.ACTION_READ)
        rows = session.execute(
            select(ActionLink.ref, func.count(ActionItem.id))
            .join(ActionItem, ActionItem.id == ActionLink.action_id)
            .where(
                ActionLink.kind == kind,
                ActionLink.ref.in_(set(refs)),
                ActionItem.status.in_(UNFINISHED),
            )
            .group_by(ActionLink.ref)
        )
        return {ref: int(count) for ref, count in rows}


def get_action(ctx: Context, action_id: int) -> ActionDetailOut:
    """One action with its links and comments (oldest comment first)."""
    with ctx.read() as session:
        authorize(ctx.actor, Action.ACTION_READ)
        action = _get(session, action_id)
        comments = session.scalars(
            select(ActionComment)
            .where(ActionComment.action_id == action_id)
            .order_by(ActionComment.id)
        )
        out = _out(session, action)
        return ActionDetailOut(
            **out.model_dump(), comments=[CommentOut.model_validate(c) for c in comments]
        )


def actions_by_id(session: Session, ids: list[int]) -> dict[int, ActionOut]:
    """The actions with these ids, by id, read in ``session`` (for rooms that hold actions,
    such as CAPAs, listing many at once); the caller has authorized the read."""
    if not ids:
        return {}
    rows = list(session.scalars(select(ActionItem).where(ActionItem.id.in_(ids))))
    return {a.id: a for a in _outs(session, rows)}


def is_owner(ctx: Context, action: ActionOut) -> bool:
    """Whether the actor owns the action: it is theirs, or its role is one they hold."""
    if action.owner_user is not None:
        return action.owner_user == ctx.actor.username and ctx.actor.user_id is not None
    return action.owner_role in {r.value for r in ctx.actor.roles}


def may_change(ctx: Context, action: ActionOut) -> bool:
    """Whether the actor may change, comment on and close the action."""
    return ctx.actor.can(Action.ACTION_MANAGE) or is_owner(ctx, action)


def update_action(
    ctx: Context, action_id: int, data: ActionUpdate, *, at: datetime | None = None
) -> ActionOut:
    """Change status (open, in progress), due date, priority or owner; a new owner is told.

    The owner or ``action.manage``; reassigning needs ``action.manage``. A done or cancelled
    action is not changed. A new due date may be escalated again once it passes.
    """
    now = at or utcnow()
    with ctx.write() as tx:
        session = tx.session
        action = _for_change(tx, action_id, data.version)
        reassign = data.owner_user is not None or data.owner_role is not None
        if reassign:
            authorize(ctx.actor, Action.ACTION_MANAGE)
            if data.owner_user is not None and data.owner_role is not None:
                raise _one_owner()
        before = snapshot(action, FIELDS)
        if reassign:
            action.owner_user_id = _owner(session, data.owner_user, data.owner_role)
            action.owner_role = data.owner_role.value if data.owner_role else None
        if data.status is not None:
            action.status = data.status
        if data.priority is not None:
            action.priority = data.priority
        if data.due_on is not None and data.due_on != action.due_on:
            action.due_on = data.due_on
            action.escalated_at = None
        after = snapshot(action, FIELDS)
        if after == before:
            raise InvalidInput("nothing to change", [FieldError(("status",), "nothing to change")])
        session.flush()
        tx.audit(
            "action",
            action.id,
            "update",
            before=before,
            after=snapshot(action, FIELDS),
            reason=data.reason,
        )
        if reassign and (
            before["owner_user_id"] != action.owner_user_id
            or before["owner_role"] != action.owner_role
        ):
            notices.assigned(session, action, now)
        return _out(session, action)


def comment_action(
    ctx: Context, action_id: int, data: CommentCreate, *, at: datetime | None = None
) -> CommentOut:
    """Add a comment: the owner, ``action.create`` or ``action.manage``; closed ones too."""
    with ctx.write() as tx:
        session = tx.session
        action = _get(session, action_id)
        if not (ctx.actor.can(Action.ACTION_CREATE) or _owns(session, ctx.actor, action)):
            raise PermissionDenied(f"{ctx.actor.username} may not comment on action {action_id}")
        comment = ActionComment(
            action_id=action.id,
            body=data.body,
            author=ctx.actor.username,
            created_at=at or utcnow(),
        )
        session.add(comment)
        session.flush()
        tx.audit(
            "action", action.id, "comment", after={"comment_id": comment.id, "body": data.body}
        )
        return CommentOut.model_validate(comment)


def close_action(
    ctx: Context,
    action_id: int,
    *,
    note: str,
    version: int | None = None,
    at: datetime | None = None,
    holder: str | None = None,
) -> ActionOut:
    """Mark the action done with a note on what was done: its owner or ``action.manage``.

    An action held by another room (``held_by``) is closed only by that room (``holder``).
    """
    return _finish(ctx, action_id, "done", ActionClose(note=note, version=version), at, holder)


def cancel_action(
    ctx: Context,
    action_id: int,
    *,
    note: str,
    version: int | None = None,
    at: datetime | None = None,
    holder: str | None = None,
) -> ActionOut:
    """Cancel the action, saying why: ``action.manage`` only (held actions: their room)."""
    return _finish(ctx, action_id, "cancelled", ActionClose(note=note, version=version), at, holder)


def _finish(
    ctx: Context,
    action_id: int,
    status: str,
    data: ActionClose,
    at: datetime | None,
    holder: str | None,
) -> ActionOut:
    with ctx.write() as tx:
        if status == "cancelled":
            authorize(ctx.actor, Action.ACTION_MANAGE)
        action = _for_change(tx, action_id, data.version)
        if action.held_by is not None and action.held_by != holder:
            raise Conflict(
                f"action {action_id} belongs to a {action.held_by.upper()}: it is "
                f"{'closed' if status == 'done' else 'cancelled'} there, "
                "where its effectiveness is checked"
            )
        before = snapshot(action, FIELDS)
        action.status = status
        action.closed_at = at or utcnow()
        action.closed_by = ctx.actor.username
        action.close_note = data.note
        action.open_key = None
        tx.session.flush()
        tx.audit(
            "action",
            action.id,
            "close" if status == "done" else "cancel",
            before=before,
            after=snapshot(action, FIELDS),
            reason=data.note,
        )
        return _out(tx.session, action)


# --- shared --------------------------------------------------------------------------------


def _get(session: Session, action_id: int) -> ActionItem:
    action = session.get(ActionItem, action_id)
    if action is None:
        raise NotFound(f"no action with id {action_id}")
    return action


def _for_change(tx: Transaction, action_id: int, version: int | None) -> ActionItem:
    """The unfinished action, if the actor owns it or manages actions and ``version`` holds."""
    action = _get(tx.session, action_id)
    if not (tx.actor.can(Action.ACTION_MANAGE) or _owns(tx.session, tx.actor, action)):
        raise PermissionDenied(
            f"{tx.actor.username} may not change action {action_id}: it is not theirs"
        )
    if version is not None and action.version != version:
        raise Conflict(f"action {action_id} is at version {action.version}, not {version}")
    if action.status not in UNFINISHED:
        raise Conflict(f"action {action_id} is {action.status}")
    return action


def _owns(session: Session, actor: Actor, action: ActionItem) -> bool:
    if action.owner_user_id is not None:
        return actor.user_id is not None and actor.user_id == action.owner_user_id
    return action.owner_role in {r.value for r in actor.roles}


def _owned_by(actor: Actor) -> Any:
    roles = sorted(r.value for r in actor.roles)
    mine = ActionItem.owner_user_id == (actor.user_id or 0)
    return or_(mine, ActionItem.owner_role.in_(roles)) if roles else mine


def _one_owner() -> InvalidInput:
    return InvalidInput(
        "owner_user: give the owner as a user or as a role, not both",
        [FieldError(("owner_user",), "give a user or a role as owner, exactly one")],
    )


def _owner(
    session: Session, username: str | None, role: object | None, *, required: bool = False
) -> int | None:
    """The owning user's id (None for a role); refuses both, neither, or an unknown user."""
    if (username is None) == (role is None):
        if username is None and not required:
            return None
        raise _one_owner()
    if username is None:
        return None
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active:
        raise InvalidInput.for_field("owner_user", f"no active user named {username!r}")
    return user.id


def _open_with_key(session: Session, key: str) -> ActionItem | None:
    return session.scalar(select(ActionItem).where(ActionItem.open_key == key))


def _out(session: Session, action: ActionItem) -> ActionOut:
    return _outs(session, [action])[0]


def _outs(session: Session, actions: list[ActionItem]) -> list[ActionOut]:
    """Actions with their owners' usernames and their links, in two queries."""
    ids = [a.id for a in actions]
    user_ids = {a.owner_user_id for a in actions if a.owner_user_id is not None}
    names: dict[int, str] = {}
    if user_ids:
        names = dict(
            session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all()
        )
    links: dict[int, list[ActionLinkOut]] = {i: [] for i in ids}
    if ids:
        for row in session.scalars(
            select(ActionLink).where(ActionLink.action_id.in_(ids)).order_by(ActionLink.id)
        ):
            links[row.action_id].append(ActionLinkOut(kind=row.kind, ref=row.ref))
    return [
        ActionOut(
            id=a.id,
            title=a.title,
            description=a.description,
            owner_user=names.get(a.owner_user_id) if a.owner_user_id is not None else None,
            owner_role=a.owner_role,
            due_on=a.due_on,
            status=a.status,
            priority=a.priority,
            created_by=a.created_by,
            created_at=a.created_at,
            closed_at=a.closed_at,
            closed_by=a.closed_by,
            close_note=a.close_note,
            escalated_at=a.escalated_at,
            version=a.version,
            held_by=a.held_by,
            links=links[a.id],
        )
        for a in actions
    ]


def is_overdue(action: ActionOut, today: date) -> bool:
    """Unfinished and due before ``today`` (the plant's date)."""
    return action.status in UNFINISHED and action.due_on < today
