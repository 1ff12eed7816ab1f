"""The one source of "now", in UTC, so tests can reason about time."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_local(moment: datetime, zone: tzinfo) -> datetime:
    """Show a stored UTC instant in a site's zone; naive values are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; ValueError ("unknown IANA time zone ...") when there is
    none (a bad name, a path, an empty string)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
