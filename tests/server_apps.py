"""ASGI apps the server tests run under tachyon's server and under uvicorn (`server_apps:app` and
friends, imported by the server subprocess through `--app-dir tests`).

`app` records every HTTP request it sees: one JSON line per request, appended to the file named by
the `SERVER_TEST_RECORD` environment variable, holding the scope as the app saw it on entry (typed:
see `encode`), every message `receive()` returned, and the body they carried. It writes the record
before it answers, so a client that has read the response can read the record. What it answers
is chosen by the request's `x-app` header (`BEHAVIOURS`); without one it answers 200 with a small
JSON body. It also speaks the lifespan protocol, storing `{"started": "yes"}` in the lifespan
state, so every request's `scope["state"]` carries it.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

RECORD_ENV = "SERVER_TEST_RECORD"
LIFESPAN_STATE = {"started": "yes"}
LIFESPAN_FAILURE = "the database is unreachable (lifespan failure 7f3a)"


def encode(value: Any) -> Any:
    """A JSON-able form that keeps Python types apart: bytes become `{"bytes": latin-1 text}`,
    tuples `{"tuple": [...]}`; lists, dicts, str, int, float, bool and None stay themselves."""
    if isinstance(value, bytes | bytearray):
        return {"bytes": bytes(value).decode("latin-1")}
    if isinstance(value, tuple):
        return {"tuple": [encode(item) for item in value]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return {"repr": repr(value), "type": type(value).__name__}


def _write_record(record: dict[str, Any]) -> None:
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    line = json.dumps(record, sort_keys=True) + "\n"
    # One write on an O_APPEND descriptor: whole lines even with several worker processes.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


async def _read_body(receive: Receive, messages: list[Message]) -> tuple[bytes, bool]:
    """Receives until the body ends or the client leaves: (body, the client left)."""
    body = bytearray()
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] == "http.disconnect":
            return bytes(body), True
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return bytes(body), False


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _lifespan(receive: Receive, send: Send, scope: Scope) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if "state" in scope:
                scope["state"].update(LIFESPAN_STATE)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _ok(scope: Scope, send: Send, body: bytes) -> None:
    answer = json.dumps({"method": scope["method"], "path": scope["path"], "received": len(body)}).encode()
    await _respond(
        send,
        200,
        [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode()), (b"x-Mixed", b"1")],
        answer,
    )


async def _stream(scope: Scope, send: Send, body: bytes) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain"), (b"x-a", b"1")]}
    )
    for index in range(4):
        await send({"type": "http.response.body", "body": b"part %d;" % index, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": True})
    await send({"type": "http.response.body", "body": b"end", "more_body": False})


async def _stream_empty(scope: Scope, send: Send, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _unsized(scope: Scope, send: Send, body: bytes) -> None:
    # One body message, without a Content-Length: uvicorn sends it chunked.
    await _respond(send, 200, [(b"content-type", b"text/plain")], b"no length given")


async def _no_content(scope: Scope, send: Send, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": [(b"x-empty", b"yes")]})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _not_modified(scope: Scope, send: Send, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", b'"v1"')]})
    await send({"type": "http.response.body", "body": b""})


async def _head_length(scope: Scope, send: Send, body: bytes) -> None:
    # What a framework answers to HEAD: the GET response's headers, the body (which the server
    # must not write for HEAD).
    await _respond(send, 200, [(b"content-type", b"text/plain"), (b"content-length", b"11")], b"hello world")


async def _duplicate_headers(scope: Scope, send: Send, body: bytes) -> None:
    headers = [
        (b"set-cookie", b"a=1"),
        (b"X-Dup", b"first"),
        (b"set-cookie", b"b=2"),
        (b"x-dup", b"second"),
        (b"Content-Length", b"2"),
    ]
    await _respond(send, 201, headers, b"ok")


async def _raise_before(scope: Scope, send: Send, body: bytes) -> None:
    raise RuntimeError("the app failed before its response (expected by the test)")


async def _raise_after(scope: Scope, send: Send, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise RuntimeError("the app failed after starting its response (expected by the test)")


async def _no_response(scope: Scope, send: Send, body: bytes) -> None:
    return None


async def _slow(scope: Scope, send: Send, body: bytes) -> None:
    delay = float((_header(scope, b"x-delay") or b"1").decode())
    await asyncio.sleep(delay)
    await _ok(scope, send, body)


BEHAVIOURS: dict[bytes, Callable[[Scope, Send, bytes], Awaitable[None]]] = {
    b"ok": _ok,
    b"stream": _stream,
    b"stream-empty": _stream_empty,
    b"unsized": _unsized,
    b"204": _no_content,
    b"304": _not_modified,
    b"head-length": _head_length,
    b"duplicates": _duplicate_headers,
    b"raise-before": _raise_before,
    b"raise-after": _raise_after,
    b"no-response": _no_response,
    b"slow": _slow,
}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send, scope)
        return
    assert scope["type"] == "http", scope["type"]
    entry = encode(scope)  # the scope as the app sees it on entry
    behaviour = _header(scope, b"x-app") or b"ok"
    messages: list[Message] = []
    if behaviour == b"slow":
        # Recorded on entry too, so a test can tell the request reached the app.
        _write_record({"event": "entered", "path": scope["path"]})
    body, left = await _read_body(receive, messages)
    _write_record({"event": "request", "scope": entry, "messages": encode(messages), "body": encode(body)})
    if left:
        return
    await BEHAVIOURS[behaviour](scope, send, body)


async def lifespan_failing(scope: Scope, receive: Receive, send: Send) -> None:
    """Its startup fails with `LIFESPAN_FAILURE`."""
    if scope["type"] == "lifespan":
        message = await receive()
        assert message["type"] == "lifespan.startup"
        await send({"type": "lifespan.startup.failed", "message": LIFESPAN_FAILURE})
        return
    await _respond(send, 200, [], b"unreachable")
