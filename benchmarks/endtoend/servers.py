"""Starting and stopping ASGI servers on loopback, one worker each, pinned to one core when the
machine allows it (the load generator takes the other); their memory, read from /proc."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from benchmarks.processes import import_root

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 30
SERVER_CORE = "0"
LOAD_CORE = "1"


@dataclass(frozen=True)
class ServerKind:
    name: str
    description: str
    # Arguments added to the command line (granian's `--http 2` for the HTTP/2 load).
    extra: tuple[str, ...] = ()

    def command(self, factory: str, port: int) -> list[str]:
        return [*self._command(factory, port), *self.extra]

    def _command(self, factory: str, port: int) -> list[str]:
        if self.name == "uvicorn":
            return [
                *("-m", "uvicorn", "--factory", factory, "--host", HOST, "--port", str(port)),
                *("--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"),
            ]
        if self.name == "tachyon":
            return [
                *("-m", "tachyon_engine.server", factory, "--factory", "--host", HOST, "--port", str(port)),
                *("--loop", "uvloop", "--no-access-log", "--log-level", "warning"),
            ]
        return [
            *("-m", "granian", "--interface", "asgi", "--host", HOST, "--port", str(port)),
            *("--workers", "1", "--runtime-threads", "1", "--loop", "uvloop", "--no-ws"),
            *("--log-level", "warning", "--factory", factory),
        ]


SERVERS = (
    ServerKind("uvicorn", "uvicorn, 1 process, uvloop + httptools, access log off"),
    ServerKind("granian", "granian, ASGI interface, 1 worker, 1 runtime thread, uvloop, access log off"),
    ServerKind(
        "tachyon",
        "the tachyon server (`python -m tachyon_engine.server`: hyper on tokio, the app on uvloop), "
        "1 process, access log off",
    ),
)


def pinned(command: list[str], core: str) -> list[str]:
    """The command pinned to one core, when there are two or more and taskset is there."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", core, *command]
    return command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """A server process in its own session, so that stopping it stops its workers too."""

    def __init__(self, kind: ServerKind, factory: str, log: Path) -> None:
        self.kind = kind
        self.log_path = log
        self.port = free_port()
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("w")
        self.process = subprocess.Popen(
            pinned([sys.executable, *kind.command(factory, self.port)], SERVER_CORE),
            cwd=import_root(),
            env=_environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def __enter__(self) -> Server:
        self.wait_ready()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def rss_mib(self) -> float | None:
        """The resident memory of the server and of every process it started (granian's worker)."""
        kib = [rss_kib(pid) for pid in (self.process.pid, *descendants(self.process.pid))]
        known = [value for value in kib if value is not None]
        return sum(known) / 1024 if known else None

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind.name} exited with code {self.process.returncode}")
            try:
                connection = http.client.HTTPConnection(HOST, self.port, timeout=1)
                connection.request("GET", "/")
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.kind.name} did not answer within {STARTUP_TIMEOUT_S} s")

    def stop(self) -> None:
        if self._log.closed:
            return
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()

    def _signal(self, number: int) -> None:
        try:
            # The group of the session this server leads: the server and the workers it forked.
            os.killpg(self.process.pid, number)
        except ProcessLookupError:
            pass


def _environment() -> dict[str, str]:
    # One hash seed for every process (Starlette's `Allow` header follows set order); and no
    # `install()` at interpreter start, whatever the caller's environment: each server process
    # runs the one stack its factory asks for.
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    environment.pop("TACHYON_ENGINE_INSTALL", None)
    return environment


_VMRSS = re.compile(r"^VmRSS:\s+(\d+) kB$", re.MULTILINE)


def rss_kib(pid: int) -> int | None:
    """VmRSS of a process, or None when it is gone."""
    try:
        match = _VMRSS.search(Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return None
    return int(match.group(1)) if match else None


def descendants(pid: int) -> list[int]:
    """Every process below `pid` in the process tree, from each /proc/N/stat's parent field."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    pending = list(children.get(pid, []))
    while pending:
        child = pending.pop()
        found.append(child)
        pending += children.get(child, [])
    return found
