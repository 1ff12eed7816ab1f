"""Fixtures for analytics tests: the public logs in ../shared/data, and the slower engines.

A missing data file or an unreachable PostgreSQL skips locally and fails with CI=true. One
Spark session serves the whole test session (it takes seconds to start).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

# The public logs sit beside the checkout (../shared/data); ANDON_TEST_DATA_DIR points elsewhere.
DATA = Path(
    os.environ.get("ANDON_TEST_DATA_DIR")
    or Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
)
PG_DSN = os.environ.get("ANDON_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
XES_LOGS = (
    "running-example.xes",
    "roadtraffic100traces.xes",
    "helpdesk.xes.gz",
    "reviewing.xes",
    "interval_event_log.xes",
)


def data_file(name: str) -> Path:
    """The path of a shared log; skips (fails in CI) when it is not there."""
    path = DATA / name
    if not path.is_file():
        message = f"shared test log missing: {path}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def spark_backend() -> Any:
    """An Ibis PySpark backend on one local Spark session for the whole test run."""
    pytest.importorskip("pyspark")
    import ibis

    from andon.analytics.engines import spark_session

    session = spark_session("local[1]")
    return ibis.pyspark.connect(session)


@pytest.fixture
def postgres_backend() -> Iterator[Any]:
    """An Ibis PostgreSQL backend on the test database; temp tables vanish with it."""
    import ibis
    import psycopg

    try:
        psycopg.connect(PG_DSN, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    backend = ibis.connect(PG_DSN)
    yield backend
    backend.disconnect()
