"""Use cases of change control: write a draft, submit, sign, reject, take effect, revise.

Each is one unit of work: the lifecycle rules (``andon.documents.lifecycle``) decide, this
module loads the rows, stores what the rules return and audits it. A signing checks the
signer's password before the unit of work opens; a refusal anywhere stores nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from andon.accounts.models import User
from andon.core.clock import utcnow
from andon.core.errors import Conflict, FieldError, InvalidInput, PermissionDenied
from andon.core.permissions import Action, Role, authorize_somewhere
from andon.core.uow import Context, Transaction
from andon.documents import assignments, lifecycle, search
from andon.documents.content import (
    Change,
    DocumentFile,
    change_dict,
    content_dict,
    content_sha256,
    risk_reference,
)
from andon.documents.lifecycle import Status
from andon.documents.markdown_io import parse_markdown
from andon.documents.models import Document, DocumentRevision
from andon.documents.plan import checked_plan
from andon.documents.risk_link import gate_of, link_risk
from andon.documents.rules import DEFAULT_RULES, DocumentRules
from andon.documents.signing import check_password, signer_for
from andon.documents.store import (
    EDITORS,
    HEADER_FIELDS,
    apply_revision,
    document_file,
    kept_in_plan,
    load_document,
    load_revisions,
    load_signatures,
    revision_value,
    signature_json,
)
from andon.plant.models import Area, Line, Site


@dataclass(frozen=True)
class Outcome:
    """What a use case did to a document: its number, the revision touched and its status."""

    number: str
    revision: int
    status: str
    effective_on: date | None = None
    waiting: str | None = None
    """Why an approved revision due to take effect did not: its risk's unfinished
    mitigations (a change with safety impact)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "number": self.number,
            "revision": self.revision,
            "status": self.status,
            "effective_on": self.effective_on.isoformat() if self.effective_on else None,
        }
        if self.waiting is not None:
            out["waiting"] = self.waiting
        return out


def _outcome(document: Document, row: DocumentRevision) -> Outcome:
    return Outcome(document.number, row.number, row.status, row.effective_on)


# --- writing -------------------------------------------------------------------------------


def import_markdown(
    ctx: Context,
    text: str,
    *,
    plan: dict[str, Any] | None = None,
    rules: DocumentRules = DEFAULT_RULES,
    at: datetime | None = None,
) -> Outcome:
    """A new document from a Markdown file, or — when its front matter names an existing
    number — that document's next draft (or its open draft, rewritten). ``at`` dates a new
    document or revision (default: now), for loading a history."""
    file = parse_markdown(text, types=rules.types)
    try:
        return write_file(ctx, file, stated=_stated_header(text), plan=plan, rules=rules, at=at)
    except InvalidInput as exc:
        raise _in_front_matter(exc, text) from None


def _in_front_matter(exc: InvalidInput, text: str) -> InvalidInput:
    """A refusal of the file's ``risk`` (not in the register) located as the parser locates
    front-matter errors: ``front_matter.risk`` with its line."""
    if [e.loc for e in exc.errors] != [("risk",)]:
        return exc
    head = text.split("\n---", 1)[0].splitlines()
    line = next((i for i, t in enumerate(head, start=1) if t.startswith("risk:")), None)
    msg = f"line {line}: {exc.errors[0].msg}" if line else exc.errors[0].msg
    return InvalidInput(f"front_matter.risk: {msg}", [FieldError(("front_matter", "risk"), msg)])


def write_file(
    ctx: Context,
    file: DocumentFile,
    *,
    stated: list[str],
    plan: dict[str, Any] | None = None,
    rules: DocumentRules = DEFAULT_RULES,
    at: datetime | None = None,
) -> Outcome:
    """What :func:`import_markdown` does with a parsed file (the API's structured document
    comes here too): a new document, or the named document's next or open draft. ``stated``
    lists the optional header fields the author gave, which its export will give again."""
    number = file.header.number
    if number is not None:
        with ctx.read() as session:
            exists = session.scalar(select(Document.id).where(Document.number == number))
        if exists is not None:
            return _import_revision(ctx, number, file, stated, plan, rules, at)
    return create_document(ctx, file, stated=stated, plan=plan, rules=rules, at=at)


def _stated_header(text: str) -> list[str]:
    # The optional fields the front matter spelt out (parse_markdown has checked the rest).
    head = text.split("\n---", 1)[0]
    return [f for f in HEADER_FIELDS if re.search(rf"(?m)^{f}\s*:", head)]


def create_document(
    ctx: Context,
    file: DocumentFile,
    *,
    stated: list[str] | None = None,
    plan: dict[str, Any] | None = None,
    rules: DocumentRules = DEFAULT_RULES,
    site_id: int | None = None,
    line_id: int | None = None,
    at: datetime | None = None,
) -> Outcome:
    """A new document with revision 1 as a draft by the acting person."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_AUTHOR)
    author_id = _person(ctx)
    header = file.header
    if header.type not in rules.types:
        raise InvalidInput.for_field("type", f"unknown type; one of {', '.join(rules.types)}")
    now = at or utcnow()
    with ctx.write() as tx:
        session = tx.session
        owner = _user_named(session, header.owner, "owner")
        if header.site is not None:
            site_id = _site_named(session, header.site)
        if header.area is not None:
            _check_area(session, header.area, site_id)
        if header.line is not None:
            line_id = _line_named(session, header.line, header.area, site_id)
        if line_id is not None and session.get(Line, line_id) is None:
            raise InvalidInput.for_field("line_id", f"no line with id {line_id}")
        number = header.number or _next_number(session, header.type, header.area, rules)
        if session.scalar(select(Document.id).where(Document.number == number)) is not None:
            raise Conflict(f"number: {number} is taken")
        lifecycle.validate_change(file.change)
        change, risk_id = link_risk(session, file.change)
        file = replace(file, change=change)
        document = Document(
            number=number,
            type=header.type,
            title=header.title,
            owner_id=owner.id,
            site_id=site_id,
            area_code=header.area,
            line_id=line_id,
            review_interval_months=header.review_interval_months
            or rules.review_interval(header.type),
            status=Status.DRAFT.value,
            created_at=now,
            created_by=ctx.actor.username,
        )
        session.add(document)
        session.flush()
        row = _new_revision(session, document, 1, author_id, file, stated, plan, now, risk_id)
        tx.audit("document", document.id, "create", after=_document_audit(document))
        tx.audit("document_revision", row.id, "create", after=_revision_audit(document, row))
        return _outcome(document, row)


def _import_revision(
    ctx: Context,
    number: str,
    file: DocumentFile,
    stated: list[str],
    plan: dict[str, Any] | None,
    rules: DocumentRules,
    at: datetime | None = None,
) -> Outcome:
    with ctx.read() as session:
        document = load_document(session, number)
        revisions = load_revisions(session, document)
    open_row = next((r for r in revisions if r.status in lifecycle.OPEN_STATUSES), None)
    if open_row is not None and open_row.status == Status.DRAFT:
        return save_draft(ctx, number, file, version=None, stated=stated, plan=plan, rules=rules)
    return revise(ctx, number, file=file, stated=stated, plan=plan, rules=rules, at=at)


def save_draft(
    ctx: Context,
    number: str,
    file: DocumentFile,
    *,
    version: int | None,
    stated: list[str] | None = None,
    plan: dict[str, Any] | None = None,
    rules: DocumentRules = DEFAULT_RULES,
) -> Outcome:
    """New text for the open draft. ``version`` is the draft's version the editor started
    from: a draft changed since is refused (409), as is any revision not in draft."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_AUTHOR)
    now = utcnow()
    with ctx.write() as tx:
        session = tx.session
        document = load_document(session, number)
        _check_header(session, document, file)
        revisions = load_revisions(session, document)
        row = revisions[-1]
        if version is not None and row.version != version:
            raise Conflict(
                f"revision {row.number} was changed by someone else since you opened it "
                f"(version {row.version}, yours {version}); reload and retry"
            )
        before = revision_value(row)
        change, risk_id = link_risk(session, file.change, row=row)
        file = replace(file, change=change)
        sha = content_sha256(file)
        after = lifecycle.edit(before, sha, ctx.actor.user_id)
        lifecycle.validate_change(file.change)
        old = _revision_audit(document, row)
        row.title = file.header.title
        row.content = content_dict(file.content)
        row.change = change_dict(file.change)
        row.risk_id = risk_id
        if plan is not None:
            plan = lines_exist(session, checked_plan(plan))
            row.plan = {**plan, **kept_in_plan(row.plan)}
        if stated is not None:
            row.plan = {**row.plan, "front_matter": stated}
        if after.editor_ids:
            row.plan = {**row.plan, EDITORS: sorted(after.editor_ids)}
        row.content_sha256 = after.content_sha256
        row.updated_at = now
        owner = _user_named(session, file.header.owner, "owner")
        document.owner_id = owner.id
        document.title = file.header.title
        if file.header.review_interval_months:
            document.review_interval_months = file.header.review_interval_months
        tx.audit(
            "document_revision", row.id, "edit", before=old, after=_revision_audit(document, row)
        )
        return _outcome(document, row)


def _check_header(session: Session, document: Document, file: DocumentFile) -> None:
    if file.header.type != document.type:
        raise InvalidInput.for_field(
            "type", f"{document.number} is a {document.type}; a revision cannot change its type"
        )
    if file.header.number not in (None, document.number):
        raise InvalidInput.for_field(
            "number", f"this is {document.number}, not {file.header.number}"
        )
    for name, given in (("site", file.header.site), ("line", file.header.line)):
        if given is not None and not _same_place(session, document, name, given):
            raise InvalidInput.for_field(
                name, f"{document.number} applies elsewhere; a revision cannot move it"
            )
    if file.header.area is not None and file.header.area != document.area_code:
        raise InvalidInput.for_field(
            "area", f"{document.number} belongs to area {document.area_code or '(none)'}"
        )


def _same_place(session: Session, document: Document, name: str, code: str) -> bool:
    """Whether the document's site (or line) has ``code``; False when it has none."""
    place: Site | Line | None = None
    if name == "site" and document.site_id is not None:
        place = session.get(Site, document.site_id)
    elif name == "line" and document.line_id is not None:
        place = session.get(Line, document.line_id)
    return place is not None and place.code == code


def revise(
    ctx: Context,
    number: str,
    *,
    reason: str | None = None,
    safety_impact: bool | None = None,
    training: bool | None = None,
    risk_id: int | None = None,
    file: DocumentFile | None = None,
    stated: list[str] | None = None,
    plan: dict[str, Any] | None = None,
    rules: DocumentRules = DEFAULT_RULES,
    at: datetime | None = None,
) -> Outcome:
    """A new draft from the effective revision (its text copied, or ``file`` when given), with
    the change record; ``risk_id`` links the risk register entry a change with safety impact
    addresses (the record signs its reference, ``RSK-12``). The effective revision stays in
    force until the draft takes effect."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_AUTHOR)
    author_id = _person(ctx)
    now = at or utcnow()
    with ctx.write() as tx:
        session = tx.session
        document = load_document(session, number)
        revisions = load_revisions(session, document)
        current = next((r for r in revisions if r.status == Status.EFFECTIVE), None)
        if file is None:
            if current is None:
                raise Conflict(f"{number} has no effective revision to revise")
            base = document_file(session, document, current)
            stated = stated or current.plan.get("front_matter", list(HEADER_FIELDS))
            change = Change(
                reason=reason,
                safety_impact=safety_impact,
                training=training,
                risk=risk_reference(risk_id) if risk_id is not None else None,
            )
            file = replace(base, change=change)
        else:
            _check_header(session, document, file)
            change = file.change
            if reason is not None:
                change = replace(change, reason=reason)
            file = replace(file, change=change)
        if not (file.change.reason or "").strip():
            raise InvalidInput.for_field("reason", "a change says why it is made")
        values = [revision_value(r) for r in revisions]
        linked, linked_id = link_risk(
            session, file.change, field="risk_id" if risk_id is not None else "risk"
        )
        file = replace(file, change=linked)
        draft = lifecycle.start_revision(values, author_id, content_sha256(file), file.change)
        row = _new_revision(
            session, document, draft.number, author_id, file, stated, plan, now, linked_id
        )
        if current is not None and not plan:
            # The rollout plan of the last change is not this one's; the scope lines stay.
            row.plan = {**row.plan, "lines": current.plan.get("lines", [])}
        tx.audit("document_revision", row.id, "create", after=_revision_audit(document, row))
        return _outcome(document, row)


def _new_revision(
    session: Session,
    document: Document,
    number: int,
    author_id: int,
    file: DocumentFile,
    stated: list[str] | None,
    plan: dict[str, Any] | None,
    at: datetime,
    risk_id: int | None = None,
) -> DocumentRevision:
    plan = lines_exist(session, checked_plan(plan))
    row = DocumentRevision(
        document_id=document.id,
        number=number,
        status=Status.DRAFT.value,
        author_id=author_id,
        title=file.header.title,
        content=content_dict(file.content),
        content_sha256=content_sha256(file),
        change=change_dict(file.change),
        risk_id=risk_id,
        plan={
            **(plan or {}),
            "front_matter": stated if stated is not None else list(HEADER_FIELDS),
        },
        created_at=at,
        updated_at=at,
    )
    session.add(row)
    session.flush()
    if document.effective_revision is None:
        document.status = Status.DRAFT.value
    return row


# --- review and signatures -----------------------------------------------------------------


def submit(
    ctx: Context,
    number: str,
    *,
    effective_on: date | None = None,
    password: str | None = None,
    rules: DocumentRules = DEFAULT_RULES,
    at: datetime | None = None,
) -> Outcome:
    """Send the draft to review. With ``password``, the author also signs it as authored."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_AUTHOR)
    if password is not None:
        check_password(ctx, password)
    now = at or utcnow()
    if effective_on is not None and effective_on < rules.today(now):
        raise InvalidInput.for_field("effective", "the effective date is in the past")
    with ctx.write() as tx:
        session = tx.session
        document, row, before = _open_change(session, number)
        after = lifecycle.submit(before, effective_on)
        if password is not None:
            after = lifecycle.sign_authored(after, signer_for(session, ctx.actor), now)
        old = _revision_audit(document, row)
        apply_revision(session, row, before, after, now)
        _sync_status(document, row)
        tx.audit(
            "document_revision", row.id, "submit", before=old, after=_revision_audit(document, row)
        )
        return _outcome(document, row)


def approve(
    ctx: Context,
    number: str,
    password: str,
    *,
    role: Role | None = None,
    effective_on: date | None = None,
    rules: DocumentRules = DEFAULT_RULES,
    at: datetime | None = None,
) -> Outcome:
    """Sign an approval. The last required one approves the revision; on its effective date
    (today unless set) it takes effect at once, superseding the revision in force."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_APPROVE)
    check_password(ctx, password)
    now = at or utcnow()
    if effective_on is not None and effective_on < rules.today(now):
        raise InvalidInput.for_field("effective", "the effective date is in the past")
    with ctx.write() as tx:
        session = tx.session
        document, row, before = _open_change(session, number)
        signer = signer_for(session, ctx.actor)
        chosen = role or _role_to_sign(before, signer, document.type, rules)
        after = lifecycle.approve(
            before,
            signer,
            chosen,
            now,
            document.type,
            rules.policy,
            effective_on,
            today=rules.today(now),
        )
        _record_signed(tx, document, row, before, after, now, "approve")
        if (
            row.status == Status.APPROVED
            and row.effective_on
            and row.effective_on <= rules.today(now)
        ):
            waiting_for = gate_of(session, row)
            if waiting_for:
                # Approved all the same: it waits for the mitigations, then the sweep (or the
                # next approval path) makes it effective.
                message = lifecycle.waiting_message(row.number, row.change.get("risk"), waiting_for)
                return replace(_outcome(document, row), waiting=message)
            _take_effect(tx, document, row.number, now, rules)
        return _outcome(document, row)


def _record_signed(
    tx: Transaction,
    document: Document,
    row: DocumentRevision,
    before: lifecycle.Revision,
    after: lifecycle.Revision,
    at: datetime,
    verb: str,
    reason: str | None = None,
) -> None:
    """Store a signing (approval or rejection): the signature and the revision's new state,
    each with its audit entry."""
    old = _revision_audit(document, row)
    (signature,) = apply_revision(tx.session, row, before, after, at)
    tx.audit(
        "document_signature",
        signature.id,
        "sign",
        after={"revision_id": row.id, **signature_json(signature)},
    )
    _sync_status(document, row)
    tx.audit(
        "document_revision",
        row.id,
        verb,
        before=old,
        after=_revision_audit(document, row),
        reason=reason,
    )


def _role_to_sign(
    revision: lifecycle.Revision, signer: lifecycle.Signer, doc_type: str, rules: DocumentRules
) -> Role:
    """The required role the signer holds that still lacks an approval (first by name)."""
    missing = lifecycle.missing_approvals(revision, doc_type, rules.policy)
    for candidate in sorted(missing):
        if candidate in signer.roles:
            return candidate
    needed = rules.policy.required_approvals(doc_type, revision.change)
    held = sorted(r.value for r in signer.roles)
    raise PermissionDenied(
        f"{signer.username} holds {', '.join(held) or 'no role'}; revision "
        f"{revision.number} needs approval by "
        + ", ".join(sorted(r.value for r in needed))
        + (
            " (still missing: " + ", ".join(sorted(r.value for r in missing)) + ")"
            if missing
            else ""
        )
    )


def reject(
    ctx: Context,
    number: str,
    password: str,
    comment: str,
    *,
    role: Role | None = None,
    rules: DocumentRules = DEFAULT_RULES,
) -> Outcome:
    """Send the revision in review back to draft, signed, with a comment saying why."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_APPROVE)
    if not comment.strip():
        raise InvalidInput.for_field("comment", "a rejection says why")
    check_password(ctx, password)
    now = utcnow()
    with ctx.write() as tx:
        session = tx.session
        document, row, before = _open_change(session, number)
        signer = signer_for(session, ctx.actor)
        needed = rules.policy.required_approvals(document.type, before.change)
        chosen = role or next((r for r in sorted(needed) if r in signer.roles), None)
        if chosen is None:
            raise PermissionDenied(
                f"{signer.username} holds no role that reviews this revision; required: "
                + ", ".join(sorted(r.value for r in needed))
            )
        after = lifecycle.reject(before, signer, chosen, comment, now, document.type, rules.policy)
        _record_signed(tx, document, row, before, after, now, "reject", comment.strip())
        return _outcome(document, row)


def _open_change(
    session: Session, number: str
) -> tuple[Document, DocumentRevision, lifecycle.Revision]:
    document = load_document(session, number)
    revisions = load_revisions(session, document)
    row = next((r for r in revisions if r.status in lifecycle.OPEN_STATUSES), None)
    if row is None:
        raise Conflict(
            f"{number} has no change in flight (no draft or revision in review); "
            "revise it to start one"
        )
    signatures = load_signatures(session, [row.id])[row.id]
    return document, row, revision_value(row, signatures)


# --- taking effect -------------------------------------------------------------------------


def take_effect_due(
    ctx: Context, *, rules: DocumentRules = DEFAULT_RULES, now: datetime | None = None
) -> list[Outcome]:
    """Every approved revision whose effective date has come takes effect (the worker's job).

    A change with safety impact whose risk has unfinished mitigations stays approved: its
    outcome says why (``waiting``), and the next sweep after they are finished applies it."""
    now = now or utcnow()
    today = rules.today(now)
    with ctx.read() as session:
        due = list(
            session.execute(
                select(Document.number, DocumentRevision.number)
                .join(Document, Document.id == DocumentRevision.document_id)
                .where(
                    DocumentRevision.status == Status.APPROVED.value,
                    DocumentRevision.effective_on <= today,
                )
                .order_by(DocumentRevision.effective_on, DocumentRevision.id)
            )
        )
    done = []
    for number, revision in due:
        with ctx.write() as tx:
            document = load_document(tx.session, number, lock=True)
            # Another worker may have made it effective since the list was read: skip it.
            still = tx.session.scalar(
                select(DocumentRevision.status).where(
                    DocumentRevision.document_id == document.id,
                    DocumentRevision.number == revision,
                )
            )
            if still == Status.APPROVED.value:
                try:
                    done.append(_take_effect(tx, document, revision, now, rules))
                except lifecycle.MitigationsUnfinished as held:
                    # Nothing was written: the rules refuse before any row changes.
                    done.append(
                        Outcome(number, revision, Status.APPROVED.value, waiting=held.detail)
                    )
    return done


def _take_effect(
    tx: Transaction, document: Document, number: int, at: datetime, rules: DocumentRules
) -> Outcome:
    session = tx.session
    rows = load_revisions(session, document)
    signatures = load_signatures(session, [r.id for r in rows])
    values = [revision_value(r, signatures[r.id]) for r in rows]
    target_row = next(r for r in rows if r.number == number)
    after = lifecycle.take_effect(
        values,
        number,
        rules.today(at),
        document.type,
        rules.policy,
        unfinished_mitigations=gate_of(session, target_row),
    )
    previous: DocumentRevision | None = None
    target: DocumentRevision | None = None
    for row, old, new in zip(rows, values, after, strict=True):
        if old.status is new.status:
            continue
        before = _revision_audit(document, row)
        row.status = new.status.value
        row.updated_at = at
        if new.status is Status.SUPERSEDED:
            row.ended_at = at
            previous = row
            tx.audit(
                "document_revision",
                row.id,
                "supersede",
                before=before,
                after=_revision_audit(document, row),
            )
        else:
            row.effective_at = at
            target = row
    assert target is not None
    tx.audit(
        "document_revision",
        target.id,
        "take_effect",
        before={"status": Status.APPROVED.value},
        after=_revision_audit(document, target),
    )
    document.effective_revision = target.number
    document.title = target.title
    document.status = Status.EFFECTIVE.value
    document.next_review_on = add_months(rules.today(at), document.review_interval_months)
    document.review_reminded_at = None
    document.review_escalated_at = None
    search.index_revision(session, document, target)
    assigned = assignments.on_effective(session, document, target, previous, rules, at)
    tx.audit(
        "document",
        document.id,
        "take_effect",
        after={
            "effective_revision": target.number,
            "next_review_on": document.next_review_on.isoformat(),
            "training_tasks": assigned,
        },
    )
    return _outcome(document, target)


def make_obsolete(ctx: Context, number: str, reason: str) -> Outcome:
    """Withdraw a document: its effective revision becomes obsolete, without a successor."""
    authorize_somewhere(ctx.actor, Action.DOCUMENT_AUTHOR)
    if not reason.strip():
        raise InvalidInput.for_field("reason", "say why the document is withdrawn")
    now = utcnow()
    with ctx.write() as tx:
        session = tx.session
        document = load_document(session, number)
        rows = load_revisions(session, document)
        values = [revision_value(r) for r in rows]
        if lifecycle.open_revision(values) is not None:
            raise Conflict(f"{number} has a change in flight; reject or finish it first")
        current = lifecycle.effective_revision(values)
        if current is None:
            raise Conflict(f"{number} has no effective revision to withdraw")
        new = lifecycle.make_obsolete(current)
        row = next(r for r in rows if r.number == current.number)
        row.status = new.status.value
        row.ended_at = now
        document.status = new.status.value
        document.effective_revision = None
        document.next_review_on = None
        search.unindex(session, document.id)
        tx.audit(
            "document_revision",
            row.id,
            "obsolete",
            after=_revision_audit(document, row),
            reason=reason,
        )
        return _outcome(document, row)


# --- helpers -------------------------------------------------------------------------------


def lines_exist(session: Session, plan: dict[str, Any]) -> dict[str, Any]:
    wanted = set(plan.get("lines", [])) | {s["line_id"] for s in plan.get("rollout", [])}
    if wanted:
        found = set(session.scalars(select(Line.id).where(Line.id.in_(wanted))))
        if wanted - found:
            missing = ", ".join(str(i) for i in sorted(wanted - found))
            raise InvalidInput.for_field("plan", f"no line with id {missing}")
    for index, item in enumerate(plan.get("done", [])):
        if session.scalar(select(User.id).where(User.username == item["owner"])) is None:
            raise InvalidInput(
                f"plan.done.{index}.owner: no user named {item['owner']!r}",
                [FieldError(("plan", "done", index, "owner"), f"no user named {item['owner']!r}")],
            )
    return plan


def _sync_status(document: Document, row: DocumentRevision) -> None:
    # The document shows its effective revision's status while a change is in flight.
    if document.effective_revision is None:
        document.status = row.status


def _person(ctx: Context) -> int:
    if ctx.actor.user_id is None:
        raise PermissionDenied(
            "a revision needs an author: act as a user (for the CLI, --as USERNAME)"
        )
    return ctx.actor.user_id


def _user_named(session: Session, username: str, field: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise InvalidInput.for_field(field, f"no active user named {username!r}")
    return user


def _check_area(session: Session, code: str, site_id: int | None) -> None:
    query = select(Area.id).where(Area.code == code)
    if site_id is not None:
        query = query.where(Area.site_id == site_id)
    if session.scalar(query.limit(1)) is None:
        raise InvalidInput.for_field("area", f"no area with code {code!r}")


def _site_named(session: Session, code: str) -> int:
    site_id = session.scalar(select(Site.id).where(Site.code == code))
    if site_id is None:
        raise InvalidInput.for_field("site", f"no site with code {code!r}")
    return site_id


def _line_named(session: Session, code: str, area: str | None, site_id: int | None) -> int:
    """The line ``code`` of the document's area (and site): a line code is unique in an area."""
    if area is None:
        raise InvalidInput.for_field("line", "a line is named within its area: give 'area' too")
    query = select(Line.id).join(Area, Area.id == Line.area_id)
    query = query.where(Line.code == code, Area.code == area)
    if site_id is not None:
        query = query.where(Area.site_id == site_id)
    found = list(session.scalars(query.limit(2)))
    if not found:
        raise InvalidInput.for_field("line", f"no line {code!r} in area {area}")
    if len(found) > 1:
        raise InvalidInput.for_field(
            "line", f"area {area} has a line {code!r} at several sites: give 'site' too"
        )
    return found[0]


def _next_number(session: Session, doc_type: str, area: str | None, rules: DocumentRules) -> str:
    prefix, suffix = rules.number_affixes(doc_type, area)
    taken = session.scalars(select(Document.number).where(Document.number.startswith(prefix)))
    highest = 0
    for number in taken:
        middle = number[len(prefix) : len(number) - len(suffix) if suffix else None]
        if middle.isdigit() and (not suffix or number.endswith(suffix)):
            highest = max(highest, int(middle))
    return rules.number(doc_type, area, highest + 1)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _document_audit(document: Document) -> dict[str, Any]:
    return {
        "number": document.number,
        "type": document.type,
        "title": document.title,
        "owner_id": document.owner_id,
        "area_code": document.area_code,
        "review_interval_months": document.review_interval_months,
    }


def _revision_audit(document: Document, row: DocumentRevision) -> dict[str, Any]:
    return {
        "document": document.number,
        "revision": row.number,
        "status": row.status,
        "title": row.title,
        "content_sha256": row.content_sha256,
        "change": dict(row.change),
        "review_round": row.review_round,
        "effective_on": row.effective_on.isoformat() if row.effective_on else None,
    }
