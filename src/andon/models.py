"""Imports every table so metadata is complete for Alembic and tests."""

from andon.accounts.models import ApiToken, RoleGrant, User, WebSession
from andon.core.audit import AuditEntry
from andon.core.database import Base
from andon.plant.models import Area, Enterprise, Line, Site

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
