"""Mirror of `starlette.responses`."""

from __future__ import annotations

from starlette.responses import (
    AsyncContentStream as AsyncContentStream,
    Content as Content,
    ContentStream as ContentStream,
    FileResponse as FileResponse,
    HTMLResponse as HTMLResponse,
    JSONResponse as JSONResponse,
    MalformedRangeHeader as MalformedRangeHeader,
    PlainTextResponse as PlainTextResponse,
    RangeNotSatisfiable as RangeNotSatisfiable,
    RedirectResponse as RedirectResponse,
    Response as Response,
    StreamingResponse as StreamingResponse,
    SyncContentStream as SyncContentStream,
)

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
