"""Mirror of `starlette.templating`."""

from __future__ import annotations

from starlette.templating import (
    Jinja2Templates as Jinja2Templates,
    _TemplateResponse as _TemplateResponse,
    pass_context as pass_context,
)

from tachyon_engine.background import (
    BackgroundTask as BackgroundTask,
)
from tachyon_engine.datastructures import (
    URL as URL,
)
from tachyon_engine.requests import (
    Request as Request,
)
from tachyon_engine.responses import (
    HTMLResponse as HTMLResponse,
)
from tachyon_engine.types import (
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
