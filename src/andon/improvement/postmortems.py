"""Postmortem use cases: create (from a line stop, a work item or a window), edit the draft
and its timeline, submit for review, publish (a reviewer who is not the author), search.

Who may do what: ``postmortem.write`` creates, edits and submits, and sees drafts;
``postmortem.publish`` publishes, or returns a postmortem under review to its draft;
everyone with ``improvement.read`` reads and searches the published ones, which are
read-only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from andon.accounts.models import User
from andon.actions.models import ActionLink as ActionLinkRow
from andon.actions.schemas import ActionFilters, ActionLink, ActionOut
from andon.actions.service import list_actions
from andon.core.audit import snapshot
from andon.core.clock import utcnow
from andon.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from andon.core.permissions import (
    PLANT_WIDE,
    Action,
    Actor,
    Role,
    Scope,
    authorize,
    authorize_somewhere,
)
from andon.core.uow import Context, Transaction
from andon.improvement.blameless import Prompt, blameless_prompts
from andon.improvement.models import RootCauseAnalysis
from andon.improvement.postmortem_models import Postmortem, PostmortemEntry, PostmortemSearch
from andon.improvement.postmortem_schemas import (
    EntryIn,
    EntryOut,
    PostmortemCreate,
    PostmortemDetailOut,
    PostmortemOut,
    PostmortemUpdate,
    PromptOut,
    SearchHitOut,
)
from andon.improvement.timeline import collect_timeline
from andon.plant.models import Line
from andon.work.loading import line_scope
from andon.work.models import LineStop, WorkItem

FIELDS = (
    "title",
    "kind",
    "line_stop_id",
    "work_item_id",
    "line_id",
    "started_at",
    "ended_at",
    "summary",
    "impact_items",
    "impact_hours",
    "impact_cost",
    "impact_currency",
    "what_happened",
    "why",
    "rca_id",
    "changes",
    "status",
    "version",
)
NARRATIVE = ("summary", "what_happened", "why", "changes")
REQUIRED = ("title", "started_at", "ended_at", *NARRATIVE)
ENTRY_FIELDS = ("at", "kind", "title", "ref", "note")
LEAD_IN = timedelta(hours=1)
"""The copied timeline starts this long before the incident: what led up to it."""


def create_postmortem(
    ctx: Context, data: PostmortemCreate, *, at: datetime | None = None
) -> PostmortemDetailOut:
    """A new draft with its timeline copied from the plant's record of the window (and of
    the hour before it, ``LEAD_IN``: what led up to the incident).

    From a line stop: the line, the window (stop to restart, or to now while it is stopped),
    the items affected (work items open on the line when it stopped) and the hours lost (stop
    to restart) are filled in unless given. From a work item (a missed shipment): its line,
    and its life (created to closed, or now) as the window, its moves listed one by one.
    Otherwise ``started_at`` and ``ended_at`` are required.
    """
    now = at or utcnow()
    with ctx.write() as tx:
        session = tx.session
        authorize_somewhere(ctx.actor, Action.POSTMORTEM_WRITE)
        values: dict[str, Any] = {
            "line_id": data.line_id,
            "started_at": data.started_at,
            "ended_at": data.ended_at,
        }
        items: list[int] = []
        impact_items: int | None = None
        impact_hours: float | None = None
        if data.line_stop_id is not None:
            stop = session.get(LineStop, data.line_stop_id)
            if stop is None:
                raise InvalidInput.for_field(
                    "line_stop_id", f"no line stop with id {data.line_stop_id}"
                )
            end = stop.restarted_at or now
            values["line_id"] = values["line_id"] or stop.line_id
            values["started_at"] = values["started_at"] or stop.stopped_at
            values["ended_at"] = values["ended_at"] or max(end, stop.stopped_at)
            impact_items = _open_on_line(session, stop.line_id, stop.stopped_at)
            impact_hours = round((end - stop.stopped_at).total_seconds() / 3600, 2)
        if data.work_item_id is not None:
            item = session.get(WorkItem, data.work_item_id)
            if item is None:
                raise InvalidInput.for_field(
                    "work_item_id", f"no work item with id {data.work_item_id}"
                )
            items = [item.id]
            values["line_id"] = values["line_id"] or item.line_id
            values["started_at"] = values["started_at"] or item.created_at
            values["ended_at"] = values["ended_at"] or item.closed_at or now
            impact_items = 1 if impact_items is None else impact_items
        if values["started_at"] is None:
            raise InvalidInput.for_field("started_at", "give the start (or a line stop)")
        if values["ended_at"] is None:
            raise InvalidInput.for_field("ended_at", "give the end (or a line stop)")
        if values["ended_at"] <= values["started_at"]:
            raise InvalidInput.for_field("ended_at", "must be after the start")
        scope = _scope(session, values["line_id"])
        authorize(ctx.actor, Action.POSTMORTEM_WRITE, scope)
        timeline = collect_timeline(
            session,
            ctx.actor,
            started_at=values["started_at"] - LEAD_IN,
            ended_at=values["ended_at"],
            line_id=values["line_id"],
            item_ids=items,
        )
        pm = Postmortem(
            title=data.title,
            kind=data.kind,
            line_stop_id=data.line_stop_id,
            work_item_id=data.work_item_id,
            summary=data.summary,
            impact_items=impact_items,
            impact_hours=impact_hours,
            status="draft",
            created_by=ctx.actor.username,
            created_at=now,
            what_happened="",
            why="",
            changes="",
            **values,
        )
        session.add(pm)
        session.flush()
        session.add_all(
            PostmortemEntry(
                postmortem_id=pm.id,
                at=e.at,
                kind=e.kind,
                title=e.title[:300],
                ref=e.ref,
                line=e.line,
                note="",
                source="record",
            )
            for e in timeline
        )
        tx.audit(
            "postmortem",
            pm.id,
            "create",
            after={**snapshot(pm, FIELDS), "timeline_entries": len(timeline)},
        )
        return _detail(session, pm)


@dataclass(frozen=True)
class IncidentFacts:
    """What a new postmortem's form shows of the line stop it starts from."""

    line_stop_id: int
    line_id: int
    line: str
    reason: str
    stopped_at: datetime
    restarted_at: datetime | None
    suggested_title: str


def line_stop_facts(ctx: Context, line_stop_id: int) -> IncidentFacts:
    """The line stop a postmortem is about to be written for (``work.read`` on its line)."""
    authorize_somewhere(ctx.actor, Action.POSTMORTEM_WRITE)
    with ctx.read() as session:
        stop = session.get(LineStop, line_stop_id)
        if stop is None:
            raise NotFound(f"no line stop with id {line_stop_id}")
        line, scope = line_scope(session, stop.line_id)
        authorize(ctx.actor, Action.WORK_READ, scope)
        return IncidentFacts(
            line_stop_id=stop.id,
            line_id=line.id,
            line=line.code,
            reason=stop.reason,
            stopped_at=stop.stopped_at,
            restarted_at=stop.restarted_at,
            suggested_title=f"Line {line.code} stop: {' '.join(stop.reason.split())[:150]}",
        )


def list_postmortems(
    ctx: Context, *, status: str | None = None, limit: int = 200
) -> list[PostmortemOut]:
    """Newest incident first. Drafts and postmortems under review only for their writers
    (``postmortem.write``); everyone else sees the published ones."""
    authorize_somewhere(ctx.actor, Action.IMPROVEMENT_READ)
    with ctx.read() as session:
        query = (
            select(Postmortem)
            .order_by(Postmortem.started_at.desc(), Postmortem.id.desc())
            .limit(max(1, min(limit, 500)))
        )
        if not _writer(ctx.actor):
            query = query.where(Postmortem.status == "published")
        if status is not None:
            query = query.where(Postmortem.status == status)
        return _outs(session, list(session.scalars(query)))


def get_postmortem(ctx: Context, postmortem_id: int) -> PostmortemDetailOut:
    """One postmortem with its timeline, blameless prompts and follow-up actions."""
    authorize_somewhere(ctx.actor, Action.IMPROVEMENT_READ)
    with ctx.read() as session:
        pm = _get(session, ctx.actor, postmortem_id)
        return _detail(session, pm)


def update_postmortem(
    ctx: Context, postmortem_id: int, data: PostmortemUpdate
) -> PostmortemDetailOut:
    """Change parts of a draft (only a draft: under review or published it is refused)."""
    changes = data.model_dump(exclude_unset=True, exclude={"version", "reason"})
    with ctx.write() as tx:
        session = tx.session
        pm = _draft(tx, postmortem_id, data.version)
        if not changes:
            raise InvalidInput.for_field("title", "nothing to change")
        for name in REQUIRED:
            if name in changes and changes[name] is None:
                raise InvalidInput.for_field(name, "may be changed but not removed")
        if "rca_id" in changes:
            rca_id = changes["rca_id"] or None
            if rca_id is not None and session.get(RootCauseAnalysis, rca_id) is None:
                raise InvalidInput.for_field("rca_id", f"no root-cause analysis with id {rca_id}")
            changes["rca_id"] = rca_id
        before = snapshot(pm, FIELDS)
        for name, value in changes.items():
            setattr(pm, name, value)
        if pm.ended_at <= pm.started_at:
            raise InvalidInput.for_field("ended_at", "must be after the start")
        session.flush()
        tx.audit(
            "postmortem",
            pm.id,
            "update",
            before=before,
            after=snapshot(pm, FIELDS),
            reason=data.reason,
        )
        return _detail(session, pm)


def add_entry(ctx: Context, postmortem_id: int, data: EntryIn) -> EntryOut:
    """Add a line to a draft's timeline (``source`` = ``writer``)."""
    with ctx.write() as tx:
        pm = _draft(tx, postmortem_id, None)
        line = tx.session.get(Line, pm.line_id) if pm.line_id else None
        entry = PostmortemEntry(
            postmortem_id=pm.id,
            at=data.at,
            kind=data.kind,
            title=data.title,
            ref=data.ref or None,
            line=line.code if line is not None else None,
            note=data.note,
            source="writer",
        )
        tx.session.add(entry)
        tx.session.flush()
        tx.audit(
            "postmortem",
            pm.id,
            "add_entry",
            after={"entry_id": entry.id, **snapshot(entry, ENTRY_FIELDS)},
        )
        return EntryOut.model_validate(entry)


def update_entry(ctx: Context, postmortem_id: int, entry_id: int, data: EntryIn) -> EntryOut:
    """Edit or annotate a line of a draft's timeline."""
    with ctx.write() as tx:
        pm = _draft(tx, postmortem_id, None)
        entry = _entry(tx.session, pm, entry_id)
        before = snapshot(entry, ENTRY_FIELDS)
        entry.at, entry.kind, entry.title = data.at, data.kind, data.title
        entry.ref, entry.note = data.ref or None, data.note
        tx.session.flush()
        tx.audit(
            "postmortem",
            pm.id,
            "edit_entry",
            before={"entry_id": entry.id, **before},
            after={"entry_id": entry.id, **snapshot(entry, ENTRY_FIELDS)},
        )
        return EntryOut.model_validate(entry)


def remove_entry(ctx: Context, postmortem_id: int, entry_id: int) -> None:
    """Take a line out of a draft's timeline."""
    with ctx.write() as tx:
        pm = _draft(tx, postmortem_id, None)
        entry = _entry(tx.session, pm, entry_id)
        before = snapshot(entry, ENTRY_FIELDS)
        tx.session.delete(entry)
        tx.audit("postmortem", pm.id, "remove_entry", before={"entry_id": entry_id, **before})


def submit_postmortem(
    ctx: Context, postmortem_id: int, *, version: int | None = None, at: datetime | None = None
) -> PostmortemOut:
    """Send a draft for review: it is read-only until published or returned."""
    with ctx.write() as tx:
        pm = _draft(tx, postmortem_id, version)
        if not pm.what_happened.strip():
            raise InvalidInput.for_field("what_happened", "say what happened before review")
        pm.status = "in_review"
        pm.submitted_by, pm.submitted_at = ctx.actor.username, at or utcnow()
        tx.session.flush()
        tx.audit(
            "postmortem", pm.id, "submit", before={"status": "draft"}, after={"status": pm.status}
        )
        return _outs(tx.session, [pm])[0]


def return_postmortem(
    ctx: Context, postmortem_id: int, *, reason: str, version: int | None = None
) -> PostmortemOut:
    """A reviewer sends a postmortem under review back to its draft, saying why."""
    if not reason.strip():
        raise InvalidInput.for_field("reason", "say what needs to change")
    with ctx.write() as tx:
        pm = _for_review(tx, postmortem_id, version)
        pm.status = "draft"
        tx.session.flush()
        tx.audit(
            "postmortem",
            pm.id,
            "return",
            before={"status": "in_review"},
            after={"status": "draft"},
            reason=reason.strip(),
        )
        return _outs(tx.session, [pm])[0]


def publish_postmortem(
    ctx: Context, postmortem_id: int, *, version: int | None = None, at: datetime | None = None
) -> PostmortemOut:
    """Publish a postmortem under review: a reviewer with ``postmortem.publish`` who is not
    its author. From then on it is read-only and found by search."""
    with ctx.write() as tx:
        pm = _for_review(tx, postmortem_id, version)
        pm.status = "published"
        pm.published_by, pm.published_at = ctx.actor.username, at or utcnow()
        tx.session.add(
            PostmortemSearch(postmortem_id=pm.id, title=pm.title, body=_searchable(tx.session, pm))
        )
        tx.session.flush()
        tx.audit(
            "postmortem",
            pm.id,
            "publish",
            before={"status": "in_review"},
            after={"status": "published"},
        )
        return _outs(tx.session, [pm])[0]


_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY = 200

# The best ``limit`` matches by rank; snippets are cut for those rows only.
_SQLITE_SEARCH = (
    "WITH best AS ("
    " SELECT f.rowid AS postmortem_id, bm25(postmortem_fts, 5.0, 1.0) AS rank"
    " FROM postmortem_fts f WHERE postmortem_fts MATCH :q ORDER BY rank LIMIT :limit"
    ") "
    "SELECT best.postmortem_id AS id, s.title, "
    "snippet(postmortem_fts, 1, '[', ']', '…', 16) AS snippet, best.rank "
    "FROM postmortem_fts JOIN best ON best.postmortem_id = postmortem_fts.rowid "
    "JOIN postmortem_search s ON s.postmortem_id = best.postmortem_id "
    "WHERE postmortem_fts MATCH :q ORDER BY best.rank, best.postmortem_id"
)
# ``search_vector`` is a stored generated column with a GIN index, PostgreSQL only (0016).
_POSTGRES_SEARCH = (
    "WITH best AS MATERIALIZED ("
    " SELECT s.postmortem_id, -ts_rank(s.search_vector, to_tsquery('english', :q)) AS rank"
    " FROM postmortem_search s WHERE s.search_vector @@ to_tsquery('english', :q)"
    " ORDER BY rank LIMIT :limit"
    ") "
    "SELECT best.postmortem_id AS id, s.title, "
    "ts_headline('english', s.body, to_tsquery('english', :q), "
    "'StartSel=[, StopSel=], MaxWords=30, MinWords=10') AS snippet, best.rank "
    "FROM best JOIN postmortem_search s ON s.postmortem_id = best.postmortem_id "
    "ORDER BY best.rank, best.postmortem_id"
)


def search_postmortems(ctx: Context, query: str, *, limit: int = 50) -> list[SearchHitOut]:
    """Published postmortems matching every word of ``query`` (prefixes count), best first,
    with a snippet whose matches are in [brackets]. Drafts are never found: only a
    published postmortem has searchable text."""
    authorize_somewhere(ctx.actor, Action.IMPROVEMENT_READ)
    words = _WORD.findall(query)[:20]
    if not words or len(query) > MAX_QUERY:
        raise InvalidInput.for_field(
            "q", f"give one or more words to search for (at most {MAX_QUERY} characters)"
        )
    params: dict[str, Any] = {"limit": max(1, min(limit, 200))}
    with ctx.read() as session:
        if session.get_bind().dialect.name == "postgresql":
            params["q"] = " & ".join(w + ":*" for w in words)
            rows = session.execute(text(_POSTGRES_SEARCH), params).all()
        else:
            params["q"] = " ".join('"' + w.replace('"', "") + '"*' for w in words)
            rows = session.execute(text(_SQLITE_SEARCH), params).all()
    return [
        SearchHitOut(id=r.id, title=r.title, snippet=r.snippet or "", rank=float(r.rank))
        for r in rows
    ]


def prompts_for(ctx: Context, texts: dict[str, str]) -> list[Prompt]:
    """Blameless prompts for narrative text being written (before it is saved)."""
    authorize_somewhere(ctx.actor, Action.IMPROVEMENT_READ)
    with ctx.read() as session:
        return blameless_prompts(texts, _names_in(session, texts.values()))


# --- shared --------------------------------------------------------------------------------


def _writer(actor: Actor) -> bool:
    try:
        authorize_somewhere(actor, Action.POSTMORTEM_WRITE)
    except PermissionDenied:
        return False
    return True


def _get(session: Session, actor: Actor, postmortem_id: int) -> Postmortem:
    pm = session.get(Postmortem, postmortem_id)
    if pm is None:
        raise NotFound(f"no postmortem with id {postmortem_id}")
    if pm.status != "published" and not _writer(actor):
        raise PermissionDenied(
            f"postmortem {postmortem_id} is not published; only its writers see it yet"
        )
    return pm


def _scope(session: Session, line_id: int | None) -> Scope:
    if line_id is None:
        return PLANT_WIDE
    try:
        return line_scope(session, line_id)[1]
    except NotFound:
        raise InvalidInput.for_field("line_id", f"no line with id {line_id}") from None


def _locked(tx: Transaction, postmortem_id: int, version: int | None) -> Postmortem:
    pm = _get(tx.session, tx.actor, postmortem_id)
    if version is not None and pm.version != version:
        raise Conflict(f"postmortem {postmortem_id} is at version {pm.version}, not {version}")
    return pm


def _draft(tx: Transaction, postmortem_id: int, version: int | None) -> Postmortem:
    """The draft, if the actor writes postmortems (where its line is) and ``version`` holds."""
    pm = _locked(tx, postmortem_id, version)
    authorize(tx.actor, Action.POSTMORTEM_WRITE, _scope(tx.session, pm.line_id))
    if pm.status == "published":
        raise Conflict(f"postmortem {postmortem_id} is published and read-only")
    if pm.status != "draft":
        raise Conflict(
            f"postmortem {postmortem_id} is under review; a reviewer returns it to draft "
            "before it changes"
        )
    return pm


def _for_review(tx: Transaction, postmortem_id: int, version: int | None) -> Postmortem:
    pm = _locked(tx, postmortem_id, version)
    authorize(tx.actor, Action.POSTMORTEM_PUBLISH, _scope(tx.session, pm.line_id))
    if pm.status != "in_review":
        raise Conflict(f"postmortem {postmortem_id} is {pm.status}, not under review")
    if pm.created_by == tx.actor.username and not tx.actor.system:
        raise PermissionDenied(
            f"{tx.actor.username} wrote postmortem {postmortem_id}; another person reviews it"
        )
    return pm


def _entry(session: Session, pm: Postmortem, entry_id: int) -> PostmortemEntry:
    entry = session.get(PostmortemEntry, entry_id)
    if entry is None or entry.postmortem_id != pm.id:
        raise NotFound(f"postmortem {pm.id} has no timeline entry {entry_id}")
    return entry


def _open_on_line(session: Session, line_id: int, at: datetime) -> int:
    """Work items on the line that were open when it stopped: the ones the stop held up."""
    return int(
        session.scalar(
            select(func.count(WorkItem.id)).where(
                WorkItem.line_id == line_id,
                WorkItem.created_at <= at,
                or_(WorkItem.closed_at.is_(None), WorkItem.closed_at > at),
            )
        )
        or 0
    )


def _entries(session: Session, pm: Postmortem) -> list[PostmortemEntry]:
    return list(
        session.scalars(
            select(PostmortemEntry)
            .where(PostmortemEntry.postmortem_id == pm.id)
            .order_by(PostmortemEntry.at, PostmortemEntry.id)
        )
    )


def _searchable(session: Session, pm: Postmortem) -> str:
    parts = [pm.summary, pm.what_happened, pm.why, pm.changes]
    for entry in _entries(session, pm):
        parts.append(entry.title)
        if entry.note:
            parts.append(entry.note)
    return "\n".join(p for p in parts if p)


def _names_in(session: Session, texts: Any) -> list[str]:
    """Usernames and display names of people that appear in ``texts``: one query on the
    words (and pairs and triples of words) written, not a read of every user."""
    words = [w.lower() for t in texts for w in _WORD.findall(t or "")]
    if not words:
        return []
    grams = set(words)
    grams |= {" ".join(words[i : i + 2]) for i in range(len(words) - 1)}
    grams |= {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}
    grams = {g for g in grams if len(g) >= 3}
    if not grams:
        return []
    names: list[str] = []
    chosen = sorted(grams)[:2000]
    # A name that is also a role's ("quality", "safety", "ops-manager": demo usernames) is the
    # word a blameless text uses for the function, not for a person: it is not flagged.
    roles = {r.value for r in Role}
    for username, display in session.execute(
        select(User.username, User.display_name).where(
            or_(func.lower(User.username).in_(chosen), func.lower(User.display_name).in_(chosen))
        )
    ):
        for name in (username, display):
            if name.lower() in grams and name.lower().replace("-", "_") not in roles:
                names.append(name)
    return names


def _detail(session: Session, pm: Postmortem) -> PostmortemDetailOut:
    out = _outs(session, [pm])[0]
    texts = {name: getattr(pm, name) for name in NARRATIVE}
    prompts = blameless_prompts(texts, _names_in(session, texts.values()))
    return PostmortemDetailOut(
        **out.model_dump(),
        timeline=[EntryOut.model_validate(e) for e in _entries(session, pm)],
        prompts=[PromptOut.model_validate(p, from_attributes=True) for p in prompts],
        follow_ups=list(
            session.scalars(
                select(ActionLinkRow.action_id)
                .where(ActionLinkRow.kind == "postmortem", ActionLinkRow.ref == str(pm.id))
                .order_by(ActionLinkRow.action_id)
            )
        ),
    )


def follow_ups(ctx: Context, postmortem_id: int) -> list[ActionOut]:
    """Actions in the actions room linked ``postmortem:ID``, soonest due first."""
    return list_actions(
        ctx, ActionFilters(link=ActionLink(kind="postmortem", ref=str(postmortem_id)))
    )


def _outs(session: Session, pms: list[Postmortem]) -> list[PostmortemOut]:
    line_ids = {p.line_id for p in pms if p.line_id is not None}
    codes: dict[int, str] = {}
    if line_ids:
        codes = dict(session.execute(select(Line.id, Line.code).where(Line.id.in_(line_ids))).all())
    return [
        PostmortemOut(
            **{name: getattr(p, name) for name in FIELDS},
            id=p.id,
            line=codes.get(p.line_id) if p.line_id is not None else None,
            created_by=p.created_by,
            created_at=p.created_at,
            submitted_by=p.submitted_by,
            submitted_at=p.submitted_at,
            published_by=p.published_by,
            published_at=p.published_at,
        )
        for p in pms
    ]
