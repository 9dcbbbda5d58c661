"""WebSocket apps the server tests run under tachyon's server and under uvicorn (imported by the
server subprocess through `--app-dir tests`).

`app` is a raw ASGI app whose behaviour is chosen by the path (`SCENARIOS`). When its connection
is over it writes one JSON record (to the file named by `SERVER_TEST_RECORD`, as `server_apps`
does): the scope as the app saw it, every message `receive()` returned, and what every `send()`
raised. `starlette_app` is the same kind of thing written with Starlette's `WebSocket`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

from server_apps import LIFESPAN_STATE, Message, Receive, Scope, Send, _lifespan, _write_record, encode

# Headers whose values the client picks at random, or that name the port.
VARYING_HEADERS = {b"sec-websocket-key", b"host", b"user-agent"}


def _scope_record(scope: Scope) -> dict[str, Any]:
    kept = {key: value for key, value in scope.items() if key not in ("server", "client", "headers")}
    kept["headers"] = [(name, value) for name, value in scope["headers"] if name not in VARYING_HEADERS]
    kept["client_host"] = scope["client"][0] if scope.get("client") else None
    record: dict[str, Any] = encode(kept)
    return record


class Recorder:
    """`receive` and `send` that note what happened, for the record."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.events: list[Any] = []

    async def receive(self) -> Message:
        message = await self._receive()
        self.events.append(["received", encode(message)])
        return message

    async def send(self, message: Message) -> bool:
        """Sends; records and swallows an exception (returning False)."""
        try:
            await self._send(message)
        except Exception as exc:  # the record says which
            self.events.append(["send raised", message["type"], _describe(exc)])
            return False
        return True

    def write(self) -> None:
        _write_record({"scope": _scope_record(self.scope), "events": self.events})


def _describe(exc: BaseException) -> dict[str, Any]:
    # The class names differ (uvicorn's and tachyon's ClientDisconnected live in different
    # modules), so what is compared is the kind of exception and, for RuntimeError, the text.
    return {
        "oserror": isinstance(exc, OSError),
        "runtime": isinstance(exc, RuntimeError),
        "text": str(exc) if isinstance(exc, RuntimeError) else None,
        "name": type(exc).__name__,
    }


def _query(scope: Scope) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(scope["query_string"].decode()).items()}


async def _until_disconnect(ws: Recorder) -> Message:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return message


async def _accept(ws: Recorder) -> None:
    query = _query(ws.scope)
    accept: Message = {"type": "websocket.accept"}
    if "subprotocol" in query:
        accept["subprotocol"] = query["subprotocol"]
    if "header" in query:
        accept["headers"] = [(b"x-accepted", query["header"].encode())]
    await ws.send(accept)


async def echo(ws: Recorder) -> None:
    """Echoes each message as it came (text or bytes) until the peer leaves; `/echo?close=N`
    closes with code N (and `reason`) after the first message instead."""
    await ws.receive()
    await _accept(ws)
    query = _query(ws.scope)
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            break
        reply = {"type": "websocket.send", **{k: v for k, v in message.items() if k in ("text", "bytes")}}
        await ws.send(reply)
        if "close" in query:
            close: Message = {"type": "websocket.close", "code": int(query["close"])}
            if "reason" in query:
                close["reason"] = query["reason"]
            await ws.send(close)
            await ws.receive()  # the close the app sent, as uvicorn reports it
            await ws.send({"type": "websocket.send", "text": "after close"})
            break
    if query.get("send_after") == "1":
        await ws.send({"type": "websocket.send", "text": "after the peer left"})


async def refuse(ws: Recorder) -> None:
    """Closes before accepting: an HTTP 403."""
    await ws.receive()
    await ws.send({"type": "websocket.close"})
    await ws.receive()


async def deny(ws: Recorder) -> None:
    """The Websocket Denial Response extension: a 418 with headers, the body in two parts."""
    await ws.receive()
    if "websocket.http.response" not in ws.scope.get("extensions", {}):
        await ws.send({"type": "websocket.close"})
        return
    await ws.send({"type": "websocket.http.response.start", "status": 418, "headers": [(b"x-denied", b"yes")]})
    await ws.send({"type": "websocket.http.response.body", "body": b"not ", "more_body": True})
    await ws.send({"type": "websocket.http.response.body", "body": b"a teapot"})
    await ws.receive()


async def raise_before_accept(ws: Recorder) -> None:
    await ws.receive()
    raise ValueError("raised before accepting")


async def return_before_accept(ws: Recorder) -> None:
    await ws.receive()


async def raise_after_accept(ws: Recorder) -> None:
    await ws.receive()
    await ws.send({"type": "websocket.accept"})
    await ws.send({"type": "websocket.send", "text": "about to fail"})
    raise ValueError("raised after accepting")


async def return_after_accept(ws: Recorder) -> None:
    await ws.receive()
    await ws.send({"type": "websocket.accept"})
    await ws.send({"type": "websocket.send", "bytes": b"bye"})


async def wrong_messages(ws: Recorder) -> None:
    """Messages out of order: each send raises, and the record has uvicorn's texts."""
    await ws.receive()
    await ws.send({"type": "websocket.send", "text": "too early"})
    await ws.send({"type": "websocket.accept"})
    await ws.send({"type": "websocket.http.response.start", "status": 200})
    await ws.send({"type": "websocket.send"})  # neither text nor bytes: nothing is sent
    await ws.send({"type": "websocket.send", "text": "ok"})
    await ws.send({"type": "websocket.close", "code": 4000, "reason": None})
    await ws.send({"type": "websocket.close"})


async def wait_for_disconnect(ws: Recorder) -> None:
    """Accepts, then records whatever ends the connection (shutdown, a bad frame, ...)."""
    await ws.receive()
    await ws.send({"type": "websocket.accept"})
    await _until_disconnect(ws)


async def concurrent_receive(ws: Recorder) -> None:
    """A receive() waiting in one task while another task closes: it gets the app's close."""
    await ws.receive()
    await ws.send({"type": "websocket.accept"})
    waiting = asyncio.ensure_future(ws.receive())
    await asyncio.sleep(0.05)
    await ws.send({"type": "websocket.close", "code": 4001, "reason": "from another task"})
    await waiting


async def burst(ws: Recorder) -> None:
    """Sends `n` binary messages of `size` bytes as fast as `send()` lets it (more than the
    socket takes at once: `send()` has to wait), then closes."""
    query = _query(ws.scope)
    await ws.receive()
    await ws.send({"type": "websocket.accept"})
    size = int(query["size"])
    for index in range(int(query["n"])):
        await ws.send({"type": "websocket.send", "bytes": index.to_bytes(4, "big") * (size // 4)})
    await ws.send({"type": "websocket.close", "code": 1000, "reason": "sent them all"})
    await ws.receive()


async def slow_reader(ws: Recorder) -> None:
    """Accepts, lets `n` messages pile up (more than --ws-max-queue: reading must pause, then
    resume as the app catches up), reads them all, answers with their count and their order."""
    count = int(_query(ws.scope)["n"])
    await ws.receive()
    await ws.send({"type": "websocket.accept"})
    await asyncio.sleep(0.3)
    texts = []
    for _ in range(count):
        message = await ws._receive()  # not recorded: the record would hold every message
        texts.append(message.get("text"))
    ordered = texts == [str(index) for index in range(count)]
    await ws.send({"type": "websocket.send", "text": f"{len(texts)} {ordered}"})
    await _until_disconnect(ws)


SCENARIOS = {
    "/burst": burst,
    "/slow-reader": slow_reader,
    "/echo": echo,
    "/refuse": refuse,
    "/deny": deny,
    "/raise-before-accept": raise_before_accept,
    "/return-before-accept": return_before_accept,
    "/raise-after-accept": raise_after_accept,
    "/return-after-accept": return_after_accept,
    "/wrong-messages": wrong_messages,
    "/wait": wait_for_disconnect,
    "/concurrent-receive": concurrent_receive,
}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send, scope)
        return
    if scope["type"] != "websocket":
        body = b"plain HTTP"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        await send({"type": "http.response.body", "body": body})
        return
    ws = Recorder(scope, receive, send)
    try:
        await SCENARIOS[scope["path"]](ws)
    finally:
        ws.write()


# --- The same kind of app written with Starlette ----------------------------------------------


def _starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.exceptions import WebSocketException
    from starlette.responses import PlainTextResponse
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def chat(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol=(websocket.scope["subprotocols"] or [None])[0])
        try:
            while True:
                text = await websocket.receive_text()
                if text == "json":
                    await websocket.send_json({"state": websocket.state.started, "path": websocket.url.path})
                elif text == "bytes":
                    await websocket.send_bytes(b"\x00\xff")
                elif text == "close":
                    await websocket.close(code=4100, reason="asked to close")
                    return
                else:
                    await websocket.send_text(f"echo: {text}")
        except WebSocketDisconnect as exc:
            _write_record({"starlette": "disconnect", "code": exc.code, "reason": exc.reason})

    async def forbidden(websocket: WebSocket) -> None:
        raise WebSocketException(code=4403, reason="no entry")

    async def denied(websocket: WebSocket) -> None:
        await websocket.send_denial_response(PlainTextResponse("denied", status_code=401))

    async def closed_early(websocket: WebSocket) -> None:
        await websocket.close(code=1008)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, str]]:
        yield dict(LIFESPAN_STATE)

    return Starlette(
        routes=[
            WebSocketRoute("/chat", chat),
            WebSocketRoute("/forbidden", forbidden),
            WebSocketRoute("/denied", denied),
            WebSocketRoute("/closed-early", closed_early),
        ],
        lifespan=lifespan,
    )


starlette_app = _starlette_app()


def fastapi_app() -> Any:
    """A FastAPI app with a websocket route (a path parameter, a dependency, JSON); a factory
    (`--factory`), so that the other apps' servers do not import FastAPI."""
    from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect

    app = FastAPI()

    def prefix(tag: str = "none") -> str:
        return f"[{tag}]"

    @app.websocket("/rooms/{room}")
    async def room(websocket: WebSocket, room: str, label: str = Depends(prefix)) -> None:
        await websocket.accept()
        try:
            while True:
                data = await websocket.receive_json()
                await websocket.send_json({"room": room, "label": label, "echo": data})
        except WebSocketDisconnect as exc:
            _write_record({"fastapi": "disconnect", "code": exc.code})

    return app
