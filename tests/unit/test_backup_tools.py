"""The PostgreSQL client tools: version check and connection arguments, without a server."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from andon.backup import libpq_target, refuse_older_tool, tool_major_version
from andon.core.errors import ConfigurationError


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)", 15),
        ("pg_restore (PostgreSQL) 16.1", 16),
        ("pg_dump (PostgreSQL) 17beta1", 17),
        ("pg_dump (PostgreSQL) 9.6.24", 9),
    ],
)
def test_tool_major_version_reads_the_version_line(output: str, major: int) -> None:
    assert tool_major_version(output) == major


def test_pg_dump_older_than_the_server_is_refused_with_what_to_install() -> None:
    with pytest.raises(ConfigurationError) as refused:
        refuse_older_tool("pg_dump", "pg_dump (PostgreSQL) 15.4", 160002)
    assert refused.value.detail == (
        "pg_dump is version 15 and the server is PostgreSQL 16: install the PostgreSQL 16 "
        "client tools (or newer) and try again"
    )


@pytest.mark.parametrize("server", [150020, 140011])
def test_pg_dump_as_new_as_the_server_or_newer_is_accepted(server: int) -> None:
    refuse_older_tool("pg_dump", "pg_dump (PostgreSQL) 15.4", server)


def test_the_password_goes_to_the_environment_never_the_arguments() -> None:
    url = make_url("postgresql+psycopg://andon:s3cr%20t@db.example:5433/andon?sslmode=require")

    conninfo, env = libpq_target(url)

    assert "s3cr" not in conninfo
    assert env["PGPASSWORD"] == "s3cr t"
    assert dict(part.split("=", 1) for part in conninfo.split()) == {
        "dbname": "andon",
        "host": "db.example",
        "port": "5433",
        "user": "andon",
        "sslmode": "require",
    }


def test_a_socket_directory_and_another_database_are_passed_quoted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    url = make_url("postgresql+psycopg://andon@/andon?host=/var/run/my%20sockets")

    conninfo, env = libpq_target(url, "postgres")

    assert conninfo == "dbname=postgres user=andon host='/var/run/my sockets'"
    assert "PGPASSWORD" not in env
