"""Hatch build hook: puts the Alembic migrations and the npm-built web assets into the wheel."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

VENDOR = Path("src", "andon", "web", "static", "vendor")
STAMP = ".installed"  # the Makefile's marker too: both rebuild when the npm files are newer
NPM_FILES = ("package.json", "package-lock.json")


class AndonBuildHook(BuildHookInterface[Any]):
    """Adds what a clone keeps outside the package, or out of git, to wheels and sdists."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        # An editable install runs from the working tree: migrations are found at the repo root
        # and `make install` builds the assets, so nothing is copied into site-packages.
        if version == "editable":
            return
        root = Path(self.root)
        vendor = root / VENDOR
        if assets_are_stale(root):
            build_assets(root)
        # The assets are git-ignored, which hatch honours by default: forced in by name. The
        # sdist carries them (and the stamp) so that a wheel built from it needs no npm.
        for path in sorted(vendor.iterdir()):
            if path.is_file() and (path.name != STAMP or self.target_name == "sdist"):
                relative = path.relative_to(root).as_posix()
                target = relative if self.target_name == "sdist" else relative.removeprefix("src/")
                build_data["force_include"][str(path)] = target
        if self.target_name == "wheel":
            # core/migrations.py looks for andon/migrations beside the package first.
            build_data["force_include"][str(root / "migrations")] = "andon/migrations"


def assets_are_stale(root: Path) -> bool:
    """True when the vendor dir lacks its stamp or files, or the npm files changed since."""
    vendor = root / VENDOR
    stamp = vendor / STAMP
    if not stamp.is_file():
        return True
    if not any(path.name != STAMP for path in vendor.iterdir()):
        return True
    built_at = stamp.stat().st_mtime
    return any((root / name).stat().st_mtime > built_at for name in NPM_FILES)


def build_assets(root: Path) -> None:
    """Install the locked npm packages and copy the pages' files into the vendor dir."""
    npm = shutil.which("npm")
    node = shutil.which("node")
    if npm is None or node is None:
        missing = "npm" if npm is None else "node"
        raise RuntimeError(
            f"{missing} is needed to build the web assets into the package "
            f"({VENDOR.as_posix()} is missing or older than package-lock.json); install Node.js "
            "with npm, or build from a checkout where `make install` has run"
        )
    try:
        subprocess.run(  # noqa: S603 - fixed arguments, the lock decides what is installed
            [npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=root, check=True
        )
        subprocess.run(  # noqa: S603 - the project's own script
            [node, str(root / "scripts" / "copy-assets.mjs")], cwd=root, check=True
        )
    except subprocess.CalledProcessError as error:
        raise RuntimeError(
            f"building the web assets failed: {' '.join(map(str, error.cmd))} "
            f"exited with {error.returncode}"
        ) from error
    (root / VENDOR / STAMP).touch()
