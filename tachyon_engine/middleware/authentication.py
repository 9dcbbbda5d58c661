"""Mirror of `starlette.middleware.authentication`."""

from __future__ import annotations

from starlette.middleware.authentication import (
    AuthenticationMiddleware as AuthenticationMiddleware,
)

from tachyon_engine.authentication import (
    AuthCredentials as AuthCredentials,
    AuthenticationBackend as AuthenticationBackend,
    AuthenticationError as AuthenticationError,
    UnauthenticatedUser as UnauthenticatedUser,
)
from tachyon_engine.requests import (
    HTTPConnection as HTTPConnection,
)
from tachyon_engine.responses import (
    PlainTextResponse as PlainTextResponse,
    Response as Response,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
