"""Files and event streams on the built-in server.

Files: the server offers `http.response.pathsend`, so Starlette's `FileResponse` names its file
and tokio sends it; uvicorn does not, so there Starlette reads the file itself. The bytes on the
wire must be the same (status, headers but `date` and `server`, body), for GET, HEAD, a range
(which Starlette never sends with pathsend) and a missing file. A raw app's `pathsend` fails in
its `send()` for a missing file or a length contradicting its Content-Length.

Event streams: each event reaches the client as the app sends it, not when more has piled up;
and a client that leaves is noticed by the app within a write or two, on both servers.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_support import Server, launch, parse_responses, running_pair, wait_ready
from streaming_apps import FILE_ENV


@pytest.fixture(scope="module")
def served_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("files") / "payload.bin"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    return path


@pytest.fixture(scope="module")
def file_servers(tmp_path_factory: pytest.TempPathFactory, served_file: Path) -> Iterator[tuple[Server, Server]]:
    env = {FILE_ENV: str(served_file)}
    with running_pair(tmp_path_factory.mktemp("file-servers"), app="streaming_apps:files_app", env=env) as pair:
        yield pair


def _request(server: Server, method: str, path: str, extra: str = "") -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nhost: x\r\n{extra}connection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(1 << 20):
            data += chunk
    response = parse_responses(data, [method], eof=True)[0][-1]
    headers = [(n.lower(), v) for n, v in response.headers if n.lower() not in (b"date", b"server")]
    return response.status, headers, response.body


@pytest.mark.parametrize(
    ("method", "path", "extra"),
    [
        ("GET", "/file", ""),
        ("HEAD", "/file", ""),
        ("GET", "/file", "range: bytes=100-2000\r\n"),
        ("GET", "/missing", ""),
    ],
)
def test_file_response_bytes_as_uvicorn_sends_them(
    file_servers: tuple[Server, Server], served_file: Path, method: str, path: str, extra: str
) -> None:
    theirs, ours = (_request(server, method, path, extra) for server in file_servers)
    assert ours == theirs
    if (method, path, extra) == ("GET", "/file", ""):
        assert ours[2] == served_file.read_bytes()


def test_pathsend_errors_reach_the_app(tmp_path: Path, served_file: Path) -> None:
    server = launch("tachyon", tmp_path, app="streaming_apps:pathsend_app", env={FILE_ENV: str(served_file)})
    try:
        wait_ready(server)
        status, _, body = _request(server, "GET", "/ok")
        assert (status, body) == (200, served_file.read_bytes())
        assert server.wait_records(1)[-1] == {"raised": None}
        for path, raised in (("/absent", "FileNotFoundError"), ("/longer", "RuntimeError")):
            server.mark()
            try:
                _request(server, "GET", path)
            except (IndexError, ValueError, ConnectionError):
                pass  # the head went out, then the connection closed
            assert server.wait_records(1)[-1]["raised"] == raised
        assert server.alive()
    finally:
        server.stop()


def _first_event_delay(server: Server) -> tuple[float, bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        start = time.monotonic()
        sock.sendall(b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
        data = b""
        while b"data: event 0" not in data:
            data += sock.recv(65536)
        return time.monotonic() - start, data


def test_events_arrive_one_by_one_and_a_leaving_client_is_noticed(tmp_path: Path, served_file: Path) -> None:
    outcomes = []
    with running_pair(tmp_path, app="streaming_apps:events_app", env={FILE_ENV: str(served_file)}) as pair:
        for server in pair:
            server.mark()
            delay, data = _first_event_delay(server)
            # The first event, alone: the second is 0.1 s behind it.
            assert delay < 0.09, (server.kind, delay)
            assert b"event 1" not in data
            record = server.wait_records(1, timeout=10)[0]
            outcomes.append((server.kind, record))
    for kind, record in outcomes:
        assert record["how"] in ("receive", "send"), (kind, record)
        assert record["sent"] <= 4, (kind, record)


def test_trailers_over_http1_and_http2(tmp_path: Path, served_file: Path) -> None:
    import h2.config
    import h2.connection
    import h2.events

    server = launch("tachyon", tmp_path, app="streaming_apps:trailers_app", env={FILE_ENV: str(served_file)})
    try:
        wait_ready(server)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nhost: x\r\nte: trailers\r\nconnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        response = parse_responses(data, ["GET"], eof=True)[0][-1]
        assert response.body == b"first second"
        assert response.trailers == [(b"x-checksum", b"abc123"), (b"x-count", b"2")]

        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
            conn.initiate_connection()
            request = [(b":method", b"GET"), (b":path", b"/"), (b":scheme", b"http"), (b":authority", b"x")]
            conn.send_headers(1, [*request, (b"te", b"trailers")], end_stream=True)
            sock.sendall(conn.data_to_send())
            body, trailers, ended = b"", None, False
            while not ended:
                for event in conn.receive_data(sock.recv(65536)):
                    if isinstance(event, h2.events.DataReceived):
                        body += event.data
                        conn.acknowledge_received_data(event.flow_controlled_length, 1)
                    elif isinstance(event, h2.events.TrailersReceived):
                        trailers = [(bytes(n), bytes(v)) for n, v in event.headers]
                    elif isinstance(event, h2.events.StreamEnded):
                        ended = True
                sock.sendall(conn.data_to_send())
        assert body == b"first second"
        assert trailers == [(b"x-checksum", b"abc123"), (b"x-count", b"2")]
    finally:
        server.stop()
