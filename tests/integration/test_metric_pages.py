"""Metric pages on both databases: the list, a metric's page with its control chart, signals
in words and forms, the SQDC board and its polled tiles, refusals and escaping."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from andon.actions.schemas import ActionCreate, ActionFilters, ActionLink
from andon.actions.service import close_action, open_action
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.metrics import board, service
from andon.metrics.definition import MetricDefinition, parse_definition
from andon.metrics.series import PeriodValue
from tests.factories import make_user
from tests.integration.test_web_pages import csrf_token, sign_in

UTC_ZONE = ZoneInfo("UTC")
# Ten calm weeks, then one far above the limits: the last point is a WE1 signal.
CSV = "period,value\n" + "".join(
    f"2026-W{w:02d},{v}\n"
    for w, v in zip(range(30, 41), [10, 12, 11, 13, 12, 11, 10, 12, 11, 12, 40], strict=True)
)


def near_misses(**overrides: Any) -> MetricDefinition:
    doc: dict[str, Any] = {
        "key": "near_misses",
        "name": "Near misses",
        "unit": "count",
        "direction": "lower_is_better",
        "kind": "leading",
        "owner": "safety",
        "sqdc": "safety",
        "source": "manual",
        "period": "week",
        "chart": "xmr",
        "rules": ["WE1"],
        "baseline": {"points": 8},
        "target": 8,
        "thresholds": [
            {"level": "warning", "above": 15, "decision": "Walk the area with the team lead."},
            {"level": "critical", "above": 30, "decision": "Stop and hold a safety stand-down."},
        ],
    }
    doc.update(overrides)
    return parse_definition(doc)


def with_values(system: Context, csv_text: str = CSV, **overrides: Any) -> str:
    defn = near_misses(**overrides)
    service.define_metric(system, defn, reason="new")
    service.import_values(system, defn.key, csv_text, zone=UTC_ZONE)
    return defn.key


def test_metric_page_shows_the_signal_with_its_reason(client: TestClient, system: Context) -> None:
    key = with_values(system)
    make_user(system, "vic", Role.VIEWER)
    sign_in(client, "vic")
    page = client.get(f"/metrics/{key}")
    assert page.status_code == 200
    html = page.text
    assert 'class="point signal"' in html
    assert 'data-period="2026-W40"' in html
    assert re.search(r"2026-W40: 40 count</strong> — signal \(WE1\): \S", html)
    assert "10 points are noise" in html
    assert "Critical" in html
    assert "Stop and hold a safety stand-down." in html  # the decision the band changes
    assert '<th scope="row" class="nowrap">2026-W36</th>' in html  # the values table
    assert '<a href="/metrics" aria-current="page">Metrics</a>' in html
    # A viewer reads but gets none of the forms and cannot open an action.
    assert 'action="/metrics/near_misses/values"' not in html
    assert 'action="/metrics/near_misses/rebaseline"' not in html
    assert "/actions/new?link=metric:near_misses" not in html


def test_a_metric_without_limits_shows_its_values_and_says_why(
    client: TestClient, system: Context
) -> None:
    key = with_values(system, "period,value\n2026-W30,4\n2026-W31,6\n")
    make_user(system, "vic", Role.VIEWER)
    sign_in(client, "vic")
    html = client.get(f"/metrics/{key}").text
    assert "No control limits yet" in html
    assert "its baseline needs 8 points (2 stored)" in html
    assert 'class="sparkline"' in html
    assert 'class="point signal"' not in html


def test_open_actions_are_listed_and_counted_on_the_board(
    client: TestClient, system: Context
) -> None:
    key = with_values(system)
    make_user(system, "sam", Role.SAFETY)
    # The values' critical crossing opened the owner's action already.
    crossing_actions = len(metric_actions(system, key))
    assert crossing_actions == 1
    action, _ = open_action(
        system,
        ActionCreate.model_validate(
            {
                "title": "Fix the <guard> rail",
                "owner_role": "safety",
                "due_on": "2030-01-01",
                "links": [{"kind": "metric", "ref": key}],
            }
        ),
    )
    sign_in(client, "sam")
    html = client.get(f"/metrics/{key}").text
    assert f'href="/actions/{action.id}">#{action.id} Fix the &lt;guard&gt; rail' in html
    assert f'href="/actions/new?link=metric:{key}"' in html
    tiles = client.get("/sqdc/tiles").text
    assert "2 open actions" in tiles
    close_action(system, action.id, note="rail fixed")
    assert "1 open action" in client.get("/sqdc/tiles").text


def test_sqdc_board_columns_tiles_and_polling(client: TestClient, system: Context) -> None:
    with_values(system)
    with_values(
        system,
        "period,value\n2026-W30,1\n",
        key="scrap_cost",
        name="Scrap cost",
        sqdc="cost",
        unit="EUR",
        thresholds=[],
    )
    make_user(system, "vic", Role.VIEWER)
    sign_in(client, "vic")
    page = client.get("/sqdc")
    assert page.status_code == 200
    html = page.text
    for letter in ("Safety", "Quality", "Delivery", "Cost"):
        assert f"</span> {letter}</h2>" in html
    assert 'hx-get="/sqdc/tiles" hx-trigger="every 60s"' in html
    safety = html.split('id="sqdc-safety-heading"')[1].split("</section>")[0]
    assert "Near misses" in safety
    assert '<span class="status-word">Critical</span>' in safety
    assert "40 count" in safety
    assert 'class="sparkline"' in safety
    cost = html.split('id="sqdc-cost-heading"')[1].split("</section>")[0]
    assert "Scrap cost" in cost
    assert '<span class="status-word">OK</span>' in cost
    fragment = client.get("/sqdc/tiles", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "Near misses" in fragment.text


def test_signed_out_poll_stops_the_board(client: TestClient) -> None:
    response = client.get("/sqdc/tiles", headers={"HX-Request": "true"})
    assert response.status_code == 286
    assert "Signed out" in response.text


class PerLine:
    """A KPI source giving two lines' daily rework rates; line L2 jumps on the last day."""

    def __call__(
        self, session: Session, defn: MetricDefinition, zone: ZoneInfo, periods: Any
    ) -> list[PeriodValue]:
        out = []
        for day in range(1, 13):
            for line, bad in (("L1", 2), ("L2", 12 if day == 12 else 2)):
                out.append(PeriodValue(f"2026-11-{day:02d}", line, bad / 20, bad, 20))
        return out


def test_board_and_page_follow_the_chosen_line(client: TestClient, system: Context) -> None:
    defn = parse_definition(
        {
            "key": "rework",
            "name": "Rework rate",
            "unit": "%",
            "direction": "lower_is_better",
            "kind": "lagging",
            "owner": "quality",
            "sqdc": "quality",
            "by_line": True,
            "source": {"kpi": "rework_rate"},
            "period": "day",
            "chart": "p",
            "baseline": {"points": 10},
            "thresholds": [{"level": "warning", "above": 0.3, "decision": "Check the lot."}],
        }
    )
    service.define_metric(system, defn, reason="new")
    service.compute_metric(system, "rework", zone=UTC_ZONE, source=PerLine())
    tiles = board.sqdc_board(system, zone=UTC_ZONE).tiles
    assert [(t.line, t.status) for t in tiles] == [("L1", "ok"), ("L2", "warning")]
    make_user(system, "vic", Role.VIEWER)
    sign_in(client, "vic")
    html = client.get("/sqdc?line=L2").text
    assert 'href="/metrics/rework?line=L2"' in html
    assert 'href="/metrics/rework?line=L1"' not in html
    assert "60.0 %" in html
    page = client.get("/metrics/rework?line=L2").text
    assert "Rework rate · line L2" in page
    assert 'data-period="2026-11-12"' in page
    assert 'class="point signal"' in page
    assert client.get("/metrics/rework?line=L9").status_code == 200  # split by line: no data
    assert client.get("/metrics/nope").status_code == 404


def test_manual_value_form_needs_csrf_and_stores_the_value(
    client: TestClient, system: Context
) -> None:
    key = with_values(system)
    make_user(system, "sam", Role.SAFETY)
    sign_in(client, "sam")
    page = client.get(f"/metrics/{key}").text
    assert f'action="/metrics/{key}/values"' in page
    assert 'name="csrf_token"' in page
    forged = client.post(f"/metrics/{key}/values", data={"period": "2026-W41", "value": "9"})
    assert forged.status_code == 403
    token = csrf_token(client, f"/metrics/{key}")
    done = client.post(
        f"/metrics/{key}/values",
        data={"period": "2026-W41", "value": "9", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert [v.value for v in service.show_metric(system, key).latest_values][-1] == 9.0
    bad = client.post(
        f"/metrics/{key}/values",
        data={"period": "2026-13-45", "value": "9", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert 'class="alert"' in bad.text or "field-error" in bad.text


def test_csv_upload_loads_values(client: TestClient, system: Context) -> None:
    service.define_metric(system, near_misses(), reason="new")
    make_user(system, "sam", Role.SAFETY)
    sign_in(client, "sam")
    token = csrf_token(client, "/metrics/near_misses")
    done = client.post(
        "/metrics/near_misses/import",
        data={"csrf_token": token},
        files={"file": ("values.csv", CSV.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert len(service.show_metric(system, "near_misses").latest_values) == 11
    bad = client.post(
        "/metrics/near_misses/import",
        data={"csrf_token": token, "csv": "period,value\n2026-W42,x\n"},
    )
    assert bad.status_code == 422
    assert "line 2" in bad.text


def test_rebaseline_and_redefine_forms(client: TestClient, system: Context) -> None:
    key = with_values(system)
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    token = csrf_token(client, f"/metrics/{key}")
    done = client.post(
        f"/metrics/{key}/rebaseline",
        data={"reason": "new guard fitted", "points": "5", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert service.show_metric(system, key).limits[-1].reason == "new guard fitted"
    page = client.get(f"/metrics/{key}").text
    assert "Limits number 2" in page
    yaml_text = service.export_metric(system, key).replace("name: Near misses", "name: Near hits")
    refused = client.post(
        f"/metrics/{key}/definition",
        data={
            "yaml": yaml_text.replace("chart: xmr", "chart: q"),
            "reason": "x",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 422
    assert "The definition is refused" in refused.text
    assert "chart" in refused.text
    saved = client.post(
        f"/metrics/{key}/definition",
        data={"yaml": yaml_text, "reason": "clearer name", "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert service.get_metric(system, key).name == "Near hits"


def test_define_from_the_list_page(client: TestClient, system: Context) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    page = client.get("/metrics").text
    assert 'action="/metrics"' in page
    token = csrf_token(client, "/metrics")
    yaml_text = (
        "key: spills\nname: Spills\nunit: count\ndirection: lower_is_better\nkind: leading\n"
        "owner: safety\nsqdc: safety\nsource: manual\nperiod: week\nchart: xmr\n"
    )
    done = client.post(
        "/metrics", data={"yaml": yaml_text, "csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/metrics/spills"
    listed = client.get("/metrics").text
    assert 'href="/metrics/spills"' in listed
    assert "No data" in listed


def test_roles_without_rights_are_refused(client: TestClient, system: Context) -> None:
    key = with_values(system)
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    assert 'action="/metrics"' not in client.get("/metrics").text
    token = csrf_token(client, f"/metrics/{key}")
    for path, data in (
        (f"/metrics/{key}/values", {"period": "2026-W41", "value": "1"}),
        (f"/metrics/{key}/rebaseline", {"reason": "because"}),
        (f"/metrics/{key}/definition", {"yaml": service.export_metric(system, key), "reason": "r"}),
        ("/metrics", {"yaml": service.export_metric(system, key)}),
    ):
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, path
    assert len(service.show_metric(system, key).limits) == 1


def test_a_metric_name_is_escaped(client: TestClient, system: Context) -> None:
    with_values(system, name="<script>alert(1)</script>")
    make_user(system, "vic", Role.VIEWER)
    sign_in(client, "vic")
    for path in ("/metrics", "/metrics/near_misses", "/sqdc", "/sqdc/tiles"):
        html = client.get(path).text
        assert "<script>alert(1)</script>" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


def metric_actions(system: Context, key: str) -> list[Any]:
    from andon.actions.service import list_actions

    return list_actions(system, ActionFilters(link=ActionLink(kind="metric", ref=key)))


def weeks_csv(values: list[float]) -> str:
    return "period,value\n" + "".join(
        f"2026-W{w:02d},{v}\n" for w, v in enumerate(values, start=10)
    )


def test_board_counts_values_older_than_the_sparkline_for_min_points(system: Context) -> None:
    band = {"level": "warning", "above": 15, "min_points": 14, "decision": "Look."}
    with_values(system, weeks_csv([10.0] * 12 + [20.0]), thresholds=[band])
    (tile,) = board.sqdc_board(system, zone=UTC_ZONE).tiles
    assert (tile.status, len(tile.recent)) == ("ok", 12)  # 13 values: the band may not fire

    service.import_values(system, "near_misses", weeks_csv([10.0] * 13 + [20.0]), zone=UTC_ZONE)
    (tile,) = board.sqdc_board(system, zone=UTC_ZONE).tiles
    assert (tile.status, tile.latest_value, len(tile.recent)) == ("warning", 20.0, 12)
    assert tile.decision == "Look."


class LineTwoOee:
    """An OEE source narrowed to line 2: its values carry the line's code."""

    def __call__(
        self, session: Session, defn: MetricDefinition, zone: ZoneInfo, periods: Any
    ) -> list[PeriodValue]:
        return [PeriodValue(f"2026-11-{d:02d}", "L2", 0.5 + d / 100) for d in range(1, 6)]


def test_a_metric_of_one_line_shows_on_that_line_and_the_whole_board_only(
    system: Context,
) -> None:
    oee = parse_definition(
        {
            "key": "oee_l2",
            "name": "OEE line 2",
            "unit": "%",
            "direction": "higher_is_better",
            "kind": "lagging",
            "owner": "supervisor",
            "sqdc": "cost",
            "source": {"kpi": "oee", "line": "CHI/ASM/L2"},
            "period": "day",
            "chart": "xmr",
        }
    )
    service.define_metric(system, oee, reason="new")
    service.compute_metric(system, "oee_l2", zone=UTC_ZONE, source=LineTwoOee())
    with_values(system)  # a plant-wide manual metric, on every line's board

    def shown(**filters: str) -> list[tuple[str, str]]:
        return [(t.key, t.line) for t in board.sqdc_board(system, zone=UTC_ZONE, **filters).tiles]

    assert shown() == [("near_misses", ""), ("oee_l2", "L2")]
    assert shown(line="L2") == [("near_misses", ""), ("oee_l2", "L2")]
    assert shown(line="L1") == [("near_misses", "")]
    assert board.sqdc_board(system, zone=UTC_ZONE).lines == ["L2"]
    page = board.metric_page(system, "oee_l2", zone=UTC_ZONE)
    assert (page.line, page.standing.latest.value if page.standing.latest else None) == ("L2", 0.55)


def test_the_area_filter_keeps_the_area_and_plant_wide_metrics(system: Context) -> None:
    with_values(system, area="WH")
    with_values(system, key="spills", name="Spills")  # no area: every area's board

    def keys(area: str | None) -> list[str]:
        return [t.key for t in board.sqdc_board(system, area=area, zone=UTC_ZONE).tiles]

    assert keys(None) == ["near_misses", "spills"]
    assert keys("WH") == ["near_misses", "spills"]
    assert keys("ASM") == ["spills"]


def test_the_page_keeps_the_history_of_crossings_and_review_decisions(
    client: TestClient, system: Context
) -> None:
    from andon.reviews import service as reviews

    key = with_values(system)
    meeting, _ = reviews.open_meeting(system, "2026-W41")
    reviews.add_decision(system, meeting.id, key, "Hold a <stand-down> on Monday.")
    make_user(system, "sam", Role.SAFETY)
    sign_in(client, "sam")
    html = client.get(f"/metrics/{key}").text
    decisions = html[html.index('id="decisions"') :]
    assert re.search(r"<th scope=\"row\">2026-W40</th><td>Critical</td>", decisions)
    assert f'href="/actions/{metric_actions(system, key)[0].id}"' in decisions
    said = '<a href="/reviews/2026-W41">2026-W41</a>: Hold a &lt;stand-down&gt; on Monday.'
    assert said in decisions
