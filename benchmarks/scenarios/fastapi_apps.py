"""FastAPI scenarios: stock FastAPI, and FastAPI after `tachyon_engine.install()` (which swaps
Starlette's hot paths in place, so FastAPI code needs no change)."""

from __future__ import annotations

from typing import Any

from benchmarks.scenarios.asgi import BROWSER_HEADERS, http_scope, no_body, request_operation
from benchmarks.scenarios.operation import Operation
from benchmarks.stacks import Stack

ROUTES = 100


def _fastapi() -> Any:
    # Imported in the worker, after `install()` where the candidate asks for it.
    from fastapi import FastAPI

    return FastAPI()


async def hello() -> dict[str, str]:
    return {"message": "Hello, world!"}


async def item(item_id: int) -> dict[str, int]:
    return {"item_id": item_id}


def _user_with_header_and_cookie() -> Any:
    from fastapi import Cookie, Header

    async def user_details(
        user_id: int,
        q: str | None = None,
        page: int = 1,
        # FastAPI's declaration style: the default carries where the value comes from.
        user_agent: str | None = Header(None),
        session: str | None = Cookie(None),
    ) -> dict[str, object]:
        return {"user_id": user_id, "q": q, "page": page, "agent": user_agent, "session": session}

    return user_details


def fastapi_hello(stack: Stack) -> Operation:
    app = _fastapi()
    app.add_api_route("/", hello)
    return request_operation(app, lambda: (http_scope(headers=BROWSER_HEADERS), no_body))


def fastapi_params(stack: Stack) -> Operation:
    app = _fastapi()
    app.add_api_route("/users/{user_id}", _user_with_header_and_cookie())
    return request_operation(
        app, lambda: (http_scope(path="/users/42", query=b"q=tachyon+engine&page=2", headers=BROWSER_HEADERS), no_body)
    )


def fastapi_last_route(stack: Stack) -> Operation:
    app = _fastapi()
    for index in range(ROUTES):
        app.add_api_route(f"/items{index}/{{item_id}}", item)
    return request_operation(app, lambda: (http_scope(path=f"/items{ROUTES - 1}/7"), no_body))


def fastapi_included_last_route(stack: Stack) -> Operation:
    """The usual layout of a bigger app: the routes in an `APIRouter` included with a prefix."""
    from fastapi import APIRouter

    app, router = _fastapi(), APIRouter()
    for index in range(ROUTES):
        router.add_api_route(f"/items{index}/{{item_id}}", item)
    app.include_router(router, prefix="/api")
    return request_operation(app, lambda: (http_scope(path=f"/api/items{ROUTES - 1}/7"), no_body))
