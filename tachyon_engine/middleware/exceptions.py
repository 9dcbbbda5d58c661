"""Mirror of `starlette.middleware.exceptions`: handlers receive tachyon_engine's `Request`, and
the default `HTTPException` answer is built from tachyon_engine's response classes."""

from __future__ import annotations

import starlette.middleware.exceptions
import starlette.requests
import starlette.responses

from tachyon_engine._exception_handler import (
    ExceptionHandlers as ExceptionHandlers,
    StatusHandlers as StatusHandlers,
    call_handling_exceptions,
    wrap_app_handling_exceptions as wrap_app_handling_exceptions,
)
from tachyon_engine.engine.targets import stock
from tachyon_engine.exceptions import (
    HTTPException as HTTPException,
    WebSocketException as WebSocketException,
)
from tachyon_engine.requests import (
    Request as Request,
)
from tachyon_engine.responses import (
    PlainTextResponse as PlainTextResponse,
    Response as Response,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    ExceptionHandler as ExceptionHandler,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
from tachyon_engine.websockets import (
    WebSocket as WebSocket,
)

# Starlette's own `__call__`, to notice when an instrumentation library replaced it.
STOCK_CALL = stock("starlette.middleware.exceptions:ExceptionMiddleware.__call__")


class ExceptionMiddleware(starlette.middleware.exceptions.ExceptionMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        current = starlette.middleware.exceptions.ExceptionMiddleware.__call__
        if current is not STOCK_CALL:
            # Someone (sentry-sdk does) replaced Starlette's method: theirs runs, as on stock.
            await current(self, scope, receive, send)
            return
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope["starlette.exception_handlers"] = (self._exception_handlers, self._status_handlers)
        # The connection handed to handlers is built only when a handler runs.
        await call_handling_exceptions(self.app, scope, receive, send)

    async def http_exception(self, request: starlette.requests.Request, exc: Exception) -> starlette.responses.Response:
        """Starlette's default `HTTPException` answer (an empty response for 204 and 304, else the
        detail as plain text, with the exception's headers), from this module's response classes."""
        assert isinstance(exc, HTTPException)
        if exc.status_code in {204, 304}:
            return Response(status_code=exc.status_code, headers=exc.headers)
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)

    # It never reads the request: the lean dispatch skips building one for it.
    http_exception.tachyon_ignores_connection = True  # type: ignore[attr-defined]
