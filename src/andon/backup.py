"""Backup and restore: the database and the files it refers to, in one checked archive.

An archive is a tar file (gzip-compressed when its name ends in ``.gz`` or ``.tgz``) holding
the database (``database/andon.sqlite3``, a consistent copy made by SQLite's online backup
API, or ``database/andon.pgdump``, ``pg_dump --format=custom``), the work-item attachments
and uploaded analytics datasets under ``files/`` (paths relative to the data directory), and
``manifest.json`` last: format version, Andon version, database kind, schema revision, the
audit chain's head, and the size and SHA-256 of every other member. docs/operations.md
describes the checks a restore makes before it touches anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from andon import __version__
from andon.core import migrations
from andon.core.audit import AuditEntry, verify_chain
from andon.core.blobs import blob_path
from andon.core.clock import utcnow
from andon.core.database import create_db_engine, is_sqlite
from andon.core.errors import ConfigurationError, Conflict, InvalidInput

FORMAT = "andon-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/andon.sqlite3"
POSTGRES_MEMBER = "database/andon.pgdump"
FILES = "files/"
CHUNK = 1 << 20
# The maintenance database a restore connects to while it creates and renames databases.
MAINTENANCE_DATABASE = "postgres"
# How long a SQLite restore waits for others to let go of the database before refusing.
SQLITE_LOCK_SECONDS = 10.0


@dataclass(frozen=True)
class AuditHead:
    """The newest audit entry: its number, hash and time."""

    seq: int
    hash: str
    occurred_at: str

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "occurred_at": self.occurred_at}


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` says about an archive."""

    andon_version: str
    database: str
    schema_revision: str
    created_at: str
    audit_entries: int
    audit_head: AuditHead | None
    members: tuple[Member, ...]
    missing_files: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "andon_version": self.andon_version,
            "database": self.database,
            "schema_revision": self.schema_revision,
            "created_at": self.created_at,
            "audit_entries": self.audit_entries,
            "audit_head": self.audit_head.as_json() if self.audit_head else None,
            "members": [{"name": m.name, "size": m.size, "sha256": m.sha256} for m in self.members],
            "missing_files": list(self.missing_files),
        }

    @property
    def files(self) -> list[Member]:
        return [m for m in self.members if m.name.startswith(FILES)]

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        """Read a manifest; anything but this format's version 1 is refused."""
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise _damaged("manifest.json is not an Andon backup manifest")
            if data.get("format_version") != FORMAT_VERSION:
                raise _damaged(
                    f"backup format version {data.get('format_version')!r} is not one this "
                    f"Andon reads (it reads version {FORMAT_VERSION})"
                )
            head = data["audit_head"]
            return cls(
                andon_version=str(data["andon_version"]),
                database=str(data["database"]),
                schema_revision=str(data["schema_revision"]),
                created_at=str(data["created_at"]),
                audit_entries=int(data["audit_entries"]),
                audit_head=(
                    AuditHead(int(head["seq"]), str(head["hash"]), str(head["occurred_at"]))
                    if head
                    else None
                ),
                members=tuple(
                    Member(str(m["name"]), int(m["size"]), str(m["sha256"]))
                    for m in data["members"]
                ),
                missing_files=tuple(str(n) for n in data.get("missing_files", [])),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise _damaged(f"manifest.json is unreadable ({exc})") from None


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: Manifest
    size_bytes: int

    def as_json(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "ok": True,
            "file": str(self.path),
            "database": m.database,
            "schema_revision": m.schema_revision,
            "audit_entries": m.audit_entries,
            "audit_head": m.audit_head.as_json() if m.audit_head else None,
            "files": len(m.files),
            "missing_files": list(m.missing_files),
            "size_bytes": self.size_bytes,
            "created_at": m.created_at,
        }


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    manifest: Manifest
    schema_revision: str  # after the restore: the backup's, migrated up to this code's head
    audit_entries: int
    files: int
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "file": str(self.path),
            "database": self.manifest.database,
            "backup_schema_revision": self.manifest.schema_revision,
            "schema_revision": self.schema_revision,
            "audit_entries": self.audit_entries,
            "audit_head": self.manifest.audit_head.as_json() if self.manifest.audit_head else None,
            "files": self.files,
            "backup_created_at": self.manifest.created_at,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class DatabaseState:
    """What a backup records about the database, read in the same snapshot it copies."""

    schema_revision: str
    audit_entries: int
    audit_head: AuditHead | None
    attachment_hashes: list[str]


# Tables whose rows name a file in the blob store by its sha256.
BLOB_TABLES = ("attachments", "document_attachments")


def database_kind(url: str) -> str:
    return "sqlite" if is_sqlite(url) else "postgresql"


# --- backup ------------------------------------------------------------------------------


def create_backup(
    database_url: str, data_dir: Path, target: Path, *, overwrite: bool = False
) -> BackupResult:
    """Write one archive of the database and its files to ``target``.

    The archive is written beside ``target`` under a hidden temporary name and renamed at
    the end, so a failed backup leaves nothing half-written and an existing ``target`` is
    replaced only by a complete archive (and only with ``overwrite``). The database is
    copied as one consistent snapshot while the server keeps writing; the attachment files
    are the ones that snapshot refers to.
    """
    target = Path(target).absolute()
    if target.exists() and not overwrite:
        raise Conflict(f"{target} exists; choose a new name (or replace it with --overwrite)")
    if target.is_dir():
        raise InvalidInput.for_field("FILE", f"{target} is a directory")
    if is_sqlite(database_url) and _sqlite_path(database_url).absolute() == target:
        raise InvalidInput.for_field("FILE", "is the database itself; name a new file")
    if not target.parent.is_dir():
        raise InvalidInput.for_field("FILE", f"the folder {target.parent} does not exist")
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.staging-"))
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        if is_sqlite(database_url):
            member, dump, state = SQLITE_MEMBER, *_copy_sqlite(database_url, staging)
        else:
            member, dump, state = POSTGRES_MEMBER, *_dump_postgres(database_url, staging)
        manifest = _write_archive(partial, target.name, database_url, data_dir, member, dump, state)
        os.replace(partial, target)
        _sync_folder(target.parent)
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    return BackupResult(target, manifest, target.stat().st_size)


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (the folder's entry, not only the file's data)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ConfigurationError("ANDON_DATABASE_URL: an in-memory database cannot be backed up")
    return Path(database)


def _copy_sqlite(url: str, staging: Path) -> tuple[Path, DatabaseState]:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise ConfigurationError(f"ANDON_DATABASE_URL: {source_path} does not exist")
    copy = staging / "andon.sqlite3"
    # Read-only: a backup never writes to the live database.
    source = sqlite3.connect(
        f"file:{quote(str(source_path.absolute()))}?mode=ro", uri=True, timeout=30
    )
    target = sqlite3.connect(copy)
    try:
        # All pages in one step: the copy is one read transaction, a consistent snapshot,
        # while WAL lets the server keep committing beside it.
        source.backup(target)
        # One self-contained file: no -wal beside it.
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
        source.close()
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as connection:
            state = _read_state(connection)
    finally:
        engine.dispose()
    return copy, state


def _read_state(connection: Connection) -> DatabaseState:
    tables = set(inspect(connection).get_table_names())
    revision = None
    if "alembic_version" in tables:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if not revision or "audit_entries" not in tables:
        raise Conflict("the database has no Andon schema yet; there is nothing to back up")
    count = connection.execute(select(func.count()).select_from(AuditEntry)).scalar() or 0
    last = connection.execute(
        select(AuditEntry.seq, AuditEntry.hash, AuditEntry.occurred_at)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    head = AuditHead(last.seq, last.hash, last.occurred_at.isoformat()) if last else None
    # Plain names, not the domains' models: core never imports a domain's tables.
    selects = [f"SELECT sha256 FROM {t}" for t in BLOB_TABLES if t in tables]  # noqa: S608
    hashes: list[str] = []
    if selects:
        union = " UNION ".join(selects)
        hashes = list(connection.execute(text(f"{union} ORDER BY 1")).scalars())
    return DatabaseState(str(revision), count, head, hashes)


def _dump_postgres(url: str, staging: Path) -> tuple[Path, DatabaseState]:
    dump = staging / "andon.pgdump"
    conninfo, env = libpq_target(make_url(url))
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
            connection.execute(text("SET TRANSACTION READ ONLY"))
            check_tool_version("pg_dump", _server_version_num(connection))
            # pg_dump joins this transaction's snapshot, so the dump and what the manifest
            # says about it (revision, audit head, attachments) are the same moment.
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            state = _read_state(connection)
            _run_tool(
                [
                    "pg_dump",
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={dump}",
                    f"--dbname={conninfo}",
                ],
                env,
            )
            connection.rollback()
    finally:
        engine.dispose()
    return dump, state


def _write_archive(
    partial: Path,
    target_name: str,
    database_url: str,
    data_dir: Path,
    member: str,
    dump: Path,
    state: DatabaseState,
) -> Manifest:
    created_at = utcnow()
    files, missing = _data_files(Path(data_dir), state.attachment_hashes)
    members: list[Member] = []
    # The archive holds password hashes and every record: only its owner may read it.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw:
        with _tar_writer(raw, target_name) as archive:
            members.append(_add(archive, member, dump, created_at))
            for relative, path in files:
                try:
                    members.append(_add(archive, FILES + relative, path, created_at))
                except FileNotFoundError:
                    missing.append(relative)  # removed since it was listed (a deleted dataset)
            manifest = Manifest(
                andon_version=__version__,
                database=database_kind(database_url),
                schema_revision=state.schema_revision,
                created_at=created_at.isoformat(),
                audit_entries=state.audit_entries,
                audit_head=state.audit_head,
                members=tuple(members),
                missing_files=tuple(sorted(missing)),
            )
            body = json.dumps(manifest.as_json(), indent=2).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(created_at.timestamp()), 0o600
            archive.addfile(info, _BytesReader(body))
        # On disk before the rename: a crash never leaves a complete name on a partial file.
        raw.flush()
        os.fsync(raw.fileno())
    return manifest


def _tar_writer(raw: IO[bytes], target_name: str) -> tarfile.TarFile:
    if target_name.endswith((".gz", ".tgz")):
        # Level 6: nearly the size of 9 at a fraction of the time on a large database.
        return tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6)
    return tarfile.open(fileobj=raw, mode="w")


def _data_files(
    data_dir: Path, attachment_hashes: list[str]
) -> tuple[list[tuple[str, Path]], list[str]]:
    """The files under the data directory a backup holds, as (relative path, path) pairs.

    Attachments are the blobs the database refers to; a blob it refers to that is gone is
    listed as missing. Datasets are every uploaded dataset whose metadata file exists (a
    dataset exists once its ``.json`` does) with the files named after it; imports still
    running are left out.
    """
    # The datasets' layout is the analytics package's (written down once, there); imported
    # late so the other `andon db` commands start without it.
    from andon.analytics.dataset_store import root as datasets_root

    files: list[tuple[str, Path]] = []
    missing: list[str] = []
    for digest in attachment_hashes:
        path = blob_path(data_dir, digest)
        relative = path.relative_to(data_dir).as_posix()
        if path.is_file():
            files.append((relative, path))
        else:
            missing.append(relative)
    folder = datasets_root(data_dir)
    if folder.is_dir():
        names = sorted(p.name for p in folder.iterdir() if p.is_file())
        ids = {n.removesuffix(".json") for n in names if _is_dataset_meta(n)}
        for name in names:
            if name.split(".", 1)[0] in ids:
                path = folder / name
                files.append((path.relative_to(data_dir).as_posix(), path))
    return files, missing


def _is_dataset_meta(name: str) -> bool:
    return name.endswith(".json") and name.count(".") == 1 and not name.startswith(".")


def _add(archive: tarfile.TarFile, name: str, path: Path, created_at: datetime) -> Member:
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, int(created_at.timestamp()), 0o600
        reader = _HashingReader(file)
        archive.addfile(info, reader)
    return Member(name, size, reader.digest.hexdigest())


class _HashingReader:
    """A file the tar reads through, hashing what it reads on the way."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.digest.update(data)
        return data


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.offset + size
        chunk = self.data[self.offset : end]
        self.offset += len(chunk)
        return chunk


# --- PostgreSQL tools ----------------------------------------------------------------------

# libpq keywords a SQLAlchemy URL's query may carry (sslmode=require etc.), passed through.
_LIBPQ_QUERY_KEYS = {
    "host",
    "hostaddr",
    "port",
    "sslmode",
    "sslcert",
    "sslkey",
    "sslrootcert",
    "sslcrl",
    "sslpassword",
    "application_name",
    "connect_timeout",
    "options",
    "target_session_attrs",
    "gssencmode",
    "passfile",
    "service",
}


def libpq_target(url: URL, database: str | None = None) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the tools, and the environment to run them with.

    The password goes in ``PGPASSWORD``, never on the command line where any user of the
    machine could read it (``ps``); the connection string is one ``--dbname`` argument.
    """
    from psycopg.conninfo import make_conninfo

    params: dict[str, Any] = {"dbname": database or url.database}
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = url.port
    if url.username:
        params["user"] = url.username
    for key, value in url.query.items():
        if key in _LIBPQ_QUERY_KEYS:
            params[key] = value if isinstance(value, str) else value[-1]
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return make_conninfo(**params), env


def _server_version_num(connection: Connection) -> int:
    return int(connection.execute(text("SHOW server_version_num")).scalar_one())


def tool_major_version(version_text: str) -> int:
    """The major version in ``pg_dump --version`` output: 15 from ``pg_dump (PostgreSQL) 15.4``."""
    found = re.search(r"\(PostgreSQL\)\s*(\d+)", version_text) or re.search(r"(\d+)", version_text)
    if found is None:
        raise ConfigurationError(f"cannot read a version in {version_text.strip()!r}")
    return int(found.group(1))


def refuse_older_tool(tool: str, version_text: str, server_version_num: int) -> None:
    """Refuse a pg_dump/pg_restore older than the server: it cannot read a newer catalogue.

    ``server_version_num`` is ``SHOW server_version_num`` (150004 for 15.4).
    """
    tool_major = tool_major_version(version_text)
    server_major = server_version_num // 10000
    if tool_major < server_major:
        raise ConfigurationError(
            f"{tool} is version {tool_major} and the server is PostgreSQL {server_major}: "
            f"install the PostgreSQL {server_major} client tools (or newer) and try again"
        )


def check_tool_version(tool: str, server_version_num: int) -> None:
    refuse_older_tool(tool, _run_tool([tool, "--version"], None), server_version_num)


def _run_tool(args: list[str], env: dict[str, str] | None) -> str:
    if shutil.which(args[0]) is None:
        raise ConfigurationError(
            f"{args[0]} is not installed (it ships with the PostgreSQL client tools)"
        )
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise Conflict(f"{args[0]} failed: {detail[0] if detail else f'exit {done.returncode}'}")
    return done.stdout


# --- restore -----------------------------------------------------------------------------


def read_manifest(archive_path: Path) -> Manifest:
    """The archive's manifest, without extracting anything."""
    with _open_archive(archive_path) as archive:
        return _manifest_of(archive)


def restore_backup(
    database_url: str, data_dir: Path, archive_path: Path, *, force: bool = False
) -> RestoreResult:
    """Restore an archive into the configured database and data directory.

    Checks before anything changes: the manifest's format, that this code knows the
    backup's schema revision, the database kind, that the target holds no data (unless
    ``force``), and every member's size and SHA-256. The database is then rebuilt aside
    (SQLite: a temporary file next to the target; PostgreSQL: a new scratch database),
    migrated up if the backup is older, and its audit chain verified against the manifest's
    head; only then does it replace the target in one step (a rename). The files follow.
    Any failure before the rename leaves the database and the data directory as they were.
    """
    archive_path = Path(archive_path)
    data_dir = Path(data_dir)
    kind = database_kind(database_url)
    notes: list[str] = []
    with _open_archive(archive_path) as archive:
        manifest = _manifest_of(archive)
        if manifest.schema_revision not in migrations.known_revisions():
            raise Conflict(
                f"the backup's schema revision {manifest.schema_revision} is unknown to this "
                f"Andon {__version__} (newest known: {migrations.head_revision()}): it was "
                f"made by a newer Andon; restore it with that version or newer"
            )
        if manifest.database != kind:
            raise Conflict(
                f"the backup is of a {manifest.database} database and ANDON_DATABASE_URL is "
                f"{kind}; restore it into a {manifest.database} database"
            )
        if not force:
            rows = _rows_in(database_url)
            if rows:
                raise Conflict(
                    f"the database is not empty ({rows} rows); restoring would replace "
                    f"it: pass --force to do that"
                )
        data_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=data_dir, prefix=".restore-"))
        try:
            dump = _extract_checked(archive, manifest, staging)
            if kind == "sqlite":
                count = _restore_sqlite(database_url, dump, manifest)
            else:
                count = _restore_postgres(database_url, dump, manifest, notes)
            placed = _place_files(staging, data_dir, manifest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    notes += [f"missing from the backup: {name}" for name in manifest.missing_files]
    return RestoreResult(archive_path, manifest, migrations.head_revision(), count, placed, notes)


@contextlib.contextmanager
def _open_archive(path: Path) -> Iterator[tarfile.TarFile]:
    if not path.is_file():
        raise InvalidInput.for_field("FILE", f"{path} does not exist")
    try:
        archive = tarfile.open(path, mode="r:*")  # noqa: SIM115 - closed below, after the check
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _damaged(f"{path} is not a readable backup archive ({exc})") from None
    with archive:
        yield archive


def _manifest_of(archive: tarfile.TarFile) -> Manifest:
    try:
        info = archive.getmember(MANIFEST)
        file = archive.extractfile(info)
    except (KeyError, tarfile.TarError, EOFError, OSError):
        raise _damaged(
            "the archive has no readable manifest.json (incomplete or not a backup)"
        ) from None
    if file is None:
        raise _damaged("manifest.json is not a file")
    return Manifest.parse(file.read())


def _extract_checked(archive: tarfile.TarFile, manifest: Manifest, staging: Path) -> Path:
    """Extract every member into ``staging``, checking names, sizes and SHA-256 on the way."""
    expected = {m.name: m for m in manifest.members}
    database_member = SQLITE_MEMBER if manifest.database == "sqlite" else POSTGRES_MEMBER
    if database_member not in expected:
        raise _damaged(f"the manifest names no {database_member}")
    seen: set[str] = set()
    try:
        for info in archive:
            if info.name == MANIFEST:
                continue
            member = expected.get(info.name)
            if member is None or not info.isfile() or info.name in seen:
                raise _damaged(f"{info.name} is in the archive but not in its manifest")
            seen.add(info.name)
            target = staging / _safe_relative(info.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            size = 0
            source = archive.extractfile(info)
            assert source is not None  # a regular file, checked above
            with target.open("wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if size != member.size or digest.hexdigest() != member.sha256:
                raise _damaged(f"{info.name} does not match its checksum in the manifest")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _damaged(f"the archive is truncated or unreadable ({exc})") from None
    absent = sorted(set(expected) - seen)
    if absent:
        raise _damaged(f"{absent[0]} is named by the manifest but missing from the archive")
    return staging / _safe_relative(database_member)


def _safe_relative(name: str) -> Path:
    """A member name as a relative path that cannot leave the folder it is extracted to."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise _damaged(f"member name {name!r} points outside the archive's folders")
    return Path(*path.parts)


def _rows_in(database_url: str) -> int:
    """How many rows the target's tables hold (alembic_version aside); 0 when it is absent."""
    if is_sqlite(database_url):
        if not _sqlite_path(database_url).exists():
            return 0
    elif not _postgres_database_exists(make_url(database_url)):
        return 0
    engine = create_db_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            total = 0
            for table in inspect(connection).get_table_names():
                if table != "alembic_version":
                    quoted = connection.dialect.identifier_preparer.quote(table)
                    total += connection.execute(text(f"SELECT count(*) FROM {quoted}")).scalar_one()  # noqa: S608
            return total
    finally:
        engine.dispose()


def _verify_restored(engine: Engine, manifest: Manifest) -> int:
    """Migrate the rebuilt database up to head and check its audit chain against the manifest."""
    migrations.upgrade(engine)
    with Session(engine) as session:
        result = verify_chain(session)
        last = session.execute(
            select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
        ).first()
    if not result.ok:
        raise Conflict(
            f"the restored audit trail does not verify: entry {result.broken_seq}: "
            f"{result.problem}; nothing was changed"
        )
    head = manifest.audit_head
    found = (last.seq, last.hash) if last else None
    if result.count != manifest.audit_entries or found != ((head.seq, head.hash) if head else None):
        raise Conflict(
            f"the restored audit trail ({result.count} entries) is not the one the manifest "
            f"records ({manifest.audit_entries} entries); nothing was changed"
        )
    return result.count


def _restore_sqlite(database_url: str, dump: Path, manifest: Manifest) -> int:
    target = _sqlite_path(database_url).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Next to the target, so the final replace is a rename within one file system.
    rebuilt = target.with_name(f".{target.name}.restore-{uuid.uuid4().hex[:8]}")
    try:
        shutil.copyfile(dump, rebuilt)
        check = sqlite3.connect(rebuilt)
        try:
            problems = [row[0] for row in check.execute("PRAGMA integrity_check")]
        finally:
            check.close()
        if problems != ["ok"]:
            raise _damaged(f"the database in the backup is corrupt: {problems[0]}")
        engine = create_db_engine(f"sqlite:///{rebuilt}")
        try:
            count = _verify_restored(engine, manifest)
        finally:
            engine.dispose()
        _fold_wal(rebuilt)
        if target.exists():
            # The old file's committed WAL frames go into it first: a -wal left beside the
            # new file would otherwise be read as part of it.
            _fold_wal(target)
        os.replace(rebuilt, target)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{rebuilt}{suffix}").unlink(missing_ok=True)
    return count


def _fold_wal(path: Path) -> None:
    """Checkpoint the write-ahead log into the file and leave it in rollback-journal mode."""
    in_use = Conflict(
        f"{path} is in use (a server, worker or other session has it open); stop them and "
        "try again; nothing was changed"
    )
    connection = sqlite3.connect(path, timeout=SQLITE_LOCK_SECONDS)
    try:
        busy = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy and busy[0]:
            raise in_use
        connection.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise in_use from None
        raise
    finally:
        connection.close()


def _maintenance(url: URL) -> Any:
    import psycopg

    conninfo, env = libpq_target(url, MAINTENANCE_DATABASE)
    return psycopg.connect(conninfo, password=env.get("PGPASSWORD"), autocommit=True)


def _postgres_database_exists(url: URL) -> bool:
    with _maintenance(url) as admin:
        found = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [url.database]
        ).fetchone()
        return found is not None


def _restore_postgres(database_url: str, dump: Path, manifest: Manifest, notes: list[str]) -> int:
    """Restore into a scratch database, verify it, then swap it in by renaming.

    The two renames run in one transaction, so the configured name points at the old
    database or at the verified new one, never at a half-restored one. The replaced
    database is dropped afterwards.
    """
    from psycopg import errors, sql

    def rename(old: str, new: str) -> sql.Composed:
        return sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(old), sql.Identifier(new)
        )

    url = make_url(database_url)
    name = str(url.database)
    scratch = f"{name[:40]}_restore_{uuid.uuid4().hex[:12]}"
    replaced = f"{name[:40]}_replaced_{uuid.uuid4().hex[:12]}"
    with _maintenance(url) as admin:
        server = int(admin.execute("SHOW server_version_num").fetchone()[0])
        check_tool_version("pg_restore", server)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        swapped = False
        try:
            conninfo, env = libpq_target(url, scratch)
            # One transaction: a failed pg_restore leaves the scratch database empty, and the
            # scratch database is dropped anyway; the target is never written.
            _run_tool(
                [
                    "pg_restore",
                    "--single-transaction",
                    "--exit-on-error",
                    "--no-owner",
                    "--no-privileges",
                    f"--dbname={conninfo}",
                    str(dump),
                ],
                env,
            )
            engine = create_db_engine(
                url.set(database=scratch).render_as_string(False), pool_size=1
            )
            try:
                count = _verify_restored(engine, manifest)
            finally:
                engine.dispose()
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            try:
                with admin.transaction():
                    if exists:
                        admin.execute(rename(name, replaced))
                    admin.execute(rename(scratch, name))
            except errors.ObjectInUse:
                raise Conflict(
                    f"the database {name} is in use (a server, worker or other session is "
                    "connected); stop them and try again; nothing was changed"
                ) from None
            swapped = True
            if exists:
                try:
                    admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(replaced)))
                except errors.Error as exc:
                    notes.append(f"the replaced database {replaced} is left behind ({exc})")
        finally:
            if not swapped:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))
    return count


def _place_files(staging: Path, data_dir: Path, manifest: Manifest) -> int:
    """Move the archive's files into the data directory; files not in it are left alone."""
    placed = 0
    for member in manifest.files:
        relative = _safe_relative(member.name.removeprefix(FILES))
        source = staging / _safe_relative(member.name)
        target = data_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)  # the staging folder is inside the data directory
        placed += 1
    return placed


def _damaged(detail: str) -> InvalidInput:
    return InvalidInput(f"FILE: {detail}", [])
