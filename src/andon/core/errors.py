"""Domain errors. Adapters map them once: problem+json in the API, exit codes in the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal


class AndonError(Exception):
    """Base of every error a service raises on purpose."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConfigurationError(AndonError):
    title = "Invalid configuration"


class NotFound(AndonError):
    status = 404
    title = "Not found"


class Conflict(AndonError):
    """The request clashes with the current state (stale version, existing name, children)."""

    status = 409
    title = "Conflict"


class NotAuthenticated(AndonError):
    """Who is acting is not proven. ``field`` names the input at fault when there is one
    (a signature's re-entered password), not the request's credentials."""

    status = 401
    title = "Not authenticated"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class PermissionDenied(AndonError):
    status = 403
    title = "Forbidden"


class TooManyAttempts(AndonError):
    status = 429
    title = "Too many attempts"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class FieldError:
    """One field at fault: ``loc`` is its path in the service's input, e.g. ``("name",)`` or
    ``("stages", 2, "key")``; the API places it in the request (``body``/``query``)."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"


Source = Literal["body", "query"]


class InvalidInput(AndonError):
    """Input a service refuses, field by field. ``source`` is set only by an adapter that
    knows where in its request the paths lie (a document whose keys could be anything);
    left ``None``, the API infers it from the endpoint's query parameters."""

    status = 422
    title = "Invalid input"

    def __init__(
        self, detail: str, errors: list[FieldError] | None = None, *, source: Source | None = None
    ) -> None:
        super().__init__(detail)
        self.errors: list[FieldError] = errors or []
        self.source = source

    @classmethod
    def for_field(cls, field_name: str, msg: str) -> InvalidInput:
        return cls(f"{field_name}: {msg}", [FieldError((field_name,), msg)])


class Refused(Conflict):
    """A change the rules refuse in the current state, naming the input ``field`` at fault and
    the values ``allowed`` instead (e.g. the stages an item may move to from here)."""

    def __init__(self, detail: str, *, field: str, allowed: Sequence[str], kind: str) -> None:
        super().__init__(detail)
        self.field = field
        self.allowed = list(allowed)
        self.kind = kind


@dataclass
class ErrorSummary:
    """Plain form of an error for CLI and page messages."""

    title: str
    detail: str
    fields: list[str] = field(default_factory=list)


def summarize(error: AndonError) -> ErrorSummary:
    fields = []
    if isinstance(error, InvalidInput):
        fields = [".".join(str(p) for p in e.loc) + ": " + e.msg for e in error.errors]
    return ErrorSummary(error.title, error.detail, fields)
