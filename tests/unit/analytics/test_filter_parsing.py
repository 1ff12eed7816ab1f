"""The one reading of typed filters (CLI flags, API query, page form): times, zones, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.analytics.filters import CaseFilters, parse_case_filters, parse_instant
from andon.core.errors import InvalidInput

CHICAGO = ZoneInfo("America/Chicago")
ZONES = st.sampled_from(
    [ZoneInfo(name) for name in ("UTC", "America/Chicago", "Europe/Berlin", "Asia/Kolkata")]
)
# Whole seconds: the CLI and the API take what a person types.
MOMENTS = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), allow_imaginary=False
).map(lambda moment: moment.replace(microsecond=0))
OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
ACTIVITY = st.text(
    alphabet=st.characters(categories=("L", "N"), include_characters=" -_:"), min_size=1
).filter(lambda name: name == name.strip())


def _never() -> tzinfo:
    raise AssertionError("the zone was asked for though every time had an offset")


@given(moment=MOMENTS, offset=OFFSETS, zone=ZONES)
def test_a_time_with_an_offset_is_that_instant_whatever_the_site_zone(
    moment: datetime, offset: timezone, zone: ZoneInfo
) -> None:
    aware = moment.replace(tzinfo=offset)

    parsed = parse_instant(aware.isoformat(), "time_from", zone)

    assert parsed == aware
    assert parsed.tzinfo is UTC


@given(moment=MOMENTS, zone=ZONES)
def test_a_time_without_an_offset_is_a_wall_clock_time_in_the_site_zone(
    moment: datetime, zone: ZoneInfo
) -> None:
    parsed = parse_instant(moment.isoformat(), "time_from", zone)

    assert parsed == moment.replace(tzinfo=zone)
    assert parsed.tzinfo is UTC


def test_a_date_alone_is_midnight_in_the_site_zone() -> None:
    parsed = parse_instant("2024-03-01", "time_to", CHICAGO)

    assert parsed == datetime(2024, 3, 1, 6, 0, tzinfo=UTC)


def test_the_zone_is_asked_for_only_when_a_time_has_no_offset() -> None:
    asked: list[str] = []

    def zone() -> tzinfo:
        asked.append("zone")
        return CHICAGO

    with_offsets = parse_case_filters(
        time_from="2024-01-01T08:00:00Z", time_to="2024-01-02T08:00:00+0200", zone=_never
    )
    naive = parse_case_filters(time_from="2024-01-01T08:00", zone=zone)

    assert with_offsets.time_to == datetime(2024, 1, 2, 6, 0, tzinfo=UTC)
    assert naive.time_from == datetime(2024, 1, 1, 14, 0, tzinfo=UTC)
    assert asked == ["zone"]


def test_the_same_instant_typed_two_ways_gives_equal_filters() -> None:
    local = parse_case_filters(time_from="2024-07-01T08:00", zone=CHICAGO)
    offset = parse_case_filters(time_from="2024-07-01T08:00:00-05:00", zone=UTC)
    utc = parse_case_filters(time_from="2024-07-01T13:00:00Z")

    assert local == offset == utc
    assert repr(local) == repr(utc)  # results are cached by the filters' repr


@given(sequences=st.lists(st.lists(ACTIVITY, min_size=1, max_size=5), max_size=4))
def test_variants_come_back_as_the_sequences_typed(sequences: list[list[str]]) -> None:
    typed = [",".join(sequence) for sequence in sequences]

    parsed = parse_case_filters(variant=typed, exclude_variant=typed)

    assert parsed.variants == tuple(tuple(s) for s in sequences)
    assert parsed.exclude_variants == parsed.variants


@given(
    pairs=st.lists(
        st.tuples(ACTIVITY.filter(lambda c: "=" not in c), st.text(max_size=8)), max_size=6
    )
)
def test_attributes_group_values_by_column_in_the_order_typed(
    pairs: list[tuple[str, str]],
) -> None:
    parsed = parse_case_filters(attribute=[f"{column}={value}" for column, value in pairs])

    expected: dict[str, list[str]] = {}
    for column, value in pairs:
        expected.setdefault(column, []).append(value)
    assert {k: list(v) for k, v in parsed.attributes.items()} == expected
    assert list(parsed.attributes) == sorted(expected)


def test_a_value_may_hold_an_equals_sign_and_blank_fields_keep_everything() -> None:
    parsed = parse_case_filters(
        attribute=["formula=a=b"], start_activity=[""], variant=[""], time_from=" "
    )

    assert parsed.attributes == {"formula": ("a=b",)}
    assert parsed.start_activities == ()
    assert parsed.variants == ()
    assert parsed.time_from is None
    assert parse_case_filters().is_empty()


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"time_from": "yesterday"}, "time_from", "is not a time"),
        ({"time_to": "2024-13-01"}, "time_to", "is not a time"),
        (
            {"time_from": "2024-01-02T00:00Z", "time_to": "2024-01-01T00:00Z"},
            "time_from",
            "ends before it starts",
        ),
        ({"time_mode": "overlapping"}, "time_mode", "intersecting or contained"),
        ({"attribute": ["shift"]}, "attribute", "expected COL=VALUE, got 'shift'"),
        ({"attribute": ["=night"]}, "attribute", "expected COL=VALUE"),
        ({"top_variants": 0}, "top_variants", "at least 1"),
    ],
)
def test_a_bad_filter_is_refused_naming_its_field_without_a_location(
    values: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_case_filters(**values)  # type: ignore[arg-type]

    assert [e.loc for e in refused.value.errors] == [(field,)]
    assert message in refused.value.errors[0].msg
    assert refused.value.detail.startswith(f"{field}: ")


def test_a_range_reversed_only_by_the_zones_is_refused() -> None:
    # 08:00 in Chicago is after 09:00 UTC: the check compares instants, not the text.
    with pytest.raises(InvalidInput, match="ends before it starts"):
        parse_case_filters(time_from="2024-01-01T08:00", time_to="2024-01-01T09:00Z", zone=CHICAGO)


def test_parsed_filters_are_the_dataclass_the_analyses_apply() -> None:
    parsed = parse_case_filters(
        time_from="2024-01-01",
        time_mode="contained",
        start_activity=["cut"],
        end_activity=["pack", "ship"],
        top_variants=3,
    )

    assert parsed == CaseFilters(
        time_from=datetime(2024, 1, 1, tzinfo=UTC),
        time_mode="contained",
        start_activities=("cut",),
        end_activities=("pack", "ship"),
        top_variants=3,
    )
