"""The example app `make serve` runs on the built-in server: `tachyon examples.app:app`."""

from __future__ import annotations

from collections.abc import AsyncIterator

from tachyon_engine.applications import Starlette
from tachyon_engine.requests import Request
from tachyon_engine.responses import JSONResponse, PlainTextResponse, StreamingResponse
from tachyon_engine.routing import Route


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, world!")


async def user(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["user_id"], "q": request.query_params.get("q")})


async def echo(request: Request) -> JSONResponse:
    form = await request.form()
    return JSONResponse({key: str(value) for key, value in form.items()})


async def count(request: Request) -> StreamingResponse:
    async def numbers() -> AsyncIterator[str]:
        for number in range(5):
            yield f"{number}\n"

    return StreamingResponse(numbers(), media_type="text/plain")


app = Starlette(
    routes=[
        Route("/", hello),
        Route("/users/{user_id:int}", user),
        Route("/echo", echo, methods=["POST"]),
        Route("/count", count),
    ]
)
