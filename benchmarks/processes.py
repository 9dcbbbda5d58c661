"""Fresh worker processes, in alternating order, each bounded in time."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

REPOSITORY = Path(__file__).resolve().parent.parent


def import_root() -> Path:
    """A folder holding only links to this repository's `benchmarks` and `compat_tests`, used
    as the working directory of every child process: started from the repository itself,
    `python -m ...` would import the source folder `tachyon_engine/` (which has no compiled
    `_core` after `pip install .`) instead of the installed package."""
    root = Path(tempfile.gettempdir()) / f"tachyon-engine-bench-{hashlib.sha256(bytes(REPOSITORY)).hexdigest()[:12]}"
    root.mkdir(exist_ok=True)
    for package in ("benchmarks", "compat_tests"):
        link = root / package
        if not link.is_symlink():
            link.symlink_to(REPOSITORY / package, target_is_directory=True)
    return root


def alternating(sides: Sequence[T], round_index: int) -> list[T]:
    """Both sides, the first one first on even rounds and last on odd ones, so that a drift in
    the machine's load (a compiler starting on the other core) hits both sides alike."""
    return list(sides) if round_index % 2 == 0 else list(reversed(sides))


@dataclass
class WorkerResult:
    # The JSON the worker wrote (None when it wrote none).
    data: Any
    error: str | None
    returncode: int | None = None


def run_worker(
    arguments: list[str],
    output: Path,
    log: Path,
    *,
    timeout_s: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> WorkerResult:
    """Runs `python ARGUMENTS` (which must write JSON to `output`) and returns what it wrote, or
    why it wrote nothing. Its output goes to `log`, whose tail is quoted on failure."""
    output.unlink(missing_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    # One hash seed for every process: Starlette's `Allow` header lists a set, whose order
    # follows the seed, and both sides must be compared under the same one.
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", **(env or {})}
    with log.open("w") as log_file:
        try:
            completed = subprocess.run(
                [sys.executable, *arguments],
                cwd=import_root() if cwd is None else cwd,
                env=environment,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired:
            return WorkerResult(None, f"timed out after {timeout_s:.0f} s (log: {log})")
    if not output.exists():
        tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
        return WorkerResult(None, f"exit code {completed.returncode}: {tail[-300:]} (log: {log})", completed.returncode)
    return WorkerResult(json.loads(output.read_text()), None, completed.returncode)
