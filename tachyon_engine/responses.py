"""Mirror of `starlette.responses`: `JSONResponse` renders in Rust."""

from __future__ import annotations

import json
from typing import Any

import starlette.responses
from starlette.responses import (
    AsyncContentStream as AsyncContentStream,
    Content as Content,
    ContentStream as ContentStream,
    FileResponse as FileResponse,
    HTMLResponse as HTMLResponse,
    MalformedRangeHeader as MalformedRangeHeader,
    PlainTextResponse as PlainTextResponse,
    RangeNotSatisfiable as RangeNotSatisfiable,
    RedirectResponse as RedirectResponse,
    Response as Response,
    StreamingResponse as StreamingResponse,
    SyncContentStream as SyncContentStream,
)

from tachyon_engine import _core
from tachyon_engine._patching import original
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

_JSON_DUMPS = json.dumps
# Starlette's own `render`, called explicitly: `install()` puts the method below on Starlette's class.
_stock_json_render = original(starlette.responses.JSONResponse, "render")


class JSONResponse(starlette.responses.JSONResponse):
    def render(self, content: Any) -> bytes:
        """Starlette's `json.dumps(...)` bytes, produced in Rust; anything the Rust encoder
        does not reproduce exactly (NaN, lone surrogates, other types) goes to `json.dumps`."""
        # (install work) A patched `json.dumps` (a test's mock, say) is called as stock would.
        rendered = _core.render_json(content) if json.dumps is _JSON_DUMPS else NotImplemented
        if rendered is NotImplemented:
            return _stock_json_render(self, content)  # type: ignore[no-any-return]
        return rendered
