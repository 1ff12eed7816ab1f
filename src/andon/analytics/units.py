"""Durations for people, as the CLI tables and the analytics pages show them."""

from __future__ import annotations


def human_seconds(seconds: float | None, *, missing: str = "-") -> str:
    """``45s``, ``12.5m``, ``3.2h``, ``4.1d`` (negative keeps its sign); ``missing`` for None."""
    if seconds is None:
        return missing
    size = abs(seconds)
    if size < 60:
        return f"{seconds:.0f}s" if seconds == int(seconds) else f"{seconds:.1f}s"
    if size < 3600:
        return f"{seconds / 60:.1f}m"
    if size < 86_400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86_400:.1f}d"
