"""What reading a log costs the process: no pandas, a small log held in memory, a larger one
read through a view or judged into a store file that does not outlive the process, and
small results fetched as Arrow would give them."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from andon.analytics.report import mine_report, prepare
from andon.analytics.results import fetch_rows, fetch_scalar
from andon.analytics.sources import LoadedLog, read_log

ROWS = 2_000
START = datetime(2024, 1, 1, tzinfo=UTC)


def write_parquet(path: Path) -> Path:
    cases = [f"C{i // 4}" for i in range(ROWS)]
    table = pa.table(
        {
            "case_id": cases,
            "activity": ["cut", "weld", "paint", "pack"] * (ROWS // 4),
            "timestamp": pa.array(
                [START + timedelta(minutes=i) for i in range(ROWS)], pa.timestamp("us", tz="UTC")
            ),
            "resource": ["ann", "bob"] * (ROWS // 2),
        }
    )
    pq.write_table(table, path)
    return path


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_reading_and_judging_a_log_never_loads_pandas(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "log.parquet")
    out = run_python(
        "import sys\n"
        "from pathlib import Path\n"
        "from andon.analytics.sources import read_log\n"
        f"loaded = read_log(Path({str(path)!r}))\n"
        "print(loaded.report.events, 'pandas' in sys.modules)\n"
    )

    assert out.split() == [str(ROWS), "False"]


def write_csv(path: Path) -> Path:
    write_parquet(path.with_suffix(".parquet"))
    pq.read_table(path.with_suffix(".parquet")).to_pandas().to_csv(path, index=False)
    return path


def test_the_event_store_file_is_removed_when_the_process_ends(tmp_path: Path) -> None:
    # Over the in-memory limit, a CSV log is judged into the store file.
    path = write_csv(tmp_path / "log.csv")
    out = run_python(
        "import os\n"
        "os.environ['ANDON_ANALYTICS_MEMORY_ROWS'] = '100'\n"
        "from pathlib import Path\n"
        "from andon.analytics.sources import read_log\n"
        f"loaded = read_log(Path({str(path)!r}))\n"
        "con = loaded.log.table.get_backend().con\n"
        'rows = con.execute("SELECT path FROM duckdb_databases() '
        "WHERE database_name = 'andon_store'\").fetchall()\n"
        "print(rows[0][0], Path(rows[0][0]).is_file())\n"
    )
    store, existed = out.split()

    assert existed == "True"
    assert not Path(store).exists()
    assert not Path(store).parent.exists()


def test_fetched_rows_equal_arrow_rows_in_utc_whatever_the_session_zone(tmp_path: Path) -> None:
    loaded = read_log(write_parquet(tmp_path / "log.parquet"))
    table = loaded.log.table
    backend = table.get_backend()
    backend.con.execute("SET TimeZone = 'America/New_York'")
    try:
        expr = table.group_by("case_id").agg(
            first=table["timestamp"].min(), events=table.count(), names=table["activity"].collect()
        )
        expr = expr.order_by("case_id").limit(3)

        assert fetch_rows(expr) == expr.to_pyarrow().to_pylist()
        last = fetch_scalar(table["timestamp"].max())
        assert last == START + timedelta(minutes=ROWS - 1)
        assert last.utcoffset() == timedelta(0)
        assert fetch_scalar(table.filter(table["case_id"] == "none")["timestamp"].max()) is None
    finally:
        backend.con.execute("SET TimeZone = 'UTC'")


def _attached(loaded: LoadedLog) -> list[str]:
    con = loaded.log.table.get_backend().con
    return [r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()]


def _views(loaded: LoadedLog) -> set[str]:
    con = loaded.log.table.get_backend().con
    return {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}


def test_a_small_csv_log_is_a_table_in_memory(tmp_path: Path) -> None:
    loaded = read_log(write_csv(tmp_path / "log.csv"))

    assert "andon_store" not in _attached(loaded)
    assert loaded.log.table.get_name() not in _views(loaded)


def test_a_parquet_log_is_read_through_a_view_with_the_results_of_a_copy(
    tmp_path: Path,
) -> None:
    parquet = write_parquet(tmp_path / "log.parquet")
    copied = read_log(write_csv(tmp_path / "log.csv"))

    loaded = read_log(parquet)

    assert loaded.log.table.get_name() in _views(loaded)
    assert "andon_store" not in _attached(loaded)
    assert mine_report(prepare(loaded.log)).as_json() == mine_report(prepare(copied.log)).as_json()


def test_a_larger_log_in_another_time_zone_goes_to_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A view would read naive times in the session's zone (UTC) when queried, not the log's.
    path = tmp_path / "log.parquet"
    pq.write_table(
        pa.table(
            {
                "case_id": ["a", "a"],
                "activity": ["cut", "weld"],
                "timestamp": pa.array(
                    [datetime(2024, 1, 1, 8), datetime(2024, 1, 1, 9)], pa.timestamp("us")
                ),
            }
        ),
        path,
    )
    monkeypatch.setenv("ANDON_ANALYTICS_MEMORY_ROWS", "1")

    loaded = read_log(path, timezone="Europe/Berlin")

    assert "andon_store" in _attached(loaded)
    assert fetch_scalar(loaded.log.table["timestamp"].min()) == datetime(2024, 1, 1, 7, tzinfo=UTC)


def test_a_refused_parquet_log_leaves_no_view_behind(tmp_path: Path) -> None:
    from andon.analytics.engines import connect
    from andon.core.errors import InvalidInput

    path = tmp_path / "log.parquet"
    pq.write_table(
        pa.table({"case_id": ["", " "], "activity": ["cut", "weld"], "timestamp": [START, START]}),
        path,
    )
    backend = connect("duckdb")

    with pytest.raises(InvalidInput, match="every row was rejected"):
        read_log(path, backend=backend)

    views = backend.con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal")
    assert [r[0] for r in views.fetchall() if r[0].startswith("andon_")] == []
