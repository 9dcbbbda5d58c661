"""`async with AsyncExitStack() as stack:` without its two coroutine calls when they do nothing.

FastAPI opens three `AsyncExitStack`s per request (the middleware's, the request's and the
function's), and most requests push nothing on them. Entering contextlib's stack returns the stack
itself, and leaving one with no callbacks returns `False` without side effects, so with the stock
class and methods a block can be written as:

    stack = AsyncExitStack()
    try:
        ...
    except BaseException as exc:
        if not await leave_on_error(stack, exc):
            raise
    else:
        if stack._exit_callbacks:
            await stack.__aexit__(None, None, None)

which calls `__aexit__` exactly when it could do something, with the arguments and the exception
being handled that `async with` would give it.
"""

from __future__ import annotations

import contextlib
from typing import Any

_STOCK_CLASS = contextlib.AsyncExitStack
_STOCK_ENTER = contextlib.AsyncExitStack.__aenter__
_STOCK_EXIT = contextlib.AsyncExitStack.__aexit__


def plain_exit_stacks(cls: Any) -> bool:
    """Whether `cls` is contextlib's `AsyncExitStack` with its own enter and exit."""
    return cls is _STOCK_CLASS and cls.__aenter__ is _STOCK_ENTER and cls.__aexit__ is _STOCK_EXIT


async def leave_on_error(stack: contextlib.AsyncExitStack, exc: BaseException) -> bool:
    """What `async with` asks the stack when its block raised `exc`: whether to suppress it."""
    if not stack._exit_callbacks:  # type: ignore[attr-defined]
        return False
    return bool(await stack.__aexit__(type(exc), exc, exc.__traceback__))
