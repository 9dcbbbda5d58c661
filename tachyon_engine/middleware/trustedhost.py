"""Mirror of `starlette.middleware.trustedhost`."""

from __future__ import annotations

from starlette.middleware.trustedhost import (
    ENFORCE_DOMAIN_WILDCARD as ENFORCE_DOMAIN_WILDCARD,
    TrustedHostMiddleware as TrustedHostMiddleware,
)

from tachyon_engine._utils import (
    parse_host_header as parse_host_header,
)
from tachyon_engine.datastructures import (
    URL as URL,
    Headers as Headers,
)
from tachyon_engine.responses import (
    PlainTextResponse as PlainTextResponse,
    RedirectResponse as RedirectResponse,
    Response as Response,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
