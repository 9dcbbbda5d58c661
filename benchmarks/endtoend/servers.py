"""Starting and stopping ASGI servers on loopback, one worker each, pinned to one core when the
machine allows it (the load generator takes the other)."""

from __future__ import annotations

import http.client
import os
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

    def command(self, factory: str, port: int) -> list[str]:
        if self.name == "uvicorn":
            return [
                *("-m", "uvicorn", "--factory", factory, "--host", HOST, "--port", str(port)),
                *("--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"),
            ]
        return [
            *("-m", "granian", "--interface", "asgi", "--host", HOST, "--port", str(port)),
            *("--workers", "1", "--runtime-threads", "1", "--loop", "uvloop", "--no-ws"),
            *("--log-level", "warning", "--factory", factory),
        ]


SERVERS = (
    ServerKind("uvicorn", "uvicorn, 1 process, uvloop + httptools, access log off"),
    ServerKind("granian", "granian, ASGI interface, 1 worker, 1 runtime thread, uvloop, access log off"),
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
        self.port = free_port()
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("w")
        self.process = subprocess.Popen(
            pinned([sys.executable, *kind.command(factory, self.port)], SERVER_CORE),
            cwd=import_root(),
            env={**os.environ, "PYTHONHASHSEED": "0"},
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
