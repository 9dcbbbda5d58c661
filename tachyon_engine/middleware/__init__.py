"""Mirror of `starlette.middleware`."""

from __future__ import annotations

from starlette.middleware import (
    Middleware as Middleware,
    P as P,
    _ASGIApp as _ASGIApp,
    _MiddlewareFactory as _MiddlewareFactory,
    _Receive as _Receive,
    _Scope as _Scope,
    _Send as _Send,
)
