"""The interactive-filters benchmark's inputs (bench/analytics_filters.py): the log generator
is deterministic and the filter set is what issue 17 measures. No timing, no server."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bench.analytics_filters import ACTIVITIES, common_variants, filters, generate


def test_the_generator_is_deterministic_time_ordered_and_exactly_sized() -> None:
    log = generate(5_000)
    assert log.equals(generate(5_000))
    assert not log.equals(generate(5_000, seed=18))
    assert log.num_rows == 5_000
    stamps = log.column("timestamp").to_pylist()
    assert stamps == sorted(stamps)
    assert set(log.column("activity").to_pylist()) <= set(ACTIVITIES)
    cells = {r for r in log.column("resource").to_pylist() if r.startswith("cell-")}
    assert cells == {f"cell-{n}" for n in range(1, 10)}
    cases = len(set(log.column("case_id").to_pylist()))
    assert 8 <= log.num_rows / cases <= 12


def test_the_filter_set_is_twenty_different_first_time_filters_of_every_kind() -> None:
    chosen = filters()
    assert len(chosen) == 20
    assert len({f.query for f in chosen}) == 20
    assert len({f.name for f in chosen}) == 20
    assert {f.kind for f in chosen} == {
        "time", "attribute", "start", "end", "top-k", "variant", "time+attribute",
    }  # fmt: skip
    variants = {",".join(v) for v in common_variants()}
    seen: set[str] = set()
    for f in chosen:
        url = urlsplit(f.path("abc"))
        assert url.path == f"/api/v1/analytics/datasets/abc/{f.analysis}"
        query = parse_qs(url.query)
        performance = query.pop("performance", None)
        assert performance in (None, ["true"])
        assert performance is None or f.analysis == "dfg"
        assert query
        # What the API's query parameters become: a non-empty, distinct case filter.
        case_filters = f.case_filters()
        assert not case_filters.is_empty()
        seen.add(repr(case_filters))
        for sequence in query.get("variant", []):
            assert sequence in variants
        for pair in query.get("attribute", []):
            assert pair.split("=", 1)[0] in {"resource", "line"}
    # The analysis cache is keyed by the filters (a KPI answer also keeps its DFG): no two
    # filters share an answer, whatever their analysis.
    assert len(seen) == 20
