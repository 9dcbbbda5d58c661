"""Serves the demo app from each stack with each server, loads it with wrk in alternating order,
and checks that both stacks answer the same bytes over the wire."""

from __future__ import annotations

import http.client
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.comparison import CANDIDATE, REFERENCE
from benchmarks.endtoend import wrk
from benchmarks.endtoend.servers import HOST, SERVERS, Server, ServerKind
from benchmarks.processes import alternating
from benchmarks.results import LoadRow, median
from benchmarks.scenarios.apps import PARAMS_PATH, PARAMS_QUERY
from benchmarks.scenarios.asgi import BROWSER_HEADERS
from benchmarks.settings import Settings

FACTORIES = {
    REFERENCE: "benchmarks.endtoend.apps:starlette_app",
    CANDIDATE: "benchmarks.endtoend.apps:tachyon_engine_app",
}
PATHS = {
    "hello world": "/",
    "path + query + header + cookie -> JSON": f"{PARAMS_PATH}?{PARAMS_QUERY.decode()}",
}
# The request headers of the in-process scenarios (wrk sets Host and the connection itself).
HEADERS = {name.decode(): value.decode() for name, value in BROWSER_HEADERS if name not in (b"host", b"connection")}
# Set by the server, not the app, and different on every answer.
_VOLATILE_HEADERS = {"date"}


@dataclass
class EndToEnd:
    rows: list[LoadRow] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    # Why the section did not run, when it did not.
    skipped: str = ""
    wrk_version: str = ""


def run(settings: Settings, log: Path) -> EndToEnd:
    path, why_not = wrk.ensure_wrk()
    if path is None:
        return EndToEnd(skipped=why_not)
    result = EndToEnd(wrk_version=wrk.version(path))
    for kind in SERVERS:
        try:
            result.rows += _run_server(settings, log, kind, path)
        except Exception as exc:  # a server that does not start fails its rows, not the run
            result.crashes.append(f"{kind.name}: {type(exc).__name__}: {exc}")
            result.rows += [_failed_row(kind, label, str(exc)) for label in PATHS]
    return result


def _run_server(settings: Settings, log: Path, kind: ServerKind, wrk_path: str) -> list[LoadRow]:
    with (
        Server(kind, FACTORIES[REFERENCE], log / f"{kind.name}-starlette.log") as reference,
        Server(kind, FACTORIES[CANDIDATE], log / f"{kind.name}-tachyon_engine.log") as candidate,
    ):
        servers = {REFERENCE: reference, CANDIDATE: candidate}
        mismatches = {label: _compare(reference, candidate, target) for label, target in PATHS.items()}
        samples: dict[tuple[str, str], list[wrk.LoadResult]] = defaultdict(list)
        if settings.load_warmup_seconds:
            for target in PATHS.values():
                for server in servers.values():
                    wrk.run(
                        wrk_path, server.url(target), settings.load_warmup_seconds, settings.load_connections, HEADERS
                    )
        for round_index in range(settings.load_rounds):
            for label, target in PATHS.items():
                for side in alternating((REFERENCE, CANDIDATE), round_index):
                    print(
                        f"  {kind.name} round {round_index + 1}/{settings.load_rounds}: {label} on {side}", flush=True
                    )
                    url = servers[side].url(target)
                    samples[label, side].append(
                        wrk.run(wrk_path, url, settings.load_seconds, settings.load_connections, HEADERS)
                    )
    return [
        _row(kind, label, samples[label, REFERENCE], samples[label, CANDIDATE], mismatches[label]) for label in PATHS
    ]


def _compare(reference: Server, candidate: Server, target: str) -> str:
    """What differs between the two stacks' answers to the same request, or ""."""
    answers = [_fetch(server, target) for server in (reference, candidate)]
    if answers[0] == answers[1]:
        return ""
    return f"answers differ: {answers[0]!r:.200} vs {answers[1]!r:.200}"


def _fetch(server: Server, target: str) -> tuple[int, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=10)
    try:
        connection.request("GET", target, headers=HEADERS)
        response = connection.getresponse()
        headers = [(name.lower(), value) for name, value in response.getheaders()]
        body = response.read()
    finally:
        connection.close()
    return response.status, [h for h in headers if h[0] not in _VOLATILE_HEADERS], body


def _row(
    kind: ServerKind, label: str, stock: list[wrk.LoadResult], candidate: list[wrk.LoadResult], mismatch: str
) -> LoadRow:
    errors = [f"{side}: {r.errors}" for side, runs in (("stock", stock), ("tachyon_engine", candidate)) for r in runs]
    problems = [mismatch] if mismatch else []
    problems += [error for error in errors if not error.endswith(": ")]
    return LoadRow(
        server=kind.name,
        path=f"{label} ({urlsplit(PATHS[label]).path})",
        stock_rps=median(r.requests_per_s for r in stock),
        candidate_rps=median(r.requests_per_s for r in candidate),
        stock_p50_ms=median(r.p50_ms for r in stock),
        candidate_p50_ms=median(r.p50_ms for r in candidate),
        stock_p99_ms=median(r.p99_ms for r in stock),
        candidate_p99_ms=median(r.p99_ms for r in candidate),
        correct=not problems,
        note="; ".join(dict.fromkeys(problems)),
    )


def _failed_row(kind: ServerKind, label: str, error: str) -> LoadRow:
    return LoadRow(kind.name, label, None, None, None, None, None, None, False, f"error: {error}")
