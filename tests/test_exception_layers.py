"""The exception layers of a whole app (ServerErrorMiddleware, ExceptionMiddleware, the
per-route handler wrapper) against Starlette's: the same messages sent and the same
exception raised to the server, for every kind of failure at every point of a response."""

from __future__ import annotations

import asyncio
import itertools
import types
from typing import Any

import pytest
import starlette.applications
import starlette.exceptions
import starlette.responses
import starlette.routing

import tachyon_engine.applications
import tachyon_engine.routing


class Teapot(Exception):
    pass


class Missing(KeyError):
    pass


def sync_handler(request: Any, exc: Exception) -> Any:
    return starlette.responses.PlainTextResponse(f"sync {request.url.path} {request.method} {exc!r}", 409)


async def async_handler(request: Any, exc: Exception) -> Any:
    return starlette.responses.JSONResponse({"async": repr(exc), "path": request.url.path}, 410)


async def silent_handler(request: Any, exc: Exception) -> None:
    return None


async def status_handler(request: Any, exc: Exception) -> Any:
    return starlette.responses.PlainTextResponse(f"status {exc!r}", 418)


FAILURES: dict[str, Any] = {
    "ok": None,
    "http-404": starlette.exceptions.HTTPException(404),
    "http-418": starlette.exceptions.HTTPException(418, "short"),
    "http-304": starlette.exceptions.HTTPException(304, headers={"x": "1"}),
    "value": ValueError("bad value"),
    "key": KeyError("k"),
    "missing": Missing("sub"),
    "teapot": Teapot("tea"),
    "runtime": RuntimeError("boom"),
}


def endpoint_for(failure: str, when: str) -> Any:
    async def endpoint(request: Any) -> Any:
        exc = FAILURES[failure]
        if exc is not None and when == "before":
            raise exc

        async def body() -> Any:
            yield b"part"
            if exc is not None and when == "during":
                raise exc

        if when == "during":
            return starlette.responses.StreamingResponse(body())
        return starlette.responses.PlainTextResponse("fine")

    return endpoint


def build(stack: types.ModuleType, routing: types.ModuleType, debug: bool, handlers: dict[Any, Any]) -> Any:
    routes = [
        routing.Route(f"/{failure}/{when}", endpoint_for(failure, when), methods=["GET"])
        for failure, when in itertools.product(FAILURES, ["before", "during"])
    ]
    return stack.Starlette(debug=debug, routes=routes, exception_handlers=handlers)


async def call(app: Any, path: str, method: str) -> Any:
    messages: list[Any] = []
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "query_string": b"",
        "server": ("testserver", 80),
        "scheme": "http",
    }

    requested = False

    async def receive() -> Any:
        # The body once; then no disconnect ever comes (streaming responses listen for one).
        nonlocal requested
        if requested:
            await asyncio.Event().wait()
        requested = True
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        messages.append(message)

    try:
        await app(scope, receive, send)
        raised = None
    except Exception as exc:
        raised = (type(exc).__name__, str(exc), type(exc.__cause__).__name__)
    # Debug tracebacks list the frames of each package (tachyon_engine's own frames are in
    # the stack): compare the page's shape and the exception line, not the frames.
    for message in messages:
        body = message.get("body", b"")
        if message.get("type") == "http.response.body" and b"<html>" in body:
            message["body"] = b"<html> debug page"
        elif message.get("type") == "http.response.body" and body.startswith(b"Traceback"):
            message["body"] = b"Traceback ... " + body.rstrip().splitlines()[-1]
        if message.get("type") == "http.response.start":
            message["headers"] = [(k, v) for k, v in message["headers"] if k != b"content-length"]
    return messages, raised


HANDLER_SETS = [
    {},
    {ValueError: sync_handler, KeyError: async_handler, 418: status_handler},
    {Exception: async_handler, Teapot: silent_handler, 404: sync_handler},
    {500: sync_handler, RuntimeError: async_handler},
]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("handlers", range(len(HANDLER_SETS)))
def test_exception_layers_match_starlette(debug: bool, handlers: int) -> None:
    theirs = build(starlette.applications, starlette.routing, debug, HANDLER_SETS[handlers])
    ours = build(tachyon_engine.applications, tachyon_engine.routing, debug, HANDLER_SETS[handlers])

    async def compare() -> None:
        paths = [f"/{f}/{w}" for f, w in itertools.product(FAILURES, ["before", "during"])] + ["/nowhere"]
        for path, method in itertools.product(paths, ["GET", "POST"]):
            assert await call(ours, path, method) == await call(theirs, path, method), (path, method)

    asyncio.run(compare())
