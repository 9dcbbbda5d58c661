"""WebSockets on the built-in server, compared with uvicorn (its default `websockets` protocol) on
the same apps, through real peers: the `websockets` client library for conversations, raw
sockets with hand-made frames for handshakes and protocol violations.

For each scenario both servers get the same conversation; what the client saw (messages, the
handshake's answer, the close code and reason, or an abnormal end) and what the app recorded
(its scope, every message `receive()` returned, what each `send()` raised) must be the same.
Known differences, asserted as such: the reason text of a close the server sends for a protocol
violation (the close code is the same), and permessage-deflate, which uvicorn negotiates and
tachyon declines.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import websockets
from server_support import KINDS, Server, launch, running_pair, wait_ready
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

Step = tuple[Any, ...]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    with running_pair(
        tmp_path_factory.mktemp("websocket"), ["--ws-max-size", "2097152"], app="websocket_apps:app"
    ) as pair:
        yield pair


# --- Conversations through the websockets client ----------------------------------------------


async def _converse(port: int, path: str, steps: Sequence[Step], subprotocols: Sequence[str] | None) -> dict[str, Any]:
    seen: dict[str, Any] = {"received": []}
    try:
        async with websockets.connect(
            f"ws://127.0.0.1:{port}{path}",
            subprotocols=[Subprotocol(name) for name in subprotocols] if subprotocols else None,
            compression=None,
            open_timeout=5,
            close_timeout=5,
            ping_interval=None,
        ) as ws:
            seen["subprotocol"] = ws.subprotocol
            assert ws.response is not None
            seen["x-accepted"] = ws.response.headers.get("x-accepted")
            seen["upgrade"] = ws.response.headers.get("upgrade")
            for step in steps:
                if step[0] == "send":
                    await ws.send(step[1])
                elif step[0] == "recv":
                    try:
                        seen["received"].append(await asyncio.wait_for(ws.recv(), 5))
                    except ConnectionClosed:
                        seen["received"].append("closed")
                elif step[0] == "close":
                    await ws.close(step[1], step[2])
            await asyncio.wait_for(ws.wait_closed(), 5)
            sent, received = ws.protocol.close_sent, ws.protocol.close_rcvd
            seen["close_sent"] = None if sent is None else (sent.code, sent.reason)
            seen["close_received"] = None if received is None else (received.code, received.reason)
    except InvalidStatus as exc:
        response = exc.response
        seen["refused"] = {
            "status": response.status_code,
            "reason_phrase": response.reason_phrase,
            "body": response.body,
            "headers": {
                name: response.headers.get(name)
                for name in ("content-type", "content-length", "connection", "x-denied", "allow", "upgrade")
            },
        }
    return seen


def _observe(
    server: Server, path: str, steps: Sequence[Step], subprotocols: Sequence[str] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    server.mark()
    seen = asyncio.run(_converse(server.port, path, steps, subprotocols))
    records = server.wait_records(1)
    return seen, records


CONVERSATIONS: dict[str, tuple[str, list[Step], list[str] | None]] = {
    "echo text and bytes, the client closes": (
        "/echo",
        [("send", "hello"), ("recv",), ("send", b"\x00\x01\xff"), ("recv",), ("close", 1000, "done")],
        None,
    ),
    "the client closes with an application code": ("/echo", [("send", "x"), ("recv",), ("close", 4321, "")], None),
    "subprotocol and accept headers": (
        "/echo?subprotocol=chat&header=v1",
        [("send", "hi"), ("recv",), ("close", 1001, "going")],
        ["chat", "superchat"],
    ),
    "a fragmented message is reassembled": (
        "/echo",
        [("send", ["frag", "men", "ted"]), ("recv",), ("close", 1000, "")],
        None,
    ),
    "a 1 MiB binary message": ("/echo", [("send", bytes(range(256)) * 4096), ("recv",), ("close", 1000, "")], None),
    "non-ASCII text": ("/echo", [("send", "héllo ☃ 𝄞"), ("recv",), ("close", 1000, "")], None),
    "the app closes with a code and reason": (
        "/echo?close=4001&reason=bye",
        [("send", "x"), ("recv",), ("recv",)],
        None,
    ),
    "the app closes with the default code": ("/echo?close=1000", [("send", b"x"), ("recv",), ("recv",)], None),
    "a burst larger than the socket takes at once": ("/burst?n=64&size=262144", [("recv",)] * 65, None),
    "messages pile up beyond --ws-max-queue while the app is busy": (
        "/slow-reader?n=200",
        [*(("send", str(index)) for index in range(200)), ("recv",), ("close", 1000, "")],
        None,
    ),
    "send after the peer left": ("/echo?send_after=1", [("close", 1000, "")], None),
    "close before accept is a 403": ("/refuse", [], None),
    "a denial response": ("/deny", [], None),
    "an error before accept is a 500": ("/raise-before-accept", [], None),
    "returning before accept is a 500": ("/return-before-accept", [], None),
    "an error after accept drops the connection": ("/raise-after-accept", [("recv",), ("recv",)], None),
    "returning after accept drops the connection": ("/return-after-accept", [("recv",), ("recv",)], None),
    "messages out of order": ("/wrong-messages", [("recv",), ("recv",)], None),
    "a receive waiting in another task gets the app's close": ("/concurrent-receive", [("recv",)], None),
}


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_conversation(servers: tuple[Server, Server], name: str) -> None:
    path, steps, subprotocols = CONVERSATIONS[name]
    theirs, ours = (_observe(server, path, steps, subprotocols) for server in servers)
    assert ours[0] == theirs[0], f"what the client saw differs ({name})"
    assert ours[1] == theirs[1], f"what the app saw differs ({name})"


def test_the_scope(servers: tuple[Server, Server]) -> None:
    """The recorded scope is compared in every conversation; here it is also checked outright."""
    _, records = _observe(servers[1], "/echo?a=1&b=%20", [("close", 1000, "")], ["one", "two"])
    scope = records[0]["scope"]
    assert scope["type"] == "websocket"
    assert scope["scheme"] == "ws"
    assert scope["http_version"] == "1.1"
    assert scope["path"] == "/echo"
    assert scope["query_string"] == {"bytes": "a=1&b=%20"}
    assert scope["subprotocols"] == ["one", "two"]
    assert scope["extensions"] == {"websocket.http.response": {}}
    assert scope["state"] == {"started": "yes"}
    assert "method" not in scope


def test_plain_http_on_the_same_server(servers: tuple[Server, Server]) -> None:
    for server in servers:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET /echo HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            data = _read_all(sock)
        assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"plain HTTP")


def test_compression_offered_is_declined_and_messages_still_flow(servers: tuple[Server, Server]) -> None:
    async def talk(port: int) -> tuple[str | None, Any]:
        async with websockets.connect(f"ws://127.0.0.1:{port}/echo", open_timeout=5) as ws:
            assert ws.response is not None
            await ws.send("compressible " * 100)
            return ws.response.headers.get("sec-websocket-extensions"), await ws.recv()

    uvicorn_extension, uvicorn_echo = asyncio.run(talk(servers[0].port))
    extension, echo = asyncio.run(talk(servers[1].port))
    assert uvicorn_extension is not None and uvicorn_extension.startswith("permessage-deflate")
    assert extension is None, "tachyon does not negotiate permessage-deflate"
    assert echo == uvicorn_echo == "compressible " * 100


# --- Raw frames ----------------------------------------------------------------------------------


HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True, length: int | None = None) -> bytes:
    """A client frame; `length` overrides the declared payload length."""
    size = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    flag = 0x80 if mask else 0
    if size < 126:
        head += bytes([flag | size])
    elif size < 65536:
        head += bytes([flag | 126]) + struct.pack("!H", size)
    else:
        head += bytes([flag | 127]) + struct.pack("!Q", size)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """The (opcode, payload) of each unmasked server frame in `data`."""
    frames = []
    while len(data) >= 2:
        opcode, size = data[0] & 0x0F, data[1] & 0x7F
        offset = 2
        if size == 126:
            size, offset = struct.unpack("!H", data[2:4])[0], 4
        elif size == 127:
            size, offset = struct.unpack("!Q", data[2:10])[0], 10
        frames.append((opcode, data[offset : offset + size]))
        data = data[offset + size :]
    return frames


def _raw(server: Server, request: bytes, frames: Sequence[bytes] = (), timeout: float = 5.0) -> tuple[bytes, bytes]:
    """Sends a handshake and, once it is answered, `frames`; returns the head and what followed."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        for item in frames:
            sock.sendall(item)
        return head, rest + _read_all(sock)


def _head_fields(head: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    lines = head.split(b"\r\n")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    return lines[0], fields


REFUSED_HANDSHAKES = {
    "not GET": HANDSHAKE.replace("GET", "POST", 1),
    "no key": HANDSHAKE.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
    "a key that is not 16 bytes": HANDSHAKE.replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="),
    "two keys": HANDSHAKE.replace("Version: 13\r\n", "Version: 13\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"),
    "no version": HANDSHAKE.replace("Sec-WebSocket-Version: 13\r\n", ""),
    "version 8": HANDSHAKE.replace("Version: 13", "Version: 8"),
}


@pytest.mark.parametrize("name", list(REFUSED_HANDSHAKES))
def test_refused_handshake(servers: tuple[Server, Server], name: str) -> None:
    request = REFUSED_HANDSHAKES[name].format(path="/echo").encode()
    answers = []
    for server in servers:
        head, body = _raw(server, request)
        status, fields = _head_fields(head)
        kept = {k: v for k, v in fields.items() if k in (b"content-type", b"content-length", b"connection", b"allow")}
        answers.append((status, kept, body))
    assert answers[1] == answers[0]


# (frames after the handshake, the close code the server sends, what the app's disconnect says)
VIOLATIONS: dict[str, tuple[list[bytes], int]] = {
    "an unmasked frame": ([frame(0x1, b"hi", mask=False)], 1002),
    "bad UTF-8 in a text frame": ([frame(0x1, b"\xff\xfe")], 1007),
    "bad UTF-8 across fragments": ([frame(0x1, b"\xe2\x82", fin=False), frame(0x0, b"x")], 1007),
    "a frame over --ws-max-size": ([frame(0x2, b"", length=3 * 1024 * 1024)], 1009),
    "a continuation with nothing to continue": ([frame(0x0, b"x")], 1002),
    "a fragmented ping": ([frame(0x9, b"p", fin=False)], 1002),
    "a reserved opcode": ([frame(0x3, b"")], 1002),
    "a close with a code no one may send": ([frame(0x8, struct.pack("!H", 999))], 1002),
}


@pytest.mark.parametrize("name", list(VIOLATIONS))
def test_protocol_violation_closes_with_the_code(servers: tuple[Server, Server], name: str) -> None:
    frames, code = VIOLATIONS[name]
    outcomes = []
    for server in servers:
        server.mark()
        head, after = _raw(server, HANDSHAKE.format(path="/wait").encode(), frames)
        assert head.startswith(b"HTTP/1.1 101 "), head
        closes = [payload for opcode, payload in server_frames(after) if opcode == 0x8]
        assert closes, f"{server.kind} sent no close frame: {after!r}"
        sent_code = struct.unpack("!H", closes[0][:2])[0]
        disconnect = server.wait_records(1)[0]["events"][-1]
        outcomes.append((sent_code, disconnect[1]["type"], disconnect[1]["code"]))
        assert server.alive()
    assert outcomes[1] == outcomes[0]
    assert outcomes[1][0] == code


def test_close_frame_without_a_code(servers: tuple[Server, Server]) -> None:
    outcomes = []
    for server in servers:
        server.mark()
        _, after = _raw(server, HANDSHAKE.format(path="/wait").encode(), [frame(0x8, b"")])
        disconnect = server.wait_records(1)[0]["events"][-1][1]
        outcomes.append((server_frames(after), disconnect))
    assert outcomes[1] == outcomes[0]
    assert outcomes[1][1] == {"type": "websocket.disconnect", "code": 1005, "reason": ""}


def test_ping_from_the_client_gets_a_pong(servers: tuple[Server, Server]) -> None:
    for server in servers:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(HANDSHAKE.format(path="/wait").encode())
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(4096)
            sock.sendall(frame(0x9, b"are you there"))
            reply = sock.recv(4096)
            assert server_frames(reply) == [(0xA, b"are you there")], server.kind
            sock.sendall(frame(0x8, struct.pack("!H", 1000)))


# --- Keepalive and shutdown ---------------------------------------------------------------------


def test_unanswered_pings_close_with_1011(tmp_path: Path) -> None:
    args = ["--ws-ping-interval", "0.2", "--ws-ping-timeout", "0.3"]
    outcomes = []
    for kind in KINDS:
        server = launch(kind, tmp_path / kind, app="websocket_apps:app", args=args)
        try:
            wait_ready(server)
            _, after = _raw(server, HANDSHAKE.format(path="/wait").encode(), timeout=5)
            opcodes = [opcode for opcode, _ in server_frames(after)]
            closes = [payload for opcode, payload in server_frames(after) if opcode == 0x8]
            disconnect = server.wait_records(1)[0]["events"][-1][1]
            outcomes.append((0x9 in opcodes, closes[0][:2] if closes else None, disconnect))
        finally:
            server.stop()
    assert outcomes[1] == outcomes[0]
    assert outcomes[1][1] == struct.pack("!H", 1011)


def test_shutdown_closes_with_1012(tmp_path: Path) -> None:
    outcomes = []
    for kind in KINDS:
        server = launch(kind, tmp_path / kind, app="websocket_apps:app")
        wait_ready(server)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(HANDSHAKE.format(path="/wait").encode())
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(4096)
            server.process.send_signal(signal.SIGTERM)
            after = _read_all(sock)
        code = server.wait_exit(15)
        disconnect = server.wait_records(1)[0]["events"][-1][1]
        outcomes.append((server_frames(after), disconnect))
        # uvicorn re-raises the signal once it has shut down (-15); tachyon exits 0, as the issue asks.
        assert code == (0 if kind == "tachyon" else -signal.SIGTERM)
    assert outcomes[1] == outcomes[0]
    assert outcomes[1][0] == [(0x8, struct.pack("!H", 1012))]


# --- Starlette's WebSocket end to end -------------------------------------------------------------


@pytest.fixture(scope="module")
def starlette_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    with running_pair(tmp_path_factory.mktemp("websocket-starlette"), app="websocket_apps:starlette_app") as pair:
        yield pair


STARLETTE_CONVERSATIONS: dict[str, tuple[str, list[Step], list[str] | None]] = {
    "chat": (
        "/chat",
        [("send", "hi"), ("recv",), ("send", "json"), ("recv",), ("send", "bytes"), ("recv",), ("close", 1000, "bye")],
        ["proto-a"],
    ),
    "the app closes": ("/chat", [("send", "close"), ("recv",)], None),
    "WebSocketException before accept": ("/forbidden", [], None),
    "send_denial_response": ("/denied", [], None),
    "close before accept": ("/closed-early", [], None),
    "no route": ("/nowhere", [], None),
}


@pytest.mark.parametrize("name", list(STARLETTE_CONVERSATIONS))
def test_starlette_websocket(starlette_servers: tuple[Server, Server], name: str) -> None:
    path, steps, subprotocols = STARLETTE_CONVERSATIONS[name]
    seen = []
    for server in starlette_servers:
        server.mark()
        seen.append(asyncio.run(_converse(server.port, path, steps, subprotocols)))
    assert seen[1] == seen[0]
    if name == "chat":
        records = [server.wait_records(1) for server in starlette_servers]
        assert records[1] == records[0] == [{"starlette": "disconnect", "code": 1000, "reason": "bye"}]


# --- wsproto as a strict peer -----------------------------------------------------------------


def _wsproto_conversation(server: Server, target: str, messages: Sequence[str | bytes]) -> list[Any]:
    """Drives one connection with wsproto's client (which refuses any frame or handshake that
    breaks RFC 6455): sends `messages` once accepted, closes with 1000 once each is echoed (unless
    the server closes first), and returns the events it saw, simplified."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.connection import ConnectionState
    from wsproto.events import (
        AcceptConnection,
        BytesMessage,
        CloseConnection,
        Ping,
        RejectConnection,
        RejectData,
        Request,
        TextMessage,
    )

    client = WSConnection(ConnectionType.CLIENT)
    seen: list[Any] = []
    echoed = 0
    partial: Any = None
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(client.send(Request(host="test", target=target, subprotocols=["p1"])))
        done = False
        while not done:
            data = sock.recv(65536)
            client.receive_data(data or None)
            for event in client.events():
                if isinstance(event, AcceptConnection):
                    seen.append(("accepted", event.subprotocol))
                    for message in messages:
                        event_out = (
                            TextMessage(data=message) if isinstance(message, str) else BytesMessage(data=message)
                        )
                        sock.sendall(client.send(event_out))
                elif isinstance(event, TextMessage | BytesMessage):
                    # A long message may come in parts: what is compared is the whole.
                    partial = partial + event.data if partial is not None else event.data
                    if event.message_finished:
                        seen.append(("message", partial))
                        partial = None
                        echoed += 1
                elif isinstance(event, Ping):
                    sock.sendall(client.send(event.response()))
                elif isinstance(event, CloseConnection):
                    seen.append(("close", event.code, event.reason))
                    if client.state is ConnectionState.REMOTE_CLOSING:
                        sock.sendall(client.send(event.response()))
                    done = True
                elif isinstance(event, RejectConnection):
                    seen.append(("rejected", event.status_code))
                    done = not event.has_body
                elif isinstance(event, RejectData):
                    seen.append(("rejected body", event.data))
                    done = event.body_finished
            if not data:
                seen.append(("eof",))
                done = True
            if not done and client.state is ConnectionState.OPEN and echoed == len(messages) and messages:
                sock.sendall(client.send(CloseConnection(code=1000, reason="enough")))
    return seen


@pytest.mark.parametrize(
    ("target", "messages"),
    [
        ("/echo?subprotocol=p1", ["text", b"\x00bytes", "é" * 300, b"x" * 70000]),
        ("/echo?close=4001&reason=bye", ["one"]),
        ("/refuse", []),
        ("/deny", []),
    ],
)
def test_wsproto_strict_peer(servers: tuple[Server, Server], target: str, messages: list[str | bytes]) -> None:
    uvicorn_events, events = (_wsproto_conversation(server, target, messages) for server in servers)
    assert events == uvicorn_events
    assert events


def test_ws_none_serves_a_handshake_as_plain_http(tmp_path: Path) -> None:
    answers = []
    for kind in KINDS:
        server = launch(kind, tmp_path / kind, app="websocket_apps:app", args=["--ws", "none"])
        try:
            wait_ready(server)
            head, body = _raw(
                server, HANDSHAKE.format(path="/echo").encode().replace(b"Host", b"Connection: close\r\nHost")
            )
            answers.append((head.split(b"\r\n")[0], body, "Unsupported upgrade request." in server.log()))
        finally:
            server.stop()
    assert answers[1] == answers[0]


@pytest.fixture(scope="module")
def fastapi_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    directory = tmp_path_factory.mktemp("websocket-fastapi")
    with running_pair(directory, ["--factory"], app="websocket_apps:fastapi_app") as pair:
        yield pair


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("/rooms/blue?tag=vip", [("send", '{"n": 1}'), ("recv",), ("send", "[1, 2]"), ("recv",), ("close", 1000, "")]),
        ("/rooms/red", [("send", '"text"'), ("recv",), ("close", 4000, "bye")]),
        ("/nowhere", []),
    ],
)
def test_fastapi_websocket(fastapi_servers: tuple[Server, Server], path: str, steps: list[Step]) -> None:
    seen = []
    for server in fastapi_servers:
        server.mark()
        seen.append(asyncio.run(_converse(server.port, path, steps, None)))
    assert seen[1] == seen[0]
    if path != "/nowhere":
        records = [server.wait_records(1) for server in fastapi_servers]
        assert records[1] == records[0]
