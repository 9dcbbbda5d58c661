"""WebSocket echo messages per second, uvicorn against the tachyon server, one worker each on the
server core, the client on the other.

The client is cheap enough not to be the bottleneck: its frames are built once (masked with a
fixed key, as RFC 6455 allows), every connection keeps a window of messages in flight, and it
reads whole batches of echoes, counting them by size (each echo is a 2-byte header and the
payload) and comparing each read with the echoes it should hold, sending one new message per echo
received. Its own CPU time is reported beside the
figure: a client near 100% of its core would be measuring itself.

Run alone: `python -m benchmarks.endtoend.websocket [seconds]`.
"""

from __future__ import annotations

import base64
import os
import selectors
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.endtoend.servers import HOST, LOAD_CORE, SERVERS, Server
from benchmarks.results import median

FACTORY = "benchmarks.endtoend.apps:websocket_echo_app"
PAYLOAD = b"0123456789abcdef"
_MASK = b"\x37\xfa\x21\x3d"
# A masked client text frame carrying PAYLOAD, and the unmasked echo the server must send back.
FRAME = bytes([0x81, 0x80 | len(PAYLOAD)]) + _MASK + bytes(b ^ _MASK[i % 4] for i, b in enumerate(PAYLOAD))
ECHO = bytes([0x81, len(PAYLOAD)]) + PAYLOAD
_READ = 262144
# Every read must be a slice of this (the echoes back to back), checked under load too.
_ECHOES = ECHO * (_READ // len(ECHO) + 2)
CONNECTIONS = 16
WINDOW = 32
# The target: the tachyon server's messages/s over uvicorn's.
GOAL = 1.5
# Only uvicorn has a WebSocket implementation to compare with (granian runs with --no-ws).
COMPARED = ("uvicorn", "tachyon")


@dataclass
class WebSocketLoad:
    server: str
    messages_per_s: float | None = None
    client_cpu: float | None = None
    correct: bool = True
    note: str = ""
    rounds: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"WebSocket echo on {self.server}"


def _handshake(port: int) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /echo HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"handshake refused: {head.splitlines()[0]!r}")
    if head.partition(b"\r\n\r\n")[2]:
        raise ConnectionError("unexpected bytes after the handshake")
    return sock


def check(port: int) -> str:
    """What is wrong with the server's echo, or ""."""
    try:
        sock = _handshake(port)
    except OSError as exc:
        return f"error: {exc}"
    with sock:
        sock.sendall(FRAME * 3)
        data = b""
        while len(data) < 3 * len(ECHO):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return "" if data == ECHO * 3 else f"echo differs: {data!r:.200}"


def load(port: int, seconds: float) -> tuple[float, float]:
    """Echo messages per second over `seconds`, and the client's CPU share of one core."""
    sockets = [_handshake(port) for _ in range(CONNECTIONS)]
    selector = selectors.DefaultSelector()
    leftover = {}
    for sock in sockets:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        leftover[sock] = 0
        sock.sendall(FRAME * WINDOW)
    sockets_by_fd = {sock.fileno(): sock for sock in sockets}
    size = len(ECHO)
    received = 0
    cpu_start = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for key, _ in selector.select(timeout=0.5):
            sock = sockets_by_fd[key.fd]
            data = sock.recv(_READ)
            if not data:
                raise ConnectionError("the server closed a connection under load")
            offset = leftover[sock]
            if data != _ECHOES[offset : offset + len(data)]:
                raise ValueError(f"an echo under load differs: {data[:64]!r}")
            total = offset + len(data)
            echoes, leftover[sock] = divmod(total, size)
            if echoes:
                received += echoes
                sock.sendall(FRAME * echoes)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    for sock in sockets:
        selector.unregister(sock)
        sock.close()
    return received / elapsed, cpu / elapsed


def run(seconds: float, rounds: int, log: Path) -> list[WebSocketLoad]:
    """Each server in turn (alternating which goes first), `rounds` times; medians."""
    affinity = os.sched_getaffinity(0)
    try:
        return _rounds(seconds, rounds, log)
    finally:
        os.sched_setaffinity(0, affinity)


def _rounds(seconds: float, rounds: int, log: Path) -> list[WebSocketLoad]:
    pin_client()
    results = {name: WebSocketLoad(name) for name in COMPARED}
    kinds = [kind for kind in SERVERS if kind.name in COMPARED]
    cpu: dict[str, list[float]] = {name: [] for name in COMPARED}
    for round_index in range(rounds):
        order = kinds if round_index % 2 == 0 else kinds[::-1]
        for kind in order:
            result = results[kind.name]
            try:
                with Server(kind, FACTORY, log / f"websocket-{kind.name}.log") as server:
                    problem = check(server.port)
                    if problem:
                        result.correct, result.note = False, problem
                        continue
                    rate, share = load(server.port, seconds)
                    result.rounds.append(rate)
                    cpu[kind.name].append(share)
            except (OSError, RuntimeError, ValueError) as exc:
                result.correct, result.note = False, f"error: {type(exc).__name__}: {exc}"
    for name, result in results.items():
        result.messages_per_s = median(result.rounds)
        result.client_cpu = median(cpu[name])
    return list(results.values())


def pin_client() -> None:
    """This process on the load core (the servers are pinned to the other)."""
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {int(LOAD_CORE)})


if __name__ == "__main__":
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    for row in run(duration, 3, Path("/tmp/tachyon-websocket-bench")):
        print(row)
