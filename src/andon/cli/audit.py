"""`andon audit`: verify the hash chain, anchor its head, read recent entries, export CSV."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from andon.cli.context import operator_context
from andon.cli.tables import echo_table, plural

app = typer.Typer(
    help="Read, export and verify the append-only, hash-chained audit trail.",
    no_args_is_help=True,
)

EntityTypeOption = Annotated[
    str | None,
    typer.Option("--entity-type", help="Only entries about this kind of record, e.g. user, site."),
]
ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Only entries by this actor, e.g. cli:maria or sam.")
]


def _instant(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 instant with its offset (2025-03-01T08:00:00Z or ...+01:00)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time, e.g. 2025-03-01T08:00:00Z", param_hint=option
        ) from None


@app.command()
def verify(
    anchor: Annotated[
        Path | None,
        typer.Option(
            "--anchor",
            exists=True,
            dir_okay=False,
            help="Also check that the entry named by this anchor file (`andon audit anchor`) "
            "is still there with its hash: detects the newest entries being cut off.",
        ),
    ] = None,
) -> None:
    """Recompute the hash chain. Exit 0 when intact, 1 at the first broken entry."""
    from andon.core import audit_queries
    from andon.core.audit import AuditAnchor

    taken = AuditAnchor.parse(anchor.read_text(encoding="utf-8")) if anchor else None
    with operator_context() as ctx:
        result = audit_queries.verify(ctx, taken)
    if result.ok:
        checked = f"; entry {taken.seq} matches the anchor" if taken else ""
        typer.echo(f"OK: {plural(result.count, 'entry', 'entries')} verified{checked}")
        return
    if result.anchor_failed:
        typer.echo(
            f"BROKEN: {result.problem} "
            f"({plural(result.count, 'entry', 'entries')} verified as a chain)"
        )
        raise typer.Exit(1)
    typer.echo(
        f"BROKEN at entry {result.broken_seq}: {result.problem} "
        f"({plural(result.count, 'entry', 'entries')} before it verified)"
    )
    raise typer.Exit(1)


@app.command()
def anchor(
    output: Annotated[
        Path | None,
        typer.Argument(
            metavar="[FILE]", dir_okay=False, help="Write the anchor here.  [default: stdout]"
        ),
    ] = None,
) -> None:
    """Export the newest entry's number, hash and time as JSON, for `verify --anchor`."""
    import json

    from andon.core import audit_queries

    with operator_context() as ctx:
        taken = audit_queries.anchor(ctx)
    text = json.dumps(taken.as_json(), indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"Anchored entry {taken.seq} ({taken.hash[:12]}…) in {output}")


@app.command()
def log(
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many entries.")] = 20,
    entity_type: EntityTypeOption = None,
    actor: ActorOption = None,
) -> None:
    """Show the newest audit entries, newest first."""
    from andon.core import audit_queries

    where = audit_queries.AuditFilter(entity_type=entity_type, actor=actor)
    with operator_context() as ctx:
        page = audit_queries.list_entries(ctx, where, limit=limit)
    echo_table(
        ("SEQ", "WHEN (UTC)", "ACTOR", "ENTITY", "ACTION", "REASON"),
        (
            (
                e.seq,
                e.occurred_at,
                e.actor_name,
                f"{e.entity_type} {e.entity_id}",
                e.action,
                e.reason,
            )
            for e in page.items
        ),
        empty="No audit entries match.",
    )


@app.command()
def export(
    entity_type: EntityTypeOption = None,
    actor: ActorOption = None,
    since: Annotated[
        str | None, typer.Option(help="From this instant on (ISO 8601 with offset).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Before this instant (ISO 8601 with offset).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write to FILE.  [default: stdout]"),
    ] = None,
) -> None:
    """Export audit entries as CSV, oldest first."""
    from andon.core import audit_queries

    where = audit_queries.AuditFilter(
        entity_type=entity_type,
        actor=actor,
        since=_instant(since, "--since"),
        until=_instant(until, "--until"),
    )
    with operator_context() as ctx:
        chunks = audit_queries.export_csv(ctx, where)
        if output is None:
            for chunk in chunks:
                typer.echo(chunk, nl=False)
            return
        rows = -1  # the header is not an entry
        with output.open("w", encoding="utf-8", newline="") as file:
            for chunk in chunks:
                file.write(chunk)
                rows += 1
    typer.echo(f"Wrote {rows} entries to {output}")
