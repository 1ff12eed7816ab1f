"""Request and response models for the plant hierarchy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from andon.core.clock import zone_named
from andon.core.schemas import MAX_ID, Code, Description, Input, Name, Output, VersionedUpdate
from andon.plant.models import LineKind


def _zone(value: str) -> str:
    zone_named(value)
    return value


TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_zone)]


class EnterpriseCreate(Input):
    name: Name
    description: Description = ""


class EnterpriseUpdate(VersionedUpdate):
    name: Name | None = None
    description: Description | None = None


class EnterpriseOut(Output):
    id: int
    name: str
    description: str
    version: int
    created_at: datetime
    updated_at: datetime


class SiteCreate(Input):
    enterprise_id: int = Field(ge=1, le=MAX_ID)
    name: Name
    code: Code
    timezone: TimeZone = Field(description="IANA time zone, e.g. America/Chicago.")
    description: Description = ""


class SiteUpdate(VersionedUpdate):
    name: Name | None = None
    code: Code | None = None
    timezone: TimeZone | None = None
    description: Description | None = None


class SiteOut(EnterpriseOut):
    enterprise_id: int
    code: str
    timezone: str


class AreaCreate(Input):
    site_id: int = Field(ge=1, le=MAX_ID)
    name: Name
    code: Code
    description: Description = ""


class AreaUpdate(VersionedUpdate):
    name: Name | None = None
    code: Code | None = None
    description: Description | None = None


class AreaOut(EnterpriseOut):
    site_id: int
    code: str


class LineCreate(Input):
    area_id: int = Field(ge=1, le=MAX_ID)
    name: Name
    code: Code
    kind: LineKind = LineKind.LINE
    description: Description = ""


class LineUpdate(VersionedUpdate):
    name: Name | None = None
    code: Code | None = None
    kind: LineKind | None = None
    description: Description | None = None


class LineOut(EnterpriseOut):
    area_id: int
    code: str
    kind: LineKind
