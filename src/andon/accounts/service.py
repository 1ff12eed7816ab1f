"""Use cases for people: users, role grants, sign-in with throttling, sessions, API tokens."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from andon.accounts.models import (
    ApiToken,
    RoleGrant,
    SignInFailure,
    SignInLock,
    User,
    WebSession,
)
from andon.accounts.schemas import GrantIn, TokenCreate, UserCreate, UserUpdate
from andon.core.audit import snapshot
from andon.core.clock import utcnow
from andon.core.database import Database
from andon.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    TooManyAttempts,
)
from andon.core.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor
from andon.core.permissions import Action, Actor, Grant, Role, authorize
from andon.core.security import digest, hash_password, needs_rehash, new_secret, same
from andon.core.security import verify_password as password_matches
from andon.core.uow import Context, Transaction
from andon.plant.models import Area, Site

USER_FIELDS = ("username", "display_name", "email", "active", "version")
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
# Bearer tokens resolved in the last few seconds, by digest: an API call then needs no
# database round trip to learn who is asking. Any change to a user, grant or token made in
# this process forgets them all at once; other server processes see it within this time.
TOKEN_CACHE_SECONDS = 5.0
_resolved_tokens: dict[str, tuple[float, Actor, datetime | None]] = {}


def actor_for(user: User) -> Actor:
    grants = tuple(Grant(Role(g.role), g.site_id, g.area_id) for g in user.grants)
    return Actor(user_id=user.id, username=user.username, grants=grants)


def _grants_snapshot(user: User) -> list[dict[str, object]]:
    return [{"role": g.role, "site_id": g.site_id, "area_id": g.area_id} for g in user.grants]


def _resolve_grants(session: Session, grants: list[GrantIn]) -> list[RoleGrant]:
    """Check each grant's scope exists; an area grant is pinned to the area's site."""
    resolved: list[RoleGrant] = []
    seen: set[tuple[str, int | None, int | None]] = set()
    for index, grant in enumerate(grants):
        site_id = grant.site_id
        if grant.area_id is not None:
            area = session.get(Area, grant.area_id)
            if area is None:
                raise _grant_error(index, "area_id", f"no area with id {grant.area_id}")
            if site_id is not None and site_id != area.site_id:
                raise _grant_error(index, "site_id", f"area {area.id} is not in site {site_id}")
            site_id = area.site_id
        elif site_id is not None and session.get(Site, site_id) is None:
            raise _grant_error(index, "site_id", f"no site with id {site_id}")
        key = (grant.role.value, site_id, grant.area_id)
        if key not in seen:
            seen.add(key)
            resolved.append(
                RoleGrant(role=grant.role.value, site_id=site_id, area_id=grant.area_id)
            )
    return resolved


def _grant_error(index: int, field: str, msg: str) -> InvalidInput:
    return InvalidInput(
        f"grants.{index}.{field}: {msg}", [FieldError(("grants", index, field), msg)]
    )


def _load_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def find_user(ctx: Context, username: str) -> User:
    authorize(ctx.actor, Action.USER_READ)
    with ctx.read() as session:
        user = session.scalar(select(User).where(User.username == username.strip().lower()))
        if user is None:
            raise NotFound(f"no user named {username!r}")
        return user


def create_user(ctx: Context, data: UserCreate) -> User:
    authorize(ctx.actor, Action.USER_MANAGE)
    with ctx.write() as tx:
        if tx.session.scalar(select(User.id).where(User.username == data.username)):
            raise Conflict(f"a user named {data.username!r} already exists")
        user = User(
            username=data.username,
            display_name=data.display_name,
            email=data.email,
            password_hash=hash_password(data.password),
        )
        user.grants = _resolve_grants(tx.session, data.grants)
        tx.session.add(user)
        tx.session.flush()
        after = snapshot(user, USER_FIELDS) | {"grants": _grants_snapshot(user)}
        tx.audit("user", user.id, "create", after=after)
        return user


def list_users(ctx: Context, cursor: str | None = None, limit: int = 100) -> Page[User]:
    authorize(ctx.actor, Action.USER_READ)
    after = decode_cursor(cursor)
    limit = max(1, min(limit, MAX_LIMIT))
    query = select(User).order_by(User.id).limit(limit + 1)
    if after is not None:
        query = query.where(User.id > after)
    with ctx.read() as session:
        rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].id) if more and rows else None)


def get_user(ctx: Context, user_id: int) -> User:
    if ctx.actor.user_id != user_id:
        authorize(ctx.actor, Action.USER_READ)
    with ctx.read() as session:
        return _load_user(session, user_id)


def update_user(ctx: Context, user_id: int, data: UserUpdate) -> User:
    authorize(ctx.actor, Action.USER_MANAGE)
    changes = data.model_dump(exclude_unset=True, exclude={"version", "reason"})
    if changes.get("active") is None:
        changes.pop("active", None)
    if "display_name" in changes and changes["display_name"] is None:
        raise InvalidInput.for_field("display_name", "may not be null")
    with ctx.write() as tx:
        user = _load_user(tx.session, user_id)
        if user.version != data.version:
            raise Conflict(f"user {user_id} is at version {user.version}, not {data.version}")
        if changes.get("active") is False and user.id == ctx.actor.user_id:
            raise Conflict("you cannot disable your own account")
        before = snapshot(user, USER_FIELDS)
        for name, value in changes.items():
            setattr(user, name, value)
        if changes.get("active") is False:
            tx.session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        tx.session.flush()
        action = "disable" if changes.get("active") is False else "update"
        if changes.get("active") is True and not before["active"]:
            action = "enable"
        tx.audit(
            "user",
            user.id,
            action,
            before=before,
            after=snapshot(user, USER_FIELDS),
            reason=data.reason,
        )
        return user


def set_roles(ctx: Context, user_id: int, grants: list[GrantIn], reason: str | None = None) -> User:
    """Replace the user's grants with exactly these."""
    authorize(ctx.actor, Action.USER_MANAGE)
    with ctx.write() as tx:
        user = _load_user(tx.session, user_id)
        resolved = _resolve_grants(tx.session, grants)
        before = {"grants": _grants_snapshot(user)}
        keeps_admin = any(g.role == Role.ADMIN for g in resolved)
        had_admin = any(g.role == Role.ADMIN for g in user.grants)
        if user.id == ctx.actor.user_id and had_admin and not keeps_admin:
            raise Conflict("you cannot remove your own admin role")
        user.grants.clear()
        tx.session.flush()
        user.grants.extend(resolved)
        user.version += 1
        tx.session.flush()
        tx.audit(
            "user",
            user.id,
            "set_roles",
            before=before,
            after={"grants": _grants_snapshot(user)},
            reason=reason,
        )
        return user


def set_password(ctx: Context, user_id: int, password: str) -> None:
    if ctx.actor.user_id != user_id:
        authorize(ctx.actor, Action.USER_MANAGE)
    with ctx.write() as tx:
        user = _load_user(tx.session, user_id)
        user.password_hash = hash_password(password)
        # A new password lifts the account's locks from every address.
        tx.session.execute(delete(SignInLock).where(SignInLock.user_id == user.id))
        # A new password ends every web sign-in of the account, the changer's own included.
        tx.session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        tx.audit("user", user.id, "set_password", after={"password": "changed"})


@dataclass(frozen=True)
class LoginPolicy:
    """How many failed sign-ins are allowed: per account and address, and per address."""

    max_failures: int = 5
    lockout_seconds: int = 900
    session_hours: int = 12
    address_max_failures: int = 20
    address_window_seconds: int = 900


@dataclass
class SignIn:
    user: User
    session_token: str
    expires_at: datetime


# Where the client's address is unknown (a Unix socket, a test): all such attempts share one.
UNKNOWN_ADDRESS = "unknown"


def sign_in(
    db: Database,
    username: str,
    password: str,
    policy: LoginPolicy,
    request_id: str,
    address: str = UNKNOWN_ADDRESS,
) -> SignIn:
    """Check a password from a client address, throttling failures; on success open a session.

    Two limits, both kept in the database so they hold across requests and processes:

    - an address with ``address_max_failures`` failed checks (any accounts, known or not)
      within the last ``address_window_seconds`` is refused until the oldest of those leaves
      the window, without the password being checked: spraying passwords across accounts
      gets only so many guesses;
    - ``max_failures`` consecutive failures of one account from one address lock that account
      for that address for ``lockout_seconds``, even for the right password. Other addresses
      can still sign in, so guessing from one place cannot lock the owner out.

    Failures are recorded (and committed) before the error is raised.
    """
    now = utcnow()
    name = username.strip().lower()
    where = address[:64] or UNKNOWN_ADDRESS
    attempt = Actor(user_id=None, username=name or "?")
    ctx = Context(db, attempt, request_id)
    failure: Exception | None = None
    result: SignIn | None = None
    with ctx.write() as tx:
        wait = _address_wait(tx.session, where, policy, now)
        if wait is not None:
            failure = _too_many(wait)
        else:
            user = tx.session.scalar(select(User).where(User.username == name))
            ok = password_matches(user.password_hash if user else None, password)
            lock = tx.session.get(SignInLock, (user.id, where)) if user is not None else None
            if user is None or not user.active:
                failure = _record_failure(tx, None, where, policy, now)
            elif lock is not None and lock.locked_until is not None and lock.locked_until > now:
                failure = _too_many(int((lock.locked_until - now).total_seconds()) + 1)
            elif not ok:
                failure = _record_failure(tx, user, where, policy, now)
            else:
                tx.actor = actor_for(user)
                if lock is not None:
                    tx.session.delete(lock)
                result = _open_session(tx, user, policy, now, password)
    if failure is not None:
        raise failure
    assert result is not None
    return result


def _too_many(wait_seconds: int) -> TooManyAttempts:
    wait = max(1, wait_seconds)
    minutes = max(1, -(-wait // 60))
    return TooManyAttempts(f"too many failed sign-ins; try again in {minutes} min", wait)


def _address_wait(session: Session, address: str, policy: LoginPolicy, now: datetime) -> int | None:
    """Seconds until the address may try again, or None when it is under its limit."""
    since = now - timedelta(seconds=policy.address_window_seconds)
    recent = list(
        session.scalars(
            select(SignInFailure.failed_at)
            .where(SignInFailure.address == address, SignInFailure.failed_at > since)
            .order_by(SignInFailure.failed_at.desc())
            .limit(policy.address_max_failures)
        )
    )
    if len(recent) < policy.address_max_failures:
        return None
    # Once the oldest of the last `limit` failures leaves the window, one more try is allowed.
    freed_at = recent[-1] + timedelta(seconds=policy.address_window_seconds)
    return int((freed_at - now).total_seconds()) + 1


def _record_failure(
    tx: Transaction, user: User | None, address: str, policy: LoginPolicy, now: datetime
) -> Exception:
    """Count a failed check against the address and, for a real account, the account there."""
    tx.session.add(SignInFailure(address=address, failed_at=now))
    tx.session.flush()
    failure: Exception = NotAuthenticated("wrong username or password")
    if user is not None:
        failure = _count_account_failure(tx, user, address, policy, now)
    wait = _address_wait(tx.session, address, policy, now)
    if wait is not None:
        # sign_in refuses a throttled address before any check, so a failure recorded here
        # that puts the address over its limit is the one that reached it: worth a line in
        # the audit trail.
        until = now + timedelta(seconds=wait)
        tx.audit("sign_in_address", address, "throttle", after={"until": until})
        if isinstance(failure, TooManyAttempts):
            # The account was locked by this same failure: wait for whichever ends later.
            wait = max(wait, failure.retry_after_seconds)
        return _too_many(wait)
    return failure


def _count_account_failure(
    tx: Transaction, user: User, address: str, policy: LoginPolicy, now: datetime
) -> Exception:
    session = tx.session
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    # Two processes may record the first failure of the same pair at once; neither may fail.
    session.execute(
        insert(SignInLock)
        .values(user_id=user.id, address=address, failed_logins=0)
        .on_conflict_do_nothing(index_elements=["user_id", "address"])
    )
    lock = session.scalars(
        select(SignInLock)
        .where(SignInLock.user_id == user.id, SignInLock.address == address)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    lock.failed_logins += 1
    if lock.failed_logins >= policy.max_failures:
        lock.failed_logins = 0
        lock.locked_until = now + timedelta(seconds=policy.lockout_seconds)
        tx.audit(
            "user",
            user.id,
            "lock",
            after={"locked_until": lock.locked_until, "address": address},
        )
        return _too_many(policy.lockout_seconds)
    tx.audit(
        "user",
        user.id,
        "login_failed",
        after={"failed_logins": lock.failed_logins, "address": address},
    )
    return NotAuthenticated("wrong username or password")


def _open_session(
    tx: Transaction, user: User, policy: LoginPolicy, now: datetime, password: str
) -> SignIn:
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    token = new_secret()
    expires_at = now + timedelta(hours=policy.session_hours)
    tx.session.add(WebSession(token_digest=digest(token), user_id=user.id, expires_at=expires_at))
    # Expired sessions and failures past every window are cleared as people sign in; no
    # separate sweeper is needed.
    tx.session.execute(delete(WebSession).where(WebSession.expires_at < now))
    stale = now - timedelta(seconds=policy.address_window_seconds)
    tx.session.execute(delete(SignInFailure).where(SignInFailure.failed_at <= stale))
    tx.audit("user", user.id, "login")
    return SignIn(user, token, expires_at)


def sign_out(db: Database, session_token: str, request_id: str) -> None:
    ctx = Context(db, Actor(user_id=None, username="?"), request_id)
    with ctx.write() as tx:
        row = tx.session.scalar(
            select(WebSession).where(WebSession.token_digest == digest(session_token))
        )
        if row is None:
            return
        user = tx.session.get(User, row.user_id)
        tx.session.delete(row)
        if user is not None:
            tx.actor = actor_for(user)
            tx.audit("user", user.id, "logout")


def actor_from_session(db: Database, session_token: str) -> Actor | None:
    with db.read_session() as session:
        row = session.scalar(
            select(WebSession).where(WebSession.token_digest == digest(session_token))
        )
        if row is None or row.expires_at <= utcnow():
            return None
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        return actor_for(user)


def create_token(ctx: Context, data: TokenCreate) -> tuple[ApiToken, str]:
    """A token for the acting user; the secret is returned once and stored only as a digest."""
    authorize(ctx.actor, Action.TOKEN_OWN)
    if ctx.actor.user_id is None:
        raise PermissionDenied("tokens belong to a user; use `andon token create --user NAME`")
    return _issue_token(ctx, ctx.actor.user_id, data)


def create_token_for(ctx: Context, user_id: int, data: TokenCreate) -> tuple[ApiToken, str]:
    """An administrator (or the local CLI) issues a token for someone."""
    if ctx.actor.user_id != user_id:
        authorize(ctx.actor, Action.USER_MANAGE)
    return _issue_token(ctx, user_id, data)


def _issue_token(ctx: Context, user_id: int, data: TokenCreate) -> tuple[ApiToken, str]:
    with ctx.write() as tx:
        user = _load_user(tx.session, user_id)
        if not user.active:
            raise Conflict(f"user {user.username} is disabled")
        prefix = secrets.token_hex(4)
        secret = new_secret(32)
        raw = f"andon_{prefix}_{secret}"
        expires_at = (
            utcnow() + timedelta(days=data.expires_in_days) if data.expires_in_days else None
        )
        token = ApiToken(
            user_id=user.id,
            name=data.name,
            prefix=prefix,
            token_digest=digest(raw),
            expires_at=expires_at,
        )
        tx.session.add(token)
        tx.session.flush()
        tx.audit(
            "api_token",
            token.id,
            "create",
            after={
                "user_id": user.id,
                "name": token.name,
                "prefix": prefix,
                "expires_at": expires_at,
            },
        )
        return token, raw


def list_tokens(ctx: Context, user_id: int | None = None) -> list[ApiToken]:
    """The acting user's tokens, or another user's for an administrator."""
    target = user_id if user_id is not None else ctx.actor.user_id
    if target != ctx.actor.user_id or target is None:
        authorize(ctx.actor, Action.USER_READ)
    query = select(ApiToken).order_by(ApiToken.id)
    if target is not None:
        query = query.where(ApiToken.user_id == target)
    with ctx.read() as session:
        return list(session.scalars(query))


def revoke_token(ctx: Context, token_id: int) -> ApiToken:
    with ctx.write() as tx:
        token = tx.session.get(ApiToken, token_id)
        if token is None:
            raise NotFound(f"no API token with id {token_id}")
        if token.user_id != ctx.actor.user_id:
            authorize(ctx.actor, Action.USER_MANAGE)
        if token.revoked_at is not None:
            return token
        token.revoked_at = utcnow()
        tx.audit("api_token", token.id, "revoke", after={"revoked_at": token.revoked_at})
        return token


def cached_token_actor(raw: str) -> Actor | None:
    """The token's owner if it was resolved moments ago (no database); None: ask the database."""
    key = digest(raw)
    cached = _resolved_tokens.get(key)
    if cached is None:
        return None
    resolved_at, actor, expires_at = cached
    if time.monotonic() - resolved_at < TOKEN_CACHE_SECONDS and (
        expires_at is None or utcnow() < expires_at
    ):
        return actor
    _resolved_tokens.pop(key, None)
    return None


def actor_from_token(db: Database, raw: str) -> Actor | None:
    """The owner of a valid API token, or None for an unknown, revoked or expired one."""
    cached = cached_token_actor(raw)
    if cached is not None:
        return cached
    parts = raw.split("_")
    if len(parts) < 3 or parts[0] != "andon":
        return None
    now = utcnow()
    key = digest(raw)
    with db.read_session() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.prefix == parts[1]))
        if token is None or not same(token.token_digest, key):
            return None
        if token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
            return None
        user = session.get(User, token.user_id)
        if user is None or not user.active:
            return None
        actor = actor_for(user)
        stale = token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL
        _resolved_tokens[key] = (time.monotonic(), actor, token.expires_at)
    # Recording use on every call would turn each read into a write; once a minute is enough.
    if stale:
        with db.write_session() as session:
            session.execute(
                update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
            )
            session.commit()
    return actor


@event.listens_for(Session, "before_flush")
def _forget_resolved_tokens(session: Session, _context: Any, _instances: Any) -> None:
    """A change to who may do what takes effect on the next request, not seconds later."""
    if not _resolved_tokens:
        return
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, (User, RoleGrant, ApiToken)):
            _resolved_tokens.clear()
            return
