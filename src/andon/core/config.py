"""Settings read from ``ANDON_*`` environment variables, validated once at start-up."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from andon.core.clock import zone_named
from andon.core.errors import ConfigurationError

DEMO_SECRET_FILE = "demo-secret-key"  # noqa: S105 - a file name


class Settings(BaseSettings):
    """Every setting Andon reads. Each field maps to ``ANDON_<FIELD NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ANDON_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where the embedded database lives.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data directory."
    )
    secret_key: str | None = Field(
        default=None, min_length=32, description="Signs CSRF tokens. Required outside demo mode."
    )
    demo: bool = Field(default=False, description="Demo mode: a secret key is generated.")
    timezone: str = Field(default="UTC", description="IANA zone the pages show times in.")
    host: str = Field(default="127.0.0.1", description="Listen address of `andon serve`.")
    port: int = Field(default=8000, ge=1, le=65535, description="Listen port of `andon serve`.")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body.")
    max_attachment_bytes: int = Field(
        default=10_485_760, ge=1024, description="Largest uploaded file (attachment, CSV import)."
    )
    max_log_bytes: int = Field(
        default=268_435_456,
        ge=1024,
        description="Largest event log uploaded for analysis (the pages and the API).",
    )
    analytics_cache_mb: int = Field(
        default=1024,
        ge=0,
        description=(
            "Memory per server process for the prepared forms of recently filtered datasets "
            "(MiB); 0 keeps none open."
        ),
    )
    login_max_failures: int = Field(default=5, ge=1, description="Failures before a lockout.")
    login_lockout_seconds: int = Field(default=900, ge=1, description="Length of a lockout.")
    login_address_max_failures: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins from one client address, any accounts, within the window.",
    )
    login_address_window_seconds: int = Field(
        default=900, ge=1, description="Sliding window of the per-address sign-in limit."
    )
    session_hours: int = Field(default=12, ge=1, le=24 * 30, description="Session lifetime.")
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0, description="SQLite busy wait.")
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Server processes of `andon serve`; one per core uses them all.",
    )
    request_threads: int = Field(
        default=4,
        ge=1,
        le=200,
        description=(
            "Threads per server process serving ordinary requests (moves, checks, pages). "
            "On few cores, more threads serve fewer requests: they contend for the "
            "interpreter; requests beyond them wait their turn in order."
        ),
    )
    report_threads: int = Field(
        default=2,
        ge=1,
        le=200,
        description=(
            "Threads per server process for long requests (analytics, audit verification, "
            "bulk imports), so reports never hold up the floor's requests."
        ),
    )
    db_pool_size: int | None = Field(
        default=None,
        ge=1,
        le=400,
        description=(
            "Database connections kept per server process; default: one per request and "
            "report thread, plus two for background imports."
        ),
    )
    smtp_host: str = Field(default="127.0.0.1", description="Mail server notifications go to.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Mail server port.")
    smtp_from: str = Field(default="andon@localhost", description="Sender of notification mail.")
    smtp_username: str | None = Field(default=None, description="Mail server login, if any.")
    smtp_password: SecretStr | None = Field(default=None, description="Mail server password.")
    smtp_starttls: bool = Field(default=False, description="Upgrade mail with STARTTLS.")
    smtp_timeout_seconds: float = Field(default=10, gt=0, description="Mail server timeout.")
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC key that signs webhooks; unset: unsigned."
    )
    webhook_timeout_seconds: float = Field(default=5, gt=0, description="Webhook timeout.")
    notify_max_attempts: int = Field(
        default=6, ge=1, description="Delivery attempts before a notification is dead."
    )
    document_types: str = Field(
        default="SOP,WI,checklist,form,policy",
        description="The plant's document types, comma-separated (others may be added).",
    )
    document_approvals: str = Field(
        default="",
        description=(
            "Approvals each document type needs, e.g. `SOP=quality;WI=quality,supervisor` "
            "(`role*2` for two); unset types need one quality approval. Safety impact adds safety."
        ),
    )
    document_review_months: str = Field(
        default="",
        description="Periodic review interval per type, e.g. `SOP=24;checklist=12`.",
    )
    document_number_format: str = Field(
        default="{prefix}-{area}-{seq:03d}",
        description=(
            "Number of a new document: {prefix} (SOP, WI, CHK, FRM, POL), {type}, {area}, {seq}."
        ),
    )
    training_due_days: int = Field(
        default=14, ge=1, le=365, description="Days to acknowledge a revision that needs training."
    )
    training_roles: str = Field(
        default="operator,supervisor",
        description="Roles that must read and acknowledge a revision on the lines it affects.",
    )
    review_reminder_days: int = Field(
        default=14, ge=0, le=365, description="Days before a periodic review its owner is reminded."
    )
    training_reminder_days: int = Field(
        default=3, ge=0, le=365, description="Days before a training task is due it is reminded."
    )
    document_escalation_webhooks: str = Field(
        default="",
        description="Comma-separated webhook URLs that overdue reviews and training escalate to.",
    )

    metrics_interval_seconds: float = Field(
        default=300,
        ge=0,
        description=(
            "How often `andon worker` recomputes every metric from new events and judges its "
            "thresholds (actions for crossings, no-data notices); 0: every cycle."
        ),
    )

    downtime_reasons: str = Field(
        default=(
            "changeover,breakdown,material_shortage,no_operator,quality_hold,"
            "planned_maintenance,other"
        ),
        description="Reason codes downtime may be entered with, comma-separated.",
    )

    @field_validator("downtime_reasons")
    @classmethod
    def _some_reasons(cls, value: str) -> str:
        if not [code for code in value.split(",") if code.strip()]:
            raise ValueError("name at least one downtime reason code")
        return value

    @property
    def downtime_reason_codes(self) -> tuple[str, ...]:
        """The reason codes of ``downtime_reasons``, in order, without blanks or repeats."""
        codes = (code.strip() for code in self.downtime_reasons.split(","))
        return tuple(dict.fromkeys(code for code in codes if code))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone_named(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'andon.db'}"

    @property
    def pool_size(self) -> int:
        if self.db_pool_size is not None:
            return self.db_pool_size
        return self.request_threads + self.report_threads + 2

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require_secret_key(self) -> str:
        """The key that signs tokens; in demo mode one is generated and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        if not self.demo:
            raise ConfigurationError(
                "ANDON_SECRET_KEY: required to serve outside demo mode "
                "(generate one with: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        path = self.data_dir / DEMO_SECRET_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        self.secret_key = path.read_text().strip()
        return self.secret_key


def load_settings() -> Settings:
    """Read the environment; a bad value raises ConfigurationError naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "ANDON_" + str(first["loc"][0]).upper() if first["loc"] else "ANDON_*"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(f"{name}: {message}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
