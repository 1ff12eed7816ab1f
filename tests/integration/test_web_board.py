"""The andon board pages: tiles, pulling the cord, restart sign-offs, stop rules, following."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from andon.core.permissions import Role
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.schemas import LineUpdate
from andon.work import line_stops
from andon.work.models import LineSubscription
from tests.factories import Floor, make_floor, make_user
from tests.integration.test_web_pages import csrf_token, sign_in


@pytest.fixture
def floor(system: Context) -> Floor:
    return make_floor(system)


def status_of(system: Context, floor: Floor) -> str:
    row = next(r for r in line_stops.board(system) if r.line.id == floor.line.id)
    return row.status


def stop(client: TestClient, floor: Floor, reason: str = "guard door open") -> None:
    path = f"/board/lines/{floor.line.id}"
    response = client.post(
        f"{path}/stop",
        data={"reason": reason, "csrf_token": csrf_token(client, path)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_board_shows_every_line_as_running(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    page = client.get("/board").text
    assert 'hx-get="/board/tiles"' in page
    assert 'hx-trigger="every 5s"' in page
    assert '<p class="board-status">RUNNING</p>' in page
    assert "The only line is running" in page


def test_pulling_the_cord_shows_stopped_on_the_tiles_fragment(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    stop(client, floor)
    tiles = client.get("/board/tiles", headers={"HX-Request": "true"})
    assert tiles.status_code == 200
    assert "<html" not in tiles.text
    assert '<p class="board-status">STOPPED</p>' in tiles.text
    assert "guard door open" in tiles.text
    assert "Cord pulled by otto" in tiles.text
    assert "1 of 1 line stopped" in tiles.text
    assert status_of(system, floor) == "stopped"


def test_a_missing_reason_is_shown_next_to_the_field_and_nothing_stops(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    path = f"/board/lines/{floor.line.id}"
    response = client.post(
        f"{path}/stop", data={"reason": "  ", "csrf_token": csrf_token(client, path)}
    )
    assert response.status_code == 422
    assert 'id="stop-reason-error"' in response.text
    assert status_of(system, floor) == "running"


def test_sign_offs_by_a_supervisor_and_quality_restart_the_line(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    make_user(system, "sam", Role.SUPERVISOR)
    make_user(system, "quinn", Role.QUALITY)
    sign_in(client, "otto")
    stop(client, floor)
    path = f"/board/lines/{floor.line.id}"

    sign_in(client, "sam")
    first = client.post(
        f"{path}/signoff",
        data={"reason": "guard closed", "csrf_token": csrf_token(client, path)},
    )
    assert "it restarts after the second one" in first.text
    assert "✓ sam" in client.get("/board/tiles").text
    assert status_of(system, floor) == "stopped"

    sign_in(client, "quinn")
    second = client.post(
        f"{path}/signoff",
        data={"reason": "parts inspected", "csrf_token": csrf_token(client, path)},
    )
    assert "is RUNNING again" in second.text
    assert status_of(system, floor) == "running"
    assert "guard closed; parts inspected" in second.text  # the stop history


def test_one_person_cannot_give_both_sign_offs(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "sam", Role.SUPERVISOR, Role.QUALITY)
    sign_in(client, "sam")
    stop(client, floor)
    path = f"/board/lines/{floor.line.id}"
    token = csrf_token(client, path)
    client.post(
        f"{path}/signoff", data={"reason": "ok", "as_role": "supervisor", "csrf_token": token}
    )
    again = client.post(
        f"{path}/signoff", data={"reason": "ok", "as_role": "quality", "csrf_token": token}
    )
    assert again.status_code == 409
    assert "two different people" in again.text
    assert status_of(system, floor) == "stopped"


def test_a_viewer_sees_no_cord_and_cannot_stop_the_line(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "vic", Role.VIEWER)
    sign_in(client, "vic")
    path = f"/board/lines/{floor.line.id}"
    page = client.get(path).text
    assert f'action="{path}/stop"' not in page
    response = client.post(
        f"{path}/stop", data={"reason": "just looking", "csrf_token": csrf_token(client, path)}
    )
    assert response.status_code == 403
    assert "vic may not line.stop" in response.text
    assert status_of(system, floor) == "running"


def test_stop_without_csrf_token_is_refused(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    response = client.post(f"/board/lines/{floor.line.id}/stop", data={"reason": "forged"})
    assert response.status_code == 403
    assert status_of(system, floor) == "running"


def test_a_stop_rule_added_on_the_page_stops_the_line_on_a_matching_exception(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "sofia", Role.SAFETY)
    sign_in(client, "sofia")
    path = f"/board/lines/{floor.line.id}"
    added = client.post(
        f"{path}/rules",
        data={
            "name": "Stop on safety",
            "kind": "exception",
            "category": "safety",
            "csrf_token": csrf_token(client, path),
        },
    )
    assert "Added stop rule “Stop on safety”." in added.text
    assert "an exception is raised in category Safety" in added.text
    raised = client.post(
        "/exceptions",
        data={
            "line_id": str(floor.line.id),
            "category": "safety",
            "description": "oil on the walkway",
            "csrf_token": csrf_token(client, "/exceptions"),
        },
    )
    assert "stopped by rule “Stop on safety”" in raised.text
    assert status_of(system, floor) == "stopped"


def test_a_rule_needs_its_kind_of_limits(client: TestClient, system: Context, floor: Floor) -> None:
    make_user(system, "sofia", Role.SAFETY)
    sign_in(client, "sofia")
    path = f"/board/lines/{floor.line.id}"
    response = client.post(
        f"{path}/rules",
        data={"name": "Checks", "kind": "failed_checks", "csrf_token": csrf_token(client, path)},
    )
    assert response.status_code == 422
    assert 'id="rule-count-error"' in response.text
    assert line_stops.list_rules(system, floor.line.id) == []


def test_removing_a_rule(client: TestClient, system: Context, floor: Floor) -> None:
    make_user(system, "sofia", Role.SAFETY)
    sign_in(client, "sofia")
    path = f"/board/lines/{floor.line.id}"
    token = csrf_token(client, path)
    client.post(
        f"{path}/rules",
        data={
            "name": "Critical",
            "kind": "exception",
            "min_severity": "critical",
            "csrf_token": token,
        },
    )
    (rule,) = line_stops.list_rules(system, floor.line.id)
    assert rule.min_severity == "critical"
    client.post(f"{path}/rules/{rule.id}/delete", data={"csrf_token": token})
    assert line_stops.list_rules(system, floor.line.id) == []


def test_following_and_unfollowing_a_line(
    client: TestClient, system: Context, floor: Floor
) -> None:
    user = make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    path = f"/board/lines/{floor.line.id}"
    token = csrf_token(client, path)

    def followers() -> list[int]:
        with system.db.read_session() as session:
            return list(
                session.scalars(
                    select(LineSubscription.user_id).where(
                        LineSubscription.line_id == floor.line.id
                    )
                )
            )

    followed = client.post(f"{path}/subscription", data={"subscribed": "true", "csrf_token": token})
    assert "You will be notified when line L1 stops." in followed.text
    assert followers() == [user.id]
    client.post(f"{path}/subscription", data={"subscribed": "false", "csrf_token": token})
    assert followers() == []


def test_a_signed_out_poll_stops_polling_instead_of_showing_the_login_form(
    client: TestClient, system: Context, floor: Floor
) -> None:
    response = client.get("/board/tiles", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 286
    assert "Signed out" in response.text
    assert "board-tile" not in response.text


def test_line_name_is_escaped_on_the_board(
    client: TestClient, system: Context, floor: Floor
) -> None:
    plant.update_line(
        system,
        floor.line.id,
        LineUpdate(version=floor.line.version, name="<script>alert(1)</script>"),
    )
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    for path in ("/board", "/board/tiles", f"/board/lines/{floor.line.id}"):
        page = client.get(path).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert(1)" not in page


def test_the_stop_history_counts_its_stops_in_words(
    client: TestClient, system: Context, floor: Floor
) -> None:
    make_user(system, "otto", Role.OPERATOR)
    sign_in(client, "otto")
    stop(client, floor)

    page = client.get(f"/board/lines/{floor.line.id}").text

    assert "<caption>The only stop of L1</caption>" in page
    assert "The last 1 stops" not in page
