"""Apps for the server's file and event-stream tests (imported by the server subprocess through
`--app-dir tests`): Starlette's `FileResponse` (which uses `http.response.pathsend` where the
server offers it), a raw app naming files with `pathsend`, and a server-sent-events stream that
records how its end was noticed."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from server_apps import Receive, Scope, Send, _write_record

# The file the file tests serve, written by the test before the servers start.
FILE_ENV = "SERVER_TEST_FILE"


def _files() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Route

    async def whole(request: Any) -> FileResponse:
        return FileResponse(os.environ[FILE_ENV], media_type="application/octet-stream")

    async def missing(request: Any) -> FileResponse:
        return FileResponse(os.environ[FILE_ENV] + ".missing")

    return Starlette(routes=[Route("/file", whole, methods=["GET", "HEAD"]), Route("/missing", missing)])


files_app = _files()


async def pathsend_app(scope: Scope, receive: Receive, send: Send) -> None:
    """`/ok`: the file with its length; `/longer`: a Content-Length one byte short; `/absent`:
    a path that does not exist. Records what `send()` raised."""
    if scope["type"] != "http":
        return
    path = os.environ[FILE_ENV] + (".absent" if scope["path"] == "/absent" else "")
    size = os.path.getsize(os.environ[FILE_ENV]) - (1 if scope["path"] == "/longer" else 0)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(size).encode())]})
    try:
        await send({"type": "http.response.pathsend", "path": path})
    except Exception as exc:
        _write_record({"raised": type(exc).__name__, "text": str(exc) if isinstance(exc, RuntimeError) else None})
        raise
    _write_record({"raised": None})


async def events_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Server-sent events, one every 0.1 s, each as its own body message. Records how many were
    sent, and how the client's leaving showed: `http.disconnect` from receive(), or send()
    raising (tachyon: ClientDisconnected, an OSError)."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    gone = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.ensure_future(watch())
    sent, how, started = 0, "never", time.monotonic()
    try:
        for index in range(100):
            if gone.is_set():
                how = "receive"
                break
            await send({"type": "http.response.body", "body": f"data: event {index}\n\n".encode(), "more_body": True})
            sent += 1
            await asyncio.sleep(0.1)
    except OSError:
        how = "send"
    watcher.cancel()
    _write_record({"sent": sent, "how": how, "seconds": time.monotonic() - started})


async def trailers_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A body in two parts, then trailer fields in two messages (`http.response.trailers`), when
    the server offers the extension; without it, the body alone."""
    if scope["type"] != "http":
        return
    offered = "http.response.trailers" in scope.get("extensions", {})
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"trailer", b"x-checksum, x-count")],
            "trailers": offered,
        }
    )
    await send({"type": "http.response.body", "body": b"first ", "more_body": True})
    await send({"type": "http.response.body", "body": b"second", "more_body": False})
    if offered:
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc123")], "more_trailers": True})
        await send({"type": "http.response.trailers", "headers": [(b"x-count", b"2")], "more_trailers": False})
