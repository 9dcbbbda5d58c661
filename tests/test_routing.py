"""Endpoints routed by tachyon_engine receive its accelerated `Request` / `WebSocket`, and
the exception layer is tachyon_engine's own, with Starlette's behaviour."""

from __future__ import annotations

from typing import Any

import pytest
import starlette.requests
import starlette.routing

import tachyon_engine._exception_handler
import tachyon_engine.routing
from tachyon_engine.applications import Starlette
from tachyon_engine.engine.route_index import index_of
from tachyon_engine.exceptions import HTTPException
from tachyon_engine.middleware import Middleware
from tachyon_engine.requests import Request
from tachyon_engine.responses import JSONResponse, PlainTextResponse
from tachyon_engine.routing import Route, Router, WebSocketRoute
from tachyon_engine.testclient import TestClient
from tachyon_engine.types import ASGIApp, Receive, Scope, Send
from tachyon_engine.websockets import WebSocket


async def describe(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "class": type(request).__qualname__,
            "module": type(request).__module__,
            "query": request.query_params.multi_items(),
            "header": request.headers.get("x-token"),
            "cookies": request.cookies,
            "id": request.path_params.get("id"),
        }
    )


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"module": type(websocket).__module__, "q": websocket.query_params["q"]})
    await websocket.close()


def test_function_endpoints_receive_the_accelerated_request() -> None:
    app = Starlette(routes=[Route("/items/{id:int}", describe)])
    response = TestClient(app).get("/items/3?a=1&a=2", headers={"X-Token": "t", "Cookie": 'c=1; d="x\\"y"'})
    assert response.json() == {
        "class": "Request",
        "module": "tachyon_engine.requests",
        "query": [["a", "1"], ["a", "2"]],
        "header": "t",
        "cookies": {"c": "1", "d": 'x"y'},
        "id": 3,
    }


def test_sync_endpoints_and_added_routes() -> None:
    def sync(request: Request) -> PlainTextResponse:
        return PlainTextResponse(type(request).__module__)

    router = Router()
    router.add_route("/sync", sync)
    assert isinstance(router.routes[0], Route)
    assert TestClient(router).get("/sync").text == "tachyon_engine.requests"


def test_websocket_endpoints_receive_the_accelerated_websocket() -> None:
    app = Starlette(routes=[WebSocketRoute("/ws", socket)])
    with TestClient(app).websocket_connect("/ws?q=2") as session:
        assert session.receive_json() == {"module": "tachyon_engine.websockets", "q": "2"}


def test_route_middleware_and_body_limit_wrap_like_starlette() -> None:
    class Tag:
        def __init__(self, app: ASGIApp, tag: str) -> None:
            self.app, self.tag = app, tag

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await self.app(scope, receive, send)  # pragma: no cover

    middleware = [Middleware(Tag, tag="outer"), Middleware(Tag, tag="inner")]
    ours = Route("/", describe, middleware=middleware, max_body_size=10)
    theirs = starlette.routing.Route("/", describe, middleware=middleware, max_body_size=10)

    def chain(app: Any) -> list[str]:
        names = []
        while hasattr(app, "app"):
            names.append(getattr(app, "tag", type(app).__name__))
            app = app.app
        return names

    assert chain(ours.app) == chain(theirs.app) == ["RequestBodyLimitMiddleware", "outer", "inner"]
    assert (ours.methods, ours.name, ours.path_format) == (theirs.methods, theirs.name, theirs.path_format)


def test_class_endpoints_stay_asgi_apps() -> None:
    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("raw")(scope, receive, send)

    class Endpoint:
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await asgi(scope, receive, send)

    endpoint = Endpoint()
    route = Route("/", endpoint)
    assert route.app is endpoint
    assert route.methods is None
    assert TestClient(Starlette(routes=[route])).get("/").text == "raw"


def test_exception_handlers_run_through_this_package(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    async def fake_threadpool(func: Any, *args: Any) -> Any:
        calls.append(func)
        return func(*args)

    def on_value_error(request: starlette.requests.Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse(f"{type(request).__module__}: {exc}", status_code=418)

    async def fail(request: Request) -> None:
        raise ValueError("boom")

    async def forbidden(request: Request) -> None:
        raise HTTPException(403, "no")

    monkeypatch.setattr(tachyon_engine._exception_handler, "run_in_threadpool", fake_threadpool)
    app = Starlette(
        routes=[Route("/fail", fail), Route("/forbidden", forbidden)],
        exception_handlers={ValueError: on_value_error},
    )
    client = TestClient(app)
    response = client.get("/fail")
    assert (response.status_code, response.text) == (418, "tachyon_engine.requests: boom")
    assert calls == [on_value_error]
    assert client.get("/forbidden").text == "no"
    assert client.get("/missing").status_code == 404


def test_route_index_cycles_are_collected() -> None:
    import gc
    import weakref

    class App:
        def __init__(self) -> None:
            self.router = Router([Route("/", self.endpoint)])

        async def endpoint(self, request: Request) -> PlainTextResponse:
            return PlainTextResponse("ok")

    app = App()
    assert TestClient(app.router).get("/").text == "ok"  # builds the router's native index
    alive = weakref.ref(app)
    del app
    gc.collect()
    assert alive() is None


def test_unusual_scopes_take_starlette_loop() -> None:
    router = Router([Route("/users/{id:int}", describe)])
    stock = starlette.routing.Router([starlette.routing.Route("/users/{id:int}", describe)])
    scopes: list[dict[str, Any]] = [
        {"type": "http", "method": "GET", "path": "/users/\ud800", "root_path": ""},
        {"type": "http", "method": "GET", "path": "/users/1", "root_path": None},
    ]
    for scope in scopes:
        assert router.routes[0].matches(dict(scope))[0] == stock.routes[0].matches(dict(scope))[0]
        found = index_of(router).resolve(router.routes, dict(scope), False)
        assert found is NotImplemented


def test_url_path_for_through_the_index() -> None:
    router = Router(
        [
            Route("/a/{x:int}", describe, name="a"),
            tachyon_engine.routing.Mount("/m", routes=[Route("/b", describe, name="b")], name="m"),
        ]
    )
    assert router.url_path_for("a", x=3) == "/a/3"
    assert router.url_path_for("m:b") == "/m/b"
    with pytest.raises(starlette.routing.NoMatchFound, match='No route exists for name "a" and params "y".'):
        router.url_path_for("a", y=3)
    router.routes.append(Route("/late", describe, name="late"))
    assert router.url_path_for("late") == "/late"
