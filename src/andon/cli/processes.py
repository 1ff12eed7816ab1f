"""`andon process`: publish process definitions from YAML, list, show and export them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from andon.cli.context import operator_context
from andon.cli.tables import echo_json, echo_table, instant

if TYPE_CHECKING:
    from andon.processes.spec import ProcessSpec, Tier

app = typer.Typer(
    help="Publish process definitions (stages, transitions, SLAs, escalation) and read them back.",
    no_args_is_help=True,
)

KeyArgument = Annotated[
    str, typer.Argument(metavar="KEY", help="Process key (e.g. assembly) or id.")
]
VersionOption = Annotated[
    int | None,
    typer.Option("--version", metavar="N", min=1, help="Version number. Default: the current."),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why; kept in the audit trail.")]


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
            help="A definition in YAML (or JSON), e.g. src/andon/demo/assembly.yaml.",
        ),
    ],
    reason: ReasonOption,
) -> None:
    """Publish FILE as the next version of its process (new processes start at version 1).

    The whole file is checked first; each problem is reported with its line number and
    nothing is published. Items already running keep the version they started on.
    """
    from andon.processes import service
    from andon.processes.spec_yaml import load_spec_yaml

    text = file.read_text(encoding="utf-8")
    spec = load_spec_yaml(text)
    with operator_context() as ctx:
        published = service.publish(ctx, spec, reason=reason, source=text)
    typer.echo(f"published {published.spec.key} version {published.version.number}")


@app.command()
def export(
    key: KeyArgument,
    version: VersionOption = None,
    output_format: Annotated[
        Literal["yaml", "json", "bpmn"],
        typer.Option("--format", help="yaml (re-importable), json, or bpmn (BPMN 2.0 XML)."),
    ] = "yaml",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write to FILE. Default: stdout."),
    ] = None,
) -> None:
    """Export a version of a process as YAML, JSON or BPMN 2.0 XML (for bpmn.io, Camunda)."""
    from andon.processes import service

    with operator_context() as ctx:
        process, found, spec = service.get_version(ctx, key, version)
    text = _render(spec, output_format)
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    typer.echo(f"Wrote {process.key} version {found.number} ({output_format}) to {output}")


def _render(spec: ProcessSpec, output_format: str) -> str:
    if output_format == "bpmn":
        from andon.processes.bpmn import export_bpmn

        return export_bpmn(spec)
    if output_format == "json":
        import json

        from andon.processes.spec import spec_document

        return json.dumps(spec_document(spec), indent=2, ensure_ascii=False)
    from andon.processes.spec_yaml import dump_spec_yaml

    return dump_spec_yaml(spec)


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List every process with its current version."""
    from andon.processes import service

    with operator_context() as ctx:
        found = service.list_processes(ctx)
    if as_json:
        echo_json(
            [
                {
                    "id": p.id,
                    "key": p.key,
                    "name": p.name,
                    "current_version": p.current_version,
                    "active": p.active,
                    "updated_at": p.updated_at.isoformat(),
                }
                for p in found
            ]
        )
        return
    echo_table(
        ("ID", "KEY", "NAME", "VERSION", "ACTIVE", "UPDATED (UTC)"),
        ((p.id, p.key, p.name, p.current_version, p.active, p.updated_at) for p in found),
        empty="No processes yet. Publish one with: andon process import FILE.yaml --reason TEXT",
    )


@app.command()
def show(
    key: KeyArgument,
    version: VersionOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Show a version of a process: stages (owner, SLA, checklist), transitions, escalation."""
    from andon.processes import service
    from andon.processes.spec import format_duration, spec_document

    with operator_context() as ctx:
        process, found, spec = service.get_version(ctx, key, version)
    if as_json:
        echo_json(
            {
                "key": process.key,
                "name": spec.name,
                "active": process.active,
                "version": found.number,
                "current_version": process.current_version,
                "published_at": found.published_at.isoformat(),
                "published_by": found.published_by,
                "reason": found.reason,
                "definition": spec_document(spec),
            }
        )
        return
    state = "active" if process.active else "deactivated"
    current = "current" if found.number == process.current_version else "not current"
    typer.echo(f"{process.key}: {spec.name}  [version {found.number}, {current}, {state}]")
    typer.echo(
        f"Published {instant(found.published_at)} by {found.published_by}: {found.reason or '-'}"
    )
    if spec.description:
        typer.echo(spec.description)
    e2e = format_duration(spec.sla) if spec.sla else "none"
    typer.echo(f"Start: {spec.start}   End: {', '.join(spec.end)}   End-to-end SLA: {e2e}")
    typer.echo("")
    typer.echo("Stages")
    echo_table(
        ("KEY", "NAME", "OWNER", "SLA", "CHECKLIST", "SOP", "ON FAIL"),
        (
            (
                s.key,
                s.name,
                s.owner_role.value,
                format_duration(s.sla) if s.sla else None,
                len(s.checklist),
                f"{s.sop} (training required)" if s.sop and s.require_training else s.sop,
                s.on_fail,
            )
            for s in spec.stages
        ),
    )
    typer.echo("")
    typer.echo("Transitions")
    echo_table(
        ("FROM", "TO", "REWORK", "ROLES"),
        (
            (t.source, t.target, t.rework, ", ".join(r.value for r in t.roles))
            for t in spec.transitions
        ),
    )
    if spec.pause_states:
        typer.echo("")
        states = ", ".join(f"{p.key} ({p.name})" for p in spec.pause_states)
        typer.echo(f"Pause states: {states}")
    policy = spec.escalation
    typer.echo("")
    urgent = ", ".join(s.value for s in policy.urgent) or "none"
    typer.echo(
        f"Escalation tiers ({'active' if policy.active else 'inactive'}; "
        f"urgent even in quiet hours: {urgent})"
    )
    echo_table(
        ("#", "NAME", "AT", "NOTIFY", "ACK WITHIN", "IMMEDIATE FOR"),
        (
            (
                number,
                tier.name,
                _trigger(tier),
                _notify(tier),
                format_duration(tier.ack_within) if tier.ack_within else None,
                ", ".join(s.value for s in tier.immediate_for),
            )
            for number, tier in enumerate(policy.tiers, start=1)
        ),
    )


def _trigger(tier: Tier) -> str:
    from andon.processes.spec import format_duration

    if tier.at.share is not None:
        return f"{tier.at.share * 100:g}% of SLA"
    return format_duration(tier.at.after or 0)


def _notify(tier: Tier) -> str:
    parts: list[Any] = [
        *(r.value for r in tier.notify.roles),
        *(f"@{u}" for u in tier.notify.users),
        *tier.notify.emails,
        *tier.notify.webhooks,
    ]
    return ", ".join(str(p) for p in parts)


@app.command()
def deactivate(key: KeyArgument, reason: ReasonOption) -> None:
    """Stop new work items on a process; items already running carry on."""
    _set_active(key, active=False, reason=reason)


@app.command()
def activate(key: KeyArgument, reason: ReasonOption) -> None:
    """Allow new work items on a deactivated process again."""
    _set_active(key, active=True, reason=reason)


def _set_active(key: str, *, active: bool, reason: str) -> None:
    from andon.processes import service

    with operator_context() as ctx:
        process = service.set_active(ctx, key, active, reason=reason)
    typer.echo(f"Process {process.key} is {'active' if active else 'deactivated'}.")
