"""What runs natively: the report behind `tachyon_engine.accelerated()`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tachyon_engine import _core

# Each accelerated Starlette behaviour, and the Rust function that implements it.
_NATIVE_PATHS: dict[str, Callable[..., Any]] = {
    "datastructures.QueryParams(str | bytes)": _core.parse_query_string,
    "datastructures.Headers lookups (get, [], in, getlist)": _core.headers_get,
    "requests.cookie_parser": _core.parse_cookie_string,
    "requests.HTTPConnection.cookies": _core.parse_cookie_headers,
    "routing.Router matching (Route, WebSocketRoute; Mount narrowed)": _core.RouteIndex,
    "responses.JSONResponse.render": _core.render_json,
    "responses.Response.__init__ (every response class built through it)": _core.init_response,
    "responses.Response.init_headers (every response class)": _core.init_headers,
    "responses.Response.set_cookie, delete_cookie": _core.set_cookie_header,
    "websockets.WebSocket.send_json": _core.dumps_json,
    "requests.Request.json, websockets.WebSocket.receive_json": _core.loads_json,
    "formparsers.FormParser (urlencoded Request.form)": _core.UrlencodedFormParser,
    "formparsers.MultiPartParser (multipart Request.form)": _core.MultipartFormParser,
    "datastructures.MutableHeaders.__delitem__": _core.headers_delete,
    "requests.Request(...)": _core.new_request,
    "requests.HTTPConnection.headers": _core.connection_headers,
    "requests.HTTPConnection.query_params": _core.connection_query_params,
    "fastapi: jsonable_encoder of plain data (install())": _core.jsonable_plain,
    "fastapi: included routers' route scan for their version (install())": _core.instances_in,
}


def accelerated() -> dict[str, str]:
    """Maps every accelerated behaviour to the native function that runs it."""
    return {path: f"{_core.__name__}.{function.__name__}" for path, function in _NATIVE_PATHS.items()}


def build_profile() -> str:
    """`"release"` or `"debug"`: the Cargo profile the extension was built with."""
    return _core.BUILD_PROFILE


def native_counts() -> dict[str, int]:
    """How often each native path answered in this process (routes confirmed natively, JSON
    rendered and parsed in Rust): proof that the acceleration is engaged, not merely installed."""
    return _core.native_counts()
