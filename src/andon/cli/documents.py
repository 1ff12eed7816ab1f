"""`andon doc`: controlled documents from the command line — write, import, review, sign, read.

Authoring and signing are done by a person, never by the local operator: `--as USERNAME`
names them, and every signature asks for that person's password (standard input when it is
not a terminal, a hidden prompt otherwise). The services check the password before they write,
so a wrong one exits 1 with nothing stored.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn

import typer

from andon.cli.context import operator_context, read_settings
from andon.cli.tables import echo_json, echo_table, instant
from andon.core.permissions import Role

if TYPE_CHECKING:
    from andon.core.uow import Context
    from andon.documents.content import DocumentFile
    from andon.documents.queries import RevisionView
    from andon.documents.rules import DocumentRules
    from andon.documents.service import Outcome

app = typer.Typer(
    help="Controlled documents (SOPs, work instructions, checklists): write, import, submit, "
    "approve with e-signatures, acknowledge, review, read and compare revisions.",
    no_args_is_help=True,
)

NumberArgument = Annotated[
    str, typer.Argument(metavar="NUMBER", help="Document number, e.g. SOP-SAF-001.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
SignerOption = Annotated[
    str,
    typer.Option(
        "--as",
        metavar="USERNAME",
        help="Who signs; their password is read from standard input, or asked for.",
    ),
]
AuthorOption = Annotated[
    str | None,
    typer.Option("--as", metavar="USERNAME", help="Who writes it. Default: the owner it names."),
]
RevisionOption = Annotated[
    int | None,
    typer.Option(
        "--revision",
        metavar="N",
        min=1,
        help="Revision number. Default: the effective one, else the newest.",
    ),
]
EffectiveOption = Annotated[
    datetime | None,
    typer.Option(
        "--effective",
        metavar="YYYY-MM-DD",
        formats=["%Y-%m-%d"],
        help="The day it takes effect. Default: on its final approval.",
    ),
]


# --- writing -------------------------------------------------------------------------------


@app.command()
def new(
    doc_type: Annotated[
        str,
        typer.Option(
            "--type", help="Document type: SOP, WI, checklist, form, policy (or the plant's own)."
        ),
    ],
    title: Annotated[str, typer.Option("--title", help="The document's title.")],
    owner: Annotated[
        str, typer.Option("--owner", metavar="USERNAME", help="Who owns it and reviews it.")
    ],
    area: Annotated[
        str | None, typer.Option("--area", metavar="CODE", help="Area code, e.g. ASM.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="FILE", dir_okay=False, help="Write here, not to stdout."
        ),
    ] = None,
) -> None:
    """Write a starter Markdown file to fill in and then `andon doc import`.

    It has the front matter, every section heading and one example step to replace; it is
    given its number on import. Nothing is stored in the database.
    """
    from andon.documents.markdown_io import render_markdown

    types = _rules().types
    if doc_type not in types:
        raise typer.BadParameter(
            f"one of {', '.join(types)}, not {doc_type!r}", param_hint="--type"
        )
    if output is not None and output.exists():
        _fail(f"{output} exists; choose another file (nothing was written)")
    text = render_markdown(starter(doc_type, title, owner, area))
    _write(text, output)
    if output is not None:
        typer.echo(f"Wrote {output}; fill it in, then: andon doc import {output} --as USERNAME")


def starter(doc_type: str, title: str, owner: str, area: str | None) -> DocumentFile:
    """The starter document: a placeholder in every section, so each heading is written."""
    from andon.documents.content import Content, DocumentFile, Header, Step
    from andon.documents.content import Role as DocRole

    content = Content(
        purpose="Say why this document exists and what goes wrong without it.",
        scope="Say where, on which equipment and for which tasks it applies.",
        roles=(DocRole("Operator", "Follows the steps and stops when something is not right."),),
        hazards=("Name each hazard of the task, or delete this section.",),
        ppe=("Name the protective equipment, or delete this list.",),
        steps=(
            Step(
                text="Replace this example step with the first thing the person does.",
                key_point="What makes the step go right.",
                accept=("How the person knows the step is done right.",),
            ),
        ),
    )
    header = Header(type=doc_type, title=title, owner=owner, area=area)
    return DocumentFile(header=header, content=content)


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.md", exists=True, dir_okay=False, readable=True, help="The Markdown file."
        ),
    ],
    username: AuthorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a document from a Markdown file, or — when its front matter names an existing
    number — that document's next draft revision, with USERNAME as author (without --as, the
    owner the front matter names)."""
    from andon.documents import service

    text = file.read_bytes().decode("utf-8")
    with _acting(username or _file_owner(text, _rules().types)) as (ctx, rules):
        outcome = service.import_markdown(ctx, text, rules=rules)
    if as_json:
        echo_json(outcome.to_json())
        return
    typer.echo(f"Imported {outcome.number} revision {outcome.revision} ({outcome.status}).")


@app.command()
def revise(
    number: NumberArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why the document changes.")],
    username: AuthorOption = None,
    safety_impact: Annotated[
        bool | None,
        typer.Option(
            "--safety-impact/--no-safety-impact",
            help="Whether the change affects safety (then a risk and a safety approval).",
        ),
    ] = None,
    training: Annotated[
        bool | None,
        typer.Option("--training/--no-training", help="Whether readers must be trained again."),
    ] = None,
    risk: Annotated[
        str | None,
        typer.Option(
            "--risk",
            metavar="RSK-ID",
            help="The risk register entry the change addresses (RSK-12 or 12; see "
            "`andon risk list`).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Start a new draft from the effective revision, with its change record, USERNAME as author
    (without --as, the document's owner). Edit it with `andon doc export` and `andon doc
    import`; the effective revision stays in force."""
    from andon.documents import service
    from andon.documents.content import parse_risk_reference

    risk_id = parse_risk_reference(risk) if risk is not None else None
    if risk is not None and risk_id is None:
        raise typer.BadParameter(f"RSK-12 or 12, not {risk!r}", param_hint="--risk")
    with _acting(username or _document_owner(number)) as (ctx, rules):
        outcome = service.revise(
            ctx,
            number,
            reason=reason,
            safety_impact=safety_impact,
            training=training,
            risk_id=risk_id,
            rules=rules,
        )
    _echo_outcome(outcome, as_json, "New draft")


# --- review and signatures -----------------------------------------------------------------


@app.command()
def submit(
    number: NumberArgument,
    username: SignerOption,
    effective: EffectiveOption = None,
    sign: Annotated[
        bool,
        typer.Option("--sign", help="Also sign it as its author (reads the password)."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Send the draft to review."""
    from andon.documents import service

    with _acting(username) as (ctx, rules):
        password = _password(username) if sign else None
        outcome = service.submit(
            ctx, number, effective_on=_day(effective), password=password, rules=rules
        )
        view = _view(ctx, outcome, rules)
    _echo_outcome(outcome, as_json, "Submitted", view)


@app.command()
def approve(
    number: NumberArgument,
    username: SignerOption,
    role: Annotated[
        Role | None,
        typer.Option("--role", metavar="ROLE", help="Sign for this role. Default: the one needed."),
    ] = None,
    effective: EffectiveOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve the revision in review with an electronic signature. The last approval it needs
    makes it approved, and effective at once unless its effective day is later."""
    from andon.documents import service

    with _acting(username) as (ctx, rules):
        password = _password(username)
        outcome = service.approve(
            ctx, number, password, role=role, effective_on=_day(effective), rules=rules
        )
        view = _view(ctx, outcome, rules)
    _echo_outcome(outcome, as_json, "Approved", view)


@app.command()
def reject(
    number: NumberArgument,
    username: SignerOption,
    comment: Annotated[str, typer.Option("--comment", help="Why; the author reads it.")],
    as_json: JsonOption = False,
) -> None:
    """Send the revision in review back to draft, signed, saying why."""
    from andon.documents import service

    with _acting(username) as (ctx, rules):
        password = _password(username)
        outcome = service.reject(ctx, number, password, comment, rules=rules)
    _echo_outcome(outcome, as_json, "Rejected")


@app.command()
def ack(
    number: NumberArgument,
    username: SignerOption,
    answers: Annotated[
        str | None,
        typer.Option(
            "--answers",
            metavar="1,0,2",
            help="The option picked for each comprehension question, counted from 0.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Acknowledge having read the effective revision, with an electronic signature."""
    from andon.documents import signoffs

    picked = _answers(answers)
    with _acting(username) as (ctx, _):
        password = _password(username)
        outcome = signoffs.acknowledge(ctx, number, password, answers=picked)
    _echo_outcome(outcome, as_json, "Acknowledged")


@app.command()
def review(
    number: NumberArgument,
    username: SignerOption,
    outcome: Annotated[
        Literal["confirm", "change"],
        typer.Option(
            "--outcome", help="confirm: it still holds; change: it must change (a draft starts)."
        ),
    ],
    comment: Annotated[str, typer.Option("--comment", help="Notes; required for change.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Sign the periodic review of the effective revision."""
    from andon.documents import signoffs

    with _acting(username) as (ctx, rules):
        password = _password(username)
        done = signoffs.review(ctx, number, password, outcome, comment=comment, rules=rules)
    _echo_outcome(done, as_json, "Reviewed" if outcome == "confirm" else "New draft")


# --- reading -------------------------------------------------------------------------------


@app.command()
def show(
    number: NumberArgument, revision: RevisionOption = None, as_json: JsonOption = False
) -> None:
    """Show a revision: header, status, change record, signatures and its text."""
    from andon.documents import queries
    from andon.documents.markdown_io import render_markdown

    with _acting(None) as (ctx, rules):
        view = queries.show(ctx, number, revision, rules=rules)
    if as_json:
        echo_json(view.to_json())
        return
    data = view.to_json()
    document = view.document
    typer.echo(f"{document.number} revision {data['revision']}: {data['title']}")
    in_force = f"revision {document.effective_revision}" if document.effective_revision else "none"
    rows: list[tuple[str, object]] = [
        ("Type", data["type"]),
        ("Status", data["status"]),
        ("In force", in_force),
        ("Owner", data["owner"]),
        ("Author", data["author"]),
        ("Area", data["area"]),
        (
            "Effective",
            instant(view.revision.effective_at)
            if view.revision.effective_at
            else data["effective_on"],
        ),
        ("Next review", data["next_review_on"]),
        ("Change", _change_text(data["change"])),
        ("Still needs", ", ".join(f"{r} ×{n}" for r, n in data["missing_approvals"].items())),
        ("Revisions", ", ".join(f"{r['revision']} {r['status']}" for r in data["revisions"])),
        ("SHA-256", data["content_sha256"]),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        typer.echo(f"  {label.ljust(width)}  {value if value not in (None, '') else '-'}")
    typer.echo("")
    echo_table(
        ("SIGNED AT", "USERNAME", "NAME", "MEANING", "ROLE", "VALID", "COMMENT"),
        (
            (
                instant(s.signed_at),
                s.username,
                s.name,
                s.meaning,
                s.role,
                s.id in view.current,
                s.comment,
            )
            for s in view.signatures
        ),
        empty="No signatures.",
    )
    typer.echo("")
    # The body as its author wrote it; the front matter is the header above.
    typer.echo(render_markdown(view.file).split("\n---\n", 1)[1].lstrip("\n"), nl=False)


@app.command()
def export(
    number: NumberArgument,
    revision: RevisionOption = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="FILE", dir_okay=False, help="Write here, not to stdout."
        ),
    ] = None,
) -> None:
    """Write a revision as its Markdown file (byte for byte what was imported, when that was
    in the canonical layout)."""
    from andon.documents import queries

    with _acting(None) as (ctx, _):
        text = queries.export_markdown(ctx, number, revision)
    _write(text, output)


@app.command("list")
def list_(
    doc_type: Annotated[
        str | None, typer.Option("--type", help="SOP, WI, checklist, form or policy.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="draft, in_review, approved, effective, superseded or obsolete (the document's "
            "or its newest revision's).",
        ),
    ] = None,
    area: Annotated[str | None, typer.Option("--area", metavar="CODE", help="Area code.")] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", metavar="USERNAME", help="Owned by.")
    ] = None,
    review_due: Annotated[
        bool, typer.Option("--review-due", help="Only those whose periodic review is due.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List documents by number, with their revision in force and their newest one."""
    from andon.documents import queries

    with _acting(None) as (ctx, rules):
        due_by = rules.today() if review_due else None
        where = queries.DocumentFilter(
            type=doc_type, status=status, area=area, owner=owner, review_due_by=due_by
        )
        found = queries.list_documents(ctx, where, rules=rules)
    if as_json:
        echo_json([row.to_json() for row in found])
        return
    echo_table(
        ("NUMBER", "TYPE", "STATUS", "IN FORCE", "NEWEST", "AREA", "OWNER", "NEXT REVIEW", "TITLE"),
        (
            (
                r.number,
                r.type,
                r.status,
                r.effective_revision,
                f"{r.latest_revision} {r.latest_status}",
                r.area,
                r.owner,
                r.next_review_on,
                r.title,
            )
            for r in found
        ),
        empty="No documents match.",
    )


@app.command()
def search(
    query: Annotated[str, typer.Argument(metavar="QUERY", help="Words to find (prefixes count).")],
    doc_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    area: Annotated[str | None, typer.Option("--area", metavar="CODE", help="Area code.")] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", metavar="USERNAME", help="Owned by.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Search the text of the revisions in force, best match first; matches are in [brackets]."""
    from andon.documents.search import search_documents

    with _acting(None) as (ctx, _):
        hits = search_documents(ctx, query, type=doc_type, area=area, owner=owner)
    if as_json:
        echo_json([h.to_json() for h in hits])
        return
    if not hits:
        typer.echo("No document in force matches.")
        return
    for hit in hits:
        typer.echo(f"{hit.number} revision {hit.revision} ({hit.type}): {hit.title}")
        # One line per hit: the snippet's line breaks are the document's, not the match's.
        typer.echo(f"    {' '.join(hit.to_json()['snippet'].split())}")


@app.command()
def diff(
    number: NumberArgument,
    old: Annotated[int, typer.Option("--from", metavar="R1", min=1, help="Older revision.")],
    new: Annotated[int, typer.Option("--to", metavar="R2", min=1, help="Newer revision.")],
    as_json: JsonOption = False,
) -> None:
    """The redline between two revisions: sections, safety notes and steps, word by word
    ([-removed-] {+added+}; + added, - removed, ~ changed, > moved)."""
    from andon.documents import queries
    from andon.documents.redline import render_unified

    with _acting(None) as (ctx, _):
        result = queries.diff(ctx, number, old, new)
    if as_json:
        echo_json({"number": number, "from": old, "to": new, **result.to_json()})
        return
    labels = (f"{number} revision {old}", f"{number} revision {new}")
    typer.echo(render_unified(result, *labels), nl=False)


# --- helpers -------------------------------------------------------------------------------


@contextmanager
def _acting(username: str | None) -> Iterator[tuple[Context, DocumentRules]]:
    """The context of the person named (the local operator when None) and the plant's rules."""
    from andon.accounts.service import actor_for, find_user
    from andon.documents.rules import document_rules

    settings = read_settings()
    rules = document_rules(settings)
    with operator_context(settings) as ctx:
        if username is None:
            yield ctx, rules
            return
        user = find_user(ctx, username)
        if not user.active:
            _fail(f"{user.username} is disabled; nothing was done")
        yield ctx.as_actor(actor_for(user)), rules


def _rules() -> DocumentRules:
    from andon.documents.rules import document_rules

    return document_rules(read_settings())


def _file_owner(text: str, types: tuple[str, ...]) -> str | None:
    # The local operator is not a person and a revision's author must be one: without --as,
    # the owner the file names writes it. A file that does not parse gets its errors from the
    # import itself.
    from andon.core.errors import InvalidInput
    from andon.documents.markdown_io import parse_markdown

    try:
        return parse_markdown(text, types=types).header.owner
    except InvalidInput:
        return None


def _document_owner(number: str) -> str | None:
    """The username of the document's owner, who authors a revision started without --as."""
    from andon.core.errors import NotFound
    from andon.documents import queries

    with _acting(None) as (ctx, _):
        try:
            return queries.show(ctx, number).owner.username
        except NotFound:
            return None


def _password(username: str) -> str:
    """The signer's password: the first line of standard input when it is not a terminal
    (scripts, tests), else asked for without echo."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            _fail(f"standard input held no password for {username}; nothing was signed")
        return password
    entered: str = typer.prompt(f"Password of {username}", hide_input=True, err=True)
    return entered


def _answers(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a comma-separated list of option numbers, e.g. 1,0,2",
            param_hint="--answers",
        ) from None


def _day(moment: datetime | None) -> date | None:
    return moment.date() if moment is not None else None


def _view(ctx: Context, outcome: Outcome, rules: DocumentRules) -> RevisionView:
    from andon.documents import queries

    return queries.show(ctx, outcome.number, outcome.revision, rules=rules)


def _echo_outcome(
    outcome: Outcome, as_json: bool, done: str, view: RevisionView | None = None
) -> None:
    if as_json:
        body = outcome.to_json()
        if view is not None:
            body["missing_approvals"] = view.missing
        echo_json(body)
        return
    line = f"{done}: {outcome.number} revision {outcome.revision} is {outcome.status}"
    if outcome.effective_on is not None and outcome.status in ("in_review", "approved"):
        line += f", effective on {outcome.effective_on.isoformat()}"
    if view is not None and view.missing:
        line += "; still needs approval by " + ", ".join(
            f"{role}" + (f" ×{n}" if n > 1 else "") for role, n in sorted(view.missing.items())
        )
    if outcome.waiting:
        line += f"; waiting: {outcome.waiting}"
    typer.echo(line + ".")


def _change_text(change: dict[str, object]) -> str:
    if not change:
        return ""
    parts = [str(change.get("reason") or "(no reason)")]
    for key, label in (("safety_impact", "safety impact"), ("training", "training")):
        if key in change:
            parts.append(f"{label}: {'yes' if change[key] else 'no'}")
    if change.get("risk"):
        parts.append(f"risk: {change['risk']}")
    return "; ".join(parts)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    # newline="" keeps the bytes as rendered (LF), whatever the platform.
    output.write_text(text, encoding="utf-8", newline="")


def _fail(detail: str) -> NoReturn:
    typer.echo(f"error: {detail}", err=True)
    raise typer.Exit(1)
