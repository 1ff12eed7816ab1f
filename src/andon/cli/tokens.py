"""`andon token`: API tokens for scripts and integrations, issued for a named user."""

from __future__ import annotations

from typing import Annotated

import typer

from andon.cli.context import operator_context
from andon.cli.tables import echo_json, echo_table, instant

app = typer.Typer(
    help="Issue, list and revoke API tokens (sent as 'Authorization: Bearer <token>').",
    no_args_is_help=True,
)


@app.command("create")
def create(
    user: Annotated[str, typer.Option("--user", help="Username the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for, e.g. 'mes-sync'.")],
    expires_in_days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, help="Days until the token stops working.  [default: never]"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (including the secret) instead of text.")
    ] = False,
) -> None:
    """Issue a token acting as USER. The secret is printed once and never stored."""
    from andon.accounts import service as accounts
    from andon.accounts.schemas import TokenCreate, TokenCreated, TokenOut

    with operator_context() as ctx:
        owner = accounts.find_user(ctx, user)
        data = TokenCreate(name=name, expires_in_days=expires_in_days)
        token, secret = accounts.create_token_for(ctx, owner.id, data)
    if as_json:
        out = TokenCreated(**TokenOut.model_validate(token).model_dump(), token=secret)
        echo_json(out.model_dump(mode="json"))
        return
    expiry = f"expires {instant(token.expires_at)}" if token.expires_at else "does not expire"
    typer.echo(f"Created API token {token.id} '{token.name}' for {owner.username} ({expiry}).")
    typer.echo("")
    typer.echo(f"    {secret}")
    typer.echo("")
    typer.echo("Copy it now: it will not be shown again.")


@app.command("list")
def list_(
    user: Annotated[
        str | None, typer.Option("--user", help="Only this user's tokens.  [default: everyone's]")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List API tokens (never their secrets)."""
    from andon.accounts import service as accounts
    from andon.accounts.schemas import TokenOut

    with operator_context() as ctx:
        owner_id = accounts.find_user(ctx, user).id if user is not None else None
        found = accounts.list_tokens(ctx, owner_id)
        names = {uid: accounts.get_user(ctx, uid).username for uid in {t.user_id for t in found}}
    if as_json:
        echo_json([TokenOut.model_validate(t).model_dump(mode="json") for t in found])
        return
    echo_table(
        ("ID", "USER", "NAME", "PREFIX", "CREATED", "EXPIRES", "LAST USED", "REVOKED"),
        (
            (
                t.id,
                names.get(t.user_id, t.user_id),
                t.name,
                t.prefix,
                t.created_at,
                t.expires_at,
                t.last_used_at,
                t.revoked_at,
            )
            for t in found
        ),
        empty="No API tokens.",
    )


@app.command("revoke")
def revoke(
    token_id: Annotated[
        int, typer.Argument(metavar="ID", help="Token id from `andon token list`.")
    ],
) -> None:
    """Revoke a token: it stops working at once. Revoking twice is harmless."""
    from andon.accounts import service as accounts

    with operator_context() as ctx:
        token = accounts.revoke_token(ctx, token_id)
    typer.echo(
        f"Revoked API token {token.id} '{token.name}' (revoked {instant(token.revoked_at)})."
    )
