"""Helpers for the server tests: run tachyon's server or uvicorn in a subprocess on an app from
`tests/server_apps.py`, talk to it over raw sockets with exact bytes, and parse what comes back.

`start_server("tachyon" | "uvicorn", ...)` binds a free port, waits until it accepts and returns a
`Server`; `Server.stop()` sends SIGTERM (then SIGKILL) and returns the exit code. `Connection`
sends bytes and reads responses (status line, headers, a body framed by Content-Length, chunked
encoding or the connection's end); `exchange()` is one connection's whole conversation.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from server_apps import RECORD_ENV

TESTS = Path(__file__).resolve().parent
PYTHON = sys.executable
Kind = Literal["tachyon", "uvicorn"]
KINDS: tuple[Kind, Kind] = ("uvicorn", "tachyon")
READY_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def command(kind: Kind, app: str, port: int, args: Sequence[str]) -> list[str]:
    common = [app, "--host", "127.0.0.1", "--port", str(port), "--app-dir", str(TESTS), *args]
    if kind == "tachyon":
        return [PYTHON, "-m", "tachyon_engine.server", *common]
    return [PYTHON, "-m", "uvicorn", *common, "--loop", "uvloop", "--http", "httptools"]


@dataclass
class Server:
    kind: Kind
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    record_path: Path
    _offset: int = 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def _read_from(self, offset: int) -> tuple[list[dict[str, Any]], int]:
        """The whole records written from byte `offset` on, and the offset after them."""
        try:
            with open(self.record_path, "rb") as file:
                file.seek(offset)
                data = file.read()
        except FileNotFoundError:
            return [], offset
        end = data.rfind(b"\n") + 1
        return [json.loads(line) for line in data[:end].splitlines() if line.strip()], offset + end

    def records(self) -> list[dict[str, Any]]:
        """Every record the app wrote so far."""
        return self._read_from(0)[0]

    def mark(self) -> None:
        """`new_records()` and `wait_records()` return what is written after this call."""
        try:
            self._offset = self.record_path.stat().st_size
        except FileNotFoundError:
            self._offset = 0

    def new_records(self) -> list[dict[str, Any]]:
        records, self._offset = self._read_from(self._offset)
        return records

    def wait_records(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Waits until at least `count` records were written after `mark()`; returns them all."""
        deadline = time.monotonic() + timeout
        records: list[dict[str, Any]] = []
        while True:
            fresh, self._offset = self._read_from(self._offset)
            records += fresh
            if len(records) >= count or time.monotonic() >= deadline:
                return records
            time.sleep(0.02)

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after `timeout` seconds: the exit code (negative: killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def launch(
    kind: Kind,
    directory: Path,
    *,
    app: str = "server_apps:app",
    args: Sequence[str] = (),
    access_log: bool = False,
    env: dict[str, str] | None = None,
) -> Server:
    """Starts the server without waiting for it (see `wait_ready`)."""
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / f"{kind}-{port}.log"
    record_path = directory / f"{kind}-{port}.records.jsonl"
    environment = dict(os.environ)
    environment.pop("WEB_CONCURRENCY", None)
    environment.update({RECORD_ENV: str(record_path), "PYTHONUNBUFFERED": "1"})
    environment.update(env or {})
    full_args = [*args] if access_log else ["--no-access-log", *args]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command(kind, app, port, full_args),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=directory,
        )
    return Server(kind, port, process, log_path, record_path)


def wait_ready(server: Server, timeout: float = READY_TIMEOUT) -> None:
    """Waits until the server accepts a connection (raising with its log if it exits first)."""
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.kind} exited with {server.process.returncode} before accepting:\n{server.log()}"
            )
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() >= deadline:
                server.stop()
                raise RuntimeError(f"{server.kind} did not accept within {timeout} s:\n{server.log()}") from None
            time.sleep(0.05)


@contextmanager
def running_pair(
    directory: Path, args: Sequence[str] = (), *, app: str = "server_apps:app", env: dict[str, str] | None = None
) -> Iterator[tuple[Server, Server]]:
    """uvicorn and tachyon on `app` (the recording app by default), started in parallel, stopped
    on leaving."""
    pair = (
        launch("uvicorn", directory, app=app, args=args, env=env),
        launch("tachyon", directory, app=app, args=args, env=env),
    )
    try:
        for server in pair:
            wait_ready(server)
        yield pair
    finally:
        for server in pair:
            server.stop()


def start_server(
    kind: Kind,
    directory: Path,
    *,
    app: str = "server_apps:app",
    args: Sequence[str] = (),
    access_log: bool = False,
    env: dict[str, str] | None = None,
) -> Server:
    server = launch(kind, directory, app=app, args=args, access_log=access_log, env=env)
    wait_ready(server)
    return server


# --- Responses -------------------------------------------------------------------------------


@dataclass
class Response:
    version: bytes
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    # The body's framing: "length", "chunked", "close" (until the connection ends) or "none".
    framing: str = "none"
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)
    complete: bool = False

    @property
    def interim(self) -> bool:
        return 100 <= self.status < 200

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def header_list(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


class ParseError(Exception):
    pass


def _parse_head(block: bytes) -> Response:
    lines = block.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ParseError(f"bad status line {lines[0]!r}")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ParseError(f"bad header line {line!r}")
        headers.append((name, value.strip(b" \t")))
    return Response(parts[0], int(parts[1]), parts[2] if len(parts) > 2 else b"", headers)


def _parse_chunked(data: bytes, start: int, response: Response) -> int | None:
    """Decodes a chunked body from `start`: the offset after it, or None while it is incomplete
    (`response.body` then holds the chunks decoded so far)."""
    position = start
    body = bytearray()
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end == -1:
            response.body = bytes(body)
            return None
        size_text = data[position:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ParseError(f"bad chunk size line {data[position:line_end]!r}") from None
        position = line_end + 2
        if size == 0:
            break
        if len(data) < position + size + 2:
            body += data[position : position + size]
            response.body = bytes(body)
            return None
        body += data[position : position + size]
        if data[position + size : position + size + 2] != b"\r\n":
            raise ParseError("chunk not followed by CRLF")
        position += size + 2
    response.body = bytes(body)
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end == -1:
            return None
        line = data[position:line_end]
        position = line_end + 2
        if not line:
            return position
        name, _, value = line.partition(b":")
        response.trailers.append((name, value.strip(b" \t")))


def parse_responses(data: bytes, methods: Sequence[str], eof: bool) -> tuple[list[Response], bytes]:
    """The responses in `data` (interim 1xx ones included), the i-th final one answering a request
    with method `methods[i]` (HEAD: no body; unknown beyond the list: GET), and the bytes left
    after the last complete one. The last response may be incomplete (`complete` False)."""
    responses: list[Response] = []
    position = 0
    finals = 0
    while position < len(data):
        head_end = data.find(b"\r\n\r\n", position)
        if head_end == -1:
            break
        response = _parse_head(data[position:head_end])
        start = head_end + 4
        method = methods[finals] if finals < len(methods) else "GET"
        if response.interim:
            response.complete = True
            responses.append(response)
            position = start
            continue
        finals += 1
        length = response.header(b"content-length")
        encoding = response.header(b"transfer-encoding")
        if method == "HEAD" or response.status in (204, 304):
            response.framing = "none"
            end: int | None = start
        elif encoding is not None and encoding.lower().endswith(b"chunked"):
            response.framing = "chunked"
            end = _parse_chunked(data, start, response)
        elif length is not None:
            response.framing = "length"
            size = int(length)
            response.body = data[start : start + size]
            end = start + size if len(data) >= start + size else None
        else:
            response.framing = "close"
            response.body = data[start:]
            end = len(data) if eof else None
        responses.append(response)
        if end is None:
            return responses, b""
        response.complete = True
        position = end
    return responses, data[position:]


# --- Connections -----------------------------------------------------------------------------


class Connection:
    """One client connection that sends exact bytes and reads with a deadline."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.received = bytearray()
        self.eof = False
        self.reset = False

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> bool:
        """Sends `data`; False if the server already closed the connection."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def shutdown_write(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _read_some(self, deadline: float) -> bool:
        """Reads what is there (waiting until `deadline`): False on timeout or the connection's end."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        readable, _, _ = select.select([self.sock], [], [], remaining)
        if not readable:
            return False
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            self.eof = self.reset = True
            return False
        except TimeoutError:
            return False
        if not chunk:
            self.eof = True
            return False
        self.received += chunk
        return True

    def parsed(self, methods: Sequence[str]) -> tuple[list[Response], bytes]:
        return parse_responses(bytes(self.received), methods, self.eof)

    def read_responses(self, methods: Sequence[str], timeout: float | None = None) -> list[Response]:
        """Reads until `len(methods)` final responses are complete (or the connection ends, or
        the deadline passes): the responses parsed so far."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            responses, _ = self.parsed(methods)
            finals = [r for r in responses if not r.interim]
            if len(finals) >= len(methods) and all(r.complete for r in finals):
                return responses
            if not self._read_some(deadline) and (self.eof or time.monotonic() >= deadline):
                return self.parsed(methods)[0]

    def read_interim(self, timeout: float | None = None) -> Response | None:
        """Reads until an interim (1xx) response or anything else arrives."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            responses, _ = self.parsed([])
            if responses:
                return responses[0]
            if not self._read_some(deadline) and (self.eof or time.monotonic() >= deadline):
                return None

    def read_until_close(self, timeout: float | None = None) -> bool:
        """Reads until the server ends the connection: whether it did before the deadline."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.eof and time.monotonic() < deadline:
            self._read_some(deadline)
        return self.eof


@dataclass
class Exchange:
    responses: list[Response]
    # Bytes after the last complete response (a response the client never asked for, say).
    leftover: bytes
    # The server ended the connection (before the client's own half-close, if any).
    closed_by_server: bool
    raw: bytes

    @property
    def finals(self) -> list[Response]:
        return [r for r in self.responses if not r.interim]


def exchange(
    port: int,
    data: bytes | Sequence[bytes],
    methods: Sequence[str],
    *,
    timeout: float = 5.0,
    pause: float = 0.0,
    linger: float = 0.0,
) -> Exchange:
    """Sends `data` (the pieces one write each, `pause` seconds apart), reads the responses to
    `methods`, then waits `linger` seconds for the server to close, half-closes and reads to the
    end (so that anything extra is seen)."""
    pieces = [data] if isinstance(data, bytes) else list(data)
    with Connection(port, timeout) as connection:
        for index, piece in enumerate(pieces):
            if index and pause:
                time.sleep(pause)
            if not connection.send(piece):
                break
        connection.read_responses(methods)
        if linger:
            connection.read_until_close(linger)
        closed_by_server = connection.eof
        connection.shutdown_write()
        connection.read_until_close(timeout)
        responses, leftover = connection.parsed(methods)
        return Exchange(responses, leftover, closed_by_server, bytes(connection.received))


def request(port: int, path: str = "/", headers: Sequence[tuple[str, str]] = (), timeout: float = 5.0) -> Response:
    """One well-formed GET on a connection of its own (closed by the client): its response."""
    lines = [f"GET {path} HTTP/1.1", "Host: example.test", *(f"{n}: {v}" for n, v in headers)]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with Connection(port, timeout) as connection:
        connection.send(data)
        responses = connection.read_responses(["GET"])
    finals = [r for r in responses if not r.interim]
    if not finals or not finals[0].complete:
        raise AssertionError(f"no complete response to GET {path}: {bytes(connection.received)!r}")
    return finals[0]


# --- Normalised views, for comparing two servers -----------------------------------------------


def grouped(headers: Sequence[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Headers grouped by name (names in order of first appearance, each name's values in their
    order): the order hyper's HeaderMap gives interleaved duplicates."""
    order: dict[Any, int] = {}
    for name, _ in headers:
        order.setdefault(name, len(order))
    return sorted(headers, key=lambda pair: order[pair[0]])


IGNORED_RESPONSE_HEADERS = {b"date", b"server"}


def response_view(response: Response) -> dict[str, Any]:
    """A response without what may differ between the two servers: the values of `date` and
    `server`, the case of header names, and the order of headers of different names."""
    per_name: dict[bytes, list[bytes]] = {}
    for name, value in response.headers:
        # `date` and `server`: whether they are sent (and how often), not their values.
        shown = b"<" + name.lower() + b">" if name.lower() in IGNORED_RESPONSE_HEADERS else value
        per_name.setdefault(name.lower(), []).append(shown)
    return {
        "status_line": (response.version, response.status, response.reason),
        "headers": dict(sorted(per_name.items())),
        "body": response.body,
        "framing": response.framing,
        "trailers": sorted((n.lower(), v) for n, v in response.trailers),
        "complete": response.complete,
    }


def exchange_view(result: Exchange) -> dict[str, Any]:
    return {
        "responses": [response_view(r) for r in result.responses],
        "leftover": result.leftover,
    }


def _port_free(address: Any) -> Any:
    # {"tuple": [host, port]}: the port must be an int; its value differs between servers.
    if isinstance(address, dict) and "tuple" in address:
        host, port = address["tuple"]
        assert type(port) is int, f"port is not an int: {port!r}"
        return {"tuple": [host, "<port>"]}
    return address


def _header_pair(item: Any) -> tuple[Any, Any]:
    """A recorded header as (name, value) when it is a tuple of two bytes; else its shape, typed."""
    if isinstance(item, dict) and list(item) == ["tuple"] and len(item["tuple"]) == 2:
        name, value = item["tuple"]
        if isinstance(name, dict) and list(name) == ["bytes"] and isinstance(value, dict) and list(value) == ["bytes"]:
            return name["bytes"], value["bytes"]
    return json.dumps(item, sort_keys=True), "<not a (bytes, bytes) tuple>"


def scope_view(scope: dict[str, Any]) -> dict[str, Any]:
    """A recorded scope without `asgi` and `extensions`, ports replaced (after checking they are
    ints) and headers grouped by name."""
    view = {key: value for key, value in scope.items() if key not in ("asgi", "extensions")}
    for key in ("server", "client"):
        if key in view:
            view[key] = _port_free(view[key])
    if isinstance(view.get("headers"), list):
        view["headers"] = grouped([_header_pair(item) for item in view["headers"]])
    return view


def record_view(record: dict[str, Any]) -> dict[str, Any]:
    """A request record: its scope view, the body, and how the messages ended (not how the body
    was split between them)."""
    messages = record["messages"]
    last = dict(messages[-1]) if messages else {}
    last.pop("body", None)
    return {
        "scope": scope_view(record["scope"]),
        "body": record["body"],
        "last_message": last,
        "message_keys": sorted({",".join(sorted(m)) for m in messages}),
        "message_types": sorted({m["type"] for m in messages}),
    }
