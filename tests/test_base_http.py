"""`BaseHTTPMiddleware.__call__` on asyncio's primitives (`engine.base_http`) against Starlette's
own method, on the same middleware instance: every dispatch style of Starlette's tests crossed
with every app behaviour (plain, streamed, failing before and after the start, no response, a
background task, reading the body, debug and early-hint messages, context variables), with the
order of everything that happens (the app's, the dispatch's and the server's events), the
exception raised to the server with its cause and context, and the messages sent."""

from __future__ import annotations

import asyncio
import contextvars
import random
from collections.abc import Callable
from typing import Any

import pytest
from starlette.background import BackgroundTask
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import PlainTextResponse, StreamingResponse

from tachyon_engine.engine.base_http import ENABLED, STOCK_CALL, base_http_call

variable: contextvars.ContextVar[str] = contextvars.ContextVar("variable", default="unset")

Log = list[Any]


def scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"text/plain")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }


# --- The downstream app ------------------------------------------------------------------------


def app_for(behaviour: str, log: Log) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        log.append(("app", "start", variable.get()))
        if behaviour == "sets variable":
            variable.set("set by app")
        if behaviour == "reads body":
            while True:
                message = await receive()
                log.append(("app", "received", message))
                if not message.get("more_body", False):
                    break
        if behaviour == "raises before start":
            raise ValueError("before start")
        if behaviour == "no response":
            return
        if behaviour == "debug and early hint":
            await send({"type": "http.response.debug", "info": {"template": "x"}})
            await send({"type": "http.response.early_hint", "links": ["</a.css>; rel=preload"]})
        if behaviour in ("streams", "raises after start"):
            await send({"type": "http.response.start", "status": 201, "headers": [(b"x-app", b"1")]})
            log.append(("app", "started"))
            for index in range(3):
                await send({"type": "http.response.body", "body": b"part %d" % index, "more_body": True})
                log.append(("app", "sent part", index))
                if behaviour == "raises after start" and index == 1:
                    raise RuntimeError("after start")
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            background = None
            if behaviour == "background":

                async def task() -> None:
                    log.append(("app", "background", variable.get()))

                background = BackgroundTask(task)
            response = PlainTextResponse("hello", background=background)
            await response(scope, receive, send)
        log.append(("app", "returned", variable.get()))

    return app


APPS = [
    "plain",
    "streams",
    "raises before start",
    "raises after start",
    "no response",
    "background",
    "reads body",
    "debug and early hint",
    "sets variable",
]


# --- The dispatch functions --------------------------------------------------------------------


def dispatch_for(style: str, log: Log) -> Callable[..., Any]:
    async def dispatch(request: Any, call_next: Any) -> Any:
        log.append(("dispatch", "start"))
        variable.set("set by dispatch")
        if style == "reads body first":
            log.append(("dispatch", "body", await request.body()))
        if style == "raises before call_next":
            raise KeyError("dispatch")
        if style == "own response":
            return PlainTextResponse("own", status_code=203)
        try:
            response = await call_next(request)
        except Exception as exc:
            log.append(("dispatch", "caught", type(exc).__name__, str(exc)))
            if style == "catches":
                return PlainTextResponse(str(exc), status_code=400)
            raise
        log.append(("dispatch", "got", response.status_code, variable.get()))
        if style == "adds header":
            response.headers["x-dispatch"] = "1"
        elif style == "raises after call_next":
            raise LookupError("after call_next")
        elif style == "discards":
            iterator = response.body_iterator
            try:
                log.append(("dispatch", "first chunk", await iterator.__anext__()))
            except StopAsyncIteration:
                log.append(("dispatch", "no chunk"))
            finally:
                await iterator.aclose()
            return PlainTextResponse("custom")
        elif style == "streams through":

            async def rewrap() -> Any:
                async for chunk in response.body_iterator:
                    log.append(("dispatch", "chunk", chunk))
                    yield chunk

            return StreamingResponse(rewrap(), status_code=response.status_code, headers=dict(response.headers))
        elif style == "background":

            async def after() -> None:
                log.append(("dispatch", "background", variable.get()))

            response.background = BackgroundTask(after)
        return response

    return dispatch


DISPATCHES = [
    "passes through",
    "adds header",
    "own response",
    "catches",
    "raises before call_next",
    "raises after call_next",
    "reads body first",
    "discards",
    "streams through",
    "background",
]


def describe(exc: BaseException | None) -> Any:
    if exc is None:
        return None
    context = exc.__context__
    return (
        type(exc),
        str(exc),
        None if exc.__cause__ is None else (type(exc.__cause__), str(exc.__cause__)),
        exc.__suppress_context__,
        None if context is None else type(context),
    )


def server(log: Log, disconnect_after: float) -> tuple[Any, Any]:
    """The server's `receive` (a body in two chunks, then a disconnect after a pause) and `send`
    (which logs every message)."""
    chunks = [b"one ", b"two"]

    async def receive() -> Any:
        if chunks:
            body = chunks.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(chunks)}
        await asyncio.sleep(disconnect_after)
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        log.append(("server", dict(message)))

    return receive, send


def run(call: Any, style: str, behaviour: str) -> tuple[Log, Any]:
    log: Log = []
    middleware = BaseHTTPMiddleware(app_for(behaviour, log), dispatch=dispatch_for(style, log))
    receive, send = server(log, disconnect_after=0.05)

    async def main() -> Any:
        variable.set("set by server")
        try:
            await call(middleware, scope(), receive, send)
        except Exception as exc:
            return describe(exc)
        finally:
            log.append(("server", "done", variable.get()))
        return None

    raised = asyncio.run(main())
    return log, raised


pytestmark = pytest.mark.skipif(not ENABLED, reason="the installed AnyIO release is not a verified one")


@pytest.mark.parametrize("behaviour", APPS)
@pytest.mark.parametrize("style", DISPATCHES)
def test_same_events_as_starlette(style: str, behaviour: str) -> None:
    assert run(base_http_call, style, behaviour) == run(STOCK_CALL, style, behaviour)


def test_concurrent_requests_finish_their_responses_before_background_tasks() -> None:
    # Starlette's `test_do_not_block_on_background_tasks`, with both implementations: two
    # requests at once, each response fully sent before either background task starts.
    def events(call: Any) -> Log:
        log: Log = []

        async def background() -> None:
            log.append("background started")
            await asyncio.sleep(0.01)
            log.append("background finished")

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await PlainTextResponse("hello", background=BackgroundTask(background))(scope, receive, send)

        async def passthrough(request: Any, call_next: Any) -> Any:
            return await call_next(request)

        middleware = BaseHTTPMiddleware(app, dispatch=passthrough)

        async def receive() -> Any:
            raise AssertionError("not read")

        async def send(message: Any) -> None:
            if message["type"] == "http.response.body":
                log.append(message)

        async def main() -> None:
            await asyncio.gather(call(middleware, scope(), receive, send), call(middleware, scope(), receive, send))

        asyncio.run(main())
        return log

    assert events(base_http_call) == events(STOCK_CALL)


@pytest.mark.parametrize("seed", range(40))
def test_concurrent_requests_each_see_starlettes_order(seed: int) -> None:
    # Three requests at once. Fewer checkpoints than AnyIO's (documented) change how concurrent
    # requests interleave with each other; each request's own events keep Starlette's order.
    chooser = random.Random(seed)
    combos = [(chooser.choice(DISPATCHES), chooser.choice(APPS)) for _ in range(3)]

    def per_request(call: Any) -> list[Log]:
        logs: list[Log] = [[] for _ in combos]

        async def one(index: int) -> None:
            log = logs[index]
            style, behaviour = combos[index]
            middleware = BaseHTTPMiddleware(app_for(behaviour, log), dispatch=dispatch_for(style, log))
            receive, send = server(log, disconnect_after=0.01)
            try:
                await call(middleware, scope(), receive, send)
            except Exception as exc:
                log.append(("raised", describe(exc)))

        async def main() -> None:
            await asyncio.gather(*(one(index) for index in range(len(combos))))

        asyncio.run(main())
        return logs

    assert per_request(base_http_call) == per_request(STOCK_CALL)
