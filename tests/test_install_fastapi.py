"""FastAPI with `tachyon_engine.install()` against stock FastAPI, on random apps and requests.

Each example builds the same random FastAPI app twice, once on stock Starlette/FastAPI and once
after `install()` (routes of every convertor, methods, trailing slashes, included routers with
prefixes nested two deep, websocket routes, Starlette routes, `redirect_slashes` on or off),
sends both the same requests (stock code uninstalled for the stock app, installed for the
other) and compares every ASGI message, any exception, and what the endpoint saw (route, typed
path params, query, headers, cookies).
Some requests carry an included router's effective route context in the scope, the one case
where `APIRoute.matches` is not Starlette's `Route.matches` plus `route`: the index must ask the
routes then. The installed app must have matched routes natively.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from itertools import chain, repeat
from typing import Any

import fastapi.routing
from differential import drive_asgi
from fastapi import APIRouter, FastAPI, Request, WebSocket
from hypothesis import given, settings, strategies as st
from starlette.responses import PlainTextResponse
from starlette.routing import PARAM_REGEX, Match

import tachyon_engine
from tachyon_engine.engine import route_index

APPS = 120
REQUESTS_PER_APP = 60
CONVERTORS = ["", ":str", ":int", ":float", ":path", ":uuid"]
LITERALS = ["users", "items", "v1", "x.json", "é"]
METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD"]


async def http_endpoint(request: Request) -> dict[str, Any]:
    route = request.scope.get("route")
    return {
        "route": getattr(route, "path", None),
        "route_class": type(route).__name__,
        "params": [[k, type(v).__name__, str(v)] for k, v in request.path_params.items()],
        "query": list(request.query_params.multi_items()),
        "agent": request.headers.get("user-agent"),
        "cookies": request.cookies,
    }


async def websocket_endpoint(websocket: WebSocket) -> None:
    await websocket.close(code=1000, reason=str(websocket.path_params))


def random_path(rng: random.Random) -> str:
    parts = []
    for index in range(rng.randint(0, 3)):
        if rng.random() < 0.5:
            parts.append(rng.choice(LITERALS))
        else:
            parts.append(f"{{p{index}{rng.choice(CONVERTORS)}}}")
    return "/" + "/".join(parts) + ("/" if parts and rng.random() < 0.2 else "")


def random_table(rng: random.Random, depth: int = 0) -> list[dict[str, Any]]:
    """Routes of an app, or of a router included at `depth` (two levels of nesting at most)."""
    table: list[dict[str, Any]] = []
    for _ in range(rng.randint(0 if depth else 1, 10 if depth else 8)):
        roll = rng.random()
        if roll < (0.25 if depth < 2 else 0):
            table.append(
                {"kind": "include", "prefix": "/" + rng.choice(LITERALS), "children": random_table(rng, depth + 1)}
            )
        elif roll < 0.35:
            table.append({"kind": "websocket", "path": random_path(rng)})
        elif roll < 0.45:
            table.append({"kind": "starlette", "path": random_path(rng) or "/", "methods": rng.choice([None, ["GET"]])})
        else:
            path = random_path(rng)
            # An included route needs a path when its prefix is empty; FastAPI refuses "" otherwise.
            table.append(
                {"kind": "route", "path": path or "/", "methods": rng.choice([["GET"], ["POST"], ["GET", "PUT"]])}
            )
    return table


async def starlette_endpoint(request: Request) -> PlainTextResponse:
    route = request.scope.get("route")
    return PlainTextResponse(f"{getattr(route, 'path', None)} {sorted(request.path_params.items())}")


def add(router: Any, entry: dict[str, Any]) -> None:
    if entry["kind"] == "route":
        router.add_api_route(entry["path"], http_endpoint, methods=entry["methods"])
    elif entry["kind"] == "websocket":
        router.add_api_websocket_route(entry["path"], websocket_endpoint)
    elif entry["kind"] == "starlette":
        router.add_route(entry["path"], starlette_endpoint, methods=entry["methods"])
    else:
        child = APIRouter()
        for grandchild in entry["children"]:
            add(child, grandchild)
        router.include_router(child, prefix=entry["prefix"])


def build(table: list[dict[str, Any]], redirect_slashes: bool) -> FastAPI:
    app = FastAPI(redirect_slashes=redirect_slashes, openapi_url=None)
    for entry in table:
        add(app.router, entry)
    return app


def templates(table: list[dict[str, Any]], prefix: str = "") -> list[str]:
    paths = []
    for entry in table:
        if entry["kind"] == "include":
            paths += templates(entry["children"], prefix + entry["prefix"])
        else:
            paths.append(prefix + entry["path"])
    return paths


def fill(rng: random.Random, template: str) -> str:
    def value(match: Any) -> str:
        convertor = (match.group(2) or ":str")[1:]
        if rng.random() < 0.15:
            return rng.choice(["", "x", "-1", "1.5", "a/b"])
        return {
            "str": rng.choice(["abc", "x y", "é", "7"]),
            "int": rng.choice(["0", "42", "1" * 20]),
            "float": rng.choice(["1.5", "2", "0.25"]),
            "path": rng.choice(["", "a", "a/b/c"]),
            "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
        }[convertor]

    return PARAM_REGEX.sub(value, template)


class FakeEffectiveContext:
    """An included router's effective route context, as `_IncludedRouter` puts in the scope."""

    def __init__(self, route: Any) -> None:
        self.original_route = route

    def matches(self, scope: Any) -> tuple[Match, dict[str, Any]]:
        return Match.NONE, {}


def random_scope(rng: random.Random, table: list[dict[str, Any]], app: FastAPI) -> dict[str, Any]:
    path = fill(rng, rng.choice(templates(table) or ["/"])) or "/"
    if rng.random() < 0.15:
        path = path.rstrip("/") if path.endswith("/") else path + "/"
    scope: dict[str, Any] = {
        "type": "websocket" if rng.random() < 0.1 else "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": rng.choice([b"", b"a=1&a=2", b"q=%C3%A9&x"]),
        "headers": [(b"host", b"testserver"), (b"user-agent", b"ua"), (b"cookie", b"s=1; t=2")][: rng.randint(0, 3)],
        "server": ("testserver", 80),
        "client": ("1.2.3.4", 5),
    }
    if scope["type"] == "http":
        scope["method"] = rng.choice(METHODS)
    if rng.random() < 0.05:
        # Positions only: the context must name a route of the app the scope is sent to.
        scope["fastapi"] = {"effective_route_context": rng.randrange(len(app.router.routes) or 1)}
    return scope


def bind_context(scope: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    scope = dict(scope)
    if "fastapi" in scope:
        position = scope["fastapi"]["effective_route_context"]
        routes = app.router.routes
        scope["fastapi"] = {"effective_route_context": FakeEffectiveContext(routes[position] if routes else None)}
    return scope


def plain(value: Any) -> Any:
    """The value with every object other than plain data replaced by its class name (two apps
    never hold the same handler objects)."""
    if value is None or isinstance(value, str | bytes | int | float):
        return [type(value).__name__, value]
    if isinstance(value, list | tuple):
        return [type(value).__name__, [plain(item) for item in value]]
    if isinstance(value, dict):
        return [(plain(key), plain(item)) for key, item in value.items()]
    return type(value).__name__


def summary(scope: dict[str, Any]) -> Any:
    # Keys in order, the route by its path (the two apps hold distinct but equal routes).
    return [(key, getattr(value, "path", None) if key == "route" else plain(value)) for key, value in scope.items()]


async def call(app: FastAPI, scope: dict[str, Any]) -> Any:
    # The request once, then a disconnect every time the app asks again.
    first = {"type": "websocket.connect"} if scope["type"] == "websocket" else {"type": "http.request", "body": b""}
    disconnect = {"type": "http.disconnect"} if scope["type"] == "http" else {"type": "websocket.disconnect"}
    sent, raised = await drive_asgi(app, scope, chain([first], repeat(disconnect)))
    error = None if raised is None else (type(raised).__name__, str(raised))
    return sent, error, summary(scope)


async def compare_app(rng: random.Random) -> int:
    table = random_table(rng)
    redirect_slashes = rng.random() < 0.8
    stock = build(table, redirect_slashes)
    tachyon_engine.install()
    try:
        accelerated = build(table, redirect_slashes)
    finally:
        tachyon_engine.uninstall()
    native = 0
    for _ in range(REQUESTS_PER_APP):
        scope = random_scope(rng, table, stock)
        expected = await call(stock, bind_context(scope, stock))
        tachyon_engine.install()
        try:
            before = tachyon_engine.native_counts()["route_native_matches"]
            actual = await call(accelerated, bind_context(scope, accelerated))
            native += tachyon_engine.native_counts()["route_native_matches"] - before
        finally:
            tachyon_engine.uninstall()
        assert actual == expected, (scope, table)
    return native


@settings(max_examples=APPS, deadline=None)
@given(st.integers(min_value=0, max_value=2**64))
def test_installed_fastapi_matches_stock(seed: int) -> None:
    asyncio.run(compare_app(random.Random(seed)))


def test_native_matching_engages_on_fastapi_routes() -> None:
    engaged = sum(asyncio.run(compare_app(random.Random(seed))) for seed in range(20))
    assert engaged > 100


def test_api_routes_are_described_natively_and_guarded() -> None:
    app = FastAPI()
    app.add_api_route("/items/{item_id:int}", http_endpoint)
    app.add_api_websocket_route("/ws/{name}", websocket_endpoint)
    route, websocket_route = app.router.routes[-2:]
    import tachyon_engine.fastapi.routing  # noqa: F401  (declares the equivalences)

    assert route_index.describe(route) == ("http+route", ["/items/", ("item_id", "int")])
    assert route_index.describe(websocket_route) == ("websocket+route", ["/ws/", ("name", "str")])

    class Custom(fastapi.routing.APIRoute):
        def matches(self, scope: Any) -> Any:
            return super().matches(scope)

    assert route_index.describe(Custom("/x", http_endpoint)) is None
    index = route_index.index_of(app.router)
    scope: dict[str, Any] = {"type": "http", "path": "/items/3", "root_path": "", "method": "GET"}
    kind, found, child = index.resolve(app.router.routes, scope, False)
    assert (kind, found) == (2, route)
    assert list(child) == ["endpoint", "path_params", "route"]
    assert child == route.matches(scope)[1]
    scope["fastapi"] = {"effective_route_context": FakeEffectiveContext(route)}
    assert index.resolve(app.router.routes, scope, False) is NotImplemented


def test_included_routers_match_on_their_index(monkeypatch: Any) -> None:
    """Under install(), an included router's loop over its routes is the index's (FastAPI's own
    loop is never asked), nested includes and Starlette routes in them too."""
    import tachyon_engine.fastapi.routing as accelerated_fastapi

    def refuse(self: Any, scope: Any) -> Any:
        raise AssertionError("FastAPI's own included-router loop ran")

    tachyon_engine.install()
    try:
        monkeypatch.setattr(accelerated_fastapi, "_stock_included_match", refuse)
        inner, outer, app = APIRouter(), APIRouter(), FastAPI(openapi_url=None)
        for index in range(30):
            inner.add_api_route(f"/items{index}/{{item_id:int}}", http_endpoint, methods=["GET"])
        inner.add_route("/plain/{name}", starlette_endpoint)
        outer.include_router(inner, prefix="/inner")
        app.include_router(outer, prefix="/api")
        before = tachyon_engine.native_counts()["route_native_matches"]
        answers = [
            asyncio.run(call(app, random_scope_for(path, method)))
            for path, method in [
                ("/api/inner/items29/7", "GET"),
                ("/api/inner/items29/7", "POST"),
                ("/api/inner/plain/x", "GET"),
            ]
        ]
        assert tachyon_engine.native_counts()["route_native_matches"] > before
    finally:
        tachyon_engine.uninstall()
    (ok, _, _), (refused, _, _), (plain_route, _, _) = answers
    assert [message.get("status") for message in ok + refused + plain_route][::2] == [200, 405, 200]
    # FastAPI puts the included route itself in the scope (its own path, without the prefixes).
    assert ok[1]["body"].startswith(b'{"route":"/items29/{item_id:int}","route_class":"APIRoute","params":[["item_id"')


def random_scope_for(path: str, method: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [],
        "server": ("testserver", 80),
    }


def test_route_handle_overrides_and_patches_are_honoured(monkeypatch: Any) -> None:
    """The installed router calls a route's app directly only where FastAPI's `APIRoute.handle`
    and Starlette's `Route.handle` would: a route class or a patch replacing them still runs."""
    seen: list[str] = []

    class Handled(fastapi.routing.APIRoute):
        async def handle(self, scope: Any, receive: Any, send: Any) -> None:
            seen.append("subclass")
            await super().handle(scope, receive, send)

    tachyon_engine.install()
    try:
        app = FastAPI(openapi_url=None)
        app.router.route_class = Handled
        app.add_api_route("/sub", http_endpoint)
        app.router.route_class = fastapi.routing.APIRoute
        app.add_api_route("/plain", http_endpoint)
        stock_handle = fastapi.routing.APIRoute.handle

        async def patched(self: Any, scope: Any, receive: Any, send: Any) -> None:
            seen.append("patched")
            await stock_handle(self, scope, receive, send)

        statuses = [
            asyncio.run(call(app, random_scope_for(path, "GET")))[0][0]["status"] for path in ["/sub", "/plain"]
        ]
        monkeypatch.setattr(fastapi.routing.APIRoute, "handle", patched)
        statuses.append(asyncio.run(call(app, random_scope_for("/plain", "GET")))[0][0]["status"])
    finally:
        tachyon_engine.uninstall()
    assert statuses == [200, 200, 200]
    assert seen == ["subclass", "patched"]


def test_routes_versions_match_fastapi() -> None:
    """`APIRouter._get_routes_version` (asked twice per request by each included router) gives
    FastAPI's answer for nested included routers, before and after routes change, and for a
    routes container that is not a list."""
    from tachyon_engine.fastapi.routing import _stock_get_routes_version, get_routes_version

    rng = random.Random(5)
    for _ in range(30):
        routers = [APIRouter() for _ in range(5)]
        for _ in range(12):
            parent, child = rng.sample(range(5), 2)
            if parent < child and rng.random() < 0.4:
                routers[parent].include_router(routers[child], prefix=f"/r{child}")
            else:
                routers[rng.randrange(5)].add_api_route(f"/p{rng.randrange(1000)}", http_endpoint)
            for router in routers:
                assert get_routes_version(router) == _stock_get_routes_version(router)
    router = routers[0]
    router.routes = tuple(router.routes)  # type: ignore[assignment]
    assert get_routes_version(router) == _stock_get_routes_version(router)
