from pathlib import Path

import pytest

from andon.core.config import load_settings
from andon.core.errors import ConfigurationError


def test_invalid_port_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDON_PORT", "eighty")
    with pytest.raises(ConfigurationError, match=r"^ANDON_PORT: "):
        load_settings()


def test_unknown_time_zone_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDON_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(ConfigurationError, match=r"^ANDON_TIMEZONE: .*Mars/Olympus_Mons"):
        load_settings()


def test_default_database_is_sqlite_in_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDON_DATA_DIR", "/srv/andon")
    monkeypatch.delenv("ANDON_DATABASE_URL", raising=False)
    assert load_settings().resolved_database_url == "sqlite:////srv/andon/andon.db"


def test_serving_without_a_secret_outside_demo_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANDON_SECRET_KEY", raising=False)
    monkeypatch.delenv("ANDON_DEMO", raising=False)
    with pytest.raises(ConfigurationError, match="ANDON_SECRET_KEY"):
        load_settings().require_secret_key()


def test_demo_mode_generates_and_keeps_a_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ANDON_SECRET_KEY", raising=False)
    monkeypatch.setenv("ANDON_DEMO", "1")
    monkeypatch.setenv("ANDON_DATA_DIR", str(tmp_path))
    first = load_settings().require_secret_key()
    second = load_settings().require_secret_key()
    assert first == second
    assert len(first) >= 32


def test_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDON_SECRET_KEY", "short")
    with pytest.raises(ConfigurationError, match=r"^ANDON_SECRET_KEY: "):
        load_settings()
