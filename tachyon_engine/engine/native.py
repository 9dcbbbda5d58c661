"""What runs natively: the report behind `tachyon_engine.accelerated()`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tachyon_engine.engine.bindings import (
    datastructures as rust_datastructures,
    forms as rust_forms,
    json as rust_json,
    requests as rust_requests,
    responses as rust_responses,
    routing as rust_routing,
    stats as rust_stats,
)
from tachyon_engine.fastapi import bindings as rust_fastapi

# Each accelerated Starlette behaviour, and the Rust function that implements it.
_NATIVE_PATHS: dict[str, Callable[..., Any]] = {
    "datastructures.QueryParams(str | bytes)": rust_datastructures.parse_query_string,
    "datastructures.Headers lookups (get, [], in, getlist)": rust_datastructures.headers_get,
    "requests.cookie_parser": rust_datastructures.parse_cookie_string,
    "requests.HTTPConnection.cookies": rust_datastructures.parse_cookie_headers,
    "routing.Router matching (Route, WebSocketRoute; Mount narrowed)": rust_routing.RouteIndex,
    "responses.JSONResponse.render": rust_json.render_json,
    "responses.Response.__init__ (every response class built through it)": rust_responses.init_response,
    "responses.Response.init_headers (every response class)": rust_responses.init_headers,
    "responses.Response.set_cookie, delete_cookie": rust_responses.set_cookie_header,
    "websockets.WebSocket.send_json": rust_json.dumps_json,
    "requests.Request.json, websockets.WebSocket.receive_json": rust_json.loads_json,
    "formparsers.FormParser (urlencoded Request.form)": rust_forms.UrlencodedFormParser,
    "formparsers.MultiPartParser (multipart Request.form)": rust_forms.MultipartFormParser,
    "datastructures.MutableHeaders.__delitem__": rust_datastructures.headers_delete,
    "requests.Request(...)": rust_requests.new_request,
    "requests.HTTPConnection.headers": rust_requests.connection_headers,
    "requests.HTTPConnection.query_params": rust_requests.connection_query_params,
    "fastapi: jsonable_encoder of plain data (install())": rust_fastapi.jsonable_plain,
    "fastapi: included routers' route scan for their version (install())": rust_routing.instances_in,
}


def accelerated() -> dict[str, str]:
    """Maps every accelerated behaviour to the native function that runs it."""
    return {path: f"tachyon_engine._core.{function.__name__}" for path, function in _NATIVE_PATHS.items()}


def build_profile() -> str:
    """`"release"` or `"debug"`: the Cargo profile the extension was built with."""
    return rust_stats.BUILD_PROFILE


def native_counts() -> dict[str, int]:
    """How often each native path answered in this process (routes confirmed natively, JSON
    rendered and parsed in Rust): proof that the acceleration is engaged, not merely installed."""
    return rust_stats.native_counts()
