"""`andon user`: create and list user accounts, grant roles, disable, reset passwords."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from andon.cli.context import operator_context
from andon.cli.tables import echo_json, echo_table
from andon.core.permissions import Role

if TYPE_CHECKING:
    from andon.accounts.models import User
    from andon.accounts.schemas import GrantIn
    from andon.core.uow import Context

app = typer.Typer(
    help="Manage user accounts: create, list, roles, disable/enable, passwords.",
    no_args_is_help=True,
)

SiteOption = Annotated[
    str | None,
    typer.Option("--site", metavar="CODE", help="Limit the roles to the site with this code."),
]
AreaOption = Annotated[
    str | None,
    typer.Option(
        "--area", metavar="CODE", help="Limit the roles to this area of --site (needs --site)."
    ),
]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input instead of prompting.",
    ),
]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why; kept in the audit trail.")]


@app.command("create")
def create(
    username: Annotated[
        str,
        typer.Argument(
            metavar="USERNAME", help="Sign-in name: lower-case letters, digits, '.', '_' or '-'."
        ),
    ],
    name: Annotated[str, typer.Option("--name", help="Display name, e.g. 'Maria Lopez'.")],
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    role: Annotated[
        list[Role] | None,
        typer.Option("--role", metavar="ROLE", help="Role to grant; repeat for several."),
    ] = None,
    site: SiteOption = None,
    area: AreaOption = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a user. The password is asked for twice (hidden) unless --password-stdin."""
    from andon.accounts import service as accounts
    from andon.accounts.schemas import UserCreate

    _check_scope(site, area)
    with operator_context() as ctx:
        grants = _grants(ctx, role or [], site, area)
        password = _read_password(password_stdin)
        data = UserCreate(
            username=username, display_name=name, email=email, password=password, grants=grants
        )
        user = accounts.create_user(ctx, data)
        labels = _grant_labels(ctx, [user])
    typer.echo(f"Created user {user.username} (id {user.id}): {user.display_name}")
    typer.echo(f"Roles: {labels[user.id] or 'none'}")


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List every user with their roles."""
    from andon.accounts import service as accounts
    from andon.accounts.schemas import UserOut

    with operator_context() as ctx:
        found: list[User] = []
        cursor: str | None = None
        while True:
            page = accounts.list_users(ctx, cursor, limit=500)
            found.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        labels = _grant_labels(ctx, found) if not as_json else {}
    if as_json:
        echo_json([UserOut.model_validate(u).model_dump(mode="json") for u in found])
        return
    echo_table(
        ("ID", "USERNAME", "NAME", "EMAIL", "ACTIVE", "LAST SIGN-IN", "ROLES"),
        (
            (u.id, u.username, u.display_name, u.email, u.active, u.last_login_at, labels[u.id])
            for u in found
        ),
        empty="No users yet. Create one with: andon user create USERNAME --name 'Full Name'",
    )


@app.command("disable")
def disable(
    username: Annotated[str, typer.Argument(metavar="USERNAME", help="Who to disable.")],
    reason: ReasonOption = None,
) -> None:
    """Disable a user: they can no longer sign in, their sessions end, their tokens stop."""
    _set_active(username, active=False, reason=reason)


@app.command("enable")
def enable(
    username: Annotated[str, typer.Argument(metavar="USERNAME", help="Who to enable again.")],
    reason: ReasonOption = None,
) -> None:
    """Enable a disabled user again."""
    _set_active(username, active=True, reason=reason)


@app.command("set-role")
def set_role(
    username: Annotated[str, typer.Argument(metavar="USERNAME", help="Whose roles to replace.")],
    roles: Annotated[
        list[Role],
        typer.Argument(metavar="ROLE", help="The roles they will have, and only these."),
    ],
    site: SiteOption = None,
    area: AreaOption = None,
    reason: ReasonOption = None,
) -> None:
    """Replace a user's roles with exactly ROLES (optionally limited to one site or area)."""
    from andon.accounts import service as accounts

    _check_scope(site, area)
    with operator_context() as ctx:
        user = accounts.find_user(ctx, username)
        grants = _grants(ctx, roles, site, area)
        updated = accounts.set_roles(ctx, user.id, grants, reason)
        labels = _grant_labels(ctx, [updated])
    typer.echo(f"Roles of {updated.username}: {labels[updated.id] or 'none'}")


@app.command("set-password")
def set_password(
    username: Annotated[str, typer.Argument(metavar="USERNAME", help="Whose password to set.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a user's password. Their web sessions are signed out."""
    from andon.accounts import service as accounts
    from andon.accounts.schemas import PasswordSet

    with operator_context() as ctx:
        user = accounts.find_user(ctx, username)
        data = PasswordSet(password=_read_password(password_stdin))
        accounts.set_password(ctx, user.id, data.password)
    typer.echo(f"Password of {user.username} changed; their web sessions were signed out.")


def _set_active(username: str, *, active: bool, reason: str | None) -> None:
    from andon.accounts import service as accounts
    from andon.accounts.schemas import UserUpdate

    with operator_context() as ctx:
        user = accounts.find_user(ctx, username)
        if user.active == active:
            typer.echo(f"{user.username} is already {'enabled' if active else 'disabled'}.")
            return
        data = UserUpdate(version=user.version, active=active, reason=reason)
        updated = accounts.update_user(ctx, user.id, data)
    typer.echo(f"{updated.username} is now {'enabled' if active else 'disabled'}.")


def _check_scope(site: str | None, area: str | None) -> None:
    if area is not None and site is None:
        raise typer.BadParameter(
            "--area needs --site: area codes are unique only within a site", param_hint="--area"
        )


def _grants(ctx: Context, roles: list[Role], site: str | None, area: str | None) -> list[GrantIn]:
    """Grants for ROLES in the site/area given by code; an unknown code raises NotFound."""
    from andon.accounts.schemas import GrantIn
    from andon.plant import service as plant

    site_id: int | None = None
    area_id: int | None = None
    if site is not None and area is not None:
        found_area = plant.find_area_by_code(ctx, site, area)
        site_id, area_id = found_area.site_id, found_area.id
    elif site is not None:
        site_id = plant.find_site_by_code(ctx, site).id
    return [GrantIn(role=r, site_id=site_id, area_id=area_id) for r in roles]


def _grant_labels(ctx: Context, users: list[User]) -> dict[int, str]:
    """Each user's roles as text: ``admin``, ``supervisor@CHI``, ``operator@CHI/ASM``."""
    from andon.plant import service as plant

    places: dict[tuple[int | None, int | None], str] = {}
    if any(g.site_id is not None for u in users for g in u.grants):
        tree = plant.plant_tree(ctx)
        for sites in tree.sites.values():
            for s in sites:
                places[(s.id, None)] = f"@{s.code}"
                for a in tree.areas.get(s.id, []):
                    places[(s.id, a.id)] = f"@{s.code}/{a.code}"
    return {
        u.id: ", ".join(g.role + places.get((g.site_id, g.area_id), "") for g in u.grants)
        for u in users
    }


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise typer.BadParameter(
                "standard input held no password", param_hint="--password-stdin"
            )
        return password
    entered: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return entered
