"""`andon training`: the training matrix (text, JSON or XLSX) and open training tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from andon.cli.context import operator_context, read_settings
from andon.cli.tables import echo_json, echo_table, plural

app = typer.Typer(
    help="Training: the matrix of people × documents, and due or overdue tasks.",
    no_args_is_help=True,
)

SHOWN = {"current": "current", "due": "due", "overdue": "OVERDUE", "not_required": "-"}


@app.command("matrix")
def matrix(
    line: Annotated[
        str | None,
        typer.Option("--line", metavar="CODE", help="Only this line (L1, CHI/L1, CHI/ASM/L1)."),
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            metavar="ROLE",
            help="People holding this role (default: the training roles, ANDON_TRAINING_ROLES).",
        ),
    ] = None,
    doc_type: Annotated[
        str | None, typer.Option("--type", metavar="TYPE", help="Only documents of this type.")
    ] = None,
    area: Annotated[
        str | None, typer.Option("--area", metavar="CODE", help="Only documents of this area.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    xlsx: Annotated[
        Path | None,
        typer.Option("--xlsx", metavar="FILE", help="Write the matrix to this XLSX file."),
    ] = None,
) -> None:
    """People × effective documents: current, due, overdue or not required per cell."""
    from andon.cli.lines import find_line
    from andon.documents.rules import document_rules
    from andon.training.export import write_matrix_xlsx
    from andon.training.matrix import MatrixFilter, training_matrix

    settings = read_settings()
    with operator_context(settings) as ctx:
        line_id = find_line(ctx, line).id if line is not None else None
        filters = MatrixFilter(line_id=line_id, role=role, type=doc_type, area=area)
        found = training_matrix(ctx, filters, rules=document_rules(settings))
    if xlsx is not None:
        write_matrix_xlsx(found, xlsx)
        typer.echo(
            f"wrote {xlsx}: {plural(len(found.people), 'person', 'people')} × "
            f"{plural(len(found.documents), 'document')}"
        )
        return
    if as_json:
        echo_json(found.to_json())
        return
    headers = ["person", *(f"{d.number} r{d.revision}" for d in found.documents)]
    rows = [
        [person.username, *(SHOWN[found.state(i, j)] for j in range(len(found.documents)))]
        for i, person in enumerate(found.people)
    ]
    echo_table(headers, rows, empty="(no people)")
    typer.echo(
        ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in found.counts.items())
        + f" (as of {found.today})"
    )


@app.command("due")
def due(
    user: Annotated[
        str | None, typer.Option("--user", metavar="USERNAME", help="Only this person's tasks.")
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only tasks past due.")] = False,
    line: Annotated[
        str | None,
        typer.Option("--line", metavar="CODE", help="Only people and documents of this line."),
    ] = None,
    role: Annotated[
        str | None, typer.Option("--role", metavar="ROLE", help="Only people holding this role.")
    ] = None,
    document: Annotated[
        str | None, typer.Option("--document", metavar="NUMBER", help="Only this document.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Open read-and-acknowledge tasks by due date, with the revision read before."""
    from andon.cli.lines import find_line
    from andon.documents.rules import document_rules
    from andon.training.due import DueFilter, due_tasks

    settings = read_settings()
    with operator_context(settings) as ctx:
        line_id = find_line(ctx, line).id if line is not None else None
        filters = DueFilter(
            username=user, line_id=line_id, role=role, number=document, overdue_only=overdue
        )
        tasks = due_tasks(ctx, filters, rules=document_rules(settings))
    if as_json:
        echo_json([t.to_json() for t in tasks])
        return
    echo_table(
        ["user", "document", "revision", "read before", "due on", "state"],
        [
            [
                t.username,
                t.number,
                t.revision,
                t.previous_revision,
                t.due_on.isoformat(),
                "OVERDUE" if t.overdue else "due",
            ]
            for t in tasks
        ],
        empty="(no open tasks)",
    )
