"""The demo plant's improvement work, through the services, on what the history really holds.

- An RCA of line 1's rework spike (the nutrunner drift simulated in ``andon.demo.work``):
  its problem statement counted from the rework metric, the torque exceptions and the first
  signal linked, a containment action, a 5-whys chain with a branch, 6M categories on the
  fishbone, causes verified with evidence, the root cause named.
- Its corrective CAPA: the changes it produced (SOP-ASM-001 revision 3, signed, and the
  assembly process's version 2 with the QA gate, both made by the history at the CAPA's
  moment), and an effectiveness check on the rework metric of line 1 that the check computes
  from the data — effective because the history after the change has less rework — then
  closed on it. A preventive CAPA is still open, so the RCA is too.
- A postmortem of the safety stop, published after review; three decisions.
- The risk register: a dozen risks across the plant's areas (the lockout change's ram risk
  comes with the documents), scored inherent and residual on the 5×5 matrix, with their
  mitigations as actions (some done, some open, one overdue), verified by a metric against
  a threshold or by a recurring check, one still to assess and one accepted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from andon.actions import service as actions
from andon.actions.schemas import ActionCreate, ActionLink
from andon.core.errors import Conflict
from andon.core.uow import Context
from andon.demo.work import (
    AREA,
    SITE,
    STOPPED_LINE,
    TORQUE_DRIFT_DAYS_BEFORE_END,
    TORQUE_LINE,
    torque_fix_at,
)
from andon.improvement import capa, decisions, postmortems, rca, risks
from andon.improvement.capa_schemas import CapaCreate, ChangeLink
from andon.improvement.decision_schemas import DecisionCreate, OptionIn
from andon.improvement.postmortem_schemas import PostmortemCreate, PostmortemUpdate
from andon.improvement.rca_schemas import (
    CauseCreate,
    CauseVerify,
    ContainmentCreate,
    RcaCreate,
    RcaLinkIn,
    RcaUpdate,
)
from andon.improvement.risk_schemas import (
    MitigationCreate,
    RiskCreate,
    RiskVerify,
    Verification,
)
from andon.metrics import service as metrics
from andon.plant import service as plant
from andon.plant.models import Line
from andon.work.models import LineStop, PlantException

METRIC = "rework_inspect"
# The days before and after the change the effectiveness check compares: two weeks each.
WINDOW_DAYS = 14
TORQUE_EXCEPTION = "Failed inspection: Main bolt torque%"
MAX_LINKED = 25


@dataclass
class ImprovementSummary:
    rcas: int = 0
    capas: int = 0
    verdict: str | None = None
    postmortems: int = 0
    decisions: int = 0
    risks: int = 0


def load_improvement(
    people: Mapping[str, Context], *, start_at: datetime, end_at: datetime, zone: ZoneInfo
) -> ImprovementSummary:
    """Load the RCA, CAPAs, postmortem and decisions; needs the history and the metrics.

    The torque story needs the drift and the fix inside the history: a shorter history gets
    the postmortem and the decisions only.
    """
    summary = ImprovementSummary()
    quality = people["quality"]
    lines = _assembly_lines(quality)
    drift_at = end_at - timedelta(days=TORQUE_DRIFT_DAYS_BEFORE_END)
    fix_at = torque_fix_at(end_at)
    rca_id: int | None = None
    if start_at + timedelta(days=10) < drift_at and _has_limits(quality, lines):
        rca_id = _torque_rca(people, lines[TORQUE_LINE], drift_at, fix_at, zone)
        summary.rcas += 1
        summary.verdict = _torque_capas(people, rca_id, lines[TORQUE_LINE], fix_at, end_at, zone)
        summary.capas += 2
    if len(lines) > STOPPED_LINE and _postmortem(people, lines[STOPPED_LINE], end_at):
        summary.postmortems += 1
    summary.decisions += _decisions(people, rca_id, end_at, zone)
    summary.risks += _risks(people, end_at, zone)
    return summary


def _has_limits(ctx: Context, lines: list[Line]) -> bool:
    """Whether the torque line's rework chart exists: a history without items has none."""
    if len(lines) <= TORQUE_LINE:
        return False
    try:
        metrics.chart(ctx, METRIC, line=lines[TORQUE_LINE].code)
    except Conflict:
        return False
    return True


def _assembly_lines(ctx: Context) -> list[Line]:
    area = plant.find_area_by_code(ctx, SITE, AREA)
    return sorted(plant.list_lines(ctx, area_id=area.id).items, key=lambda line: line.code)


def _torque_rca(
    people: Mapping[str, Context], line: Line, drift_at: datetime, fix_at: datetime, zone: ZoneInfo
) -> int:
    quality = people["quality"]
    chart = metrics.chart(quality, METRIC, line=line.code)
    drift_day = drift_at.astimezone(zone).date().isoformat()
    fix_day = fix_at.astimezone(zone).date().isoformat()
    spike = [p for p in chart.points if drift_day <= p.period < fix_day and p.value is not None]
    signals = [p for p in spike if p.signals]
    # Opened the working day after the second signal: the team saw it at the tier meeting.
    seen = signals[1] if len(signals) > 1 else (signals or spike)[0]
    opened_at = datetime.fromisoformat(seen.period).replace(hour=9, tzinfo=zone) + timedelta(days=1)
    # What the team knew when it opened the RCA: the days up to the one before.
    known = [p for p in spike if p.period < opened_at.date().isoformat()] or spike
    spike_rate = sum(p.value for p in known) / len(known)
    with quality.read() as session:
        torque_exceptions = list(
            session.scalars(
                select(PlantException.id)
                .where(
                    PlantException.line_id == line.id,
                    PlantException.category == "quality",
                    PlantException.description.like(TORQUE_EXCEPTION),
                    PlantException.raised_at >= drift_at,
                    PlantException.raised_at < opened_at,
                )
                .order_by(PlantException.id)
                .limit(MAX_LINKED)
            )
        )
    links = [RcaLinkIn(kind="exception", ref=str(i)) for i in torque_exceptions]
    links.append(
        RcaLinkIn(
            kind="metric",
            ref=f"{METRIC}@{seen.period}/{line.code}",
            note=f"Signal {', '.join(seen.signals)} on the rework p-chart of {line.code}",
        )
    )
    opened = rca.open_rca(
        quality,
        RcaCreate(
            title=f"Rework spike at Inspect on {line.code}: main bolts over-torqued",
            what=(
                "First inspections of housings assembled on line 1 fail far more often than "
                "usual, nearly all on the main-bolt torque check (readings above 12.5 Nm)."
            ),
            location=f"{SITE}/{AREA}/{line.code}: built at Assemble station 2, found at Inspect",
            how_much=(
                f"On {line.code} {spike_rate:.0%} of inspections a day failed on average from "
                f"{drift_day} ({len(known)} working days), against a centre line of "
                f"{chart.center:.0%}; "
                f"{len(torque_exceptions)} torque exceptions raised."
            ),
            started_at=drift_at,
            line_id=line.id,
            category="quality",
            metric_key=METRIC,
            owner_user="quality",
            links=links,
        ),
        at=opened_at,
    )
    contained = rca.add_containment(
        quality,
        opened.id,
        ContainmentCreate(
            title="100% torque audit of line 1 housings with the calibrated wrench CW-2",
            description="Until the cause is found: every housing's main bolts re-checked "
            "before it leaves Assemble; over-torqued bolts replaced.",
            owner_role="supervisor",
            due_on=opened_at.date() + timedelta(days=1),
        ),
        at=opened_at,
    )
    actions.close_action(
        people["supervisor"],
        contained.action_id,
        note="Both shifts audit every housing's main bolts with CW-2 before it leaves "
        "Assemble; 14 over-torqued housings caught and re-built on the first day.",
        at=opened_at + timedelta(hours=20),
    )
    step = timedelta(hours=3)
    at = opened_at + step

    def why(text: str, parent: int | None, category: str | None) -> int:
        nonlocal at
        at += step
        cause = rca.add_cause(
            quality, opened.id, CauseCreate(text=text, parent_id=parent, category=category), at=at
        )
        return cause.id

    def verify(cause_id: int, evidence: str, query: str | None = None) -> None:
        nonlocal at
        at += step
        rca.verify_cause(
            quality,
            opened.id,
            cause_id,
            CauseVerify(evidence=evidence, evidence_query=query),
            at=at,
        )

    window = (
        f"/analytics/plant-assembly?time_from={drift_day}T00:00&time_to="
        f"{opened_at.date().isoformat()}T00:00"
    )
    over = why(
        "The main bolts of line 1's housings are over-torqued (12.6–13.6 Nm, limit 12.5 Nm)",
        None,
        "measurement",
    )
    verify(
        over,
        "Failed inspection checklists on L1 since the spike began: the torque line "
        "fails in nearly all of them, the leak and visual lines as before.",
        window,
    )
    tool = why(
        "Nutrunner NR-2 at station 2 delivers more torque than program PH-M6 asks for",
        over,
        "machine",
    )
    verify(
        tool,
        "Test joint TJ-1 read 13.2 Nm with the calibrated click wrench CW-2 while "
        "the controller reported 11.5 Nm.",
    )
    drifted = why(
        "NR-2's torque transducer has drifted out of calibration since its yearly calibration",
        tool,
        "machine",
    )
    verify(
        drifted,
        "Calibration lab report CAL-2026-118: transducer reads 13% low; last "
        "calibrated 11 months ago.",
    )
    nobody = why(
        "Nothing verifies a nutrunner between yearly calibrations: SOP-ASM-001 has no torque "
        "check at shift start, and the first check is at Inspect, after assembly",
        drifted,
        "method",
    )
    verify(
        nobody,
        "SOP-ASM-001 revision 2 and the assembly process version 1 reviewed: no "
        "tool verification step, no check at Assemble.",
    )
    rca.set_root(quality, opened.id, nobody)
    # A branch that was checked and ruled out stays on the tree, unverified.
    why("A new lot of main bolts with a harder coating needs less torque", over, "material")
    why("NR-2 was dropped during the changeover on the late shift", drifted, "man")
    return opened.id


def _torque_capas(
    people: Mapping[str, Context],
    rca_id: int,
    line: Line,
    fix_at: datetime,
    end_at: datetime,
    zone: ZoneInfo,
) -> str:
    quality = people["quality"]
    detail = rca.get_rca(quality, rca_id)
    root = next(c for c in detail.causes if c.root)
    # The problem ended when the change took effect: the window the RCA's timeline covers.
    rca.update_rca(quality, rca_id, RcaUpdate(version=detail.version, ended_at=fix_at))
    planned_at = fix_at - timedelta(days=3)
    corrective = capa.open_capa(
        quality,
        CapaCreate(
            title="Verify nutrunner torque at shift start and gate Assemble on it",
            description="Add the shift-start torque verification to SOP-ASM-001 (revision 3, "
            "with training) and a QA gate at Assemble to the assembly process, so an "
            "uncalibrated tool is caught before an item reaches Inspect.",
            kind="corrective",
            owner_user="quality",
            due_on=fix_at.date(),
            priority="high",
            rca_id=rca_id,
            cause_id=root.id,
            metric_key=METRIC,
            metric_line=line.code,
            window_days=WINDOW_DAYS,
        ),
        at=planned_at,
    )
    for kind, ref in (("document_revision", "SOP-ASM-001/3"), ("process_version", "assembly/2")):
        capa.link_change(quality, corrective.id, ChangeLink(kind=kind, ref=ref), at=fix_at)
    check = capa.run_check(quality, corrective.id, zone=zone, now=end_at)
    if check.verdict == "effective":
        capa.close_capa(
            quality,
            corrective.id,
            note=f"Effective: rework at Inspect on {line.code} fell from "
            f"{check.before.value:.1%} to {check.after.value:.1%} (p = {check.p_value:.2g}).",
            at=end_at,
        )
    capa.open_capa(
        quality,
        CapaCreate(
            title="Put every nutrunner transducer on a monthly calibration check",
            description="Preventive: the other lines' nutrunners and the kitting torque "
            "tools, on the calibration plan with a monthly test-joint check.",
            kind="preventive",
            owner_role="quality",
            due_on=(end_at + timedelta(days=21)).astimezone(zone).date(),
            rca_id=rca_id,
            cause_id=root.id,
        ),
        at=fix_at + timedelta(days=2),
    )
    return check.verdict


def _postmortem(people: Mapping[str, Context], line: Line, end_at: datetime) -> bool:
    supervisor, safety = people["supervisor"], people["safety"]
    with supervisor.read() as session:
        stop = session.scalar(
            select(LineStop)
            .where(LineStop.line_id == line.id, LineStop.restarted_at.isnot(None))
            .order_by(LineStop.stopped_at)
            .limit(1)
        )
    if stop is None or stop.restarted_at is None:
        return False
    written_at = stop.restarted_at + timedelta(days=1)
    draft = postmortems.create_postmortem(
        supervisor,
        PostmortemCreate(
            title=f"Safety stop on {line.code}: light curtain bypassed at the cover press",
            kind="line_stop",
            line_stop_id=stop.id,
            summary="An operator's hand reached the pinch point of the cover press with its "
            "light curtain bypassed. Nobody was hurt; the line stopped by its safety rule.",
        ),
        at=written_at,
    )
    edited = postmortems.update_postmortem(
        supervisor,
        draft.id,
        PostmortemUpdate(
            version=draft.version,
            what_happened=(
                "During a jam at press station 2 the light curtain was bypassed with the "
                "maintenance key so the ram could be cycled while clearing the part. The key "
                "stayed in; the next cycle ran with the curtain muted. The safety exception "
                "stopped the line; supervisor and quality signed off the restart after the "
                "curtain was repaired and tested."
            ),
            why=(
                "The maintenance key can mute the curtain in production mode, and clearing a "
                "jam has no written method, so bypassing was the quickest way to keep the "
                "line running."
            ),
            changes=(
                "Bypass key removed from the station; the safety PLC now monitors the mute "
                "input. A jam-clearing method is being added to SOP-SAF-001 (in review)."
            ),
            impact_cost=1850.0,
            impact_currency="USD",
        ),
    )
    # Opened by safety, who owns it: a follow-up the review asked for.
    actions.open_action(
        safety,
        ActionCreate(
            title="Write the jam-clearing method for the cover press into SOP-SAF-001",
            owner_role="safety",
            due_on=(end_at + timedelta(days=10)).date(),
            links=[ActionLink(kind="postmortem", ref=str(draft.id))],
        ),
        at=written_at,
    )
    submitted = postmortems.submit_postmortem(
        supervisor, draft.id, version=edited.version, at=written_at + timedelta(hours=2)
    )
    postmortems.publish_postmortem(
        safety, draft.id, version=submitted.version, at=written_at + timedelta(days=1)
    )
    return True


def _decisions(
    people: Mapping[str, Context], rca_id: int | None, end_at: datetime, zone: ZoneInfo
) -> int:
    manager = people["ops-manager"]
    today = end_at.astimezone(zone).date()
    recorded = [
        DecisionCreate(
            title="Torque is verified at Assemble, not only at Inspect",
            decision="Every Assemble station verifies its nutrunner on a test joint at shift "
            "start, and items pass a QA gate at Assemble before Inspect.",
            context="Line 1's rework spike came from a drifted nutrunner that only Inspect "
            "could catch, after a whole shift's housings were built.",
            options=[
                OptionIn(
                    name="Shorter calibration interval only",
                    pros="No floor change",
                    cons="Still blind between calibrations",
                ),
                OptionIn(
                    name="Shift-start verification and a QA gate",
                    pros="Caught before the item leaves Assemble",
                    cons="Two minutes per shift per station",
                ),
            ],
            decides=["ops-manager"],
            consulted=["quality", "supervisor"],
            informed=["operator"],
            decided_on=today - timedelta(days=19),
            revisit_on=today + timedelta(days=60),
            metrics=[METRIC],
            document_revisions=["SOP-ASM-001/3"] if rca_id else [],
            process_versions=["assembly/2"] if rca_id else [],
            rcas=[rca_id] if rca_id else [],
        ),
        DecisionCreate(
            title="Who may restart a line after a stop",
            decision="A stopped line restarts on two sign-offs: the line's supervisor and "
            "quality; safety signs as well after a safety stop.",
            context="Restarts were decided by whoever was on the floor.",
            decides=["ops_manager"],
            consulted=["safety", "quality"],
            informed=["supervisor", "operator"],
            decided_on=today - timedelta(days=90),
            revisit_on=today - timedelta(days=2),
        ),
        DecisionCreate(
            title="Rework at Inspect is reviewed per line, daily",
            decision="The rework rate at Inspect is charted per line and day on a p-chart; "
            "the quality engineer reviews any signal at the next tier meeting.",
            context="A plant-wide weekly figure hid line 2's material change for a week.",
            decides=["quality"],
            consulted=["ops_manager"],
            informed=["supervisor"],
            decided_on=today - timedelta(days=40),
            revisit_on=today + timedelta(days=120),
            metrics=[METRIC],
        ),
    ]
    for data in recorded:
        decisions.record_decision(manager, data)
    return len(recorded)


@dataclass(frozen=True)
class _DemoRisk:
    title: str
    area: str
    owner: str
    cause: str
    consequence: str
    inherent: tuple[int, int] | None  # likelihood, severity
    residual: tuple[int, int] | None = None
    status: str | None = None
    # (title, owner role, due in days from the end (negative: past), done)
    mitigations: tuple[tuple[str, str, int, bool], ...] = ()
    verification: Verification | None = None
    verified: str | None = None  # "met" / "not_met" for a check; "metric" to evaluate


MONTHLY = Verification(method="check", check_interval_days=30)
QUARTERLY = Verification(method="check", check_interval_days=91)
DEMO_RISKS = (
    _DemoRisk(
        "Nutrunner drifts out of calibration between yearly calibrations",
        "ASM",
        "quality",
        "Transducers drift; nothing checked them between calibrations",
        "Over- or under-torqued main bolts: leaks in the field, rework, recalls",
        (4, 4),
        (2, 4),
        "mitigating",
        (
            ("Shift-start torque verification in SOP-ASM-001 with a QA gate", "quality", -16, True),
            (
                "Monthly test-joint check of every nutrunner on the calibration plan",
                "quality",
                21,
                False,
            ),
        ),
        Verification(
            method="metric",
            metric_key="exceptions_quality",
            metric_comparison="le",
            metric_threshold=45,
        ),
        "metric",
    ),
    _DemoRisk(
        "Forklift and pedestrian collision at the dock door",
        "WH",
        "safety",
        "Forklifts and people share the dock aisle; the pedestrian lane is not physically "
        "separated",
        "Serious injury or fatality",
        (3, 5),
        (2, 5),
        "mitigating",
        (
            (
                "Install a barrier rail along the pedestrian lane at the dock",
                "ops_manager",
                12,
                False,
            ),
            ("Blue-spot warning lights on all forklifts", "safety", -20, True),
        ),
        MONTHLY,
        "met",
    ),
    _DemoRisk(
        "Oil spill on the station 3 walkway",
        "ASM",
        "safety",
        "Hydraulic press PR-3 weeps oil onto the walkway",
        "Slip and fall; lost-time injury",
        (3, 3),
        (2, 2),
        "mitigating",
        (("Replace PR-3's leaking cylinder seal", "supervisor", -3, False),),
        Verification(
            method="metric", metric_key="near_misses", metric_comparison="ge", metric_threshold=1
        ),
        "metric",
    ),
    _DemoRisk(
        "Light curtain bypass at the cover press",
        "ASM",
        "safety",
        "A maintenance key can mute the light curtain in production mode",
        "Crushed hand at the pinch point",
        (2, 5),
        (1, 5),
        "mitigating",
        (("Remove the bypass key; the safety PLC monitors the mute input", "safety", -10, True),),
        MONTHLY,
        "met",
    ),
    _DemoRisk(
        "New casting supplier's seal faces leak more often",
        "ASM",
        "quality",
        "The supplier changed on line 2 without a first-article inspection of the seal faces",
        "Rework at Inspect, scrap, late shipments",
        (4, 3),
        None,
        "open",
        (("Supplier containment: 100% seal-face check at goods receipt", "quality", 5, False),),
        Verification(
            method="metric", metric_key="scrap_cost", metric_comparison="le", metric_threshold=3500
        ),
        "metric",
    ),
    _DemoRisk(
        "Single main air compressor for the whole assembly area",
        "ASM",
        "ops-manager",
        "One compressor feeds every pneumatic tool; no standby unit",
        "All three lines stop for the length of a repair",
        (2, 4),
        None,
        "open",
        (("Quote a standby compressor with automatic changeover", "ops_manager", 30, False),),
        QUARTERLY,
    ),
    _DemoRisk(
        "Kit lists fall out of step with BOM revisions",
        "WH",
        "supervisor",
        "Kit lists are copied by hand when engineering revises a bill of materials",
        "Wrong or missing parts at Assemble; rework and waits for parts",
        (3, 2),
        (1, 2),
        "mitigating",
        (("Generate kit lists from the ERP BOM, no manual copy", "ops_manager", 45, False),),
        MONTHLY,
        "not_met",
    ),
    _DemoRisk(
        "CMM out of calibration",
        "QLAB",
        "quality",
        "The CMM's yearly calibration slipped past its due date last year",
        "Good parts rejected or bad parts released",
        (2, 3),
        (1, 3),
        "mitigating",
        (("Put the CMM calibration on the document review calendar", "quality", -30, True),),
        QUARTERLY,
        "met",
    ),
    _DemoRisk(
        "Customer drawing revisions missed on rush orders",
        "ASM",
        "supervisor",
        "Rush orders skip the planning check of the customer's drawing revision",
        "A whole order built to the wrong revision",
        (2, 4),
        (1, 4),
        "accepted",
    ),
    _DemoRisk(
        "Heat stress at the leak-test booth in summer",
        "QLAB",
        "safety",
        "The booth has no ventilation; summer temperatures reach 35 °C",
        "Heat exhaustion; errors in the leak test",
        (2, 3),
        None,
        "open",
        (("Fit a spot cooler to the leak-test booth before May", "ops_manager", 120, False),),
        QUARTERLY,
    ),
    _DemoRisk(
        "Cyber attack on the line PLCs through the plant network",
        "ASM",
        "ops-manager",
        "The PLCs sit on the office network without segmentation",
        "Lines stop; safety functions tampered with",
        None,
    ),
)


def _risks(people: Mapping[str, Context], end_at: datetime, zone: ZoneInfo) -> int:
    """The register beyond the lockout change's ram risk (added with the documents)."""
    safety = people["safety"]
    today = end_at.astimezone(zone).date()
    added_at = end_at - timedelta(days=60)
    for i, entry in enumerate(DEMO_RISKS):
        at = added_at + timedelta(hours=4 * i)
        inherent = entry.inherent or (None, None)
        residual = entry.residual or (None, None)
        risk = risks.add_risk(
            safety,
            RiskCreate(
                title=entry.title,
                area=entry.area,
                cause=entry.cause,
                consequence=entry.consequence,
                inherent_likelihood=inherent[0],
                inherent_severity=inherent[1],
                residual_likelihood=residual[0],
                residual_severity=residual[1],
                owner=entry.owner,
                status=entry.status,
                verification=entry.verification,
                review_on=today + timedelta(days=30 + 20 * i),
            ),
            at=at,
            today=at.date(),
        )
        for title, role, due_in, done in entry.mitigations:
            action = risks.add_mitigation(
                safety,
                risk.id,
                MitigationCreate(
                    title=title, owner_role=role, due_on=today + timedelta(days=due_in)
                ),
                at=at,
            )
            if done:
                actions.close_action(
                    safety, action.id, note="Done and checked on the floor", at=end_at
                )
        if entry.verified == "metric":
            # A short history may hold no finished period of the metric yet: refused before
            # anything is written, and the risk is simply not verified yet.
            with contextlib.suppress(Conflict):
                risks.verify_risk(safety, risk.id, RiskVerify(), zone=zone, today=today, at=end_at)
        elif entry.verified is not None:
            risks.verify_risk(
                safety,
                risk.id,
                RiskVerify(result=entry.verified, note="Walked the area with the owner"),
                zone=zone,
                today=today,
                at=end_at,
            )
    return len(DEMO_RISKS)
