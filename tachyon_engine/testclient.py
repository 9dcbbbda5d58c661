"""Mirror of `starlette.testclient`."""

from __future__ import annotations

from starlette.testclient import (
    ASGI2App as ASGI2App,
    ASGI3App as ASGI3App,
    ASGIInstance as ASGIInstance,
    TestClient as TestClient,
    WebSocketDenialResponse as WebSocketDenialResponse,
    WebSocketTestSession as WebSocketTestSession,
    _AsyncBackend as _AsyncBackend,
    _is_asgi3 as _is_asgi3,
    _PortalFactoryType as _PortalFactoryType,
    _RequestData as _RequestData,
    _TestClientResponseStream as _TestClientResponseStream,
    _TestClientTransport as _TestClientTransport,
    _Upgrade as _Upgrade,
    _WrapASGI2 as _WrapASGI2,
)

from tachyon_engine._utils import (
    is_async_callable as is_async_callable,
)
from tachyon_engine.exceptions import (
    StarletteDeprecationWarning as StarletteDeprecationWarning,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
from tachyon_engine.websockets import (
    WebSocketDisconnect as WebSocketDisconnect,
)
