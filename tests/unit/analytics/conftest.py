"""Fixtures for analytics tests: the public logs in ../shared/data, and the slower engines.

A missing data file or an unreachable PostgreSQL skips locally and fails with CI=true. One
Spark session serves the whole test session (it takes seconds to start).
"""

from __future__ import annotations

import os
import warnings
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


def connect_spark() -> Any:
    """An Ibis PySpark backend on the one local Spark session of this test process."""
    pytest.importorskip("pyspark")
    import ibis

    from andon.analytics.engines import spark_session

    # A handful of partitions: test logs are tiny and every task costs start-up time.
    os.environ.setdefault("ANDON_SPARK_PARTITIONS", "2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PySpark's note about pandas 3
        return ibis.pyspark.connect(spark_session("local[1]"))


def connect_postgres() -> Any:
    """An Ibis PostgreSQL backend on the test database; skips (fails in CI) when it is down."""
    import ibis
    import psycopg

    try:
        psycopg.connect(PG_DSN, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    return ibis.connect(PG_DSN)


@pytest.fixture(scope="session")
def spark_backend() -> Any:
    return connect_spark()


@pytest.fixture
def postgres_backend() -> Iterator[Any]:
    """Per test, so the temporary tables of one test vanish with it."""
    backend = connect_postgres()
    yield backend
    backend.disconnect()
