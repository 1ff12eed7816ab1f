"""OCEL 2.0 reading: flattened for one object type exactly as pm4py.ocel_flattening does."""

from __future__ import annotations

import warnings
from datetime import UTC
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from andon.analytics.log import ACTIVITY, CASE, ORDER, TIMESTAMP
from andon.analytics.sources import read_log
from andon.core.errors import InvalidInput
from tests.unit.analytics.conftest import data_file

OBJECT_TYPES = ("Invoice", "Payment", "Purchase Order", "Purchase Requisition")


def pm4py_flattened(path: Path, object_type: str) -> list[tuple[Any, ...]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

        reader = pm4py.read_ocel2_xml if path.suffix == ".xmlocel" else pm4py.read_ocel2_json
        frame = pm4py.ocel_flattening(reader(str(path)), object_type)
    return sorted(
        (str(c), str(a), pd.Timestamp(t).tz_convert(UTC))
        for c, a, t in zip(
            frame["case:concept:name"], frame["concept:name"], frame["time:timestamp"], strict=True
        )
    )


def andon_flattened(path: Path, object_type: str, **options: Any) -> list[tuple[Any, ...]]:
    table = read_log(path, ocel_object_type=object_type, **options).log.table
    frame = table.to_pandas()
    return sorted(
        (c, a, pd.Timestamp(t).tz_convert(UTC))
        for c, a, t in zip(frame[CASE], frame[ACTIVITY], frame[TIMESTAMP], strict=True)
    )


@pytest.mark.parametrize("object_type", OBJECT_TYPES)
@pytest.mark.parametrize("name", ["ocel20_example.jsonocel", "ocel20_example.xmlocel"])
def test_flattening_matches_pm4py(name: str, object_type: str) -> None:
    path = data_file(name)

    assert andon_flattened(path, object_type) == pm4py_flattened(path, object_type)


def test_xml_and_json_agree_when_the_xml_zone_is_named() -> None:
    # The XML example writes local times without an offset; the JSON one writes UTC.
    from_xml = andon_flattened(
        data_file("ocel20_example.xmlocel"), "Purchase Order", timezone="Europe/Berlin"
    )

    assert from_xml == andon_flattened(data_file("ocel20_example.jsonocel"), "Purchase Order")


def test_event_order_is_the_events_position_in_the_file() -> None:
    table = read_log(data_file("ocel20_example.jsonocel"), ocel_object_type="Purchase Order")
    frame = table.log.table.order_by(ORDER).to_pandas()

    assert frame[ORDER].tolist() == [2, 3, 4, 5, 9]
    assert frame["ocel:eid"].tolist() == ["e3", "e4", "e5", "e6", "e10"]


@pytest.mark.parametrize("object_type", [None, "Truck"])
def test_missing_or_unknown_object_type_lists_the_known_ones(object_type: str | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_log(data_file("ocel20_example.jsonocel"), ocel_object_type=object_type)

    assert "Invoice, Payment, Purchase Order, Purchase Requisition" in caught.value.detail


def test_json_that_is_not_ocel_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonocel"
    path.write_text('{"objects": []}', encoding="utf-8")

    with pytest.raises(InvalidInput, match="no 'events' list"):
        read_log(path, ocel_object_type="Invoice")
