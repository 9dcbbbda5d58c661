"""Mirror of `starlette.endpoints`."""

from __future__ import annotations

from starlette.endpoints import (
    HTTPEndpoint as HTTPEndpoint,
    WebSocketEndpoint as WebSocketEndpoint,
)

from tachyon_engine import (
    status as status,
)
from tachyon_engine._utils import (
    is_async_callable as is_async_callable,
)
from tachyon_engine.concurrency import (
    run_in_threadpool as run_in_threadpool,
)
from tachyon_engine.exceptions import (
    HTTPException as HTTPException,
)
from tachyon_engine.requests import (
    Request as Request,
)
from tachyon_engine.responses import (
    PlainTextResponse as PlainTextResponse,
    Response as Response,
)
from tachyon_engine.types import (
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
from tachyon_engine.websockets import (
    WebSocket as WebSocket,
)
