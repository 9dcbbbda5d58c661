"""Type stub of the Rust extension `tachyon_engine._core`.

Every parser returns `NotImplemented` for an input outside its fast path; the caller then
runs Starlette's own code.
"""

from collections.abc import Awaitable, Callable, Generator, Mapping
from types import NotImplementedType
from typing import Any, TypeVar, final

_T = TypeVar("_T")

__all__ = [
    "__version__",
    "BUILD_PROFILE",
    "headers_get",
    "headers_getlist",
    "headers_contains",
    "headers_delete",
    "parse_cookie_string",
    "parse_cookie_headers",
    "parse_query_string",
    "RouteIndex",
    "render_json",
    "dumps_json",
    "jsonable_plain",
    "loads_json",
    "parse_options_header",
    "UrlencodedFormParser",
    "MultipartFormParser",
    "init_headers",
    "init_response",
    "configure_responses",
    "instances_in",
    "set_cookie_header",
    "configure_requests",
    "new_request",
    "register_plain_class",
    "new_headers",
    "new_query_params",
    "connection_headers",
    "connection_query_params",
    "native_counts",
    "TelemetryGate",
    "ClientDisconnected",
    "HttpCycle",
    "WebSocketCycle",
    "TlsConfig",
    "Ready",
    "NativeServer",
]

__version__: str
BUILD_PROFILE: str

def headers_get(raw: Any, key: Any, /) -> str | None | NotImplementedType: ...
def headers_getlist(raw: Any, key: Any, /) -> list[str] | NotImplementedType: ...
def headers_contains(raw: Any, key: Any, /) -> bool | NotImplementedType: ...
def headers_delete(raw: Any, key: Any, /) -> None | NotImplementedType: ...
def instances_in(items: Any, cls: Any, /) -> list[Any] | NotImplementedType: ...
def parse_cookie_string(cookie: Any, /) -> dict[str, str] | NotImplementedType: ...
def parse_cookie_headers(raw: Any, /) -> dict[str, str] | NotImplementedType: ...
def parse_query_string(query: Any, /) -> tuple[list[tuple[str, str]], dict[str, str]] | NotImplementedType: ...
def render_json(content: Any, /) -> bytes | NotImplementedType: ...
def dumps_json(content: Any, /) -> str | NotImplementedType: ...
def loads_json(data: Any, /) -> Any: ...
def parse_options_header(value: Any, mode: int, /) -> tuple[bytes, dict[bytes, bytes]] | NotImplementedType: ...
def jsonable_plain(value: Any, /, exclude_none: bool, sqlalchemy_safe: bool) -> Any: ...
def init_headers(
    headers: Any, body: Any, status_code: Any, media_type: Any, charset: Any, /
) -> list[tuple[bytes, bytes]] | NotImplementedType: ...
def init_response(
    response: Any, content: Any, status_code: Any, headers: Any, media_type: Any, background: Any, /
) -> None: ...
def configure_responses(
    stock_render: Any, native_init_headers: Any, native_json_render: Any, json_module: Any, json_dumps: Any, /
) -> None: ...
def configure_requests(classes: list[type], request_init: Any, connection: type, connection_init: Any, /) -> None: ...
def new_request(cls: type[_T], scope: Any, receive: Any, send: Any, /) -> _T: ...
def register_plain_class(cls: type, init: Any, /) -> None: ...
def new_headers(cls: type[_T], scope: Any, /) -> _T: ...
def new_query_params(cls: type[_T], query: Any, /) -> _T: ...
def connection_headers(connection: Any, cls: type, /) -> Any: ...
def connection_query_params(connection: Any, cls: type, /) -> Any: ...
def native_counts() -> dict[str, int]: ...

@final
class RouteIndex:
    """One router's route index; see `tachyon_engine.engine.route_index`."""

    def __new__(cls, match_full: Any, match_partial: Any, uuid_class: Any) -> RouteIndex: ...
    def is_current(self, routes: Any) -> bool: ...
    def rebuild(self, routes: list[Any], descriptors: list[Any]) -> None: ...
    def resolve(self, routes: Any, scope: Any, stop_at_partial: bool) -> tuple[int, Any, Any] | NotImplementedType: ...

def set_cookie_header(
    key: Any,
    value: Any,
    max_age: Any,
    expires: Any,
    path: Any,
    domain: Any,
    secure: Any,
    httponly: Any,
    samesite: Any,
    partitioned: Any,
    clock: Any,
    /,
) -> bytes | NotImplementedType: ...

@final
class UrlencodedFormParser:
    """One urlencoded body; see `tachyon_engine.formparsers.FormParser`."""

    def __new__(cls, max_fields: float, max_part_size: float) -> UrlencodedFormParser: ...
    def feed(self, chunk: bytes) -> int | None: ...
    def finish(self) -> int | None: ...
    def result(self) -> tuple[list[tuple[str, Any]], dict[str, Any]]: ...
    def state(self) -> tuple[int, int, bytes, bytes]: ...

@final
class MultipartFormParser:
    """One multipart body; see `tachyon_engine.formparsers.MultiPartParser`."""

    flush_size: int
    def __new__(
        cls,
        boundary: bytes,
        charset: str,
        max_files: float,
        max_fields: float,
        max_part_size: float,
        max_header_count: int,
        max_header_size: int,
        flush_size: int,
        mode: int,
    ) -> MultipartFormParser: ...
    def memory_file(self, index: int, upload: Any, spooled: Any) -> None: ...
    def feed(self, chunk: bytes) -> list[tuple[Any, ...]] | None: ...
    def finish(self) -> list[tuple[Any, ...]] | None: ...
    def result(self, files: list[Any], decode: Any) -> tuple[list[tuple[str, Any]], dict[str, Any]]: ...
    def counts(self) -> tuple[int, int]: ...

@final
class TelemetryGate:
    """FastAPI's `NativeTelemetry.enabled()`; see `tachyon_engine.fastapi.telemetry`."""

    def __new__(
        cls,
        fastapi_globals: dict[str, Any],
        getters: list[Any],
        unconfigured: Any,
        unconfigured_namespace: dict[str, Any],
        environ: Any,
        /,
    ) -> TelemetryGate: ...
    def __call__(self, config: Any, /) -> bool | None: ...

class ClientDisconnected(OSError):
    """`send()` after the client went away (ASGI spec 2.4)."""

@final
class HttpCycle:
    """One request/response cycle of the built-in server; see `tachyon_engine.server.serve`."""

    @property
    def scope(self) -> dict[str, Any]: ...
    @property
    def status(self) -> int: ...
    @property
    def response_started(self) -> bool: ...
    @property
    def response_complete(self) -> bool: ...
    @property
    def disconnected(self) -> bool: ...
    def receive(self) -> Awaitable[dict[str, Any]]: ...
    def send(self, message: Mapping[str, Any]) -> Awaitable[None]: ...
    def abort(self) -> None: ...

@final
class WebSocketCycle:
    """One WebSocket of the built-in server; see `tachyon_engine.server.serve`."""

    @property
    def scope(self) -> dict[str, Any]: ...
    @property
    def handshake_complete(self) -> bool: ...
    @property
    def disconnected(self) -> bool: ...
    def receive(self) -> Awaitable[dict[str, Any]]: ...
    def send(self, message: Mapping[str, Any]) -> Awaitable[None]: ...
    def refuse_with_500(self) -> None: ...
    def finish(self) -> None: ...

@final
class TlsConfig:
    """The server's TLS setup (rustls), made from PEM contents; `ValueError` says what is wrong."""

    def __new__(
        cls,
        certificates: bytes,
        key: bytes,
        ca_certs: bytes | None = None,
        cert_reqs: int = 0,
        http: str = "auto",
    ) -> TlsConfig: ...

@final
class Ready:
    """An awaitable that is already complete."""

    def __await__(self) -> Generator[Any, None, Any]: ...
    def __iter__(self) -> Ready: ...
    def __next__(self) -> Any: ...

@final
class NativeServer:
    """The hyper + tokio side of the built-in server; see `tachyon_engine.server.serve`."""

    def __new__(
        cls,
        fd: int,
        *,
        create_future: Callable[[], Any],
        call_soon: Callable[..., Any],
        log: Callable[[int, str], None],
        state: dict[str, Any],
        scheme: str = "http",
        root_path: str = "",
        access_log: Callable[[dict[str, Any], int], None] | None = None,
        proxy_headers: Callable[[dict[str, Any]], None] | None = None,
        date_header: bool = True,
        headers: list[tuple[bytes, bytes]] = ...,
        reason_phrases: list[tuple[int, bytes]] = ...,
        timeout_keep_alive: float = 5.0,
        max_headers: int = 100,
        max_header_size: int | None = None,
        limit_concurrency: int | None = None,
        ws: bool = True,
        ws_max_size: int = 16777216,
        ws_max_queue: int = 32,
        ws_ping_interval: float | None = ...,
        ws_ping_timeout: float | None = ...,
        websocket_log: Callable[[dict[str, Any], str | int], None] | None = None,
        http: str = "auto",
        tls: TlsConfig | None = None,
    ) -> NativeServer: ...
    def fileno(self) -> int: ...
    def drain(self) -> list[HttpCycle | WebSocketCycle]: ...
    def shutdown(self) -> None: ...
    def terminate(self) -> None: ...
    def join(self) -> None: ...
    @property
    def connections(self) -> int: ...
    @property
    def requests(self) -> int: ...
