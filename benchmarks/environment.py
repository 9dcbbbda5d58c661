"""The method's facts: versions, machine, build profile, load on the machine."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import platform
import subprocess
from dataclasses import dataclass, field

from benchmarks.processes import REPOSITORY

PACKAGES = (
    "starlette",
    "tachyon_engine",
    "fastapi",
    "pydantic",
    "python-multipart",
    "opentelemetry-api",
    "uvicorn",
    "uvloop",
    "httptools",
    "granian",
    "pytest",
    "matplotlib",
)


@dataclass
class Environment:
    python: str
    build_profile: str
    commit: str
    versions: dict[str, str]
    cpu: str
    cores: int
    memory_gib: float
    system: str
    # A hash of the extension's file at the start and at the end: another developer's rebuild
    # during the run would mix two builds in the figures.
    extension: str = ""
    extension_at_end: str = ""
    load_average: list[tuple[float, float, float]] = field(default_factory=list)

    def sample_load(self) -> None:
        """The machine's load average now: other work on the same cores shows in the figures."""
        self.load_average.append(os.getloadavg())


def describe(build_profile: str) -> Environment:
    environment = Environment(
        python=f"{platform.python_implementation()} {platform.python_version()}",
        build_profile=build_profile,
        commit=_commit(),
        versions={name: _version(name) for name in PACKAGES},
        cpu=_cpu_model(),
        cores=os.cpu_count() or 1,
        memory_gib=_memory_gib(),
        system=f"{_os_name()}, Linux {platform.release()}",
        extension=extension_digest(),
    )
    environment.sample_load()
    return environment


def extension_digest() -> str:
    spec = importlib.util.find_spec("tachyon_engine._core")
    if spec is None or spec.origin is None:
        return "missing"
    with open(spec.origin, "rb") as extension:
        return hashlib.sha256(extension.read()).hexdigest()[:12]


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    def git(*args: str) -> str:
        completed = subprocess.run(["git", *args], cwd=REPOSITORY, capture_output=True, text=True, timeout=10)
        return completed.stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit} (with uncommitted changes)" if dirty else commit


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
        return kib / 1024 / 1024
    except (OSError, ValueError, IndexError):
        return 0.0


def _os_name() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", "unknown OS")
    except OSError:
        return "unknown OS"
