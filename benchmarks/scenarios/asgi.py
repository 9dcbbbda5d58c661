"""Minimal ASGI plumbing for in-process dispatch: scopes, bodies delivered in chunks, and an
operation that runs one request and returns the messages sent."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from benchmarks.scenarios.operation import Operation

Scope = dict[str, Any]
Message = dict[str, Any]
Headers = list[tuple[bytes, bytes]]
ASGIApp = Callable[[Scope, Any, Any], Coroutine[Any, Any, None]]

KiB = 1024
MiB = 1024 * KiB
CHUNK = 64 * KiB

BROWSER_HEADERS: Headers = [
    (b"host", b"example.com"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"),
    (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    (b"accept-language", b"en-US,en;q=0.5"),
    (b"accept-encoding", b"gzip, deflate, br"),
    (b"connection", b"keep-alive"),
    (b"cookie", b"session=abc123def456; theme=dark; lang=en-US; _ga=GA1.2.3.4"),
    (b"upgrade-insecure-requests", b"1"),
    (b"sec-fetch-dest", b"document"),
    (b"sec-fetch-mode", b"navigate"),
    (b"cache-control", b"max-age=0"),
]


def http_scope(method: str = "GET", path: str = "/", query: bytes = b"", headers: Headers | None = None) -> Scope:
    """A scope as uvicorn builds it; a fresh one per request, since the app mutates it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.5"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": list(headers or []),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


class ChunkedBody:
    """`receive` for one request: the body in the given chunks, then nothing."""

    __slots__ = ("chunks", "index")

    def __init__(self, chunks: tuple[bytes, ...]) -> None:
        self.chunks = chunks
        self.index = 0

    async def __call__(self) -> Message:
        if self.index >= len(self.chunks):
            return {"type": "http.disconnect"}
        chunk = self.chunks[self.index]
        self.index += 1
        return {"type": "http.request", "body": chunk, "more_body": self.index < len(self.chunks)}


def chunks_of(body: bytes, size: int = CHUNK) -> tuple[bytes, ...]:
    return tuple(body[offset : offset + size] for offset in range(0, len(body), size)) or (b"",)


async def no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send_plain(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


def request_operation(app: ASGIApp, request: Callable[[], tuple[Scope, Any]], expected_status: int = 200) -> Operation:
    """Dispatches one request per call; the messages sent are the call's result."""

    async def call() -> list[Message]:
        messages: list[Message] = []

        async def send(message: Message) -> None:
            messages.append(message)

        scope, receive = request()
        await app(scope, receive, send)
        return messages

    def check(messages: object) -> str | None:
        status = messages[0].get("status") if isinstance(messages, list) and messages else None
        return None if status == expected_status else f"status {status}, expected {expected_status}"

    return Operation(asynchronous=call, check=check)
