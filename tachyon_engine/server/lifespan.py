"""The ASGI lifespan protocol, as uvicorn runs it: `auto` tolerates an app without lifespan
support, `on` requires it, `off` skips it. The state the app fills at startup is shared with every
request as a shallow copy (`scope["state"]`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

logger = logging.getLogger("tachyon.error")

_TRANSITION = "Got invalid state transition on lifespan protocol."


class Lifespan:
    def __init__(self, app: Any, mode: str) -> None:
        self.app = app
        self.mode = mode
        self.state: dict[str, Any] = {}
        self.should_exit = False
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._started = asyncio.Event()
        self._stopped = asyncio.Event()
        self._error = False
        self._startup_failed = False
        self._shutdown_failed = False
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        if self.mode == "off":
            return
        logger.info("Waiting for application startup.")
        self._task = asyncio.get_running_loop().create_task(self._main())
        await self._queue.put({"type": "lifespan.startup"})
        await self._started.wait()
        if self._startup_failed or (self._error and self.mode == "on"):
            logger.error("Application startup failed. Exiting.")
            self.should_exit = True
        else:
            logger.info("Application startup complete.")

    async def shutdown(self) -> None:
        if self.mode == "off" or self._error:
            return
        logger.info("Waiting for application shutdown.")
        await self._queue.put({"type": "lifespan.shutdown"})
        await self._stopped.wait()
        if self._shutdown_failed or (self._error and self.mode == "on"):
            logger.error("Application shutdown failed. Exiting.")
            self.should_exit = True
        else:
            logger.info("Application shutdown complete.")

    async def _main(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self._receive, self._send)
        except BaseException as exc:
            self._error = True
            if self._startup_failed or self._shutdown_failed:
                return
            if self.mode == "auto":
                logger.info("ASGI 'lifespan' protocol appears unsupported.")
            else:
                logger.error("Exception in 'lifespan' protocol\n", exc_info=exc)
        finally:
            self._started.set()
            self._stopped.set()

    async def _send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        assert kind in (
            "lifespan.startup.complete",
            "lifespan.startup.failed",
            "lifespan.shutdown.complete",
            "lifespan.shutdown.failed",
        )
        if kind.startswith("lifespan.startup."):
            assert not self._started.is_set(), _TRANSITION
            assert not self._stopped.is_set(), _TRANSITION
            self._started.set()
            if kind == "lifespan.startup.failed":
                self._startup_failed = True
                if message.get("message"):
                    logger.error(message["message"])
        else:
            assert self._started.is_set(), _TRANSITION
            assert not self._stopped.is_set(), _TRANSITION
            self._stopped.set()
            if kind == "lifespan.shutdown.failed":
                self._shutdown_failed = True
                if message.get("message"):
                    logger.error(message["message"])

    async def _receive(self) -> dict[str, Any]:
        return await self._queue.get()
