"""The repeat-offender report out: each category's counts, impact, trend and root causes."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from andon.improvement.impact import Offender
from andon.improvement.offenders import OffenderReport


class CountOut(BaseModel):
    name: str
    count: int


class OffenderOut(BaseModel):
    category: str
    name: str
    count: int = Field(description="Exceptions raised in the period.")
    items: int = Field(description="Distinct work items affected.")
    business_hours: float = Field(
        description="Hours the affected items had an exception of the category open, on "
        "their line's working calendar; overlaps counted once."
    )
    stop_minutes: float = Field(description="Minutes of the line stops its exceptions caused.")
    weekly: list[int] = Field(description="Exceptions per 7-day week from the first day.")
    lines: list[CountOut]
    products: list[CountOut]
    root_causes: list[CountOut] = Field(
        description="Verified root causes of the RCAs on this category, and how many name each."
    )

    @classmethod
    def of(cls, row: Offender) -> OffenderOut:
        return cls(
            category=row.category,
            name=row.name,
            count=row.count,
            items=row.items,
            business_hours=round(row.business_hours, 2),
            stop_minutes=round(row.stop_minutes, 1),
            weekly=list(row.weekly),
            lines=[CountOut(name=n, count=c) for n, c in row.lines],
            products=[CountOut(name=n, count=c) for n, c in row.products],
            root_causes=[CountOut(name=n, count=c) for n, c in row.causes],
        )


class OffenderReportOut(BaseModel):
    since: date
    until: date
    started_at: datetime
    ended_at: datetime
    weeks: list[date] = Field(description="First day of each week of the trend.")
    sort: str
    total: int
    categories: list[OffenderOut]

    @classmethod
    def of(cls, report: OffenderReport) -> OffenderReportOut:
        return cls(
            since=report.since,
            until=report.until,
            started_at=report.started_at,
            ended_at=report.ended_at,
            weeks=list(report.weeks),
            sort=report.sort,
            total=report.total,
            categories=[OffenderOut.of(r) for r in report.rows],
        )
