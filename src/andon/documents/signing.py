"""Electronic signatures: the signer proves who they are again, with their password, at signing.

21 CFR Part 11 §11.200(a)(1)(i): a signing outside a continuous session, or the first in one,
uses both components of the credential. Andon asks for the password at every signing, on pages,
API and CLI alike; the password is checked before the unit of work opens, so a wrong one stores
nothing (and costs no transaction time).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from andon.accounts.models import User
from andon.core.errors import NotAuthenticated, PermissionDenied
from andon.core.permissions import Actor
from andon.core.security import verify_password
from andon.core.uow import Context
from andon.documents.lifecycle import Signer


def check_password(ctx: Context, password: str | None) -> None:
    """Raise NotAuthenticated (401) unless ``password`` is the acting person's own."""
    if ctx.actor.user_id is None:
        raise PermissionDenied(
            "a signature needs a person: act as a user (for the CLI, --as USERNAME)"
        )
    with ctx.read() as session:
        user = session.get(User, ctx.actor.user_id)
        stored = user.password_hash if user is not None and user.active else None
    if not password or not verify_password(stored, password):
        raise NotAuthenticated(
            f"password: the password of {ctx.actor.username} is wrong; nothing was signed",
            field="password",
        )


def signer_for(session: Session, actor: Actor) -> Signer:
    """The acting person as a signer, with their printed name and roles.

    Every role the person holds counts, wherever granted: documents are shared across the
    plant, and which roles must sign is the approval policy's business, not the grant's reach.
    """
    if actor.user_id is None:
        raise PermissionDenied("a signature needs a person, not the system")
    user = session.get(User, actor.user_id)
    if user is None or not user.active:
        raise PermissionDenied(f"{actor.username} is not an active user")
    return Signer(user.id, user.username, user.display_name, actor.roles)
