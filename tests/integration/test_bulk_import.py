"""Bulk import of work items from CSV: all rows, or none and every bad row named."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from andon.core.errors import InvalidInput, PermissionDenied
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.schemas import AreaCreate, LineCreate
from andon.work import bulk
from andon.work.models import WorkItem
from tests.factories import Floor, bearer, make_floor, make_user

HEADER = "process,line,title,product,quantity,priority,assignee,customer,fields.order_ref\n"
GOOD = "assembly,L1,Pump housing,PH-100,2,high,,Globex,SO-12345\n"


@pytest.fixture
def floor(system: Context) -> Floor:
    return make_floor(system, shifts=False)


def count_items(system: Context) -> int:
    with system.read() as session:
        return session.scalar(select(func.count()).select_from(WorkItem)) or 0


def test_all_good_rows_are_created_in_order(system: Context, floor: Floor) -> None:
    make_user(system, "olive", Role.OPERATOR)
    text = HEADER + GOOD + "assembly,l1,Valve,,,,olive,Initech,SO-54321\n"

    report = bulk.import_items(system, text)

    assert report.rejected == []
    assert len(report.created_ids) == 2
    with system.read() as session:
        made = session.scalars(select(WorkItem).order_by(WorkItem.id)).all()
    assert [(i.title, i.quantity, i.priority) for i in made] == [
        ("Pump housing", 2, "high"),
        ("Valve", 1, "normal"),
    ]
    assert made[0].fields == {"customer": "Globex", "order_ref": "SO-12345"}
    assert made[1].assignee_id is not None


def test_one_bad_row_refuses_the_whole_file_and_names_every_reason(
    system: Context, floor: Floor
) -> None:
    text = HEADER + GOOD + "assembly,L9,Bad,,many,,ghost,,SO-1\n" + GOOD

    report = bulk.import_items(system, text)

    assert report.created_ids == []
    assert [r.line for r in report.rejected] == [3]
    errors = report.rejected[0].errors
    assert "line: no line 'L9'" in errors
    assert "assignee: no active user 'ghost'" in errors
    assert any(e.startswith("quantity:") for e in errors)
    assert "customer: is required" in errors
    assert any(e.startswith("fields.order_ref: must match") for e in errors)
    assert report.rejected[0].raw["title"] == "Bad"
    assert count_items(system) == 0


def test_a_byte_order_mark_is_tolerated_and_formulas_stay_plain_text(
    system: Context, floor: Floor
) -> None:
    text = "\ufeff" + HEADER + 'assembly,L1,"=HYPERLINK(""http://x"")",,,,,Globex,SO-12345\n'

    report = bulk.import_items(system, text)

    with system.read() as session:
        item = session.get(WorkItem, report.created_ids[0])
        assert item is not None
        assert item.title == '=HYPERLINK("http://x")'


def test_a_line_code_used_in_two_areas_needs_its_area(system: Context, floor: Floor) -> None:
    paint = plant.create_area(system, AreaCreate(site_id=floor.site.id, name="Paint", code="PNT"))
    plant.create_line(system, LineCreate(area_id=paint.id, name="Paint 1", code="L1"))
    ambiguous = HEADER + GOOD
    exact = HEADER + GOOD.replace(",L1,", ",PNT/L1,") + GOOD.replace(",L1,", ",CHI/ASM/L1,")

    refused = bulk.import_items(system, ambiguous)
    accepted = bulk.import_items(system, exact)

    assert "write AREA/LINE" in refused.rejected[0].errors[0]
    assert "ASM/L1" in refused.rejected[0].errors[0]
    assert len(accepted.created_ids) == 2


def test_rows_are_numbered_by_their_first_line_in_the_file(system: Context, floor: Floor) -> None:
    text = HEADER + 'assembly,L1,"two\nlines",,,,,Globex,SO-12345\n' + "\n" + "nope,L1\n"

    report = bulk.import_items(system, text)

    assert [(r.line, r.errors) for r in report.rejected] == [(5, ["process: no process 'nope'"])]


def test_extra_cells_are_a_reason(system: Context, floor: Floor) -> None:
    report = bulk.import_items(system, HEADER + GOOD.rstrip("\n") + ",surprise\n")

    assert report.rejected[0].errors == ["10 cells, but the header has 9"]
    assert report.rejected[0].raw[bulk.EXTRA_CELLS] == "surprise"


def test_a_stopped_line_takes_no_imports(system: Context, floor: Floor) -> None:
    from andon.work import line_stops

    line_stops.pull_cord(system, floor.line.id, "smoke")

    report = bulk.import_items(system, HEADER + GOOD)

    assert report.rejected[0].errors == ["line: line 'L1' is stopped; nothing may start on it"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "no header row"),
        ("title,product\nx,y\n", "'process' is missing"),
        ("process,line,title,Title\n", "repeats column"),
        (HEADER, "no rows"),
        (HEADER + "assembly,L1,a\x00b\n", "NUL"),
    ],
)
def test_a_broken_file_is_refused_as_a_whole(
    system: Context, floor: Floor, text: str, expected: str
) -> None:
    with pytest.raises(InvalidInput, match=expected):
        bulk.import_items(system, text)


def test_more_rows_than_the_limit_are_refused(
    system: Context, floor: Floor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "MAX_ROWS", 3)

    with pytest.raises(InvalidInput, match="more than 3 rows"):
        bulk.import_items(system, HEADER + GOOD * 4)
    assert len(bulk.import_items(system, HEADER + GOOD * 3).created_ids) == 3


def test_someone_who_may_not_open_items_is_refused(system: Context, floor: Floor) -> None:
    viewer = make_user(system, "vic", Role.VIEWER)
    from andon.core.permissions import Actor, Grant

    ctx = Context(system.db, Actor(viewer.id, "vic", (Grant(Role.VIEWER),)))

    with pytest.raises(PermissionDenied):
        bulk.import_items(ctx, HEADER + GOOD)


# --- over the API --------------------------------------------------------------------------

CSV = {"content-type": "text/csv"}


def test_the_api_imports_a_good_file(client: TestClient, system: Context, floor: Floor) -> None:
    auth = bearer(system, "sue", Role.SUPERVISOR)

    response = client.post(
        "/api/v1/work-items/import", content=HEADER + GOOD * 3, headers={**auth, **CSV}
    )

    assert response.status_code == 201
    assert response.json()["created"] == 3
    assert count_items(system) == 3


def test_the_api_refuses_a_file_with_a_bad_row_listing_it(
    client: TestClient, system: Context, floor: Floor
) -> None:
    auth = bearer(system, "sue", Role.SUPERVISOR)
    text = HEADER + GOOD + "assembly,L1,,,0,,,Globex,SO-12345\n"

    response = client.post("/api/v1/work-items/import", content=text, headers={**auth, **CSV})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert [r["line"] for r in problem["rejected"]] == [3]
    assert problem["rejected"][0]["errors"][0].startswith("quantity:")
    assert problem["errors"][0]["loc"] == ["body", 3]
    assert count_items(system) == 0


def test_the_api_wants_csv(client: TestClient, system: Context, floor: Floor) -> None:
    auth = bearer(system, "sue", Role.SUPERVISOR)

    as_json = client.post("/api/v1/work-items/import", json={"rows": []}, headers=auth)
    not_utf8 = client.post(
        "/api/v1/work-items/import", content=b"process,line\n\xff\n", headers={**auth, **CSV}
    )

    assert as_json.status_code == 415
    assert not_utf8.status_code == 422
    assert not_utf8.json()["errors"][0]["loc"] == ["body"]
