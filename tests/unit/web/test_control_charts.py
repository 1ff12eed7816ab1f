import re
from xml.etree import ElementTree

from andon.metrics.spc import Observation, apply_limits, compute_limits
from andon.web.control_charts import Annotation, Band, control_chart, sparkline

SVG = "{http://www.w3.org/2000/svg}"


def _xmr(values):
    observations = [Observation(f"2026-11-{d:02d}", v) for d, v in enumerate(values, start=1)]
    limits = compute_limits("xmr", observations[:10])
    return apply_limits(limits, observations, ["WE1"])


def _tree(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # noqa: S314 - our own output, parsed to test it


def test_a_point_beyond_the_limits_is_drawn_as_a_signal_with_its_reason():
    chart = _xmr([10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 30])
    root = _tree(control_chart(chart, title="Scrap", unit="USD"))
    signals = root.findall(f".//{SVG}path[@class='point signal']")
    noise = root.findall(f".//{SVG}circle[@class='point noise']")
    assert [s.get("data-period") for s in signals] == ["2026-11-11"]
    assert signals[0].get("data-signals") == "WE1"
    assert "above the upper control limit" in signals[0].find(f"{SVG}title").text
    assert len(noise) == 10
    assert "noise" in noise[0].find(f"{SVG}title").text


def test_p_chart_limits_vary_per_point_as_a_step_line():
    observations = [
        Observation(f"2026-11-{d:02d}", c, n)
        for d, (c, n) in enumerate([(5, 50), (6, 100), (4, 40), (7, 80)], start=1)
    ]
    chart = apply_limits(compute_limits("p", observations), observations, ["WE1"])
    root = _tree(control_chart(chart, title="Rework", unit="%", percent=True))
    ucl = root.find(f".//{SVG}polyline[@class='ucl']")
    assert ucl is not None
    rows = [float(pt.split(",")[1]) for pt in ucl.get("points").split()][::2]
    # One step per point; the smallest sample (n = 40) has the widest limits, drawn highest.
    assert len(set(rows)) == 4
    assert min(rows) == rows[2]


def test_bands_annotations_and_escaping():
    chart = _xmr([10, 11, 9, 10, 11, 9, 10, 11, 9, 10])
    svg = control_chart(
        chart,
        title="<Time> & more",
        unit="h",
        bands=[Band("warning", above=12), Band("critical", above=14)],
        annotations=[Annotation("2026-11-05", "SOP-ASM-002 rev 3 <effective>")],
    )
    root = _tree(svg)
    bands = root.findall(f".//{SVG}rect[@data-level]")
    assert [(b.get("data-level"), b.get("data-above")) for b in bands] == [
        ("warning", "12"),
        ("critical", "14"),
    ]
    note = root.find(f".//{SVG}g[@class='annotation']")
    assert note.get("data-period") == "2026-11-05"
    assert "<effective>" not in svg
    assert "&lt;effective&gt;" in svg
    assert root.find(f"{SVG}title").text == "<Time> & more"


def test_annotations_at_one_period_stack_and_a_linked_one_is_a_link():
    chart = _xmr([10, 11, 9, 10, 11, 9, 10, 11, 9, 10])
    svg = control_chart(
        chart,
        title="t",
        unit="",
        annotations=[
            Annotation("2026-11-05", "SOP-ASM-002 rev 3 takes effect"),
            Annotation("2026-11-05", "CAPA 4", "/capa/4"),
        ],
    )
    notes = _tree(svg).findall(f".//{SVG}g[@class='annotation']")
    assert len(notes) == 2
    plain, linked = notes
    assert plain.find(f"{SVG}a") is None
    link = linked.find(f"{SVG}a")
    assert link is not None
    assert link.get("href") == "/capa/4"
    assert link.find(f"{SVG}text").text == "CAPA 4"
    rows = [float(n.find(f".//{SVG}text").get("y")) for n in notes]
    assert rows[1] == rows[0] + 12


def test_an_empty_chart_says_so():
    chart = _xmr([10, 12])
    empty = type(chart)(
        chart.kind, chart.center, chart.ucl, chart.lcl, (), chart.rules, chart.limits
    )
    assert "No values yet" in control_chart(empty, title="t", unit="")


def test_sparkline_breaks_at_missing_values_and_marks_the_latest():
    root = _tree(sparkline([1.0, 2.0, None, 3.0, 4.0], title="trend"))
    lines = root.findall(f"{SVG}polyline")
    assert [len(re.findall(r"[\d.]+,[\d.]+", ln.get("points"))) for ln in lines] == [2, 2]
    assert len(root.findall(f"{SVG}circle")) == 1


def test_sparkline_of_nothing_is_an_empty_frame():
    root = _tree(sparkline([None, None], title="none"))
    assert root.findall(f"{SVG}polyline") == []


def test_gridlines_fall_on_round_values_and_limits_stay_inside_the_plot():
    observations = [
        Observation(f"2026-11-{d:02d}", c, n)
        for d, (c, n) in enumerate([(5, 50), (6, 100), (4, 40), (7, 80)], start=1)
    ]
    chart = apply_limits(compute_limits("p", observations), observations, ["WE1"])
    root = _tree(control_chart(chart, title="Rework", unit="%", percent=True, width=880))
    labels = [t.text for t in root.findall(f"{SVG}text") if t.text and t.text.endswith(" %")]
    assert "10.0 %" in labels
    assert "20.0 %" in labels
    frame = root.find(f"{SVG}rect")
    left = float(frame.get("x"))
    right = left + float(frame.get("width"))
    ucl = root.find(f".//{SVG}polyline[@class='ucl']").get("points").split()
    xs = [float(pt.split(",")[0]) for pt in ucl]
    assert min(xs) >= left
    assert max(xs) <= right
