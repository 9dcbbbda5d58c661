"""Malformed requests to tachyon's server: each must never reach the app (the recording app of
`server_apps.py` records nothing for it), must get a 4xx response or none, with the connection
closed, and must not let a second request written after it on the same connection be served
(request smuggling); the server must keep serving afterwards.

A request whose head is well formed but whose chunked body is not may reach the app, which must
then see the client leave (`http.disconnect`) rather than a complete body.

When a case fails, the message also shows what uvicorn (`--http httptools`) does with the same
bytes, for reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from server_support import Connection, Response, Server, exchange, request, running_pair

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: example.test\r\n\r\n"
READ_TIMEOUT = 3.0


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """tachyon under test, and uvicorn for the failure messages."""
    with running_pair(tmp_path_factory.mktemp("malformed")) as (uvicorn, tachyon):
        yield {"tachyon": tachyon, "uvicorn": uvicorn}


def head(*lines: bytes) -> bytes:
    return b"".join(line + b"\r\n" for line in lines) + b"\r\n"


HOST = b"Host: example.test"
POST = b"POST /upload HTTP/1.1"

# Requests hyper reads by a rule of RFC 9112 where uvicorn (httptools) refuses them; documented in
# the README ("Known differences from uvicorn"). Each is still unambiguous, so nothing is smuggled.
#
# Content-Length with Transfer-Encoding: the chunked framing wins and the connection closes after
# the response (RFC 9112 6.3, rule 3).
LENGTH_AND_CHUNKED: dict[str, bytes] = {
    "content-length-and-chunked": head(POST, HOST, b"Content-Length: 5", b"Transfer-Encoding: chunked") + b"0\r\n\r\n",
    "chunked-and-content-length": head(POST, HOST, b"Transfer-Encoding: chunked", b"Content-Length: 48") + b"0\r\n\r\n",
    "content-length-and-chunked-smuggle-body": head(
        POST, HOST, b"Content-Length: %d" % (5 + len(SMUGGLED)), b"Transfer-Encoding: chunked"
    )
    + b"0\r\n\r\n",
}
# A bare LF as a line terminator (RFC 9112 2.2 allows it): the request is read as its CRLF twin.
BARE_LF: dict[str, bytes] = {
    "bare-lf-line-endings": b"GET / HTTP/1.1\nHost: example.test\n\n",
    "bare-lf-in-one-header-line": b"GET / HTTP/1.1\r\nHost: example.test\nX-A: b\r\n\r\n",
    "bare-lf-after-request-line": b"GET / HTTP/1.1\nHost: example.test\r\n\r\n",
}


# Requests whose head is malformed or whose framing is ambiguous: the app must never see them.
HEAD_CASES: dict[str, bytes] = {
    "two-different-content-lengths": head(POST, HOST, b"Content-Length: 5", b"Content-Length: 6") + b"hello",
    "content-length-list": head(POST, HOST, b"Content-Length: 5, 6") + b"hello",
    "content-length-plus-sign": head(POST, HOST, b"Content-Length: +5") + b"hello",
    "content-length-minus-sign": head(POST, HOST, b"Content-Length: -5") + b"hello",
    "content-length-not-a-number": head(POST, HOST, b"Content-Length: abc") + b"hello",
    "content-length-trailing-letter": head(POST, HOST, b"Content-Length: 5x") + b"hello",
    "content-length-hex": head(POST, HOST, b"Content-Length: 0x5") + b"hello",
    "content-length-inner-space": head(POST, HOST, b"Content-Length: 5 5") + b"hello",
    "content-length-empty": head(POST, HOST, b"Content-Length: ") + b"hello",
    "content-length-overflow": head(POST, HOST, b"Content-Length: 99999999999999999999999999") + b"hello",
    "transfer-encoding-not-chunked": head(POST, HOST, b"Transfer-Encoding: gzip") + b"hello",
    "transfer-encoding-chunked-not-last": head(POST, HOST, b"Transfer-Encoding: chunked, gzip")
    + b"5\r\nhello\r\n0\r\n\r\n",
    "transfer-encoding-unknown": head(POST, HOST, b"Transfer-Encoding: xchunked") + b"5\r\nhello\r\n0\r\n\r\n",
    "bare-cr-line-ending": b"GET / HTTP/1.1\rHost: example.test\r\n\r\n",
    "obs-fold": head(b"GET / HTTP/1.1", HOST, b"X-Folded: first", b" second"),
    "obs-fold-tab": head(b"GET / HTTP/1.1", HOST, b"X-Folded: first", b"\tsecond"),
    "whitespace-before-first-header": head(b"GET / HTTP/1.1", b" X-A: b", HOST),
    "space-before-colon": head(b"GET / HTTP/1.1", HOST, b"X-A : b"),
    "space-before-colon-content-length": head(POST, HOST, b"Content-Length : 5") + b"hello",
    "tab-before-colon": head(b"GET / HTTP/1.1", HOST, b"X-A\t: b"),
    "nul-in-header-value": head(b"GET / HTTP/1.1", HOST, b"X-A: a\x00b"),
    "cr-in-header-value": head(b"GET / HTTP/1.1", HOST, b"X-A: a\rb"),
    "control-character-in-header-value": head(b"GET / HTTP/1.1", HOST, b"X-A: a\x01b"),
    "nul-in-header-name": head(b"GET / HTTP/1.1", HOST, b"X-\x00A: b"),
    "empty-header-name": head(b"GET / HTTP/1.1", HOST, b": b"),
    "header-without-colon": head(b"GET / HTTP/1.1", HOST, b"X-A b"),
    "invalid-method-character": head(b"G@T / HTTP/1.1", HOST),
    "method-with-nul": head(b"GE\x00T / HTTP/1.1", HOST),
    "empty-method": head(b" / HTTP/1.1", HOST),
    "lowercase-protocol-name": head(b"GET / http/1.1", HOST),
    "version-with-garbage": head(b"GET / HTTP/1.1x", HOST),
    "version-without-minor": head(b"GET / HTTP/1", HOST),
    "version-major-3": head(b"GET / HTTP/3.0", HOST),
    "not-http": head(b"GET / FOO/1.1", HOST),
    "missing-version": b"GET /\r\n\r\n",
    "space-in-target": head(b"GET /a b HTTP/1.1", HOST),
    "nul-in-target": head(b"GET /a\x00b HTTP/1.1", HOST),
    "one-mebibyte-header": head(b"GET / HTTP/1.1", HOST, b"X-Big: " + b"a" * (1 << 20)),
    "one-mebibyte-of-headers": head(b"GET / HTTP/1.1", HOST, *(b"X-H%d: %s" % (i, b"b" * 1000) for i in range(1024))),
    "too-many-headers": head(b"GET / HTTP/1.1", HOST, *(b"X-H%d: v" % i for i in range(1000))),
}

# Well-formed heads with a malformed chunked body: the app may start, but must never get the
# body as complete.
BODY_CASES: dict[str, bytes] = {
    "chunk-size-not-hex": head(POST, HOST, b"Transfer-Encoding: chunked") + b"zz\r\nhello\r\n0\r\n\r\n",
    "chunk-size-negative": head(POST, HOST, b"Transfer-Encoding: chunked") + b"-5\r\nhello\r\n0\r\n\r\n",
    "chunk-size-0x-prefix": head(POST, HOST, b"Transfer-Encoding: chunked") + b"0x5\r\nhello\r\n0\r\n\r\n",
    "chunk-size-plus-sign": head(POST, HOST, b"Transfer-Encoding: chunked") + b"+5\r\nhello\r\n0\r\n\r\n",
    "chunk-size-empty": head(POST, HOST, b"Transfer-Encoding: chunked") + b"\r\nhello\r\n0\r\n\r\n",
    "chunk-size-inner-space": head(POST, HOST, b"Transfer-Encoding: chunked") + b"5 5\r\nhello\r\n0\r\n\r\n",
    "chunk-size-overflow": head(POST, HOST, b"Transfer-Encoding: chunked")
    + b"fffffffffffffffff5\r\nhello\r\n0\r\n\r\n",
    "chunk-data-longer-than-size": head(POST, HOST, b"Transfer-Encoding: chunked") + b"3\r\nhello\r\n0\r\n\r\n",
    "chunk-bare-lf": head(POST, HOST, b"Transfer-Encoding: chunked") + b"5\nhello\n0\n\n",
    "chunk-size-nul": head(POST, HOST, b"Transfer-Encoding: chunked") + b"5\x00\r\nhello\r\n0\r\n\r\n",
}


@dataclass
class Outcome:
    responses: list[Response]
    raw: bytes
    closed: bool
    records: list[dict[str, Any]]


def _send(server: Server, data: bytes, wait: float = 0.0) -> Outcome:
    server.mark()
    with Connection(server.port, timeout=READ_TIMEOUT) as connection:
        connection.send(data)
        closed = connection.read_until_close(READ_TIMEOUT)
        responses, _ = connection.parsed(["POST", "GET", "GET"])
        raw = bytes(connection.received)
    return Outcome(responses, raw, closed, server.wait_records(1, timeout=wait))


def _paths(records: list[dict[str, Any]]) -> list[str]:
    return [r["scope"]["path"] for r in records if r.get("event") == "request"]


def _problems(outcome: Outcome, body_case: bool) -> list[str]:
    problems = []
    finals = [r for r in outcome.responses if not r.interim]
    if any(not 400 <= r.status < 500 for r in finals):
        problems.append(f"answered with {[r.status for r in finals]} (a 4xx or nothing expected)")
    if len(finals) > 1:
        problems.append(f"answered {len(finals)} requests on one connection")
    if not outcome.closed:
        problems.append(f"kept the connection open for {READ_TIMEOUT} s")
    requests = [r for r in outcome.records if r.get("event") == "request"]
    if "/smuggled" in _paths(requests):
        problems.append("served the request written after the malformed one (smuggled)")
    for record in requests:
        if record["scope"]["path"] == "/smuggled":
            continue
        last = record["messages"][-1] if record["messages"] else {}
        if not body_case:
            problems.append(f"the app saw the malformed request: {record['scope']!r}")
        elif last.get("type") != "http.disconnect":
            problems.append(f"the app received the malformed body as complete: {record['messages']!r}")
    return problems


def _describe(name: str, data: bytes, ours: Outcome, theirs: Outcome) -> str:
    shown = data if len(data) < 600 else data[:300] + b"..." + data[-200:]
    return (
        f"\n{name}: request bytes {shown!r} (then {SMUGGLED!r})"
        f"\ntachyon: {ours.raw[:600]!r} closed={ours.closed} app saw {_paths(ours.records)}"
        f"\nuvicorn: {theirs.raw[:600]!r} closed={theirs.closed} app saw {_paths(theirs.records)}"
    )


def _check(servers: dict[str, Server], name: str, data: bytes, body_case: bool) -> None:
    tachyon = servers["tachyon"]
    ours = _send(tachyon, data + SMUGGLED)
    # The server keeps serving; what the app saw of the malformed exchange is recorded by the time
    # the next request is answered.
    sentinel = request(tachyon.port, f"/after-{name}")
    assert sentinel.status == 200
    assert tachyon.alive()
    ours.records += [r for r in tachyon.new_records() if r.get("scope", {}).get("path") != f"/after-{name}"]
    problems = _problems(ours, body_case)
    if problems:
        theirs = _send(servers["uvicorn"], data + SMUGGLED, wait=0.3)
        pytest.fail("; ".join(problems) + _describe(name, data, ours, theirs))


@pytest.mark.parametrize("name", list(HEAD_CASES))
def test_malformed_head(servers: dict[str, Server], name: str) -> None:
    _check(servers, name, HEAD_CASES[name], body_case=False)


@pytest.mark.parametrize("name", list(BODY_CASES))
def test_malformed_chunked_body(servers: dict[str, Server], name: str) -> None:
    _check(servers, name, BODY_CASES[name], body_case=True)


def test_malformed_request_after_a_good_one(servers: dict[str, Server]) -> None:
    """On a keep-alive connection: the good request is served, the malformed one after it is not,
    and neither is the request after that."""
    tachyon = servers["tachyon"]
    good = head(b"GET /good HTTP/1.1", HOST)
    data = good + HEAD_CASES["two-different-content-lengths"] + SMUGGLED
    ours = _send(tachyon, data, wait=0.3)
    finals = [r for r in ours.responses if not r.interim]
    paths = _paths(ours.records)
    theirs = _send(servers["uvicorn"], data, wait=0.3) if paths != ["/good"] or not ours.closed else ours
    description = _describe("good-then-malformed", data, ours, theirs)
    assert paths == ["/good"], description
    assert finals and finals[0].status == 200, description
    assert all(400 <= r.status < 500 for r in finals[1:]), description
    assert len(finals) <= 2 and ours.closed, description
    assert request(tachyon.port, "/after").status == 200


def test_bad_request_response_is_well_formed(servers: dict[str, Server]) -> None:
    """A 400 is a complete HTTP/1.1 response with a length, and the connection closes."""
    ours = _send(servers["tachyon"], head(b"G@T / HTTP/1.1", HOST))
    finals = [r for r in ours.responses if not r.interim]
    assert len(finals) == 1 and finals[0].complete, ours.raw
    response = finals[0]
    assert response.version == b"HTTP/1.1" and response.status == 400, ours.raw
    assert response.framing in ("length", "chunked"), ours.raw
    assert ours.closed


@pytest.mark.parametrize("name", ["invalid-method-character", "two-different-content-lengths", "obs-fold"])
def test_bad_request_response_is_hypers(servers: dict[str, Server], name: str) -> None:
    """Where both servers refuse a request head, ours answers hyper's own 400 (empty, with
    `connection: close`; uvicorn words it "Invalid HTTP request received.") and closes."""
    data = HEAD_CASES[name]
    ours, theirs = (
        exchange(servers[kind].port, data, ["GET"], timeout=READ_TIMEOUT) for kind in ("tachyon", "uvicorn")
    )
    assert [r.status for r in theirs.finals] == [400], theirs.raw
    assert [r.status for r in ours.finals] == [400], ours.raw
    response = ours.finals[0]
    assert dict((n.lower(), v) for n, v in response.headers) == {b"connection": b"close", b"content-length": b"0"}


@pytest.mark.parametrize("name", list(LENGTH_AND_CHUNKED))
def test_length_and_chunked_is_read_as_chunked_then_closed(servers: dict[str, Server], name: str) -> None:
    tachyon = servers["tachyon"]
    ours = _send(tachyon, LENGTH_AND_CHUNKED[name] + SMUGGLED, wait=0.3)
    finals = [r for r in ours.responses if not r.interim]
    assert [r.status for r in finals] == [200], ours.raw
    assert (b"connection", b"close") in [(n.lower(), v) for n, v in finals[0].headers], ours.raw
    assert ours.closed, ours.raw
    requests = [r for r in ours.records if r.get("event") == "request"]
    assert _paths(requests) == ["/upload"], "the request after it was served (smuggled)"
    assert requests[0]["body"] == {"bytes": ""}, "the body is the chunked one (empty), not Content-Length's"
    assert request(tachyon.port, "/after").status == 200


@pytest.mark.parametrize("name", list(BARE_LF))
def test_bare_lf_is_a_line_ending(servers: dict[str, Server], name: str) -> None:
    tachyon = servers["tachyon"]
    ours = _send(tachyon, BARE_LF[name] + SMUGGLED, wait=0.3)
    finals = [r for r in ours.responses if not r.interim]
    # Two well-framed requests, pipelined: both answered, in order, on the one connection.
    assert [r.status for r in finals] == [200, 200], ours.raw
    assert _paths([r for r in ours.records if r.get("event") == "request"]) == ["/", "/smuggled"]
