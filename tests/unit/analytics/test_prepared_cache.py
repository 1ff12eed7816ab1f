"""The cache of open prepared forms: the same answers as the files, within its memory cap,
shared safely by threads, and a forgotten or rewritten form is not served again."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from andon.analytics.dataset_analyses import write_prepared_form
from andon.analytics.filters import CaseFilters
from andon.analytics.ordering import order_and_store
from andon.analytics.prepared import documents, filterable_columns, open_prepared
from andon.analytics.prepared_cache import PreparedCache
from andon.core.errors import InvalidInput
from tests.unit.analytics.test_prepared import FILTERS, INTERVAL_ROWS, _log


def _write(directory: Path) -> Path:
    log = _log()
    write_prepared_form(order_and_store(log, attributes=filterable_columns(log)), directory)
    return directory


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("prepared")
    return _write(root / "one.prepared"), _write(root / "two.prepared")


def _from_files(directory: Path, filters: CaseFilters) -> dict[str, Any]:
    import ibis

    prepared = open_prepared(directory)
    try:
        return documents(prepared, filters)
    finally:
        ibis.get_backend(prepared.cases).disconnect()


def _answer(cache: PreparedCache, key: str, directory: Path, filters: CaseFilters) -> Any:
    with cache.lease(key, directory) as prepared:
        return documents(prepared, filters)


@pytest.fixture(scope="module")
def expected(forms: tuple[Path, Path]) -> dict[str, dict[str, Any]]:
    return {name: _from_files(forms[0], filters) for name, filters in FILTERS.items()}


def test_answers_from_memory_equal_those_from_the_files(
    forms: tuple[Path, Path], expected: dict[str, dict[str, Any]]
) -> None:
    cache = PreparedCache()
    for name, filters in FILTERS.items():
        assert _answer(cache, "one", forms[0], filters) == expected[name], name
    assert cache.held() == ["one"]
    assert cache.bytes > 0


def test_a_cap_smaller_than_a_form_keeps_nothing_and_still_answers(
    forms: tuple[Path, Path], expected: dict[str, dict[str, Any]]
) -> None:
    cache = PreparedCache(max_bytes=1024)
    for name in ("nothing", "attribute", "top variants with a tie"):
        assert _answer(cache, "one", forms[0], FILTERS[name]) == expected[name]
        assert cache.bytes <= cache.max_bytes
    assert cache.held() == []


def test_the_cap_is_never_exceeded_the_least_recently_used_leaves(
    forms: tuple[Path, Path], expected: dict[str, dict[str, Any]]
) -> None:
    probe = PreparedCache()
    _answer(probe, "one", forms[0], CaseFilters())
    one_form = probe.bytes
    probe.clear()
    # Room for one form and a half: the second form evicts the first.
    cache = PreparedCache(max_bytes=one_form * 3 // 2)
    order = ["one", "two", "one", "one", "two"]
    for key in order:
        directory = forms[0] if key == "one" else forms[1]
        assert _answer(cache, key, directory, FILTERS["attribute"]) == expected["attribute"]
        assert cache.bytes <= cache.max_bytes
        assert cache.held() == [key]
    # Room for both: both stay, the least recently used first.
    roomy = PreparedCache(max_bytes=one_form * 2)
    for key in order:
        _answer(roomy, key, forms[0] if key == "one" else forms[1], CaseFilters())
    assert roomy.held() == ["one", "two"]


def test_a_forgotten_form_is_gone_for_the_next_request_and_a_running_one_finishes(
    forms: tuple[Path, Path], expected: dict[str, dict[str, Any]]
) -> None:
    cache = PreparedCache()
    with cache.lease("one", forms[0]) as prepared:
        cache.forget("one")
        assert cache.held() == []
        # The request that held it still answers from it.
        assert documents(prepared, FILTERS["end activity"]) == expected["end activity"]
    entry_closed = cache.entries == {}
    assert entry_closed
    assert _answer(cache, "one", forms[0], FILTERS["nothing"]) == expected["nothing"]
    assert cache.held() == ["one"]


def test_a_form_prepared_again_replaces_the_one_in_memory(tmp_path: Path) -> None:
    from andon.analytics.log import EventLog
    from tests.unit.analytics.mining_logs import event_log

    directory = _write(tmp_path / "form.prepared")
    cache = PreparedCache()
    first = _answer(cache, "x", directory, CaseFilters())
    smaller: EventLog = event_log([("k1", "a", 0), ("k1", "z", 1)])
    write_prepared_form(order_and_store(smaller), directory)
    second = _answer(cache, "x", directory, CaseFilters())
    assert second != first
    assert [v["activities"] for v in second["variants"]["variants"]] == [["a", "z"]]
    assert cache.held() == ["x"]


def test_a_directory_without_a_prepared_form_is_refused(tmp_path: Path) -> None:
    cache = PreparedCache()
    with pytest.raises(InvalidInput) as refused, cache.lease("x", tmp_path / "missing"):
        pass
    assert refused.value.errors[0].loc == ("prepared",)
    assert cache.held() == []


def test_threads_filtering_one_form_get_the_answers_of_one_thread(
    forms: tuple[Path, Path], expected: dict[str, dict[str, Any]]
) -> None:
    cache = PreparedCache()
    names = list(FILTERS) * 3
    start = threading.Barrier(4)

    def ask(index: int) -> tuple[str, dict[str, Any]]:
        if index < 4:
            start.wait(timeout=30)  # the first four start together, on a cold cache
        name = names[index]
        return name, _answer(cache, "one", forms[0], FILTERS[name])

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(ask, range(len(names))))
    for name, answer in answers:
        assert answer == expected[name], name
    assert cache.held() == ["one"]
    assert all(entry.users == 0 for entry in cache.entries.values())


def test_no_more_datasets_than_the_entry_limit_stay_open(forms: tuple[Path, Path]) -> None:
    cache = PreparedCache(max_entries=1)
    cache.preload("one", forms[0])
    assert cache.held() == ["one"]
    cache.preload("two", forms[1])
    assert cache.held() == ["two"]
    assert all(entry.users == 0 for entry in cache.entries.values())


def test_activities_with_quotes_and_accents_answer_as_from_the_files(tmp_path: Path) -> None:
    from tests.unit.analytics.mining_logs import event_log

    rows = [
        ("k1", "Prüfung", 0), ("k1", "O'Brien check", 1), ("k1", "Zoll", 2),
        ("k2", "Ärger", 0), ("k2", "Prüfung", 1),
        ("k3", "O'Brien check", 0), ("k3", "Zoll", 3), ("k3", "Zoll", 4),
    ]  # fmt: skip
    log = event_log(rows)
    directory = tmp_path / "form.prepared"
    write_prepared_form(order_and_store(log, attributes=filterable_columns(log)), directory)
    cache = PreparedCache()
    for filters in (
        CaseFilters(),
        CaseFilters(start_activities=("O'Brien check", "nowhere")),
        CaseFilters(end_activities=("Zoll",)),
        CaseFilters(attributes={"activity": ("Ärger",)}),
        CaseFilters(top_variants=2),
    ):
        assert _answer(cache, "x", directory, filters) == _from_files(directory, filters)


def test_an_interval_form_answers_its_kpis_from_memory_as_from_the_files(tmp_path: Path) -> None:
    from tests.unit.analytics.mining_logs import event_log

    log = event_log(INTERVAL_ROWS)
    directory = tmp_path / "form.prepared"
    write_prepared_form(order_and_store(log, attributes=filterable_columns(log)), directory)
    cache = PreparedCache()
    for filters in (CaseFilters(), CaseFilters(end_activities=("c",)), CaseFilters(top_variants=1)):
        answer = _answer(cache, "x", directory, filters)
        assert answer["kpi"]["time_in_stage"]
        assert answer == _from_files(directory, filters)
