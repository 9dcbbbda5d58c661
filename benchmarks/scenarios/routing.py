"""Route tables of a REST shape (four routes per resource, as in most APIs) of 20, 120 and 1,000
routes, plus a mount of 20 routes after them, and the requests that probe them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.scenarios.asgi import http_scope, no_body, request_operation
from benchmarks.scenarios.operation import Builder, Operation, probe
from benchmarks.stacks import Stack

ROUTE_COUNTS = (20, 120, 1000)
MOUNTED_GROUPS = 5


@dataclass(frozen=True)
class RoutingCase:
    label: str
    method: str
    path: str
    status: int


def cases(route_count: int) -> list[RoutingCase]:
    last = route_count // 4 - 1
    return [
        RoutingCase("early", "GET", "/resources0", 200),
        RoutingCase("late", "GET", f"/resources{last}", 200),
        RoutingCase("param", "GET", f"/resources{last}/123/items/first", 200),
        RoutingCase("miss", "GET", "/no/such/path", 404),
        RoutingCase("405", "DELETE", f"/resources{last}", 405),
        RoutingCase("mounted", "GET", f"/mounted/resources{MOUNTED_GROUPS - 1}/7/items/last", 200),
    ]


def rest_routes(stack: Stack, groups: int, endpoint: Any) -> list[Any]:
    routes = []
    for index in range(groups):
        routes += [
            stack.Route(f"/resources{index}", endpoint, methods=["GET", "POST"]),
            stack.Route(f"/resources{index}/{{id:int}}", endpoint, methods=["GET", "PUT", "DELETE"]),
            stack.Route(f"/resources{index}/{{id:int}}/items", endpoint, methods=["GET", "POST"]),
            stack.Route(f"/resources{index}/{{id:int}}/items/{{item}}", endpoint, methods=["GET"]),
        ]
    return routes


def routing_app(stack: Stack, route_count: int) -> Any:
    async def endpoint(request: Any) -> Any:
        if probe.enabled:
            # Which route answered, and with which params: a wrong match must not pass as "ok".
            probe.record((request.scope["route"].path, request.path_params))
        return stack.PlainTextResponse("ok")

    routes = rest_routes(stack, route_count // 4, endpoint)
    routes.append(stack.Mount("/mounted", routes=rest_routes(stack, MOUNTED_GROUPS, endpoint)))
    return stack.Starlette(routes=routes)


def routing(route_count: int, case: RoutingCase) -> Builder:
    def build(stack: Stack) -> Operation:
        app = routing_app(stack, route_count)
        return request_operation(app, lambda: (http_scope(case.method, case.path), no_body), case.status)

    return build


# Tables whose routes start with parameters (multi-tenant and versioned APIs), and mounts in a row:
# each request goes to the last route, the one a linear scan reaches last.
TENANT_ROUTES = (20, 1000)
VERSIONED_GROUPS = 250
MOUNTS, ROUTES_PER_MOUNT = 10, 20


def _recording_endpoint(stack: Stack) -> Any:
    async def endpoint(request: Any) -> Any:
        if probe.enabled:
            probe.record((request.scope["route"].path, request.path_params))
        return stack.PlainTextResponse("ok")

    return endpoint


def parameter_first(stack: Stack, table: str, count: int = 0) -> tuple[Any, str]:
    """The app of `table` ("tenant" with `count` routes, "versioned" or "mounts") and the path of
    its last route."""
    endpoint = _recording_endpoint(stack)
    if table == "tenant":
        routes = [stack.Route(f"/t/{{tenant}}/resources{n}/{{id:int}}", endpoint) for n in range(count)]
        return stack.Starlette(routes=routes), f"/t/acme/resources{count - 1}/7"
    if table == "versioned":
        routes = []
        for n in range(VERSIONED_GROUPS):
            routes += [
                stack.Route(f"/api/{{version}}/resources{n}", endpoint),
                stack.Route(f"/api/{{version}}/resources{n}/{{id:int}}", endpoint),
            ]
        return stack.Starlette(routes=routes), f"/api/v2/resources{VERSIONED_GROUPS - 1}/7"
    mounts = [
        stack.Mount(f"/m{m}", routes=[stack.Route(f"/r{n}/{{id:int}}", endpoint) for n in range(ROUTES_PER_MOUNT)])
        for m in range(MOUNTS)
    ]
    return stack.Starlette(routes=mounts), f"/m{MOUNTS - 1}/r{ROUTES_PER_MOUNT - 1}/7"


def parameter_first_routing(table: str, count: int = 0) -> Builder:
    def build(stack: Stack) -> Operation:
        app, path = parameter_first(stack, table, count)
        return request_operation(app, lambda: (http_scope("GET", path), no_body), 200)

    return build
