"""`andon metric`: define metrics from YAML, list and show them, compute, chart, import, export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from andon.cli.context import operator_context, read_settings
from andon.cli.tables import echo_json, echo_table, instant, plural

if TYPE_CHECKING:
    from andon.metrics.evaluation import SeriesStatus
    from andon.metrics.models import Metric, MetricCrossing, MetricValue

RECENT_CROSSINGS = 20

app = typer.Typer(
    help="Metric definitions (owner, source, chart, thresholds), their values and control charts.",
    no_args_is_help=True,
)

KeyArgument = Annotated[str, typer.Argument(metavar="KEY", help="Metric key, e.g. near_misses.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _file(help_text: str) -> Any:
    return typer.Argument(
        metavar="FILE", exists=True, dir_okay=False, readable=True, help=help_text
    )


@app.command()
def define(
    file: Annotated[Path, _file("A definition in YAML (docs/metrics.md).")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why; kept in the audit trail.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Define a metric from FILE, or add a version when its definition changed.

    The whole file is checked first; each problem names its field and line, and nothing is
    stored. Defining the same definition again changes nothing.
    """
    from andon.metrics import service
    from andon.metrics.definition_yaml import load_definition_yaml

    defn = load_definition_yaml(file.read_text(encoding="utf-8"))
    with operator_context() as ctx:
        done = service.define_metric(ctx, defn, reason=reason or f"defined from {file.name}")
    if as_json:
        echo_json(
            {
                "key": done.metric.key,
                "version": done.version.version,
                "created": done.created,
                "changed": done.changed,
            }
        )
    elif not done.changed:
        typer.echo(f"{done.metric.key} is unchanged (version {done.version.version})")
    else:
        verb = "defined" if done.created else "redefined"
        typer.echo(f"{verb} {done.metric.key} version {done.version.version}")


def _metric_json(m: Metric) -> dict[str, Any]:
    return {
        "key": m.key,
        "name": m.name,
        "version": m.current_version,
        "owner": m.owner,
        "owner_kind": m.owner_kind,
        "source": m.source,
        "period": m.period,
        "chart": m.chart,
        "archived": m.archived,
        "computed_at": None if m.computed_at is None else m.computed_at.isoformat(),
    }


def _value_json(v: MetricValue) -> dict[str, Any]:
    return {
        "period": v.period,
        "line": v.line or None,
        "value": v.value,
        "count": v.count,
        "n": v.n,
        "version": v.version,
        "source": v.source,
    }


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """List the metrics with owner, source, period and chart."""
    from andon.metrics import service

    with operator_context() as ctx:
        found = service.list_metrics(ctx)
    if as_json:
        echo_json([_metric_json(m) for m in found])
        return
    echo_table(
        ("KEY", "NAME", "VERSION", "OWNER", "SOURCE", "PERIOD", "CHART"),
        ((m.key, m.name, m.current_version, m.owner, m.source, m.period, m.chart) for m in found),
        empty="No metrics yet. Define one with: andon metric define FILE.yaml",
    )


def _status_json(s: SeriesStatus) -> dict[str, Any]:
    return {
        "line": s.line,
        "status": s.status,
        "period": s.period,
        "value": s.value,
        "level": s.level,
        "action_id": s.action_id,
        "stale": s.stale,
    }


def _crossing_json(c: MetricCrossing) -> dict[str, Any]:
    return {
        "period": c.period,
        "line": c.line or None,
        "level": c.level,
        "value": c.value,
        "decision": c.decision,
        "action_id": c.action_id,
        "found_at": c.created_at.isoformat(),
    }


@app.command()
def show(key: KeyArgument, as_json: JsonOption = False) -> None:
    """Show a metric: its definition, versions, frozen limits, latest values, where each
    series stands against its thresholds and the recent threshold crossings."""
    from andon.metrics import service

    settings = read_settings()
    with operator_context(settings) as ctx:
        shown = service.show_metric(ctx, key)
        status = service.metric_status(ctx, key, zone=settings.zone)
        crossings = service.list_crossings(ctx, key, limit=RECENT_CROSSINGS)
    if as_json:
        echo_json(
            {
                **_metric_json(shown.metric),
                "definition": shown.definition,
                "versions": [
                    {
                        "version": v.version,
                        "created_at": v.created_at.isoformat(),
                        "created_by": v.created_by,
                        "reason": v.reason,
                    }
                    for v in shown.versions
                ],
                "limits": [
                    {
                        "line": lim.line or None,
                        "seq": lim.seq,
                        "chart": lim.chart,
                        "center": lim.center,
                        "ucl": lim.ucl,
                        "lcl": lim.lcl,
                        "baseline": lim.baseline,
                        "reason": lim.reason,
                    }
                    for lim in shown.limits
                ],
                "latest_values": [_value_json(v) for v in shown.latest_values],
                "status": [_status_json(st) for st in status],
                "crossings": [_crossing_json(c) for c in crossings],
            }
        )
        return
    m, d = shown.metric, shown.definition
    typer.echo(f"{m.key}: {m.name} (version {m.current_version})")
    typer.echo(f"owner: {m.owner} ({m.owner_kind})")
    typer.echo(f"source: {m.source}; period: {m.period}; chart: {m.chart}")
    typer.echo(f"unit: {d['unit']}; {d['direction'].replace('_', ' ')}; {d['kind']}")
    typer.echo("versions:")
    for v in shown.versions:
        typer.echo(f"  {v.version}  {instant(v.created_at)}  {v.created_by}  {v.reason}")
    if shown.limits:
        typer.echo("limits:")
        for lim in shown.limits:
            where = f" line {lim.line}" if lim.line else ""
            typer.echo(f"  #{lim.seq}{where}: center {lim.center:g} ({lim.reason})")
    typer.echo("latest values:")
    echo_table(
        ("PERIOD", "LINE", "VALUE", "COUNT", "N"),
        (
            (v.period, v.line, None if v.value is None else f"{v.value:.4g}", v.count, v.n)
            for v in shown.latest_values
        ),
    )
    typer.echo("status:")
    echo_table(
        ("LINE", "STATUS", "PERIOD", "VALUE", "LEVEL", "ACTION"),
        (
            (
                st.line or "*",
                st.status.replace("_", " ") + (" (stale)" if st.stale else ""),
                st.period,
                None if st.value is None else f"{st.value:.4g}",
                st.level,
                None if st.action_id is None else f"#{st.action_id}",
            )
            for st in status
        ),
    )
    typer.echo("recent crossings:")
    echo_table(
        ("PERIOD", "LINE", "LEVEL", "VALUE", "ACTION", "DECISION"),
        (
            (
                c.period,
                c.line or "*",
                c.level,
                f"{c.value:.4g}",
                None if c.action_id is None else f"#{c.action_id}",
                c.decision,
            )
            for c in crossings
        ),
        empty="  none",
    )


@app.command()
def compute(
    key: Annotated[str | None, typer.Argument(metavar="[KEY]", help="Metric key.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every metric that is not archived.")] = False,
    full: Annotated[
        bool,
        typer.Option("--full", help="Every period, not only those with late events."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Compute KEY (or --all) from the plant's events: the periods with new events only."""
    from andon.metrics import service

    if (key is None) == (not all_):
        raise typer.BadParameter("give a KEY or --all (not both)")
    settings = read_settings()
    with operator_context(settings) as ctx:
        if key is not None:
            done = [service.compute_metric(ctx, key, zone=settings.zone, full=full)]
        else:
            done = service.compute_all(ctx, zone=settings.zone, full=full)
    if as_json:
        echo_json(
            [
                {
                    "key": c.key,
                    "full": c.full,
                    "periods": c.periods,
                    "values": c.values,
                    "removed": c.removed,
                    "watermark": c.watermark,
                    "limits_frozen": c.limits_frozen,
                    "skipped": c.skipped,
                    "error": c.error,
                    "new_crossings": c.new_crossings,
                    "actions_opened": c.actions_opened,
                }
                for c in done
            ]
        )
    else:
        for c in done:
            if c.error:
                typer.echo(f"error: {c.key}: {c.error}", err=True)
            elif c.skipped:
                typer.echo(f"{c.key}: skipped ({c.skipped}){_judged_text(c)}")
            else:
                how = "full" if c.full else "late events"
                typer.echo(
                    f"{c.key}: {plural(len(c.periods), 'period')} recomputed ({how})"
                    + _judged_text(c)
                )
    if any(c.error for c in done):
        raise typer.Exit(1)


def _judged_text(c: Any) -> str:
    """What judging the thresholds did, for a compute's or import's line of output."""
    parts = []
    if c.new_crossings:
        parts.append(f"{plural(c.new_crossings, 'threshold crossing')} found")
    if c.actions_opened:
        ids = ", ".join(f"#{i}" for i in c.actions_opened)
        parts.append(f"{plural(len(c.actions_opened), 'action')} opened ({ids})")
    if c.no_data_told:
        parts.append("owner told of no data")
    return "; " + "; ".join(parts) if parts else ""


@app.command()
def chart(
    key: KeyArgument,
    line: Annotated[
        str | None, typer.Option("--line", help="Line code, for a metric split by line.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The control chart of KEY against its frozen limits; signals say which rule fired."""
    from andon.metrics import service
    from andon.metrics.spc import chart_json

    with operator_context() as ctx:
        drawn = service.chart(ctx, key, line=line)
    if as_json:
        echo_json(chart_json(drawn))
        return
    if drawn.ucl is not None and drawn.lcl is not None:
        typer.echo(
            f"{drawn.kind} chart: center {drawn.center:.4g}, "
            f"UCL {drawn.ucl:.4g}, LCL {drawn.lcl:.4g}"
        )
    else:
        typer.echo(f"{drawn.kind} chart: center {drawn.center:.4g} (limits per point)")
    echo_table(
        ("PERIOD", "VALUE", "LCL", "UCL", "SIGNAL"),
        (
            (
                p.period,
                f"{p.value:.4g}",
                f"{p.lcl:.4g}",
                f"{p.ucl:.4g}",
                "; ".join(f"{s}: {r}" for s, r in zip(p.signals, p.reasons, strict=True))
                or "noise",
            )
            for p in drawn.points
        ),
    )


@app.command("import")
def import_(
    key: KeyArgument,
    file: Annotated[
        Path, _file("CSV: period,value (XmR), period,count,n (p, u), period,count (c).")
    ],
) -> None:
    """Load a manual metric's values from FILE; a bad row is reported by line, nothing stored."""
    from andon.metrics import service

    settings = read_settings()
    text = file.read_text(encoding="utf-8")
    with operator_context(settings) as ctx:
        done = service.import_values(ctx, key, text, zone=settings.zone)
    typer.echo(
        f"imported {plural(done.values, 'value')} into {done.key} "
        f"({done.first_period} to {done.last_period})"
        + ("; control limits frozen" if done.limits_frozen else "")
        + _judged_text(done)
    )


@app.command()
def export(
    key: KeyArgument,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write to FILE. Default: stdout."),
    ] = None,
) -> None:
    """Export KEY's current definition as YAML (it defines the same metric again)."""
    from andon.metrics import service

    with operator_context() as ctx:
        text = service.export_metric(ctx, key)
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"Wrote {key} to {output}")


@app.command()
def rebaseline(
    key: KeyArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why; kept in the audit trail.")],
    points: Annotated[
        int | None, typer.Option("--points", min=2, help="Baseline: the first N points.")
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", metavar="DATE", help="Baseline: points from this day (with --to)."),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", metavar="DATE", help="Baseline: points up to this day.")
    ] = None,
    line: Annotated[str | None, typer.Option("--line", help="Line code.")] = None,
) -> None:
    """Recompute KEY's control limits on purpose (after a known change) and freeze them.

    Without --points or --from/--to, the definition's baseline is used.
    """
    from andon.metrics import service
    from andon.metrics.definition import Baseline

    given = {"points": points, "from": from_, "to": to}
    chosen = {k: v for k, v in given.items() if v is not None}
    baseline = Baseline.model_validate(chosen) if chosen else None
    with operator_context() as ctx:
        row = service.rebaseline(ctx, key, reason=reason, baseline=baseline, line=line)
    typer.echo(f"{key}: limits #{row.seq} from {row.baseline_points} points, center {row.center:g}")
