"""Mirror of `starlette.background`."""

from __future__ import annotations

from starlette.background import (
    BackgroundTask as BackgroundTask,
    BackgroundTasks as BackgroundTasks,
    P as P,
)

from tachyon_engine._utils import (
    is_async_callable as is_async_callable,
)
from tachyon_engine.concurrency import (
    run_in_threadpool as run_in_threadpool,
)
