"""Helpers for differential tests: run the same operation on stock Starlette and on
tachyon_engine and compare everything observable, exceptions included."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from starlette.types import ASGIApp, Message, Scope


def outcome(operation: Callable[[], Any]) -> tuple[str, Any]:
    """`("value", result)` or `("raised", (exception type, message))`."""
    try:
        return "value", operation()
    except Exception as exc:
        return "raised", (type(exc), str(exc))


class Recording(NamedTuple):
    sent: list[Message]
    raised: Exception | None


async def drive_asgi(app: ASGIApp, scope: Scope, requests: Iterable[Message]) -> Recording:
    """Run `app` on `scope`, its `receive` handing out `requests` in order and then waiting
    forever (a client that never disconnects): what the app passed to `send`, and the exception
    it raised, if any. The app may update `scope`, which the caller can inspect afterwards."""
    pending = iter(requests)
    sent: list[Message] = []

    async def receive() -> Message:
        message = next(pending, None)
        while message is None:
            await asyncio.Event().wait()
        return message

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        await app(scope, receive, send)
    except Exception as exc:
        return Recording(sent, exc)
    return Recording(sent, None)
