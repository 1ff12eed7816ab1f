"""Documents benchmarks (issue 14): full-text search over 20,000 effective revisions, the cost
of an approval with its electronic signature, and the data of the training matrix.

Results go to bench/results/documents.json; every case runs on SQLite (a temporary file) and
on a PostgreSQL scratch database (bench/_pg.py). Nothing is asserted; docs/benchmarks.md
says what each figure means.

    python -m bench.documents                    # search, approval, matrix
    python -m bench.documents --only search      # or: --only approval, --only matrix

The search and matrix data are inserted set-wise with SQLAlchemy Core, not through the
services: 20,000 documents through import/submit/approve would take most of an hour and
would measure nothing the search reads. The rows are the ones the services would write
(documents and revisions with status ``effective``, one ``document_search`` row per document
holding ``searchable_text`` of the revision); SQLite's FTS triggers of migration 0008 fill
``document_fts`` as the rows go in. The approval case goes through the services end to end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from andon.accounts import service as accounts
from andon.accounts.models import RoleGrant, User
from andon.accounts.schemas import GrantIn, UserCreate
from andon.core import security
from andon.core.database import Database
from andon.core.permissions import Role, system_actor
from andon.core.uow import Context
from andon.documents import service as documents
from andon.documents import signing
from andon.documents.assignments import CARRIED, DONE, DUE
from andon.documents.content import (
    Change,
    Content,
    CriticalKind,
    DocumentFile,
    Header,
    Step,
    change_dict,
    content_dict,
    content_sha256,
)
from andon.documents.content import Role as DocRole
from andon.documents.models import Document, DocumentRevision, DocumentSearch, TrainingAssignment
from andon.documents.search import search_documents, searchable_text
from andon.plant import service as plant
from andon.plant.models import Area
from andon.plant.schemas import AreaCreate, EnterpriseCreate, LineCreate, SiteCreate
from bench import _pg
from bench._databases import postgresql_database, sqlite_database

RESULTS = Path(__file__).resolve().parent / "results" / "documents.json"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


SEARCH_DOCUMENTS = _env_int("ANDON_BENCH_SEARCH_DOCUMENTS", 20_000)
SEARCH_QUERIES = _env_int("ANDON_BENCH_SEARCH_QUERIES", 200)
SEARCH_WARMUP = 25
APPROVALS = _env_int("ANDON_BENCH_APPROVALS", 200)
MATRIX_PEOPLE = _env_int("ANDON_BENCH_MATRIX_PEOPLE", 1_000)
MATRIX_DOCUMENTS = _env_int("ANDON_BENCH_MATRIX_DOCUMENTS", 300)
SEED = _env_int("ANDON_BENCH_SEED", 14)
PASSWORD = "bench password 1234"  # noqa: S105 - scratch databases only
TARGET = {"search_p95_ms": 50.0, "approval_without_password_p95_ms": 20.0}
CASES = ("search", "approval", "matrix")


# ---------------------------------------------------------------------------------------
# Seeded SOP text


TYPES = ("SOP", "WI", "checklist", "form", "policy")
TYPE_WEIGHTS = (45, 30, 12, 8, 5)
AREAS = ("ASM", "KIT", "INS", "PCK", "MCH", "PNT", "WLD", "QLAB", "SAF", "MNT")
VERBS = (
    "check", "torque", "inspect", "clean", "align", "tighten", "measure", "record", "verify",
    "remove", "install", "lubricate", "label", "scan", "load", "unload", "clamp", "release",
    "calibrate", "replace", "seal", "drain", "purge", "isolate", "lock", "tag", "weigh",
    "deburr", "grind", "weld", "paint", "mask", "cure", "rinse", "dry", "fill", "test",
)  # fmt: skip
OBJECTS = (
    "housing", "cover", "bolt", "gasket", "impeller", "shaft", "bearing", "seal", "flange",
    "nutrunner", "fixture", "press", "nest", "conveyor", "pallet", "kit", "tray", "label",
    "valve", "hose", "fitting", "o-ring", "spring", "washer", "bracket", "motor", "coupling",
    "guard", "sensor", "gauge", "caliper", "micrometer", "torque wrench", "leak tester",
    "spindle", "chuck", "collet", "coolant", "filter", "hopper", "feeder", "robot", "gripper",
    "welding torch", "spray gun", "oven", "booth", "tank", "pump", "compressor", "forklift",
)  # fmt: skip
PLACES = (
    "station", "line", "cell", "workbench", "rack", "bin", "cage", "dock", "aisle", "lab",
    "cabinet", "panel", "board", "shelf", "crib", "warehouse", "staging area", "buffer",
)  # fmt: skip
QUALIFIERS = (
    "by hand", "with the template", "to specification", "before the first piece",
    "at every shift start", "after each changeover", "per the control plan", "twice",
    "until it stops", "in the sequence on the drawing", "within tolerance", "visually",
    "with a clean cloth", "at the marked points", "on both sides", "every hour",
)  # fmt: skip
HAZARDS = (
    "Crushing between the press and the nest", "Cuts from sharp edges of stamped parts",
    "Burns from the cure oven", "Noise above 85 dB(A)", "Manual handling of parts over 15 kg",
    "Stored pressure in the hydraulic lines", "Electric shock at the control panel",
    "Solvent vapour in the paint booth", "Flying chips at the spindle", "Forklift traffic",
    "Arc flash and UV light from welding", "Slips on coolant spills", "Pinch points at the gripper",
    "Rotating shaft entanglement", "Compressed air injection",
)  # fmt: skip
PPE = (
    "Safety glasses", "Cut-resistant gloves, level B", "Safety shoes", "Hearing protection",
    "Face shield", "Welding helmet", "Respirator, A2P3 filter", "Heat-resistant gloves",
    "High-visibility vest", "Nitrile gloves", "Apron",
)  # fmt: skip
ROLES = ("Operator", "Supervisor", "Quality technician", "Maintenance technician", "Team lead")
RESPONSIBILITIES = (
    "carries out the steps", "releases the line", "checks the first piece", "signs the record",
    "keeps the station clean", "stops the line on a defect", "trains new operators",
)  # fmt: skip
# Rare terms appear in few documents, so queries can look for something a reader hunts down.
RARE = (
    "borescope", "thermocouple", "galvanic", "anodised", "passivation", "dessicant", "ultrasonic",
    "magnaflux", "helicoil", "loctite", "shim", "keyway", "circlip", "grommet", "ferrule",
    "durometer", "profilometer", "pyrometer", "tachometer", "oscilloscope", "interferometer",
    "stroboscope", "hygrometer", "viscometer", "refractometer", "dynamometer", "spectrometer",
)  # fmt: skip


def _zipf(rng: random.Random, items: Sequence[str]) -> str:
    # A few words are everywhere, most are occasional: the usual shape of plant documents.
    index = min(int(rng.paretovariate(1.2)) - 1, len(items) - 1)
    return items[index]


def sop_step(rng: random.Random) -> Step:
    obj = _zipf(rng, OBJECTS)
    words = f"{rng.choice(VERBS).capitalize()} the {obj} at the {_zipf(rng, PLACES)}"
    if rng.random() < 0.6:
        words += " " + rng.choice(QUALIFIERS)
    if rng.random() < 0.03:
        words += f" and note the {rng.choice(RARE)} reading"
    key_point = None
    if rng.random() < 0.3:
        key_point = f"The {obj} must not touch the {_zipf(rng, OBJECTS)}."
    accept: tuple[str, ...] = ()
    if rng.random() < 0.25:
        accept = (f"The {obj} is {rng.choice(('seated', 'clean', 'tight', 'dry', 'marked'))}.",)
    critical: CriticalKind | None = None
    if rng.random() < 0.15:
        critical = "quality" if rng.random() < 0.5 else "safety"
    return Step(words + ".", key_point=key_point, critical=critical, accept=accept)


def sop_content(rng: random.Random) -> Content:
    """The content of one plausible SOP: purpose, scope, roles, hazards, PPE, 4–14 steps."""
    obj, place = _zipf(rng, OBJECTS), _zipf(rng, PLACES)
    return Content(
        steps=tuple(sop_step(rng) for _ in range(rng.randint(4, 14))),
        purpose=f"{rng.choice(VERBS).capitalize()} the {obj} so that no defect reaches the "
        f"customer and nobody is hurt at the {place}.",
        scope=f"Every {obj} handled at the {place} of area {rng.choice(AREAS)}.",
        roles=tuple(
            DocRole(r, rng.choice(RESPONSIBILITIES)) for r in rng.sample(ROLES, rng.randint(1, 3))
        ),
        hazards=tuple(rng.sample(HAZARDS, rng.randint(0, 3))),
        ppe=tuple(rng.sample(PPE, rng.randint(1, 3))),
        references=tuple(f"SOP-SAF-{rng.randint(1, 40):03d}" for _ in range(rng.randint(0, 2))),
    )


def sop_title(rng: random.Random, content: Content) -> str:
    first = content.steps[0].text.split(" the ", 1)[-1].split(" at ", 1)[0]
    return f"{rng.choice(VERBS).capitalize()} {first} {rng.choice(('setup', 'check', 'change'))}"


# ---------------------------------------------------------------------------------------
# Set-wise loading


@dataclass(frozen=True)
class Loaded:
    """What the loader wrote: document ids in number order, and every indexed text."""

    document_ids: list[int]
    revision_ids: list[int]
    area_codes: list[str]
    bodies: list[str]
    seconds: float


def owner(ctx: Context, username: str = "bench-owner", role: Role = Role.QUALITY) -> User:
    return accounts.create_user(
        ctx,
        UserCreate(
            username=username,
            display_name=username.replace("-", " ").title(),
            password=PASSWORD,
            grants=[GrantIn(role=role)],
        ),
    )


def load_effective_documents(
    db: Database, count: int, owner_id: int, rng: random.Random, *, areas: Sequence[str] = AREAS
) -> Loaded:
    """``count`` documents, each with revision 1 effective and its search row, set-wise."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    today = now.date()
    document_ids: list[int] = []
    revision_ids: list[int] = []
    area_codes: list[str] = []
    bodies: list[str] = []
    batch = 1000
    with db.engine.begin() as conn:
        for start in range(0, count, batch):
            contents = []
            docs: list[dict[str, Any]] = []
            for n in range(start, min(start + batch, count)):
                content = sop_content(rng)
                doc_type = rng.choices(TYPES, TYPE_WEIGHTS)[0]
                area = rng.choice(areas)
                contents.append((content, sop_title(rng, content)))
                area_codes.append(area)
                docs.append(
                    {
                        "number": f"{doc_type.upper()[:3]}-{area}-{n + 1:05d}",
                        "type": doc_type,
                        "title": contents[-1][1],
                        "owner_id": owner_id,
                        "area_code": area,
                        "review_interval_months": 24,
                        "next_review_on": today + timedelta(days=rng.randint(1, 730)),
                        "status": "effective",
                        "effective_revision": 1,
                        "created_at": now,
                        "created_by": "bench",
                        "version": 1,
                    }
                )
            conn.execute(insert(Document), docs)
            numbers = [d["number"] for d in docs]
            ids = dict(
                conn.execute(
                    select(Document.number, Document.id).where(Document.number.in_(numbers))
                ).all()
            )
            batch_ids = [ids[n] for n in numbers]
            revisions = []
            for doc, doc_id, (content, title) in zip(docs, batch_ids, contents, strict=True):
                file = DocumentFile(
                    Header(doc["type"], title, "bench", doc["number"], doc["area_code"]),
                    content,
                    Change(reason="First issue"),
                )
                revisions.append(
                    {
                        "document_id": doc_id,
                        "number": 1,
                        "status": "effective",
                        "author_id": owner_id,
                        "title": title,
                        "content": content_dict(content),
                        "content_sha256": content_sha256(file),
                        "change": change_dict(file.change),
                        "plan": {},
                        "review_round": 0,
                        "effective_on": today,
                        "effective_at": now,
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }
                )
            conn.execute(insert(DocumentRevision), revisions)
            rev_ids = dict(
                conn.execute(
                    select(DocumentRevision.document_id, DocumentRevision.id).where(
                        DocumentRevision.document_id.in_(batch_ids)
                    )
                ).all()
            )
            search_rows = []
            for doc_id, number, (content, title) in zip(batch_ids, numbers, contents, strict=True):
                body = searchable_text(content)
                bodies.append(body)
                search_rows.append(
                    {
                        "document_id": doc_id,
                        "revision_id": rev_ids[doc_id],
                        "number": number,
                        "title": title,
                        "body": body,
                    }
                )
            conn.execute(insert(DocumentSearch), search_rows)
            document_ids += batch_ids
            revision_ids += [rev_ids[i] for i in batch_ids]
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE documents, document_revisions, document_search"))
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            indexed = conn.scalar(text("SELECT count(*) FROM document_fts"))
            assert indexed == count, f"document_fts holds {indexed} rows, expected {count}"
    return Loaded(
        document_ids, revision_ids, area_codes, bodies, round(time.perf_counter() - started, 1)
    )


# ---------------------------------------------------------------------------------------
# Search


@dataclass(frozen=True)
class Query:
    kind: str
    q: str
    type: str | None


def document_frequencies(bodies: Sequence[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for body in bodies:
        counts.update({w.lower() for w in body.replace("-", " ").split() if w.isalpha()})
    return counts


def search_queries(rng: random.Random, bodies: Sequence[str], count: int) -> list[Query]:
    """A seeded mix: rare words (in under 0.5% of documents), common words (in over 10%),
    prefixes of 3–5 letters, 2–3 word combinations; a quarter with a type filter."""
    df = document_frequencies(bodies)
    total = len(bodies)
    words = [w for w in df if len(w) > 3]
    rare = sorted(w for w in words if df[w] < 0.005 * total) or sorted(words)
    common = sorted(w for w in words if df[w] > 0.10 * total) or sorted(words)
    middle = sorted(words)
    out = []
    for _ in range(count):
        kind = rng.choices(
            ("rare", "common", "prefix", "two words", "three words"), (2, 2, 2, 3, 1)
        )[0]
        if kind == "rare":
            q = rng.choice(rare)
        elif kind == "common":
            q = rng.choice(common)
        elif kind == "prefix":
            word = rng.choice(middle)
            q = word[: rng.randint(3, min(5, len(word)))]
        elif kind == "two words":
            q = f"{rng.choice(common)} {rng.choice(middle)}"
        else:
            q = f"{rng.choice(common)} {rng.choice(middle)} {rng.choice(middle)}"
        doc_type = rng.choices(TYPES, TYPE_WEIGHTS)[0] if rng.random() < 0.25 else None
        out.append(Query(kind, q, doc_type))
    return out


def _ms(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def measure_search(db: Database) -> dict[str, Any]:
    ctx = Context(db, system_actor("bench"))
    rng = random.Random(SEED)
    reader = owner(ctx)
    loaded = load_effective_documents(db, SEARCH_DOCUMENTS, reader.id, rng)
    queries = search_queries(random.Random(SEED + 1), loaded.bodies, SEARCH_QUERIES)
    as_reader = ctx.as_actor(accounts.actor_for(reader))
    for query in queries[:SEARCH_WARMUP]:  # warm caches and the statement cache, not counted
        search_documents(as_reader, query.q, type=query.type)
    timings: list[float] = []
    hits: list[int] = []
    by_kind: dict[str, list[float]] = {}
    for query in queries:
        t0 = time.perf_counter()
        found = search_documents(as_reader, query.q, type=query.type)
        elapsed = time.perf_counter() - t0
        timings.append(elapsed)
        hits.append(len(found))
        by_kind.setdefault(query.kind + (" + type" if query.type else ""), []).append(elapsed)
    return {
        "effective_revisions": SEARCH_DOCUMENTS,
        "load_seconds": loaded.seconds,
        "queries": len(queries),
        **_ms(timings),
        "hits": {
            "median": statistics.median(hits),
            "max": max(hits),
            "zero_hit_queries": sum(1 for h in hits if h == 0),
            "at_limit_50": sum(1 for h in hits if h >= 50),
        },
        "by_kind": {k: {"queries": len(v), **_ms(v)} for k, v in sorted(by_kind.items())},
        "examples": [q.q + (f" (type {q.type})" if q.type else "") for q in queries[:8]],
    }


# ---------------------------------------------------------------------------------------
# Approval with signature


def argon2_parameters() -> dict[str, int]:
    hasher = security._hasher
    return {
        "time_cost": hasher.time_cost,
        "memory_cost_kib": hasher.memory_cost,
        "parallelism": hasher.parallelism,
    }


def measure_approval(db: Database) -> dict[str, Any]:
    """APPROVALS single-approval revisions (first issue of an SOP: quality signs alone), each
    approved through ``service.approve``, which takes it effective at once and assigns the
    training. The password check inside each call is timed by wrapping ``check_password`` as
    the service module calls it, so "the rest" is that call's total minus its own check."""
    system = Context(db, system_actor("bench"))
    rng = random.Random(SEED + 2)
    enterprise = plant.create_enterprise(system, EnterpriseCreate(name="Bench Manufacturing"))
    site = plant.create_site(
        system,
        SiteCreate(enterprise_id=enterprise.id, name="Chicago", code="CHI", timezone="UTC"),
    )
    area = plant.create_area(system, AreaCreate(site_id=site.id, name="Assembly", code="ASM"))
    plant.create_line(system, LineCreate(area_id=area.id, name="Line 1", code="L1"))
    author = system.as_actor(accounts.actor_for(owner(system, "bench-author")))
    approver_user = owner(system, "bench-approver")
    approver = system.as_actor(accounts.actor_for(approver_user))
    # Operators in the area, so each approval that takes effect assigns read-and-acknowledge.
    for n in range(20):
        accounts.create_user(
            system,
            UserCreate(
                username=f"bench-operator-{n}",
                display_name=f"Operator {n}",
                password=PASSWORD,
                grants=[GrantIn(role=Role.OPERATOR, site_id=site.id, area_id=area.id)],
            ),
        )
    numbers = []
    for n in range(APPROVALS):
        content = sop_content(rng)
        file = DocumentFile(
            header=Header(
                type="SOP",
                title=sop_title(rng, content),
                owner="bench-author",
                number=f"SOP-ASM-{n + 1:03d}",
                area="ASM",
            ),
            content=content,
            change=Change(reason="First issue"),
        )
        made = documents.create_document(author, file)
        documents.submit(author, made.number)
        numbers.append(made.number)

    checks: list[float] = []
    original = signing.check_password

    def timed_check(ctx: Context, password: str | None) -> None:
        t0 = time.perf_counter()
        try:
            original(ctx, password)
        finally:
            checks.append(time.perf_counter() - t0)

    totals: list[float] = []
    documents.check_password = timed_check  # type: ignore[attr-defined]
    try:
        for number in numbers:
            t0 = time.perf_counter()
            outcome = documents.approve(approver, number, PASSWORD)
            totals.append(time.perf_counter() - t0)
            assert outcome.status == "effective", outcome
    finally:
        documents.check_password = original  # type: ignore[attr-defined]
    rest = [total - check for total, check in zip(totals, checks, strict=True)]

    stored = approver_user.password_hash
    verify: list[float] = []
    for _ in range(APPROVALS):
        t0 = time.perf_counter()
        assert security.verify_password(stored, PASSWORD)
        verify.append(time.perf_counter() - t0)
    with db.engine.connect() as conn:
        tasks = conn.scalar(select(func.count()).select_from(TrainingAssignment))
    return {
        "approvals": len(totals),
        "training_tasks_assigned": tasks,
        "approve_total": _ms(totals),
        "check_password_inside_approve": _ms(checks),
        "approve_without_password_check": _ms(rest),
        "verify_password_alone": _ms(verify),
    }


# ---------------------------------------------------------------------------------------
# Training matrix: the data now, the measurement once andon.training.matrix exists


@dataclass(frozen=True)
class MatrixData:
    people: int
    documents: int
    assignments: dict[str, int]
    area_codes: tuple[str, ...]
    seconds: float


MATRIX_AREAS = ("ASM", "KIT", "INS", "PCK", "MCH", "PNT")


def matrix_data(
    ctx: Context, people: int = MATRIX_PEOPLE, document_count: int = MATRIX_DOCUMENTS
) -> MatrixData:
    """A site of six areas; ``people`` users (operators granted in one area each, some
    supervisors site-wide); ``document_count`` effective documents spread over the areas;
    and a read-and-acknowledge assignment for each person and each document of their area
    (supervisors: of two areas), in mixed states: done, due, overdue (due with a past due
    date) and carried. Users, grants, documents and assignments are inserted set-wise."""
    started = time.perf_counter()
    rng = random.Random(SEED + 3)
    enterprise = plant.create_enterprise(ctx, EnterpriseCreate(name="Matrix Manufacturing"))
    site = plant.create_site(
        ctx, SiteCreate(enterprise_id=enterprise.id, name="Chicago", code="CHI", timezone="UTC")
    )
    for code in MATRIX_AREAS:
        plant.create_area(ctx, AreaCreate(site_id=site.id, name=f"Area {code}", code=code))
    the_owner = owner(ctx, "matrix-owner")
    db = ctx.db
    with db.engine.connect() as conn:
        area_ids = dict(conn.execute(select(Area.code, Area.id)).all())
    password_hash = security.hash_password(PASSWORD)
    now = datetime.now(UTC)
    today = now.date()
    users = [
        {
            "username": f"person-{n:04d}",
            "display_name": f"Person {n:04d}",
            "password_hash": password_hash,
            "active": True,
            "failed_logins": 0,
            "created_at": now,
            "version": 1,
        }
        for n in range(people)
    ]
    with db.engine.begin() as conn:
        conn.execute(insert(User), users)
        user_ids = [
            uid
            for (uid,) in conn.execute(
                select(User.id).where(User.username.like("person-%")).order_by(User.username)
            )
        ]
        home: dict[int, list[str]] = {}
        grants = []
        for uid in user_ids:
            if rng.random() < 0.05:
                grants.append(
                    {"user_id": uid, "role": Role.SUPERVISOR.value, "site_id": site.id,
                     "area_id": None, "created_at": now}
                )  # fmt: skip
                home[uid] = rng.sample(MATRIX_AREAS, 2)
            else:
                code = rng.choice(MATRIX_AREAS)
                grants.append(
                    {"user_id": uid, "role": Role.OPERATOR.value, "site_id": site.id,
                     "area_id": area_ids[code], "created_at": now}
                )  # fmt: skip
                home[uid] = [code]
        conn.execute(insert(RoleGrant), grants)
    loaded = load_effective_documents(db, document_count, the_owner.id, rng, areas=MATRIX_AREAS)
    by_area: dict[str, list[tuple[int, int]]] = {}
    for doc_id, rev_id, code in zip(
        loaded.document_ids, loaded.revision_ids, loaded.area_codes, strict=True
    ):
        by_area.setdefault(code, []).append((doc_id, rev_id))
    states: Counter[str] = Counter()
    rows = []
    for uid in user_ids:
        for code in home[uid]:
            for doc_id, rev_id in by_area.get(code, []):
                state = rng.choices(("done", "due", "overdue", "carried"), (60, 20, 12, 8))[0]
                states[state] += 1
                assigned = now - timedelta(days=rng.randint(1, 120))
                row: dict[str, Any] = {
                    "document_id": doc_id,
                    "revision_id": rev_id,
                    "user_id": uid,
                    "status": {"done": DONE, "carried": CARRIED}.get(state, DUE),
                    "assigned_at": assigned,
                    "due_on": _due_on(state, today, rng),
                    "acknowledged_at": assigned + timedelta(days=rng.randint(0, 13))
                    if state in ("done", "carried")
                    else None,
                }
                rows.append(row)
    with db.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(TrainingAssignment), rows[start : start + 5000])
    return MatrixData(
        people,
        document_count,
        dict(sorted(states.items())),
        MATRIX_AREAS,
        round(time.perf_counter() - started, 1),
    )


def _due_on(state: str, today: date, rng: random.Random) -> date:
    if state == "overdue":
        return today - timedelta(days=rng.randint(1, 60))
    if state == "due":
        return today + timedelta(days=rng.randint(0, 14))
    return today - timedelta(days=rng.randint(0, 120))


MATRIX_CALL = "andon.training.matrix.training_matrix(ctx)"


def measure_matrix(db: Database) -> dict[str, Any]:
    """The whole matrix (every person × every document), the /training page as the server
    renders it (first page of people, in-process, no network), and the XLSX of the whole
    matrix."""
    from fastapi.testclient import TestClient

    from andon.api.app import create_app
    from andon.core.config import Settings
    from andon.training.export import matrix_xlsx_bytes
    from andon.training.matrix import training_matrix
    from andon.web.session import COOKIE

    ctx = Context(db, system_actor("bench"))
    data = matrix_data(ctx)
    result: dict[str, Any] = {
        "people": data.people,
        "documents": data.documents,
        "assignments": data.assignments,
        "load_seconds": data.seconds,
    }
    reader = ctx.as_actor(accounts.actor_for(owner(ctx, "matrix-reader")))
    matrix = training_matrix(reader)  # warm-up, not counted
    result["cells"] = len(matrix.people) * len(matrix.documents)
    build, export = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        matrix = training_matrix(reader)
        t1 = time.perf_counter()
        matrix_xlsx_bytes(matrix)
        build.append(t1 - t0)
        export.append(time.perf_counter() - t0)
    result["matrix"] = {"call": MATRIX_CALL, "runs": len(build), **_ms(build)}
    result["xlsx_with_matrix"] = {"runs": len(export), **_ms(export)}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=db.url, secret_key="b" * 64, data_dir=Path(tmp))
        client = TestClient(create_app(settings, db))
        signed = accounts.sign_in(db, "matrix-reader", PASSWORD, accounts.LoginPolicy(), "bench")
        client.cookies.set(COOKIE, signed.session_token)
        page = []
        for _ in range(6):
            t0 = time.perf_counter()
            got = client.get("/training")
            page.append(time.perf_counter() - t0)
            assert got.status_code == 200, got.text[:200]
        # The first request builds the app's caches; the rest are what a reader waits for.
        result["page"] = {"path": "/training", "runs": len(page) - 1, **_ms(page[1:])}
    return result


# ---------------------------------------------------------------------------------------
# Databases and the command


def run_case(name: str, measure: Callable[[Database], dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with sqlite_database() as db:
        out["sqlite"] = measure(db)
    print(f"{name} sqlite: {json.dumps(out['sqlite'])}", flush=True)
    try:
        with postgresql_database(f"documents_{name}") as db:
            out["postgresql"] = measure(db)
    except _pg.Unavailable as exc:
        out["postgresql"] = f"skipped: {exc}"
    print(f"{name} postgresql: {json.dumps(out['postgresql'])}", flush=True)
    return out


HOW = {
    "search": (
        f"{SEARCH_DOCUMENTS} documents, each with one effective revision of seeded random SOP "
        "text, inserted set-wise with SQLAlchemy Core (documents, document_revisions, "
        "document_search; SQLite's triggers fill document_fts); then a seeded mix of queries "
        "through andon.documents.search.search_documents as a reader (default limit 50), "
        f"after {SEARCH_WARMUP} uncounted warm-up queries. The HTTP API has no search endpoint "
        "yet, so only the service is measured."
    ),
    "approval": (
        f"{APPROVALS} first issues of SOPs (one quality approval each) created and submitted "
        "through the services; then each approved through andon.documents.service.approve, "
        "which signs, takes the revision effective and assigns training to 20 operators. The "
        "check_password call inside approve is timed by a wrapper; the rest is each call's "
        "total minus its check. verify_password alone: the production argon2 hasher on the "
        "approver's stored hash."
    ),
    "matrix": (
        f"{MATRIX_PEOPLE} people, {MATRIX_DOCUMENTS} effective documents and their "
        "read-and-acknowledge assignments in mixed states, inserted set-wise (bench.documents."
        f"matrix_data); then {MATRIX_CALL}, 20 runs after a warm-up, when that module exists."
    ),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.documents", description=__doc__)
    parser.add_argument("--only", action="append", choices=CASES, help="run only this case")
    chosen = parser.parse_args(argv).only or list(CASES)
    results: dict[str, Any] = {}
    if RESULTS.exists():
        # Keep the cases not run this time, so one case can be rerun on its own.
        results = json.loads(RESULTS.read_text())
    results.update(
        {
            "benchmark": "documents: search, approval with signature, training matrix",
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "postgresql": _pg.server_version(),
            },
            "seed": SEED,
            "target": TARGET,
            "argon2": argon2_parameters(),
        }
    )
    measures = {"search": measure_search, "approval": measure_approval, "matrix": measure_matrix}
    for name in chosen:
        results[name] = {"how": HOW[name], "measured_at": datetime.now(UTC).isoformat(
            timespec="seconds"), **run_case(name, measures[name])}  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
