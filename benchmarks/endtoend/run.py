"""Serves every app from every server (uvicorn, granian, the tachyon server), checks that each
request gets the same bytes from every server and from the stock and accelerated variants of an
app, then loads each (app, request, server) with wrk at each concurrency, in alternating order
across rounds. The stock-vs-tachyon_engine comparison rows of the README come out of the same runs."""

from __future__ import annotations

import http.client
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from benchmarks.endtoend import files, http2, websocket, wrk
from benchmarks.endtoend.files import FileLoad
from benchmarks.endtoend.http2 import Http2Load
from benchmarks.endtoend.servers import HOST, SERVERS, Server
from benchmarks.endtoend.websocket import WebSocketLoad
from benchmarks.processes import alternating
from benchmarks.results import LoadRow, ServerLoad, median
from benchmarks.scenarios.apps import PARAMS_PATH, PARAMS_QUERY
from benchmarks.scenarios.asgi import BROWSER_HEADERS
from benchmarks.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class App:
    name: str
    title: str
    factory: str
    # The apps of one family answer alike: a stock app and its accelerated twin.
    family: str
    requests: tuple[str, ...]


APPS = (
    App("raw", "raw ASGI", "benchmarks.endtoend.apps:raw_asgi_app", "raw", ("hello",)),
    App("starlette", "Starlette", "benchmarks.endtoend.apps:starlette_app", "starlette", ("hello", "params")),
    App(
        "tachyon_engine",
        "tachyon_engine",
        "benchmarks.endtoend.apps:tachyon_engine_app",
        "starlette",
        ("hello", "params"),
    ),
    App("fastapi", "FastAPI", "benchmarks.endtoend.apps:fastapi_app", "fastapi", ("hello",)),
    App(
        "fastapi_install",
        "FastAPI + `install()`",
        "benchmarks.endtoend.apps:fastapi_install_app",
        "fastapi",
        ("hello",),
    ),
)
APP_BY_NAME = {app.name: app for app in APPS}
# request -> (label, target). The labels are the comparison rows' (and the README's).
REQUESTS = {
    "hello": ("hello world", "/"),
    "params": ("path + query + header + cookie -> JSON", f"{PARAMS_PATH}?{PARAMS_QUERY.decode()}"),
}
# The requests in short, for the targets and the charts.
REQUEST_WORDS = {"hello": "hello", "params": "params route"}
# The request headers of the in-process scenarios (wrk sets Host and the connection itself).
HEADERS = {name.decode(): value.decode() for name, value in BROWSER_HEADERS if name not in (b"host", b"connection")}
# Set by the server, not the app: `date` differs on every answer, `server` names the server.
_SERVER_HEADERS = {"date", "server"}


@dataclass(frozen=True)
class Load:
    """One request of one app: what wrk loads on each server."""

    app: App
    request: str

    @property
    def name(self) -> str:
        return f"{self.app.name} {self.request}"

    @property
    def title(self) -> str:
        return f"{self.app.title}: {REQUESTS[self.request][0]}"

    @property
    def target(self) -> str:
        return REQUESTS[self.request][1]


LOADS = tuple(Load(app, request) for app in APPS for request in app.requests)


@dataclass
class EndToEnd:
    # Stock Starlette vs tachyon_engine per server, request and concurrency (the README's rows).
    rows: list[LoadRow] = field(default_factory=list)
    # Every app, request, server and concurrency.
    loads: list[ServerLoad] = field(default_factory=list)
    connections: tuple[int, ...] = ()
    crashes: list[str] = field(default_factory=list)
    # Why the section did not run, when it did not.
    skipped: str = ""
    wrk_version: str = ""
    # WebSocket echo messages per second, per server.
    websocket_echo: list[WebSocketLoad] = field(default_factory=list)
    # HTTP/2 raw ASGI hello requests per second, per server.
    http2_hello: list[Http2Load] = field(default_factory=list)
    # A large file through FileResponse (pathsend) and StreamingResponse, bytes per second.
    large_file: list[FileLoad] = field(default_factory=list)

    def find(self, app: str, request: str, server: str, connections: int) -> ServerLoad | None:
        for load in self.loads:
            if (load.app, load.request, load.server, load.connections) == (app, request, server, connections):
                return load
        return None

    @property
    def failed(self) -> list[ServerLoad | WebSocketLoad | Http2Load | FileLoad]:
        return [
            *(load for load in self.loads if load.correct is False),
            *(load for load in self.websocket_echo if not load.correct),
            *(load for load in self.http2_hello if not load.correct),
            *(load for load in self.large_file if not load.correct),
        ]


# (app name, server name)
_Key = tuple[str, str]
# (app name, request, server name, connections)
_SampleKey = tuple[str, str, str, int]


@dataclass
class _Samples:
    runs: dict[_SampleKey, list[wrk.LoadResult]] = field(default_factory=lambda: defaultdict(list))
    rss_mib: dict[_SampleKey, list[float]] = field(default_factory=lambda: defaultdict(list))
    problems: dict[_SampleKey, list[str]] = field(default_factory=lambda: defaultdict(list))
    # Servers that exited under load: every row of theirs is suspect.
    exited: dict[_Key, str] = field(default_factory=dict)


def run(settings: Settings, log: Path) -> EndToEnd:
    path, why_not = wrk.ensure_wrk()
    if path is None:
        return EndToEnd(skipped=why_not)
    unknown = set(settings.load_only or ()) - {load.name for load in LOADS}
    if unknown:
        raise ValueError(f"unknown end-to-end loads {sorted(unknown)}: the loads are {[load.name for load in LOADS]}")
    loads = [load for load in LOADS if settings.load_only is None or load.name in settings.load_only]
    result = EndToEnd(wrk_version=wrk.version(path), connections=settings.load_connections)
    samples = _Samples()
    with ExitStack() as stack:
        servers, failures = _start(stack, log)
        result.crashes += failures.values()
        answers = _check(servers)
        _measure(settings, path, servers, loads, samples, result.crashes)
    print(f"  WebSocket echo: {settings.load_rounds} round(s) of {settings.load_seconds} s per server", flush=True)
    result.websocket_echo = websocket.run(settings.load_seconds, settings.load_rounds, log)
    print(f"  HTTP/2 hello: {settings.load_rounds} round(s) of {settings.load_seconds} s per server", flush=True)
    result.http2_hello = http2.run(settings.load_seconds, settings.load_rounds, log)
    print(f"  large file: {settings.load_rounds} round(s) of {settings.load_seconds} s per server", flush=True)
    result.large_file = files.run(settings.load_seconds, settings.load_rounds, log)
    result.loads = [
        _server_load(load, kind.name, connections, samples, answers, failures)
        for load in LOADS
        for connections in settings.load_connections
        for kind in SERVERS
    ]
    result.rows = _comparison_rows(result)
    return result


def _start(stack: ExitStack, log: Path) -> tuple[dict[_Key, Server], dict[_Key, str]]:
    """Every app on every server, all started at once, then waited for; a server that does not
    answer fails its rows, not the run."""
    started: dict[_Key, Server] = {}
    failures: dict[_Key, str] = {}
    for app in APPS:
        for kind in SERVERS:
            try:
                server = Server(kind, app.factory, log / f"{kind.name}-{app.name}.log")
            except OSError as exc:
                failures[app.name, kind.name] = f"{app.name} on {kind.name}: {type(exc).__name__}: {exc}"
                continue
            stack.callback(server.stop)
            started[app.name, kind.name] = server
    servers = {}
    for key, server in started.items():
        try:
            server.wait_ready()
            servers[key] = server
        except Exception as exc:
            server.stop()
            failures[key] = f"{key[0]} on {key[1]}: {exc} (log: {server.log_path})"
    return servers, failures


def _check(servers: dict[_Key, Server]) -> dict[tuple[str, str, str], str]:
    """What is wrong with each (app, request, server)'s answer, or "": in each family, every
    server's answer to a request must equal the reference's (the first app of the family on
    the first server that runs it: stock on uvicorn), but for the `date` and `server` headers."""
    problems: dict[tuple[str, str, str], str] = {}
    for family in dict.fromkeys(app.family for app in APPS):
        members = [app for app in APPS if app.family == family]
        for request in dict.fromkeys(request for app in members for request in app.requests):
            reference: tuple[str, object] | None = None
            for app in members:
                for kind in SERVERS:
                    server = servers.get((app.name, kind.name))
                    if server is None or request not in app.requests:
                        continue
                    where = f"{app.title} on {kind.name}"
                    try:
                        answer: object = _fetch(server, REQUESTS[request][1])
                    except Exception as exc:
                        problems[app.name, request, kind.name] = f"error: {type(exc).__name__}: {exc}"
                        continue
                    if reference is None:
                        reference = (where, answer)
                    elif answer != reference[1]:
                        problems[app.name, request, kind.name] = (
                            f"answer differs from {reference[0]}'s: {answer!r:.300} vs {reference[1]!r:.300}"
                        )
    return problems


def _fetch(server: Server, target: str) -> tuple[int, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=10)
    try:
        connection.request("GET", target, headers=HEADERS)
        response = connection.getresponse()
        headers = [(name.lower(), value) for name, value in response.getheaders()]
        body = response.read()
    finally:
        connection.close()
    return response.status, [h for h in headers if h[0] not in _SERVER_HEADERS], body


def rotated(items: Sequence[T], round_index: int) -> list[T]:
    """The items, starting one further on each round: with three servers, each goes first once
    in three rounds."""
    start = round_index % len(items)
    return [*items[start:], *items[:start]]


def _measure(
    settings: Settings,
    wrk_path: str,
    servers: dict[_Key, Server],
    loads: list[Load],
    samples: _Samples,
    crashes: list[str],
) -> None:
    def one(load: Load, server: Server, seconds: int, connections: int) -> wrk.LoadResult | None:
        if not server.alive:
            return None
        try:
            return wrk.run(wrk_path, server.url(load.target), seconds, connections, HEADERS)
        except (subprocess.SubprocessError, OSError, ValueError) as exc:
            key = (load.app.name, load.request, server.kind.name, connections)
            samples.problems[key].append(f"error: wrk: {type(exc).__name__}: {exc}")
            return None
        finally:
            if not server.alive and (load.app.name, server.kind.name) not in samples.exited:
                message = f"{load.app.name} on {server.kind.name}: exited with code {server.process.returncode}"
                samples.exited[load.app.name, server.kind.name] = message
                crashes.append(f"{message} (log: {server.log_path})")

    def each_server(load: Load, round_index: int) -> list[Server]:
        found = (servers.get((load.app.name, kind.name)) for kind in rotated(SERVERS, round_index))
        return [server for server in found if server is not None]

    if settings.load_warmup_seconds:
        print(f"  warm-up: {settings.load_warmup_seconds} s per app and server", flush=True)
        for load in loads:
            for server in each_server(load, 0):
                one(load, server, settings.load_warmup_seconds, max(settings.load_connections))
    jobs = [(connections, load) for connections in settings.load_connections for load in loads]
    for round_index in range(settings.load_rounds):
        print(
            f"  round {round_index + 1}/{settings.load_rounds}: {len(jobs)} loads x {len(SERVERS)} servers", flush=True
        )
        for connections, load in alternating(jobs, round_index):
            for server in each_server(load, round_index):
                key = (load.app.name, load.request, server.kind.name, connections)
                sample = one(load, server, settings.load_seconds, connections)
                if sample is None:
                    continue
                samples.runs[key].append(sample)
                rss = server.rss_mib()
                if rss is not None:
                    samples.rss_mib[key].append(rss)
                if sample.errors:
                    samples.problems[key].append(sample.errors)


def _server_load(
    load: Load,
    server: str,
    connections: int,
    samples: _Samples,
    answers: dict[tuple[str, str, str], str],
    failures: dict[_Key, str],
) -> ServerLoad:
    key = (load.app.name, load.request, server, connections)
    runs = samples.runs.get(key, [])
    failure = failures.get((load.app.name, server))
    problems = [f"error: did not start: {failure}"] if failure else []
    if (load.app.name, server) in samples.exited:
        problems.append(f"error: {samples.exited[load.app.name, server]}")
    if answers.get(key[:3]):
        problems.append(answers[key[:3]])
    problems += samples.problems.get(key, [])
    return ServerLoad(
        app=load.app.name,
        request=load.request,
        server=server,
        connections=connections,
        rps=median(r.requests_per_s for r in runs),
        p50_ms=median(r.p50_ms for r in runs),
        p99_ms=median(r.p99_ms for r in runs),
        rss_mib=median(samples.rss_mib.get(key, [])),
        correct=not problems,
        note="; ".join(dict.fromkeys(problems)),
        rounds_rps=[r.requests_per_s for r in runs],
    )


def _comparison_rows(result: EndToEnd) -> list[LoadRow]:
    """Stock Starlette vs tachyon_engine on each server, for each request measured on both."""
    rows = []
    for connections in result.connections:
        for kind in SERVERS:
            for request, (label, target) in REQUESTS.items():
                stock = result.find("starlette", request, kind.name, connections)
                candidate = result.find("tachyon_engine", request, kind.name, connections)
                if stock is None or candidate is None:
                    continue
                if stock.rps is None and candidate.rps is None and stock.correct and candidate.correct:
                    continue  # not loaded in this run (the smoke pass loads a few)
                rows.append(
                    LoadRow(
                        server=kind.name,
                        path=f"{label} ({urlsplit(target).path})",
                        stock_rps=stock.rps,
                        candidate_rps=candidate.rps,
                        stock_p50_ms=stock.p50_ms,
                        candidate_p50_ms=candidate.p50_ms,
                        stock_p99_ms=stock.p99_ms,
                        candidate_p99_ms=candidate.p99_ms,
                        correct=bool(stock.correct and candidate.correct),
                        note="; ".join(
                            f"{side}: {load.note}"
                            for side, load in (("stock", stock), ("tachyon_engine", candidate))
                            if load.note
                        ),
                        connections=connections,
                    )
                )
    return rows
