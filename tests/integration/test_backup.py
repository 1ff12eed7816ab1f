"""`andon db backup|restore`: a restore gives back the database and its files, or nothing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from andon import backup as backup_module
from andon.analytics import dataset_imports
from andon.backup import MANIFEST, POSTGRES_MEMBER, SQLITE_MEMBER
from andon.cli.main import app
from andon.core import migrations
from andon.core.config import Settings
from andon.core.database import Database, create_db_engine, is_sqlite
from andon.core.uow import Context
from andon.models import metadata
from andon.plant import service as plant
from andon.plant.schemas import EnterpriseCreate
from andon.work import attachments, items
from andon.work.schemas import ItemMove
from tests.conftest import PG_ADMIN_DSN, scratch_pg_database
from tests.factories import (
    Floor,
    make_floor,
    new_item,
    tamper_with_entry,
    wait_until_import_settled,
)

runner = CliRunner()
ISOLATED_SETTINGS = ("SECRET_KEY", "DEMO", "HOST", "PORT", "TIMEZONE")
EVENT_LOG = (
    b"case_id,activity,timestamp\n"
    b"1,receive,2026-01-05T08:00:00Z\n1,ship,2026-01-05T09:30:00Z\n"
    b"2,receive,2026-01-05T08:10:00Z\n2,ship,2026-01-05T10:00:00Z\n"
)


def andon(db_url: str, data_dir: Path, *args: str) -> Result:
    env: dict[str, str | None] = {f"ANDON_{name}": None for name in ISOLATED_SETTINGS}
    env["ANDON_DATABASE_URL"] = db_url
    env["ANDON_DATA_DIR"] = str(data_dir)
    return runner.invoke(app, list(args), env=env)


@contextmanager
def another_database(like: str, tmp_path: Path, name: str) -> Iterator[str]:
    """A new, empty database of the same kind as ``like``, dropped afterwards."""
    if is_sqlite(like):
        yield f"sqlite:///{tmp_path / name / 'andon.db'}"
        return
    with scratch_pg_database(f"andon_{name}_{uuid.uuid4().hex[:12]}") as url:
        yield url


@pytest.fixture
def target_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the same kind as the test database."""
    with another_database(db_url, tmp_path, "restored") as url:
        yield url


@pytest.fixture
def floor(system: Context) -> Floor:
    return make_floor(system)


def table_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every Andon table's rows, ordered by primary key."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def data_files(data_dir: Path) -> dict[str, str]:
    """SHA-256 of the attachments and datasets under a data directory, by relative path.

    A dataset's prepared form (``<id>.prepared/``) is left out: it is derived from the kept
    rows, not backed up, and prepared again on the first filter after a restore."""
    found = {}
    for folder in ("attachments", "analytics"):
        for path in sorted((data_dir / folder).rglob("*")):
            relative = path.relative_to(data_dir)
            derived = any(part.endswith(".prepared") for part in relative.parts)
            if path.is_file() and "imports" not in relative.parts and not derived:
                found[relative.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def fill_plant(system: Context, floor: Floor, settings: Settings) -> None:
    """Items moved, a file attached and an event log uploaded: rows and files to back up."""
    first, second = new_item(system, floor), new_item(system, floor)
    items.move_item(system, first.id, ItemMove(to="plan", version=first.version))
    attachments.attach_file(
        system,
        second.id,
        "torque.csv",
        "text/csv",
        b"bolt,nm\nmain,11.8\n",
        storage=settings.data_dir,
    )
    dataset = dataset_imports.import_now(
        system,
        settings.data_dir,
        "shipping.csv",
        io.BytesIO(EVENT_LOG),
        dataset_imports.ImportOptions(name="shipping"),
        max_bytes=1_000_000,
    )
    wait_until_import_settled(settings.data_dir, dataset.id)


def backup(settings: Settings, path: Path, *extra: str) -> dict[str, Any]:
    result = andon(
        settings.resolved_database_url,
        settings.data_dir,
        "db",
        "backup",
        str(path),
        "--json",
        *extra,
    )
    assert result.exit_code == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def rewrite_archive(source: Path, target: Path, change: dict[str, bytes | None]) -> None:
    """Copy an archive with some members' bytes replaced (None: left out)."""
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
        for info in old:
            data = old.extractfile(info)
            assert data is not None
            body = change.get(info.name, data.read())
            if body is None:
                continue
            info.size = len(body)
            new.addfile(info, io.BytesIO(body))


def manifest_of(path: Path) -> dict[str, Any]:
    with tarfile.open(path) as archive:
        member = archive.extractfile(MANIFEST)
        assert member is not None
        document: dict[str, Any] = json.loads(member.read())
        return document


def test_restore_into_a_new_database_equals_the_backup_table_by_table_with_its_files(
    system: Context, floor: Floor, settings: Settings, target_url: str, tmp_path: Path
) -> None:
    fill_plant(system, floor, settings)
    archive = tmp_path / "plant.tar"
    taken = backup(settings, archive)
    restored_dir = tmp_path / "restored-data"

    result = andon(target_url, restored_dir, "db", "restore", str(archive), "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    source_rows = table_rows(settings.resolved_database_url)
    assert report["ok"] is True
    assert report["database"] == ("sqlite" if is_sqlite(target_url) else "postgresql")
    assert report["schema_revision"] == migrations.head_revision()
    assert report["audit_entries"] == taken["audit_entries"] == len(source_rows["audit_entries"])
    assert report["files"] == taken["files"] == 4  # one attachment; dataset meta, rows, report
    assert table_rows(target_url) == source_rows
    assert data_files(restored_dir) == data_files(settings.data_dir)
    assert len(data_files(restored_dir)) == 4
    verified = andon(target_url, restored_dir, "audit", "verify")
    assert verified.exit_code == 0
    assert verified.stdout.strip() == f"OK: {taken['audit_entries']} entries verified"


def test_backup_while_items_move_restores_one_consistent_moment(
    system: Context, db: Database, floor: Floor, settings: Settings, target_url: str, tmp_path: Path
) -> None:
    writer = Context(db, system.actor)
    stop = threading.Event()
    rounds: list[int] = []
    failures: list[BaseException] = []

    def keep_moving() -> None:
        try:
            while not stop.is_set():
                item = new_item(writer, floor)
                item = items.move_item(writer, item.id, ItemMove(to="plan", version=item.version))
                items.move_item(writer, item.id, ItemMove(to="kit", version=item.version))
                rounds.append(item.id)
        except BaseException as exc:  # reported by the test below, not lost in the thread
            failures.append(exc)

    thread = threading.Thread(target=keep_moving)
    thread.start()
    try:
        while len(rounds) < 3 and thread.is_alive():
            stop.wait(0.01)
        archive = tmp_path / "busy.tar"
        backup(settings, archive)
        after_backup = len(rounds)
        while len(rounds) < after_backup + 2 and thread.is_alive():
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join()
    assert failures == []

    restored = andon(target_url, tmp_path / "restored-data", "db", "restore", str(archive))

    assert restored.exit_code == 0, restored.stderr
    source, copy = table_rows(settings.resolved_database_url), table_rows(target_url)
    # The writer kept going after the backup: the copy is a strict, earlier prefix.
    assert 0 < len(copy["audit_entries"]) < len(source["audit_entries"])
    assert copy["audit_entries"] == source["audit_entries"][: len(copy["audit_entries"])]
    assert copy["work_events"] == source["work_events"][: len(copy["work_events"])]
    # Each restored item is where its own restored events put it: nothing half-written.
    columns = [c.name for c in metadata.tables["work_items"].columns]
    event_columns = [c.name for c in metadata.tables["work_events"].columns]
    last_move: dict[int, str] = {}
    for event in copy["work_events"]:
        fields = dict(zip(event_columns, event, strict=True))
        if fields["kind"] == "moved":
            last_move[fields["case_id"]] = fields["attributes"]["to"]
    for row in copy["work_items"]:
        item = dict(zip(columns, row, strict=True))
        assert item["stage"] == last_move.get(item["id"], "intake")
    assert andon(target_url, tmp_path, "audit", "verify").exit_code == 0


def test_an_older_backup_is_migrated_up_on_restore(
    tmp_path: Path, db_url: str, target_url: str
) -> None:
    archive = tmp_path / "old.tar"
    with another_database(db_url, tmp_path, "old") as old_url:
        engine = create_db_engine(old_url)
        migrations.upgrade(engine, "0005")
        engine.dispose()
        taken = andon(old_url, tmp_path / "old-data", "db", "backup", str(archive))
    assert taken.exit_code == 0, taken.stderr

    restored = andon(target_url, tmp_path / "new-data", "db", "restore", str(archive), "--json")

    assert restored.exit_code == 0, restored.stderr
    report = json.loads(restored.stdout)
    assert report["backup_schema_revision"] == "0005"
    assert report["schema_revision"] == migrations.head_revision()
    engine = create_db_engine(target_url)
    assert migrations.current(engine) == migrations.head_revision()
    engine.dispose()


def test_a_backup_from_newer_code_is_refused_and_the_database_is_unchanged(
    system: Context, floor: Floor, settings: Settings, tmp_path: Path
) -> None:
    fill_plant(system, floor, settings)
    archive, newer = tmp_path / "plant.tar", tmp_path / "newer.tar"
    backup(settings, archive)
    manifest = manifest_of(archive)
    manifest["schema_revision"] = "9999"
    rewrite_archive(archive, newer, {MANIFEST: json.dumps(manifest).encode()})
    plant.create_enterprise(system, EnterpriseCreate(name="Made after the backup"))
    before_rows, before_files = (
        table_rows(settings.resolved_database_url),
        data_files(settings.data_dir),
    )

    result = andon(
        settings.resolved_database_url, settings.data_dir, "db", "restore", str(newer), "--force"
    )

    assert result.exit_code == 1
    assert "schema revision 9999 is unknown to this Andon" in result.stderr
    assert table_rows(settings.resolved_database_url) == before_rows
    assert data_files(settings.data_dir) == before_files


def test_a_corrupted_member_is_refused_and_the_database_is_unchanged(
    system: Context, floor: Floor, settings: Settings, tmp_path: Path
) -> None:
    fill_plant(system, floor, settings)
    archive, damaged = tmp_path / "plant.tar", tmp_path / "damaged.tar"
    backup(settings, archive)
    with tarfile.open(archive) as source:
        name = next(n for n in source.getnames() if n.startswith("files/attachments/"))
        original = source.extractfile(name)
        assert original is not None
        body = bytearray(original.read())
    body[0] ^= 0xFF
    rewrite_archive(archive, damaged, {name: bytes(body)})
    plant.create_enterprise(system, EnterpriseCreate(name="Made after the backup"))
    before_rows, before_files = (
        table_rows(settings.resolved_database_url),
        data_files(settings.data_dir),
    )

    result = andon(
        settings.resolved_database_url, settings.data_dir, "db", "restore", str(damaged), "--force"
    )

    assert result.exit_code == 1
    assert f"{name} does not match its checksum" in result.stderr
    assert table_rows(settings.resolved_database_url) == before_rows
    assert data_files(settings.data_dir) == before_files
    assert not [p for p in settings.data_dir.iterdir() if p.name.startswith(".restore-")]


def test_an_archive_missing_its_database_is_refused(
    system: Context, floor: Floor, settings: Settings, target_url: str, tmp_path: Path
) -> None:
    archive, cut = tmp_path / "plant.tar", tmp_path / "cut.tar"
    backup(settings, archive)
    member = SQLITE_MEMBER if is_sqlite(target_url) else POSTGRES_MEMBER
    rewrite_archive(archive, cut, {member: None})

    result = andon(target_url, tmp_path / "new-data", "db", "restore", str(cut))

    assert result.exit_code == 1
    assert f"{member} is named by the manifest but missing from the archive" in result.stderr
    engine = create_db_engine(target_url)
    try:
        assert migrations.current(engine) is None
    finally:
        engine.dispose()


def test_restore_over_a_database_with_data_needs_force(
    system: Context, floor: Floor, settings: Settings, tmp_path: Path
) -> None:
    fill_plant(system, floor, settings)
    archive = tmp_path / "plant.tar"
    backup(settings, archive)
    at_backup = table_rows(settings.resolved_database_url)
    plant.create_enterprise(system, EnterpriseCreate(name="Made after the backup"))
    before = table_rows(settings.resolved_database_url)
    url = settings.resolved_database_url
    system.db.dispose()  # the restore renames the database: nobody may be connected

    refused = andon(url, settings.data_dir, "db", "restore", str(archive))

    assert refused.exit_code == 1
    assert "the database is not empty" in refused.stderr
    assert "pass --force" in refused.stderr
    assert table_rows(url) == before

    forced = andon(url, settings.data_dir, "db", "restore", str(archive), "--force")

    assert forced.exit_code == 0, forced.stderr
    assert table_rows(url) == at_backup


def test_backup_refuses_to_overwrite_a_file_unless_told(
    system: Context, floor: Floor, settings: Settings, tmp_path: Path
) -> None:
    archive = tmp_path / "plant.tar"
    archive.write_bytes(b"yesterday's backup")

    refused = andon(settings.resolved_database_url, settings.data_dir, "db", "backup", str(archive))

    assert refused.exit_code == 1
    assert "exists" in refused.stderr
    assert archive.read_bytes() == b"yesterday's backup"
    replaced = backup(settings, archive, "--overwrite")
    assert replaced["audit_entries"] == len(
        table_rows(settings.resolved_database_url)["audit_entries"]
    )
    assert manifest_of(archive)["audit_entries"] == replaced["audit_entries"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".plant.tar")] == []


def test_a_failed_backup_leaves_no_file(target_url: str, tmp_path: Path) -> None:
    engine = create_db_engine(target_url)  # creates the database file, with no tables
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    engine.dispose()
    archive = tmp_path / "plant.tar"

    result = andon(target_url, tmp_path / "data", "db", "backup", str(archive))

    assert result.exit_code == 1
    assert "no Andon schema yet" in result.stderr
    assert [p.name for p in tmp_path.iterdir() if "plant.tar" in p.name] == []


def test_restore_refuses_a_database_in_use_and_changes_nothing(
    system: Context,
    floor: Floor,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(backup_module, "SQLITE_LOCK_SECONDS", 0.2)
    archive = tmp_path / "plant.tar"
    backup(settings, archive)
    plant.create_enterprise(system, EnterpriseCreate(name="Made after the backup"))
    url = settings.resolved_database_url
    before = table_rows(url)
    try:
        # A server's connection, in the middle of reading.
        with system.db.engine.connect() as session:
            session.execute(select(func.count()).select_from(metadata.tables["work_items"]))

            result = andon(url, settings.data_dir, "db", "restore", str(archive), "--force")

        assert result.exit_code == 1
        assert "is in use (a server, worker or other session" in result.stderr
        assert table_rows(url) == before
        if is_sqlite(url):
            left = [p.name for p in Path(str(make_url(url).database)).parent.iterdir()]
            assert [name for name in left if ".restore-" in name] == []
        else:
            with psycopg.connect(PG_ADMIN_DSN) as admin:
                scratch = admin.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s",
                    [f"{make_url(url).database}_restore_%"],
                ).fetchall()
            assert scratch == []
    finally:
        system.db.dispose()


def test_a_backup_whose_audit_chain_is_broken_is_not_restored(
    system: Context, floor: Floor, settings: Settings, target_url: str, tmp_path: Path
) -> None:
    tamper_with_entry(settings.resolved_database_url, 2)
    archive = tmp_path / "tampered.tar"
    backup(settings, archive)
    restored_dir = tmp_path / "restored-data"

    result = andon(target_url, restored_dir, "db", "restore", str(archive))

    assert result.exit_code == 1
    assert "the restored audit trail does not verify: entry 2" in result.stderr
    assert table_rows_or_none(target_url) is None
    assert not restored_dir.exists() or list(restored_dir.iterdir()) == []


def test_a_manifest_naming_another_audit_head_is_refused(
    system: Context, floor: Floor, settings: Settings, target_url: str, tmp_path: Path
) -> None:
    archive, edited = tmp_path / "plant.tar", tmp_path / "edited.tar"
    backup(settings, archive)
    manifest = manifest_of(archive)
    manifest["audit_head"]["hash"] = "f" * 64
    rewrite_archive(archive, edited, {MANIFEST: json.dumps(manifest).encode()})

    result = andon(target_url, tmp_path / "restored-data", "db", "restore", str(edited))

    assert result.exit_code == 1
    assert "is not the one the manifest records" in result.stderr
    assert table_rows_or_none(target_url) is None


def table_rows_or_none(url: str) -> dict[str, list[tuple[Any, ...]]] | None:
    """The rows of a database, or None while it has no Andon schema (or does not exist)."""
    if is_sqlite(url) and not Path(str(make_url(url).database)).exists():
        return None
    engine = create_db_engine(url)
    try:
        if migrations.current(engine) is None:
            return None
    finally:
        engine.dispose()
    return table_rows(url)


def test_a_pg_dump_older_than_the_server_is_refused_before_writing(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "old-client"
    tools.mkdir()
    fake = tools / "pg_dump"
    fake.write_text('#!/bin/sh\necho "pg_dump (PostgreSQL) 9.6.24"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    archive = tmp_path / "plant.tar"

    result = andon(pg_url, tmp_path / "data", "db", "backup", str(archive))

    assert result.exit_code == 2
    assert result.stderr.startswith("error: pg_dump is version 9 and the server is PostgreSQL ")
    assert [p.name for p in tmp_path.iterdir() if "plant.tar" in p.name] == []
