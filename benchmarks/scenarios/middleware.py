"""Apps with Starlette's common middleware (CORS, GZip, TrustedHost, a `BaseHTTPMiddleware`), the
classes every real app adds: Starlette's own classes on both sides, the demo app's routes."""

from __future__ import annotations

from typing import Any

from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from benchmarks.scenarios.apps import PARAMS_PATH, PARAMS_QUERY
from benchmarks.scenarios.asgi import BROWSER_HEADERS, Headers, KiB, http_scope, no_body, request_operation
from benchmarks.scenarios.operation import Builder, Operation
from benchmarks.scenarios.payloads import json_content
from benchmarks.stacks import Stack

ORIGIN = b"https://app.example.com"
CORS = Middleware(
    CORSMiddleware,
    allow_origins=[ORIGIN.decode()],
    allow_methods=["GET", "POST"],
    allow_headers=["x-request-id"],
    allow_credentials=True,
    expose_headers=["x-request-id"],
)
GZIP = Middleware(GZipMiddleware, minimum_size=500)
TRUSTED_HOST = Middleware(TrustedHostMiddleware, allowed_hosts=["example.com", "*.example.com"])

# The speedups these scenarios are meant to reach (the issue "Real apps stay fast: the common
# middleware on the lean path"), by scenario name; the report judges each row against its goal.
GOALS = {
    "CORS, simple request with Origin": 3.0,
    "CORS preflight": 3.0,
    "GZip, response below minimum_size": 3.0,
    "TrustedHost": 3.0,
    "TrustedHost + CORS + GZip": 3.0,
    "BaseHTTPMiddleware adding a header": 3.0,
    "GZip of a 64 KiB JSON response": 1.7,
    "FastAPI + CORS + @app.middleware('http'), path + query": 2.5,
}

WITH_ORIGIN: Headers = [*BROWSER_HEADERS, (b"origin", ORIGIN)]
PREFLIGHT: Headers = [
    *WITH_ORIGIN,
    (b"access-control-request-method", b"POST"),
    (b"access-control-request-headers", b"x-request-id"),
]


class AddHeader(BaseHTTPMiddleware):
    """The usual `BaseHTTPMiddleware`: awaits `call_next`, then sets one header."""

    async def dispatch(self, request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["x-process"] = "1"
        return response


def _app(stack: Stack, *middleware: Middleware, json_size: int = KiB) -> Any:
    content = json_content(json_size)

    async def hello(request: Any) -> Any:
        return stack.PlainTextResponse("Hello, world!")

    async def data(request: Any) -> Any:
        return stack.JSONResponse(content)

    routes = [stack.Route("/", hello), stack.Route("/data", data, methods=["GET", "POST"])]
    return stack.Starlette(routes=routes, middleware=list(middleware))


def with_middleware(
    *middleware: Middleware, method: str = "GET", path: str = "/", headers: Headers = WITH_ORIGIN, json_size: int = KiB
) -> Builder:
    def build(stack: Stack) -> Operation:
        app = _app(stack, *middleware, json_size=json_size)
        return request_operation(app, lambda: (http_scope(method, path, headers=headers), no_body))

    return build


def fastapi_cors_and_http_middleware(stack: Stack) -> Operation:
    """A typical production FastAPI app: CORS, an `@app.middleware("http")` function, and a route
    reading a path parameter and query parameters."""
    from fastapi import FastAPI

    app = FastAPI()
    app.add_middleware(CORS.cls, *CORS.args, **CORS.kwargs)

    @app.middleware("http")
    async def add_header(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["x-process"] = "1"
        return response

    @app.get("/users/{user_id}")
    async def user(user_id: int, q: str | None = None, page: int = 1) -> dict[str, object]:
        return {"user_id": user_id, "q": q, "page": page}

    return request_operation(
        app, lambda: (http_scope(path=PARAMS_PATH, query=PARAMS_QUERY, headers=WITH_ORIGIN), no_body)
    )
