"""The work pages: queue, my work, creating an item and acting on it through plain forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from andon.core.clock import utcnow
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.work import checks, items, line_stops, queries
from andon.work.models import WorkItem
from andon.work.schemas import ChecklistRecord, CheckResultIn, ItemAssign, ItemMove
from tests.factories import Floor, make_floor, make_user, new_item
from tests.integration.test_web_pages import csrf_token, sign_in

XSS = "<script>alert(1)</script>"


@pytest.fixture
def floor(system: Context) -> Floor:
    # Around the clock, so SLA countdowns do not depend on when the tests run.
    return make_floor(system, shifts=False)


@pytest.fixture
def lead(client: TestClient, system: Context) -> None:
    make_user(system, "sam", Role.SUPERVISOR)
    sign_in(client, "sam")


def move(system: Context, item: WorkItem, *stages: str) -> WorkItem:
    for stage in stages:
        item = items.move_item(system, item.id, ItemMove(to=stage, version=item.version))
    return item


def post(client: TestClient, path: str, data: dict[str, str]) -> str:
    """Send an item form with the page's token and return the page it redirects back to."""
    token = csrf_token(client, "/work")
    response = client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"]).text


def card(page: str, item_id: int) -> str:
    found = re.search(
        rf'<article class="work-card ([a-z-]+)" aria-labelledby="card-{item_id}"', page
    )
    assert found is not None, page
    return found.group(1)


def test_queue_shows_a_new_item_with_its_sla_class(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor, title="Pump housing")

    page = client.get("/work").text

    assert card(page, item.id) == "sla-ok"
    assert "Pump housing" in page
    assert "due in 2h 00m" in page or "due in 1h 59m" in page
    assert 'hx-trigger="every 30s"' in page


def test_queue_marks_an_item_past_its_stage_sla_as_late(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor, at=utcnow() - timedelta(hours=3))

    page = client.get("/work?late=1").text

    assert card(page, item.id) == "sla-late"
    assert "late by 1h" in page


def test_queue_list_fragment_is_the_list_without_the_layout(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor)

    fragment = client.get("/work/list", headers={"HX-Request": "true"}).text

    assert "<html" not in fragment
    assert card(fragment, item.id) == "sla-ok"


def test_queue_per_line_groups_cards_under_their_line(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    new_item(system, floor)

    page = client.get("/work?view=line").text

    assert re.search(r'<h2 class="work-column-title" id="group-line-\d+">L1 · Line 1', page)


def test_creating_an_item_through_the_form_opens_it(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    form = client.get("/work/new?process=assembly").text
    assert 'name="fields.order_ref"' in form

    page = post(
        client,
        "/work/new",
        {
            "process": "assembly",
            "line_id": str(floor.line.id),
            "title": "Gearbox",
            "product": "GB-7",
            "quantity": "3",
            "priority": "high",
            "fields.customer": "Initech",
            "fields.order_ref": "SO-00042",
            "fields.rush": "true",
        },
    )

    created = queries.list_items(system).items
    assert [(i.title, i.quantity, i.priority) for i in created] == [("Gearbox", 3, "high")]
    assert created[0].fields == {"customer": "Initech", "order_ref": "SO-00042", "rush": True}
    assert f"Created work item #{created[0].id} at Intake." in page


def test_a_bad_order_ref_is_shown_next_to_its_field_and_creates_nothing(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    response = client.post(
        "/work/new",
        data={
            "process": "assembly",
            "line_id": str(floor.line.id),
            "title": "Gearbox",
            "fields.customer": "Initech",
            "fields.order_ref": "12345",
            "csrf_token": csrf_token(client, "/work/new?process=assembly"),
        },
    )

    assert response.status_code == 422
    assert re.search(
        r'<p class="field-error" id="new-order_ref-error">must match the pattern [^<]+</p>',
        response.text,
    )
    assert 'value="Initech"' in response.text
    assert queries.list_items(system).items == []


def test_moving_through_the_form_moves_the_item(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor)

    page = post(client, f"/work/{item.id}/move", {"to": "plan", "version": str(item.version)})

    assert queries.item_record(system, item.id).item.stage == "plan"
    assert f"Moved #{item.id} to Plan." in page
    assert "moved Intake → Plan" in page


def test_a_stale_move_shows_the_conflict_and_moves_nothing(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor)
    moved = move(system, item, "plan")

    page = post(client, f"/work/{item.id}/move", {"to": "kit", "version": str(item.version)})

    assert 'class="flash flash-error"' in page
    assert (
        f"Not moved: work item {item.id} is at version {moved.version}, not {item.version}" in page
    )
    assert queries.item_record(system, item.id).item.stage == "plan"


def test_a_move_the_role_may_not_make_is_refused_on_the_item_page(
    client: TestClient, system: Context, floor: Floor
) -> None:
    item = new_item(system, floor)
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")

    page = post(client, f"/work/{item.id}/move", {"to": "plan", "version": str(item.version)})

    assert "Not moved: otto may not move items from Intake" in page
    assert queries.item_record(system, item.id).item.stage == "intake"


def test_a_failed_checklist_sends_the_item_to_rework(
    client: TestClient, system: Context, floor: Floor
) -> None:
    item = move(system, new_item(system, floor), "plan", "kit", "assemble", "inspect")
    make_user(system, "quinn", Role.QUALITY)
    sign_in(client, "quinn")
    assert 'name="value.torque"' in client.get(f"/work/{item.id}").text

    page = post(
        client,
        f"/work/{item.id}/checklist",
        {
            "check.visual": "pass",
            "check.torque": "pass",
            "value.torque": "14.2",
            "check.leak": "pass",
        },
    )

    assert queries.item_record(system, item.id).item.stage == "rework"
    assert f"Checklist failed: Main bolt torque; #{item.id} went to Rework." in page
    assert "checklist failed: torque" in page


def test_pause_and_resume_through_the_forms(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor)

    paused = post(
        client,
        f"/work/{item.id}/pause",
        {"state": "waiting_parts", "reason": "gasket on order", "version": str(item.version)},
    )
    record = queries.item_record(system, item.id)
    resumed = post(client, f"/work/{item.id}/resume", {"version": str(record.item.version)})

    assert record.item.status == "paused"
    assert "paused: waiting for parts" in paused
    assert "gasket on order" in paused
    assert queries.item_record(system, item.id).item.status == "open"
    assert "its SLA clocks run again" in resumed


def test_my_work_lists_the_item_assigned_to_an_operator(
    client: TestClient, system: Context, floor: Floor
) -> None:
    otto = make_user(system, "otto", Role.OPERATOR)
    item = move(system, new_item(system, floor, title="Valve body"), "plan", "kit")
    items.assign_item(system, item.id, ItemAssign(assignee_id=otto.id, version=item.version))
    new_item(system, floor, title="Still at intake")
    sign_in(client, "otto")

    page = client.get("/work/mine").text
    assigned, owned = page.split('id="owned-heading"')

    assert "Valve body" in assigned
    assert "Valve body" not in owned
    assert f'href="/work/{item.id}">Open #{item.id}' in assigned
    assert "Still at intake" not in page  # intake belongs to supervisors


def test_my_work_offers_unassigned_items_in_stages_my_role_owns(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    item = move(system, new_item(system, floor, title="Valve body"), "plan", "kit")
    sign_in(client, "otto")

    page = client.get("/work/mine").text
    assigned, owned = page.split('id="owned-heading"')

    assert "Nothing is assigned to you." in assigned
    assert f"Open #{item.id}" in owned


def test_a_work_form_without_its_csrf_token_is_refused(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor)

    response = client.post(
        f"/work/{item.id}/move", data={"to": "plan", "version": str(item.version)}
    )

    assert response.status_code == 403
    assert "security token" in response.text
    assert queries.item_record(system, item.id).item.stage == "intake"


def test_an_item_title_is_escaped_on_the_queue_and_item_pages(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor, title=XSS)

    pages = [client.get("/work").text, client.get(f"/work/{item.id}").text]

    for page in pages:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert XSS not in page


def test_the_queue_refresh_reloads_the_page_once_the_session_is_gone(
    client: TestClient,
) -> None:
    response = client.get("/work/list", headers={"HX-Request": "true"}, follow_redirects=False)

    assert response.status_code == 204
    assert response.headers["HX-Refresh"] == "true"


def test_a_finished_item_shows_its_history_and_no_move_or_pause(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = finish(system, floor)

    page = client.get(f"/work/{item.id}").text

    assert "finished at Ship" in page
    assert f'action="/work/{item.id}/move"' not in page
    assert f'action="/work/{item.id}/pause"' not in page
    assert "The item is finished." in page


def test_raising_an_exception_through_the_form_records_it_on_the_item(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor)

    page = post(
        client,
        f"/work/{item.id}/exception",
        {"category": "material", "severity": "", "description": "Out of M8 bolts"},
    )

    raised = queries.item_record(system, item.id).exceptions
    assert [(x.category, x.severity, x.description) for x in raised] == [
        ("material", "medium", "Out of M8 bolts")
    ]
    assert f"Raised exception #{raised[0].id} (medium)." in page
    assert "Material shortage (medium)" in page


def test_a_supervisor_escalates_and_a_manager_acknowledges_through_the_forms(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor)
    make_user(system, "olga", Role.OPS_MANAGER)

    sent = post(client, f"/work/{item.id}/escalate", {"tier": "2", "reason": "customer waiting"})
    escalation = queries.item_record(system, item.id).escalations
    fired = next(e for e in escalation if e.status == "fired")
    sign_in(client, "olga")
    acknowledged = post(
        client, f"/work/{item.id}/escalations/{fired.id}/acknowledge", {"note": "on it"}
    )

    assert "Escalated to Operations manager (tier 2)." in sent
    assert "escalated to Operations manager (tier 2)" in sent
    assert "Acknowledged the escalation to Operations manager." in acknowledged
    assert "Escalated, waiting for acknowledgement" not in acknowledged
    statuses = {e.id: e.status for e in queries.item_record(system, item.id).escalations}
    assert statuses[fired.id] == "acknowledged"


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_a_photo_attached_through_the_form_can_be_opened(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor)
    token = csrf_token(client, f"/work/{item.id}")

    response = client.post(
        f"/work/{item.id}/attachments",
        data={"csrf_token": token},
        files={"file": ("../scratch on cover.png", PNG, "application/octet-stream")},
        follow_redirects=False,
    )
    page = client.get(response.headers["location"]).text
    attachment = queries.item_record(system, item.id).attachments[0]
    opened = client.get(f"/work/attachments/{attachment.id}")

    assert "Attached scratch on cover.png." in page
    assert "attached scratch on cover.png" in page
    assert (opened.content, opened.headers["content-type"]) == (PNG, "image/png")
    assert "sandbox" in opened.headers["content-security-policy"]


def test_a_file_of_a_refused_type_is_not_attached(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor)
    token = csrf_token(client, f"/work/{item.id}")

    response = client.post(
        f"/work/{item.id}/attachments",
        data={"csrf_token": token},
        files={"file": ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00", "image/png")},
        follow_redirects=False,
    )
    page = client.get(response.headers["location"]).text

    assert "Not attached: file: the content is not an allowed type" in page
    assert queries.item_record(system, item.id).attachments == []


def finish(system: Context, floor: Floor, created_hours_ago: float = 0) -> WorkItem:
    """A new item walked from intake to ship now, its inspection checklist passed."""
    created = new_item(system, floor, at=utcnow() - timedelta(hours=created_hours_ago))
    item = move(system, created, "plan", "kit", "assemble", "inspect")
    passing = [
        CheckResultIn(key="visual", passed=True),
        CheckResultIn(key="torque", passed=True, value=11.0),
        CheckResultIn(key="leak", passed=True),
    ]
    checks.record_checklist(system, item.id, ChecklistRecord(results=passing))
    return move(system, queries.item_record(system, item.id).item, "pack", "ship")


def test_a_finished_items_end_to_end_clock_shows_its_final_figures(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = finish(system, floor, created_hours_ago=3)

    page = client.get(f"/work/{item.id}").text

    clocks = page[page.index('id="clocks-heading"') : page.index('id="actions-heading"')]
    assert "due in" not in clocks
    assert '<span class="sla-badge sla-ok">met, 37h 00m to spare</span>' in clocks
    assert "<dt>Used</dt><dd>3h 00m</dd>" in clocks
    assert "<dt>Result</dt><dd><strong>Met, 37h 00m to spare</strong></dd>" in clocks
    assert "<dt>Finished</dt>" in clocks
    assert "<dt>Remaining</dt>" not in clocks


STOPPED_AT = datetime(2026, 1, 15, 14, 30, tzinfo=UTC)  # 08:30 in Chicago, the display zone


def test_an_item_on_a_stopped_line_shows_why_instead_of_move_buttons(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor)
    line_stops.pull_cord(system, floor.line.id, "guard door open", at=STOPPED_AT)

    page = client.get(f"/work/{item.id}").text

    assert f'action="/work/{item.id}/move"' not in page
    assert "Line L1 is stopped</strong> (since 2026-01-15 08:30 CST): guard door open" in page
    assert f'href="/board/lines/{floor.line.id}"' in page
    assert f'action="/work/{item.id}/pause"' in page  # holding an item is still allowed


def test_a_move_posted_after_the_line_stopped_says_so_in_local_time(
    client: TestClient, system: Context, floor: Floor, lead: None
) -> None:
    item = new_item(system, floor)
    line_stops.pull_cord(system, floor.line.id, "guard door open", at=STOPPED_AT)

    page = post(client, f"/work/{item.id}/move", {"to": "plan", "version": str(item.version)})

    assert "Not moved: the line is stopped (since 2026-01-15 08:30 CST); nothing moves" in page
    assert "UTC" not in page
    assert queries.item_record(system, item.id).item.stage == "intake"
