"""Mirror of `starlette.concurrency`."""

from __future__ import annotations

from starlette.concurrency import (
    P as P,
    T as T,
    _next as _next,
    _StopIteration as _StopIteration,
    iterate_in_threadpool as iterate_in_threadpool,
    run_in_threadpool as run_in_threadpool,
    run_until_first_complete as run_until_first_complete,
)

from tachyon_engine.exceptions import (
    StarletteDeprecationWarning as StarletteDeprecationWarning,
)
