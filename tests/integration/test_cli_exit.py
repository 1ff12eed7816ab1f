"""The ``andon`` console script exits promptly without losing output, exit codes or the
clean-up its commands registered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ANDON = str(Path(sys.executable).parent / "andon")


def andon(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ANDON, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def write_log(path: Path, cases: int) -> Path:
    lines = ["case_id,activity,timestamp,resource"]
    for case in range(cases):
        for step, name in enumerate(("cut", "weld", "paint")):
            lines.append(f"C{case},{name},2024-01-01T0{step}:{case % 60:02d}:00Z,r{case % 7}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "code"),
    [(("--version",), 0), (("no-such-command",), 2), (("log", "check", "/no/such.csv"), 1)],
)
def test_exit_codes_are_those_of_the_command(args: tuple[str, ...], code: int) -> None:
    assert andon(*args).returncode == code


def test_a_long_json_document_reaches_a_pipe_whole(tmp_path: Path) -> None:
    # Many variants make a long document: all of it must be flushed before the exit.
    log = write_log(tmp_path / "log.csv", 3_000)

    done = andon("mine", "variants", str(log), "--json")

    assert done.returncode == 0, done.stderr
    assert sum(v["cases"] for v in json.loads(done.stdout)["variants"]) == 3_000


def test_no_store_is_left_behind_by_a_command(tmp_path: Path) -> None:
    # Over the in-memory limit a CSV log is judged into a store under the temporary
    # directory; its exit handler must still run.
    log = write_log(tmp_path / "log.csv", 50)
    scratch = tmp_path / "tmp"
    scratch.mkdir()

    done = andon(
        "log",
        "check",
        str(log),
        "--json",
        env={"TMPDIR": str(scratch), "ANDON_ANALYTICS_MEMORY_ROWS": "10"},
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["events"] == 150
    assert not [p for p in scratch.iterdir() if p.name.startswith("andon-store-")]
