"""Roles, actions and the role × action matrix; every service checks through ``authorize``."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from andon.core.errors import PermissionDenied


class Role(StrEnum):
    ADMIN = "admin"
    OPS_MANAGER = "ops_manager"
    QUALITY = "quality"
    SAFETY = "safety"
    SUPERVISOR = "supervisor"
    OPERATOR = "operator"
    VIEWER = "viewer"


class Action(StrEnum):
    PLANT_READ = "plant.read"
    PLANT_MANAGE = "plant.manage"
    USER_READ = "user.read"
    USER_MANAGE = "user.manage"
    AUDIT_READ = "audit.read"
    TOKEN_OWN = "token.own"  # noqa: S105 - an action name, not a secret
    PROCESS_READ = "process.read"
    PROCESS_MANAGE = "process.manage"
    CALENDAR_MANAGE = "calendar.manage"
    WORK_READ = "work.read"
    WORK_CREATE = "work.create"
    WORK_MOVE = "work.move"
    WORK_ASSIGN = "work.assign"
    WORK_RECORD = "work.record"
    EXCEPTION_RAISE = "exception.raise"
    EXCEPTION_MANAGE = "exception.manage"
    ESCALATION_ACK = "escalation.ack"
    ESCALATION_SEND = "escalation.send"
    LINE_STOP = "line.stop"
    LINE_RESTART = "line.restart"
    LINE_RULES = "line.rules"
    ANALYTICS_READ = "analytics.read"
    ANALYTICS_UPLOAD = "analytics.upload"
    DOCUMENT_READ = "document.read"
    DOCUMENT_AUTHOR = "document.author"
    DOCUMENT_APPROVE = "document.approve"
    DOCUMENT_REVIEW = "document.review"
    DOCUMENT_ACK = "document.ack"
    TRAINING_READ = "training.read"
    METRIC_READ = "metric.read"
    METRIC_MANAGE = "metric.manage"
    METRIC_RECORD = "metric.record"
    REVIEW_RUN = "review.run"
    ACTION_READ = "action.read"
    ACTION_CREATE = "action.create"
    ACTION_MANAGE = "action.manage"
    IMPROVEMENT_READ = "improvement.read"
    RCA_MANAGE = "rca.manage"
    CAPA_MANAGE = "capa.manage"
    POSTMORTEM_WRITE = "postmortem.write"
    POSTMORTEM_PUBLISH = "postmortem.publish"
    RISK_MANAGE = "risk.manage"
    DECISION_RECORD = "decision.record"


EVERYONE = frozenset(Role)
DOERS = EVERYONE - {Role.VIEWER}
MANAGERS = frozenset({Role.ADMIN, Role.OPS_MANAGER})
LEADS = MANAGERS | {Role.SUPERVISOR}
OVERSIGHT = LEADS | {Role.QUALITY, Role.SAFETY}

MATRIX: dict[Action, frozenset[Role]] = {
    Action.PLANT_READ: EVERYONE,
    Action.PLANT_MANAGE: frozenset({Role.ADMIN, Role.OPS_MANAGER}),
    Action.USER_READ: frozenset({Role.ADMIN}),
    Action.USER_MANAGE: frozenset({Role.ADMIN}),
    Action.AUDIT_READ: frozenset({Role.ADMIN, Role.OPS_MANAGER, Role.QUALITY, Role.SAFETY}),
    Action.TOKEN_OWN: EVERYONE,
    Action.PROCESS_READ: EVERYONE,
    Action.PROCESS_MANAGE: MANAGERS,
    Action.CALENDAR_MANAGE: MANAGERS,
    Action.WORK_READ: EVERYONE,
    Action.WORK_CREATE: DOERS - {Role.SAFETY},
    # Which stage a person may move an item out of is decided by the process definition.
    Action.WORK_MOVE: DOERS,
    Action.WORK_ASSIGN: LEADS,
    Action.WORK_RECORD: DOERS,
    Action.EXCEPTION_RAISE: DOERS,
    Action.EXCEPTION_MANAGE: OVERSIGHT,
    Action.ESCALATION_ACK: OVERSIGHT,
    Action.ESCALATION_SEND: LEADS,
    Action.LINE_STOP: DOERS,
    # Restart also needs both sign-offs: a supervisor's and quality's.
    Action.LINE_RESTART: LEADS | {Role.QUALITY},
    Action.LINE_RULES: MANAGERS | {Role.SAFETY, Role.QUALITY},
    # Whoever may read work may mine it; importing (and removing) a log file is for the
    # people who act on what it shows.
    Action.ANALYTICS_READ: EVERYONE,
    Action.ANALYTICS_UPLOAD: LEADS | {Role.QUALITY},
    Action.DOCUMENT_READ: EVERYONE,
    # Standards are written and changed by the people accountable for them; operators
    # propose changes through their supervisor (or an exception), they do not draft them.
    Action.DOCUMENT_AUTHOR: OVERSIGHT,
    # Which roles must approve a revision is the approval policy's business (by type and
    # safety impact); this only says who may sign at all.
    Action.DOCUMENT_APPROVE: OVERSIGHT,
    # A periodic review confirms a standard still holds or starts a change to it.
    Action.DOCUMENT_REVIEW: OVERSIGHT,
    # Acknowledging is how a person says they read the standard they work to.
    Action.DOCUMENT_ACK: DOERS,
    # The training matrix names who is behind: for the people who lead and audit them.
    Action.TRAINING_READ: OVERSIGHT,
    # The numbers a plant runs on are on the wall for everyone to see.
    Action.METRIC_READ: EVERYONE,
    # A definition (formula, thresholds, baseline, limits) changes decisions: the people
    # accountable for results define and re-baseline metrics.
    Action.METRIC_MANAGE: OVERSIGHT,
    # Values entered by hand (near misses, scrap cost, downtime with its reason) come from
    # the floor's leads and the quality and safety people who count them.
    Action.METRIC_RECORD: OVERSIGHT,
    # The weekly review is run by the people who chair it: they record attendance and
    # decisions and generate the pack.
    Action.REVIEW_RUN: OVERSIGHT,
    Action.ACTION_READ: EVERYONE,
    # Anyone who does the work may raise an action for someone; the owner of an action
    # updates and closes it whatever their role (checked in the service).
    Action.ACTION_CREATE: DOERS,
    # Reassigning, cancelling and closing other people's actions.
    Action.ACTION_MANAGE: OVERSIGHT,
    # Root-cause work is done in the open: everyone sees RCAs, CAPAs, published postmortems,
    # the risk register and the decision log (draft postmortems: their writers, see below).
    Action.IMPROVEMENT_READ: EVERYONE,
    # Leading an RCA and owning CAPAs is for the people accountable for the standard; an
    # operator contributes through exceptions, comments and containment actions.
    Action.RCA_MANAGE: OVERSIGHT,
    Action.CAPA_MANAGE: OVERSIGHT,
    Action.POSTMORTEM_WRITE: OVERSIGHT,
    # Publishing makes a postmortem read-only and plant-wide: after a review by a manager
    # or the quality or safety lead.
    Action.POSTMORTEM_PUBLISH: MANAGERS | {Role.QUALITY, Role.SAFETY},
    Action.RISK_MANAGE: MANAGERS | {Role.QUALITY, Role.SAFETY},
    # Recording how the plant decided something is for those with decision rights.
    Action.DECISION_RECORD: MANAGERS | {Role.QUALITY, Role.SAFETY},
}


@dataclass(frozen=True)
class Scope:
    """Where in the plant an action applies; ``None`` means plant-wide."""

    site_id: int | None = None
    area_id: int | None = None


PLANT_WIDE = Scope()


@dataclass(frozen=True)
class Grant:
    """A role, optionally limited to one site or one area of a site."""

    role: Role
    site_id: int | None = None
    area_id: int | None = None

    def covers(self, scope: Scope) -> bool:
        if self.site_id is not None and self.site_id != scope.site_id:
            return False
        return self.area_id is None or self.area_id == scope.area_id


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, a token's owner, or the local CLI operator."""

    user_id: int | None
    username: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)
    system: bool = False

    def can(self, action: Action, scope: Scope = PLANT_WIDE) -> bool:
        if self.system:
            return True
        allowed = MATRIX[action]
        return any(g.role in allowed and g.covers(scope) for g in self.grants)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)


def authorize(actor: Actor, action: Action, scope: Scope = PLANT_WIDE) -> None:
    """Raise PermissionDenied unless one of the actor's grants allows the action here."""
    if not actor.can(action, scope):
        where = ""
        if scope.area_id is not None:
            where = f" in area {scope.area_id}"
        elif scope.site_id is not None:
            where = f" in site {scope.site_id}"
        raise PermissionDenied(f"{actor.username} may not {action.value}{where}")


def system_actor(name: str) -> Actor:
    """The local operator running the CLI on the server: full rights, named in the audit."""
    return Actor(user_id=None, username=name, system=True)


@dataclass(frozen=True)
class Reach:
    """The places where an actor may do something: whole sites, and single areas."""

    site_ids: frozenset[int]
    area_ids: frozenset[int]


def reach(actor: Actor, action: Action) -> Reach | None:
    """Where ``actor`` may take ``action``: ``None`` means plant-wide.

    Raises PermissionDenied if nowhere. List views use this to show a site's supervisor
    the site's items rather than refusing the whole list.
    """
    if actor.system:
        return None
    grants = [g for g in actor.grants if g.role in MATRIX[action]]
    if not grants:
        raise PermissionDenied(f"{actor.username} may not {action.value}")
    if any(g.site_id is None and g.area_id is None for g in grants):
        return None
    return Reach(
        frozenset(g.site_id for g in grants if g.site_id is not None and g.area_id is None),
        frozenset(g.area_id for g in grants if g.area_id is not None),
    )


def authorize_somewhere(actor: Actor, action: Action) -> None:
    """Raise PermissionDenied unless the actor may take the action in at least one place."""
    reach(actor, action)
