"""Mirror of `starlette.middleware.errors`."""

from __future__ import annotations

from starlette.middleware.errors import (
    CENTER_LINE as CENTER_LINE,
    FRAME_TEMPLATE as FRAME_TEMPLATE,
    JS as JS,
    LINE as LINE,
    STYLES as STYLES,
    TEMPLATE as TEMPLATE,
    ServerErrorMiddleware as ServerErrorMiddleware,
)

from tachyon_engine._utils import (
    is_async_callable as is_async_callable,
)
from tachyon_engine.concurrency import (
    run_in_threadpool as run_in_threadpool,
)
from tachyon_engine.requests import (
    Request as Request,
)
from tachyon_engine.responses import (
    HTMLResponse as HTMLResponse,
    PlainTextResponse as PlainTextResponse,
    Response as Response,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    ExceptionHandler as ExceptionHandler,
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
