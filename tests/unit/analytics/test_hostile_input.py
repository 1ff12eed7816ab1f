"""Hostile or broken input is refused with one clear error, and nothing is written."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import pytest

from andon.analytics.sources import ColumnMapping, read_log
from andon.core.errors import InvalidInput

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE log [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<log><trace><string key="concept:name" value="&lol4;"/>
<event><string key="concept:name" value="a"/>
<date key="time:timestamp" value="2024-01-01T00:00:00Z"/></event></trace></log>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE log [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<log><trace><string key="concept:name" value="&secret;"/></trace></log>
"""
PLAIN_DTD = """<?xml version="1.0"?>
<!DOCTYPE log SYSTEM "http://example.com/xes.dtd">
<log><trace><string key="concept:name" value="c"/></trace></log>
"""
MALFORMED = """<?xml version="1.0"?>
<log>
  <trace>
    <string key="concept:name" value="c"/>
    <event>
      <string key="concept:name" value="a"/>
  </trace>
</log>
"""
NO_EVENTS = """<?xml version="1.0"?>
<log><trace><string key="concept:name" value="c"/></trace></log>
"""
OCEL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE log [<!ENTITY x "y">]>
<log><objects><object id="o1" type="T"/></objects><events/></log>
"""
GOOD_CSV = "case_id,activity,timestamp\nA,cut,2024-01-01T08:00:00Z\n"


def refuse(path: Path, tmp_path: Path, **options: object) -> str:
    """Read ``path`` expecting InvalidInput; check that no quarantine file appeared."""
    quarantine = tmp_path / "quarantine.csv"
    with pytest.raises(InvalidInput) as caught:
        read_log(path, quarantine=quarantine, **options)  # type: ignore[arg-type]
    assert not quarantine.exists()
    return caught.value.detail


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (BILLION_LAUGHS, "DTD"),
        (EXTERNAL_ENTITY, "DTD"),
        (PLAIN_DTD, "DTD"),
    ],
    ids=["entity-expansion", "external-entity", "dtd"],
)
def test_xes_with_a_dtd_or_entities_is_refused(tmp_path: Path, body: str, what: str) -> None:
    detail = refuse(write(tmp_path, "evil.xes", body), tmp_path)

    assert what in detail
    assert "line 2" in detail


def test_gzipped_entity_expansion_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.xes.gz"
    path.write_bytes(gzip.compress(BILLION_LAUGHS.encode()))

    assert "DTD" in refuse(path, tmp_path)


def test_ocel_xml_with_entities_is_refused(tmp_path: Path) -> None:
    detail = refuse(write(tmp_path, "evil.xmlocel", OCEL_ENTITY), tmp_path, ocel_object_type="T")

    assert "DTD" in detail or "entit" in detail.lower()


def test_malformed_xml_names_the_line(tmp_path: Path) -> None:
    detail = refuse(write(tmp_path, "broken.xes", MALFORMED), tmp_path)

    assert "not well-formed" in detail
    assert "line 7" in detail


def test_broken_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.xes.gz"
    path.write_bytes(gzip.compress(NO_EVENTS.encode())[:-12] + b"garbage!")

    assert "gzip" in refuse(path, tmp_path)


def test_csv_missing_a_mapped_column_names_it_and_lists_the_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "log.csv", GOOD_CSV)

    detail = refuse(path, tmp_path, mapping=ColumnMapping(case="order_no"))

    assert "--case 'order_no': no such column" in detail
    assert "'case_id', 'activity', 'timestamp'" in detail


def test_csv_without_a_default_column_says_which_names_were_tried(tmp_path: Path) -> None:
    path = write(tmp_path, "log.csv", "id,step,at\nA,cut,2024-01-01\n")

    detail = refuse(path, tmp_path)

    assert "no case column: expected 'case_id' or 'case:concept:name'" in detail
    assert "--case" in detail


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("empty.csv", ""),
        ("blank.csv", "\n\n  \n"),
        ("header-only.csv", "case_id,activity,timestamp\n"),
        ("empty.xes", ""),
        ("no-events.xes", NO_EVENTS),
        ("empty.parquet", ""),
    ],
)
def test_empty_log_is_refused(tmp_path: Path, name: str, body: str) -> None:
    detail = refuse(write(tmp_path, name, body), tmp_path)

    assert "empty" in detail or "no events" in detail or "no rows" in detail


def test_fifty_megabyte_line_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    with path.open("wb") as out:
        out.write(b"case_id,activity,timestamp\nA,")
        out.write(b"x" * (50 * 1024 * 1024))
        out.write(b",2024-01-01\n")

    tracemalloc.start()
    try:
        detail = refuse(path, tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert "line 2 is longer than 2 MiB" in detail
    assert peak < 16 * 1024 * 1024


def test_invalid_utf8_names_byte_offset_and_line(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(GOOD_CSV.encode() + b"B,cut\xff,2024-01-01T09:00:00Z\n")

    detail = refuse(path, tmp_path)

    assert f"byte {len(GOOD_CSV) + 5} (line 3) is not valid utf-8" in detail
    assert "--encoding" in detail


def test_bytes_invalid_in_the_declared_encoding_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(GOOD_CSV.encode() + b"B,\x81cut,2024-01-01T09:00:00Z\n")

    detail = refuse(path, tmp_path, encoding="cp1252")

    assert "line 3" in detail
    assert "cp1252" in detail


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    assert "unknown format" in refuse(write(tmp_path, "log.xlsx", "x"), tmp_path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    assert "no such file" in refuse(tmp_path / "absent.csv", tmp_path)


def test_strict_refuses_any_rejection_and_writes_no_quarantine(tmp_path: Path) -> None:
    path = write(tmp_path, "log.csv", GOOD_CSV + "B,cut,not a time\n")

    detail = refuse(path, tmp_path, strict=True)

    assert "1 of 2 rows rejected (unparsable_timestamp: 1)" in detail
