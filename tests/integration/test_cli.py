"""The `andon` command line, run in-process against SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from andon.accounts import service as accounts
from andon.accounts.models import User
from andon.cli.main import app
from andon.core import migrations
from andon.core.audit import AuditEntry
from andon.core.database import Database, create_db_engine
from andon.core.errors import NotAuthenticated
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.plant.models import Site
from tests.factories import PASSWORD, make_plant, make_user, tamper_with_entry

runner = CliRunner()
# Cleared for each run, so the developer's own environment cannot change the outcome.
ISOLATED_SETTINGS = ("SECRET_KEY", "DEMO", "HOST", "PORT", "TIMEZONE", "DATA_DIR")


def andon(db_url: str, *args: str, stdin: str | None = None, **settings: str) -> Result:
    """Run one command on the test database; other settings are defaults unless given."""
    env: dict[str, str | None] = {f"ANDON_{name}": None for name in ISOLATED_SETTINGS}
    env["ANDON_DATABASE_URL"] = db_url
    env.update({f"ANDON_{name.upper()}": value for name, value in settings.items()})
    return runner.invoke(app, list(args), input=stdin, env=env)


def counts(db: Database) -> tuple[int, int, int]:
    """Users, sites and audit entries: what a refused command must leave untouched."""
    with db.read_session() as session:
        return (
            session.scalar(select(func.count()).select_from(User)) or 0,
            session.scalar(select(func.count()).select_from(Site)) or 0,
            session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        )


# --- users -------------------------------------------------------------------------------


def test_user_create_with_a_site_role_can_then_sign_in(db: Database, system: Context) -> None:
    _, site, _, _ = make_plant(system)
    result = andon(
        db.url,
        *("user", "create", "Sam", "--name", "Sam Supervisor", "--email", "sam@acme.example"),
        *("--role", "supervisor", "--site", "chi", "--password-stdin"),
        stdin="long enough pw\n",
    )
    assert result.exit_code == 0, result.stderr
    assert "Created user sam" in result.stdout
    assert "supervisor@CHI" in result.stdout
    signed = accounts.sign_in(db, "sam", "long enough pw", accounts.LoginPolicy(), "r")
    assert (signed.user.display_name, signed.user.email) == ("Sam Supervisor", "sam@acme.example")
    grants = accounts.find_user(system, "sam").grants
    assert [(g.role, g.site_id, g.area_id) for g in grants] == [("supervisor", site.id, None)]


def test_user_create_asks_for_the_password_twice(db: Database) -> None:
    result = andon(
        db.url,
        *("user", "create", "ada", "--name", "Ada", "--role", "admin"),
        stdin="first try pw\nfirst try pw\n",
    )
    assert result.exit_code == 0, result.stderr
    assert "Repeat for confirmation" in result.stdout
    assert "first try pw" not in result.stdout
    assert accounts.sign_in(db, "ada", "first try pw", accounts.LoginPolicy(), "r")


def test_user_list_json_shows_users_and_grants(db: Database, system: Context) -> None:
    _, site, _, _ = make_plant(system)
    make_user(system, "otto", Role.OPERATOR, site_id=site.id)
    make_user(system, "vic", Role.VIEWER)
    result = andon(db.url, "user", "list", "--json")
    assert result.exit_code == 0, result.stderr
    users = {u["username"]: u for u in json.loads(result.stdout)}
    assert set(users) == {"otto", "vic"}
    assert [(g["role"], g["site_id"]) for g in users["otto"]["grants"]] == [("operator", site.id)]
    assert "password" not in result.stdout


def test_user_list_table_shows_scoped_roles_by_code(db: Database, system: Context) -> None:
    _, _, area, _ = make_plant(system)
    make_user(system, "otto", Role.OPERATOR, area_id=area.id)
    result = andon(db.url, "user", "list")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].split()[:3] == ["ID", "USERNAME", "NAME"]
    assert "operator@CHI/ASM" in result.stdout


def test_user_set_role_replaces_grants_with_an_area_scope(db: Database, system: Context) -> None:
    _, site, area, _ = make_plant(system)
    make_user(system, "otto", Role.VIEWER, Role.QUALITY)
    result = andon(
        db.url,
        *("user", "set-role", "otto", "operator", "--site", "CHI", "--area", "asm"),
        *("--reason", "moved to assembly"),
    )
    assert result.exit_code == 0, result.stderr
    grants = accounts.find_user(system, "otto").grants
    assert [(g.role, g.site_id, g.area_id) for g in grants] == [("operator", site.id, area.id)]
    with db.read_session() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert last is not None
    assert (last.action, last.reason) == ("set_roles", "moved to assembly")
    assert last.actor_name.startswith("cli:")
    assert last.request_id.startswith("cli-")


def test_user_disable_blocks_sign_in_and_enable_restores_it(db: Database, system: Context) -> None:
    make_user(system, "otto")
    disabled = andon(db.url, "user", "disable", "otto", "--reason", "left the company")
    assert disabled.exit_code == 0, disabled.stderr
    assert "otto is now disabled" in disabled.stdout
    with pytest.raises(NotAuthenticated):
        accounts.sign_in(db, "otto", PASSWORD, accounts.LoginPolicy(), "r")
    enabled = andon(db.url, "user", "enable", "otto")
    assert enabled.exit_code == 0, enabled.stderr
    assert accounts.sign_in(db, "otto", PASSWORD, accounts.LoginPolicy(), "r").user.active


def test_user_set_password_from_stdin(db: Database, system: Context) -> None:
    make_user(system, "otto")
    result = andon(
        db.url, "user", "set-password", "otto", "--password-stdin", stdin="brand new pw\n"
    )
    assert result.exit_code == 0, result.stderr
    assert accounts.sign_in(db, "otto", "brand new pw", accounts.LoginPolicy(), "r")


# --- tokens ------------------------------------------------------------------------------


def _secret_from(output: str) -> str:
    return next(w for w in output.split() if w.startswith("andon_"))


def test_token_create_prints_a_secret_that_authenticates(db: Database, system: Context) -> None:
    make_user(system, "mes", Role.VIEWER)
    result = andon(db.url, "token", "create", "--user", "mes", "--name", "mes-sync")
    assert result.exit_code == 0, result.stderr
    assert "will not be shown again" in result.stdout
    actor = accounts.actor_from_token(db, _secret_from(result.stdout))
    assert actor is not None
    assert actor.username == "mes"
    listed = andon(db.url, "token", "list", "--user", "mes")
    assert "mes-sync" in listed.stdout
    assert _secret_from(result.stdout) not in listed.stdout


def test_token_revoke_stops_the_token_working(db: Database, system: Context) -> None:
    make_user(system, "mes")
    created = andon(db.url, "token", "create", "--user", "mes", "--name", "ci", "--json")
    assert created.exit_code == 0, created.stderr
    body = json.loads(created.stdout)
    assert accounts.actor_from_token(db, body["token"]) is not None
    revoked = andon(db.url, "token", "revoke", str(body["id"]))
    assert revoked.exit_code == 0, revoked.stderr
    assert accounts.actor_from_token(db, body["token"]) is None


# --- refused input leaves nothing behind -------------------------------------------------


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["user", "create", "bob", "--name", "Bob", "--role", "wizard", "--password-stdin"],
            "long enough pw\n",
            "wizard",
        ),
        (
            ["user", "create", "otto", "--name", "Otto", "--password-stdin"],
            "long enough pw\n",
            "error: a user named 'otto' already exists",
        ),
        (
            [
                "user",
                "create",
                "bob",
                "--name",
                "Bob",
                "--role",
                "viewer",
                "--site",
                "NOPE",
                "--password-stdin",
            ],
            "long enough pw\n",
            "error: no site with code 'NOPE'",
        ),
        (
            ["user", "create", "bob", "--name", "Bob", "--password-stdin"],
            "short\n",
            "error: password:",
        ),
        (
            [
                "plant",
                "add-site",
                "--enterprise",
                "Acme Manufacturing",
                "--name",
                "Mars",
                "--code",
                "MRS",
                "--timezone",
                "Mars/Base",
            ],
            None,
            "error: timezone: unknown IANA time zone 'Mars/Base'",
        ),
        (
            ["user", "set-role", "otto", "operator", "--area", "ASM"],
            None,
            "--area needs --site",
        ),
    ],
    ids=[
        "unknown-role",
        "duplicate-username",
        "unknown-site",
        "short-password",
        "bad-zone",
        "area-without-site",
    ],
)
def test_refused_input_exits_non_zero_and_writes_nothing(
    db: Database, system: Context, args: list[str], stdin: str | None, message: str
) -> None:
    make_plant(system)
    make_user(system, "otto")
    before = counts(db)
    result = andon(db.url, *args, stdin=stdin)
    assert result.exit_code != 0
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert counts(db) == before


def test_domain_errors_exit_1_with_one_line_on_stderr(db: Database) -> None:
    result = andon(db.url, "token", "revoke", "99")
    assert result.exit_code == 1
    assert result.stderr == "error: no API token with id 99\n"
    assert result.stdout == ""


# --- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(("variable", "value"), [("PORT", "abc"), ("TIMEZONE", "Mars/Base")])
def test_invalid_setting_exits_2_naming_the_variable(
    db_url: str, tmp_path: Path, variable: str, value: str
) -> None:
    result = andon(db_url, "serve", data_dir=str(tmp_path), **{variable: value})
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: ANDON_{variable}: ")


def test_serve_outside_demo_mode_needs_a_secret_key(db_url: str, tmp_path: Path) -> None:
    result = andon(db_url, "serve", data_dir=str(tmp_path), demo="0")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ANDON_SECRET_KEY: ")


def test_serve_in_demo_mode_generates_a_key_and_says_where(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.append(kw))
    result = andon(db_url, "serve", "--port", "8123", data_dir=str(tmp_path), demo="1")
    assert result.exit_code == 0, result.stderr
    key_file = tmp_path / "demo-secret-key"
    assert f"generated a secret key and stored it in {key_file}" in result.stdout
    assert key_file.exists()
    assert calls == [
        {"host": "127.0.0.1", "port": 8123, "server_header": False, "access_log": True}
    ]
    again = andon(db_url, "serve", data_dir=str(tmp_path), demo="1", host="::1", port="9000")
    assert f"using the secret key stored in {key_file}" in again.stdout
    assert "Serving Andon at http://[::1]:9000/" in again.stdout
    assert calls[1]["host"] == "::1"
    assert calls[1]["port"] == 9000


def test_serve_with_several_workers_runs_each_process_on_the_same_settings(
    db_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "ANDON_DATABASE_URL": db_url,
        "ANDON_DATA_DIR": str(tmp_path),
        "ANDON_SECRET_KEY": "k" * 64,
        "ANDON_WORKERS": "2",
    }
    executable = str(Path(sys.executable).with_name("andon"))
    server = subprocess.Popen(
        [executable, "serve", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert "2 processes" in server.stdout.readline()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("andon serve --workers 2 did not answer /healthz")
        assert len(_children(server.pid)) >= 2
    finally:
        server.terminate()
        server.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


# --- plant -------------------------------------------------------------------------------


def test_plant_commands_build_a_hierarchy_shown_by_tree(db: Database) -> None:
    steps = [
        ["plant", "add-enterprise", "Globex"],
        [
            "plant",
            "add-site",
            "--enterprise",
            "Globex",
            "--name",
            "Berlin",
            "--code",
            "ber",
            "--timezone",
            "Europe/Berlin",
        ],
        ["plant", "add-area", "--site", "BER", "--name", "Paint Shop", "--code", "PS"],
        ["plant", "add-line", "--site", "BER", "--area", "PS", "--name", "Paint 1", "--code", "P1"],
        [
            "plant",
            "add-line",
            "--site",
            "BER",
            "--area",
            "PS",
            "--name",
            "Mixing",
            "--code",
            "MX",
            "--kind",
            "work_centre",
        ],
    ]
    for step in steps:
        result = andon(db.url, *step)
        assert result.exit_code == 0, (step, result.stderr)
    tree = andon(db.url, "plant", "tree")
    assert tree.exit_code == 0, tree.stderr
    assert tree.stdout.splitlines() == [
        "Globex  [enterprise 1 v1]",
        "└── Berlin (BER, Europe/Berlin)  [site 1 v1]",
        "    └── Paint Shop (PS)  [area 1 v1]",
        "        ├── Mixing (MX)  [work centre 2 v1]",
        "        └── Paint 1 (P1)  [line 1 v1]",
    ]


def test_plant_delete_refuses_a_node_with_children_and_removes_a_leaf(
    db: Database, system: Context
) -> None:
    _, site, _, line = make_plant(system)
    refused = andon(db.url, "plant", "delete", "site", str(site.id), "--version", "1")
    assert refused.exit_code == 1
    assert "still has 1 areas" in refused.stderr
    removed = andon(
        db.url, "plant", "delete", "line", str(line.id), "--version", "1", "--reason", "scrapped"
    )
    assert removed.exit_code == 0, removed.stderr
    tree = json.loads(andon(db.url, "plant", "tree", "--json").stdout)
    assert tree[0]["sites"][0]["areas"][0]["lines"] == []


# --- audit -------------------------------------------------------------------------------


def test_audit_log_and_export_show_what_the_cli_did(
    db: Database, system: Context, tmp_path: Path
) -> None:
    make_plant(system)
    andon(db.url, "user", "create", "bob", "--name", "Bob", "--password-stdin", stdin="x" * 12)
    log = andon(db.url, "audit", "log", "--limit", "2")
    assert log.exit_code == 0, log.stderr
    assert len(log.stdout.splitlines()) == 3
    assert "user 1" in log.stdout.splitlines()[1]
    out = tmp_path / "audit.csv"
    exported = andon(db.url, "audit", "export", "--entity-type", "site", "-o", str(out))
    assert exported.exit_code == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["entity_type"], r["action"]) for r in rows] == [("site", "create")]
    to_stdout = andon(db.url, "audit", "export", "--actor", "cli:test")
    assert len(list(csv.DictReader(io.StringIO(to_stdout.stdout)))) == 4


def test_audit_export_refuses_an_instant_without_offset(db: Database) -> None:
    result = andon(db.url, "audit", "export", "--since", "2025-01-01T00:00")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: since: give a time zone")


# --- schema and tamper detection on a database of the test's own --------------------------


HEAD = "0016"


def test_db_downgrade_to_base_then_upgrade_round_trip(fresh_db_url: str) -> None:
    up = andon(fresh_db_url, "db", "upgrade")
    assert up.exit_code == 0, up.stderr
    assert up.stdout.rstrip().endswith(f"-> {HEAD}")
    assert andon(fresh_db_url, "db", "current").stdout.rstrip().endswith(f": {HEAD}")
    down = andon(fresh_db_url, "db", "downgrade", "base")
    assert down.exit_code == 0, down.stderr
    engine = create_db_engine(fresh_db_url)
    try:
        assert migrations.current(engine) is None
        again = andon(fresh_db_url, "db", "upgrade")
        assert again.exit_code == 0, again.stderr
        assert migrations.current(engine) == HEAD
        assert f"already at {HEAD}" in andon(fresh_db_url, "db", "upgrade").stdout
    finally:
        engine.dispose()


def test_db_upgrade_to_an_unknown_revision_is_a_usage_error(fresh_db_url: str) -> None:
    result = andon(fresh_db_url, "db", "upgrade", "nosuch")
    assert result.exit_code == 2
    assert "nosuch" in result.stderr


def test_audit_verify_passes_on_the_demo_and_fails_after_tampering(fresh_db_url: str) -> None:
    assert andon(fresh_db_url, "db", "upgrade").exit_code == 0
    loaded = andon(fresh_db_url, "demo", "load", "--items", "20", "--days", "2")
    assert loaded.exit_code == 0, loaded.stderr
    db = Database(fresh_db_url)
    try:
        entries = counts(db)[2]
    finally:
        db.dispose()
    ok = andon(fresh_db_url, "audit", "verify")
    assert ok.exit_code == 0
    assert ok.stdout == f"OK: {entries} entries verified\n"
    tamper_with_entry(fresh_db_url, 3)
    broken = andon(fresh_db_url, "audit", "verify")
    assert broken.exit_code == 1
    assert broken.stdout == (
        "BROKEN at entry 3: content does not match its hash (2 entries before it verified)\n"
    )


def test_commands_on_an_unmigrated_database_point_to_db_upgrade(fresh_db_url: str) -> None:
    result = andon(fresh_db_url, "user", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: database: ")
    assert "andon db upgrade" in result.stderr


# --- help --------------------------------------------------------------------------------


def test_help_lists_every_command_group() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("serve", "db", "user", "token", "plant", "audit", "demo"):
        assert f" {group} " in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["db", "upgrade"],
        ["user", "create"],
        ["user", "set-role"],
        ["token", "create"],
        ["audit", "export"],
        ["plant", "add-line"],
        ["demo", "load"],
        ["serve"],
    ],
)
def test_each_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage: andon " + " ".join(command) in result.stdout


def test_help_does_not_import_fastapi() -> None:
    code = (
        "import sys, andon.cli.main; print('fastapi' in sys.modules, 'sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_plant_update_changes_given_fields_and_refuses_a_stale_version(
    db: Database, system: Context
) -> None:
    _, site, _, _ = make_plant(system)
    changed = andon(
        db.url,
        "plant",
        "update",
        "site",
        str(site.id),
        "--version",
        "1",
        "--timezone",
        "America/Denver",
        "--reason",
        "moved",
    )
    assert changed.exit_code == 0, changed.stderr
    assert "now v2" in changed.stdout
    stale = andon(db.url, "plant", "update", "site", str(site.id), "--version", "1", "--name", "X")
    assert stale.exit_code == 1
    assert "version 2" in stale.stderr
    wrong_field = andon(
        db.url, "plant", "update", "area", str(site.id), "--version", "1", "--timezone", "UTC"
    )
    assert wrong_field.exit_code != 0
    assert "timezone" in wrong_field.stderr
    from andon.plant import service as plant

    current = plant.get_site(system, site.id)
    assert (current.timezone, current.name, current.version) == ("America/Denver", "Chicago", 2)
