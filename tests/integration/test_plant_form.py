"""The plant's prepared form, refreshed incrementally: after each change its answers equal a
form built from scratch and the events read afresh, and only the changed items are rewritten;
on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from andon.analytics.dataset_store import Dataset, open_log
from andon.analytics.discovery import discover_dfg, discover_variants
from andon.analytics.filters import CaseFilters
from andon.analytics.kpis import compute_kpis
from andon.analytics.plant_form import PlantForm, Refresh
from andon.analytics.prepared import documents
from andon.analytics.report import prepare, variants_json
from andon.core.errors import InvalidInput
from andon.core.permissions import Reach
from andon.core.uow import Context
from andon.plant import service as plant
from andon.plant.schemas import AreaCreate, LineCreate, LineUpdate, SiteCreate
from andon.processes.service import publish
from andon.work import items
from andon.work.models import WorkItem
from andon.work.schemas import ItemMove, ItemUpdate
from tests.factories import Floor, assembly_spec, make_floor, new_item

FILTERS = {
    "none": CaseFilters(),
    "top variant": CaseFilters(top_variants=1),
    "through plan, by cli:test": CaseFilters(
        attributes={"activity": ("Plan",), "resource": ("cli:test",)}
    ),
    "not intake only": CaseFilters(exclude_variants=(("Intake",),)),
}


@dataclass
class Plant:
    floor: Floor
    other_line: int  # a line of another site
    other_site: int


@pytest.fixture
def floor(system: Context) -> Plant:
    floor = make_floor(system, shifts=False)
    publish(system, assembly_spec(key="repair", name="Repair order"), reason="test")
    site = plant.create_site(
        system,
        SiteCreate(
            enterprise_id=floor.site.enterprise_id, name="Dallas", code="DAL", timezone="UTC"
        ),
    )
    area = plant.create_area(system, AreaCreate(site_id=site.id, name="Assembly", code="ASM"))
    line = plant.create_line(system, LineCreate(area_id=area.id, name="Line 9", code="L9"))
    return Plant(floor, line.id, site.id)


def datasets(at: Plant) -> dict[str, Dataset]:
    chicago = Reach(site_ids=frozenset({at.floor.site.id}), area_ids=frozenset())
    dallas_area = Reach(site_ids=frozenset(), area_ids=frozenset({at.floor.area.id}))
    return {
        "plant": Dataset(id="plant", name="", kind="plant"),
        "assembly": Dataset(id="plant-assembly", name="", kind="plant", process="assembly"),
        "repair": Dataset(id="plant-repair", name="", kind="plant", process="repair"),
        "chicago": Dataset(id="plant", name="", kind="plant", reach=chicago),
        "area": Dataset(id="plant", name="", kind="plant", reach=dallas_area),
    }


def from_events(system: Context, dataset: Dataset, filters: CaseFilters) -> dict[str, Any]:
    """What the plant datasets answered before the prepared form: the events read afresh."""
    log = open_log(system, Path("."), dataset)
    ordered = prepare(log, filters=filters)
    dfg = discover_dfg(ordered, performance=True)
    return {
        "dfg": dfg.as_json(),
        "variants": variants_json(discover_variants(ordered)),
        "kpi": compute_kpis(ordered, dfg=dfg).as_json(),
    }


def from_form(form: PlantForm, dataset: Dataset, filters: CaseFilters) -> dict[str, Any]:
    with form.reading(dataset.process, dataset.reach) as prepared:
        return documents(prepared, filters)


def assert_same_answers(system: Context, form: PlantForm, at: Plant) -> None:
    rebuilt = PlantForm()
    try:
        assert rebuilt.refresh(system.db.engine).full
        for name, dataset in datasets(at).items():
            with form.reading(dataset.process, dataset.reach) as prepared:
                if prepared.cases.count().execute() == 0:
                    # Reading the events refuses an empty log (the API's 409).
                    with pytest.raises(InvalidInput, match="no work events"):
                        open_log(system, Path("."), dataset)
                    continue
            for label, filters in FILTERS.items():
                answer = from_form(form, dataset, filters)
                assert answer == from_form(rebuilt, dataset, filters), (name, label)
                assert answer == from_events(system, dataset, filters), (name, label)
    finally:
        rebuilt.close()


def cases(form: PlantForm, at: Plant, filters: CaseFilters) -> int:
    variants = from_form(form, datasets(at)["plant"], filters)["variants"]["variants"]
    return sum(int(v["cases"]) for v in variants)


def refreshed(system: Context, form: PlantForm) -> Refresh:
    return form.refresh(system.db.engine)


def move(system: Context, item: WorkItem, to: str) -> WorkItem:
    return items.move_item(system, item.id, ItemMove(to=to, version=item.version))


def test_each_change_rewrites_only_its_case_and_answers_as_a_rebuild_and_the_events(
    system: Context, floor: Plant
) -> None:
    first = new_item(system, floor.floor)
    second = move(system, new_item(system, floor.floor), "plan")
    new_item(system, floor.floor, process="repair")
    form = PlantForm()
    built = refreshed(system, form)
    assert (built.full, built.cases) == (True, 3)

    changes = {
        "a new case": lambda: new_item(system, floor.floor),
        "an existing case moves": lambda: move(system, first, "plan"),
        "it moves again": lambda: move(system, move(system, second, "kit"), "assemble"),
        "another process": lambda: new_item(system, floor.floor, process="repair"),
        "outside the reach": lambda: new_item(system, floor.floor, line_id=floor.other_line),
    }
    for name, change in changes.items():
        change()
        refresh = refreshed(system, form)
        assert (refresh.full, refresh.cases) == (False, 1), name
        assert_same_answers(system, form, floor)
    assert refreshed(system, form).cases == 0  # nothing new: nothing rewritten


def test_a_tie_between_an_old_and_an_appended_variant_goes_to_the_smaller_sequence(
    system: Context, floor: Plant
) -> None:
    move(system, new_item(system, floor.floor), "plan")  # Intake, Plan: variant 1
    form = PlantForm()
    refreshed(system, form)
    new_item(system, floor.floor)  # Intake: appended as variant 2, but sorts first
    refreshed(system, form)
    dataset = datasets(floor)["plant"]

    top = from_form(form, dataset, CaseFilters(top_variants=1))

    assert [v["activities"] for v in top["variants"]["variants"]] == [["Intake"]]
    assert top == from_events(system, dataset, CaseFilters(top_variants=1))


def variant_counts(form: PlantForm) -> dict[tuple[str, ...], int]:
    with form.reading(None, None) as prepared:
        rows = prepared.variants.select("activities", "cases").to_pyarrow().to_pylist()
    return {tuple(row["activities"]): int(row["cases"]) for row in rows}


def test_a_variant_left_without_cases_is_dropped_and_a_known_one_is_not_appended_again(
    system: Context, floor: Plant
) -> None:
    new_item(system, floor.floor)
    only = move(system, new_item(system, floor.floor), "plan")
    form = PlantForm()
    refreshed(system, form)
    assert variant_counts(form) == {("Intake",): 1, ("Intake", "Plan"): 1}

    move(system, only, "kit")  # its old sequence has no case left
    refreshed(system, form)
    assert variant_counts(form) == {("Intake",): 1, ("Intake", "Plan", "Kit"): 1}
    new_item(system, floor.floor)  # a known sequence: counted, not appended
    refreshed(system, form)

    rebuilt = PlantForm()
    try:
        rebuilt.refresh(system.db.engine)
        assert variant_counts(form) == variant_counts(rebuilt)
    finally:
        rebuilt.close()
    assert variant_counts(form) == {("Intake",): 2, ("Intake", "Plan", "Kit"): 1}
    assert_same_answers(system, form, floor)


def test_an_item_update_without_a_stage_entry_refreshes_its_attributes(
    system: Context, floor: Plant
) -> None:
    item = new_item(system, floor.floor)
    new_item(system, floor.floor)
    form = PlantForm()
    refreshed(system, form)
    high = CaseFilters(attributes={"priority": ("high",)})
    assert cases(form, floor, high) == 0

    items.update_item(system, item.id, ItemUpdate(priority="high", version=item.version))
    refresh = refreshed(system, form)

    assert refresh.cases == 1
    assert cases(form, floor, high) == 1
    assert_same_answers(system, form, floor)


def test_a_renamed_line_rewrites_the_cases_on_it(system: Context, floor: Plant) -> None:
    new_item(system, floor.floor)
    new_item(system, floor.floor, line_id=floor.other_line)
    form = PlantForm()
    refreshed(system, form)
    line = plant.get_line(system, floor.floor.line.id)

    plant.update_line(system, line.id, LineUpdate(code="L1-NEW", version=line.version))
    refresh = refreshed(system, form)

    assert refresh.cases == 1
    renamed = CaseFilters(attributes={"line": ("L1-NEW",)})
    assert cases(form, floor, renamed) == 1
    assert_same_answers(system, form, floor)


def test_a_reader_sees_the_state_before_or_after_a_refresh_never_between(
    system: Context, floor: Plant
) -> None:
    new_item(system, floor.floor)
    form = PlantForm()
    refreshed(system, form)
    whole = datasets(floor)["plant"]

    with form.reading(whole.process, whole.reach) as before:
        new_item(system, floor.floor)
        refreshed(system, form)
        during = before.cases.count().execute()
    after = cases(form, floor, CaseFilters())

    assert (during, after) == (1, 2)


def test_a_database_with_fewer_events_than_the_form_is_read_again_in_full(
    system: Context, floor: Plant, sqlite_template: Path, tmp_path: Path
) -> None:
    """As after a restore: the watermark's event is not there, the form is read again."""
    import shutil

    from andon.core.database import create_db_engine

    new_item(system, floor.floor)
    form = PlantForm()
    refreshed(system, form)
    restored = tmp_path / "restored.db"
    shutil.copy(sqlite_template, restored)
    engine = create_db_engine(f"sqlite:///{restored}")

    try:
        refresh = form.refresh(engine)
    finally:
        engine.dispose()

    assert (refresh.full, refresh.watermark) == (True, None)
    with form.reading(None, None) as prepared:
        assert prepared.cases.count().execute() == 0


def test_readers_in_other_threads_see_whole_states_while_items_arrive(
    system: Context, floor: Plant
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    new_item(system, floor.floor)
    form = PlantForm()
    refreshed(system, form)

    def read() -> tuple[int, int]:
        # Cases and the variants' counts, from one reading: equal in any whole state.
        with form.reading(None, None) as prepared:
            total = prepared.cases.count().execute()
            counted = prepared.variants.cases.sum().execute()
        return int(total), int(counted or 0)

    with ThreadPoolExecutor(max_workers=3) as pool:
        readings = []
        for _ in range(4):
            futures = [pool.submit(read) for _ in range(3)]
            new_item(system, floor.floor)
            refreshed(system, form)
            readings += [future.result() for future in futures]

    assert all(total == counted for total, counted in readings)
    assert {total for total, _ in readings} <= {1, 2, 3, 4, 5}
    assert read() == (5, 5)
