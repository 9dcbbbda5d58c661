"""A large static file, served by stock Starlette on uvicorn and on the tachyon server: through
`FileResponse` (on the tachyon server, `http.response.pathsend`: tokio reads and sends the file;
on uvicorn, Starlette reads it in Python) and through a `StreamingResponse` (Python reads it on
both). Bytes per second, loaded by wrk on the other core; every answer checked first (status,
headers but `date` and `server`, the body's SHA-256).

Run alone: `python -m benchmarks.endtoend.files [seconds]`.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.endtoend import wrk
from benchmarks.endtoend.apps import FILE_ENV
from benchmarks.endtoend.servers import HOST, SERVERS, Server
from benchmarks.results import median

FACTORY = "benchmarks.endtoend.apps:file_app"
SIZE = 16 * 1024 * 1024
CONNECTIONS = 4
ROUTES = {"/file": "FileResponse", "/stream": "StreamingResponse"}
COMPARED = ("uvicorn", "tachyon")


@dataclass
class FileLoad:
    server: str
    route: str
    bytes_per_s: float | None = None
    correct: bool = True
    note: str = ""
    rounds: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"16 MiB {ROUTES[self.route]} on {self.server}"


def _answer(port: int, route: str) -> tuple[int, list[tuple[str, str]], str]:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", route)
        response = connection.getresponse()
        body = response.read()
        headers = sorted((n.lower(), v) for n, v in response.getheaders() if n.lower() not in ("date", "server"))
        return response.status, headers, hashlib.sha256(body).hexdigest()
    finally:
        connection.close()


def run(seconds: int, rounds: int, log: Path) -> list[FileLoad]:
    path, why_not = wrk.ensure_wrk()
    results = {(name, route): FileLoad(name, route) for name in COMPARED for route in ROUTES}
    if path is None:
        for result in results.values():
            result.correct, result.note = False, why_not
        return list(results.values())
    with tempfile.TemporaryDirectory() as directory:
        payload = Path(directory) / "payload.bin"
        payload.write_bytes(os.urandom(SIZE))
        os.environ[FILE_ENV] = str(payload)
        try:
            _measure(path, seconds, rounds, log, results)
        finally:
            os.environ.pop(FILE_ENV, None)
    for result in results.values():
        result.bytes_per_s = median(result.rounds)
    return list(results.values())


def _measure(path: str, seconds: int, rounds: int, log: Path, results: dict[tuple[str, str], FileLoad]) -> None:
    kinds = [kind for kind in SERVERS if kind.name in COMPARED]
    answers: dict[str, dict[str, object]] = {route: {} for route in ROUTES}
    for round_index in range(rounds):
        for kind in kinds if round_index % 2 == 0 else kinds[::-1]:
            try:
                with Server(kind, FACTORY, log / f"files-{kind.name}.log") as server:
                    for route in ROUTES:
                        result = results[kind.name, route]
                        answers[route].setdefault(kind.name, _answer(server.port, route))
                        load = wrk.run(path, server.url(route), seconds, CONNECTIONS, {})
                        result.rounds.append(load.requests_per_s * SIZE)
                        if load.errors:
                            result.correct, result.note = False, load.errors
            except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as exc:
                for route in ROUTES:
                    results[kind.name, route].correct = False
                    results[kind.name, route].note = f"error: {type(exc).__name__}: {exc}"
    for route, by_server in answers.items():
        if len({repr(answer) for answer in by_server.values()}) > 1:
            results["tachyon", route].correct = False
            results["tachyon", route].note = f"answers differ: {by_server}"


if __name__ == "__main__":
    duration = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    for row in run(duration, 3, Path("/tmp/tachyon-files-bench")):
        print(row)
