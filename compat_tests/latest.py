"""`python -m compat_tests.latest` (`make compat-latest`): the newest releases on the registry,
checked in one command.

Builds a separate environment (`.venv-latest`) holding tachyon_engine and the newest releases of
everything its test extras name (the pins dropped), prints the releases it resolved, then runs
FastAPI's suite and Starlette's unchanged suite there under `install()`. Each report ends with
the registry's targets: whether `install()` verified and applied each one in every interpreter
(else why not: a new release whose source is not a verified one stays stock) and how often its
native path answered (`native_counts()`). A new FastAPI release is then this one command, and
any "not a verified source" line is the list of functions to port.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-latest"
WATCHED = ("starlette", "fastapi", "python-multipart", "opentelemetry-api", "opentelemetry-sdk")


def unpinned_requirements() -> list[str]:
    """The test extras' requirements without their version pins (the newest releases)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = []
    for requirement in extras["test"] + extras["fastapi-test"]:
        names.append(re.split(r"[=<>!~;]", requirement, maxsplit=1)[0].strip())
    return names


def main() -> int:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--upgrade"]
    subprocess.run([*pip, "pip"], check=True)
    # The project itself keeps its own pins (`starlette==1.10.*`); everything else resolves anew.
    subprocess.run([*pip, str(ROOT), *unpinned_requirements()], check=True, cwd=ROOT)
    versions = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; [print(n, m.version(n)) for n in {WATCHED!r}]"],
        capture_output=True,
        text=True,
        check=True,
    )
    print("resolved:", ", ".join(versions.stdout.split("\n")[:-1]), flush=True)
    # Its own work folder (the default runs' reports stay), under the one ruff leaves alone.
    env = {**os.environ, "TACHYON_COMPAT_WORK": str(ROOT / "compat_tests" / ".work" / "latest")}
    command = [str(python), "-m", "compat_tests", "fastapi", "starlette-installed"]
    return subprocess.run(command, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
