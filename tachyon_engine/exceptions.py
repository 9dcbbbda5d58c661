"""Mirror of `starlette.exceptions`."""

from __future__ import annotations

from starlette.exceptions import (
    HTTPException as HTTPException,
    StarletteDeprecationWarning as StarletteDeprecationWarning,
    WebSocketException as WebSocketException,
)
