"""Imports every table so metadata is complete for Alembic and tests."""

from andon.accounts.models import (  # noqa: F401
    ApiToken,
    RoleGrant,
    SignInFailure,
    SignInLock,
    User,
    WebSession,
)
from andon.actions.models import ActionComment, ActionItem, ActionLink  # noqa: F401
from andon.calendars.models import BusinessCalendar, CalendarClosure, CalendarHoliday  # noqa: F401
from andon.core.audit import AuditEntry
from andon.core.database import Base
from andon.documents.models import (  # noqa: F401
    Document,
    DocumentAttachment,
    DocumentReview,
    DocumentRevision,
    DocumentSearch,
    DocumentSignature,
    TrainingAssignment,
)
from andon.improvement.decision_models import Decision, DecisionLink  # noqa: F401
from andon.improvement.models import (  # noqa: F401
    Capa,
    CapaChange,
    EffectivenessCheck,
    RcaCause,
    RcaLink,
    RootCauseAnalysis,
)
from andon.improvement.postmortem_models import (  # noqa: F401
    Postmortem,
    PostmortemEntry,
    PostmortemSearch,
)
from andon.improvement.risk_models import Risk  # noqa: F401
from andon.metrics.models import (  # noqa: F401
    Metric,
    MetricCrossing,
    MetricLimits,
    MetricValue,
    MetricVersion,
)
from andon.metrics.oee_models import DowntimeEntry, IdealCycleTime  # noqa: F401
from andon.notifications.models import DeliveryAttempt, Notification  # noqa: F401
from andon.plant.models import Area, Enterprise, Line, Site
from andon.processes.models import Process, ProcessVersion  # noqa: F401
from andon.reviews.models import ReviewDecision, ReviewMeeting  # noqa: F401
from andon.work.models import (  # noqa: F401
    Attachment,
    CheckRun,
    Escalation,
    LineState,
    LineStop,
    LineStopRule,
    LineSubscription,
    PlantException,
    WorkComment,
    WorkEvent,
    WorkItem,
    WorkPause,
)

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "Area",
    "AuditEntry",
    "Enterprise",
    "Line",
    "RoleGrant",
    "Site",
    "User",
    "WebSession",
    "metadata",
]
