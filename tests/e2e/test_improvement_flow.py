"""The improvement loop in Chromium: from a bar of the exception Pareto to a root cause, a CAPA
whose document change is checked on a metric, and the closed, effective CAPA.

Arranged through the services: a line with a dozen quality exceptions over five weeks, a p-chart
metric entered by hand whose defect share drops from about 10 % to about 3 % on the day the
fix took effect, and an SOP whose second revision (the fix) took effect that day.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from andon.accounts.service import actor_for
from andon.core.clock import to_local, utcnow
from andon.core.permissions import Role
from andon.demo.document_files import demo_capa_texts, demo_document_texts
from andon.documents import service as documents
from andon.metrics.definition import parse_definition
from andon.metrics.service import define_metric, import_values
from andon.plant import service as plant
from andon.plant.schemas import AreaCreate, EnterpriseCreate, LineCreate, SiteCreate
from andon.processes import service as processes
from andon.work.exceptions import raise_exception
from andon.work.schemas import ExceptionRaise
from tests.e2e.conftest import SCREENSHOTS, LiveServer, sign_in
from tests.factories import PASSWORD, assembly_spec, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

ZONE = ZoneInfo("America/Chicago")  # the live server's and the site's
# Numbers of their own: the other browser tests share this server.
SOP = "SOP-ASM-902"
METRIC = "flow_defects"
BEFORE = [10, 12, 9, 11, 8, 10, 13, 9, 10, 11, 12, 9, 10, 11]  # defects per 100 a day
AFTER = [3, 4, 2, 3, 5, 3, 2, 4, 3, 3, 4, 2, 3, 3]
# Days from the fix each exception was raised: nine in the four weeks before, three after. The
# first lies outside the same-length window before the fix that "the next 20" compares with.
EXCEPTION_DAYS = [-25, -19, -16, -14, -12, -9, -6, -4, -2, 3, 7, 11]


def _at(day: Any, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZONE)


@pytest.fixture(scope="module")
def plant_with_a_fix(live_server: LiveServer) -> dict[str, Any]:
    """The line, its exceptions, the metric's values and the SOP's two revisions, the second
    taking effect on ``fix_on`` (20 days ago, so both 14-day windows are finished)."""
    system = live_server.system
    today = to_local(utcnow(), ZONE).date()
    fix_on = today - timedelta(days=20)
    enterprise = plant.create_enterprise(system, EnterpriseCreate(name="Flow Works"))
    site = plant.create_site(
        system,
        SiteCreate(enterprise_id=enterprise.id, name="Flowville", code="FLO", timezone=str(ZONE)),
    )
    area = plant.create_area(system, AreaCreate(site_id=site.id, name="Assembly", code="ASM"))
    line = plant.create_line(system, LineCreate(area_id=area.id, name="Flow line", code="FL1"))
    processes.publish(
        system, assembly_spec(key="flowfix", name="Assembly (flow)"), reason="e2e improvement"
    )
    for i, days in enumerate(EXCEPTION_DAYS):
        raise_exception(
            system,
            ExceptionRaise(
                category="quality",
                description=f"Loose bolt at final test ({i + 1})",
                line_id=line.id,
            ),
            at=_at(fix_on + timedelta(days=days), 10),
        )

    definition = {
        "key": METRIC,
        "name": "Final-test defects (flow line)",
        "owner": "quality",
        "unit": "share",
        "direction": "lower_is_better",
        "kind": "lagging",
        "source": "manual",
        "period": "day",
        "chart": "p",
        "baseline": {"points": 10},
    }
    define_metric(system, parse_definition(definition), reason="e2e improvement")
    first = fix_on - timedelta(days=len(BEFORE))
    rows = [
        f"{(first + timedelta(days=i)).isoformat()},{count},100"
        for i, count in enumerate(BEFORE + AFTER)
    ]
    import_values(system, METRIC, "period,count,n\n" + "\n".join(rows) + "\n", zone=ZONE)

    author = make_user(system, "fiona", Role.QUALITY)
    approver = make_user(system, "felix", Role.QUALITY)
    make_user(system, "fsupervisor", Role.SUPERVISOR, site_id=site.id)  # the SOP's owner
    as_author, as_approver = (system.as_actor(actor_for(u)) for u in (author, approver))
    texts = [
        dict(demo_document_texts())["SOP-ASM-001"],
        dict(demo_capa_texts())["SOP-ASM-001"],
    ]
    for number, (text, effective_at) in enumerate(
        zip(texts, [_at(fix_on - timedelta(days=60), 7), _at(fix_on, 7)], strict=True), start=1
    ):
        text = text.replace("SOP-ASM-001", SOP).replace("owner: supervisor", "owner: fsupervisor")
        documents.import_markdown(as_author, text, at=effective_at - timedelta(hours=2))
        documents.submit(
            as_author,
            SOP,
            password=PASSWORD if number > 1 else None,
            at=effective_at - timedelta(hours=1),
        )
        done = documents.approve(as_approver, SOP, PASSWORD, at=effective_at)
        assert done.status == "effective", done
    return {"line_id": line.id, "fix_on": fix_on, "today": today}


def test_a_pareto_bar_leads_to_a_closed_effective_capa(
    page: Page, plant_with_a_fix: dict[str, Any]
) -> None:
    fix_on, today = plant_with_a_fix["fix_on"], plant_with_a_fix["today"]
    sign_in(page, "ada")

    # The Pareto of the flow line over five weeks: one bar, and it starts an RCA.
    since = fix_on - timedelta(days=28)
    query = {"since": since.isoformat(), "until": today.isoformat()}
    page.goto("/exceptions/pareto?" + urlencode({**query, "line": plant_with_a_fix["line_id"]}))
    expect(page.get_by_role("heading", level=1)).to_have_text("Exceptions by category")
    page.get_by_role("link", name="Start an RCA on Quality defect").click()

    # The problem statement comes pre-filled with the period's numbers and exceptions.
    expect(page.get_by_role("heading", level=1)).to_have_text("New root-cause analysis")
    expect(page.get_by_role("textbox", name="Title")).to_have_value(
        "Repeat Quality defect exceptions on line FL1"
    )
    what = page.get_by_role("textbox", name="What is wrong?")
    expect(what).to_have_value(re.compile(r"^12 Quality defect exceptions were raised"))
    expect(page.get_by_role("textbox", name="Linked to")).to_have_value(
        re.compile(r"^(exception:\d+ ){11}exception:\d+$")
    )
    page.get_by_role("textbox", name="Metric key").fill(METRIC)
    page.get_by_role("button", name="Open RCA").click()
    expect(page.get_by_role("status")).to_contain_text("Opened RCA #")
    rca_id = re.search(r"/rca/(\d+)$", page.url).group(1)  # type: ignore[union-attr]

    # Ask why, verify the answer with evidence, name it the root cause.
    page.get_by_role("textbox", name="Because…").fill(
        "The nutrunner drifted out of calibration between its yearly checks"
    )
    page.get_by_role("combobox", name="6M category").select_option("machine")
    page.get_by_role("button", name="Add why").click()
    expect(page.get_by_role("status")).to_contain_text("Why added.")
    page.get_by_text("Verify with evidence").click()
    page.get_by_role("textbox", name="Evidence").fill(
        "Calibration log: the tool read 12 % high on a test joint"
    )
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Cause verified.")
    page.get_by_role("button", name="Mark as root cause").click()
    expect(page.get_by_role("status")).to_contain_text("Named a root cause.")
    roots = page.get_by_role("region", name="Verified root causes")
    expect(roots).to_contain_text("The nutrunner drifted out of calibration")

    # The root cause opens the CAPA form for itself.
    roots.get_by_role("link", name="Open a CAPA for this cause").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New CAPA")
    expect(page.get_by_role("textbox", name="RCA number")).to_have_value(rca_id)
    expect(page.get_by_role("textbox", name="Cause number")).not_to_have_value("")
    page.get_by_role("textbox", name="What is to be done?").fill(
        "Verify the nutrunner on a test joint at each shift start"
    )
    page.get_by_role("textbox", name="Username").fill("ada")
    page.get_by_label("Due date").fill((today + timedelta(days=30)).isoformat())
    page.get_by_role("textbox", name="Metric key").fill(METRIC)
    page.get_by_role("spinbutton", name="Days in each window").fill("14")
    page.get_by_role("button", name="Open CAPA").click()
    expect(page.get_by_role("status")).to_contain_text("Opened CAPA #")
    capa_id = re.search(r"/capa/(\d+)$", page.url).group(1)  # type: ignore[union-attr]
    expect(page.get_by_role("heading", level=1)).to_contain_text("open")

    # The SOP revision it produced, then the check around the day it took effect.
    page.get_by_role("textbox", name="Which").fill(f"{SOP}/2")
    page.get_by_role("button", name="Link", exact=True).click()
    changes = page.get_by_role("region", name="Changes")
    expect(changes).to_contain_text(f"Document revision {SOP}/2, effective")
    page.get_by_role("button", name="Check now").click()
    expect(page.get_by_role("status")).to_contain_text("Checked: effective.")
    effectiveness = page.get_by_role("region", name="Effectiveness")
    expect(effectiveness).to_contain_text(
        f"The change worked: {METRIC} went from 0.1036 before to 0.03143 after, the better way"
    )
    expect(effectiveness).to_contain_text(f"change effective {fix_on.isoformat()}")
    expect(effectiveness).to_contain_text("14 periods, 0.1036")
    expect(effectiveness).to_contain_text("14 periods, 0.03143")
    expect(effectiveness.locator("svg.control-chart")).to_have_count(1)

    # Close it on the effective check: the CAPA and its action are done.
    page.get_by_role("textbox", name="What was done?").fill(
        "Shift-start torque verification in SOP revision 2; defects down from 10 % to 3 %"
    )
    page.get_by_role("button", name="Close CAPA").click()
    expect(page.get_by_role("status")).to_contain_text(f"CAPA #{capa_id} closed.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("done")
    expect(page.locator("dl.facts").first).to_contain_text("by ada: Shift-start torque")
    expect(page.get_by_role("button", name="Close CAPA")).to_have_count(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "capa.png"), full_page=True)

    # Back on the RCA: the CAPA done and effective, and fewer exceptions after the fix.
    page.get_by_role("link", name=f"RCA #{rca_id}", exact=True).click()
    row = page.get_by_role("row").filter(has_text=f"CAPA #{capa_id}")
    expect(row).to_contain_text("done")
    expect(row).to_contain_text("Effective")
    recurrence = page.get_by_role("region", name="The next 20: quality exceptions")
    expect(recurrence).to_contain_text("After the change: 3 exception(s)")
    expect(recurrence).to_contain_text("Before: 8 in the same length of time")

    # The metric's chart marks the CAPA, and lists it with its verdict.
    page.goto(f"/metrics/{METRIC}")
    expect(
        page.locator("svg.control-chart g.annotation a", has_text=f"CAPA {capa_id}")
    ).to_have_count(1)
    listed = page.get_by_role("listitem").filter(has_text=f"CAPA {capa_id}:")
    expect(listed).to_contain_text("Effective: 0.104 share before, 0.0314 share after")
