"""Every command of `andon` is in docs/cli.md and every ``ANDON_*`` setting in configuration.md."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from andon.cli.main import app
from andon.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "andon"
DOCS = ROOT / "docs"

FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^#+ .*$", re.M)
SETTING = re.compile(r"`(ANDON_[A-Z0-9_]+)`")


def command_paths() -> Iterator[str]:
    """``andon``, then every group and command below it, as the words a user types."""

    def walk(command: Any, path: str, parent: typer.Context | None) -> Iterator[str]:
        yield path
        if hasattr(command, "list_commands"):  # a group
            ctx = typer.Context(command, info_name=path.rsplit(" ", 1)[-1], parent=parent)
            for name in command.list_commands(ctx):
                yield from walk(command.get_command(ctx, name), f"{path} {name}", ctx)

    yield from walk(typer.main.get_command(app), "andon", None)


def code_and_headings(markdown: str) -> str:
    """What a reader copies or scans for: fenced blocks, inline code and headings."""
    fenced = FENCE.findall(markdown)
    prose = FENCE.sub("", markdown)
    return "\n".join([*fenced, *INLINE_CODE.findall(prose), *HEADING.findall(prose)])


def undocumented_commands(paths: list[str], markdown: str) -> list[str]:
    """The paths that appear in no code or heading of ``markdown`` as whole words.

    ``andon log`` must not count as documented because ``andon logs`` is; ``andon line
    rule`` does count when ``andon line rule add`` is shown.
    """
    text = code_and_headings(markdown)
    return [path for path in paths if not re.search(rf"(?<![\w-]){re.escape(path)}(?![\w-])", text)]


def settings_variables() -> set[str]:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def environment_reads(source: str) -> set[str]:
    """``ANDON_*`` names read with ``os.environ.get/[]/setdefault/pop`` or ``os.getenv``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        key: ast.expr | None = None
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            if isinstance(func, ast.Attribute) and (
                (func.attr in {"get", "setdefault", "pop"} and _is_environ(func.value))
                or func.attr == "getenv"
            ):
                key = node.args[0]
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            key = node.slice
        if (
            isinstance(key, ast.Constant)
            and isinstance(key.value, str)
            and key.value.startswith("ANDON_")
        ):
            names.add(key.value)
    return names


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def documented_settings(markdown: str) -> set[str]:
    """Variables named in the first cell of a table row that says what they mean."""
    names: set[str] = set()
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and cells[-1]:
            names.update(SETTING.findall(cells[0]))
    return names


def test_every_cli_command_is_shown_in_the_cli_docs() -> None:
    paths = list(command_paths())
    # The walk reaches the lazily loaded groups and the nested ones.
    assert {"andon db upgrade", "andon mine report", "andon line rule add", "andon kpi"} <= set(
        paths
    )

    assert undocumented_commands(paths, (DOCS / "cli.md").read_text("utf-8")) == []


def test_a_command_mentioned_only_in_prose_or_as_a_prefix_is_undocumented() -> None:
    markdown = "Run andon db upgrade first.\n\n```console\n$ andon logs\n```\n"

    assert undocumented_commands(["andon db upgrade", "andon log"], markdown) == [
        "andon db upgrade",
        "andon log",
    ]


def test_every_setting_and_environment_variable_is_in_the_configuration_table() -> None:
    read = set().union(*(environment_reads(path.read_text("utf-8")) for path in SRC.rglob("*.py")))
    wanted = settings_variables() | read
    # Both sources are seen: a field of Settings and a variable read by the analytics engines.
    assert {"ANDON_DATABASE_URL", "ANDON_SPARK_MASTER"} <= wanted

    documented = documented_settings((DOCS / "configuration.md").read_text("utf-8"))

    assert sorted(wanted - documented) == []


def test_environment_reads_are_found_in_every_form() -> None:
    source = (
        "import os\nfrom os import environ\n"
        "a = os.environ.get('ANDON_A')\nb = os.environ['ANDON_B']\nc = os.getenv('ANDON_C')\n"
        "d = environ.setdefault('ANDON_D', '1')\ne = os.environ.get('HOME')\n"
        "f = {'x': 1}.get('ANDON_F')\n"
    )

    assert environment_reads(source) == {"ANDON_A", "ANDON_B", "ANDON_C", "ANDON_D"}


def test_a_setting_named_without_a_meaning_is_undocumented() -> None:
    markdown = (
        "| variable | default | meaning |\n|---|---|---|\n"
        "| `ANDON_HOST` / `ANDON_PORT` | x | listen address |\n"
        "| `ANDON_EMPTY` | x | |\n"
        "Set `ANDON_PROSE` in prose.\n"
    )

    assert documented_settings(markdown) == {"ANDON_HOST", "ANDON_PORT"}
