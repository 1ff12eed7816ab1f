"""`andon item`: open, move, pause, assign, check and read work items; bulk import from CSV."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from andon.cli.context import operator_context
from andon.cli.lines import LinePlace, find_line, line_places, shown_time
from andon.cli.tables import echo_json, echo_table, instant, plural

if TYPE_CHECKING:
    from andon.core.uow import Context
    from andon.processes.sla import ClockReading
    from andon.work.models import WorkEvent, WorkItem
    from andon.work.schemas import CheckResultIn

app = typer.Typer(
    help="Work items: create, move through their process, pause, assign, check, import.",
    no_args_is_help=True,
)

ItemArgument = Annotated[int, typer.Argument(metavar="ID", help="Work item id.")]
VersionOption = Annotated[
    int | None,
    typer.Option(
        "--version",
        metavar="N",
        min=1,
        help=(
            "The item version your change is based on (from `andon item show`); refused if "
            "the item changed since. Default: its current version, read first."
        ),
    ),
]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why; kept in the audit trail.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
SHOWN_EVENTS = 10


@app.command()
def create(
    process: Annotated[str, typer.Option("--process", metavar="KEY", help="Process key.")],
    line: Annotated[
        str, typer.Option("--line", metavar="LINE", help="Line code: L1, CHI/L1 or CHI/ASM/L1.")
    ],
    title: Annotated[str, typer.Option("--title", help="What it is, e.g. 'Pump housing'.")] = "",
    product: Annotated[
        str | None, typer.Option("--product", help="Part number, e.g. PH-100.")
    ] = None,
    quantity: Annotated[int, typer.Option("--quantity", min=1, help="How many.")] = 1,
    priority: Annotated[
        Literal["low", "normal", "high", "urgent"], typer.Option("--priority", help="How urgent.")
    ] = "normal",
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            metavar="KEY=VALUE",
            help="An intake form value, e.g. customer=Globex; repeat for each field.",
        ),
    ] = None,
    assignee: Annotated[
        str | None, typer.Option("--assignee", metavar="USERNAME", help="Who works on it.")
    ] = None,
) -> None:
    """Open a work item; it starts at the stage the process's routing picks."""
    from andon.accounts import service as accounts
    from andon.processes.spec import Priority
    from andon.work.items import create_item
    from andon.work.schemas import ItemCreate

    fields = _pairs(field or [], "--field")
    with operator_context() as ctx:
        found_line = find_line(ctx, line)
        assignee_id = accounts.find_user(ctx, assignee).id if assignee else None
        data = ItemCreate(
            process=process,
            line_id=found_line.id,
            title=title,
            product=product,
            quantity=quantity,
            priority=Priority(priority),
            fields=fields,
            assignee_id=assignee_id,
        )
        item = create_item(ctx, data)
    typer.echo(
        f"Created work item {item.id} at stage {item.stage} on line {found_line.path} "
        f"({_stage_due(item, found_line)})"
    )


@app.command()
def move(
    item_id: ItemArgument,
    stage: Annotated[str, typer.Argument(metavar="STAGE", help="Stage key to move to.")],
    version: VersionOption = None,
    reason: ReasonOption = None,
) -> None:
    """Move a work item to STAGE along one of its process's transitions.

    Without --version the item's current version is read first, so the move applies to
    whatever state the item is in now; give --version to refuse it if someone else changed
    the item since you looked.
    """
    from andon.work.items import move_item
    from andon.work.schemas import ItemMove

    with operator_context() as ctx:
        data = ItemMove(to=stage, version=version or _current_version(ctx, item_id), reason=reason)
        item = move_item(ctx, item_id, data)
        place = line_places(ctx).get(item.line_id)
    typer.echo(
        f"Work item {item.id} is at {item.stage} ({_stage_due(item, place)}); now v{item.version}."
    )


@app.command()
def pause(
    item_id: ItemArgument,
    state: Annotated[
        str, typer.Argument(metavar="STATE", help="Pause state key, e.g. waiting_parts.")
    ],
    version: VersionOption = None,
    reason: ReasonOption = None,
) -> None:
    """Put a work item on hold; its SLA clocks stop until it resumes."""
    from andon.work.items import pause_item
    from andon.work.schemas import ItemPause

    with operator_context() as ctx:
        data = ItemPause(
            state=state, version=version or _current_version(ctx, item_id), reason=reason
        )
        item = pause_item(ctx, item_id, data)
    typer.echo(f"Work item {item.id} paused ({item.pause_state}); its SLA clocks are stopped.")


@app.command()
def resume(
    item_id: ItemArgument, version: VersionOption = None, reason: ReasonOption = None
) -> None:
    """Resume a paused work item; its SLA clocks run again."""
    from andon.work.items import resume_item
    from andon.work.schemas import ItemResume

    with operator_context() as ctx:
        data = ItemResume(version=version or _current_version(ctx, item_id), reason=reason)
        item = resume_item(ctx, item_id, data)
        place = line_places(ctx).get(item.line_id)
    typer.echo(f"Work item {item.id} resumed at {item.stage} ({_stage_due(item, place)}).")


@app.command()
def assign(
    item_id: ItemArgument,
    username: Annotated[
        str | None, typer.Argument(metavar="USERNAME", help="Who works on it.")
    ] = None,
    none: Annotated[bool, typer.Option("--none", help="Unassign instead.")] = False,
    version: VersionOption = None,
) -> None:
    """Assign a work item to USERNAME, or unassign it with --none."""
    from andon.accounts import service as accounts
    from andon.work.items import assign_item
    from andon.work.schemas import ItemAssign

    if (username is None) == (not none):
        raise typer.BadParameter("give a USERNAME or --none, not both", param_hint="USERNAME")
    with operator_context() as ctx:
        user = accounts.find_user(ctx, username) if username else None
        data = ItemAssign(
            assignee_id=user.id if user else None,
            version=version or _current_version(ctx, item_id),
        )
        item = assign_item(ctx, item_id, data)
    who = user.username if user else "nobody"
    typer.echo(f"Work item {item.id} is assigned to {who}.")


@app.command()
def show(item_id: ItemArgument, as_json: JsonOption = False) -> None:
    """Show a work item: stage, status, SLA clocks and why, allowed moves, recent events."""
    from zoneinfo import ZoneInfo

    from andon.work.queries import item_record
    from andon.work.schemas import EventOut, ItemOut

    with operator_context() as ctx:
        record = item_record(ctx, item_id)
        places = line_places(ctx)
    item, spec = record.item, record.spec
    if as_json:
        body: dict[str, Any] = ItemOut.model_validate(item).model_dump(mode="json")
        body["process_key"] = spec.key
        body["process_version"] = record.process_version
        body["line"] = record.line.code
        body["allowed_moves"] = record.allowed_moves
        body["clocks"] = {
            "stage": _clock_json(record.clocks.stage),
            "process": _clock_json(record.clocks.process),
        }
        body["events"] = [EventOut.model_validate(e).model_dump(mode="json") for e in record.events]
        echo_json(body)
        return
    place = places.get(item.line_id)
    zone = ZoneInfo(place.timezone) if place else None
    stage = spec.stage(item.stage)
    status = item.status + (f" ({item.pause_state})" if item.pause_state else "")
    rows: list[tuple[str, object]] = [
        ("Process", f"{spec.key} v{record.process_version}"),
        ("Line", place.path if place else record.line.code),
        ("Stage", f"{stage.name} ({item.stage}), {status}"),
        ("Priority", item.priority),
        ("Product", f"{item.product or '-'} × {item.quantity}"),
        ("Assignee", _assignee_text(item, record.events)),
        ("Role", item.assignee_role),
        ("Fields", ", ".join(f"{k}={v}" for k, v in item.fields.items())),
        ("Stage clock", _clock_text(record.clocks.stage)),
        ("End-to-end", _clock_text(record.clocks.process)),
        ("Allowed moves", ", ".join(record.allowed_moves) or "none"),
        ("Version", item.version),
    ]
    typer.echo(f"Work item {item.id}: {item.title or '(no title)'}")
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        typer.echo(f"  {label.ljust(width)}  {value if value not in (None, '') else '-'}")
    typer.echo("")
    recent = record.events[-SHOWN_EVENTS:]
    typer.echo(f"Last {len(recent)} of {plural(len(record.events), 'event')}")
    _echo_events(recent, zone)


@app.command()
def actions(
    item_id: ItemArgument,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            metavar="USERNAME",
            help="Answer for this user, by their role grants.  [default: the operator]",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """What may be done with a work item now: moves with their checklist gates, the other
    actions, the stop holding its line and its stage SLA badge (as on the item's page)."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from andon.accounts.service import actor_for, find_user
    from andon.core.permissions import Actor
    from andon.core.uow import Context
    from andon.work.queries import read_item_actions
    from andon.work.schemas import ItemActionsOut

    with operator_context() as ctx:
        who = ctx
        if user is not None:
            found = find_user(ctx, user)
            # A deactivated user may do nothing, whatever grants they keep.
            actor = actor_for(found) if found.active else Actor(found.id, found.username)
            who = Context(ctx.db, actor, ctx.request_id)
        answer = read_item_actions(who, item_id)
        places = line_places(ctx)
    if as_json:
        echo_json(ItemActionsOut.model_validate(answer).model_dump(mode="json"))
        return
    typer.echo(
        f"Work item {answer.item_id} at {answer.stage}, {answer.status}, version "
        f"{answer.version}: what {who.actor.username} may do"
    )
    moves = [
        f"{'↩' if m.rework else '→'} {m.name} ({m.to})"
        + ("" if m.gate_passed else f", needs checklist: {', '.join(m.missing_checks)}")
        for m in answer.moves
    ]
    if answer.line_stop is not None:
        place = places.get(answer.line_stop.line_id)
        zone = ZoneInfo(place.timezone) if place else UTC
        since = shown_time(answer.line_stop.stopped_at, zone)
        line = f"stopped since {since}: {answer.line_stop.reason}"
    else:
        line = "running"
    flags = {
        "pause": answer.can_pause,
        "resume": answer.can_resume,
        "assign": answer.can_assign,
        "take": answer.can_take,
        "comment": answer.can_comment,
        "attach": answer.can_attach,
        "record checklist": answer.can_record_checklist,
        "raise exception": answer.can_raise_exception,
        "escalate": answer.can_escalate,
        "acknowledge": answer.can_acknowledge,
    }
    rows = [
        ("Moves", "; ".join(moves) or "none"),
        ("Line", line),
        ("Stage SLA", f"{answer.countdown.text} ({answer.countdown.css})"),
        ("May", ", ".join(name for name, ok in flags.items() if ok) or "nothing else"),
        ("May not", ", ".join(name for name, ok in flags.items() if not ok) or "-"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        typer.echo(f"  {label.ljust(width)}  {value}")


@app.command("list")
def list_(
    stage: Annotated[str | None, typer.Option("--stage", help="Only items at this stage.")] = None,
    line: Annotated[
        str | None, typer.Option("--line", metavar="LINE", help="Only items on this line.")
    ] = None,
    process: Annotated[
        str | None, typer.Option("--process", metavar="KEY", help="Only this process.")
    ] = None,
    late: Annotated[
        bool, typer.Option("--late", help="Only open items past their stage SLA.")
    ] = False,
    status: Annotated[
        str,
        typer.Option("--status", help="active (open or paused), open, paused, done, or all."),
    ] = "active",
    as_json: JsonOption = False,
) -> None:
    """List work items, oldest first."""
    from zoneinfo import ZoneInfo

    from andon.work.queries import ItemFilter, list_items
    from andon.work.schemas import ItemOut

    with operator_context() as ctx:
        places = line_places(ctx)
        line_id = find_line(ctx, line).id if line else None
        where = ItemFilter(
            process=process,
            stage=stage,
            line_id=line_id,
            status=None if status == "all" else status,
            late=True if late else None,
        )
        found: list[WorkItem] = []
        cursor: str | None = None
        while True:
            page = list_items(ctx, where, cursor=cursor, limit=500)
            found.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    if as_json:
        echo_json([ItemOut.model_validate(i).model_dump(mode="json") for i in found])
        return

    def line_of(item: WorkItem) -> str:
        place = places.get(item.line_id)
        return place.path if place else str(item.line_id)

    def due_of(item: WorkItem) -> str | None:
        place = places.get(item.line_id)
        if item.stage_due_at is None or place is None:
            return None if item.stage_due_at is None else instant(item.stage_due_at)
        return shown_time(item.stage_due_at, ZoneInfo(place.timezone))

    echo_table(
        ("ID", "LINE", "STAGE", "STATUS", "PRIORITY", "STAGE DUE", "TITLE"),
        ((i.id, line_of(i), i.stage, i.status, i.priority, due_of(i), i.title) for i in found),
        empty="No work items match.",
    )


@app.command()
def check(
    item_id: ItemArgument,
    result: Annotated[
        list[str],
        typer.Option(
            "--result",
            metavar="KEY=pass|fail[:VALUE]",
            help="One checklist line, e.g. visual=pass or torque=pass:11.2; repeat for each.",
        ),
    ],
) -> None:
    """Record the current stage's QA checklist. A failure sends the item to rework."""
    from andon.work.checks import record_checklist
    from andon.work.queries import item_record
    from andon.work.schemas import ChecklistRecord

    results = [_parse_result(text) for text in result]
    with operator_context() as ctx:
        run = record_checklist(ctx, item_id, ChecklistRecord(results=results))
        now_at = item_record(ctx, item_id).item.stage
    if run.passed:
        typer.echo(f"Checklist of {run.stage} passed for work item {item_id}.")
        return
    defects = ", ".join(_defect_text(r) for r in run.results if not r["passed"])
    typer.echo(f"Checklist of {run.stage} FAILED for work item {item_id}: {defects}.")
    typer.echo(f"Work item {item_id} is now at {now_at}.")


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV with a header row; one work item per row.",
        ),
    ],
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            metavar="FILE",
            dir_okay=False,
            help="On refusal, write the rejected rows with an 'errors' column to this CSV.",
        ),
    ] = None,
) -> None:
    """Create work items from a CSV file: all of them, or none if any row is refused.

    A refused file prints every bad row with its reasons on standard error and exits 1.
    """
    from andon.work.bulk import import_items

    text = file.read_text(encoding="utf-8-sig")
    with operator_context() as ctx:
        report = import_items(ctx, text)
    if report.rejected:
        for row in report.rejected:
            typer.echo(f"line {row.line}: {'; '.join(row.errors)}", err=True)
        typer.echo(f"error: {len(report.rejected)} rows refused; nothing was imported", err=True)
        if rejects is not None:
            _write_rejects(rejects, report.rejected)
            typer.echo(f"Wrote the refused rows to {rejects}", err=True)
        raise typer.Exit(1)
    ids = report.created_ids
    span = f": ids {ids[0]}-{ids[-1]}" if len(ids) > 1 else (f": id {ids[0]}" if ids else "")
    typer.echo(f"Imported {len(ids)} work items{span}.")


@app.command()
def events(item_id: ItemArgument, as_json: JsonOption = False) -> None:
    """Every event of a work item, oldest first: the record process mining reads."""
    from zoneinfo import ZoneInfo

    from andon.work.queries import item_events
    from andon.work.schemas import EventOut

    with operator_context() as ctx:
        found = item_events(ctx, item_id)
        places = line_places(ctx) if not as_json else {}
    if as_json:
        echo_json([EventOut.model_validate(e).model_dump(mode="json") for e in found])
        return
    if not found:
        typer.echo(f"No events for work item {item_id}.")
        return
    line_id = next((e.attributes.get("line_id") for e in found if e.kind == "created"), None)
    place = places.get(line_id) if isinstance(line_id, int) else None
    _echo_events(found, ZoneInfo(place.timezone) if place else None)


def _echo_events(found: list[WorkEvent], zone: Any) -> None:
    echo_table(
        ("WHEN", "EVENT", "ACTIVITY", "BY", "DETAILS"),
        (
            (
                shown_time(e.timestamp, zone) if zone else e.timestamp,
                e.kind,
                e.activity,
                e.resource,
                _details(e.attributes),
            )
            for e in found
        ),
        empty="No events.",
    )


def _details(attributes: dict[str, Any]) -> str:
    shown = {k: v for k, v in attributes.items() if k not in {"fields", "process_key"}}
    return " ".join(
        f"{k}={json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}"
        for k, v in shown.items()
    )


def _assignee_text(item: WorkItem, found: list[WorkEvent]) -> str:
    """The assignee's username as the assignment event recorded it, else their id."""
    if item.assignee_id is None:
        return "-"
    for event in reversed(found):
        if event.kind in {"assigned", "created"} and "assignee_id" in event.attributes:
            if event.attributes["assignee_id"] == item.assignee_id and event.attributes.get(
                "assignee"
            ):
                return str(event.attributes["assignee"])
            break
    return f"user {item.assignee_id}"


def _current_version(ctx: Context, item_id: int) -> int:
    from andon.work.queries import item_record

    return item_record(ctx, item_id).item.version


def _pairs(given: list[str], hint: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for text in given:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{text!r} is not KEY=VALUE", param_hint=hint)
        if key.strip() in pairs:
            raise typer.BadParameter(f"{key.strip()!r} is given twice", param_hint=hint)
        pairs[key.strip()] = value
    return pairs


def _parse_result(text: str) -> CheckResultIn:
    from andon.work.schemas import CheckResultIn

    key, sep, outcome = text.partition("=")
    verdict, _, value = outcome.partition(":")
    if not sep or not key.strip() or verdict.strip().lower() not in {"pass", "fail"}:
        raise typer.BadParameter(
            f"{text!r} is not KEY=pass|fail[:VALUE], e.g. torque=pass:11.2",
            param_hint="--result",
        )
    measured: float | None = None
    if value.strip():
        try:
            measured = float(value)
        except ValueError:
            raise typer.BadParameter(
                f"{text!r}: {value!r} is not a number", param_hint="--result"
            ) from None
    return CheckResultIn(key=key.strip(), passed=verdict.strip().lower() == "pass", value=measured)


def _defect_text(result: dict[str, Any]) -> str:
    if result.get("value") is None:
        return str(result["key"])
    return (
        f"{result['key']} ({result['value']:g}{' ' + result['unit'] if result.get('unit') else ''})"
    )


def _stage_due(item: WorkItem, place: LinePlace | None) -> str:
    """When the item's stage clock runs out, in its site's time, or why it does not."""
    from zoneinfo import ZoneInfo

    if item.status == "done":
        return "done"
    if item.status == "paused":
        return "clocks stopped"
    if item.stage_due_at is None:
        return "no stage SLA"
    if place is None:
        return f"stage due {instant(item.stage_due_at)}"
    return f"stage due {shown_time(item.stage_due_at, ZoneInfo(place.timezone))}"


def _clock_json(reading: ClockReading | None) -> dict[str, Any] | None:
    from dataclasses import asdict

    if reading is None:
        return None
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in asdict(reading).items()}


def _clock_text(reading: ClockReading | None) -> str:
    if reading is None:
        return "no SLA"
    state = "BREACHED" if reading.breached else "paused" if reading.paused else "running"
    return f"{state}; {reading.explanation}"


def _write_rejects(path: Path, rows: list[Any]) -> None:
    """The refused rows as CSV, with an 'errors' column; formula-like cells neutralised."""
    import csv

    from andon.core.audit import csv_safe

    columns: list[str] = []
    for row in rows:
        for name in row.raw:
            if name not in columns and name != "errors":
                columns.append(name)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([csv_safe(c) for c in [*columns, "errors"]])
        for row in rows:
            writer.writerow(
                [csv_safe(row.raw.get(c)) for c in columns] + [csv_safe("; ".join(row.errors))]
            )
