"""Mirror of `starlette.middleware.wsgi`, deprecated like it, under this module's name."""

from __future__ import annotations

import warnings

from tachyon_engine.exceptions import StarletteDeprecationWarning

# Importing Starlette's module warns in Starlette's name (once per process); this module
# warns in its own name instead, every time it is first imported.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    import starlette.middleware.wsgi  # noqa: F401

from starlette.middleware.wsgi import (
    WSGIMiddleware as WSGIMiddleware,
    WSGIResponder as WSGIResponder,
    build_environ as build_environ,
)

from tachyon_engine._utils import (
    create_collapsing_task_group as create_collapsing_task_group,
)
from tachyon_engine.exceptions import (
    StarletteDeprecationWarning as StarletteDeprecationWarning,
)
from tachyon_engine.types import (
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)

warnings.warn(
    f"{__name__} is deprecated and will be removed in a future release. "
    "Please refer to https://github.com/abersheeran/a2wsgi as a replacement.",
    StarletteDeprecationWarning,
    stacklevel=2,
)
