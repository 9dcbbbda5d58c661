"""`BaseHTTPMiddleware.__call__` on asyncio's own primitives.

Starlette's method runs the app in a task of an AnyIO task group and passes its messages through
an unbuffered AnyIO memory object stream; on asyncio, AnyIO's layers (backend lookups through
sniffio, cancel scopes, checkpoints) cost about 100 µs per request, more than ten hello-world
requests. This is the same method with the same structure: the app in its own task (started
where `call_next` is awaited, so it sees the dispatch's context variables, and its own changes
stay in its task), the same rendezvous between the app's `send` and the response's body
iterator, the same `response_sent` event, the same exceptions (`anyio.EndOfStream` as the context of an app
error raised by `call_next`, `anyio.BrokenResourceError` swallowed after the response was sent,
a task group's single error collapsed as `create_collapsing_task_group` collapses it).

`_CachedRequest`, `_StreamingResponse` and the race in `receive_or_disconnect` (AnyIO's task
group, as Starlette wrote it) are Starlette's own. Under another event loop (trio), or with
another AnyIO release than the ones verified, Starlette's method runs.

One difference, on purpose: AnyIO makes every stream `send`/`receive` and every `Event.wait()` a
checkpoint (one `sleep(0)` on asyncio); here only a call that waits, or fails at once (so an app
that keeps sending after the response still yields to its cancel scopes), suspends. That halves
the loop passes per request; each request's own order of events is Starlette's, while concurrent
requests interleave with each other differently.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import starlette.middleware.base

from tachyon_engine.engine.targets import PATCH_BY_NAME, patch_unverified_reason, stock
from tachyon_engine.types import Message, Receive, Scope, Send

stock_base: Any = starlette.middleware.base
STOCK_CALL = stock("starlette.middleware.base:BaseHTTPMiddleware.__call__")

# Starlette's method and the AnyIO pieces reproduced here: where any is not a verified source,
# Starlette's method runs.
ENABLED = patch_unverified_reason(PATCH_BY_NAME["starlette.middleware.base.BaseHTTPMiddleware.__call__"]) is None

T = TypeVar("T")
_sleep = asyncio.sleep


class _Event:
    """`anyio.Event` on asyncio, without its checkpoint when `wait()` finds it set."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] = []

    def set(self) -> None:
        if not self._set:
            self._set = True
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def is_set(self) -> bool:
        return self._set

    async def wait(self) -> None:
        if self._set:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            self._waiters.remove(waiter)


class _Channel:
    """An unbuffered AnyIO memory object stream (one send side, one receive side): an item passes
    only from a waiting sender to a receiver or to a waiting receiver, in arrival order."""

    __slots__ = ("send_open", "receive_open", "waiting_senders", "waiting_receivers")

    def __init__(self) -> None:
        self.send_open = True
        self.receive_open = True
        # [future, item] per waiting sender; [future, item holder] per waiting receiver.
        self.waiting_senders: deque[list[Any]] = deque()
        self.waiting_receivers: deque[list[Any]] = deque()

    async def send(self, item: Message) -> None:
        if not (self.send_open and self.receive_open):
            # AnyIO's checkpoint first: an app that keeps sending after the response was sent
            # still yields, so its cancel scopes (timeouts, disconnect watchers) can act.
            await _sleep(0)
            raise anyio.ClosedResourceError if not self.send_open else anyio.BrokenResourceError
        while self.waiting_receivers:
            entry = self.waiting_receivers.popleft()
            if not entry[0].cancelled():
                entry[1] = [item]
                entry[0].set_result(None)
                return
        entry = [asyncio.get_running_loop().create_future(), item]
        self.waiting_senders.append(entry)
        try:
            await entry[0]
        except BaseException:
            if entry in self.waiting_senders:
                self.waiting_senders.remove(entry)
            raise
        if entry in self.waiting_senders:  # woken by the receive side closing
            self.waiting_senders.remove(entry)
            raise anyio.BrokenResourceError from None

    async def receive(self) -> Message:
        if not self.receive_open:
            await _sleep(0)
            raise anyio.ClosedResourceError
        if self.waiting_senders:
            # (A sender cancelled while waiting still hands its item over, as in AnyIO.)
            entry = self.waiting_senders.popleft()
            if not entry[0].done():
                entry[0].set_result(None)
            item: Message = entry[1]
            return item
        if not self.send_open:
            await _sleep(0)
            raise anyio.EndOfStream
        entry = [asyncio.get_running_loop().create_future(), None]
        self.waiting_receivers.append(entry)
        try:
            await entry[0]
        finally:
            if entry in self.waiting_receivers:
                self.waiting_receivers.remove(entry)
        if entry[1] is None:  # woken by the send side closing
            raise anyio.EndOfStream from None
        received: Message = entry[1][0]
        return received

    def __aiter__(self) -> _Channel:
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def close_send(self) -> None:
        if self.send_open:
            self.send_open = False
            receivers = list(self.waiting_receivers)
            self.waiting_receivers.clear()
            for entry in receivers:
                if not entry[0].done():
                    entry[0].set_result(None)

    def close_receive(self) -> None:
        if self.receive_open:
            self.receive_open = False
            for entry in list(self.waiting_senders):
                if not entry[0].done():
                    entry[0].set_result(None)


async def base_http_call(self: Any, scope: Scope, receive: Receive, send: Send) -> None:
    """`BaseHTTPMiddleware.__call__` (see the module's docstring)."""
    if scope["type"] != "http":
        await self.app(scope, receive, send)
        return
    loop = asyncio._get_running_loop()
    if loop is None or not ENABLED:
        await STOCK_CALL(self, scope, receive, send)
        return

    request = stock_base._CachedRequest(scope, receive, send)
    wrapped_receive = request.wrapped_receive
    response_sent = _Event()
    app_exc: Exception | None = None
    exception_already_raised = False
    channel = _Channel()
    tasks: list[asyncio.Task[None]] = []
    active = True

    async def call_next(request: Any) -> Any:
        async def receive_or_disconnect() -> Message:
            if response_sent.is_set():
                return {"type": "http.disconnect"}

            async with anyio.create_task_group() as task_group:

                async def wrap(func: Callable[[], Awaitable[T]]) -> T:
                    result = await func()
                    task_group.cancel_scope.cancel()
                    return result

                task_group.start_soon(wrap, response_sent.wait)
                message: Message = await wrap(wrapped_receive)

            if response_sent.is_set():
                return {"type": "http.disconnect"}

            return message

        async def send_no_error(message: Message) -> None:
            try:
                await channel.send(message)
            except anyio.BrokenResourceError:
                # The receive side has been closed, i.e. response_sent has been set.
                return

            if message["type"] == "http.response.pathsend" or (
                message["type"] == "http.response.body" and not message.get("more_body", False)
            ):
                await response_sent.wait()

        async def coro() -> None:
            nonlocal app_exc

            try:
                try:
                    await self.app(scope, receive_or_disconnect, send_no_error)
                except Exception as exc:
                    app_exc = exc
            finally:
                channel.close_send()

        if not active:
            raise RuntimeError("This task group is not active; no new tasks can be started.")
        tasks.append(loop.create_task(coro()))

        try:
            info = None
            while True:
                message = await channel.receive()
                if message["type"] == "http.response.debug":
                    info = message["info"]
                    continue
                elif message["type"] == "http.response.early_hint":
                    await send(message)
                    continue
                break
        except anyio.EndOfStream:
            if app_exc is not None:
                nonlocal exception_already_raised
                exception_already_raised = True
                # As Starlette raises it: the app's exception, its context (the
                # `anyio.EndOfStream` being handled) suppressed unless it had a cause or context.
                raise app_exc from app_exc.__cause__ or app_exc.__context__
            raise RuntimeError("No response returned.")  # noqa: B904 (Starlette's: the EndOfStream as context)

        assert message["type"] == "http.response.start"

        async def body_stream() -> Any:
            async for message in channel:
                if message["type"] == "http.response.pathsend":
                    yield message
                    break
                assert message["type"] == "http.response.body", f"Unexpected message: {message}"
                body = message.get("body", b"")
                if body:
                    yield body
                if not message.get("more_body", False):
                    break

        response = stock_base._StreamingResponse(status_code=message["status"], content=body_stream(), info=info)
        response.raw_headers = message.get("headers", [])
        return response

    try:
        try:
            response = await self.dispatch_func(request, call_next)
            await response(scope, wrapped_receive, send)
            response_sent.set()
            channel.close_receive()
        except BaseException as exc:
            await _leave_group(tasks, exc)  # raises
        else:
            await _leave_group(tasks, None)
    finally:
        active = False
        channel.close_send()
        channel.close_receive()
    if app_exc is not None and not exception_already_raised:
        raise app_exc


async def _leave_group(tasks: list[asyncio.Task[None]], exc: BaseException | None) -> None:
    """AnyIO's `TaskGroup.__aexit__` on asyncio, as `create_collapsing_task_group` leaves it: on an
    error, the children cancelled; the children awaited (a checkpoint when there are none); then
    the error, or the single one, re-raised as that function re-raises it."""
    if exc is not None:
        for task in tasks:
            task.cancel()
    errors: list[BaseException] = []
    if exc is not None and not isinstance(exc, asyncio.CancelledError):
        errors.append(exc)
    pending = [task for task in tasks if not task.done()]
    if not pending:
        await _sleep(0)
    host_cancelled = False
    while pending:
        try:
            # Awaiting the task itself: the host wakes in the loop pass after the task ends.
            await pending[0]
        except asyncio.CancelledError:
            if pending[0].done():
                pass  # the child was cancelled: its result is read below
            else:
                # The host was cancelled while waiting: the children are cancelled and still awaited.
                host_cancelled = True
                for task in pending:
                    task.cancel()
        except BaseException:
            pass  # the child's error: read below
        pending = [task for task in pending if not task.done()]
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            errors.append(task.exception())  # type: ignore[arg-type]
    if errors:
        try:
            raise BaseExceptionGroup("unhandled errors in a TaskGroup", errors)
        except BaseExceptionGroup as group:
            if len(group.exceptions) != 1:
                raise
            error = group.exceptions[0]
            context = None if error.__suppress_context__ else error.__context__
            raise error from error.__cause__ or context
    if exc is not None or host_cancelled:
        raise exc if exc is not None else asyncio.CancelledError()
