"""The structured content of a revision, its canonical JSON and the hash that signatures sign."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

DocumentType = Literal["SOP", "WI", "checklist", "form", "policy"]
CriticalKind = Literal["quality", "safety"]

DOCUMENT_TYPES: tuple[str, ...] = get_args(DocumentType)
"""The types every plant starts with; ``ANDON_DOCUMENT_TYPES`` may name others."""
CRITICAL_KINDS: tuple[str, ...] = get_args(CriticalKind)


@dataclass(frozen=True)
class Image:
    """An image shown with a step: ``src`` is a relative path or an http(s) address."""

    alt: str
    src: str


@dataclass(frozen=True)
class Step:
    """One numbered step. ``text`` and ``key_point`` are inline Markdown."""

    text: str
    key_point: str | None = None
    critical: CriticalKind | None = None
    accept: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()


@dataclass(frozen=True)
class Role:
    """A role named in the document and what it is responsible for."""

    role: str
    responsibility: str


@dataclass(frozen=True)
class Content:
    """What a revision says. ``purpose`` and ``scope`` are Markdown prose ("" when absent);
    ``hazards`` and ``ppe`` are the safety notes; ``references`` are other documents' numbers."""

    steps: tuple[Step, ...]
    purpose: str = ""
    scope: str = ""
    roles: tuple[Role, ...] = ()
    hazards: tuple[str, ...] = ()
    ppe: tuple[str, ...] = ()
    references: tuple[str, ...] = ()


RISK_PREFIX = "RSK-"
_RISK_REFERENCE = re.compile(r"^\s*(?:RSK-?)?(\d{1,9})\s*$", re.IGNORECASE)


def risk_reference(risk_id: int) -> str:
    """How a change record names a risk register entry: ``RSK-12``."""
    return f"{RISK_PREFIX}{risk_id}"


def parse_risk_reference(text: str) -> int | None:
    """The register id a reference names (``RSK-12``, ``rsk12`` or ``12``), or None when the
    text is not a reference (the free-text risk of a revision from before the register)."""
    found = _RISK_REFERENCE.match(text)
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Change:
    """The change record a revision carries; ``None`` means the file did not state it.

    ``risk`` names the risk register entry the change links, as its reference (``RSK-12``),
    which the signatures cover with the rest; revisions from before the register kept the
    free text they were signed with (their link is ``DocumentRevision.risk_id``).
    """

    reason: str | None = None
    safety_impact: bool | None = None
    training: bool | None = None
    risk: str | None = None


@dataclass(frozen=True)
class Header:
    """Front matter that describes the document rather than one revision of it. ``type`` is
    one of the plant's document types (``DOCUMENT_TYPES`` unless it configures others)."""

    type: str
    title: str
    owner: str
    number: str | None = None
    area: str | None = None
    review_interval_months: int | None = None
    site: str | None = None
    """A site code: the document applies at that site only (all sites when left out)."""
    line: str | None = None
    """A line code in ``area``: the document applies to that line only."""


@dataclass(frozen=True)
class DocumentFile:
    """Everything one Markdown file holds: header, change record and content."""

    header: Header
    content: Content
    change: Change = field(default_factory=Change)


def content_dict(content: Content) -> dict[str, Any]:
    """``content`` as plain JSON values. A field at its empty value (``""``, ``None``, no items)
    is left out, so adding an optional field later leaves existing revisions' hashes alone."""
    steps = []
    for step in content.steps:
        item: dict[str, Any] = {"text": step.text}
        if step.key_point is not None:
            item["key_point"] = step.key_point
        if step.critical is not None:
            item["critical"] = step.critical
        if step.accept:
            item["accept"] = list(step.accept)
        if step.images:
            item["images"] = [{"alt": i.alt, "src": i.src} for i in step.images]
        steps.append(item)
    data: dict[str, Any] = {"steps": steps}
    if content.purpose:
        data["purpose"] = content.purpose
    if content.scope:
        data["scope"] = content.scope
    if content.roles:
        data["roles"] = [
            {"role": r.role, "responsibility": r.responsibility} for r in content.roles
        ]
    for name in ("hazards", "ppe", "references"):
        values: tuple[str, ...] = getattr(content, name)
        if values:
            data[name] = list(values)
    return data


def content_from_dict(data: dict[str, Any]) -> Content:
    """The inverse of :func:`content_dict` (for values read back from storage)."""
    steps = tuple(
        Step(
            text=s["text"],
            key_point=s.get("key_point"),
            critical=s.get("critical"),
            accept=tuple(s.get("accept", ())),
            images=tuple(Image(i["alt"], i["src"]) for i in s.get("images", ())),
        )
        for s in data["steps"]
    )
    return Content(
        steps=steps,
        purpose=data.get("purpose", ""),
        scope=data.get("scope", ""),
        roles=tuple(Role(r["role"], r["responsibility"]) for r in data.get("roles", ())),
        hazards=tuple(data.get("hazards", ())),
        ppe=tuple(data.get("ppe", ())),
        references=tuple(data.get("references", ())),
    )


def change_dict(change: Change) -> dict[str, Any]:
    """The stated fields of ``change``; ``False`` is stated and kept, ``None`` is left out."""
    return {
        name: value
        for name in ("reason", "safety_impact", "training", "risk")
        if (value := getattr(change, name)) is not None
    }


def canonical_json(content: Content) -> str:
    """``content`` as JSON with sorted keys, no spaces and non-ASCII kept as UTF-8 text."""
    return _dumps(content_dict(content))


def signed_dict(document: DocumentFile) -> dict[str, Any]:
    """What a signature covers: the document's ``type`` and ``title``, the stated fields of
    the change record (``change``) and the content (``content``, as :func:`content_dict`).

    Left out on purpose: ``number`` (given on import, after the author wrote the text),
    ``owner``, ``area`` and ``review_interval_months`` (they describe the document and may
    change between revisions without anyone re-reading it).
    """
    return {
        "type": document.header.type,
        "title": document.header.title,
        "change": change_dict(document.change),
        "content": content_dict(document.content),
    }


def content_sha256(document: DocumentFile) -> str:
    """Hex SHA-256 of the UTF-8 bytes of ``signed_dict(document)`` as canonical JSON (sorted
    keys, separators ``,`` and ``:``, no ASCII escaping). Every change to a hashed value,
    down to one character, changes the hash; layout of the Markdown it came from does not,
    as far as the canonical form normalises it (see :mod:`andon.documents.markdown_io`)."""
    return hashlib.sha256(_dumps(signed_dict(document)).encode("utf-8")).hexdigest()


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
