"""Process pages (map, definition, exports, publishing) and the site calendar page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
import yaml
from fastapi.testclient import TestClient

from andon.calendars import service as calendars
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.processes import service as processes
from tests.factories import DEMO_PROCESS, Floor, make_floor, make_user, new_item
from tests.integration.test_web_pages import csrf_token, sign_in

STAGE_NAMES = ["Intake", "Plan", "Kit", "Assemble", "Inspect", "Rework", "Pack", "Ship"]


@pytest.fixture
def floor(system: Context) -> Floor:
    return make_floor(system)


def version_numbers(system: Context, key: str = "assembly") -> list[int]:
    return [v.number for v in processes.list_versions(system, key)]


def test_process_list_shows_current_version_and_open_items(
    client: TestClient, system: Context, floor: Floor
) -> None:
    new_item(system, floor)
    new_item(system, floor)
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    page = client.get("/processes").text
    row = re.search(r"<tr>\s*<td><a href=\"/processes/assembly\">.*?</tr>", page, re.DOTALL)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(0), re.DOTALL)
    assert [re.sub(r"<[^>]+>", "", c).strip() for c in cells[1:5]] == [
        "Assembly order",
        "1",
        "active",
        "2",
    ]


def test_process_page_shows_the_map_with_every_stage_and_its_open_items(
    client: TestClient, system: Context, floor: Floor
) -> None:
    new_item(system, floor)
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    page = client.get("/processes/assembly")
    assert page.status_code == 200
    svg = re.search(r"<svg .*?</svg>", page.text, re.DOTALL)
    assert svg is not None
    names = re.findall(r'<text class="stage-name"[^>]*>([^<]+)</text>', svg.group(0))
    assert sorted(names) == sorted(STAGE_NAMES)
    intake = re.search(r'data-stage="intake".*?</g>', svg.group(0), re.DOTALL)
    assert intake is not None
    assert "1 item" in intake.group(0)
    assert "WI-INS-004" in page.text  # the inspect stage's SOP slot in the stage table
    assert "Main bolt torque" in page.text
    assert "Waiting for parts" in page.text
    assert "Equipment breakdown" in page.text


def test_operator_sees_no_publish_form_and_cannot_publish(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    page = client.get("/processes/assembly").text
    assert 'action="/processes/assembly/publish"' not in page
    document = DEMO_PROCESS.read_text().replace("name: Assembly order", "name: Hijacked")
    response = client.post(
        "/processes/assembly/publish",
        data={"document": document, "reason": "mine now", "csrf_token": csrf_token(client, "/")},
    )
    assert response.status_code == 403
    assert version_numbers(system) == [1]


def test_publishing_a_new_version_through_the_form(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    document = DEMO_PROCESS.read_text().replace("sla: 40h", "sla: 48h")
    response = client.post(
        "/processes/assembly/publish",
        data={
            "document": document,
            "reason": "longer lead time",
            "csrf_token": csrf_token(client, "/processes/assembly"),
        },
    )
    assert response.status_code == 200
    assert "Published version 2 of “Assembly order”." in response.text
    assert version_numbers(system) == [2, 1]
    older = client.get("/processes/assembly", params={"version": 1}).text
    assert "You are looking at version 1." in older
    assert "40h of business time" in older


def test_publishing_bad_yaml_lists_line_numbers_and_publishes_nothing(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    document = DEMO_PROCESS.read_text().replace("{from: plan, to: kit}", "{from: plan, to: kitt}")
    line = 1 + document.splitlines().index("  - {from: plan, to: kitt}")
    response = client.post(
        "/processes/assembly/publish",
        data={
            "document": document,
            "reason": "typo",
            "csrf_token": csrf_token(client, "/processes/assembly"),
        },
    )
    assert response.status_code == 422
    assert "Not published." in response.text
    assert f"line {line}: transitions.1.to: unknown stage &#39;kitt&#39;" in response.text
    typed = re.search(r'<textarea id="publish-document"[^>]*>([^<]*)</textarea>', response.text)
    assert typed is not None
    assert "{from: plan, to: kitt}" in typed.group(1)
    assert version_numbers(system) == [1]


def test_a_yaml_syntax_error_names_its_line_on_import(client: TestClient, system: Context) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    response = client.post(
        "/processes/import",
        files={"file": ("broken.yaml", b"key: broken\nname: [unclosed\n", "application/yaml")},
        data={"reason": "first", "csrf_token": csrf_token(client, "/processes")},
    )
    assert response.status_code == 422
    assert re.search(r"<li>line \d+ column \d+: ", response.text)
    assert processes.list_processes(system) == []


def test_importing_a_file_creates_the_process(client: TestClient, system: Context) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    response = client.post(
        "/processes/import",
        files={"file": ("assembly.yaml", DEMO_PROCESS.read_bytes(), "application/yaml")},
        data={"reason": "first version", "csrf_token": csrf_token(client, "/processes")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/processes/assembly"
    process, version, _ = processes.get_version(system, "assembly")
    assert (process.name, version.reason, version.published_by) == (
        "Assembly order",
        "first version",
        "mia",
    )


def test_bpmn_download_is_xml_with_a_file_name(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    response = client.get("/processes/assembly/export.bpmn")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="assembly-v1.bpmn"'
    root = ET.fromstring(response.content)  # noqa: S314 - our own export
    bpmn = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
    assert root.tag == f"{bpmn}definitions"
    tasks = root.findall(f"{bpmn}process/{bpmn}task")
    assert sorted(t.get("name", "") for t in tasks) == sorted(STAGE_NAMES)


def test_yaml_download_reads_back_as_the_same_definition(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    response = client.get("/processes/assembly/export.yaml")
    assert response.headers["content-type"].startswith("application/yaml")
    assert 'filename="assembly-v1.yaml"' in response.headers["content-disposition"]
    _, version, _ = processes.get_version(system, "assembly")
    assert yaml.safe_load(response.text) == version.spec


def test_deactivating_needs_a_reason_and_is_recorded(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    token = csrf_token(client, "/processes/assembly")
    refused = client.post(
        "/processes/assembly/active", data={"active": "false", "csrf_token": token}
    )
    assert refused.status_code == 422
    assert processes.get_process(system, "assembly").active
    done = client.post(
        "/processes/assembly/active",
        data={"active": "false", "reason": "line retooling", "csrf_token": token},
    )
    assert "is inactive: no new items start." in done.text
    assert not processes.get_process(system, "assembly").active


def test_publish_without_csrf_token_is_refused(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    document = DEMO_PROCESS.read_text().replace("sla: 40h", "sla: 48h")
    response = client.post(
        "/processes/assembly/publish", data={"document": document, "reason": "sneaky"}
    )
    assert response.status_code == 403
    assert version_numbers(system) == [1]


def test_process_text_is_escaped_on_the_page(client: TestClient, system: Context) -> None:
    make_floor(system, name="<script>alert(1)</script>")
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    page = client.get("/processes/assembly").text
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- Site calendars: the business time SLA clocks count ----------------------------------


def shift_form(token: str, *rows: tuple[str, list[int], str, str]) -> dict[str, object]:
    data: dict[str, object] = {"csrf_token": token, "rows": str(len(rows))}
    for i, (name, days, start, end) in enumerate(rows):
        data[f"shift-{i}-name"] = name
        data[f"shift-{i}-days"] = [str(d) for d in days]
        data[f"shift-{i}-start"] = start
        data[f"shift-{i}-end"] = end
    return data


def test_calendar_page_saves_a_shift_pattern(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    path = f"/plant/sites/{floor.site.id}/calendar"
    data = shift_form(
        csrf_token(client, path),
        ("Early", [0, 1, 2, 3, 4], "06:00", "14:00"),
        ("Night", [0, 1, 2, 3], "22:00", "06:00"),
    )
    response = client.post(f"{path}/shifts", data=data)
    assert response.status_code == 200
    assert "Saved 2 shifts" in response.text
    saved = calendars.get_calendar(system, floor.site.id)
    assert saved is not None
    assert [(s["name"], s["start"], s["end"]) for s in saved.shifts] == [
        ("Early", "06:00", "14:00"),
        ("Night", "22:00", "06:00"),
    ]


def test_overlapping_shifts_show_the_error_next_to_the_field_and_save_nothing(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    path = f"/plant/sites/{floor.site.id}/calendar"
    data = shift_form(
        csrf_token(client, path),
        ("Day", [0, 1, 2, 3, 4], "06:00", "14:00"),
        ("Late", [0, 1, 2, 3, 4], "13:00", "21:00"),
    )
    response = client.post(f"{path}/shifts", data=data)
    assert response.status_code == 422
    error = re.search(r'<p class="field-error" id="shift-1-start-error">([^<]+)</p>', response.text)
    assert error is not None
    assert "overlaps shift &#34;Day&#34;" in error.group(1)
    saved = calendars.get_calendar(system, floor.site.id)
    assert saved is not None
    assert [s["name"] for s in saved.shifts] == ["Day"]  # make_floor's pattern, untouched


def test_operator_sees_the_calendar_but_no_forms(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    page = client.get(f"/plant/sites/{floor.site.id}/calendar").text
    assert "06:00" in page
    assert "14:00" in page
    assert "/calendar/shifts" not in page


def test_holidays_are_added_and_removed_through_the_page(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    path = f"/plant/sites/{floor.site.id}/calendar"
    token = csrf_token(client, path)
    added = client.post(
        f"{path}/holidays",
        data={"day": "2026-12-24", "name": "Christmas Eve", "csrf_token": token},
    )
    assert "Christmas Eve" in added.text
    imported = client.post(
        f"{path}/holidays/import",
        files={"file": ("h.csv", b"date,name\n2026-12-31,New Year's Eve\n", "text/csv")},
        data={"csrf_token": token},
    )
    assert "Added 1 holiday" in imported.text
    client.post(f"{path}/holidays/2026-12-24/delete", data={"csrf_token": token})
    saved = calendars.get_calendar(system, floor.site.id)
    assert saved is not None
    assert [(str(h.day), h.name) for h in saved.holidays] == [("2026-12-31", "New Year's Eve")]


def test_a_bad_holiday_file_names_its_line(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    path = f"/plant/sites/{floor.site.id}/calendar"
    response = client.post(
        f"{path}/holidays/import",
        files={"file": ("h.csv", b"date,name\n2026-13-01,Nope\n", "text/csv")},
        data={"csrf_token": csrf_token(client, path)},
    )
    assert response.status_code == 422
    assert "line 2: &#39;2026-13-01&#39; is not a date like 2026-12-25" in response.text
    saved = calendars.get_calendar(system, floor.site.id)
    assert saved is not None
    assert saved.holidays == []


def test_add_a_row_keeps_what_was_typed_and_saves_nothing(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    path = f"/plant/sites/{floor.site.id}/calendar"
    data = shift_form(csrf_token(client, path), ("Swing", [5, 6], "14:00", "22:00"))
    response = client.post(f"{path}/shifts", data={**data, "add_row": "1"})
    assert response.status_code == 200
    assert 'id="shift-0-name" name="shift-0-name" value="Swing"' in response.text
    assert 'id="shift-1-name" name="shift-1-name" value=""' in response.text
    saved = calendars.get_calendar(system, floor.site.id)
    assert saved is not None
    assert [s["name"] for s in saved.shifts] == ["Day"]


def test_public_holidays_are_generated_for_a_country(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    path = f"/plant/sites/{floor.site.id}/calendar"
    token = csrf_token(client, path)
    unknown = client.post(
        f"{path}/holidays/generate", data={"country": "XX", "year": "2026", "csrf_token": token}
    )
    assert unknown.status_code == 422
    assert 'id="generate-country-error"' in unknown.text
    done = client.post(
        f"{path}/holidays/generate", data={"country": "us", "year": "2026", "csrf_token": token}
    )
    assert "public holidays of US for 2026" in done.text
    saved = calendars.get_calendar(system, floor.site.id)
    assert saved is not None
    assert "Independence Day" in {h.name for h in saved.holidays}


def test_a_closure_is_read_in_the_site_time_zone(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "mia", Role.OPS_MANAGER)
    sign_in(client, "mia")
    path = f"/plant/sites/{floor.site.id}/calendar"
    response = client.post(
        f"{path}/closures",
        data={
            "start_at": "2026-07-03T06:00",
            "end_at": "2026-07-06T06:00",
            "reason": "Summer shutdown",
            "csrf_token": csrf_token(client, path),
        },
    )
    assert "2026-07-03 06:00 CDT" in response.text
    saved = calendars.get_calendar(system, floor.site.id)
    assert saved is not None
    (closure,) = saved.closures
    assert closure.start_at.astimezone(UTC) == datetime(2026, 7, 3, 11, 0, tzinfo=UTC)
