"""Whole-app, JSON and form scenarios, built from one stack's classes."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware

from benchmarks.scenarios.asgi import (
    BROWSER_HEADERS,
    ChunkedBody,
    Scope,
    chunks_of,
    http_scope,
    no_body,
    request_operation,
    send_plain,
)
from benchmarks.scenarios.operation import Builder, Operation, probe
from benchmarks.scenarios.payloads import (
    json_body,
    json_content,
    multipart_body,
    multipart_content_type,
    urlencoded_body,
)
from benchmarks.stacks import Stack


class PassThrough:
    """A pure ASGI user middleware that does nothing: with it, an app runs its full stack."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class PassThroughHTTP(BaseHTTPMiddleware):
    """A `BaseHTTPMiddleware` that does nothing (Starlette's own class on both sides)."""

    async def dispatch(self, request: Any, call_next: Any) -> Any:
        return await call_next(request)


def demo_app(stack: Stack, middleware: tuple[Any, ...] = ()) -> Any:
    """Hello world, a route setting cookies, and a route reading a path param, query params, a
    header and a cookie and answering JSON: the app of the whole-app scenarios and of the
    end-to-end runs. `middleware`: user middleware classes, outermost first."""

    async def hello(request: Any) -> Any:
        return stack.PlainTextResponse("Hello, world!")

    async def user(request: Any) -> Any:
        return stack.JSONResponse(
            {
                "user_id": request.path_params["user_id"],
                "q": request.query_params.get("q"),
                "page": request.query_params.get("page"),
                "agent": request.headers.get("user-agent"),
                "session": request.cookies.get("session"),
            }
        )

    async def login(request: Any) -> Any:
        response = stack.PlainTextResponse("Signed in")
        response.set_cookie("session", "eyJ1c2VyIjo0Mn0=.sig", max_age=3600, httponly=True, secure=True)
        response.delete_cookie("guest")
        return response

    routes = [stack.Route("/", hello), stack.Route("/users/{user_id:int}", user), stack.Route("/login", login)]
    return stack.Starlette(routes=routes, middleware=[Middleware(cls) for cls in middleware])


PARAMS_PATH = "/users/42"
PARAMS_QUERY = b"q=tachyon+engine&page=2"


def hello_world(stack: Stack) -> Operation:
    return request_operation(demo_app(stack), lambda: (http_scope(headers=BROWSER_HEADERS), no_body))


def hello_world_with(*middleware: Any) -> Builder:
    def build(stack: Stack) -> Operation:
        app = demo_app(stack, middleware)
        return request_operation(app, lambda: (http_scope(headers=BROWSER_HEADERS), no_body))

    return build


def set_cookies(stack: Stack) -> Operation:
    return request_operation(demo_app(stack), lambda: (http_scope(path="/login", headers=BROWSER_HEADERS), no_body))


def request_params(stack: Stack) -> Operation:
    return request_operation(
        demo_app(stack), lambda: (http_scope(path=PARAMS_PATH, query=PARAMS_QUERY, headers=BROWSER_HEADERS), no_body)
    )


def handler_only(route_path: str, path: str, path_params: dict[str, Any], query: bytes = b"") -> Builder:
    """A request of the demo app served with no dispatch at all: the route's endpoint awaited on
    a `Request`, then its response. What any dispatch has to do at the least, so the app
    scenarios' cost above it is the dispatch's (middleware layers, routing, scope updates)."""

    def build(stack: Stack) -> Operation:
        endpoint = next(route.endpoint for route in demo_app(stack).routes if route.path == route_path)

        async def app(scope: Scope, receive: Any, send: Any) -> None:
            response = await endpoint(stack.Request(scope, receive, send))
            await response(scope, receive, send)

        def request() -> tuple[Scope, Any]:
            scope = http_scope(path=path, query=query, headers=BROWSER_HEADERS)
            scope["path_params"] = dict(path_params)
            return scope, no_body

        return request_operation(app, request)

    return build


def json_response(size: int) -> Builder:
    def build(stack: Stack) -> Operation:
        content = json_content(size)

        async def app(scope: Scope, receive: Any, send: Any) -> None:
            await stack.JSONResponse(content)(scope, receive, send)

        return request_operation(app, lambda: (http_scope(), no_body))

    return build


def request_json(size: int) -> Builder:
    def build(stack: Stack) -> Operation:
        body = chunks_of(json_body(size))
        headers = [(b"content-type", b"application/json"), (b"content-length", str(sum(map(len, body))).encode())]

        async def app(scope: Scope, receive: Any, send: Any) -> None:
            value = await stack.Request(scope, receive).json()
            if probe.enabled:
                probe.record(value)
            await send_plain(send, 200, b"ok")

        return request_operation(app, lambda: (http_scope("POST", headers=headers), ChunkedBody(body)))

    return build


def form(body: bytes, content_type: bytes) -> Builder:
    def build(stack: Stack) -> Operation:
        chunks = chunks_of(body)
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]

        async def app(scope: Scope, receive: Any, send: Any) -> None:
            async with stack.Request(scope, receive).form() as data:
                if probe.enabled:
                    probe.record(await _describe(data.multi_items()))
                count = len(data)
            await send_plain(send, 200, b"%d" % count)

        return request_operation(app, lambda: (http_scope("POST", headers=headers), ChunkedBody(chunks)))

    return build


async def _describe(items: list[tuple[str, Any]]) -> list[object]:
    """Form items as plain data; uploaded files by their metadata and a hash of their content."""
    described: list[object] = []
    for name, value in items:
        if isinstance(value, str):
            described.append((name, value))
        else:
            content = await value.read()
            headers = list(value.headers.items())
            described.append((name, value.filename, value.content_type, value.size, headers, _sha(content)))
    return described


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def urlencoded_form(fields: int) -> Builder:
    return form(urlencoded_body(fields), b"application/x-www-form-urlencoded")


def multipart_form(fields: int = 0, files: tuple[int, ...] = ()) -> Builder:
    return form(multipart_body(fields, files), multipart_content_type())
