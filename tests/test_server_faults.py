"""tachyon's server under faults: clients that leave mid-body, slowloris connections, SIGTERM
with requests in flight, a worker killed under `--workers 2`, a failing lifespan startup,
`--limit-concurrency` (compared with uvicorn's 503), and uvicorn options it does not support.
"""

from __future__ import annotations

import os
import re
import resource
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from server_apps import LIFESPAN_FAILURE
from server_support import (
    PYTHON,
    TESTS,
    Connection,
    Server,
    exchange,
    exchange_view,
    launch,
    request,
    start_server,
    wait_ready,
)

# The 1,000, within the open-file limit this process can raise itself to (the server it
# starts inherits it): each connection takes a descriptor on both sides.
_SOFT, _HARD = resource.getrlimit(resource.RLIMIT_NOFILE)
_WANTED = 4096 if _HARD == resource.RLIM_INFINITY else min(4096, _HARD)
if _SOFT < _WANTED:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_WANTED, _HARD))
SLOWLORIS_CONNECTIONS = min(1000, (resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 200) // 2)
SLOWLORIS_KEEP_ALIVE = 2.0


@pytest.fixture(scope="module")
def tachyon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server("tachyon", tmp_path_factory.mktemp("faults"))
    try:
        yield server
    finally:
        server.stop()


# --- A client that leaves mid-body -------------------------------------------------------------

PARTIAL_BODIES = {
    # A declared length small enough to be read ahead, and one that is streamed to the app.
    "small-content-length": (b"Content-Length: 1000", b"x" * 10),
    "large-content-length": (b"Content-Length: 1048576", b"y" * 100_000),
    "chunked": (b"Transfer-Encoding: chunked", b"5\r\nhello\r\n"),
}


@pytest.mark.parametrize("name", list(PARTIAL_BODIES))
def test_client_leaving_mid_body_is_a_disconnect(tachyon: Server, name: str) -> None:
    framing, sent = PARTIAL_BODIES[name]
    tachyon.mark()
    with Connection(tachyon.port) as connection:
        connection.send(b"POST /leaving HTTP/1.1\r\nHost: example.test\r\n" + framing + b"\r\n\r\n" + sent)
        time.sleep(0.2)
    records = tachyon.wait_records(1, timeout=5.0)
    assert records, f"the app never saw the request (or never finished receiving it):\n{tachyon.log()[-2000:]}"
    messages = records[0]["messages"]
    assert messages and messages[-1] == {"type": "http.disconnect"}, messages
    assert all(m["type"] == "http.request" and m["more_body"] is True for m in messages[:-1]), messages
    body = records[0]["body"]["bytes"].encode("latin-1")
    expected = b"hello" if name == "chunked" else sent
    assert expected.startswith(body), (body[:100], len(body))
    assert request(tachyon.port, "/after-leaving").status == 200


# --- Slowloris ---------------------------------------------------------------------------------


def test_slowloris_does_not_block_and_is_closed(tmp_path: Path) -> None:
    """Connections that send one header byte every 0.5 s neither keep a normal client from being
    served nor stay open beyond --timeout-keep-alive."""
    server = start_server("tachyon", tmp_path, args=["--timeout-keep-alive", str(SLOWLORIS_KEEP_ALIVE)])
    sockets: list[socket.socket] = []
    closed: set[int] = set()
    stop = threading.Event()
    lock = threading.Lock()

    def trickle() -> None:
        while not stop.wait(0.5):
            with lock:
                for index, sock in enumerate(sockets):
                    if index in closed:
                        continue
                    try:
                        sock.send(b"a")
                    except OSError:
                        closed.add(index)

    try:
        for _ in range(SLOWLORIS_CONNECTIONS):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5.0)
            sock.setblocking(False)
            sock.send(b"GET /slowloris HTTP/1.1\r\nHost: example.test\r\nX-Slow: ")
            sockets.append(sock)
        opened = time.monotonic()
        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        time.sleep(1.0)
        response = request(server.port, "/normal", timeout=10.0)
        assert response.status == 200
        deadline = opened + SLOWLORIS_KEEP_ALIVE + 6.0
        by_fd = {sock.fileno(): index for index, sock in enumerate(sockets)}
        while len(closed) < len(sockets) and time.monotonic() < deadline:
            with lock:
                waiting = [s for i, s in enumerate(sockets) if i not in closed]
            readable, _, _ = select.select(waiting, [], [], 0.2)
            for sock in readable:
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    with lock:
                        closed.add(by_fd[sock.fileno()])
        assert len(closed) == len(sockets), (
            f"{len(sockets) - len(closed)} of {len(sockets)} slowloris connections still open "
            f"{deadline - opened:.1f} s after they opened (--timeout-keep-alive {SLOWLORIS_KEEP_ALIVE})"
        )
        assert "/slowloris" not in [r["scope"]["path"] for r in server.records() if "scope" in r]
        assert request(server.port, "/after").status == 200
    finally:
        stop.set()
        for sock in sockets:
            sock.close()
        server.stop()


# --- Graceful shutdown -------------------------------------------------------------------------


def test_sigterm_finishes_in_flight_requests(tmp_path: Path) -> None:
    server = start_server("tachyon", tmp_path)
    count = 8
    connections = []
    # An idle keep-alive connection must not hold the shutdown up.
    idle = Connection(server.port)
    try:
        idle.send(b"GET /idle HTTP/1.1\r\nHost: example.test\r\n\r\n")
        assert [r.status for r in idle.read_responses(["GET"])] == [200]
        server.mark()
        for index in range(count):
            connection = Connection(server.port, timeout=15.0)
            connection.send(
                b"GET /in-flight/%d HTTP/1.1\r\nHost: example.test\r\nx-app: slow\r\nx-delay: 1.5\r\n\r\n" % index
            )
            connections.append(connection)
        # The idle request's own record may still arrive after mark(): count the in-flight ones.
        records: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10.0
        while len([r for r in records if r.get("event") == "entered"]) < count and time.monotonic() < deadline:
            records += server.wait_records(1, timeout=0.5)
        assert len([r for r in records if r.get("event") == "entered"]) == count, records
        server.signal(signal.SIGTERM)
        statuses = []
        for connection in connections:
            responses = connection.read_responses(["GET"])
            statuses.append(responses[-1].status if responses and responses[-1].complete else None)
        assert statuses == [200] * count, f"{statuses}\n{server.log()[-3000:]}"
        code = server.wait_exit(15.0)
        assert code == 0, f"exit code {code}\n{server.log()[-3000:]}"
        assert idle.read_until_close(1.0)
    finally:
        idle.close()
        for connection in connections:
            connection.close()
        server.stop()


# --- Workers -----------------------------------------------------------------------------------

_STARTED = re.compile(r"Started server process \[(\d+)\]")


def _worker_pids(server: Server) -> list[int]:
    return [int(pid) for pid in _STARTED.findall(server.log())]


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _logged(server: Server, text: str, timeout: float) -> bool:
    return _wait_for(lambda: text in server.log(), timeout)


def test_killed_worker_is_replaced(tmp_path: Path) -> None:
    server = start_server("tachyon", tmp_path, args=["--workers", "2"])
    try:
        assert _wait_for(lambda: len(_worker_pids(server)) >= 2, 20.0), server.log()
        first, second = _worker_pids(server)[:2]
        # Both workers serve before one is killed.
        for index in range(4):
            assert request(server.port, f"/before/{index}").status == 200
        os.kill(first, signal.SIGKILL)
        assert _wait_for(lambda: len(_worker_pids(server)) >= 3, 20.0), server.log()
        replacement = _worker_pids(server)[2]
        assert replacement not in (first, second)
        for index in range(10):
            assert request(server.port, f"/after/{index}", timeout=10.0).status == 200
        assert server.alive()
        assert server.stop() == 0, server.log()[-3000:]
    finally:
        server.stop()


# --- Lifespan ----------------------------------------------------------------------------------


def test_lifespan_startup_failure_exits_with_the_message(tmp_path: Path) -> None:
    server = launch("tachyon", tmp_path, app="server_apps:lifespan_failing", args=["--lifespan", "on"])
    try:
        code = server.wait_exit(20.0)
        assert code is not None, f"still running after a failed startup:\n{server.log()}"
        assert code != 0
        assert LIFESPAN_FAILURE in server.log()
    finally:
        server.stop()


def test_lifespan_state_reaches_requests(tachyon: Server) -> None:
    tachyon.mark()
    assert request(tachyon.port, "/state").status == 200
    (record,) = tachyon.wait_records(1)
    assert record["scope"]["state"] == {"started": "yes"}


# --- --limit-concurrency -----------------------------------------------------------------------


def test_limit_concurrency_503_matches_uvicorn(tmp_path: Path) -> None:
    args = ["--limit-concurrency", "1"]
    pair = launch("uvicorn", tmp_path, args=args), launch("tachyon", tmp_path, args=args)
    try:
        for server in pair:
            wait_ready(server)
        data = b"GET /limited HTTP/1.1\r\nHost: example.test\r\n\r\n"
        results = [exchange(server.port, data, ["GET"], linger=0.5) for server in pair]
        theirs, ours = results
        assert theirs.finals and theirs.finals[0].status == 503, theirs.raw
        assert exchange_view(ours) == exchange_view(theirs), f"\nuvicorn: {theirs.raw!r}\ntachyon: {ours.raw!r}"
        assert ours.closed_by_server == theirs.closed_by_server
        for server in pair:
            assert _logged(server, "Exceeded concurrency limit.", 3.0), server.log()
    finally:
        for server in pair:
            server.stop()


# --- Unsupported options -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--ssl-version", "2"),
        ("--ssl-ciphers", "ECDHE+AESGCM"),
        ("--ws-per-message-deflate", "true"),
        ("--ws", "wsproto"),
    ],
)
def test_unsupported_uvicorn_option_exits_2(option: str, value: str, tmp_path: Path) -> None:
    # Run outside the repository: `python -m` puts the working directory first on sys.path, and
    # the source tree's tachyon_engine/ (without the built extension) would shadow the installed one.
    result = subprocess.run(
        [PYTHON, "-m", "tachyon_engine.server", "server_apps:app", "--app-dir", str(TESTS), option, value],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert option in result.stderr, result.stderr
