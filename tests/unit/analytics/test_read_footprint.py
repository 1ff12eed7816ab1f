"""What reading a log costs the process: no pandas, a store file that does not outlive it,
and small results fetched as Arrow would give them."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from andon.analytics.results import fetch_rows, fetch_scalar
from andon.analytics.sources import read_log

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


def test_the_event_store_file_is_removed_when_the_process_ends(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "log.parquet")
    out = run_python(
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
