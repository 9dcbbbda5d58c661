"""Mirror of `starlette.websockets`: `WebSocket` shares the Rust-backed connection properties."""

from __future__ import annotations

import json
from typing import Any

import starlette.websockets
from starlette.websockets import (
    WebSocketClose as WebSocketClose,
    WebSocketDisconnect as WebSocketDisconnect,
    WebSocketDisconnected as WebSocketDisconnected,
    WebSocketState as WebSocketState,
)

from tachyon_engine.engine.bindings import json as rust_json
from tachyon_engine.requests import (
    HTTPConnection as HTTPConnection,
    StateT as StateT,
    _loads,
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

_JSON_DUMPS = json.dumps


def _dumps(data: Any) -> str:
    """`json.dumps(data, separators=(",", ":"), ensure_ascii=False)`, in Rust when exact."""
    if json.dumps is not _JSON_DUMPS:  # patched (a test's mock, say): called as stock would
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    text = rust_json.dumps_json(data)
    if text is NotImplemented:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text


class WebSocket(HTTPConnection, starlette.websockets.WebSocket):
    """Starlette's `WebSocket` with the accelerated headers, query params and cookies, and
    JSON messages encoded in Rust."""

    async def receive_json(self, mode: str = "text") -> Any:
        if mode not in {"text", "binary"}:
            raise RuntimeError('The "mode" argument should be "text" or "binary".')
        if self.application_state != WebSocketState.CONNECTED:
            raise WebSocketDisconnected('WebSocket is not connected. Need to call "accept" first.')
        message = await self.receive()
        self._raise_on_disconnect(message)
        text = message["text"] if mode == "text" else message["bytes"].decode("utf-8")
        return _loads(text)

    async def send_json(self, data: Any, mode: str = "text") -> None:
        if mode not in {"text", "binary"}:
            raise RuntimeError('The "mode" argument should be "text" or "binary".')
        text = _dumps(data)
        if mode == "text":
            await self.send({"type": "websocket.send", "text": text})
        else:
            await self.send({"type": "websocket.send", "bytes": text.encode("utf-8")})
