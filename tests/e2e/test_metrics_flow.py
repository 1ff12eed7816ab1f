"""A metric's path in Chromium: define it with thresholds, load its values, read the signal on
its control chart in words, find it on the SQDC board, then open the week's review meeting and
the PDF pack."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.e2e.conftest import SCREENSHOTS, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

DEFINITION = """key: e2e_spills
name: Oil spills
unit: count
direction: lower_is_better
kind: leading
owner: safety
sqdc: safety
source: manual
period: week
chart: xmr
rules: [WE1]
baseline: {points: 8}
thresholds:
  - level: critical
    above: 30
    decision: Stop the press and hold a safety stand-down.
"""
VALUES = "period,value\n" + "".join(
    f"2026-W{w:02d},{v}\n"
    for w, v in zip(range(30, 41), [10, 12, 11, 13, 12, 11, 10, 12, 11, 12, 40], strict=True)
)


def test_define_load_and_read_a_signal_then_see_the_board(page: Page) -> None:
    sign_in(page, "ada")
    page.goto("/metrics")
    page.get_by_text("Define a metric").click()
    page.get_by_label("Definition (YAML)").fill(DEFINITION)
    page.get_by_role("button", name="Define").click()
    expect(page.get_by_role("status")).to_contain_text("Defined e2e_spills")
    expect(page.get_by_role("heading", level=1)).to_have_text("Oil spills")

    page.get_by_label("Or paste the rows").fill(VALUES)
    page.get_by_role("button", name="Load values").click()
    expect(page.get_by_role("status")).to_contain_text("control limits are now frozen")
    expect(page.locator("svg.control-chart path.point.signal")).to_have_count(1)
    signal = page.locator(".metric-signals li")
    expect(signal).to_contain_text("2026-W40: 40 count")
    expect(signal).to_contain_text("signal (WE1)")
    expect(page.get_by_text("10 points are noise")).to_be_visible()
    expect(page.get_by_text("Stop the press and hold a safety stand-down.").first).to_be_visible()

    page.set_viewport_size({"width": 1920, "height": 1080})
    page.get_by_role("navigation", name="Main").get_by_role("link", name="SQDC board").click()
    tile = page.locator(".sqdc-safety .sqdc-tile").filter(has_text="Oil spills")
    expect(tile).to_contain_text("Critical")
    expect(tile).to_contain_text("40 count")
    expect(tile.locator("svg.sparkline")).to_have_count(1)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sqdc.png"))

    page.set_viewport_size({"width": 1024, "height": 768})
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    page.get_by_role("textbox", name="Week").fill("2026-W40")
    page.get_by_role("button", name="Go to the review").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("2026-W40")
    page.get_by_role("button", name="Open the meeting").click()
    spills = (
        page.locator("section, article, div")
        .filter(has=page.get_by_role("heading", name="Oil spills"))
        .last
    )
    expect(spills).to_contain_text("WE1")
    # The PDF as the browser's session fetches it (headless Chromium shows no PDF viewer).
    href = page.get_by_role("link", name="PDF").first.get_attribute("href")
    assert href is not None
    response = page.context.request.get(href)
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.body()
    assert pdf.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Oil spills" in text
    assert "2026-W40" in text
