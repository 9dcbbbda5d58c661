"""Mirror of `starlette.middleware.opentelemetry`."""

from __future__ import annotations

from starlette.middleware.opentelemetry import (
    OpenTelemetryMiddleware as OpenTelemetryMiddleware,
)

from tachyon_engine import (
    __version__ as __version__,
)
from tachyon_engine.datastructures import (
    URL as URL,
)
from tachyon_engine.routing import (
    Mount as Mount,
)
from tachyon_engine.types import (
    ASGIApp as ASGIApp,
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)
