"""Analytics pages: upload and follow the import, then the quality report, map, variants, KPIs
and conformance of a real log, with the expected numbers computed by pm4py."""

from __future__ import annotations

import html
import re
import time

import pytest
from fastapi.testclient import TestClient

from andon.core.config import Settings
from andon.core.permissions import Role
from andon.core.uow import Context
from tests.factories import make_floor, make_user, new_item, wait_until_import_settled
from tests.integration.test_api_analytics import RUNNING, pm4py_reference, publish_claims
from tests.integration.test_web_pages import csrf_token, sign_in
from tests.unit.analytics.conftest import data_file

FLOW = re.compile(r'<path class="flow( deviation)?" data-source="([^"]*)" data-target="([^"]*)"')


@pytest.fixture
def lead(client: TestClient, system: Context) -> TestClient:
    make_user(system, "sue", Role.SUPERVISOR)
    sign_in(client, "sue")
    return client


def upload_page(client: TestClient, name: str, content: bytes, **fields: str) -> str:
    """Upload through the form and follow the import to its dataset; the dataset's path."""
    token = csrf_token(client, "/analytics")
    response = client.post(
        "/analytics/upload",
        data={"csrf_token": token, **fields},
        files={"file": (name, content)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    status_url = response.headers["location"] + "/status"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(status_url, headers={"HX-Request": "true"})
        if "HX-Redirect" in status.headers:
            return status.headers["HX-Redirect"]
        assert "Not imported" not in status.text, status.text
        time.sleep(0.1)
    pytest.fail("the import did not finish")


@pytest.fixture
def running(lead: TestClient) -> str:
    return upload_page(lead, RUNNING, data_file(RUNNING).read_bytes())


def flows(page: str) -> list[tuple[str, str, bool]]:
    return [(html.unescape(s), html.unescape(t), bool(d)) for d, s, t in FLOW.findall(page)]


def stat(page: str, key: str) -> str:
    found = re.search(rf'data-kpi="{key}">([^<]*)<', page)
    assert found is not None, key
    return found.group(1)


def test_the_list_offers_the_plant_events_and_the_upload_form_to_a_lead(
    lead: TestClient, system: Context
) -> None:
    make_floor(system)

    page = lead.get("/analytics").text

    assert 'href="/analytics/plant"' in page
    assert 'href="/analytics/plant-assembly"' in page
    assert 'action="/analytics/upload"' in page
    assert 'name="csrf_token"' in page
    assert 'href="/analytics" aria-current="page"' in page


def test_an_upload_shows_its_quality_map_variants_and_kpis(lead: TestClient, running: str) -> None:
    expected = pm4py_reference(RUNNING)

    response = lead.get(running)

    assert response.status_code == 200
    page = response.text
    assert re.search(r"Variants <span class=\"tag\">(\d+)</span>", page).group(1) == str(  # type: ignore[union-attr]
        len(expected["variants"])
    )
    assert {(s, t) for s, t, _ in flows(page)} == set(expected["dfg"])
    assert stat(page, "cases") == str(expected["cases"])
    assert stat(page, "events") == str(expected["events"])
    quality = re.search(r'stat-number">(\d+)</span><span class="stat-label">rows read', page)
    assert quality is not None
    assert int(quality.group(1)) == expected["events"]
    assert page.count('class="column"') == expected["completion_days"]
    rows = re.findall(r"<tr>\s*<td>\d+</td>\s*<td>(\d+)</td>", page)
    assert sorted(map(int, rows), reverse=True) == sorted(
        expected["variants"].values(), reverse=True
    )


def test_the_slider_and_toggle_redraw_the_map_from_the_server(
    lead: TestClient, running: str
) -> None:
    expected = pm4py_reference(RUNNING)

    rare_hidden = lead.get(f"{running}/results?min_frequency=3&view=frequency").text
    timed = lead.get(f"{running}/results?view=performance").text

    kept = {pair for pair, count in expected["dfg"].items() if count >= 3}
    assert {(s, t) for s, t, _ in flows(rare_hidden)} == kept
    assert f"{len(kept)} of {len(expected['dfg'])}" in rare_hidden
    assert 'data-view="performance"' in timed
    means = {
        (html.unescape(s), html.unescape(t)): float(m)
        for s, t, m in re.findall(
            r'data-source="([^"]*)" data-target="([^"]*)" data-frequency="\d+" data-mean="([^"]*)"',
            timed,
        )
    }
    assert means.keys() == expected["performance"].keys()
    for pair, mean in means.items():
        assert mean == pytest.approx(expected["performance"][pair]["mean"])


def test_conformance_lists_deviations_and_marks_them_on_the_map(
    lead: TestClient, system: Context, running: str
) -> None:
    publish_claims(system)
    stage_names = {
        "register request",
        "examine thoroughly",
        "check ticket",
        "decide",
        "pay compensation",
        "reject request",
    }
    allowed = {
        ("register request", "examine thoroughly"),
        ("examine thoroughly", "check ticket"),
        ("check ticket", "decide"),
        ("decide", "pay compensation"),
        ("decide", "reject request"),
    }
    expected = pm4py_reference(RUNNING)
    illegal = {
        (s, t)
        for s, t in expected["dfg"]
        if s in stage_names and t in stage_names and (s, t) not in allowed
    }

    page = lead.get(f"{running}?process=claims").text

    marked = {(s, t) for s, t, deviation in flows(page) if deviation}
    assert marked == illegal
    assert 'class="activity deviation" data-activity="examine casually"' in page
    assert re.search(r'data-conformance="cases">(\d+)<', page).group(1) == str(  # type: ignore[union-attr]
        expected["cases"]
    )
    assert "illegal move" in page


def test_filters_narrow_the_page_and_bad_ones_are_shown_on_their_field(
    lead: TestClient, running: str
) -> None:
    top = lead.get(f"{running}?top_variants=1").text
    bad = lead.get(f"{running}?time_from=yesterday")

    assert stat(top, "cases") == "1"
    assert 'Variants <span class="tag">1</span>' in top
    assert bad.status_code == 422
    assert re.search(r'id="filter-from-error">[^<]*not a time', bad.text)
    assert "The filters were not applied" in bad.text


def test_a_file_that_is_not_a_log_is_refused_on_the_form(lead: TestClient) -> None:
    token = csrf_token(lead, "/analytics")

    response = lead.post(
        "/analytics/upload",
        data={"csrf_token": token, "name": "Shift photo"},
        files={"file": ("photo.png", b"\x89PNG\r\n\x1a\n")},
    )

    assert response.status_code == 422
    assert re.search(r'id="upload-file-error">[^<]*unknown format', response.text)
    assert 'value="Shift photo"' in response.text


def test_an_upload_without_the_form_token_is_refused(lead: TestClient) -> None:
    response = lead.post(
        "/analytics/upload", files={"file": (RUNNING, data_file(RUNNING).read_bytes())}
    )

    assert response.status_code == 403
    assert "No logs uploaded yet." in lead.get("/analytics").text


def test_an_operator_sees_analyses_but_no_upload_form(client: TestClient, system: Context) -> None:
    floor = make_floor(system, shifts=False)
    new_item(system, floor)
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")

    listing = client.get("/analytics").text
    plant = client.get("/analytics/plant-assembly")
    token = csrf_token(client, "/analytics")
    refused = client.post(
        "/analytics/upload",
        data={"csrf_token": token},
        files={"file": (RUNNING, data_file(RUNNING).read_bytes())},
    )

    assert 'action="/analytics/upload"' not in listing
    assert plant.status_code == 200
    assert stat(plant.text, "cases") == "1"
    assert "Answered from the plant's prepared form" in plant.text
    assert refused.status_code == 403


def test_a_lead_removes_an_uploaded_log(lead: TestClient, running: str) -> None:
    token = csrf_token(lead, running)

    response = lead.post(f"{running}/delete", data={"csrf_token": token}, follow_redirects=True)

    assert response.status_code == 200
    assert "Removed “running-example.xes”." in response.text
    assert lead.get(running).status_code == 404


def test_a_failed_import_says_why_and_stops_polling(lead: TestClient) -> None:
    token = csrf_token(lead, "/analytics")
    started = lead.post(
        "/analytics/upload",
        data={"csrf_token": token},
        files={"file": ("orders.csv", b"order,step\n1,cut\n")},
        follow_redirects=False,
    )
    status_url = started.headers["location"] + "/status"

    deadline = time.monotonic() + 30
    status = lead.get(status_url, headers={"HX-Request": "true"})
    while status.status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
        status = lead.get(status_url, headers={"HX-Request": "true"})

    assert status.status_code == 286
    assert "Not imported." in status.text
    assert "no case column" in status.text


def answer_ms(page: str) -> float:
    found = re.search(r'data-answer-ms="([\d.]+)">(\d+) ms<', page)
    assert found is not None, "no answer time"
    assert abs(float(found.group(1)) - int(found.group(2))) <= 0.5
    return float(found.group(1))


def test_the_answer_says_when_it_was_remembered_or_read_from_the_kept_report(
    lead: TestClient, running: str, settings: Settings
) -> None:
    from andon.analytics import analysis_cache

    dataset_id = running.rsplit("/", 1)[-1]
    wait_until_import_settled(settings.data_dir, dataset_id)
    analysis_cache.results.forget(dataset_id)
    unfiltered = lead.get(running).text
    assert 'data-answer-origin="report"' in unfiltered
    assert "from the report kept at import" in unfiltered
    query = f"{running}/results?end_activity=reject+request"
    first = lead.get(query, headers={"HX-Request": "true"}).text
    answer_ms(first)
    assert "data-answer-origin" not in first  # computed from the prepared form now
    again = lead.get(query, headers={"HX-Request": "true"}).text
    assert 'data-answer-origin="memory"' in again
    assert "from memory: asked before" in again


def test_the_results_fragment_redraws_map_variants_and_kpis_under_a_time_window(
    lead: TestClient, running: str
) -> None:
    import pm4py

    log = pm4py.read_xes(str(data_file(RUNNING)))
    kept = pm4py.filter_time_range(
        log, "2011-01-08 00:00:00", "2011-01-12 00:00:00", mode="traces_intersecting"
    )
    dfg, _, _ = pm4py.discover_dfg(kept)
    window = "time_from=2011-01-08T00:00Z&time_to=2011-01-12T00:00Z"

    response = lead.get(f"{running}/results?{window}", headers={"HX-Request": "true"})

    assert response.status_code == 200
    fragment = response.text
    assert "<html" not in fragment
    assert fragment.count('id="an-results"') == 1
    assert {(s, t) for s, t, _ in flows(fragment)} == set(dfg)
    assert stat(fragment, "cases") == str(kept["case:concept:name"].nunique())
    assert stat(fragment, "events") == str(len(kept))
    assert re.search(r'Variants <span class="tag">(\d+)</span>', fragment).group(1) == str(  # type: ignore[union-attr]
        len(pm4py.get_variants(kept))
    )
    # The map's controls, redrawn too, belong to the filter form: one request carries both.
    assert re.search(r'<input id="map-min" name="min_frequency"[^>]* form="an-filters"', fragment)


def test_the_fragment_says_how_long_the_answer_took_and_where_the_view_lives(
    lead: TestClient, running: str
) -> None:
    response = lead.get(
        f"{running}/results?end_activity=reject+request&view=performance&min_frequency=2"
    )

    timing = re.fullmatch(r"analytics;dur=(\d+\.\d)", response.headers["server-timing"])
    assert timing is not None
    assert answer_ms(response.text) == float(timing.group(1))
    assert response.headers["hx-push-url"] == (
        f"{running}?end_activity=reject+request&view=performance&min_frequency=2"
    )
    assert stat(response.text, "cases") == str(pm4py_reference(RUNNING)["ends"]["reject request"])
    # Every message slot of the filter form is emptied, out of band.
    for slot in ("filter-form-error", "filter-from-error", "filter-top-error"):
        assert re.search(rf'id="{slot}"[^>]* hx-swap-oob="true"></p>', response.text), slot


def test_the_whole_page_also_says_how_long_its_answer_took(lead: TestClient, running: str) -> None:
    response = lead.get(f"{running}?top_variants=2")

    timing = re.fullmatch(r"analytics;dur=(\d+\.\d)", response.headers["server-timing"])
    assert timing is not None
    assert answer_ms(response.text) == float(timing.group(1))
    assert 'id="filter-top" name="top_variants" type="number"' in response.text
    assert re.search(r'id="filter-top-range"[^>]*max="(\d+)"', response.text).group(1) == str(  # type: ignore[union-attr]
        len(pm4py_reference(RUNNING)["variants"])
    )


def test_a_bad_filter_answers_422_with_its_message_on_the_field_only(
    lead: TestClient, running: str
) -> None:
    backwards = lead.get(
        f"{running}/results?time_from=2011-01-12T00:00Z&time_to=2011-01-08T00:00Z",
        headers={"HX-Request": "true"},
    )
    zero = lead.get(f"{running}/results?top_variants=0")

    assert backwards.status_code == 422
    assert re.search(
        r'id="filter-from-error" hx-swap-oob="true">[^<]*ends before it starts<', backwards.text
    )
    assert re.search(r'id="filter-to-error" hx-swap-oob="true"></p>', backwards.text)
    assert "Not answered" in backwards.text
    # The last answer stays on screen and the URL keeps the last good filters.
    assert 'id="an-results"' not in backwards.text
    assert backwards.headers["hx-reswap"] == "none"
    assert backwards.headers["hx-push-url"] == "false"
    assert "server-timing" not in backwards.headers
    assert zero.status_code == 422
    assert re.search(r'id="filter-top-error" hx-swap-oob="true">a whole number', zero.text)


def test_what_a_log_holds_is_escaped_in_the_fragment(lead: TestClient) -> None:
    log = (
        b"case_id,activity,timestamp\n"
        b"1,<script>alert(1)</script>,2024-01-01T08:00:00Z\n"
        b"1,Pack & ship,2024-01-01T09:00:00Z\n"
    )
    dataset = upload_page(lead, "orders.csv", log)

    fragment = lead.get(f"{dataset}/results?start_activity=%3Cscript%3Ealert(1)%3C/script%3E").text
    page = lead.get(dataset).text

    assert "<script>alert" not in fragment
    assert "&lt;script&gt;alert(1)&lt;/script&gt; → Pack &amp; ship" in fragment
    assert '<option value="&lt;script&gt;alert(1)&lt;/script&gt;">' in page
