"""SOP on the floor: move events record the revision in force and whether the mover read it;
a stage with ``require_training`` refuses an untrained mover. On SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from andon.accounts.service import actor_for
from andon.core.audit import AuditEntry
from andon.core.clock import utcnow
from andon.core.errors import PermissionDenied
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.demo.document_files import demo_change_texts, demo_document_texts
from andon.documents import service, signoffs
from andon.documents.floor import sop_state
from andon.processes.spec import Stage
from andon.work import items
from andon.work.models import WorkEvent, WorkItem
from andon.work.schemas import ItemMove
from tests.factories import PASSWORD, Floor, assembly_spec, make_floor, make_user, new_item
from tests.integration.test_web_pages import sign_in

ASM = "SOP-ASM-001"


@dataclass
class Plant:
    floor: Floor
    supervisor: Context
    operator: Context
    quality: Context
    operator_id: int


def _stages(require_training: bool) -> list[dict[str, Any]]:
    stages: list[dict[str, Any]] = assembly_spec()["stages"]
    for stage in stages:
        if stage["key"] == "assemble":
            stage["require_training"] = require_training
    return stages


def _plant(system: Context, require_training: bool) -> Plant:
    floor = make_floor(system, stages=_stages(require_training))

    def ctx(username: str, *roles: Role, **scope: int) -> tuple[Context, int]:
        user = make_user(system, username, *roles, **scope)
        return system.as_actor(actor_for(user)), user.id

    supervisor, _ = ctx("supervisor", Role.SUPERVISOR)
    quality, _ = ctx("quality", Role.QUALITY)
    operator, operator_id = ctx("op", Role.OPERATOR, site_id=floor.site.id, area_id=floor.area.id)
    return Plant(floor, supervisor, operator, quality, operator_id)


def _effective_asm(plant: Plant) -> None:
    service.import_markdown(plant.supervisor, dict(demo_document_texts())[ASM])
    service.submit(plant.supervisor, ASM)
    assert service.approve(plant.quality, ASM, PASSWORD).status == "effective"


def _to_assemble(plant: Plant) -> WorkItem:
    # Moves are recorded after everything the test signed: the revision in force and the
    # acknowledgements are read as of the move's instant.
    start = utcnow() + timedelta(minutes=1)
    item = new_item(plant.supervisor, plant.floor, at=start)
    for i, (who, stage) in enumerate(
        [(plant.supervisor, "plan"), (plant.supervisor, "kit"), (plant.operator, "assemble")], 1
    ):
        item = items.move_item(who, item.id, ItemMove(to=stage, version=item.version), at=_later(i))
    return item


def _later(minutes: float) -> datetime:
    return utcnow() + timedelta(minutes=minutes)


def _leave_assemble(plant: Plant, item: WorkItem) -> WorkItem:
    return items.move_item(
        plant.operator,
        item.id,
        ItemMove(to="inspect", version=item.version),
        at=_later(30),
    )


def _moves(system: Context, item_id: int) -> list[dict[str, Any]]:
    with system.read() as session:
        rows = session.scalars(
            select(WorkEvent)
            .where(WorkEvent.case_id == item_id, WorkEvent.kind == "moved")
            .order_by(WorkEvent.id)
        )
        return [dict(row.attributes) for row in rows]


def _count(system: Context, model: type[Any]) -> int:
    with system.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_move_event_records_the_revision_in_force_and_an_untrained_mover(
    system: Context,
) -> None:
    plant = _plant(system, require_training=False)
    _effective_asm(plant)
    item = _leave_assemble(plant, _to_assemble(plant))
    moved = _moves(system, item.id)
    intake_move, plan_move, kit_move, assemble_move = moved
    assert "sop" not in intake_move
    assert "sop" not in plan_move
    # SOP-KIT-001 was never loaded: named, but nothing in force and no mark.
    assert kit_move["sop"] == "SOP-KIT-001"
    assert kit_move["sop_effective"] is False
    assert "sop_revision" not in kit_move
    assert "untrained" not in kit_move
    assert (assemble_move["sop"], assemble_move["sop_revision"]) == (ASM, 1)
    assert assemble_move["untrained"] is True


def test_acknowledged_operator_moves_without_the_mark(system: Context) -> None:
    plant = _plant(system, require_training=True)
    _effective_asm(plant)
    signoffs.acknowledge(plant.operator, ASM, PASSWORD)
    with system.read() as session:
        assert sop_state(session, ASM, plant.operator_id) == (1, True)
    item = _leave_assemble(plant, _to_assemble(plant))
    assert item.stage == "inspect"
    last = _moves(system, item.id)[-1]
    assert (last["sop"], last["sop_revision"]) == (ASM, 1)
    assert "untrained" not in last


def test_required_training_refuses_an_untrained_mover_and_writes_nothing(
    system: Context,
) -> None:
    plant = _plant(system, require_training=True)
    _effective_asm(plant)
    item = _to_assemble(plant)
    events, audits = _count(system, WorkEvent), _count(system, AuditEntry)
    with pytest.raises(PermissionDenied) as refused:
        _leave_assemble(plant, item)
    assert "SOP-ASM-001 revision 1" in refused.value.detail
    assert "acknowledge" in refused.value.detail
    assert (_count(system, WorkEvent), _count(system, AuditEntry)) == (events, audits)
    with system.read() as session:
        stored = session.get(WorkItem, item.id)
        assert stored is not None
        assert (stored.stage, stored.version) == ("assemble", item.version)


def test_required_training_without_an_effective_revision_lets_the_move_through(
    system: Context,
) -> None:
    plant = _plant(system, require_training=True)
    item = _leave_assemble(plant, _to_assemble(plant))
    last = _moves(system, item.id)[-1]
    assert (last["sop"], last["sop_effective"]) == (ASM, False)
    assert "untrained" not in last


def test_a_new_revision_needs_a_new_acknowledgement(system: Context) -> None:
    plant = _plant(system, require_training=False)
    _effective_asm(plant)
    signoffs.acknowledge(plant.operator, ASM, PASSWORD)
    service.import_markdown(plant.supervisor, dict(demo_change_texts())[ASM])
    service.submit(plant.supervisor, ASM)
    assert service.approve(plant.quality, ASM, PASSWORD).status == "effective"
    item = _leave_assemble(plant, _to_assemble(plant))
    last = _moves(system, item.id)[-1]
    assert (last["sop_revision"], last["untrained"]) == (2, True)


def test_require_training_needs_an_sop_slot() -> None:
    with pytest.raises(ValueError, match="require_training needs an sop"):
        Stage.model_validate(
            {"key": "pack", "name": "Pack", "owner_role": "operator", "require_training": True}
        )


def test_item_page_links_the_stage_sop_and_marks_it_unread(
    client: TestClient, system: Context
) -> None:
    plant = _plant(system, require_training=True)
    _effective_asm(plant)
    item = _to_assemble(plant)
    sign_in(client, "op")
    page = client.get(f"/work/{item.id}").text
    assert f'href="/documents/{ASM}"' in page
    assert "revision 1" in page
    assert "not acknowledged by you" in page
    signoffs.acknowledge(plant.operator, ASM, PASSWORD)
    page = client.get(f"/work/{item.id}").text
    assert f'href="/documents/{ASM}"' in page
    assert "not acknowledged by you" not in page
    process_page = client.get("/processes/assembly").text
    assert 'href="/documents/SOP-KIT-001"' in process_page


def test_a_move_recorded_before_a_revision_took_effect_gets_the_one_in_force_then(
    system: Context,
) -> None:
    plant = _plant(system, require_training=False)
    _effective_asm(plant)
    item = _to_assemble(plant)
    before_it = utcnow() - timedelta(days=3)
    with system.read() as session:
        assert sop_state(session, ASM, plant.operator_id, at=before_it) == (None, False)
        assert sop_state(session, ASM, plant.operator_id) == (1, False)
    assert item.stage == "assemble"
