"""A person's paths through work in Chromium: an item from intake to ship, a breach, a line stop.

The plant these tests use (its own site, with no shifts, so SLAs run on a 24/7 clock) and the
assembly process are set up once through the services, against the database the app serves.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from andon.core.clock import utcnow
from andon.core.errors import NotFound
from andon.core.permissions import Role
from andon.plant import service as plant
from andon.plant.schemas import AreaCreate, EnterpriseCreate, LineCreate, SiteCreate
from andon.processes import service as processes
from andon.work.sweep import sweep_slas
from tests.e2e.conftest import SCREENSHOTS, LiveServer, sign_in
from tests.factories import Floor, assembly_spec, make_user, new_item

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

FLOW, LATE, STOP = "WF1", "WF2", "WF3"
LATE_CLASS = re.compile(r"\bsla-late\b")


@pytest.fixture(scope="module")
def floors(live_server: LiveServer) -> dict[str, Floor]:
    """Three lines of one site, one per path, so a stopped line blocks nothing else."""
    system = live_server.system
    enterprise = plant.create_enterprise(system, EnterpriseCreate(name="Work Flow Works"))
    site = plant.create_site(
        system,
        SiteCreate(
            enterprise_id=enterprise.id, name="Flow town", code="FLW", timezone="America/Chicago"
        ),
    )
    area = plant.create_area(system, AreaCreate(site_id=site.id, name="Assembly", code="ASM"))
    try:
        processes.get_process(system, "assembly")
    except NotFound:
        processes.publish(system, assembly_spec(), reason="e2e work flow")
    make_user(system, "sam", Role.SUPERVISOR)
    make_user(system, "quinn", Role.QUALITY)
    names = {FLOW: "Flow line", LATE: "Late line", STOP: "Cord line"}
    return {
        code: Floor(
            site,
            area,
            plant.create_line(system, LineCreate(area_id=area.id, name=name, code=code)),
        )
        for code, name in names.items()
    }


def flash(page: Page) -> Locator:
    return page.get_by_role("status")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login"))


def move(page: Page, item_id: int, stage: str) -> None:
    page.get_by_role("button", name=f"Move to {stage}").click()
    expect(flash(page)).to_have_text(f"Moved #{item_id} to {stage}.")


def stage_of(page: Page) -> Locator:
    return page.locator(".work-facts dt:text-is('Stage') + dd")


def tile(page: Page, code: str) -> Locator:
    return page.locator(".board-tile").filter(has_text=code)


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def test_item_walks_from_intake_to_ship(page: Page, floors: dict[str, Floor]) -> None:
    sign_in(page, "sam")
    page.goto("/work")
    expect(page.get_by_role("link", name="New work item")).to_have_attribute("href", "/work/new")
    # With one active process /work/new skips the choice; ?process= always asks.
    page.goto("/work/new?process=")
    page.get_by_label("Process", exact=True).select_option(label="Assembly order")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Assembly order")).to_be_visible()

    page.get_by_label("Line", exact=True).select_option(
        label=f"{FLOW} · Flow line (FLW / Assembly)"
    )
    page.get_by_label("Title").fill("Gearbox for Initech")
    page.get_by_label("Product (part number)").fill("GB-300")
    page.get_by_label("Quantity").fill("2")
    page.get_by_label("Customer", exact=True).fill("Initech")
    page.get_by_label("Order reference").fill("SO-54321")
    page.get_by_label("Rush order").check()
    page.get_by_role("button", name="Create work item").click()

    page.wait_for_url(re.compile(r"/work/\d+$"))
    item_id = int(page.url.rsplit("/", 1)[1])
    expect(flash(page)).to_have_text(f"Created work item #{item_id} at Intake.")
    facts = page.locator(".work-facts")
    expect(facts).to_contain_text("Initech")
    expect(facts).to_contain_text("SO-54321")
    for stage in ("Plan", "Kit", "Assemble", "Inspect"):
        move(page, item_id, stage)
    expect(page.get_by_text("Needs a passing Inspect checklist first.")).to_be_visible()

    checklist = page.get_by_role("form", name="Inspect checklist")
    checklist.get_by_role("group", name="No visible damage").get_by_label("Pass").check()
    torque = checklist.get_by_role("group", name="Main bolt torque")
    torque.get_by_label("Pass").check()
    torque.get_by_label("Measured (Nm)").fill("11.8")
    checklist.get_by_role("group", name="Leak test passed").get_by_label("Pass").check()
    checklist.get_by_role("button", name="Record checklist").click()
    expect(flash(page)).to_have_text("Checklist passed at Inspect.")

    move(page, item_id, "Pack")
    page.get_by_role("button", name="Move to Ship").click()
    expect(flash(page)).to_have_text(f"Moved #{item_id} to Ship. It is finished.")
    expect(page.locator(".work-status")).to_have_text("done")
    expect(stage_of(page)).to_have_text("Ship")
    expect(page.get_by_text("The item is finished.")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Move to"))).to_have_count(0)
    timeline = page.locator(".work-timeline")
    expect(timeline.locator(".work-event-moved .work-event-what")).to_have_text(
        [
            "moved Pack → Ship",
            "moved Inspect → Pack",
            "moved Assemble → Inspect",
            "moved Kit → Assemble",
            "moved Plan → Kit",
            "moved Intake → Plan",
        ]
    )
    expect(timeline.locator(".work-event-what").first).to_have_text("finished at Ship")
    expect(timeline.locator(".work-event-what").last).to_have_text("created at Intake")
    expect(timeline).to_contain_text("checklist passed at Inspect")
    screenshot(page, "work-item.png")


def test_late_item_escalates_and_is_acknowledged(
    page: Page, live_server: LiveServer, floors: dict[str, Floor]
) -> None:
    # Intake's SLA is 2 h; tier 1 fires at 75 % of it and tier 2 at 100 %.
    entered = utcnow() - timedelta(hours=2, minutes=10)
    item = new_item(live_server.system, floors[LATE], at=entered, title="Late pump")
    sign_in(page, "sam")
    page.goto(f"/work/{item.id}")
    expect(page.get_by_role("heading", name="SLA clocks")).to_be_visible()
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)

    report = sweep_slas(live_server.system, now=utcnow())
    assert report.fired >= 2

    page.reload()
    stage_clock = page.locator(".work-clock").filter(has_text="Intake stage")
    expect(stage_clock).to_have_class(LATE_CLASS)
    expect(stage_clock.locator(".sla-badge")).to_contain_text("late by")
    alert = page.get_by_role("region", name="Escalated, waiting for acknowledgement")
    expect(alert.get_by_role("listitem")).to_have_count(2)
    supervisor = alert.get_by_role("listitem").filter(has_text="Line supervisor")
    supervisor.get_by_label("Note").fill("On it: kitting short a gasket")
    supervisor.get_by_role("button", name="Acknowledge").click()

    expect(flash(page)).to_have_text("Acknowledged the escalation to Line supervisor.")
    expect(alert.get_by_role("listitem")).to_have_text([re.compile("Operations manager")])
    row = page.get_by_role("row").filter(has_text="1. Line supervisor")
    expect(row).to_contain_text("acknowledged by sam")
    expect(page.locator(".work-timeline")).to_contain_text(
        "acknowledged the escalation to Line supervisor"
    )
    expect(page.locator(".work-timeline")).to_contain_text("stage SLA breached at Intake")

    page.goto(f"/work?line={floors[LATE].line.id}&late=1")
    card = page.locator(".work-card").filter(has_text="Late pump")
    expect(card).to_have_class(re.compile(r"\bsla-late\b"))
    expect(card.locator(".sla-badge")).to_contain_text("late by")
    screenshot(page, "work-queue.png")


def test_stopped_line_refuses_moves_until_two_people_sign_off(
    page: Page, live_server: LiveServer, floors: dict[str, Floor]
) -> None:
    line = floors[STOP].line
    # A KIT-* product starts at Kit, a stage operators own.
    item = new_item(live_server.system, floors[STOP], title="Kit for line stop", product="KIT-7")
    sign_in(page, "otto")
    page.goto("/board")
    expect(tile(page, STOP).locator(".board-status")).to_have_text("RUNNING")

    # The cord is pulled at the line while the board stays open, as on a wall screen.
    line_page = page.context.new_page()
    line_page.goto("/board")
    tile(line_page, STOP).get_by_role("link", name=f"{STOP} Cord line").click()
    line_page.get_by_label("What is wrong?").fill("Coolant leak under station 3")
    line_page.get_by_role("button", name=f"Pull the cord: stop {STOP}").click()
    expect(flash(line_page)).to_have_text(f"Line {STOP} is STOPPED. Restart needs two sign-offs.")

    stopped = tile(page, STOP)
    expect(stopped.locator(".board-status")).to_have_text("STOPPED", timeout=10_000)
    expect(stopped).to_contain_text("Coolant leak under station 3")
    expect(stopped).to_contain_text("Cord pulled by otto")
    screenshot(page, "board-stopped.png")

    # The item's page offers no move while its line is stopped, and says why.
    line_page.goto(f"/work/{item.id}")
    expect(line_page.get_by_role("button", name="Move to Assemble")).to_have_count(0)
    notice = line_page.locator("#move-stopped")
    expect(notice).to_contain_text(f"Line {STOP} is stopped")
    expect(notice).to_contain_text("Coolant leak under station 3")
    expect(stage_of(line_page)).to_have_text("Kit")
    line_page.close()

    for username, role, message in (
        ("sam", "Supervisor", f"Sign-off recorded for line {STOP}; it restarts after"),
        ("quinn", "Quality", f"Line {STOP} is RUNNING again: supervisor and quality signed"),
    ):
        sign_out(page)
        sign_in(page, username)
        page.goto(f"/board/lines/{line.id}")
        page.get_by_label("Sign off as").select_option(label=role)
        page.get_by_label("What was fixed").fill(f"{role}: seal replaced, leak test clean")
        page.get_by_role("button", name="Sign off restart").click()
        expect(flash(page)).to_contain_text(message)

    history = page.get_by_role("table", name=re.compile(f"stops? of {STOP}"))
    expect(history.get_by_role("row").nth(1)).to_contain_text("sam")
    expect(history.get_by_role("row").nth(1)).to_contain_text("quinn")
    page.goto("/board")
    expect(tile(page, STOP).locator(".board-status")).to_have_text("RUNNING")
