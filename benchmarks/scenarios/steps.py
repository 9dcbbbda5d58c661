"""The cost of each step a request goes through, on its own: reading the scope through a
Request, matching a route, extracting path params, serialising a JSON body."""

from __future__ import annotations

from typing import Any

from benchmarks.scenarios.asgi import BROWSER_HEADERS, Scope, http_scope, no_body, request_operation
from benchmarks.scenarios.operation import Operation
from benchmarks.scenarios.payloads import json_content
from benchmarks.scenarios.routing import rest_routes
from benchmarks.stacks import Stack

STEP_ROUTE_GROUPS = 30  # 120 routes, as in Starlette's own routing benchmark


class RawEndpoint:
    """An ASGI endpoint that only answers, so a dispatch costs the router's work and little else."""

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": repr(scope["path_params"]).encode()})


def parse_scope(stack: Stack) -> Operation:
    """What a handler typically reads: method, path, two query params, three headers, a cookie."""
    scope = http_scope(path="/search", query=b"q=tachyon+engine&page=2&sort=-date", headers=BROWSER_HEADERS)

    def read() -> tuple[object, ...]:
        request = stack.Request(dict(scope))
        query, headers = request.query_params, request.headers
        return (
            request.method,
            request.url.path,
            query.get("q"),
            query.get("page"),
            headers.get("user-agent"),
            headers.get("accept-language"),
            "authorization" in headers,
            request.cookies.get("session"),
        )

    return Operation(synchronous=read)


def match_route(stack: Stack) -> Operation:
    """A Router of 120 routes dispatching to its last static route."""
    router = stack.Router(routes=rest_routes(stack, STEP_ROUTE_GROUPS, RawEndpoint()))
    path = f"/resources{STEP_ROUTE_GROUPS - 1}"
    return request_operation(router, lambda: (http_scope(path=path), no_body))


def extract_params(stack: Stack) -> Operation:
    """`Route.matches` on a route with an int and a str param."""
    route = stack.Route("/users/{user_id:int}/posts/{slug}", RawEndpoint())
    scope = http_scope(path="/users/42/posts/hello-world")

    def match() -> tuple[object, ...]:
        matched, child_scope = route.matches(scope)
        return matched.name, child_scope["path_params"]

    return Operation(synchronous=match)


def serialise_json(stack: Stack) -> Operation:
    """A JSONResponse of about 1 KiB, built and rendered."""
    content = json_content(1024)
    return Operation(synchronous=lambda: stack.JSONResponse(content).body)
