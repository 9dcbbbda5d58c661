"""Every scenario of the project's own, by suite. A suite runs in one worker process per side."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.middleware import Middleware

from benchmarks.scenarios import apps, fastapi_apps, middleware, routing, steps
from benchmarks.scenarios.asgi import KiB, MiB
from benchmarks.scenarios.operation import Builder


@dataclass(frozen=True)
class Case:
    group: str
    name: str
    build: Builder


def _routing_cases() -> list[Case]:
    return [
        Case("routing", f"{count} routes: {case.label}", routing.routing(count, case))
        for count in routing.ROUTE_COUNTS
        for case in routing.cases(count)
    ] + [
        *(
            Case(
                "routing",
                f"{count} routes /t/{{tenant}}/resourcesN/{{id:int}}: last",
                routing.parameter_first_routing("tenant", count),
            )
            for count in routing.TENANT_ROUTES
        ),
        Case(
            "routing",
            f"{2 * routing.VERSIONED_GROUPS} routes /api/{{version}}/resourcesN[/{{id:int}}]: last",
            routing.parameter_first_routing("versioned"),
        ),
        Case(
            "routing",
            f"{routing.MOUNTS} mounts of {routing.ROUTES_PER_MOUNT} routes: last mount",
            routing.parameter_first_routing("mounts"),
        ),
    ]


def _middleware_cases() -> list[Case]:
    m = middleware
    return [
        Case("middleware", "CORS, simple request with Origin", m.with_middleware(m.CORS)),
        Case("middleware", "CORS preflight", m.with_middleware(m.CORS, method="OPTIONS", headers=m.PREFLIGHT)),
        Case("middleware", "GZip, response below minimum_size", m.with_middleware(m.GZIP)),
        Case("middleware", "TrustedHost", m.with_middleware(m.TRUSTED_HOST)),
        Case("middleware", "TrustedHost + CORS + GZip", m.with_middleware(m.TRUSTED_HOST, m.CORS, m.GZIP)),
        Case("middleware", "BaseHTTPMiddleware adding a header", m.with_middleware(Middleware(m.AddHeader))),
        Case(
            "middleware", "GZip of a 64 KiB JSON response", m.with_middleware(m.GZIP, path="/data", json_size=64 * KiB)
        ),
    ]


SUITES: dict[str, list[Case]] = {
    "apps": [
        Case("app", "hello world, full app", apps.hello_world),
        Case("app", "path + query + header + cookie -> JSON", apps.request_params),
        Case("app", "hello world, with a pure ASGI user middleware", apps.hello_world_with(apps.PassThrough)),
        Case("app", "hello world, with a BaseHTTPMiddleware", apps.hello_world_with(apps.PassThroughHTTP)),
        Case("app", "set a cookie and delete one", apps.set_cookies),
        Case("app", "hello world, endpoint and response only (no dispatch)", apps.handler_only("/", "/", {})),
        Case(
            "app",
            "path + query + header + cookie -> JSON, endpoint and response only (no dispatch)",
            apps.handler_only("/users/{user_id:int}", apps.PARAMS_PATH, {"user_id": 42}, apps.PARAMS_QUERY),
        ),
        *_routing_cases(),
        *_middleware_cases(),
        Case("json", "JSONResponse 1 KiB", apps.json_response(KiB)),
        Case("json", "JSONResponse 64 KiB", apps.json_response(64 * KiB)),
        Case("json", "JSONResponse 1 MiB", apps.json_response(MiB)),
        Case("json", "Request.json() 1 KiB", apps.request_json(KiB)),
        Case("json", "Request.json() 64 KiB", apps.request_json(64 * KiB)),
        Case("json", "Request.json() 1 MiB", apps.request_json(MiB)),
        Case("forms", "urlencoded form, 1,000 fields", apps.urlencoded_form(1000)),
        Case("forms", "multipart, 1,000 fields", apps.multipart_form(fields=1000)),
        Case("forms", "multipart, 1 MiB file", apps.multipart_form(files=(MiB,))),
        Case("forms", "multipart, 10 MiB file", apps.multipart_form(files=(10 * MiB,))),
    ],
    "fastapi": [
        Case("fastapi", "FastAPI hello", fastapi_apps.fastapi_hello),
        Case("fastapi", "FastAPI params (path, query, header, cookie)", fastapi_apps.fastapi_params),
        Case("fastapi", f"FastAPI {fastapi_apps.ROUTES} routes, last", fastapi_apps.fastapi_last_route),
        Case(
            "fastapi",
            f"FastAPI {fastapi_apps.ROUTES} routes in an included router, last",
            fastapi_apps.fastapi_included_last_route,
        ),
        Case(
            "fastapi",
            "FastAPI + CORS + @app.middleware('http'), path + query",
            middleware.fastapi_cors_and_http_middleware,
        ),
    ],
    "steps": [
        Case("steps", "parse scope (Request: method, path, 2 query params, 3 headers, cookie)", steps.parse_scope),
        Case("steps", "match route (Router, 120 routes, last static, raw endpoint)", steps.match_route),
        Case("steps", "extract params (Route.matches, int + str params)", steps.extract_params),
        Case("steps", "serialise JSON (JSONResponse, 1 KiB)", steps.serialise_json),
    ],
}
