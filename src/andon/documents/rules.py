"""What a plant configures about its documents: approvals by type, review intervals, numbers,
training. Read from the settings by the adapters and handed to the services."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from andon.core.clock import to_local, utcnow
from andon.core.config import Settings
from andon.core.errors import ConfigurationError
from andon.core.permissions import Role
from andon.documents.content import DOCUMENT_TYPES
from andon.documents.lifecycle import ApprovalPolicy

DEFAULT_REVIEW_MONTHS: Mapping[str, int] = {
    "SOP": 24,
    "WI": 24,
    "checklist": 12,
    "form": 36,
    "policy": 36,
}
NUMBER_PREFIX: Mapping[str, str] = {
    "SOP": "SOP",
    "WI": "WI",
    "checklist": "CHK",
    "form": "FRM",
    "policy": "POL",
}
TYPE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,19}$")


def prefix_of(doc_type: str) -> str:
    """The number prefix of a type: SOP, WI, CHK, FRM, POL, else the type's name in capitals."""
    return NUMBER_PREFIX.get(doc_type, doc_type.upper())


DEFAULT_NUMBER_FORMAT = "{prefix}-{area}-{seq:03d}"
NO_AREA = "GEN"
_FIELDS = re.compile(r"\{(\w+)(?::[^}]*)?\}")


@dataclass(frozen=True)
class DocumentRules:
    """A plant's document settings; the defaults are what the issue calls "nothing configured"."""

    types: tuple[str, ...] = DOCUMENT_TYPES
    policy: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    review_months: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_REVIEW_MONTHS))
    number_format: str = DEFAULT_NUMBER_FORMAT
    training_due_days: int = 14
    # Who must read and acknowledge a revision that needs training, on the lines it affects.
    training_roles: frozenset[Role] = frozenset({Role.OPERATOR, Role.SUPERVISOR})
    review_reminder_days: int = 14
    training_reminder_days: int = 3
    # Who an overdue periodic review escalates to besides its owner, and an overdue training
    # task besides its assignee (holders of these roles where the document, or the person,
    # works); plus webhooks, as an escalation tier's ``notify`` has.
    review_escalation_roles: frozenset[Role] = frozenset({Role.QUALITY})
    training_escalation_roles: frozenset[Role] = frozenset({Role.SUPERVISOR})
    escalation_webhooks: tuple[str, ...] = ()
    zone: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def __post_init__(self) -> None:
        unknown = set(_FIELDS.findall(self.number_format)) - {"prefix", "type", "area", "seq"}
        if unknown or "{seq" not in self.number_format:
            raise ConfigurationError(
                "ANDON_DOCUMENT_NUMBER_FORMAT: use {prefix}, {type}, {area} and {seq} "
                f"(required), e.g. {DEFAULT_NUMBER_FORMAT}"
            )

    def today(self, at: datetime | None = None) -> date:
        """The plant's calendar date at ``at`` (now): the day effective dates, review dates and
        training due dates are judged on."""
        return to_local(at or utcnow(), self.zone).date()

    def training_due_on(self, at: datetime | None = None) -> date:
        """When a read-and-acknowledge task assigned at ``at`` falls due."""
        return self.today(at) + timedelta(days=self.training_due_days)

    def review_interval(self, doc_type: str) -> int:
        return self.review_months.get(doc_type, 24)

    def number(self, doc_type: str, area: str | None, seq: int) -> str:
        return self.number_format.format(
            prefix=prefix_of(doc_type),
            type=doc_type,
            area=area or NO_AREA,
            seq=seq,
        )

    def number_affixes(self, doc_type: str, area: str | None) -> tuple[str, str]:
        """The text before and after the sequence in this type and area's numbers."""
        start = self.number_format.index("{seq")
        end = self.number_format.index("}", start) + 1
        values = {
            "prefix": prefix_of(doc_type),
            "type": doc_type,
            "area": area or NO_AREA,
        }
        return (
            self.number_format[:start].format(**values),
            self.number_format[end:].format(**values),
        )


DEFAULT_RULES = DocumentRules()
"""The rules with nothing configured (what services use when an adapter passes none)."""


def parse_types(text: str) -> tuple[str, ...]:
    """``SOP,WI,checklist,form,policy,drawing`` → the plant's document types, in that order."""
    names = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    bad = [n for n in names if not TYPE_NAME.match(n)]
    if not names or bad:
        raise ConfigurationError(
            "ANDON_DOCUMENT_TYPES: a comma-separated list of type names (a letter, then up to "
            f"19 letters, digits, '-' or '_'){'; not ' + ', '.join(bad) if bad else ''}"
        )
    return names


def parse_approvals(
    text: str, types: tuple[str, ...] = DOCUMENT_TYPES
) -> dict[str, dict[Role, int]]:
    """``SOP=quality;WI=quality,supervisor;policy=ops_manager*2`` → type → role → count."""
    out: dict[str, dict[Role, int]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        doc_type, eq, roles = part.partition("=")
        doc_type = doc_type.strip()
        if not eq or doc_type not in types:
            raise ConfigurationError(
                f"ANDON_DOCUMENT_APPROVALS: {part!r} is not TYPE=ROLE[,ROLE]; types: "
                + ", ".join(types)
            )
        needed: dict[Role, int] = {}
        for item in filter(None, (r.strip() for r in roles.split(","))):
            name, star, count = item.partition("*")
            try:
                role = Role(name.strip())
                n = int(count) if star else 1
            except ValueError:
                raise ConfigurationError(
                    f"ANDON_DOCUMENT_APPROVALS: {item!r} is not a role (optionally *count); "
                    "roles: " + ", ".join(r.value for r in Role)
                ) from None
            needed[role] = n
        out[doc_type] = needed
    return out


def parse_review_months(text: str, types: tuple[str, ...] = DOCUMENT_TYPES) -> dict[str, int]:
    """``SOP=24;checklist=12`` → type → months, over the defaults."""
    out = dict(DEFAULT_REVIEW_MONTHS)
    for part in filter(None, (p.strip() for p in text.split(";"))):
        doc_type, _, months = part.partition("=")
        if doc_type.strip() not in types or not months.strip().isdigit():
            raise ConfigurationError(f"ANDON_DOCUMENT_REVIEW_MONTHS: {part!r} is not TYPE=MONTHS")
        out[doc_type.strip()] = int(months)
    return out


def document_rules(settings: Settings) -> DocumentRules:
    """The plant's rules from its settings (``ANDON_DOCUMENT_*``, ``ANDON_TRAINING_*``)."""
    types = parse_types(settings.document_types)
    approvals = parse_approvals(settings.document_approvals, types)
    try:
        roles = frozenset(Role(r.strip()) for r in settings.training_roles.split(",") if r.strip())
    except ValueError:
        raise ConfigurationError(
            "ANDON_TRAINING_ROLES: a comma-separated list of roles: "
            + ", ".join(r.value for r in Role)
        ) from None
    return DocumentRules(
        types=types,
        policy=ApprovalPolicy(required=approvals),
        review_months=parse_review_months(settings.document_review_months, types),
        number_format=settings.document_number_format,
        training_due_days=settings.training_due_days,
        training_roles=roles,
        review_reminder_days=settings.review_reminder_days,
        training_reminder_days=settings.training_reminder_days,
        escalation_webhooks=tuple(
            u.strip() for u in settings.document_escalation_webhooks.split(",") if u.strip()
        ),
        zone=settings.zone,
    )
