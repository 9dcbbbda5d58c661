"""Mirror of `starlette.middleware.base`."""

from __future__ import annotations

from starlette.middleware.base import (
    AsyncContentStream as AsyncContentStream,
    BaseHTTPMiddleware as BaseHTTPMiddleware,
    BodyStreamGenerator as BodyStreamGenerator,
    DispatchFunction as DispatchFunction,
    RequestResponseEndpoint as RequestResponseEndpoint,
    T as T,
    _CachedRequest as _CachedRequest,
    _StreamingResponse as _StreamingResponse,
)

from tachyon_engine._utils import (
    create_collapsing_task_group as create_collapsing_task_group,
)
from tachyon_engine.requests import (
    ClientDisconnect as ClientDisconnect,
    Request as Request,
)
from tachyon_engine.responses import (
    Response as Response,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
