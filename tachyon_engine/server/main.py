"""`run(app, **options)`: one process, or a supervisor of worker processes (`workers > 1` or
`reload`) that share one listening socket, restart a worker that dies, restart all of them when
a watched file changes (`--reload`), and stop them all gracefully on SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tachyon_engine.server import logs
from tachyon_engine.server.config import Config
from tachyon_engine.server.serve import serve

logger = logs.error_logger
_spawn = multiprocessing.get_context("spawn")


def run(app: Any, **options: Any) -> None:
    """Serves `app` (an ASGI callable or `"module:attribute"`) until stopped; exits non-zero on failure."""
    config = Config.from_options(app, **options)
    code = main(config)
    if code:
        sys.exit(code)


def main(config: Config) -> int:
    if not config.should_supervise:
        return serve(config)
    if not isinstance(config.app, str):
        logs.configure(config.log_config, config.log_level, config.access_log)
        logger.warning("You must pass the application as an import string to enable 'reload' or 'workers'.")
        return 1
    return Supervisor(config).run()


def _worker(config: Config, sock: socket.socket) -> None:
    # A worker serves; the supervisor alone reacts to SIGINT from a terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config.workers, config.reload = 1, False
    sys.exit(serve(config, sock))


def _python_files(folders: list[Path]) -> Iterator[Path]:
    for folder in folders:
        yield from folder.rglob("*.py")


class Supervisor:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.stopping = threading.Event()
        self.workers: list[Any] = []

    def _start(self, sock: socket.socket) -> Any:
        process = _spawn.Process(target=_worker, args=(self.config, sock))
        process.start()
        logger.info("Started server process [%d]", process.pid)
        return process

    def _stop(self, processes: list[Any]) -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: the worker shuts down gracefully
        for process in processes:
            process.join()

    def _signal(self, number: int, frame: object) -> None:
        self.stopping.set()

    def _snapshot(self) -> dict[Path, float]:
        folders = [Path(d).resolve() for d in (self.config.reload_dirs or [])] or [Path.cwd()]
        mtimes = {}
        for path in _python_files(folders):
            try:
                mtimes[path] = path.stat().st_mtime
            except OSError:
                pass
        return mtimes

    def run(self) -> int:
        config = self.config
        logs.configure(config.log_config, config.log_level, config.access_log)
        sock = config.bind()
        signal.signal(signal.SIGINT, self._signal)
        signal.signal(signal.SIGTERM, self._signal)
        count = 1 if config.reload else (config.workers or 1)
        logger.info("Started parent process [%d]", os.getpid())
        self.workers = [self._start(sock) for _ in range(count)]
        mtimes = self._snapshot() if config.reload else {}
        try:
            while not self.stopping.wait(config.reload_delay if config.reload else 0.5):
                for index, process in enumerate(self.workers):
                    if not process.is_alive():
                        logger.warning("Child process [%d] died", process.pid)
                        self.workers[index] = self._start(sock)
                if config.reload:
                    current = self._snapshot()
                    if current != mtimes:
                        changed = sorted(
                            str(p)
                            for p in set(current) ^ set(mtimes) | {p for p in current if mtimes.get(p) != current[p]}
                        )
                        logger.warning("Detected changes in %s. Reloading...", ", ".join(changed[:3]))
                        self._stop(self.workers)
                        self.workers = [self._start(sock) for _ in range(count)]
                        mtimes = current
        finally:
            logger.info("Stopping parent process [%d]", os.getpid())
            self._stop(self.workers)
            sock.close()
            if config.uds and os.path.exists(config.uds):
                os.unlink(config.uds)
        logging.shutdown()
        return 0
