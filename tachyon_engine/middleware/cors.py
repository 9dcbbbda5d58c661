"""Mirror of `starlette.middleware.cors`."""

from __future__ import annotations

from starlette.middleware.cors import (
    ALL_METHODS as ALL_METHODS,
    SAFELISTED_HEADERS as SAFELISTED_HEADERS,
    CORSMiddleware as CORSMiddleware,
)

from tachyon_engine.datastructures import (
    Headers as Headers,
    MutableHeaders as MutableHeaders,
)
from tachyon_engine.responses import (
    PlainTextResponse as PlainTextResponse,
    Response as Response,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
