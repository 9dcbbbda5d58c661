"""wrk, installed from Debian when missing (as root), run for a bounded time, its report parsed."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from benchmarks.endtoend import tools
from benchmarks.endtoend.servers import LOAD_CORE, pinned

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def ensure_wrk() -> tuple[str | None, str]:
    """wrk's path, or None and why the end-to-end section cannot run."""
    return tools.ensure("wrk", "wrk")


def version(path: str) -> str:
    completed = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    return (completed.stdout + completed.stderr).strip().splitlines()[0].split(" Copyright")[0]


@dataclass(frozen=True)
class LoadResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    # Non-2xx answers and socket errors: any makes the run's figures suspect.
    errors: str


def run(path: str, url: str, seconds: int, connections: int, headers: dict[str, str]) -> LoadResult:
    command = [path, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    completed = subprocess.run(
        pinned([*command, url], LOAD_CORE), capture_output=True, text=True, timeout=seconds + 30, check=True
    )
    return parse(completed.stdout)


def parse(report: str) -> LoadResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", report)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", report, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", report, re.MULTILINE)
    if not (rps and p50 and p99):
        raise ValueError(f"unreadable wrk report: {report[-300:]!r}")
    problems = []
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    if non_2xx:
        problems.append(f"{non_2xx.group(1)} non-2xx answers")
    socket_errors = re.search(r"Socket errors: (.*)", report)
    if socket_errors:
        problems.append(f"socket errors: {socket_errors.group(1).strip()}")
    return LoadResult(
        float(rps.group(1)),
        float(p50.group(1)) * _UNITS[p50.group(2)],
        float(p99.group(1)) * _UNITS[p99.group(2)],
        "; ".join(problems),
    )
