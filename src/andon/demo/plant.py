"""Acme Manufacturing: two sites, their areas and lines, and one demo user per role.

Everything is created through the service functions, so the demo exercises the same rules and
writes the same audit trail as real use. The data is fixed: every load builds the same plant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from andon.accounts import service as accounts
from andon.accounts.schemas import GrantIn, UserCreate
from andon.core.clock import utcnow
from andon.core.errors import NotFound
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.demo.documents_history import DocumentsSummary, load_documents
from andon.demo.improvement import ImprovementSummary, load_improvement
from andon.demo.metrics_history import MetricsSummary, load_metrics
from andon.demo.oee import OeeSummary, load_oee
from andon.demo.work import DEFAULT_HISTORY, HistoryOptions, HistorySummary, load_history
from andon.demo.work import SITE as ASSEMBLY_SITE
from andon.plant import service as plant
from andon.plant.models import LineKind
from andon.plant.schemas import AreaCreate, EnterpriseCreate, LineCreate, SiteCreate

DEMO_ENTERPRISE = "Acme Manufacturing"
# The only default password in Andon: it is published, so it belongs to demo users only.
DEMO_PASSWORD = "andon-demo"  # noqa: S105


@dataclass(frozen=True)
class DemoLine:
    name: str
    code: str
    kind: LineKind = LineKind.LINE


@dataclass(frozen=True)
class DemoArea:
    name: str
    code: str
    lines: tuple[DemoLine, ...] = ()


@dataclass(frozen=True)
class DemoSite:
    name: str
    code: str
    timezone: str
    description: str
    areas: tuple[DemoArea, ...]


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    site_code: str | None = None
    area_code: str | None = None

    @property
    def scope(self) -> str:
        if self.area_code is not None:
            return f"area {self.site_code}/{self.area_code}"
        if self.site_code is not None:
            return f"site {self.site_code}"
        return "all sites"


SITES = (
    DemoSite(
        "Chicago Assembly",
        "CHI",
        "America/Chicago",
        "Final assembly of pump housings; two lines on two shifts.",
        (
            DemoArea(
                "Assembly",
                "ASM",
                (DemoLine("CHI Line 1", "L1"), DemoLine("CHI Line 2", "L2")),
            ),
            DemoArea(
                "Quality Lab",
                "QLAB",
                (DemoLine("CMM Inspection", "CMM", LineKind.WORK_CENTRE),),
            ),
            DemoArea("Warehouse", "WH", (DemoLine("Kitting", "KIT", LineKind.WORK_CENTRE),)),
        ),
    ),
    DemoSite(
        "Charlotte Assembly",
        "CLT",
        "America/New_York",
        "Assembly of the compact pump range; one line, day shift.",
        (DemoArea("Assembly", "ASM", (DemoLine("CLT Line 1", "L1"),)),),
    ),
)

USERS = (
    DemoUser("admin", "Avery Admin", Role.ADMIN),
    DemoUser("ops-manager", "Morgan Reyes", Role.OPS_MANAGER),
    DemoUser("quality", "Priya Natarajan", Role.QUALITY),
    DemoUser("safety", "Sam Okafor", Role.SAFETY),
    DemoUser("supervisor", "Jordan Kowalski", Role.SUPERVISOR, site_code="CHI"),
    DemoUser("operator", "Luis Ortega", Role.OPERATOR, site_code="CHI", area_code="ASM"),
    DemoUser("viewer", "Casey Viewer", Role.VIEWER),
)


@dataclass
class DemoSummary:
    """What `load_demo` did; ``created`` is False when the demo plant was already there."""

    created: bool
    enterprise_id: int
    sites: int = 0
    areas: int = 0
    lines: int = 0
    work_centres: int = 0
    users: tuple[DemoUser, ...] = USERS
    password: str = DEMO_PASSWORD
    user_ids: dict[str, int] = field(default_factory=dict)
    history: HistorySummary | None = None
    documents: DocumentsSummary | None = None
    oee: OeeSummary | None = None
    metrics: MetricsSummary | None = None
    improvement: ImprovementSummary | None = None


def load_demo(ctx: Context, history: HistoryOptions | None = DEFAULT_HISTORY) -> DemoSummary:
    """Build the demo plant and users, unless the demo enterprise already exists.

    Then its controlled documents with their revision histories, placed around the history's
    window (see ``andon.demo.documents_history``), and, unless ``history`` is None, its
    assembly process, calendars and stop rules, and a simulated work history (see
    ``andon.demo.work``). The whole load is one unit of work: a
    failure part-way (say, a real user already named ``admin``) leaves nothing behind.
    """
    with ctx.atomic():
        summary = _load(ctx)
        if not summary.created:
            return summary
        end_at = _hour(utcnow())
        if history is not None and history.end_at is not None:
            end_at = history.end_at.astimezone(UTC)
        start_at = end_at - timedelta(days=history.days) if history is not None else end_at
        people = {
            name: ctx.as_actor(accounts.actor_for(accounts.get_user(ctx, user_id)))
            for name, user_id in summary.user_ids.items()
        }
        # Before the history, so its moves find the revisions in force when they happened.
        summary.documents = load_documents(people, DEMO_PASSWORD, start_at=start_at, end_at=end_at)
        if history is not None:
            summary.history = load_history(ctx, summary.user_ids, history)
            summary.lines += summary.history.lines_added
            summary.oee = load_oee(people, start_at=start_at, end_at=end_at, seed=history.seed)
            # In the assembly site's zone, as `make demo` serves it (ANDON_TIMEZONE).
            zone = ZoneInfo(plant.find_site_by_code(ctx, ASSEMBLY_SITE).timezone)
            summary.metrics = load_metrics(people, end_at=end_at, seed=history.seed, zone=zone)
            summary.improvement = load_improvement(
                people, start_at=start_at, end_at=end_at, zone=zone
            )
        return summary


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _load(ctx: Context) -> DemoSummary:
    try:
        existing = plant.find_enterprise_by_name(ctx, DEMO_ENTERPRISE)
    except NotFound:
        pass
    else:
        return DemoSummary(created=False, enterprise_id=existing.id)

    enterprise = plant.create_enterprise(
        ctx,
        EnterpriseCreate(
            name=DEMO_ENTERPRISE, description="Demo company: pumps, assembled in two plants."
        ),
    )
    summary = DemoSummary(created=True, enterprise_id=enterprise.id)
    site_ids: dict[str, int] = {}
    area_ids: dict[tuple[str, str], int] = {}
    for demo_site in SITES:
        site = plant.create_site(
            ctx,
            SiteCreate(
                enterprise_id=enterprise.id,
                name=demo_site.name,
                code=demo_site.code,
                timezone=demo_site.timezone,
                description=demo_site.description,
            ),
        )
        site_ids[demo_site.code] = site.id
        summary.sites += 1
        for demo_area in demo_site.areas:
            area = plant.create_area(
                ctx, AreaCreate(site_id=site.id, name=demo_area.name, code=demo_area.code)
            )
            area_ids[(demo_site.code, demo_area.code)] = area.id
            summary.areas += 1
            for demo_line in demo_area.lines:
                plant.create_line(
                    ctx,
                    LineCreate(
                        area_id=area.id,
                        name=demo_line.name,
                        code=demo_line.code,
                        kind=demo_line.kind,
                    ),
                )
                if demo_line.kind == LineKind.WORK_CENTRE:
                    summary.work_centres += 1
                else:
                    summary.lines += 1

    for demo_user in USERS:
        grant = GrantIn(
            role=demo_user.role,
            site_id=site_ids[demo_user.site_code] if demo_user.site_code else None,
            area_id=(
                area_ids[(demo_user.site_code, demo_user.area_code)]
                if demo_user.site_code and demo_user.area_code
                else None
            ),
        )
        user = accounts.create_user(
            ctx,
            UserCreate(
                username=demo_user.username,
                display_name=demo_user.display_name,
                email=f"{demo_user.username}@acme.example",
                password=DEMO_PASSWORD,
                grants=[grant],
            ),
        )
        summary.user_ids[user.username] = user.id
    return summary
