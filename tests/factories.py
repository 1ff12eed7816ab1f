"""Builders for test data, going through the same service functions the app uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text

from andon.accounts import service as accounts
from andon.accounts.models import User
from andon.accounts.schemas import GrantIn, TokenCreate, UserCreate
from andon.core.database import create_db_engine
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.models import Area, Enterprise, Line, Site
from andon.plant.schemas import AreaCreate, EnterpriseCreate, LineCreate, SiteCreate
from andon.work.models import WorkItem

PASSWORD = "correct horse battery"


def make_user(
    system: Context,
    username: str,
    *roles: Role,
    site_id: int | None = None,
    area_id: int | None = None,
    password: str = PASSWORD,
    email: str | None = None,
) -> User:
    grants = [GrantIn(role=r, site_id=site_id, area_id=area_id) for r in roles]
    data = UserCreate(
        username=username,
        display_name=username.title(),
        password=password,
        grants=grants,
        email=email,
    )
    return accounts.create_user(system, data)


def make_token(system: Context, user: User) -> str:
    _, raw = accounts.create_token_for(system, user.id, TokenCreate(name="test"))
    return raw


def bearer(system: Context, username: str, *roles: Role, **scope: int) -> dict[str, str]:
    """Authorization headers for a new user with these roles."""
    user = make_user(system, username, *roles, **scope)
    return {"Authorization": f"Bearer {make_token(system, user)}"}


def make_plant(system: Context) -> tuple[Enterprise, Site, Area, Line]:
    enterprise = plant.create_enterprise(system, EnterpriseCreate(name="Acme Manufacturing"))
    site = plant.create_site(
        system,
        SiteCreate(
            enterprise_id=enterprise.id, name="Chicago", code="CHI", timezone="America/Chicago"
        ),
    )
    area = plant.create_area(system, AreaCreate(site_id=site.id, name="Assembly", code="ASM"))
    line = plant.create_line(system, LineCreate(area_id=area.id, name="Line 1", code="L1"))
    return enterprise, site, area, line


def tamper_with_entry(url: str, seq: int) -> None:
    """Edit a stored audit entry the way an intruder with database access would."""
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.execute(text("DROP TRIGGER audit_entries_no_update"))
            else:
                connection.execute(
                    text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
                )
            connection.execute(
                text("UPDATE audit_entries SET reason = 'nothing to see' WHERE seq = :seq"),
                {"seq": seq},
            )
            if engine.dialect.name != "sqlite":
                connection.execute(
                    text("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only")
                )
    finally:
        engine.dispose()


def cut_off_entries(url: str, keep: int) -> None:
    """Delete every audit entry after ``keep``, as an intruder with database access could."""
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.execute(text("DROP TRIGGER audit_entries_no_delete"))
            else:
                connection.execute(
                    text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
                )
            connection.execute(text("DELETE FROM audit_entries WHERE seq > :keep"), {"keep": keep})
            if engine.dialect.name != "sqlite":
                connection.execute(
                    text("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only")
                )
    finally:
        engine.dispose()


DEMO_PROCESS = Path(__file__).parents[1] / "src" / "andon" / "demo" / "assembly.yaml"


def assembly_spec(**overrides: Any) -> dict[str, Any]:
    """The demo assembly process as plain data, with top-level fields replaced."""
    data: dict[str, Any] = yaml.safe_load(DEMO_PROCESS.read_text())
    data.update(overrides)
    return data


@dataclass
class Floor:
    """A plant with one line, a day-shift calendar, and the assembly process published."""

    site: Site
    area: Area
    line: Line
    process_key: str = "assembly"


def make_floor(system: Context, *, shifts: bool = True, **spec_overrides: Any) -> Floor:
    from datetime import time

    from andon.calendars.service import ShiftInput, set_shifts
    from andon.processes.service import publish

    _, site, area, line = make_plant(system)
    if shifts:
        set_shifts(
            system,
            site.id,
            [ShiftInput("Day", (0, 1, 2, 3, 4), time(6, 0), time(14, 0))],
        )
    publish(system, assembly_spec(**spec_overrides), reason="test")
    return Floor(site, area, line)


def new_item(system: Context, floor: Floor, at: datetime | None = None, **fields: Any) -> WorkItem:
    from andon.work.items import create_item
    from andon.work.schemas import ItemCreate

    values: dict[str, Any] = {
        "process": floor.process_key,
        "line_id": floor.line.id,
        "title": "Pump housing",
        "product": "PH-100",
        "fields": {"customer": "Globex", "order_ref": "SO-12345"},
    }
    values.update(fields)
    return create_item(system, ItemCreate(**values), at=at)


# A Monday morning inside the assembly floor's 06:00-14:00 shift (07:00 in Chicago, week
# 2026-W48), and the small steps the history tests take from it.
MONDAY_7AM = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


def minutes_after_monday(minutes: float) -> datetime:
    return MONDAY_7AM + timedelta(minutes=minutes)


def move_at(system: Context, item: WorkItem, to: str, minutes: float) -> WorkItem:
    """Move ``item`` to stage ``to``, ``minutes`` after MONDAY_7AM."""
    from andon.work import items
    from andon.work.schemas import ItemMove

    when = minutes_after_monday(minutes)
    return items.move_item(system, item.id, ItemMove(to=to, version=item.version), at=when)


def inspect_at(system: Context, item: WorkItem, minutes: float, torque: float) -> WorkItem:
    """Record the inspection checklist (a torque over the limit fails it and sends the item to
    rework), ``minutes`` after MONDAY_7AM; the item as it is afterwards."""
    from andon.work import checks
    from andon.work.schemas import ChecklistRecord, CheckResultIn

    checks.record_checklist(
        system,
        item.id,
        ChecklistRecord(
            results=[
                CheckResultIn(key="visual", passed=True),
                CheckResultIn(key="torque", passed=True, value=torque),
                CheckResultIn(key="leak", passed=True),
            ]
        ),
        at=minutes_after_monday(minutes),
    )
    with system.read() as session:
        fresh = session.get(WorkItem, item.id)
        assert fresh is not None
        return fresh


def wait_until_import_settled(data_dir: Path, dataset_id: str, timeout: float = 30.0) -> None:
    """Wait for an upload's work after ready (dataset_imports._open_prepared): its prepared
    form opened in memory, then its whole-log report kept, so nothing writes behind a test."""
    import time

    from andon.analytics.dataset_store import report_path

    deadline = time.monotonic() + timeout
    report = report_path(data_dir, dataset_id)
    while not report.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"the import of {dataset_id} did not settle in {timeout} s")
        time.sleep(0.02)
