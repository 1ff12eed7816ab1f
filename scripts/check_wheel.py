"""Build the wheel, install it in a scratch venv, then migrate, load the demo and serve from it.

Run by `make wheel-check` (and so by `make test`); exits non-zero with the failed step on stderr.
Nothing of the checkout is on the scratch venv's path: a file missing from the wheel fails here.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = ROOT / ".tools" / "bin" / "uv"
LOCK = ROOT / "requirements" / "dev.lock"
SERVER_START_SECONDS = 60
HTMX_IN_WHEEL = "andon/web/static/vendor/htmx.min.js"
HTMX_SCRIPT = re.compile(r'<script[^>]*\bsrc="(/static/[^"]*htmx[^"]*\.js)"')


class CheckFailed(Exception):
    """A step of the check failed; the message says which and why."""


def main() -> int:
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="andon-wheel-check-"))
    try:
        wheel = build_wheel(scratch / "dist")
        report_contents(wheel)
        check_sdist_builds_same_wheel(wheel, scratch / "sdist")
        andon = install_wheel(wheel, scratch / "venv")
        env = scratch_environment(scratch / "data")
        run_step("andon db upgrade", [str(andon), "db", "upgrade"], env, scratch)
        run_step(
            "andon demo load",
            [str(andon), "demo", "load", "--items", "20", "--days", "2"],
            env,
            scratch,
        )
        check_server(andon, env, scratch)
    except CheckFailed as failure:
        print(f"wheel check FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"wheel check passed in {time.monotonic() - started:.1f} s")
    return 0


def build_wheel(out_dir: Path) -> Path:
    """`uv build --wheel` from the checkout, as a user would; the build hook adds the rest."""
    run_step(
        "uv build --wheel",
        [
            str(UV),
            "build",
            "--wheel",
            "--python",
            sys.executable,
            "--out-dir",
            str(out_dir),
            str(ROOT),
        ],
        None,
        ROOT,
    )
    wheels = sorted(out_dir.glob("andon-*.whl"))
    if len(wheels) != 1:
        raise CheckFailed(f"expected one andon wheel in {out_dir}, found {len(wheels)}")
    return wheels[0]


def check_sdist_builds_same_wheel(wheel: Path, out_dir: Path) -> None:
    """The sdist carries the migrations and the built assets: its wheel holds the same files."""
    run_step(
        "uv build --sdist, then a wheel from it",
        [str(UV), "build", "--python", sys.executable, "--out-dir", str(out_dir), str(ROOT)],
        None,
        ROOT,
    )
    from_sdist = sorted(out_dir.glob("andon-*.whl"))
    if len(from_sdist) != 1:
        raise CheckFailed(f"expected one andon wheel built from the sdist, found {len(from_sdist)}")
    direct, rebuilt = file_checksums(wheel), file_checksums(from_sdist[0])
    if direct != rebuilt:
        differing = sorted(
            name for name in direct.keys() | rebuilt.keys() if direct.get(name) != rebuilt.get(name)
        )
        raise CheckFailed(f"the wheel built from the sdist differs in {differing}")


def file_checksums(wheel: Path) -> dict[str, int]:
    """Each file of a wheel with its CRC-32: equal maps mean the same contents."""
    with zipfile.ZipFile(wheel) as archive:
        return {info.filename: info.CRC for info in archive.infolist()}


def report_contents(wheel: Path) -> None:
    """Fail early, with the missing file named, when the wheel lacks migrations or assets."""
    with zipfile.ZipFile(wheel) as archive:
        sizes = {info.filename: info.file_size for info in archive.infolist()}
    names = list(sizes)
    htmx = sizes.get(HTMX_IN_WHEEL, 0)
    migrations = [
        name
        for name in names
        if name.startswith("andon/migrations/versions/") and name.endswith(".py")
    ]
    expected = sorted(path.name for path in (ROOT / "migrations" / "versions").glob("*.py"))
    if sorted(Path(name).name for name in migrations) != expected:
        raise CheckFailed(
            f"{wheel.name} holds migrations {sorted(migrations)}, expected {expected}"
        )
    if "andon/migrations/env.py" not in names:
        raise CheckFailed(f"{wheel.name} lacks andon/migrations/env.py")
    if htmx == 0:
        raise CheckFailed(f"{wheel.name} lacks {HTMX_IN_WHEEL} (or it is empty)")
    print(
        f"{wheel.name}: {wheel.stat().st_size / 1024:.0f} KiB, {len(names)} files, "
        f"{len(migrations)} migrations, htmx.min.js {htmx} bytes",
        flush=True,
    )


def install_wheel(wheel: Path, venv: Path) -> Path:
    """A fresh venv with the wheel and its dependencies at the versions of the project's lock."""
    run_step(
        "uv venv",
        [str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)],
        None,
        ROOT,
    )
    python = venv / "bin" / "python"
    run_step(
        "uv pip install (wheel, constrained by requirements/dev.lock)",
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            "--constraint",
            str(LOCK),
            str(wheel),
        ],
        None,
        venv.parent,
    )
    andon = venv / "bin" / "andon"
    if not andon.is_file():
        raise CheckFailed(f"the wheel installed no `andon` command in {andon.parent}")
    # The check means nothing if the checkout's package is what gets imported.
    located = subprocess.run(  # noqa: S603 - the scratch venv's python
        [str(python), "-c", "import andon, sys; sys.stdout.write(andon.__file__)"],
        cwd=venv.parent,
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if not located.stdout.startswith(str(venv)):
        raise CheckFailed(f"andon is imported from {located.stdout!r}, not from {venv}")
    return andon


def clean_environment() -> dict[str, str]:
    """The caller's environment without ANDON_* settings or a path that reaches the checkout."""
    # PYTHONDONTWRITEBYTECODE would make every command compile pandas, Ibis and SQLAlchemy
    # again (about 10 s each); the scratch venv is thrown away, so its caches may be written.
    dropped = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE"}
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("ANDON_") and name not in dropped
    }


def scratch_environment(data_dir: Path) -> dict[str, str]:
    """The demo's settings (as `make demo` sets them) on an SQLite database in data_dir."""
    data_dir.mkdir(parents=True)
    env = clean_environment()
    env.update(ANDON_DEMO="1", ANDON_DATA_DIR=str(data_dir), ANDON_TIMEZONE="America/Chicago")
    return env


def run_step(name: str, command: list[str], env: dict[str, str] | None, cwd: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 - fixed commands built above
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise CheckFailed(f"{name} exited with {result.returncode}:\n{output}")
    print(f"  {name}: {time.monotonic() - started:.1f} s", flush=True)


def check_server(andon: Path, env: dict[str, str], cwd: Path) -> None:
    """Serve on a free port, then fetch the sign-in page and the htmx script it references."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = cwd / "serve.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        server = subprocess.Popen(  # noqa: S603 - the installed command
            [str(andon), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_serving(server, f"{base}/healthz", log_path)
        waited = time.monotonic() - started
        print(f"  andon serve (until /healthz answers): {waited:.1f} s", flush=True)
        status, page = fetch(f"{base}/login")
        if status != 200:
            raise CheckFailed(f"GET /login answered {status}")
        match = HTMX_SCRIPT.search(page.decode())
        if match is None:
            raise CheckFailed("the /login page references no htmx script under /static/")
        status, script = fetch(base + match.group(1))
        if status != 200 or not script:
            raise CheckFailed(f"GET {match.group(1)} answered {status} with {len(script)} bytes")
        if b"htmx" not in script:
            raise CheckFailed(f"GET {match.group(1)} is not htmx ({len(script)} bytes)")
        print(f"  GET /login 200, GET {match.group(1)} 200 ({len(script)} bytes)")
    finally:
        stop(server)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_serving(server: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CheckFailed(
                f"andon serve exited with {server.returncode}:\n{log_path.read_text().strip()}"
            )
        try:
            status, _ = fetch(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
            continue
        if status == 200:
            return
        raise CheckFailed(f"GET /healthz answered {status}:\n{log_path.read_text().strip()}")
    raise CheckFailed(
        f"andon serve did not answer within {SERVER_START_SECONDS} s:\n"
        f"{log_path.read_text().strip()}"
    )


def fetch(url: str) -> tuple[int, bytes]:
    """Status and body; an HTTP error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - http://127.0.0.1
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
