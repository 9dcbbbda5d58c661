"""Mirror of `starlette._exception_handler`.

`wrap_app_handling_exceptions` is defined here so that it calls this module's
`run_in_threadpool` (tests and tools patch it by that name).
"""

from __future__ import annotations

from inspect import CO_COROUTINE
from types import FunctionType, MethodType

from starlette._exception_handler import (
    ExceptionHandlers as ExceptionHandlers,
    StatusHandlers as StatusHandlers,
    _lookup_exception_handler as _lookup_exception_handler,
)

from tachyon_engine._utils import (
    is_async_callable as is_async_callable,
)
from tachyon_engine.concurrency import (
    run_in_threadpool as run_in_threadpool,
)
from tachyon_engine.engine.targets import stock
from tachyon_engine.exceptions import (
    HTTPException as HTTPException,
)
from tachyon_engine.requests import (
    Request as Request,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    ExceptionHandler as ExceptionHandler,
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
from tachyon_engine.websockets import (
    WebSocket as WebSocket,
)

# Starlette's `Response.__call__`: a response whose class keeps it may be sent inline.
STOCK_RESPONSE_CALL = stock("starlette.responses:Response.__call__")


def _is_coroutine_function(handler: object) -> bool:
    """A quick yes for the usual handler, an `async def` function or bound method, on which
    `is_async_callable` also says yes; `False` means "ask `is_async_callable`"."""
    function = handler.__func__ if type(handler) is MethodType else handler
    return type(function) is FunctionType and bool(function.__code__.co_flags & CO_COROUTINE)


def handlers_of(scope: Scope) -> tuple[ExceptionHandlers, StatusHandlers]:
    try:
        exception_handlers, status_handlers = scope["starlette.exception_handlers"]
    except KeyError:
        exception_handlers, status_handlers = {}, {}
    return exception_handlers, status_handlers


def wrap_app_handling_exceptions(app: ASGIApp, conn: Request | WebSocket) -> ASGIApp:
    """Runs `app`, answering the exceptions that have a registered handler (by status code
    for `HTTPException`, else by the exception's class hierarchy) and re-raising the rest."""
    handlers = handlers_of(conn.scope)

    async def wrapped_app(scope: Scope, receive: Receive, send: Send) -> None:
        await call_handling_exceptions(app, scope, receive, send, handlers, conn)

    return wrapped_app


async def call_handling_exceptions(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    handlers: tuple[ExceptionHandlers, StatusHandlers] | None = None,
    conn: Request | WebSocket | None = None,
) -> None:
    """`wrap_app_handling_exceptions(app, conn)(scope, receive, send)` in one call, for the
    request path: the handlers default to the scope's, and a missing `conn` is built from
    `(scope, receive, send)` only if a handler needs it (it is built from the same values
    Starlette builds it from up front, and nothing reads it before)."""
    if handlers is None:
        handlers = handlers_of(scope)
    response_started = False

    async def sender(message: Message) -> None:
        nonlocal response_started
        if message["type"] == "http.response.start":
            response_started = True
        await send(message)

    try:
        await app(scope, receive, sender)
    except Exception as exc:
        await answer_exception(exc, handlers, response_started, conn, scope, receive, sender)


async def answer_exception(
    exc: Exception,
    handlers: tuple[ExceptionHandlers, StatusHandlers],
    response_started: bool,
    conn: Request | WebSocket | None,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """What Starlette's exception layer does with an exception `app` raised: re-raise it when no
    handler is registered (or the response already started), else send the handler's response.
    Called while `exc` is being handled, so a raised error chains to it as in Starlette."""
    exception_handlers, status_handlers = handlers
    handler = None
    if isinstance(exc, HTTPException):
        handler = status_handlers.get(exc.status_code)
    if handler is None:
        handler = _lookup_exception_handler(exception_handlers, exc)
    if handler is None:
        raise exc
    if response_started:
        raise RuntimeError("Caught handled exception, but response already started.") from exc
    if conn is None and not getattr(handler, "tachyon_ignores_connection", False):
        conn = Request(scope, receive, send) if scope["type"] == "http" else WebSocket(scope, receive, send)
    if _is_coroutine_function(handler) or is_async_callable(handler):
        response = await handler(conn, exc)  # type: ignore[arg-type, misc]
    else:
        response = await run_in_threadpool(handler, conn, exc)  # type: ignore[arg-type]
    if response is not None:
        if type(response).__call__ is STOCK_RESPONSE_CALL and scope["type"] == "http":
            # `Response.__call__`'s two messages, sent without one more coroutine frame.
            start = {"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers}
            await send(start)
            await send({"type": "http.response.body", "body": response.body})
            if response.background is not None:
                await response.background()
        else:
            await response(scope, receive, send)
    # A reused exception instance would otherwise grow its traceback on every request.
    exc.__traceback__ = None
