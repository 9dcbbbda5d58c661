"""Mirror of `starlette.middleware.httpsredirect`."""

from __future__ import annotations

from starlette.middleware.httpsredirect import (
    HTTPSRedirectMiddleware as HTTPSRedirectMiddleware,
)

from tachyon_engine.datastructures import (
    URL as URL,
)
from tachyon_engine.responses import (
    PlainTextResponse as PlainTextResponse,
    RedirectResponse as RedirectResponse,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
