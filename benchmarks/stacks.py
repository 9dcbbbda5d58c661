"""The classes a scenario builds its app from, taken from one package: `starlette` (the reference)
or `tachyon_engine` (the candidate). A worker process loads exactly one of them."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Only for the annotations: tachyon_engine's classes subclass these.
    import starlette.applications
    import starlette.requests
    import starlette.responses
    import starlette.routing

REFERENCE_PACKAGE = "starlette"
CANDIDATE_PACKAGE = "tachyon_engine"


@dataclass(frozen=True)
class Stack:
    package: str
    Starlette: type[starlette.applications.Starlette]
    Router: type[starlette.routing.Router]
    Route: type[starlette.routing.Route]
    Mount: type[starlette.routing.Mount]
    Request: type[starlette.requests.Request]
    Response: type[starlette.responses.Response]
    PlainTextResponse: type[starlette.responses.PlainTextResponse]
    JSONResponse: type[starlette.responses.JSONResponse]
    UploadFile: type[Any]


def load(package: str) -> Stack:
    def module(name: str) -> Any:
        return importlib.import_module(f"{package}.{name}")

    routing, responses = module("routing"), module("responses")
    return Stack(
        package=package,
        Starlette=module("applications").Starlette,
        Router=routing.Router,
        Route=routing.Route,
        Mount=routing.Mount,
        Request=module("requests").Request,
        Response=responses.Response,
        PlainTextResponse=responses.PlainTextResponse,
        JSONResponse=responses.JSONResponse,
        UploadFile=module("datastructures").UploadFile,
    )
