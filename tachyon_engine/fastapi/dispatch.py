"""FastAPI's default middleware stack, fused into one coroutine for HTTP requests (under `install()`).

FastAPI builds `ServerErrorMiddleware > ExceptionTelemetryMiddleware > ExceptionMiddleware >
AsyncExitStackMiddleware > router` when the app has no user middleware (from 0.164 with
`AppBodyLimitMiddleware` after the telemetry layer): four or five layers, each a coroutine frame,
with two `send` wrappers. `FastAPILeanStack` runs the same four layers inline
around the router's entry point, as `LeanStack` does for Starlette's stack (`_dispatch`), with one
response-started flag for the two wrappers (they see the same messages):

- `ExceptionMiddleware`: the handlers in the scope, handled exceptions answered as
  `wrap_app_handling_exceptions` answers them (`answer_exception`), with the connection the
  middleware builds up front built when a handler needs it;
- `AsyncExitStackMiddleware`: the stack in the scope under the middleware's `context_name`, left
  only when something was pushed on it (`exit_stacks`);
- `AppBodyLimitMiddleware` without an application `max_body_size` (its `app` is then the next
  layer itself): a pass-through while the scope carries no `starlette.max_body_size` counter
  (a mounted app's request); with one, or with a limit, FastAPI's stack runs;
- `ExceptionTelemetryMiddleware`: FastAPI's `_exception(scope=..., exc=...)`, then re-raise;
- `ServerErrorMiddleware`: its answer to an unhandled exception, then re-raise.

Websocket and lifespan scopes, a layer replaced after the build, a patched layer class and another
exit stack class go through the stack FastAPI built.
"""

from __future__ import annotations

import importlib
from typing import Any

import fastapi.middleware.asyncexitstack
import fastapi.telemetry._asgi
import starlette.middleware.exceptions
import starlette.routing
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.telemetry._asgi import ExceptionTelemetryMiddleware
from starlette.middleware.errors import ServerErrorMiddleware

from tachyon_engine._exception_handler import answer_exception
from tachyon_engine.engine.dispatch import answer_server_error
from tachyon_engine.engine.exit_stacks import leave_on_error, plain_exit_stacks
from tachyon_engine.engine.patching import original_in_mro
from tachyon_engine.engine.targets import stock
from tachyon_engine.fastapi.routing import APIRouter, routed
from tachyon_engine.types import ASGIApp, Message, Receive, Scope, Send

# The names the fused layers' modules bind (patchable there), looked up at call time.
stock_exit_stack: Any = fastapi.middleware.asyncexitstack
stock_telemetry: Any = fastapi.telemetry._asgi
stock_exceptions: Any = starlette.middleware.exceptions
_StockExceptionMiddleware = starlette.middleware.exceptions.ExceptionMiddleware

# FastAPI 0.164+: the application's body limit layer (None before).
_body_limit: Any
try:
    _body_limit = importlib.import_module("fastapi._body_limit")
except ImportError:  # FastAPI 0.163
    _body_limit = None
_BODY_LIMIT: Any = getattr(_body_limit, "AppBodyLimitMiddleware", None)
_stock_body_limit_call = stock("fastapi._body_limit:AppBodyLimitMiddleware.__call__", None)
_MAX_BODY_SIZE_KEY = getattr(_body_limit, "MAX_BODY_SIZE_SCOPE_KEY", None)

_stock_server_error_call = stock("starlette.middleware.errors:ServerErrorMiddleware.__call__")
_stock_telemetry_call = stock("fastapi.telemetry._asgi:ExceptionTelemetryMiddleware.__call__")
_stock_exception_call = stock("starlette.middleware.exceptions:ExceptionMiddleware.__call__")
_stock_exit_stack_call = stock("fastapi.middleware.asyncexitstack:AsyncExitStackMiddleware.__call__")
_stock_router_call = stock("starlette.routing:Router.__call__")


def build_middleware_stack(self: Any) -> ASGIApp:
    """`FastAPI.build_middleware_stack`: the stack FastAPI builds, fused when it is the default one."""
    # The stock method saved by `install()` on the class that defines it (no import: the stack is
    # built on the first request, when `fastapi` may even be gone from `sys.modules`).
    stock_build = original_in_mro(type(self), "build_middleware_stack", build_middleware_stack)
    return fastapi_lean_stack_for(stock_build(self))


def fastapi_lean_stack_for(stack: ASGIApp) -> ASGIApp:
    """`stack`, or its `FastAPILeanStack` twin when it is exactly FastAPI's default stack."""
    layers: list[Any] = [stack]
    for expected in (ServerErrorMiddleware, ExceptionTelemetryMiddleware, _BODY_LIMIT, _StockExceptionMiddleware):
        if expected is None:
            continue
        if type(layers[-1]) is not expected:
            return stack
        layers.append(layers[-1].app)
    exit_stack = layers[-1]
    if type(exit_stack) is not AsyncExitStackMiddleware or not isinstance(exit_stack.app, starlette.routing.Router):
        return stack
    errors: Any = stack
    return FastAPILeanStack(errors.app, handler=errors.handler, debug=errors.debug)


class FastAPILeanStack(ServerErrorMiddleware):
    """The outermost layer of FastAPI's default stack, a `ServerErrorMiddleware` (with its `app`,
    `handler` and `debug`), serving HTTP requests in one coroutine while the layers inside are
    the default ones; otherwise it is exactly `ServerErrorMiddleware`."""

    def __init__(self, app: ASGIApp, handler: Any = None, debug: bool = False) -> None:
        super().__init__(app, handler, debug)
        telemetry: Any = app
        body_limit = telemetry.app if _BODY_LIMIT is not None else None
        exceptions = telemetry.app if body_limit is None else body_limit.app
        exit_stack = exceptions.app
        router = exit_stack.app
        # The layer after the telemetry one: the body limit layer (FastAPI 0.164+) or the exceptions one.
        self._after_telemetry = exceptions if body_limit is None else body_limit
        self._body_limit = body_limit
        self._layers: tuple[Any, Any, Any, Any] = (telemetry, exceptions, exit_stack, router)
        # The router's entry point when it is tachyon_engine's `APIRouter.app` bound to the router
        # (no router-level middleware): the fused stack then awaits what that method awaits.
        entry = router.middleware_stack
        own = getattr(entry, "__func__", None) is APIRouter.app and getattr(entry, "__self__", None) is router
        self._routed_entry = entry if own else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        telemetry, exceptions, exit_stack, router = self._layers
        # Whether this is an HTTP request and the layers inside still are the default ones, each
        # running its own code (inline: this runs on every request).
        body_limit = self._body_limit
        if not (
            scope["type"] == "http"
            and telemetry.app is self._after_telemetry
            and (
                body_limit is None
                or (
                    body_limit.app is exceptions
                    and _MAX_BODY_SIZE_KEY not in scope
                    and _BODY_LIMIT.__call__ is _stock_body_limit_call
                )
            )
            and exceptions.app is exit_stack
            and exit_stack.app is router
            and self.app is telemetry
            and ServerErrorMiddleware.__call__ is _stock_server_error_call
            and ExceptionTelemetryMiddleware.__call__ is _stock_telemetry_call
            and _StockExceptionMiddleware.__call__ is _stock_exception_call
            and AsyncExitStackMiddleware.__call__ is _stock_exit_stack_call
            and type(router).__call__ is _stock_router_call
            and plain_exit_stacks(stock_exit_stack.AsyncExitStack)
        ):
            # Looked up now: instrumentation may have replaced Starlette's method.
            await ServerErrorMiddleware.__call__(self, scope, receive, send)
            return
        response_started = False

        async def sender(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            try:
                handlers = (exceptions._exception_handlers, exceptions._status_handlers)
                scope["starlette.exception_handlers"] = handlers
                try:
                    stack = scope[exit_stack.context_name] = stock_exit_stack.AsyncExitStack()
                    try:
                        entry = router.middleware_stack
                        if entry is self._routed_entry:
                            await routed(router, scope, receive, sender)
                        else:
                            await entry(scope, receive, sender)
                    except BaseException as exc:
                        if not await leave_on_error(stack, exc):
                            raise
                    else:
                        if stack._exit_callbacks:
                            await stack.__aexit__(None, None, None)
                except Exception as exc:
                    # Built up front by the middleware from the same values; nothing reads it
                    # before a handler does.
                    conn = stock_exceptions.Request(scope, receive, sender)
                    await answer_exception(exc, handlers, response_started, conn, scope, receive, sender)
            except Exception as exc:
                stock_telemetry._exception(scope=scope, exc=exc)
                raise
        except Exception as exc:
            await answer_server_error(self, exc, response_started, scope, receive, send)
            raise exc
