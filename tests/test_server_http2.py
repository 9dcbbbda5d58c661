"""HTTP/2 on the built-in server, through real peers: the `h2` library (a strict client: it
refuses frames or headers that break RFC 9113) and `curl --http2-prior-knowledge`.

uvicorn has no HTTP/2, so the reference is the same server over HTTP/1.1: every request is sent
both ways, and the app must see the same scope (but `http_version`) and the same messages, and
the client the same status, headers (but the framing ones) and body. A stream the client resets
reaches the app as `http.disconnect`, as a closed HTTP/1.1 connection does.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from server_support import Server, launch, parse_responses, start_server, wait_ready

# Headers that frame the message (HTTP/1.1's) or that a server adds: not compared.
FRAMING = {b"content-length", b"transfer-encoding", b"connection", b"date", b"server", b"keep-alive"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server("tachyon", tmp_path_factory.mktemp("http2"))
    yield running
    running.stop()


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    reset: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)

    def comparable(self) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return self.status, [(n.lower(), v) for n, v in self.headers if n.lower() not in FRAMING], self.body


class H2Client:
    """One HTTP/2 connection (prior knowledge) driven by the `h2` library over a socket."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())

    def close(self) -> None:
        try:
            self.conn.close_connection()
            self.sock.sendall(self.conn.data_to_send())
        except (OSError, h2.exceptions.ProtocolError):
            pass  # the server already closed the connection
        finally:
            self.sock.close()

    def start(self, method: str, path: str, headers: Sequence[tuple[bytes, bytes]], end_stream: bool) -> int:
        stream = int(self.conn.get_next_available_stream_id())
        request = [
            (b":method", method.encode()),
            (b":path", path.encode()),
            (b":scheme", b"http"),
            (b":authority", f"127.0.0.1:{self.port}".encode()),
            *headers,
        ]
        self.conn.send_headers(stream, request, end_stream=end_stream)
        self.sock.sendall(self.conn.data_to_send())
        return stream

    def send_body(self, stream: int, body: bytes) -> None:
        """Sends the body as flow control allows, reading what the server sends meanwhile."""
        while body:
            window = min(self.conn.local_flow_control_window(stream), self.conn.max_outbound_frame_size)
            if window <= 0:
                self._pump()
                continue
            chunk, body = body[:window], body[window:]
            self.conn.send_data(stream, chunk, end_stream=not body)
            self.sock.sendall(self.conn.data_to_send())

    def _pump(self) -> list[h2.events.Event]:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        events = self.conn.receive_data(data)
        for event in events:
            if isinstance(event, h2.events.DataReceived):
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        self.sock.sendall(self.conn.data_to_send())
        return list(events)

    def answers(self, streams: Sequence[int], *, reset_after_headers: bool = False) -> dict[int, Answer]:
        """Reads until every stream has ended (or been reset)."""
        answers: dict[int, Answer] = {}
        open_streams = set(streams)
        while open_streams:
            for event in self._pump():
                stream = getattr(event, "stream_id", None)
                if isinstance(event, h2.events.ResponseReceived):
                    headers = [(bytes(n), bytes(v)) for n, v in event.headers]
                    status = int(dict(headers)[b":status"])
                    answers[event.stream_id] = Answer(status, [h for h in headers if not h[0].startswith(b":")], b"")
                    if reset_after_headers:
                        self.conn.reset_stream(event.stream_id)
                        self.sock.sendall(self.conn.data_to_send())
                        answers[event.stream_id].reset = True
                        open_streams.discard(event.stream_id)
                elif isinstance(event, h2.events.DataReceived) and stream in answers:
                    answers[stream].body += event.data
                elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    if isinstance(event, h2.events.StreamReset) and stream in answers:
                        answers[stream].reset = True
                    open_streams.discard(stream)
        return answers


def over_h2(
    server: Server, method: str, path: str, headers: Sequence[tuple[bytes, bytes]], body: bytes | None
) -> Answer:
    client = H2Client(server.port)
    try:
        stream = client.start(method, path, headers, end_stream=not body)
        if body:
            client.send_body(stream, body)
        return client.answers([stream])[stream]
    finally:
        client.close()


def over_h1(
    server: Server, method: str, path: str, headers: Sequence[tuple[bytes, bytes]], body: bytes | None
) -> Answer:
    lines = [f"{method} {path} HTTP/1.1".encode(), f"host: 127.0.0.1:{server.port}".encode()]
    lines += [name + b": " + value for name, value in headers]
    lines.append(b"connection: close")
    request = b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    responses, _ = parse_responses(data, [method], eof=True)
    response = responses[-1]
    return Answer(response.status, response.headers, response.body)


def both(
    server: Server, method: str, path: str, headers: Sequence[tuple[bytes, bytes]] = (), body: bytes | None = None
) -> tuple[Answer, Answer]:
    answers = []
    for send in (over_h1, over_h2):
        server.mark()
        answer = send(server, method, path, headers, body)
        answer.records = server.wait_records(1)
        answers.append(answer)
    return answers[0], answers[1]


def _scope_without_version(record: dict[str, Any]) -> dict[str, Any]:
    scope = dict(record["scope"])
    scope.pop("http_version")
    scope.pop("client")
    # HTTP/1.1 sent `connection: close` (HTTP/2 has no such header).
    scope["headers"] = [h for h in scope["headers"] if h["tuple"][0] != {"bytes": "connection"}]
    return {**record, "scope": scope}


BEHAVIOURS = ["ok", "stream", "stream-empty", "unsized", "204", "304", "duplicates"]


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_same_answer_as_http1(server: Server, behaviour: str) -> None:
    h1, h2_answer = both(server, "GET", "/some/path?q=1", [(b"x-app", behaviour.encode())])
    assert h2_answer.comparable() == h1.comparable()
    assert [_scope_without_version(r) for r in h2_answer.records] == [_scope_without_version(r) for r in h1.records]
    assert h2_answer.records[0]["scope"]["http_version"] == "2"
    assert h1.records[0]["scope"]["http_version"] == "1.1"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    path=st.sampled_from(["/", "/a%20b", "/caf%C3%A9/x", "/deep/er/path"]),
    query=st.sampled_from(["", "?a=1", "?x=%20y&z"]),
    body=st.one_of(st.none(), st.binary(max_size=300_000)),
    extra=st.lists(
        st.tuples(
            st.sampled_from([b"x-one", b"x-two", b"cookie", b"accept"]),
            st.binary(min_size=1, max_size=20).map(lambda b: b.hex().encode()),
        ),
        max_size=4,
    ),
)
def test_generated_requests_match_http1(
    server: Server, method: str, path: str, query: str, body: bytes | None, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = list(extra)
    if body is not None:
        headers.append((b"content-length", str(len(body)).encode()))
    h1, h2_answer = both(server, method, path + query, headers, body)
    assert h2_answer.comparable() == h1.comparable()
    assert [_scope_without_version(r) for r in h2_answer.records] == [_scope_without_version(r) for r in h1.records]


def test_concurrent_streams_on_one_connection(server: Server) -> None:
    client = H2Client(server.port)
    try:
        streams = [client.start("GET", f"/stream/{i}", [(b"x-app", b"stream")], end_stream=True) for i in range(20)]
        answers = client.answers(streams)
    finally:
        client.close()
    assert sorted(answers) == sorted(streams)
    assert {answer.body for answer in answers.values()} == {b"part 0;part 1;part 2;part 3;end"}


@pytest.mark.parametrize("declared", [2000, 100_000], ids=["read ahead", "pumped"])
def test_a_reset_stream_is_a_disconnect(server: Server, declared: int) -> None:
    """The client sends part of a body, then resets the stream (with NO_ERROR, which hyper takes
    for the end of the body): the app gets `http.disconnect`, not a short body."""
    client = H2Client(server.port)
    try:
        server.mark()
        stream = client.start("POST", "/upload", [(b"content-length", str(declared).encode())], end_stream=False)
        client.conn.send_data(stream, b"x" * 1000)
        client.sock.sendall(client.conn.data_to_send())
        client.conn.reset_stream(stream)
        client.sock.sendall(client.conn.data_to_send())
        record = server.wait_records(1)[0]
    finally:
        client.close()
    # What arrived may or may not reach the app before the reset does (hyper stops reading the
    # stream); it never looks like a complete body.
    messages = record["messages"]
    assert messages[-1] == {"type": "http.disconnect"}
    assert all(m["type"] == "http.request" and m["more_body"] for m in messages[:-1])
    assert set(record["body"]["bytes"]) <= {"x"}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_prior_knowledge(server: Server) -> None:
    result = subprocess.run(
        ["curl", "-s", "-i", "--http2-prior-knowledge", f"http://127.0.0.1:{server.port}/curl?x=1"],
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert result.stdout.startswith(b"HTTP/2 200")
    assert b'"path": "/curl"' in result.stdout


def test_http_1_refuses_the_preface_and_http_2_refuses_http1(tmp_path: Path) -> None:
    only_h1 = launch("tachyon", tmp_path / "h1", args=["--http", "1"])
    only_h2 = launch("tachyon", tmp_path / "h2", args=["--http", "2"])
    try:
        wait_ready(only_h1)
        wait_ready(only_h2)
        with pytest.raises(ConnectionError):
            over_h2(only_h1, "GET", "/", [], None)
        assert over_h1(only_h1, "GET", "/", [], None).status == 200
        assert over_h2(only_h2, "GET", "/", [], None).status == 200
        with socket.create_connection(("127.0.0.1", only_h2.port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            assert not sock.recv(65536).startswith(b"HTTP/1.1")
    finally:
        only_h1.stop()
        only_h2.stop()


def test_shutdown_sends_goaway_and_exits_0(tmp_path: Path) -> None:
    server = launch("tachyon", tmp_path)
    try:
        wait_ready(server)
        client = H2Client(server.port)
        stream = client.start("GET", "/before-shutdown", [], end_stream=True)
        assert client.answers([stream])[stream].status == 200
        server.signal(signal.SIGTERM)
        # Read to the end, then look for a GOAWAY frame (type 7) in what came.
        data = b""
        while chunk := client.sock.recv(65536):
            data += chunk
        client.sock.close()
        types = []
        while len(data) >= 9:
            length = int.from_bytes(data[:3], "big")
            types.append(data[3])
            data = data[9 + length :]
        assert 7 in types, f"no GOAWAY before the connection closed: frame types {types}"
        assert server.wait_exit(15) == 0
    finally:
        server.stop()
