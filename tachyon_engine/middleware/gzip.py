"""Mirror of `starlette.middleware.gzip`."""

from __future__ import annotations

from starlette.middleware.gzip import (
    DEFAULT_EXCLUDED_CONTENT_TYPES as DEFAULT_EXCLUDED_CONTENT_TYPES,
    GZipMiddleware as GZipMiddleware,
    GZipResponder as GZipResponder,
    IdentityResponder as IdentityResponder,
    _get_gzip_capacity_limiter as _get_gzip_capacity_limiter,
    _gzip_capacity_limiter as _gzip_capacity_limiter,
    _normalize_content_types as _normalize_content_types,
    unattached_send as unattached_send,
)

from tachyon_engine.datastructures import (
    Headers as Headers,
    MutableHeaders as MutableHeaders,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
