"""Mirror of `starlette.responses`: every response class builds its headers in Rust, and
`JSONResponse` renders in Rust.

Each class here subclasses Starlette's class of the same name, then this module's `Response`
(which only replaces `init_headers`), so Starlette's own constructors run unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import starlette.responses
from starlette.responses import (
    AsyncContentStream as AsyncContentStream,
    Content as Content,
    ContentStream as ContentStream,
    MalformedRangeHeader as MalformedRangeHeader,
    RangeNotSatisfiable as RangeNotSatisfiable,
    SyncContentStream as SyncContentStream,
)

from tachyon_engine import _core
from tachyon_engine._utils import (
    create_collapsing_task_group as create_collapsing_task_group,
)
from tachyon_engine.background import (
    BackgroundTask as BackgroundTask,
)
from tachyon_engine.concurrency import (
    iterate_in_threadpool as iterate_in_threadpool,
)
from tachyon_engine.datastructures import (
    URL as URL,
    Headers as Headers,
    MutableHeaders as MutableHeaders,
)
from tachyon_engine.requests import (
    ClientDisconnect as ClientDisconnect,
)
from tachyon_engine.types import (
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)


class Response(starlette.responses.Response):
    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Starlette's `raw_headers` (the given headers, then `content-length` and `content-type`
        unless given), built in Rust; other mappings and unusual text take Starlette's method."""
        body = getattr(self, "body", None)
        raw_headers = _core.init_headers(headers, body, self.status_code, self.media_type, self.charset)
        if raw_headers is NotImplemented:
            super().init_headers(headers)
        else:
            self.raw_headers = raw_headers


class HTMLResponse(starlette.responses.HTMLResponse, Response):
    pass


class PlainTextResponse(starlette.responses.PlainTextResponse, Response):
    pass


class JSONResponse(starlette.responses.JSONResponse, Response):
    def render(self, content: Any) -> bytes:
        """Starlette's `json.dumps(...)` bytes, produced in Rust; anything the Rust encoder
        does not reproduce exactly (NaN, lone surrogates, other types) goes to `json.dumps`."""
        rendered = _core.render_json(content)
        if rendered is NotImplemented:
            return super().render(content)
        return rendered


class RedirectResponse(starlette.responses.RedirectResponse, Response):
    pass


class StreamingResponse(starlette.responses.StreamingResponse, Response):
    pass


class FileResponse(starlette.responses.FileResponse, Response):
    pass
