"""HTTP/2 (h2c, prior knowledge) requests per second with h2load: the raw ASGI hello on granian
(`--http 2`) and on the tachyon server (`--http auto`, as users run it), one worker each on the
server core, h2load on the other. uvicorn has no HTTP/2.

Run alone: `python -m benchmarks.endtoend.http2 [seconds]`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.endtoend import tools
from benchmarks.endtoend.servers import HOST, LOAD_CORE, SERVERS, STARTUP_TIMEOUT_S, Server, ServerKind, pinned
from benchmarks.results import median

FACTORY = "benchmarks.endtoend.apps:raw_asgi_app"
CONNECTIONS = 32
STREAMS = 10  # concurrent streams per connection (h2load -m)
# The target: the tachyon server's req/s over granian's.
GOAL = 1.5
COMPARED = ("granian", "tachyon")


@dataclass
class Http2Load:
    server: str
    requests_per_s: float | None = None
    correct: bool = True
    note: str = ""
    rounds: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"HTTP/2 raw ASGI hello on {self.server}"


def _kind(name: str) -> ServerKind:
    kind = next(kind for kind in SERVERS if kind.name == name)
    if name == "granian":
        return ServerKind(name, kind.description, extra=("--http", "2"))
    return kind


def fetch(curl: str, port: int) -> tuple[str, list[str], bytes]:
    """The answer over HTTP/2 with curl: status line, headers but date and server, body."""
    completed = subprocess.run(
        [curl, "-s", "-i", "--http2-prior-knowledge", f"http://{HOST}:{port}/"],
        capture_output=True,
        timeout=30,
        check=True,
    )
    head, _, body = completed.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = sorted(line.lower() for line in lines[1:] if not line.lower().startswith(("date:", "server:")))
    return lines[0].strip(), headers, body


def _first_answer(curl: str, server: Server) -> tuple[str, list[str], bytes]:
    """Waits for the server to answer over HTTP/2 (granian with `--http 2` speaks nothing else),
    and returns that answer."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if not server.alive:
            raise RuntimeError(f"{server.kind.name} exited with code {server.process.returncode}")
        try:
            return fetch(curl, server.port)
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.kind.name} did not answer within {STARTUP_TIMEOUT_S} s") from None
            time.sleep(0.1)


def h2load(path: str, port: int, seconds: float) -> tuple[float, str]:
    command = [path, "-c", str(CONNECTIONS), "-m", str(STREAMS), "-t", "1", "-D", f"{seconds:g}"]
    completed = subprocess.run(
        pinned([*command, f"http://{HOST}:{port}/"], LOAD_CORE),
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    return parse(completed.stdout)


def parse(report: str) -> tuple[float, str]:
    """Requests per second, and what went wrong (failed or non-2xx requests)."""
    rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", report)
    counts = re.search(
        r"requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored", report
    )
    codes = re.search(r"status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", report)
    if not (rate and counts and codes):
        raise ValueError(f"unreadable h2load report: {report[-300:]!r}")
    problems = [
        f"{count} {what}"
        for count, what in zip(
            (*counts.groups(), *codes.groups()), ("failed", "errored", "3xx", "4xx", "5xx"), strict=True
        )
        if count != "0"
    ]
    return float(rate.group(1)), "; ".join(problems)


def run(seconds: float, rounds: int, log: Path) -> list[Http2Load]:
    """Each server in turn (alternating which goes first), `rounds` times; medians. The answers
    must be the same on both (status, headers but date and server, body) before any load."""
    results = {name: Http2Load(name) for name in COMPARED}
    h2load_path, why_not = tools.ensure("h2load", "nghttp2-client")
    curl, why_not_curl = tools.ensure("curl", "curl")
    if h2load_path is None or curl is None:
        for result in results.values():
            result.correct, result.note = False, why_not or why_not_curl
        return list(results.values())
    kinds = [_kind(name) for name in COMPARED]
    answers: dict[str, tuple[str, list[str], bytes]] = {}
    for round_index in range(rounds):
        for kind in kinds if round_index % 2 == 0 else kinds[::-1]:
            result = results[kind.name]
            server = Server(kind, FACTORY, log / f"http2-{kind.name}.log")
            try:
                answers.setdefault(kind.name, _first_answer(curl, server))
                rate, problems = h2load(h2load_path, server.port, seconds)
                result.rounds.append(rate)
                if problems:
                    result.correct, result.note = False, problems
            except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as exc:
                result.correct, result.note = False, f"error: {type(exc).__name__}: {exc}"
            finally:
                server.stop()
    if len(set(map(repr, answers.values()))) > 1:
        results["tachyon"].correct = False
        results["tachyon"].note = f"answers differ: {answers}"
    for result in results.values():
        result.requests_per_s = median(result.rounds)
    return list(results.values())


if __name__ == "__main__":
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    for row in run(duration, 3, Path("/tmp/tachyon-http2-bench")):
        print(row)
