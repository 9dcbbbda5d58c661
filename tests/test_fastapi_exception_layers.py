"""FastAPI's exception layers (ServerErrorMiddleware, ExceptionTelemetryMiddleware,
ExceptionMiddleware with FastAPI's handlers, AsyncExitStackMiddleware, the per-route handler
wrapper) with `install()`, which fuses FastAPI's default stack, against stock FastAPI: the same
messages sent, the same exception raised to the server and the same scope keys, for every kind
of failure at every point of a response, in Starlette routes, FastAPI routes (validation errors,
dependencies with `yield`) and with a user middleware (FastAPI's stack as built)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import fastapi
import pytest
import starlette.middleware
from test_exception_layers import FAILURES, HANDLER_SETS, WHEN, PassThrough, call, endpoint_for

import tachyon_engine
from tachyon_engine.fastapi.dispatch import FastAPILeanStack


def build(debug: bool, handlers: dict[Any, Any], middleware: bool) -> fastapi.FastAPI:
    user_middleware = [starlette.middleware.Middleware(PassThrough)] if middleware else []
    app = fastapi.FastAPI(debug=debug, exception_handlers=handlers, middleware=user_middleware, openapi_url=None)
    for failure, when in itertools.product(FAILURES, WHEN):
        app.add_route(f"/{failure}/{when}", endpoint_for(failure, when), methods=["GET"])

    async def cleanup() -> AsyncIterator[str]:
        yield "dependency"
        raise FAILURES["value"]

    async def typed(number: int) -> dict[str, int]:
        return {"number": number}

    async def with_cleanup(value: str = fastapi.Depends(cleanup)) -> dict[str, str]:
        return {"value": value}

    async def swallowing() -> AsyncIterator[str]:
        try:
            yield "dependency"
        except Exception:
            pass  # FastAPI then raises its "Response not awaited" error

    async def swallowed(value: str = fastapi.Depends(swallowing)) -> dict[str, str]:
        raise FAILURES["runtime"]

    app.add_api_route("/typed/{number}", typed, methods=["GET"])
    app.add_api_route("/cleanup", with_cleanup, methods=["GET"])
    app.add_api_route("/swallowed", swallowed, methods=["GET"])
    for failure, when in itertools.product(FAILURES, WHEN):
        app.add_api_route(f"/api/{failure}/{when}", api_endpoint_for(failure, when), methods=["GET"])
    return app


def api_endpoint_for(failure: str, when: str) -> Any:
    """`endpoint_for(failure, when)` as a FastAPI path operation (which returns its response)."""
    endpoint = endpoint_for(failure, when)
    if when == "sync":

        def sync_operation(request: fastapi.Request) -> Any:
            return endpoint(request)

        return sync_operation

    async def operation(request: fastapi.Request) -> Any:
        return await endpoint(request)

    return operation


PATHS = [f"/{f}/{w}" for f, w in itertools.product(FAILURES, WHEN)] + [
    "/nowhere",
    "/ok/before/",
    "/typed/7",
    "/typed/seven",
    "/cleanup",
    "/swallowed",
    *[f"/api/{f}/{w}" for f, w in itertools.product(FAILURES, WHEN)],
]


@pytest.mark.parametrize("middleware", [False, True], ids=["fused", "full-stack"])
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("handlers", range(len(HANDLER_SETS)))
def test_fastapi_exception_layers_match_stock(debug: bool, handlers: int, middleware: bool) -> None:
    stock = build(debug, HANDLER_SETS[handlers], middleware)
    tachyon_engine.install()
    try:
        ours = build(debug, HANDLER_SETS[handlers], middleware)
    finally:
        tachyon_engine.uninstall()

    async def compare() -> None:
        for path, method in itertools.product(PATHS, ["GET", "POST"]):
            expected = await call(stock, path, method)
            tachyon_engine.install()
            try:
                actual = await call(ours, path, method)
            finally:
                tachyon_engine.uninstall()
            assert actual == expected, (path, method)

    asyncio.run(compare())
    assert isinstance(ours.middleware_stack, FastAPILeanStack) is not middleware
