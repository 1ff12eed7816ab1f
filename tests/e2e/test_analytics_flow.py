"""A person's path through analytics in Chromium: upload a log, watch it import, read its map."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS, sign_in
from tests.integration.test_api_analytics import RUNNING, pm4py_reference
from tests.unit.analytics.conftest import data_file

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

DATASET_URL = re.compile(r"/analytics/[0-9a-f]{32}$")


def test_upload_a_log_then_read_its_map_by_frequency_and_time_and_its_variants(
    page: Page,
) -> None:
    expected = pm4py_reference(RUNNING)
    edges = expected["dfg"]
    frequent = sum(1 for count in edges.values() if count >= 3)
    sign_in(page, "ada")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Analytics").click()
    page.get_by_label("Log file").set_input_files(str(data_file(RUNNING)))
    page.get_by_role("button", name="Upload and check").click()
    # The import page polls its status and moves on by itself when the log is ready.
    page.wait_for_url(DATASET_URL, timeout=60_000)
    expect(page.get_by_role("heading", level=1)).to_have_text(RUNNING)

    flows = page.locator("svg.dfg-map path.flow")
    expect(flows).to_have_count(len(edges))
    expect(page.locator("#map .an-shown")).to_have_text(f"{len(edges)} of {len(edges)}")

    page.get_by_label("Performance (time)").check()
    expect(page.locator("svg.dfg-map")).to_have_attribute("data-view", "performance")
    expect(flows.first).to_have_attribute("data-mean", re.compile(r"^\d"))

    slider = page.get_by_label("Hide edges seen fewer times than")
    slider.focus()
    slider.press("ArrowRight")
    slider.press("ArrowRight")
    expect(page.locator("svg.dfg-map")).to_have_attribute("data-min-frequency", "3")
    expect(flows).to_have_count(frequent)
    expect(page.locator("#map .an-shown")).to_have_text(f"{frequent} of {len(edges)}")
    # Hiding edges keeps the time view the person chose.
    expect(page.locator("svg.dfg-map")).to_have_attribute("data-view", "performance")

    page.get_by_role("navigation", name="On this page").get_by_role("link", name="Variants").click()
    variants = page.get_by_role("table", name="Variants, most cases first")
    expect(variants).to_be_in_viewport()
    expect(variants.locator("tbody tr")).to_have_count(len(expected["variants"]))
    page.screenshot(path=str(SCREENSHOTS / "analytics-dataset.png"), full_page=True)
