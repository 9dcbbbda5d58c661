"""Mirror of `starlette.staticfiles`."""

from __future__ import annotations

from starlette.staticfiles import (
    NotModifiedResponse as NotModifiedResponse,
    PathLike as PathLike,
    StaticFiles as StaticFiles,
)

from tachyon_engine._utils import (
    get_route_path as get_route_path,
)
from tachyon_engine.datastructures import (
    URL as URL,
    Headers as Headers,
)
from tachyon_engine.exceptions import (
    HTTPException as HTTPException,
)
from tachyon_engine.responses import (
    FileResponse as FileResponse,
    RedirectResponse as RedirectResponse,
    Response as Response,
)
from tachyon_engine.types import (
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
from tachyon_engine.websockets import (
    WebSocketClose as WebSocketClose,
)
