"""Mirror of `starlette.websockets`: `WebSocket` shares the Rust-backed connection properties."""

from __future__ import annotations

import starlette.websockets
from starlette.websockets import (
    WebSocketClose as WebSocketClose,
    WebSocketDisconnect as WebSocketDisconnect,
    WebSocketDisconnected as WebSocketDisconnected,
    WebSocketState as WebSocketState,
)

from tachyon_engine.requests import (
    HTTPConnection as HTTPConnection,
    StateT as StateT,
)
from tachyon_engine.responses import (
    Response as Response,
)
from tachyon_engine.types import (
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)


class WebSocket(HTTPConnection, starlette.websockets.WebSocket):
    """Starlette's `WebSocket` with the accelerated headers, query params and cookies."""
