"""App factories for the servers (`--factory benchmarks.endtoend.apps:starlette_app`): each server
process builds its app from one stack only. Every import is inside its factory, so a process
imports nothing of the other stacks (and FastAPI only after `install()` where that is asked)."""

from __future__ import annotations

import sys
from typing import Any

HELLO = b"Hello, world!"
_RAW_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(HELLO)).encode())]


async def _raw_hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # lifespan (and anything else): not handled, the server goes on
        raise RuntimeError(f"raw ASGI hello serves HTTP only, not {scope['type']!r}")
    await send({"type": "http.response.start", "status": 200, "headers": _RAW_HEADERS})
    await send({"type": "http.response.body", "body": HELLO})


def raw_asgi_app() -> Any:
    """The floor of every server: an ASGI callable answering 200 "Hello, world!" to any request,
    without reading the request. A lifespan scope raises, which servers take as "no lifespan"."""
    return _raw_hello


def starlette_app() -> Any:
    from benchmarks.scenarios.apps import demo_app
    from benchmarks.stacks import REFERENCE_PACKAGE, load

    return demo_app(load(REFERENCE_PACKAGE))


def tachyon_engine_app() -> Any:
    from benchmarks.scenarios.apps import demo_app
    from benchmarks.stacks import CANDIDATE_PACKAGE, load

    return demo_app(load(CANDIDATE_PACKAGE))


def fastapi_app() -> Any:
    """Stock FastAPI: hello world answering JSON."""
    installed = sys.modules.get("tachyon_engine")
    if installed is not None and installed.is_installed():
        raise RuntimeError("tachyon_engine.install() ran in the plain FastAPI server (TACHYON_ENGINE_INSTALL set?)")
    return _fastapi_hello()


def fastapi_install_app() -> Any:
    """The same app after `tachyon_engine.install()`, called before FastAPI is imported, as the
    README says to do; refuses to serve if `install()` did not engage on FastAPI."""
    if "fastapi" in sys.modules:
        raise RuntimeError("fastapi was imported before tachyon_engine.install() in this process")
    import tachyon_engine

    tachyon_engine.install()
    app = _fastapi_hello()
    applied = [
        target
        for target, replacement in tachyon_engine.installed_patches().items()
        if target.startswith("fastapi.") and not replacement.startswith(("skipped", "waiting"))
    ]
    if not applied:
        raise RuntimeError(
            f"tachyon_engine.install() replaced nothing in FastAPI: {tachyon_engine.installed_patches()}"
        )
    return app


def _fastapi_hello() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/")
    async def hello() -> dict[str, str]:
        return {"message": "Hello, world!"}

    return app


async def _websocket_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await _raw_hello(scope, receive, send)
        return
    if scope["type"] != "websocket":
        raise RuntimeError(f"the echo app serves HTTP and WebSockets, not {scope['type']!r}")
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


def websocket_echo_app() -> Any:
    """A raw ASGI WebSocket echo (text as text, bytes as bytes); plain HTTP gets the hello."""
    return _websocket_echo


# The large file of the file-serving load, named by the benchmark (`benchmarks.endtoend.files`).
FILE_ENV = "TACHYON_BENCH_FILE"


def file_app() -> Any:
    """Stock Starlette serving one large file two ways: `/file` with `FileResponse` (which sends
    `http.response.pathsend` where the server offers it), `/stream` with a `StreamingResponse`
    reading it in 64 KiB chunks in Python."""
    import os

    from starlette.applications import Starlette
    from starlette.responses import FileResponse, StreamingResponse
    from starlette.routing import Route

    path = os.environ[FILE_ENV]

    async def whole(request: Any) -> FileResponse:
        return FileResponse(path, media_type="application/octet-stream")

    def chunks() -> Any:
        with open(path, "rb") as file:
            while chunk := file.read(65536):
                yield chunk

    async def streamed(request: Any) -> StreamingResponse:
        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def hello(request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse("Hello, world!")

    return Starlette(routes=[Route("/", hello), Route("/file", whole), Route("/stream", streamed)])
