"""The one source of "now", in UTC, so tests can reason about time."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_local(moment: datetime, zone: tzinfo) -> datetime:
    """Show a stored UTC instant in a site's zone; naive values are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)
