"""Mirror of `starlette.middleware.sessions`."""

from __future__ import annotations

from starlette.middleware.sessions import (
    Session as Session,
    SessionMiddleware as SessionMiddleware,
)

from tachyon_engine.datastructures import (
    MutableHeaders as MutableHeaders,
    Secret as Secret,
)
from tachyon_engine.requests import (
    HTTPConnection as HTTPConnection,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
