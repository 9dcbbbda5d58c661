"""Mirror of `starlette.types`."""

from __future__ import annotations

from starlette.types import (
    AppType as AppType,
    ASGIApp as ASGIApp,
    ExceptionHandler as ExceptionHandler,
    HTTPExceptionHandler as HTTPExceptionHandler,
    Lifespan as Lifespan,
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
    StatefulLifespan as StatefulLifespan,
    StatelessLifespan as StatelessLifespan,
    WebSocketExceptionHandler as WebSocketExceptionHandler,
)
