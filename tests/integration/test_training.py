"""The training matrix, due tasks, XLSX export and adoption curves, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from andon.accounts.service import actor_for
from andon.core.errors import PermissionDenied
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.documents.rules import DocumentRules
from andon.training.adoption import change_adoption
from andon.training.due import DueFilter, due_tasks, my_tasks
from andon.training.export import SHEET, header, matrix_xlsx_bytes
from andon.training.matrix import MatrixFilter, training_matrix
from andon.work.models import WorkEvent, WorkItem
from tests.factories import make_floor, make_user, new_item
from tests.integration.training_plant import EFFECTIVE_AT, NOW, TrainingPlant, build_training_plant


@pytest.fixture
def plant(system: Context) -> TrainingPlant:
    return build_training_plant(system)


def test_matrix_states_cover_current_carried_due_overdue_and_not_required(
    system: Context, plant: TrainingPlant
) -> None:
    matrix = training_matrix(system, now=NOW)
    assert [p.username for p in matrix.people] == ["op1", "op2", "op3", "sup"]
    assert [d.number for d in matrix.documents] == ["SOP-ASM-001", "SOP-GEN-001", "SOP-PCK-001"]
    assert [d.revision for d in matrix.documents] == [2, 1, 1]
    assert matrix.rows == ["c--", "d--", "--c", "o--"]
    assert matrix.state(3, 0) == "overdue"
    assert matrix.counts == {"current": 2, "due": 1, "overdue": 1, "not_required": 8}


def test_overdue_is_judged_on_the_plants_calendar_day(
    system: Context, plant: TrainingPlant
) -> None:
    # 03:00 UTC on 10 March is still 9 March in Chicago: sup's task due on the 9th is not late.
    early = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    chicago = DocumentRules(zone=ZoneInfo("America/Chicago"))
    assert training_matrix(system, now=early).rows[3][0] == "o"
    assert training_matrix(system, rules=chicago, now=early).rows[3][0] == "d"


def test_line_filter_keeps_people_and_documents_of_the_line(
    system: Context, plant: TrainingPlant
) -> None:
    matrix = training_matrix(system, MatrixFilter(line_id=plant.line.id), now=NOW)
    assert [p.username for p in matrix.people] == ["op1", "op2", "sup"]
    assert [d.number for d in matrix.documents] == ["SOP-ASM-001", "SOP-GEN-001"]
    packing = training_matrix(system, MatrixFilter(line_id=plant.packing_line.id), now=NOW)
    assert [p.username for p in packing.people] == ["op3", "sup"]
    assert packing.rows == ["-c", "--"]


def test_role_type_and_area_filters(system: Context, plant: TrainingPlant) -> None:
    supervisors = training_matrix(system, MatrixFilter(role="supervisor"), now=NOW)
    assert [p.username for p in supervisors.people] == ["sup"]
    quality = training_matrix(system, MatrixFilter(role="quality"), now=NOW)
    assert [p.username for p in quality.people] == ["qe"]
    assert quality.rows == ["---"]
    assembly = training_matrix(system, MatrixFilter(area="asm"), now=NOW)
    assert [d.number for d in assembly.documents] == ["SOP-ASM-001"]
    assert training_matrix(system, MatrixFilter(type="WI"), now=NOW).documents == []


def test_paged_matrix_counts_every_person(system: Context, plant: TrainingPlant) -> None:
    page = training_matrix(system, MatrixFilter(offset=1, limit=2), now=NOW)
    assert [p.username for p in page.people] == ["op2", "op3"]
    assert page.rows == ["d--", "--c"]
    assert page.total_people == 4
    assert page.counts["overdue"] == 1


def test_an_operator_may_not_read_the_matrix(system: Context, plant: TrainingPlant) -> None:
    operator = system.as_actor(actor_for(make_user(system, "op9", Role.OPERATOR)))
    with pytest.raises(PermissionDenied):
        training_matrix(operator, now=NOW)
    with pytest.raises(PermissionDenied):
        due_tasks(operator, DueFilter(username="op2"), now=NOW)


def test_due_tasks_name_the_revision_acknowledged_before(
    system: Context, plant: TrainingPlant
) -> None:
    tasks = due_tasks(system, now=NOW)
    assert [(t.username, t.number, t.revision, t.previous_revision, t.overdue) for t in tasks] == [
        ("sup", "SOP-ASM-001", 2, None, True),
        ("op2", "SOP-ASM-001", 2, 1, False),
    ]
    late = due_tasks(system, DueFilter(overdue_only=True), now=NOW)
    assert [t.username for t in late] == ["sup"]
    assert [t.username for t in due_tasks(system, DueFilter(role="operator"), now=NOW)] == ["op2"]
    assert due_tasks(system, DueFilter(line_id=plant.packing_line.id), now=NOW) == []


def test_everyone_reads_their_own_tasks(system: Context, plant: TrainingPlant) -> None:
    from sqlalchemy import select

    from andon.accounts.models import User

    with system.read() as session:
        op2 = session.scalar(select(User).where(User.username == "op2"))
        assert op2 is not None
        ctx = system.as_actor(actor_for(op2))
    (task,) = my_tasks(ctx, now=NOW)
    assert (task.number, task.previous_revision, task.due_on.isoformat()) == (
        "SOP-ASM-001",
        1,
        "2026-03-15",
    )


def test_xlsx_matches_the_matrix_cell_for_cell(system: Context, plant: TrainingPlant) -> None:
    matrix = training_matrix(system, now=NOW)
    book = openpyxl.load_workbook(BytesIO(matrix_xlsx_bytes(matrix)))
    sheet = book[SHEET]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == ["Username", "Name"] + [
        header(d.number, d.revision, d.title) for d in matrix.documents
    ]
    assert len(values) == 1 + len(matrix.people)
    for i, person in enumerate(matrix.people):
        assert values[i + 1][:2] == [person.username, person.name]
        expected = [matrix.state(i, j).replace("_", " ") for j in range(len(matrix.documents))]
        assert values[i + 1][2:] == expected
    # A title that looks like a formula stays text.
    cell = sheet.cell(row=1, column=4)
    assert cell.data_type == "s"
    assert str(cell.value).startswith("SOP-GEN-001")
    assert [r[0] for r in book["Legend"].iter_rows(min_row=2, max_row=5, values_only=True)] == [
        "current",
        "due",
        "overdue",
        "not required",
    ]


def test_adoption_curves_from_tasks_and_move_events(system: Context) -> None:
    floor = make_floor(system)
    build_training_plant(system, floor)
    item = new_item(system, floor)
    moves = [
        # day 0: one move under the old revision, one untrained
        (EFFECTIVE_AT + timedelta(hours=1), 1, False),
        (EFFECTIVE_AT + timedelta(hours=2), 2, True),
        # day 1: both trained, under revision 2; one of another document does not count
        (EFFECTIVE_AT + timedelta(days=1, hours=1), 2, False),
        (EFFECTIVE_AT + timedelta(days=1, hours=2), 2, None),
        # before it took effect: not counted
        (EFFECTIVE_AT - timedelta(hours=1), 1, None),
    ]
    with system.write() as tx:
        for at, revision, untrained in moves:
            attributes: dict[str, object] = {
                "from": "assembly",
                "to": "test",
                "sop": "SOP-ASM-001",
                "sop_revision": revision,
            }
            if untrained is not None:
                attributes["untrained"] = untrained
            tx.session.add(_moved(item, at, attributes))
        tx.session.add(
            _moved(
                item,
                EFFECTIVE_AT + timedelta(days=1),
                {"from": "kit", "sop": "SOP-KIT-001", "sop_revision": 2, "untrained": True},
            )
        )
    result = change_adoption(system, "SOP-ASM-001", now=EFFECTIVE_AT + timedelta(days=3, hours=1))
    assert (result.revision, result.people) == (2, 3)
    assert result.stages == ["assembly"]
    days = result.days
    assert len(days) == 4
    # op1 acknowledged on day 1 (2 March 09:00); op2 and sup never.
    assert [d.acknowledged for d in days] == [0, 1, 1, 1]
    assert days[1].acknowledged_share == pytest.approx(1 / 3, abs=1e-4)
    assert [(d.executions, d.trained_executions) for d in days] == [(2, 0), (2, 2), (0, 0), (0, 0)]
    assert [d.trained_share for d in days] == [0.0, 1.0, None, None]


def _moved(item: WorkItem, at: datetime, attributes: dict[str, object]) -> WorkEvent:
    return WorkEvent(
        case_id=item.id,
        process_key="assembly",
        activity=str(attributes.get("to", "x")),
        lifecycle="start",
        kind="moved",
        timestamp=at,
        resource="op1",
        attributes=attributes,
    )
