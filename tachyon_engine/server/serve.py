"""One server process: the app's asyncio loop on this thread, the native HTTP server (hyper and
tokio) on a thread of its own, and the bridge between them. Each readable eventfd drains every
request queued since the last one; each request runs as one asyncio task, like uvicorn's."""

from __future__ import annotations

import asyncio
import http
import logging
import random
import signal
import socket
import sys
import time
from typing import Any

from tachyon_engine.server import logs
from tachyon_engine.server.bindings import ClientDisconnected, HttpCycle, NativeServer, TlsConfig, WebSocketCycle
from tachyon_engine.server.config import Config
from tachyon_engine.server.lifespan import Lifespan
from tachyon_engine.server.proxy import ProxyHeaders

logger = logs.error_logger

_500_START = {
    "type": "http.response.start",
    "status": 500,
    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21"), (b"connection", b"close")],
}
_500_BODY = {"type": "http.response.body", "body": b"Internal Server Error", "more_body": False}
# Python's reason phrases (uvicorn's status lines), where hyper's differ.
_REASON_PHRASES = [(status.value, status.phrase.encode()) for status in http.HTTPStatus]


def _url(config: Config, sock: socket.socket) -> str:
    scheme = "https" if config.is_ssl else "http"
    if config.uds:
        return f"{scheme}://unix:{config.uds}"
    if config.fd is not None:
        return f"socket {sock.getsockname()!r}"
    host, port = sock.getsockname()[:2]
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


class Server:
    def __init__(self, config: Config, app: Any) -> None:
        self.config = config
        self.app = app
        self.should_exit = False
        self.force_exit = False
        self.active = 0
        self.started = 0
        self.max_requests: int | None = None
        if config.limit_max_requests is not None:
            self.max_requests = config.limit_max_requests + random.randint(0, config.limit_max_requests_jitter)

    async def _run(self, cycle: Any) -> None:
        try:
            result = await self.app(cycle.scope, cycle.receive, cycle.send)
        except BaseException as exc:
            if isinstance(exc, ClientDisconnected) and cycle.disconnected:
                pass  # the client left: nothing to answer, nothing to report
            else:
                logger.error("Exception in ASGI application\n", exc_info=exc)
                await self._fail(cycle)
        else:
            if result is None and cycle.response_complete:
                pass  # the usual case, in one check
            elif result is not None:
                logger.error("ASGI callable should return None, but returned '%s'.", result)
                cycle.abort()
            elif not cycle.response_started and not cycle.disconnected:
                logger.error("ASGI callable returned without starting response.")
                await self._fail(cycle)
            elif not cycle.disconnected:
                logger.error("ASGI callable returned without completing response.")
                cycle.abort()
        finally:
            self.active -= 1

    async def _run_websocket(self, cycle: WebSocketCycle) -> None:
        try:
            result = await self.app(cycle.scope, cycle.receive, cycle.send)
        except ClientDisconnected:
            pass  # the client left: nothing to answer, nothing to report
        except BaseException as exc:
            logger.error("Exception in ASGI application\n", exc_info=exc)
            cycle.refuse_with_500()
        else:
            if not cycle.handshake_complete:
                logger.error("ASGI callable returned without completing handshake.")
                cycle.refuse_with_500()
            elif result is not None:
                logger.error("ASGI callable should return None, but returned '%s'.", result)
        finally:
            cycle.finish()
            self.active -= 1

    async def _fail(self, cycle: Any) -> None:
        if cycle.response_started:
            cycle.abort()
        elif not cycle.disconnected:
            try:
                await cycle.send(_500_START)
                await cycle.send(_500_BODY)
            except OSError:
                pass

    def _on_readable(self) -> None:
        cycles = self.native.drain()
        if not cycles:
            return
        create_task = self.loop.create_task
        run = self._run
        for cycle in cycles:
            if type(cycle) is HttpCycle:
                create_task(run(cycle))
            else:
                create_task(self._run_websocket(cycle))
        self.active += len(cycles)
        self.started += len(cycles)
        if self.max_requests is not None and self.started >= self.max_requests and not self.should_exit:
            logger.warning("Maximum request limit of %d exceeded. Terminating process.", self.max_requests)
            self.should_exit = True

    def _on_signal(self, number: int) -> None:
        if self.should_exit and number == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True

    async def serve(self, sock: socket.socket) -> int:
        self.loop = asyncio.get_running_loop()
        try:
            tls = TlsConfig(**self.config.tls_material()) if self.config.is_ssl else None
        except (OSError, ValueError) as exc:
            logger.error("Cannot set up TLS: %s", exc)
            return 1
        lifespan = Lifespan(self.app, self.config.lifespan)
        await lifespan.startup()
        if lifespan.should_exit:
            return 3
        config = self.config
        self.native = NativeServer(
            sock.fileno(),
            create_future=self.loop.create_future,
            call_soon=self.loop.call_soon,
            log=logs.server_log,
            state=lifespan.state,
            root_path=config.root_path,
            access_log=logs.access_log if config.access_log and logs.access_logger.isEnabledFor(logging.INFO) else None,
            proxy_headers=ProxyHeaders(config.forwarded_allow_ips or "127.0.0.1") if config.proxy_headers else None,
            date_header=config.date_header,
            headers=config.encoded_headers(),
            reason_phrases=_REASON_PHRASES,
            timeout_keep_alive=float(config.timeout_keep_alive),
            max_headers=config.limit_header_count,
            max_header_size=config.limit_header_size,
            limit_concurrency=config.limit_concurrency,
            ws=config.ws != "none",
            ws_max_size=config.ws_max_size,
            ws_max_queue=config.ws_max_queue,
            ws_ping_interval=config.ws_ping_interval,
            ws_ping_timeout=config.ws_ping_timeout,
            websocket_log=logs.websocket_log,
            http=config.http,
            scheme="https" if config.is_ssl else "http",
            tls=tls,
        )
        self.loop.add_reader(self.native.fileno(), self._on_readable)
        for number in (signal.SIGINT, signal.SIGTERM):
            try:
                self.loop.add_signal_handler(number, self._on_signal, number)
            except (NotImplementedError, RuntimeError):  # not the main thread
                pass
        logger.info("Tachyon running on %s (Press CTRL+C to quit)", _url(config, sock))
        try:
            while not self.should_exit:
                await asyncio.sleep(0.1)
            await self._shutdown()
        finally:
            self.loop.remove_reader(self.native.fileno())
            for number in (signal.SIGINT, signal.SIGTERM):
                try:
                    self.loop.remove_signal_handler(number)
                except (NotImplementedError, RuntimeError):
                    pass
        await lifespan.shutdown()
        return 3 if lifespan.should_exit else 0

    async def _shutdown(self) -> None:
        logger.info("Shutting down")
        self.native.shutdown()
        timeout = self.config.timeout_graceful_shutdown
        deadline = None if timeout is None else time.monotonic() + timeout
        # In-flight requests finish (the loop keeps draining the bridge), then background tasks.
        while (self.native.connections or self.active) and not self.force_exit:
            if deadline is not None and time.monotonic() >= deadline:
                logger.error("Cancel %s running task(s), timeout graceful shutdown exceeded", self.active)
                break
            await asyncio.sleep(0.05)
        self.native.terminate()
        await asyncio.to_thread(self.native.join)
        self._on_readable()  # the last events (disconnects of what was closed)


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def serve(config: Config, sock: socket.socket | None = None) -> int:
    """Loads the app and serves it in this process until SIGINT/SIGTERM; returns the exit code."""
    config.load_env()
    logs.configure(config.log_config, config.log_level, config.access_log)
    try:
        app = config.load_app()
    except (ImportError, ValueError) as exc:
        logger.error("Error loading ASGI app. %s", exc)
        return 1
    own_socket = sock is None
    sock = sock if sock is not None else config.bind()
    loop = new_event_loop(config.loop)
    try:
        server = Server(config, app)
        return loop.run_until_complete(server.serve(sock))
    finally:
        loop.close()
        if own_socket:
            sock.close()
        sys.stdout.flush()
