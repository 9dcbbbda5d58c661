"""Mirror of `starlette.middleware.body_limit`."""

from __future__ import annotations

from starlette.middleware.body_limit import (
    _BODY_LIMIT_RESPONDER_SCOPE_KEY as _BODY_LIMIT_RESPONDER_SCOPE_KEY,
    _MISSING as _MISSING,
    MAX_BODY_SIZE_SCOPE_KEY as MAX_BODY_SIZE_SCOPE_KEY,
    RequestBodyLimitMiddleware as RequestBodyLimitMiddleware,
    RequestBodyLimitResponder as RequestBodyLimitResponder,
    _get_content_length as _get_content_length,
    _Missing as _Missing,
    _RequestBodyLimitResponseSent as _RequestBodyLimitResponseSent,
    _RequestBodyTooLarge as _RequestBodyTooLarge,
)

from tachyon_engine.datastructures import (
    Headers as Headers,
)
from tachyon_engine.exceptions import (
    HTTPException as HTTPException,
)
from tachyon_engine.responses import (
    PlainTextResponse as PlainTextResponse,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
