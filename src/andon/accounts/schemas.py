"""Request and response models for users, role grants and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from andon.core.permissions import Role
from andon.core.schemas import MAX_ID, Input, Name, Output, VersionedUpdate
from andon.core.security import MIN_PASSWORD_LENGTH

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"
    ),
]
Password = Annotated[str, StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=256)]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
]


class GrantIn(Input):
    role: Role
    site_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Limit the role to one site."
    )
    area_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Limit the role to one area."
    )


class GrantOut(Output):
    id: int
    role: Role
    site_id: int | None
    area_id: int | None


class UserCreate(Input):
    username: Username
    display_name: Name
    email: Email | None = None
    password: Password = Field(description=f"At least {MIN_PASSWORD_LENGTH} characters.")
    grants: list[GrantIn] = Field(default_factory=list, max_length=50)


class UserUpdate(VersionedUpdate):
    display_name: Name | None = None
    email: Email | None = None
    active: bool | None = Field(default=None, description="false disables sign-in and tokens.")


class RolesSet(Input):
    grants: list[GrantIn] = Field(max_length=50)
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class PasswordSet(Input):
    password: Password


class UserOut(Output):
    id: int
    username: str
    display_name: str
    email: str | None
    active: bool
    version: int
    created_at: datetime
    last_login_at: datetime | None
    grants: list[GrantOut]


class TokenCreate(Input):
    name: Name
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(Output):
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret; shown this once and never again.")


class LoginIn(Input):
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]

    @model_validator(mode="after")
    def _lower(self) -> LoginIn:
        self.username = self.username.lower()
        return self
