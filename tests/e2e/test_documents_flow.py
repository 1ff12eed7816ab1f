"""A change to an SOP in Chromium, from draft to the floor.

An author revises the assembly SOP with a safety impact, quality and safety approve it with
their passwords, it takes effect; an operator who read the last revision sees the redline on
"My training" and acknowledges it; the training matrix shows who is current; and a move out
of a stage that requires training is refused for an operator who has not read it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from andon.accounts.service import actor_for
from andon.core.permissions import Role
from andon.demo.document_files import demo_document_texts
from andon.documents import service, signoffs
from andon.improvement import risks
from andon.improvement.risk_schemas import RiskCreate
from andon.plant import service as plant
from andon.plant.schemas import AreaCreate, EnterpriseCreate, LineCreate, SiteCreate
from andon.processes import service as processes
from andon.work.items import move_item
from andon.work.schemas import ItemMove
from tests.e2e.conftest import SCREENSHOTS, LiveServer, sign_in
from tests.factories import PASSWORD, Floor, assembly_spec, make_user, new_item

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

# The demo's assembly SOP under a number of its own: the other browser tests share this
# server, and their assembly process names SOP-ASM-001 in its slots.
SOP = "SOP-ASM-901"
PROCESS = "sopflow"


@pytest.fixture(scope="module")
def floor(live_server: LiveServer) -> dict[str, Any]:
    """A site with an assembly area, the assembly SOP in force at revision 1 (read by omar,
    not by olga), and a process whose Assemble stage requires training on it."""
    system = live_server.system
    enterprise = plant.create_enterprise(system, EnterpriseCreate(name="Document Works"))
    site = plant.create_site(
        system,
        SiteCreate(
            enterprise_id=enterprise.id, name="Doc town", code="DOC", timezone="America/Chicago"
        ),
    )
    area = plant.create_area(system, AreaCreate(site_id=site.id, name="Assembly", code="ASM"))
    line = plant.create_line(system, LineCreate(area_id=area.id, name="Doc line", code="DL1"))
    people = {
        "dora": make_user(system, "dora", Role.QUALITY),
        "quincy": make_user(system, "quincy", Role.QUALITY),
        "sasha": make_user(system, "sasha", Role.SAFETY),
        "omar": make_user(system, "omar", Role.OPERATOR, site_id=site.id, area_id=area.id),
        "olga": make_user(system, "olga", Role.OPERATOR, site_id=site.id, area_id=area.id),
    }
    make_user(system, "supervisor", Role.SUPERVISOR, site_id=site.id)  # the SOP's owner
    # A change with safety impact links its risk in the register.
    risk = risks.add_risk(
        system,
        RiskCreate(
            title="Pinched O-ring: leak of pressurised fluid",
            area="ASM",
            owner="sasha",
            inherent_likelihood=2,
            inherent_severity=4,
        ),
    )
    as_ = {name: system.as_actor(actor_for(user)) for name, user in people.items()}
    text = dict(demo_document_texts())["SOP-ASM-001"].replace("SOP-ASM-001", SOP)
    service.import_markdown(as_["dora"], text)
    service.submit(as_["dora"], SOP)
    service.approve(as_["quincy"], SOP, PASSWORD)
    signoffs.acknowledge(as_["omar"], SOP, PASSWORD)

    spec = assembly_spec(key=PROCESS, name="Assembly with trained hands")
    for stage in spec["stages"]:
        if stage["key"] == "assemble":
            stage["sop"] = SOP
            stage["require_training"] = True
    processes.publish(system, spec, reason="e2e documents flow")
    item = new_item(system, Floor(site, area, line, PROCESS))
    for stage in ("plan", "kit", "assemble"):
        item = move_item(system, item.id, ItemMove(to=stage, version=item.version))
    return {"item_id": item.id, "risk": f"{risk.reference} {risk.title}"}


def sign(page: Page, form: str, button: str) -> None:
    page.locator(f"#{form}-password").fill(PASSWORD)
    page.get_by_role("button", name=button).click()


def test_a_safety_change_from_draft_to_the_floor(page: Page, floor: dict[str, Any]) -> None:
    # The author starts revision 2 from the one in force and rewrites its first step.
    sign_in(page, "dora")
    page.goto(f"/documents/{SOP}")
    page.get_by_label("Reason for the change").fill("Seat the O-ring with the installation cone")
    page.get_by_label("Safety impact").select_option("yes")
    page.get_by_label("Training needed").select_option("yes")
    page.get_by_label(re.compile("^Risk")).select_option(label=floor["risk"])
    page.get_by_role("button", name="Start revision").click()
    page.wait_for_url(re.compile(f"/documents/{SOP}/edit$"))  # straight to the new draft
    page.locator("#step-1-text").fill("Seat the O-ring in its groove with the installation cone.")
    page.get_by_role("button", name="Save draft", exact=True).last.click()
    sign(page, "submit", "Sign and submit")
    expect(page.locator("main")).to_contain_text("in review")
    page.context.clear_cookies()

    # Quality, then safety, approve with their passwords; the second makes it effective.
    for person in ("quincy", "sasha"):
        sign_in(page, person)
        page.goto(f"/documents/{SOP}?revision=2")
        sign(page, "approve", "Sign approval")
        page.context.clear_cookies()
    sign_in(page, "quincy")
    page.goto(f"/documents/{SOP}")
    main = page.locator("main")
    expect(main).to_contain_text("effective")
    expect(main).to_contain_text("Quincy")
    expect(main).to_contain_text("Sasha")
    page.screenshot(path=str(SCREENSHOTS / "document-effective.png"), full_page=True)
    page.context.clear_cookies()

    # The operator who read revision 1 is shown what changed, then acknowledges.
    sign_in(page, "omar")
    page.goto("/training/me")
    page.get_by_role("link", name="What changed since revision 1").click()
    expect(page.locator("ins", has_text="installation").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "document-redline.png"), full_page=True)
    page.goto(f"/documents/{SOP}#acknowledge")
    sign(page, "acknowledge", "Sign acknowledgement")
    expect(page.locator("main")).to_contain_text("Omar")
    page.context.clear_cookies()

    # The matrix shows omar current on revision 2 and olga still due.
    sign_in(page, "quincy")
    page.goto("/training")
    omar = page.locator("tr", has=page.locator("th", has_text="omar"))
    olga = page.locator("tr", has=page.locator("th", has_text="olga"))
    expect(omar).to_contain_text(re.compile("current", re.IGNORECASE))
    expect(olga).to_contain_text(re.compile("due", re.IGNORECASE))
    page.screenshot(path=str(SCREENSHOTS / "training-matrix.png"), full_page=True)
    page.context.clear_cookies()

    # olga has not read revision 2, and Assemble requires training: her move is refused.
    sign_in(page, "olga")
    page.goto(f"/work/{floor['item_id']}")
    page.get_by_role("button", name="Move to Inspect").click()
    expect(page.locator("main")).to_contain_text(SOP)
    expect(page.locator("main")).to_contain_text(re.compile("acknowledge", re.IGNORECASE))
    expect(page.get_by_role("button", name="Move to Inspect")).to_be_visible()
