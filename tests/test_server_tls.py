"""TLS on the built-in server (rustls), compared with uvicorn (Python's `ssl`) on the same
throwaway certificates (made by `openssl` for each session): https requests through Python's own
TLS client, wss through the `websockets` client, HTTP/2 chosen by ALPN (the `h2` library and
curl), an encrypted key, client certificates optional and required, and a broken certificate.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import pytest
import websockets
from server_support import Server, launch, parse_responses, running_pair

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
PASSWORD = "correct horse"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 it signed (with a plain and an encrypted key), and
    a client certificate it signed."""
    where = tmp_path_factory.mktemp("certificates")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=tachyon test CA", cwd=where)  # fmt: skip
    for name, extension in (
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        (where / f"{name}.ext").write_text(extension + "\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=where)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=where)  # fmt: skip
    _openssl("pkcs8", "-topk8", "-in", "server.key", "-out", "server-encrypted.key", "-v2", "aes256",
             "-passout", f"pass:{PASSWORD}", cwd=where)  # fmt: skip
    return where


def _tls_args(certificates: Path, *extra: str) -> list[str]:
    return [
        "--ssl-certfile",
        str(certificates / "server.pem"),
        "--ssl-keyfile",
        str(certificates / "server.key"),
        *extra,
    ]


@pytest.fixture(scope="module")
def servers(certificates: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    with running_pair(tmp_path_factory.mktemp("tls"), _tls_args(certificates)) as pair:
        yield pair


def _context(certificates: Path, *, client_cert: bool = False, alpn: list[str] | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    if client_cert:
        context.load_cert_chain(str(certificates / "client.pem"), str(certificates / "client.key"))
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


def _https(server: Server, context: ssl.SSLContext, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            sock.sendall(request)
            data = b""
            while True:
                try:
                    chunk = sock.recv(65536)
                except ssl.SSLZeroReturnError:
                    break
                if not chunk:
                    break
                data += chunk
    return data


def _comparable(data: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    responses, _ = parse_responses(data, ["GET"], eof=True)
    response = responses[-1]
    headers = [(n.lower(), v) for n, v in response.headers if n.lower() not in (b"date", b"server")]
    return response.status, headers, response.body


REQUEST = b"GET /secure/path?x=1 HTTP/1.1\r\nhost: 127.0.0.1\r\nx-app: ok\r\nconnection: close\r\n\r\n"


def test_https_as_uvicorn_serves_it(servers: tuple[Server, Server], certificates: Path) -> None:
    observed = []
    for server in servers:
        server.mark()
        answer = _comparable(_https(server, _context(certificates), REQUEST))
        scope = server.wait_records(1)[0]["scope"]
        scope.pop("client")
        scope.pop("server")
        # Documented differences (README): spec 2.4 here, 2.3 there; the extensions advertised.
        scope.pop("asgi")
        scope.pop("extensions", None)
        observed.append((answer, scope))
    assert observed[1] == observed[0]
    assert observed[1][1]["scheme"] == "https"


def test_wss(certificates: Path, tmp_path: Path) -> None:
    async def talk(port: int) -> tuple[Any, ...]:
        async with websockets.connect(
            f"wss://127.0.0.1:{port}/echo", ssl=_context(certificates), compression=None
        ) as ws:
            await ws.send("over TLS")
            return (await ws.recv(),)

    seen = []
    with running_pair(tmp_path, _tls_args(certificates), app="websocket_apps:app") as pair:
        for each in pair:
            each.mark()
            seen.append((asyncio.run(talk(each.port)), each.wait_records(1)[0]["scope"]["scheme"]))
    assert seen[1] == seen[0] == (("over TLS",), "wss")


def test_alpn_chooses_http2(servers: tuple[Server, Server], certificates: Path) -> None:
    ours = servers[1]
    with socket.create_connection(("127.0.0.1", ours.port), timeout=10) as raw:
        with _context(certificates, alpn=["h2", "http/1.1"]).wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            assert sock.selected_alpn_protocol() == "h2"
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
            conn.initiate_connection()
            conn.send_headers(
                1,
                [(b":method", b"GET"), (b":path", b"/over-h2"), (b":scheme", b"https"), (b":authority", b"127.0.0.1")],
                end_stream=True,
            )
            sock.sendall(conn.data_to_send())
            status, body, ended = None, b"", False
            while not ended:
                for event in conn.receive_data(sock.recv(65536)):
                    if isinstance(event, h2.events.ResponseReceived):
                        status = dict(event.headers)[b":status"]
                    elif isinstance(event, h2.events.DataReceived):
                        body += event.data
                    elif isinstance(event, h2.events.StreamEnded):
                        ended = True
                sock.sendall(conn.data_to_send())
    assert status == b"200"
    assert b'"path": "/over-h2"' in body
    # uvicorn offers no ALPN: Python's client gets no protocol and speaks HTTP/1.1.
    with socket.create_connection(("127.0.0.1", servers[0].port), timeout=10) as raw:
        with _context(certificates, alpn=["h2", "http/1.1"]).wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            assert sock.selected_alpn_protocol() is None


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_http2_over_tls(servers: tuple[Server, Server], certificates: Path) -> None:
    result = subprocess.run(
        [
            "curl",
            "-s",
            "-i",
            "--http2",
            "--cacert",
            str(certificates / "ca.pem"),
            f"https://127.0.0.1:{servers[1].port}/c",
        ],
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert result.stdout.startswith(b"HTTP/2 200")


def test_an_encrypted_key_with_its_password(certificates: Path, tmp_path: Path) -> None:
    args = [
        "--ssl-certfile", str(certificates / "server.pem"),
        "--ssl-keyfile", str(certificates / "server-encrypted.key"),
        "--ssl-keyfile-password", PASSWORD,
    ]  # fmt: skip
    with running_pair(tmp_path, args) as pair:
        answers = [_comparable(_https(server, _context(certificates), REQUEST))[0] for server in pair]
        assert answers == [200, 200]


@pytest.mark.parametrize("reqs", [1, 2])
def test_client_certificates(certificates: Path, tmp_path: Path, reqs: int) -> None:
    args = _tls_args(certificates, "--ssl-cert-reqs", str(reqs), "--ssl-ca-certs", str(certificates / "ca.pem"))
    outcomes = []
    with running_pair(tmp_path, args) as pair:
        for server in pair:
            with_cert = _comparable(_https(server, _context(certificates, client_cert=True), REQUEST))[0]
            try:
                without: Any = _comparable(_https(server, _context(certificates), REQUEST))[0]
            except (ssl.SSLError, ConnectionResetError, BrokenPipeError, IndexError):
                without = "refused"
            outcomes.append((with_cert, without))
    assert outcomes[1] == outcomes[0]
    assert outcomes[1] == ((200, "refused") if reqs == 2 else (200, 200))


def test_a_broken_certificate_stops_the_server(certificates: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    server = launch(
        "tachyon", tmp_path, args=["--ssl-certfile", str(broken), "--ssl-keyfile", str(certificates / "server.key")]
    )
    code = server.wait_exit(30)
    assert code == 1
    assert "Cannot set up TLS" in server.log()
