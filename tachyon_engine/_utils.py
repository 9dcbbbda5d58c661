"""Mirror of `starlette._utils`."""

from __future__ import annotations

from starlette._utils import (
    _HOST_RE as _HOST_RE,
    AwaitableCallable as AwaitableCallable,
    AwaitableOrContextManager as AwaitableOrContextManager,
    AwaitableOrContextManagerWrapper as AwaitableOrContextManagerWrapper,
    ParsedHost as ParsedHost,
    SupportsAsyncClose as SupportsAsyncClose,
    SupportsAsyncCloseType as SupportsAsyncCloseType,
    T as T,
    T_co as T_co,
    create_collapsing_task_group as create_collapsing_task_group,
    get_route_path as get_route_path,
    is_async_callable as is_async_callable,
    parse_host_header as parse_host_header,
)

from tachyon_engine.types import (
    Scope as Scope,
)
