"""Mirror of `starlette.middleware.exceptions`: handlers receive tachyon_engine's `Request`."""

from __future__ import annotations

import starlette.middleware.exceptions

from tachyon_engine._exception_handler import (
    ExceptionHandlers as ExceptionHandlers,
    StatusHandlers as StatusHandlers,
    call_handling_exceptions,
    wrap_app_handling_exceptions as wrap_app_handling_exceptions,
)
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


class ExceptionMiddleware(starlette.middleware.exceptions.ExceptionMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope["starlette.exception_handlers"] = (self._exception_handlers, self._status_handlers)
        # The connection handed to handlers is built only when a handler runs.
        await call_handling_exceptions(self.app, scope, receive, send)
