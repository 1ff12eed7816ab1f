"""Pure parts of the training room: where a document applies, and the adoption chart."""

from __future__ import annotations

import re

from andon.training.scope import LinePlace, applies_to
from andon.web.line_charts import Series, share_chart

L1 = LinePlace(id=1, area_id=10, area_code="ASM", site_id=100)


def test_change_lines_take_precedence_over_the_area() -> None:
    assert applies_to(L1, {"lines": [1, 2]}, None, "PCK", None)
    assert not applies_to(L1, {"lines": [2]}, None, "ASM", None)


def test_document_line_then_area_then_site() -> None:
    assert applies_to(L1, {}, None, "PCK", 1)
    assert not applies_to(L1, {}, None, "ASM", 2)
    assert applies_to(L1, {}, 100, "ASM", None)
    assert not applies_to(L1, {}, 200, "ASM", None)
    assert not applies_to(L1, {}, None, "PCK", None)
    assert applies_to(L1, {}, None, None, None)


def test_a_day_without_executions_breaks_the_line() -> None:
    svg = share_chart(
        [Series("Trained", "#000", "4 2", [0.0, 0.5, None, 1.0])], title="Adoption <x>"
    )
    assert svg.count('<polyline class="series"') == 2
    assert re.findall(r'data-day="(\d)" data-value="([\d.]+)"', svg) == [
        ("0", "0.0000"),
        ("1", "0.5000"),
        ("3", "1.0000"),
    ]
    assert "<title>Adoption &lt;x&gt;</title>" in svg
