"""Bulk import of work items from CSV: every row checked first, then all created or none."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from andon.accounts.models import User
from andon.core.clock import utcnow
from andon.core.errors import FieldError, InvalidInput, PermissionDenied
from andon.core.permissions import MATRIX, Action, Scope, authorize
from andon.core.uow import Context
from andon.plant.models import Area, Line, Site
from andon.processes.models import Process, ProcessVersion
from andon.processes.service import spec_of
from andon.processes.spec import ProcessSpec
from andon.work.intake import validate_fields
from andon.work.items import create_item
from andon.work.models import LineState
from andon.work.schemas import ItemCreate

MAX_ROWS = 10_000
REQUIRED = ("process", "line")
# CSV column → ItemCreate field; every other column is an intake field.
COLUMNS = {
    "process": "process",
    "line": "line_id",
    "title": "title",
    "product": "product",
    "quantity": "quantity",
    "priority": "priority",
    "assignee": "assignee_id",
}
FIELD_PREFIX = "fields."
EXTRA_CELLS = "(extra cells)"
_CHUNK = 500


@dataclass(frozen=True)
class RejectedRow:
    """A row that cannot be imported: its first line in the file, why, and its cells."""

    line: int
    errors: list[str]
    raw: dict[str, str]


@dataclass(frozen=True)
class ImportReport:
    created_ids: list[int] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)


@dataclass(frozen=True)
class _Column:
    name: str  # as written in the header
    target: str  # an ItemCreate field, or an intake field key
    intake: bool


@dataclass(frozen=True)
class _LinePlace:
    id: int
    label: str  # SITE/AREA/LINE
    scope: Scope


@dataclass
class _References:
    """What rows refer to, read once: processes, lines by code, users, stopped lines."""

    processes: dict[str, tuple[bool, ProcessSpec]]
    lines: dict[str, list[_LinePlace]]  # "L1", "ASM/L1" and "CHI/ASM/L1" → matches
    users: dict[str, tuple[int, bool]]
    stopped: set[int]


def import_items(ctx: Context, csv_text: str, *, at: datetime | None = None) -> ImportReport:
    """Create one work item per CSV row, all in one transaction, or none at all.

    The header names the columns: ``process``, ``line`` (a line code such as ``L1``, or
    ``AREA/LINE`` or ``SITE/AREA/LINE`` where codes repeat), ``title``, ``product``,
    ``quantity``, ``priority``, ``assignee`` (a username); any other column is an intake
    field, written ``fields.<key>`` or just ``<key>``. Every row is checked first (its
    schema, its process's intake form, that its line, process and assignee exist and its
    line runs). If any row is refused, nothing is written and the report lists every
    refused row with all its reasons. Cells are plain data: nothing that looks like a
    formula is evaluated or changed.

    Problems with the file as a whole (no header, missing columns, over 10,000 rows, NUL
    characters, broken quoting) raise InvalidInput; an actor who may not open items on a
    line named raises PermissionDenied.
    """
    now = at or utcnow()
    if not ctx.actor.system and not ctx.actor.roles & MATRIX[Action.WORK_CREATE]:
        raise PermissionDenied(f"{ctx.actor.username} may not {Action.WORK_CREATE.value}")
    columns, rows = _read(csv_text)
    refs = _references(ctx, rows, columns)
    planned: list[tuple[int, ItemCreate, _LinePlace]] = []
    rejected: list[RejectedRow] = []
    for line_no, raw, extra in rows:
        data, place, errors = _check_row(raw, extra, columns, refs)
        if data is None or place is None:
            rejected.append(RejectedRow(line_no, errors, _raw(columns, raw, extra)))
        else:
            planned.append((line_no, data, place))
    for place in {p.id: p for _, _, p in planned}.values():
        authorize(ctx.actor, Action.WORK_CREATE, place.scope)
    if rejected:
        return ImportReport([], rejected)
    created: list[int] = []
    with ctx.atomic():
        for line_no, data, _ in planned:
            try:
                created.append(create_item(ctx, data, at=now).id)
            except InvalidInput as exc:  # changed since the check, e.g. a user disabled
                raise InvalidInput(
                    f"line {line_no}: {exc.detail}",
                    [FieldError((line_no, *e.loc), e.msg, e.type) for e in exc.errors],
                ) from None
    return ImportReport(created, [])


def _file_error(msg: str) -> InvalidInput:
    return InvalidInput(f"CSV: {msg}", [FieldError((), msg)])


def _read(text: str) -> tuple[list[_Column], list[tuple[int, list[str], list[str]]]]:
    """The header's columns and the data rows as (first line number, cells, extra cells)."""
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise _file_error("the file contains NUL characters")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise _file_error("the file has no header row (process,line,title,...)")
        columns = _columns(header)
        rows: list[tuple[int, list[str], list[str]]] = []
        while True:
            start = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            if not any(c.strip() for c in cells):
                continue
            if len(rows) == MAX_ROWS:
                raise _file_error(f"more than {MAX_ROWS} rows; split the file")
            padded = cells[: len(columns)] + [""] * (len(columns) - len(cells))
            rows.append((start, padded, cells[len(columns) :]))
    except csv.Error as exc:
        raise _file_error(f"line {reader.line_num}: {exc}") from None
    if not rows:
        raise _file_error("the file has a header but no rows")
    return columns, rows


def _columns(header: list[str]) -> list[_Column]:
    columns: list[_Column] = []
    errors: list[FieldError] = []
    seen: dict[str, str] = {}
    for i, name in enumerate(header, start=1):
        key = name.strip().lower()
        intake = key not in COLUMNS
        if key.startswith(FIELD_PREFIX):
            key = key.removeprefix(FIELD_PREFIX).strip()
            intake = True
        if not key:
            errors.append(FieldError(("header",), f"column {i} has no name"))
        elif key in seen:
            errors.append(FieldError(("header",), f"{name.strip()!r} repeats column {seen[key]!r}"))
        seen.setdefault(key, name.strip())
        columns.append(_Column(name.strip(), COLUMNS.get(key, key) if not intake else key, intake))
    present = {c.target for c in columns if not c.intake}
    errors += [
        FieldError(("header",), f"the required column {name!r} is missing")
        for name in REQUIRED
        if COLUMNS[name] not in present
    ]
    if errors:
        raise InvalidInput(f"CSV header: {errors[0].msg}", errors)
    return columns


def _references(
    ctx: Context, rows: list[tuple[int, list[str], list[str]]], columns: list[_Column]
) -> _References:
    usernames: set[str] = set()
    for i, column in enumerate(columns):
        if column.target == "assignee_id" and not column.intake:
            usernames |= {cells[i].strip() for _, cells, _ in rows if cells[i].strip()}
    with ctx.read() as session:
        processes = {
            process.key: (process.active, spec_of(version))
            for process, version in session.execute(
                select(Process, ProcessVersion).join(
                    ProcessVersion,
                    (ProcessVersion.process_id == Process.id)
                    & (ProcessVersion.number == Process.current_version),
                )
            )
        }
        lines: dict[str, list[_LinePlace]] = {}
        for line_id, line_code, area_id, area_code, site_id, site_code in session.execute(
            select(Line.id, Line.code, Area.id, Area.code, Site.id, Site.code)
            .join(Area, Area.id == Line.area_id)
            .join(Site, Site.id == Area.site_id)
            .order_by(Site.code, Area.code, Line.code)
        ):
            place = _LinePlace(
                line_id,
                f"{site_code}/{area_code}/{line_code}",
                Scope(site_id=site_id, area_id=area_id),
            )
            for name in (line_code, f"{area_code}/{line_code}", place.label):
                lines.setdefault(name.upper(), []).append(place)
        users: dict[str, tuple[int, bool]] = {}
        for chunk in _chunks(sorted(usernames), _CHUNK):
            for user_id, username, active in session.execute(
                select(User.id, User.username, User.active).where(User.username.in_(chunk))
            ):
                users[username] = (user_id, active)
        stopped = set(
            session.scalars(select(LineState.line_id).where(LineState.status == "stopped"))
        )
    return _References(processes, lines, users, stopped)


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _check_row(
    cells: list[str], extra: list[str], columns: list[_Column], refs: _References
) -> tuple[ItemCreate | None, _LinePlace | None, list[str]]:
    """The row as an ItemCreate and its line, or every reason it cannot be imported."""
    errors: list[str] = []
    if any(c.strip() for c in extra):
        errors.append(f"{len(columns) + len(extra)} cells, but the header has {len(columns)}")
    payload: dict[str, Any] = {}
    fields: dict[str, str] = {}
    names = {"line_id": "line", "assignee_id": "assignee"}
    for column, cell in zip(columns, cells, strict=True):
        value = cell.strip()
        if column.intake:
            if value:
                fields[column.target] = value
                names[column.target] = column.name
        elif value:
            payload[column.target] = value
            names[column.target] = column.name

    spec: ProcessSpec | None = None
    key = payload.get("process")
    if key is not None:
        key = payload["process"] = key.lower()
    if key is None:
        errors.append("process: is required")
    elif key not in refs.processes:
        errors.append(f"process: no process {key!r}")
    else:
        active, spec = refs.processes[key]
        if not active:
            errors.append(f"process: process {key!r} is deactivated")

    place = _line(payload.pop("line_id", None), refs, errors)
    # A stand-in id keeps the schema check from reporting the same missing line twice.
    payload["line_id"] = place.id if place is not None else 1

    username = payload.pop("assignee_id", None)
    if username is not None:
        found = refs.users.get(username)
        if found is None or not found[1]:
            errors.append(f"assignee: no active user {username!r}")
        else:
            payload["assignee_id"] = found[0]

    try:
        data = ItemCreate.model_validate({**payload, "fields": fields})
    except ValidationError as exc:
        data = None
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"])
            first = e["loc"][0] if e["loc"] else ""
            if first == "fields" and len(e["loc"]) > 1:
                where = str(e["loc"][1])
            errors.append(f"{names.get(str(first), where)}: {e['msg']}")
    if spec is not None:
        try:
            validate_fields(spec, fields, loc=("fields",))
        except InvalidInput as exc:
            errors += [f"{names.get(str(e.loc[-1]), e.loc[-1])}: {e.msg}" for e in exc.errors]
    if errors:
        return None, None, errors
    return data, place, []


def _line(value: str | None, refs: _References, errors: list[str]) -> _LinePlace | None:
    if value is None:
        errors.append("line: is required")
        return None
    matches = refs.lines.get(value.upper(), [])
    if not matches:
        errors.append(f"line: no line {value!r}")
        return None
    if len(matches) > 1:
        shown = ", ".join(m.label for m in matches[:5])
        errors.append(f"line: {value!r} names several lines ({shown}); write AREA/LINE")
        return None
    if matches[0].id in refs.stopped:
        errors.append(f"line: line {value!r} is stopped; nothing may start on it")
        return None
    return matches[0]


def _raw(columns: list[_Column], cells: list[str], extra: list[str]) -> dict[str, str]:
    raw = {c.name: cell for c, cell in zip(columns, cells, strict=True)}
    if any(c.strip() for c in extra):
        raw[EXTRA_CELLS] = ",".join(extra)
    return raw
