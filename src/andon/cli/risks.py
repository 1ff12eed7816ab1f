"""`andon risk`: the risk register — new, list, show, edit (and score), review, verify,
mitigate, export."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from andon.cli.context import acting_as, operator_context, read_settings
from andon.cli.tables import echo_json, echo_table

if TYPE_CHECKING:
    from andon.improvement.risk_schemas import RiskDetailOut, RiskFilters

app = typer.Typer(
    help="The risk register: 5×5 scores, owners, mitigations (actions), verification, reviews.",
    no_args_is_help=True,
)

Status = Literal["to_assess", "open", "mitigating", "accepted", "closed"]
Band = Literal["low", "medium", "high", "extreme"]
Scale = Literal["inherent", "residual"]
IdArgument = Annotated[str, typer.Argument(metavar="RISK", help="RSK-12 or 12.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
AsOption = Annotated[
    str | None,
    typer.Option("--as", metavar="USERNAME", help="Act as this user. Default: the local operator."),
]
SCORE_HELP = "Likelihood x severity, each 1..5, e.g. 3x5."


@app.command()
def new(
    title: Annotated[str, typer.Option("--title", help="What could happen.")],
    owner: Annotated[str, typer.Option("--owner", metavar="USERNAME", help="Who owns it.")],
    area: Annotated[str | None, typer.Option("--area", help="Area code or name.")] = None,
    cause: Annotated[str, typer.Option("--cause", help="What would bring it about.")] = "",
    consequence: Annotated[str, typer.Option("--consequence", help="The harm it does.")] = "",
    inherent: Annotated[
        str | None, typer.Option("--inherent", metavar="LxS", help=SCORE_HELP)
    ] = None,
    residual: Annotated[
        str | None, typer.Option("--residual", metavar="LxS", help=SCORE_HELP)
    ] = None,
    status: Annotated[
        Status | None, typer.Option("--status", help="Default: open when scored, else to_assess.")
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric", metavar="KEY:OP:VALUE", help="Verify by a metric, e.g. rework_rate:le:2."
        ),
    ] = None,
    check_every: Annotated[
        int | None,
        typer.Option("--check-every", metavar="DAYS", min=1, help="Or a recurring check."),
    ] = None,
    review_on: Annotated[
        datetime | None,
        typer.Option(
            "--review-on", metavar="YYYY-MM-DD", formats=["%Y-%m-%d"], help="Next review."
        ),
    ] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a risk to the register."""
    from andon.improvement import risks
    from andon.improvement.risk_schemas import RiskCreate

    fields: dict[str, Any] = {
        "title": title,
        "owner": owner,
        "area": area,
        "cause": cause,
        "consequence": consequence,
        "status": status,
        "verification": _verification(metric, check_every),
        "review_on": review_on.date() if review_on else None,
        **_scores(inherent, residual),
    }
    with acting_as(as_user) as ctx:
        risk = risks.add_risk(ctx, RiskCreate(**fields), today=_today())
    _echo_risk(risk, as_json, "Added")


@app.command("list")
def list_(
    area: Annotated[str | None, typer.Option("--area", help="Area code or name.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="A status, or active (all but closed).")
    ] = None,
    band: Annotated[Band | None, typer.Option("--band")] = None,
    scale: Annotated[
        Scale, typer.Option("--scale", help="Which scores --band reads.")
    ] = "inherent",
    as_json: JsonOption = False,
) -> None:
    """List risks, highest score first."""
    from andon.improvement import risks

    with operator_context() as ctx:
        found = risks.list_risks(ctx, _filters(area, status, band, scale), today=_today())
    if as_json:
        echo_json([r.model_dump(mode="json") for r in found])
        return
    echo_table(
        ("RISK", "INHERENT", "RESIDUAL", "STATUS", "AREA", "OWNER", "MITIGATIONS", "TITLE"),
        (
            (
                r.reference,
                _score_text(r.inherent_score, r.inherent_band),
                _score_text(r.residual_score, r.residual_band),
                r.status,
                r.area or "",
                r.owner,
                r.open_mitigations,
                r.title,
            )
            for r in found
        ),
    )


@app.command()
def show(risk: IdArgument, as_json: JsonOption = False) -> None:
    """One risk with its mitigations and the documents linking it."""
    from andon.improvement import risks

    with operator_context() as ctx:
        found = risks.get_risk(ctx, _id(risk), today=_today())
    if as_json:
        echo_json(found.model_dump(mode="json"))
        return
    typer.echo(f"{found.reference}: {found.title} ({found.status})")
    typer.echo(f"  area {found.area or '—'}, owner {found.owner}")
    typer.echo(
        f"  inherent {_score_text(found.inherent_score, found.inherent_band)}, "
        f"residual {_score_text(found.residual_score, found.residual_band)}"
    )
    if found.cause:
        typer.echo(f"  cause: {found.cause}")
    if found.consequence:
        typer.echo(f"  consequence: {found.consequence}")
    typer.echo(f"  verification: {found.verification_state}")
    typer.echo(f"  next review: {found.review_on or '—'}")
    for action in found.mitigations:
        typer.echo(
            f"  mitigation #{action.id} {action.status}, due {action.due_on}: {action.title}"
        )
    for doc in found.documents:
        typer.echo(f"  document {doc.number} revision {doc.revision} ({doc.status})")


@app.command()
def edit(
    risk: IdArgument,
    title: Annotated[str | None, typer.Option("--title")] = None,
    owner: Annotated[str | None, typer.Option("--owner", metavar="USERNAME")] = None,
    area: Annotated[str | None, typer.Option("--area")] = None,
    cause: Annotated[str | None, typer.Option("--cause")] = None,
    consequence: Annotated[str | None, typer.Option("--consequence")] = None,
    inherent: Annotated[
        str | None, typer.Option("--inherent", metavar="LxS", help=SCORE_HELP)
    ] = None,
    residual: Annotated[
        str | None, typer.Option("--residual", metavar="LxS", help=SCORE_HELP)
    ] = None,
    status: Annotated[Status | None, typer.Option("--status")] = None,
    metric: Annotated[
        str | None, typer.Option("--metric", metavar="KEY:OP:VALUE", help="Verify by a metric.")
    ] = None,
    check_every: Annotated[
        int | None, typer.Option("--check-every", metavar="DAYS", min=1, help="Or a check.")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why; kept in the audit.")] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a risk's fields or scores (the ones given); a risk to assess becomes open once
    it has an inherent score."""
    from andon.improvement import risks
    from andon.improvement.risk_schemas import RiskUpdate

    risk_id = _id(risk)
    with acting_as(as_user) as ctx:
        current = risks.get_risk(ctx, risk_id)
        given: dict[str, Any] = {
            k: v
            for k, v in {
                "title": title,
                "owner": owner,
                "area": area,
                "cause": cause,
                "consequence": consequence,
                "status": status,
                **_scores(inherent, residual),
            }.items()
            if v is not None
        }
        if metric is not None or check_every is not None:
            given["verification"] = _verification(metric, check_every)
        data = RiskUpdate(version=current.version, reason=reason, **given)
        found = risks.edit_risk(ctx, risk_id, data, today=_today())
    _echo_risk(found, as_json, "Changed")


@app.command()
def review(
    risk: IdArgument,
    next_review: Annotated[
        datetime,
        typer.Option("--next", metavar="YYYY-MM-DD", formats=["%Y-%m-%d"], help="Next review."),
    ],
    note: Annotated[str, typer.Option("--note", help="What the review found.")] = "",
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a review of the risk and when the next one is due."""
    from andon.improvement import risks
    from andon.improvement.risk_schemas import RiskReview

    with acting_as(as_user) as ctx:
        found = risks.review_risk(
            ctx, _id(risk), RiskReview(next_review_on=next_review.date(), note=note), today=_today()
        )
    _echo_risk(found, as_json, "Reviewed")


@app.command()
def verify(
    risk: IdArgument,
    result: Annotated[
        Literal["met", "not_met"] | None,
        typer.Option("--result", help="A recurring check: met or not_met (a metric: leave out)."),
    ] = None,
    note: Annotated[str, typer.Option("--note")] = "",
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a verification: a check done, or the metric judged on its latest value."""
    from andon.improvement import risks
    from andon.improvement.risk_schemas import RiskVerify

    with acting_as(as_user) as ctx:
        found = risks.verify_risk(
            ctx,
            _id(risk),
            RiskVerify(result=result, note=note),
            zone=read_settings().zone,
            today=_today(),
        )
    _echo_risk(found, as_json, f"Verified ({found.verification_state})")


@app.command()
def mitigate(
    risk: IdArgument,
    title: Annotated[str, typer.Option("--title", help="What is to be done.")],
    owner: Annotated[
        str, typer.Option("--owner", metavar="USER_OR_ROLE", help="A username or a role.")
    ],
    due: Annotated[
        datetime, typer.Option("--due", metavar="YYYY-MM-DD", formats=["%Y-%m-%d"], help="Due.")
    ],
    priority: Annotated[
        Literal["low", "normal", "high", "urgent"], typer.Option("--priority")
    ] = "normal",
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open a mitigation: an action linked to the risk. A change with safety impact linking
    the risk cannot take effect until it is done (or cancelled)."""
    from andon.core.permissions import Role
    from andon.improvement import risks
    from andon.improvement.risk_schemas import MitigationCreate

    roles = {r.value for r in Role}
    data = MitigationCreate(
        title=title,
        owner_user=None if owner in roles else owner,
        owner_role=Role(owner) if owner in roles else None,
        due_on=due.date(),
        priority=priority,
    )
    with acting_as(as_user) as ctx:
        action = risks.add_mitigation(ctx, _id(risk), data)
    if as_json:
        echo_json(action.model_dump(mode="json"))
        return
    typer.echo(f"Opened mitigation action {action.id}: {action.title} (due {action.due_on}).")


@app.command()
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="The .xlsx file to write.")],
    area: Annotated[str | None, typer.Option("--area")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    band: Annotated[Band | None, typer.Option("--band")] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the register (filtered) as an XLSX workbook."""
    from andon.improvement import risks

    with operator_context() as ctx:
        data = risks.export_xlsx(ctx, _filters(area, status, band, "inherent"), today=_today())
    output.write_bytes(data)
    if as_json:
        echo_json({"path": str(output), "bytes": len(data)})
        return
    typer.echo(f"Wrote {output} ({len(data)} bytes).")


# --- helpers -------------------------------------------------------------------------------


def _id(text: str) -> int:
    from andon.documents.content import parse_risk_reference

    found = parse_risk_reference(text)
    if found is None:
        raise typer.BadParameter(f"RSK-12 or 12, not {text!r}", param_hint="RISK")
    return found


def _pair(text: str, option: str) -> tuple[int, int]:
    likelihood, sep, severity = text.lower().partition("x")
    if not sep or not likelihood.strip().isdigit() or not severity.strip().isdigit():
        raise typer.BadParameter(f"LxS such as 3x5, not {text!r}", param_hint=option)
    return int(likelihood), int(severity)


def _scores(inherent: str | None, residual: str | None) -> dict[str, int]:
    out: dict[str, int] = {}
    if inherent is not None:
        out["inherent_likelihood"], out["inherent_severity"] = _pair(inherent, "--inherent")
    if residual is not None:
        out["residual_likelihood"], out["residual_severity"] = _pair(residual, "--residual")
    return out


def _verification(metric: str | None, check_every: int | None) -> dict[str, Any] | None:
    if metric is not None and check_every is not None:
        raise typer.BadParameter("a metric or a recurring check, not both", param_hint="--metric")
    if check_every is not None:
        return {"method": "check", "check_interval_days": check_every}
    if metric is None:
        return None
    parts = metric.rsplit(":", 2)
    try:
        key, comparison, value = parts
        threshold = float(value)
    except ValueError:
        raise typer.BadParameter(
            f"KEY:OP:VALUE with OP one of lt, le, gt, ge, not {metric!r}", param_hint="--metric"
        ) from None
    return {
        "method": "metric",
        "metric_key": key,
        "metric_comparison": comparison,
        "metric_threshold": threshold,
    }


def _filters(area: str | None, status: str | None, band: str | None, scale: str) -> RiskFilters:
    from andon.improvement.risk_schemas import RiskFilters

    return RiskFilters.model_validate(
        {"area": area, "status": status, "band": band, "scale": scale}
    )


def _score_text(score: int | None, band: str | None) -> str:
    return f"{score} {band}" if score is not None else "—"


def _echo_risk(risk: RiskDetailOut, as_json: bool, done: str) -> None:
    if as_json:
        echo_json(risk.model_dump(mode="json"))
        return
    typer.echo(
        f"{done} {risk.reference}: {risk.title} ({risk.status}; inherent "
        f"{_score_text(risk.inherent_score, risk.inherent_band)}, residual "
        f"{_score_text(risk.residual_score, risk.residual_band)})."
    )


def _today() -> date:
    from andon.core.clock import to_local, utcnow

    return to_local(utcnow(), read_settings().zone).date()
