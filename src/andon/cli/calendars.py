"""`andon calendar`: a site's business calendar — shifts, quiet hours, holidays, closures.

Times are typed and shown in the site's time zone; they are stored in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from andon.cli.context import operator_context
from andon.cli.tables import echo_json, echo_table, plural

if TYPE_CHECKING:
    from andon.calendars.service import ShiftInput

app = typer.Typer(
    help="Set a site's shifts, quiet hours, holidays and closures (what SLA clocks count).",
    no_args_is_help=True,
)

SiteArgument = Annotated[str, typer.Argument(metavar="SITE", help="Site code, e.g. CHI.")]
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT = re.compile(
    r"^(?P<name>[^:]+):(?P<days>[A-Za-z,\-]+):(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$"
)


@app.command()
def show(
    site: SiteArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Show a site's shifts, quiet hours, holidays and closures."""
    from zoneinfo import ZoneInfo

    from andon.calendars import service as calendars
    from andon.plant import service as plant

    with operator_context() as ctx:
        found = plant.find_site_by_code(ctx, site)
        calendar = calendars.get_calendar(ctx, found.id)
    zone = ZoneInfo(found.timezone)
    if as_json:
        echo_json(
            {
                "site": found.code,
                "timezone": found.timezone,
                "shifts": calendar.shifts if calendar else [],
                "quiet_hours": (
                    {"start": calendar.quiet_start, "end": calendar.quiet_end}
                    if calendar and calendar.quiet_start
                    else None
                ),
                "holiday_country": calendar.holiday_country if calendar else None,
                "holiday_subdivision": calendar.holiday_subdivision if calendar else None,
                "holidays": [
                    {"date": h.day.isoformat(), "name": h.name, "source": h.source}
                    for h in (calendar.holidays if calendar else [])
                ],
                "closures": [
                    {
                        "start_at": c.start_at.isoformat(),
                        "end_at": c.end_at.isoformat(),
                        "reason": c.reason,
                    }
                    for c in (calendar.closures if calendar else [])
                ],
            }
        )
        return
    typer.echo(f"Calendar of {found.code} ({found.name}); times in {found.timezone}")
    if calendar is None or not calendar.shifts:
        typer.echo(
            "No shifts: SLA clocks run around the clock. Set them with: "
            f"andon calendar set-shifts {found.code} --shift 'Day:mon-fri:06:00-14:00'"
        )
    else:
        typer.echo("")
        echo_table(
            ("SHIFT", "DAYS", "START", "END"),
            ((s["name"], _days_text(s["days"]), s["start"], s["end"]) for s in calendar.shifts),
        )
    if calendar is not None and calendar.quiet_start:
        typer.echo("")
        typer.echo(
            f"Quiet hours: {calendar.quiet_start}-{calendar.quiet_end} "
            "(only urgent notifications are sent)"
        )
    if calendar is None:
        return
    typer.echo("")
    region = "-".join(filter(None, [calendar.holiday_country, calendar.holiday_subdivision]))
    typer.echo(f"Holidays{f' ({region})' if region else ''}")
    echo_table(
        ("DATE", "NAME", "SOURCE"),
        ((h.day.isoformat(), h.name, h.source) for h in calendar.holidays),
    )
    typer.echo("")
    typer.echo("Closures")
    echo_table(
        ("START", "END", "REASON"),
        ((_local(c.start_at, zone), _local(c.end_at, zone), c.reason) for c in calendar.closures),
    )


@app.command("set-shifts")
def set_shifts(
    site: SiteArgument,
    shift: Annotated[
        list[str],
        typer.Option(
            "--shift",
            metavar="NAME:DAYS:HH:MM-HH:MM",
            help=(
                "A shift, e.g. 'Day:mon-fri:06:00-14:00' or 'Night:mon-fri:22:00-06:00' "
                "(ends the next morning). DAYS: mon-fri, sat,sun, daily. Repeat for each shift."
            ),
        ),
    ],
    quiet: Annotated[
        str | None,
        typer.Option(
            "--quiet",
            metavar="HH:MM-HH:MM",
            help="Quiet hours: only urgent notifications are sent, e.g. 22:00-06:00.",
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why; kept in the audit trail.")
    ] = None,
) -> None:
    """Replace a site's weekly shift pattern (and quiet hours). Overlapping shifts are refused."""
    from andon.calendars import service as calendars
    from andon.plant import service as plant

    shifts = [_parse_shift(text) for text in shift]
    quiet_hours = _parse_span(quiet, "--quiet") if quiet is not None else None
    with operator_context() as ctx:
        found = plant.find_site_by_code(ctx, site)
        calendars.set_shifts(ctx, found.id, shifts, quiet_hours=quiet_hours, reason=reason)
    names = ", ".join(
        f"{s.name} {_days_text(list(s.days))} {s.start:%H:%M}-{s.end:%H:%M}" for s in shifts
    )
    typer.echo(f"Shifts of {found.code}: {names}")
    if quiet_hours is not None:
        typer.echo(f"Quiet hours: {quiet_hours[0]:%H:%M}-{quiet_hours[1]:%H:%M}")


@app.command()
def holidays(
    site: SiteArgument,
    country: Annotated[
        str, typer.Option("--country", metavar="CODE", help="ISO 3166 code, e.g. US, DE, MX.")
    ],
    year: Annotated[
        list[int],
        typer.Option("--year", metavar="YYYY", help="Year to add; repeat for several."),
    ],
    subdivision: Annotated[
        str | None,
        typer.Option("--subdivision", metavar="CODE", help="State or region, e.g. IL, BY."),
    ] = None,
) -> None:
    """Add a country's public holidays for YEARs; dates already in the calendar are kept."""
    from andon.calendars import service as calendars
    from andon.plant import service as plant

    with operator_context() as ctx:
        found = plant.find_site_by_code(ctx, site)
        added = calendars.generate_holidays(ctx, found.id, country, year, subdivision)
    region = "-".join(filter(None, [country.upper(), (subdivision or "").upper()]))
    years = ", ".join(str(y) for y in sorted(set(year)))
    holidays = f"{region} holiday" + ("" if added == 1 else "s")
    typer.echo(f"Added {added} {holidays} for {years} to the calendar of {found.code}.")


@app.command("import-holidays")
def import_holidays(
    site: SiteArgument,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV with the header date,name (ISO dates), or an iCalendar .ics file.",
        ),
    ],
) -> None:
    """Add the holidays in FILE. A bad line is reported by number and nothing is added."""
    from andon.calendars import service as calendars
    from andon.plant import service as plant

    text = file.read_text(encoding="utf-8")
    with operator_context() as ctx:
        found = plant.find_site_by_code(ctx, site)
        added = calendars.import_holiday_file(ctx, found.id, text)
    typer.echo(f"Added {plural(added, 'holiday')} from {file} to the calendar of {found.code}.")


@app.command("add-holiday")
def add_holiday(
    site: SiteArgument,
    day: Annotated[str, typer.Argument(metavar="DATE", help="The date, e.g. 2026-12-24.")],
    name: Annotated[str, typer.Argument(metavar="NAME", help="e.g. 'Christmas Eve'.")],
) -> None:
    """Add one holiday (a plant shutdown day, a local holiday)."""
    from andon.calendars import service as calendars
    from andon.plant import service as plant

    when = _parse_date(day, "DATE")
    with operator_context() as ctx:
        found = plant.find_site_by_code(ctx, site)
        added = calendars.add_holidays(ctx, found.id, {when: name})
    if added:
        typer.echo(f"Added holiday {when.isoformat()} ({name}) to the calendar of {found.code}.")
    else:
        typer.echo(f"{when.isoformat()} is already a holiday of {found.code}; nothing changed.")


@app.command()
def closure(
    site: SiteArgument,
    start: Annotated[
        str,
        typer.Argument(
            metavar="START",
            help="Site-local time, e.g. 2026-12-24T12:00 (a date alone: that midnight).",
        ),
    ],
    end: Annotated[
        str,
        typer.Argument(
            metavar="END",
            help="Site-local time, e.g. 2026-12-28T06:00 (a date alone: the end of that day).",
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the site is closed.")],
) -> None:
    """Close a site from START to END (site-local times): no SLA time counts meanwhile."""
    from zoneinfo import ZoneInfo

    from andon.calendars import service as calendars
    from andon.plant import service as plant

    with operator_context() as ctx:
        found = plant.find_site_by_code(ctx, site)
        zone = ZoneInfo(found.timezone)
        start_at = _parse_local(start, zone, "START", end_of_day=False)
        end_at = _parse_local(end, zone, "END", end_of_day=True)
        added = calendars.add_closure(ctx, found.id, start_at, end_at, reason)
    typer.echo(
        f"Closed {found.code} from {_local(added.start_at, zone)} to {_local(added.end_at, zone)}"
        f" ({found.timezone}): {reason}"
    )


def _parse_shift(text: str) -> ShiftInput:
    from andon.calendars.service import ShiftInput

    match = _SHIFT.match(text.strip())
    if match is None:
        raise typer.BadParameter(
            f"{text!r} is not NAME:DAYS:HH:MM-HH:MM, e.g. 'Day:mon-fri:06:00-14:00'",
            param_hint="--shift",
        )
    days = _parse_days(match["days"])
    start = _parse_time(match["start"], "--shift")
    end = _parse_time(match["end"], "--shift")
    return ShiftInput(match["name"].strip(), days, start, end)


def _parse_days(text: str) -> tuple[int, ...]:
    """``mon-fri``, ``sat,sun``, ``fri-mon`` (wraps over the weekend) or ``daily``."""
    if text.lower() in {"daily", "all"}:
        return tuple(range(7))
    days: list[int] = []
    for part in text.lower().split(","):
        first, _, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise typer.BadParameter(
                f"{part!r}: days are mon, tue, wed, thu, fri, sat, sun, ranges such as "
                "mon-fri, or daily",
                param_hint="--shift",
            )
        a = DAY_NAMES.index(first)
        b = DAY_NAMES.index(last) if last else a
        days.extend((a + i) % 7 for i in range((b - a) % 7 + 1))
    return tuple(sorted(set(days)))


def _days_text(days: list[int]) -> str:
    """[0, 1, 2, 3, 4] as ``mon-fri``; [5, 6] as ``sat-sun``; [0, 2] as ``mon,wed``."""
    ordered = sorted(set(days))
    runs: list[list[int]] = []
    for day in ordered:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        DAY_NAMES[r[0]] if len(r) == 1 else f"{DAY_NAMES[r[0]]}-{DAY_NAMES[r[-1]]}" for r in runs
    )


def _parse_time(text: str, hint: str) -> time:
    hours, _, minutes = text.partition(":")
    try:
        return time(int(hours), int(minutes))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a time of day HH:MM", param_hint=hint) from None


def _parse_span(text: str, hint: str) -> tuple[time, time]:
    first, sep, last = text.partition("-")
    if not sep:
        raise typer.BadParameter(f"{text!r} is not HH:MM-HH:MM", param_hint=hint)
    return _parse_time(first.strip(), hint), _parse_time(last.strip(), hint)


def _parse_date(text: str, hint: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date like 2026-12-24", param_hint=hint
        ) from None


def _parse_local(text: str, zone: tzinfo, hint: str, *, end_of_day: bool) -> datetime:
    """A site-local time (or a date) as an aware instant; an explicit offset is respected."""
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        day = _parse_date(value, hint) + timedelta(days=1 if end_of_day else 0)
        return datetime.combine(day, time(0), zone).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a time like 2026-12-24T12:00", param_hint=hint
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _local(moment: datetime, zone: tzinfo) -> str:
    from andon.cli.lines import shown_time

    return shown_time(moment, zone)
