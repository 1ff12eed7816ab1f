"""The analytics API on SQLite and PostgreSQL: uploads, imports, quality, DFG, variants, KPIs,
conformance, the plant's own events, and every refusal. Expected numbers come from pm4py."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from andon.api.app import create_app
from andon.core.config import Settings
from andon.core.database import Database
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.processes import service as processes
from andon.processes.spec import parse_spec
from andon.work import items
from andon.work.schemas import ItemMove
from tests.conftest import TEST_SECRET
from tests.factories import bearer, make_floor, new_item, wait_until_import_settled
from tests.unit.analytics.conftest import data_file

RUNNING = "running-example.xes"
API = "/api/v1/analytics"


@cache
def pm4py_reference(name: str) -> dict[str, Any]:
    """pm4py's DFG (frequency and performance), start/end activities, variants, durations,
    and the number of UTC days on which some case completed."""
    import pm4py

    log = pm4py.read_xes(str(data_file(name)))
    dfg, starts, ends = pm4py.discover_dfg(log)
    performance, _, _ = pm4py.discover_performance_dfg(log)
    variants = pm4py.get_variants(log)
    return {
        "events": len(log),
        "cases": log["case:concept:name"].nunique(),
        "dfg": {pair: int(count) for pair, count in dfg.items()},
        "performance": performance,
        "starts": {k: int(v) for k, v in starts.items()},
        "ends": {k: int(v) for k, v in ends.items()},
        "variants": {
            tuple(v): int(c if isinstance(c, int) else len(c)) for v, c in variants.items()
        },
        "durations": sorted(pm4py.get_all_case_durations(log)),
        "completion_days": log.groupby("case:concept:name")["time:timestamp"]
        .max()
        .dt.tz_convert("UTC")
        .dt.date.nunique(),
    }


@pytest.fixture
def lead(system: Context) -> dict[str, str]:
    return bearer(system, "sue", Role.SUPERVISOR)


@pytest.fixture
def viewer(system: Context) -> dict[str, str]:
    return bearer(system, "vic", Role.VIEWER)


def upload(
    client: TestClient,
    headers: dict[str, str],
    name: str,
    content: bytes,
    *,
    wait: bool = True,
    **form: str,
) -> Any:
    return client.post(
        f"{API}/datasets" + ("?wait=true" if wait else ""),
        files={"file": (name, content)},
        data=form,
        headers=headers,
    )


@pytest.fixture
def running(client: TestClient, lead: dict[str, str], settings: Settings) -> str:
    """The running example, uploaded and imported, its background work done; its id."""
    response = upload(client, lead, RUNNING, data_file(RUNNING).read_bytes())
    assert response.status_code == 201, response.text
    dataset_id: str = response.json()["id"]
    wait_until_import_settled(settings.data_dir, dataset_id)
    return dataset_id


def wait_until_finished(client: TestClient, headers: dict[str, str], url: str) -> Any:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(url, headers=headers).json()
        if job["status"] in ("ready", "failed"):
            return job
        time.sleep(0.1)
    pytest.fail(f"the import at {url} did not finish")


def test_an_upload_is_imported_in_the_background_with_its_quality_report(
    client: TestClient, lead: dict[str, str]
) -> None:
    response = upload(client, lead, RUNNING, data_file(RUNNING).read_bytes(), wait=False)

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    job = wait_until_finished(client, lead, response.headers["Location"])
    assert job["status"] == "ready", job
    dataset = client.get(f"{API}/datasets/{job['dataset_id']}", headers=lead).json()
    expected = pm4py_reference(RUNNING)
    assert dataset["quality"]["rows_read"] == expected["events"]
    assert dataset["quality"]["rows_rejected"] == 0
    assert dataset["quality"]["cases"] == expected["cases"]
    assert (dataset["filename"], dataset["uploaded_by"], dataset["format"]) == (
        RUNNING,
        "sue",
        "xes",
    )
    listed = client.get(f"{API}/datasets", headers=lead).json()
    assert [d["id"] for d in listed] == [job["dataset_id"]]


def test_the_dfg_is_pm4pys_with_and_without_performance(
    client: TestClient, lead: dict[str, str], running: str
) -> None:
    expected = pm4py_reference(RUNNING)

    plain = client.get(f"{API}/datasets/{running}/dfg", headers=lead).json()
    timed = client.get(f"{API}/datasets/{running}/dfg?performance=true", headers=lead).json()

    assert {(e["source"], e["target"]): e["frequency"] for e in plain["edges"]} == expected["dfg"]
    assert all("performance" not in e for e in plain["edges"])
    assert plain["start_activities"] == expected["starts"]
    assert plain["end_activities"] == expected["ends"]
    for edge in timed["edges"]:
        reference = expected["performance"][(edge["source"], edge["target"])]
        for statistic in ("mean", "median", "min", "max", "sum"):
            assert edge["performance"][statistic] == pytest.approx(reference[statistic], abs=1e-6)


def test_min_frequency_leaves_out_rare_edges_but_not_start_and_end(
    client: TestClient, lead: dict[str, str], running: str
) -> None:
    expected = pm4py_reference(RUNNING)

    graph = client.get(f"{API}/datasets/{running}/dfg?min_frequency=3", headers=lead).json()

    assert {(e["source"], e["target"]) for e in graph["edges"]} == {
        pair for pair, count in expected["dfg"].items() if count >= 3
    }
    assert graph["end_activities"] == expected["ends"]


def test_variants_are_pm4pys_most_cases_first_and_top_keeps_the_first(
    client: TestClient, lead: dict[str, str], running: str
) -> None:
    expected = pm4py_reference(RUNNING)

    found = client.get(f"{API}/datasets/{running}/variants", headers=lead).json()["variants"]
    top = client.get(f"{API}/datasets/{running}/variants?top=2", headers=lead).json()["variants"]

    assert {tuple(v["activities"]): v["cases"] for v in found} == expected["variants"]
    assert len(found) == 6
    assert [v["cases"] for v in found] == sorted((v["cases"] for v in found), reverse=True)
    assert top == found[:2]


def test_kpis_have_pm4pys_case_durations(
    client: TestClient, lead: dict[str, str], running: str
) -> None:
    expected = pm4py_reference(RUNNING)

    kpi = client.get(f"{API}/datasets/{running}/kpi", headers=lead).json()

    durations = expected["durations"]
    assert (kpi["cases"], kpi["events"]) == (expected["cases"], expected["events"])
    assert kpi["case_duration"]["min"] == pytest.approx(durations[0])
    assert kpi["case_duration"]["max"] == pytest.approx(durations[-1])
    assert kpi["case_duration"]["mean"] == pytest.approx(sum(durations) / len(durations))


def test_a_lifecycle_log_uploaded_with_pairing_is_analysed_as_intervals(
    client: TestClient, lead: dict[str, str]
) -> None:
    content = data_file("reviewing.xes").read_bytes()

    response = upload(client, lead, "reviewing.xes", content, pair_lifecycle="true")

    assert response.status_code == 201, response.text
    dataset = response.json()
    kpi = client.get(f"{API}/datasets/{dataset['id']}/kpi", headers=lead).json()
    assert dataset["interval"] is True
    assert dataset["quality"]["rows_read"] == 3730  # the file as read, starts included
    assert kpi["events"] == 2278  # each complete with its start
    assert kpi["time_in_stage"]["decide"]["median"] == 3 * 86_400


def test_pairing_a_log_without_lifecycle_is_refused_and_keeps_nothing(
    client: TestClient, lead: dict[str, str], settings: Settings
) -> None:
    content = b"case_id,activity,timestamp\nA,cut,2024-01-01T08:00:00Z\n"

    response = upload(client, lead, "plain.csv", content, pair_lifecycle="true")

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "lifecycle" in response.text
    assert client.get(f"{API}/datasets", headers=lead).json() == []


def test_filters_narrow_every_analysis(
    client: TestClient, lead: dict[str, str], running: str
) -> None:
    query = "top_variants=1"
    kpi = client.get(f"{API}/datasets/{running}/kpi?{query}", headers=lead).json()
    variants = client.get(f"{API}/datasets/{running}/variants?{query}", headers=lead).json()
    ended = client.get(
        f"{API}/datasets/{running}/kpi?end_activity=reject+request", headers=lead
    ).json()

    assert kpi["cases"] == 1
    assert len(variants["variants"]) == 1
    assert ended["cases"] == pm4py_reference(RUNNING)["ends"]["reject request"]


def test_filtered_analyses_come_from_the_prepared_form_kept_with_the_upload(
    client: TestClient, lead: dict[str, str], running: str, settings: Settings, system: Context
) -> None:
    import shutil

    import ibis

    from andon.analytics import analysis_cache
    from andon.analytics.dataset_store import get_dataset, open_log, prepared_path
    from andon.analytics.discovery import discover_dfg, discover_variants
    from andon.analytics.filters import parse_case_filters
    from andon.analytics.kpis import compute_kpis
    from andon.analytics.report import prepare, variants_json

    prepared = prepared_path(settings.data_dir, running)
    assert (prepared / "prepared.json").is_file()  # built at import
    query = "end_activity=reject+request&attribute=resource=Sara"
    dfg = client.get(f"{API}/datasets/{running}/dfg?{query}&performance=true", headers=lead).json()
    variants = client.get(f"{API}/datasets/{running}/variants?{query}", headers=lead).json()
    kpi = client.get(f"{API}/datasets/{running}/kpi?{query}", headers=lead).json()
    assert dfg.get("status", 200) == 200, dfg
    # The same answers as the stored events give through the unprepared path.
    filters = parse_case_filters(end_activity=["reject request"], attribute=["resource=Sara"])
    log = open_log(system, settings.data_dir, get_dataset(system, settings.data_dir, running))
    try:
        ordered = prepare(log, filters=filters)
        performance = discover_dfg(ordered, performance=True)
        assert dfg == performance.as_json()
        assert variants == variants_json(discover_variants(ordered))
        assert kpi == compute_kpis(ordered, dfg=performance).as_json()
    finally:
        ibis.get_backend(log.table).disconnect()
    # Gone (a restore does not bring it back): prepared again by the next filter, same answer.
    shutil.rmtree(prepared)
    analysis_cache.results.forget(running)
    again = client.get(
        f"{API}/datasets/{running}/dfg?{query}&performance=true", headers=lead
    ).json()
    assert again == dfg
    assert (prepared / "prepared.json").is_file()
    removed = client.delete(f"{API}/datasets/{running}", headers=lead)
    assert removed.status_code in (200, 204), removed.text
    assert not prepared.exists()


def test_a_map_without_waits_is_the_map_with_waits_less_its_waits_whichever_comes_first(
    client: TestClient, lead: dict[str, str], running: str
) -> None:
    from andon.analytics import analysis_cache

    url = f"{API}/datasets/{running}/dfg?attribute=resource=Sara"

    def without_waits(graph: dict[str, Any]) -> dict[str, Any]:
        edges = [{k: v for k, v in e.items() if k != "performance"} for e in graph["edges"]]
        return {**graph, "edges": edges}

    counted = client.get(url, headers=lead).json()  # counted on the variants
    timed = client.get(f"{url}&performance=true", headers=lead).json()
    assert all("performance" in e for e in timed["edges"])
    assert counted == without_waits(timed)
    analysis_cache.results.forget(running)
    timed_first = client.get(f"{url}&performance=true", headers=lead).json()
    assert client.get(url, headers=lead).json() == counted  # from the remembered map
    assert timed_first == timed


def test_the_whole_log_report_is_kept_after_the_import_or_answered_from_the_form(
    client: TestClient, lead: dict[str, str], running: str, settings: Settings
) -> None:
    from andon.analytics import analysis_cache
    from andon.analytics.dataset_store import report_path

    report = report_path(settings.data_dir, running)
    kept = json.loads(report.read_text("utf-8"))  # kept in the background once ready
    paths = {"dfg": "dfg?performance=true", "variants": "variants", "kpi": "kpi"}
    answers = {
        name: client.get(f"{API}/datasets/{running}/{path}", headers=lead).json()
        for name, path in paths.items()
    }
    assert answers == {name: kept[name] for name in answers}
    # Without it (an import whose page is opened before the report is kept), the unfiltered
    # answers come from the prepared form: the same documents.
    report.unlink()
    analysis_cache.results.forget(running)
    again = {
        name: client.get(f"{API}/datasets/{running}/{path}", headers=lead).json()
        for name, path in paths.items()
    }
    assert again == answers
    assert not report.exists()  # a request reads; only the import keeps the report


def test_a_prepared_form_of_an_older_format_is_prepared_again_on_the_next_filter(
    client: TestClient, lead: dict[str, str], running: str, settings: Settings
) -> None:
    import json

    from andon.analytics import analysis_cache
    from andon.analytics.dataset_store import prepared_path
    from andon.analytics.prepared import FORMAT_VERSION

    query = "end_activity=reject+request"
    first = client.get(f"{API}/datasets/{running}/kpi?{query}", headers=lead).json()
    meta_file = prepared_path(settings.data_dir, running) / "prepared.json"
    meta = json.loads(meta_file.read_text("utf-8"))
    meta_file.write_text(json.dumps(meta | {"format": 1}), "utf-8")
    analysis_cache.results.forget(running)

    again = client.get(f"{API}/datasets/{running}/kpi?{query}", headers=lead)

    assert again.status_code == 200, again.text
    assert again.json() == first
    assert json.loads(meta_file.read_text("utf-8"))["format"] == FORMAT_VERSION


def test_a_bad_filter_is_refused_naming_the_query_parameter(
    client: TestClient, lead: dict[str, str], running: str
) -> None:
    malformed = client.get(f"{API}/datasets/{running}/kpi?time_from=yesterday", headers=lead)
    unknown = client.get(f"{API}/datasets/{running}/kpi?attribute=shift=night", headers=lead)

    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["loc"] == ["query", "time_from"]
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["errors"][0]["loc"] == ["query", "attribute"]


def test_a_time_without_an_offset_is_read_in_the_site_zone(
    client: TestClient, lead: dict[str, str], running: str, settings: Settings
) -> None:
    # Case 5 starts 2011-01-06 08:02 UTC, cases 4 and 6 at 14:02 UTC: 06:00 in Chicago
    # (12:00 UTC) leaves case 5 out, 06:00 UTC keeps it.
    url = f"{API}/datasets/{running}/kpi?time_mode=contained&time_from="
    local = client.get(url + "2011-01-06T06:00", headers=lead).json()
    utc = client.get(url + "2011-01-06T06:00Z", headers=lead).json()
    # 03:00 at -05:00 is 08:00 UTC: the offset given wins over the site's zone.
    offset = client.get(url + "2011-01-06T03:00:00-05:00", headers=lead).json()

    assert settings.timezone == "America/Chicago"
    assert (local["cases"], utc["cases"], offset["cases"]) == (2, 3, 3)


def test_the_cli_flags_and_the_query_read_the_same_strings_as_the_same_filters(
    client: TestClient,
    lead: dict[str, str],
    running: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from andon.analytics import prepared, report
    from andon.analytics.filters import CaseFilters
    from andon.cli.main import app as cli
    from tests.integration.test_cli_mining import runner

    applied: list[CaseFilters] = []
    prepare, select_cases = report.prepare, prepared.select_cases

    def recording(*args: Any, filters: CaseFilters, **kwargs: Any) -> Any:
        applied.append(filters)
        return prepare(*args, filters=filters, **kwargs)

    def selecting(form: prepared.PreparedLog, filters: CaseFilters) -> Any:
        applied.append(filters)
        return select_cases(form, filters)

    # The CLI filters the events it reads; the API selects cases in the upload's prepared form.
    monkeypatch.setattr(report, "prepare", recording)
    monkeypatch.setattr(prepared, "select_cases", selecting)
    monkeypatch.setenv("ANDON_TIMEZONE", settings.timezone)
    typed = [
        ("time_from", "--from", "2010-12-30T06:00"),
        ("time_to", "--to", "2011-01-20"),
        ("time_mode", "--time-mode", "contained"),
        ("start_activity", "--start-activity", "register request"),
        ("end_activity", "--end-activity", "pay compensation"),
        ("end_activity", "--end-activity", "reject request"),
        ("exclude_variant", "--exclude-variant", "register request, check ticket"),
        ("top_variants", "--top-variants", "4"),
    ]

    response = client.get(
        f"{API}/datasets/{running}/kpi",
        params=[(name, value) for name, _, value in typed],
        headers=lead,
    )
    flags = [part for _, flag, value in typed for part in (flag, value)]
    result = runner.invoke(cli, ["kpi", str(data_file(RUNNING)), *flags, "--json"])

    assert response.status_code == 200, response.text
    assert result.exit_code == 0, result.stderr
    api_filters, cli_filters = applied
    assert api_filters == cli_filters
    assert api_filters.time_from == datetime(2010, 12, 30, 12, 0, tzinfo=UTC)
    assert api_filters.time_to == datetime(2011, 1, 20, 6, 0, tzinfo=UTC)
    assert api_filters.exclude_variants == (("register request", "check ticket"),)
    assert response.json()["cases"] == json.loads(result.stdout)["cases"]


RUNNING_PROCESS = """
key: claims
name: Claims
stages:
  - {key: register, name: register request, owner_role: operator}
  - {key: examine, name: examine thoroughly, owner_role: operator}
  - {key: check, name: check ticket, owner_role: operator}
  - {key: decide, name: decide, owner_role: supervisor}
  - {key: pay, name: pay compensation, owner_role: supervisor}
  - {key: reject, name: reject request, owner_role: supervisor}
start: register
end: [pay, reject]
transitions:
  - {from: register, to: examine}
  - {from: examine, to: check}
  - {from: check, to: decide}
  - {from: decide, to: pay}
  - {from: decide, to: reject}
"""


def publish_claims(system: Context) -> None:
    import yaml

    spec = parse_spec(yaml.safe_load(RUNNING_PROCESS))
    processes.publish(system, spec, reason="analytics tests")


def test_conformance_against_an_andon_process(
    client: TestClient, system: Context, lead: dict[str, str], running: str
) -> None:
    publish_claims(system)
    expected = pm4py_reference(RUNNING)
    allowed = [
        ("register request", "examine thoroughly", "check ticket", "decide", end)
        for end in ("pay compensation", "reject request")
    ]

    report = client.get(f"{API}/datasets/{running}/conformance?process=claims", headers=lead)

    assert report.status_code == 200, report.text
    body = report.json()
    assert body["cases"] == expected["cases"]
    assert body["conforming_cases"] == sum(expected["variants"].get(v, 0) for v in allowed)
    kinds = {d["kind"] for d in body["deviations"]}
    assert "unknown_activity" in kinds  # examine casually, reinitiate request
    assert 0 < body["fitness"] < 1


def test_conformance_against_an_unknown_process_is_404(
    client: TestClient, lead: dict[str, str], running: str
) -> None:
    response = client.get(f"{API}/datasets/{running}/conformance?process=nope", headers=lead)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_a_file_that_is_not_a_log_is_refused_naming_the_file_field(
    client: TestClient, lead: dict[str, str], settings: Settings
) -> None:
    response = upload(client, lead, "photo.png", b"\x89PNG\r\n\x1a\n....")

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["body", "file"]
    assert client.get(f"{API}/datasets", headers=lead).json() == []
    assert not any((settings.data_dir / "analytics").glob("*.parquet"))


def test_a_csv_without_the_mapped_column_is_refused_naming_it(
    client: TestClient, lead: dict[str, str]
) -> None:
    content = b"order,step,at\n1,cut,2024-01-01T08:00:00Z\n"

    missing = upload(client, lead, "orders.csv", content)
    named = upload(
        client, lead, "orders.csv", content, case="order", activity="step", timestamp="when"
    )

    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["body", "case"]
    assert named.status_code == 422
    assert "'when'" in named.json()["detail"]
    assert named.json()["errors"][0]["loc"] == ["body", "timestamp"]


def test_strict_refuses_a_log_with_rejected_rows_and_keeps_nothing(
    client: TestClient, lead: dict[str, str]
) -> None:
    content = b"case_id,activity,timestamp\n1,cut,2024-01-01T08:00:00Z\n2,,2024-01-01T09:00:00Z\n"

    strict = upload(client, lead, "cuts.csv", content, strict="true")
    lenient = upload(client, lead, "cuts.csv", content)

    assert strict.status_code == 422
    assert strict.json()["errors"][0]["loc"] == ["body", "file"]
    assert lenient.status_code == 201
    quality = lenient.json()["quality"]
    assert (quality["rows_read"], quality["rows_rejected"], quality["events"]) == (2, 1, 1)
    rejected = client.get(lenient.json()["quarantine_url"], headers=lead)
    assert rejected.status_code == 200
    assert "missing_activity" in rejected.text
    assert len(client.get(f"{API}/datasets", headers=lead).json()) == 1


def test_a_failed_background_import_reports_why(client: TestClient, lead: dict[str, str]) -> None:
    response = upload(client, lead, "bad.xes", b"<log><trace><event>", wait=False)

    job = wait_until_finished(client, lead, response.headers["Location"])

    assert job["status"] == "failed"
    assert job["dataset_id"] is None
    assert job["error"]["errors"][0]["loc"] == ["body", "file"]


@pytest.fixture
def small_client(db_url: str, db: Database, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=db_url, secret_key=TEST_SECRET, data_dir=tmp_path, max_log_bytes=2048
    )
    with TestClient(create_app(settings, db)) as test_client:
        yield test_client


def test_an_upload_over_the_size_limit_is_413(
    small_client: TestClient, lead: dict[str, str], tmp_path: Path
) -> None:
    row = b"1,cut,2024-01-01T08:00:00Z\n"
    header = b"case_id,activity,timestamp\n"
    # Over the body limit (file limit plus room for the multipart envelope), and a file over
    # the file limit in a body under it: both are refused before anything is read.
    huge = upload(small_client, lead, "big.csv", header + row * 4000)
    just_over = upload(small_client, lead, "big.csv", header + row * 100)

    for response in (huge, just_over):
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert "ANDON_MAX_LOG_BYTES" in response.json()["detail"]
    assert list((tmp_path / "analytics").glob("*.parquet")) == []


def test_an_unknown_dataset_is_404(client: TestClient, lead: dict[str, str]) -> None:
    unknown = client.get(f"{API}/datasets/{'0' * 32}/dfg", headers=lead)
    malformed = client.get(f"{API}/datasets/../../etc/kpi", headers=lead)

    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert malformed.status_code in (404, 422)


def test_a_viewer_reads_analyses_but_may_not_upload_or_remove(
    client: TestClient, viewer: dict[str, str], running: str
) -> None:
    refused = upload(client, viewer, RUNNING, data_file(RUNNING).read_bytes())
    removal = client.delete(f"{API}/datasets/{running}", headers=viewer)
    read = client.get(f"{API}/datasets/{running}/variants", headers=viewer)

    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert removal.status_code == 403
    assert read.status_code == 200


def test_removing_a_dataset_deletes_its_files_and_is_audited(
    client: TestClient, lead: dict[str, str], running: str, settings: Settings, system: Context
) -> None:
    from andon.analytics.prepared_cache import prepared_forms
    from andon.core.audit_queries import AuditFilter, list_entries

    assert running in prepared_forms.held()  # opened once the import was ready
    filtered = client.get(f"{API}/datasets/{running}/variants?top_variants=1", headers=lead)
    assert filtered.status_code == 200

    response = client.delete(f"{API}/datasets/{running}", headers=lead)

    assert response.status_code == 204
    assert running not in prepared_forms.held()
    assert client.get(f"{API}/datasets/{running}", headers=lead).status_code == 404
    assert list((settings.data_dir / "analytics").glob(f"{running}*")) == []
    actions = [
        e.action
        for e in list_entries(system, AuditFilter(), limit=50).items
        if e.entity_type == "analytics_dataset"
    ]
    assert sorted(actions) == ["delete", "import"]


def test_the_plants_own_events_are_a_dataset(
    client: TestClient, system: Context, lead: dict[str, str]
) -> None:
    floor = make_floor(system, shifts=False)
    moved = [new_item(system, floor) for _ in range(3)]
    for item in moved[:2]:
        items.move_item(system, item.id, ItemMove(to="plan", version=item.version))

    kpi = client.get(f"{API}/datasets/plant-assembly/kpi", headers=lead).json()
    graph = client.get(f"{API}/datasets/plant/dfg", headers=lead).json()
    dataset = client.get(f"{API}/datasets/plant-assembly", headers=lead).json()

    assert (kpi["cases"], kpi["events"]) == (3, 5)
    assert graph["edges"] == [{"source": "Intake", "target": "Plan", "frequency": 2}]
    assert (dataset["kind"], dataset["process"], dataset["quality"]) == ("plant", "assembly", None)
    assert client.delete(f"{API}/datasets/plant", headers=lead).status_code == 409


def test_a_plant_result_is_mined_again_once_andon_records_another_event(
    client: TestClient, system: Context, lead: dict[str, str]
) -> None:
    floor = make_floor(system, shifts=False)
    new_item(system, floor)
    first = client.get(f"{API}/datasets/plant/kpi", headers=lead).json()
    again = client.get(f"{API}/datasets/plant/kpi", headers=lead).json()
    new_item(system, floor)
    after = client.get(f"{API}/datasets/plant/kpi", headers=lead).json()

    # Well within PLANT_TTL_SECONDS: only the newer event makes the result stale.
    assert (first["cases"], again["cases"], after["cases"]) == (1, 1, 2)


def test_a_site_scoped_reader_sees_only_the_plant_events_of_their_site(
    client: TestClient, system: Context
) -> None:
    from andon.plant import service as plant
    from andon.plant.schemas import AreaCreate, LineCreate, SiteCreate

    floor = make_floor(system, shifts=False)
    other_site = plant.create_site(
        system,
        SiteCreate(
            enterprise_id=floor.site.enterprise_id, name="Dallas", code="DAL", timezone="UTC"
        ),
    )
    other_area = plant.create_area(
        system, AreaCreate(site_id=other_site.id, name="Assembly", code="ASM")
    )
    other_line = plant.create_line(
        system, LineCreate(area_id=other_area.id, name="Line 9", code="L9")
    )
    new_item(system, floor)
    for _ in range(2):
        new_item(system, floor, line_id=other_line.id)
    chicago = bearer(system, "cal", Role.SUPERVISOR, site_id=floor.site.id)
    dallas = bearer(system, "dee", Role.SUPERVISOR, site_id=other_site.id)
    everyone = bearer(system, "ops", Role.OPS_MANAGER)

    cases = {
        who: client.get(f"{API}/datasets/plant/kpi", headers=headers).json()["cases"]
        for who, headers in (("chicago", chicago), ("dallas", dallas), ("plant", everyone))
    }

    assert cases == {"chicago": 1, "dallas": 2, "plant": 3}


def test_the_plant_with_no_events_says_so(client: TestClient, lead: dict[str, str]) -> None:
    response = client.get(f"{API}/datasets/plant/variants", headers=lead)

    assert response.status_code == 409
    assert "no work events" in response.json()["detail"]
