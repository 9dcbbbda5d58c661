"""The exception layers of a whole app (ServerErrorMiddleware, ExceptionMiddleware, the
per-route handler wrapper) against Starlette's: the same messages sent, the same exception
raised to the server and the same scope keys, for every kind of failure at every point of a
response, through the lean dispatch (default stack) and through the full stack."""

from __future__ import annotations

import asyncio
import itertools
import types
from typing import Any

import pytest
import starlette.applications
import starlette.background
import starlette.exceptions
import starlette.middleware
import starlette.middleware.errors
import starlette.responses
import starlette.routing
from differential import drive_asgi

import tachyon_engine.applications
import tachyon_engine.routing
from tachyon_engine.engine.dispatch import LeanStack


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


WHEN = ["before", "during", "sync", "background", "after"]


def endpoint_for(failure: str, when: str) -> Any:
    """An endpoint failing with `FAILURES[failure]`: before answering (async or sync), while
    streaming, in a background task, or in a response that fails after sending its body."""
    exc = FAILURES[failure]

    def sync_endpoint(request: Any) -> Any:
        if exc is not None:
            raise exc
        return starlette.responses.HTMLResponse("<p>fine</p>", headers={"X-Sync": "yes"})

    async def task() -> None:
        if exc is not None:
            raise exc

    class FailingAfter(starlette.responses.Response):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await super().__call__(scope, receive, send)
            if exc is not None:
                raise exc

    async def endpoint(request: Any) -> Any:
        if exc is not None and when == "before":
            raise exc
        if when == "background":
            return starlette.responses.PlainTextResponse("queued", background=starlette.background.BackgroundTask(task))
        if when == "after":
            return FailingAfter(b"sent", media_type="text/plain")

        async def body() -> Any:
            yield b"part"
            if exc is not None and when == "during":
                raise exc

        if when == "during":
            return starlette.responses.StreamingResponse(body())
        return starlette.responses.PlainTextResponse("fine")

    return sync_endpoint if when == "sync" else endpoint


class PassThrough:
    """A user middleware: with it, the app runs its full stack instead of the lean dispatch."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def build(
    stack: types.ModuleType, routing: types.ModuleType, debug: bool, handlers: dict[Any, Any], middleware: bool
) -> Any:
    routes = [
        routing.Route(f"/{failure}/{when}", endpoint_for(failure, when), methods=["GET"])
        for failure, when in itertools.product(FAILURES, WHEN)
    ]
    user_middleware = [starlette.middleware.Middleware(PassThrough)] if middleware else []
    return stack.Starlette(debug=debug, routes=routes, exception_handlers=handlers, middleware=user_middleware)


async def call(app: Any, path: str, method: str) -> Any:
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
    # The body once; then no disconnect ever comes (streaming responses listen for one).
    messages, exc = await drive_asgi(app, scope, [{"type": "http.request", "body": b""}])
    raised = None if exc is None else (type(exc).__name__, str(exc), type(exc.__cause__).__name__)
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
    route = scope.get("route")
    reached = (sorted(scope), getattr(route, "path", None), scope.get("path_params"))
    return messages, raised, reached


HANDLER_SETS: list[dict[Any, Any]] = [
    {},
    {ValueError: sync_handler, KeyError: async_handler, 418: status_handler, 405: status_handler},
    {Exception: async_handler, Teapot: silent_handler, 404: sync_handler},
    {500: sync_handler, RuntimeError: async_handler},
    # The default `HTTPException` answer replaced: the 404s and 405s of routing go to it too.
    {starlette.exceptions.HTTPException: sync_handler},
]


@pytest.mark.parametrize("middleware", [False, True], ids=["lean", "full-stack"])
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("handlers", range(len(HANDLER_SETS)))
def test_exception_layers_match_starlette(debug: bool, handlers: int, middleware: bool) -> None:
    theirs = build(starlette.applications, starlette.routing, debug, HANDLER_SETS[handlers], middleware)
    ours = build(tachyon_engine.applications, tachyon_engine.routing, debug, HANDLER_SETS[handlers], middleware)

    async def compare() -> None:
        paths = [f"/{f}/{w}" for f, w in itertools.product(FAILURES, WHEN)] + ["/nowhere", "/ok/before/"]
        for path, method in itertools.product(paths, ["GET", "POST", "HEAD"]):
            assert await call(ours, path, method) == await call(theirs, path, method), (path, method)

    asyncio.run(compare())
    assert isinstance(ours.middleware_stack, LeanStack) is not middleware


def test_the_lean_stack_is_the_server_error_layer() -> None:
    """The lean dispatch is the app's `ServerErrorMiddleware` (its `app`, `handler`, `debug`),
    and a layer put in after the stack was built is honoured, as on Starlette."""

    async def on_500(request: Any, exc: Exception) -> Any:
        return starlette.responses.PlainTextResponse("sorry", 500)

    seen: list[str] = []

    def spy(inner: Any) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            seen.append(scope["path"])
            await inner(scope, receive, send)

        return app

    apps = []
    for stack, routing in [
        (starlette.applications, starlette.routing),
        (tachyon_engine.applications, tachyon_engine.routing),
    ]:
        app = build(stack, routing, False, {500: on_500}, False)
        app.middleware_stack = app.build_middleware_stack()
        assert isinstance(app.middleware_stack, starlette.middleware.errors.ServerErrorMiddleware)
        assert app.middleware_stack.handler is on_500
        app.middleware_stack.app = spy(app.middleware_stack.app)
        apps.append(app)

    async def compare() -> None:
        for path in ["/ok/before", "/runtime/before", "/nowhere"]:
            assert await call(apps[1], path, "GET") == await call(apps[0], path, "GET"), path

    asyncio.run(compare())
    assert seen == [path for path in ["/ok/before", "/runtime/before", "/nowhere"] for _ in "ab"]
    assert isinstance(apps[1].middleware_stack, LeanStack)
