"""Mirror of `starlette.authentication`."""

from __future__ import annotations

from starlette.authentication import (
    _P as _P,
    AuthCredentials as AuthCredentials,
    AuthenticationBackend as AuthenticationBackend,
    AuthenticationError as AuthenticationError,
    BaseUser as BaseUser,
    SimpleUser as SimpleUser,
    UnauthenticatedUser as UnauthenticatedUser,
    has_required_scope as has_required_scope,
    requires as requires,
)

from tachyon_engine._utils import (
    is_async_callable as is_async_callable,
)
from tachyon_engine.exceptions import (
    HTTPException as HTTPException,
)
from tachyon_engine.requests import (
    HTTPConnection as HTTPConnection,
    Request as Request,
)
from tachyon_engine.responses import (
    RedirectResponse as RedirectResponse,
)
from tachyon_engine.websockets import (
    WebSocket as WebSocket,
)
