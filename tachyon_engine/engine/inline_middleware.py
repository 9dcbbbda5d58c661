"""Starlette's own middleware classes, run inline by the lean dispatch.

`CORSMiddleware`, `GZipMiddleware`, `TrustedHostMiddleware` and `HTTPSRedirectMiddleware` are what
real apps add. Each is a layer of the stack with its own coroutine frame and, for CORS and GZip, a
`send` wrapper that sees every message. When the user middleware between `ServerErrorMiddleware`
and `ExceptionMiddleware` begins with instances of exactly these classes (no subclass, no patched
method), the lean dispatch runs them in its own coroutine:

- the request phase (`enter`): what each layer's `__call__` decides before calling the next one,
  read from the same attributes; a layer that answers by itself (a CORS preflight, a host not
  allowed, a redirect to https) is called as it is, with the `send` the layers outside it give;
- the response phase, for a plain `Response` (one start message, one body): CORS's and GZip's
  `send` transformations applied to the two messages in place (`send_through`), in the order
  their wrappers would apply them, with the same list and dict mutations. Anything else (a
  streaming response, an exception handler's answer, a body large enough for GZip's worker
  thread) goes through the layers' own `send` wrappers (`compose`): Starlette's code.

The layers after these (any other middleware) are called as an ASGI app with the composed `send`.
"""

from __future__ import annotations

import functools
import zlib
from typing import Any

import starlette.middleware.cors
import starlette.middleware.gzip
import starlette.middleware.httpsredirect
import starlette.middleware.trustedhost
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware, GZipResponder, IdentityResponder
from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import PlainTextResponse as StockPlainTextResponse

from tachyon_engine.engine.targets import stock
from tachyon_engine.responses import PlainTextResponse
from tachyon_engine.types import Message, Receive, Send

# The names the middleware modules bind (patchable there), looked up at call time.
stock_cors: Any = starlette.middleware.cors
stock_gzip: Any = starlette.middleware.gzip
stock_trustedhost: Any = starlette.middleware.trustedhost


def _as_read_on_class(value: Any) -> Any:
    """A stock attribute as reading it on its class gives it (a staticmethod's function)."""
    return value.__func__ if isinstance(value, staticmethod) else value


# Each class's stock methods whose behaviour the request and response phases reproduce.
_CORS_METHODS = tuple(
    _as_read_on_class(stock(f"starlette.middleware.cors:CORSMiddleware.{name}"))
    for name in (
        "__call__",
        "simple_response",
        "send",
        "is_allowed_origin",
        "allow_explicit_origin",
        "preflight_response",
    )
)
_GZIP_METHODS = (
    stock("starlette.middleware.gzip:GZipMiddleware.__call__"),
    stock("starlette.middleware.gzip:IdentityResponder.send_with_compression"),
    stock("starlette.middleware.gzip:GZipResponder.apply_compression"),
    stock("starlette.middleware.gzip:GZipResponder._compress_body"),
)
_TRUSTED_HOST_CALL = stock("starlette.middleware.trustedhost:TrustedHostMiddleware.__call__")
_HTTPS_REDIRECT_CALL = stock("starlette.middleware.httpsredirect:HTTPSRedirectMiddleware.__call__")
_SET_HEADER = stock("starlette.datastructures:MutableHeaders.__setitem__")
_ADD_VARY = stock("starlette.datastructures:MutableHeaders.add_vary_header")

# What the request phase keeps of a layer that transforms the response: (kind, layer, value),
# the value being the request's `Origin` (CORS) or whether it accepts gzip (GZip).
CORS, GZIP = 1, 2
INLINE_CLASSES = (CORSMiddleware, GZipMiddleware, TrustedHostMiddleware, HTTPSRedirectMiddleware)


def recognised_prefix(first: Any) -> tuple[tuple[Any, ...], Any]:
    """The layers from `first` inward that are exactly Starlette's inline-able classes, and the
    layer after them."""
    layers: list[Any] = []
    layer = first
    while type(layer) in INLINE_CLASSES:
        layers.append(layer)
        layer = layer.app
    return tuple(layers), layer


def still_stock(layers: tuple[Any, ...], after: Any) -> bool:
    """Whether the layers still form the chain they were found as, each class running its own
    stock code (checked on every request: inline, a loop of identity tests)."""
    for index, layer in enumerate(layers):
        if layer.app is not (layers[index + 1] if index + 1 < len(layers) else after):
            return False
        kind = type(layer)
        if kind is CORSMiddleware:
            if (
                kind.__call__,
                kind.simple_response,
                kind.send,
                kind.is_allowed_origin,
                kind.allow_explicit_origin,
                kind.preflight_response,
            ) != _CORS_METHODS:
                return False
        elif kind is GZipMiddleware:
            if (
                kind.__call__,
                IdentityResponder.send_with_compression,
                GZipResponder.apply_compression,
                GZipResponder._compress_body,
            ) != _GZIP_METHODS or stock_gzip.GZipResponder is not GZipResponder:
                return False
        elif kind is TrustedHostMiddleware:
            if kind.__call__ is not _TRUSTED_HOST_CALL:
                return False
        elif kind.__call__ is not _HTTPS_REDIRECT_CALL:
            return False
    return (
        stock_cors.MutableHeaders.__setitem__ is _SET_HEADER and stock_gzip.MutableHeaders.add_vary_header is _ADD_VARY
    )


def enter(layers: tuple[Any, ...], scope: Any) -> tuple[list[tuple[int, Any, Any]], int]:
    """The request phase of the layers, outermost first: the states of the layers passed that
    transform the response, and the index of the layer that answers by itself (-1: none does)."""
    states: list[tuple[int, Any, Any]] = []
    for index, layer in enumerate(layers):
        kind = type(layer)
        if kind is CORSMiddleware:
            # `Headers(scope=scope)`: the scope's headers become a list, then `get("origin")`.
            raw = scope["headers"] = list(scope["headers"])
            origin = None
            preflight = False
            for key, value in raw:
                if key == b"origin":
                    if origin is None:
                        origin = value.decode("latin-1")
                elif key == b"access-control-request-method":
                    preflight = True
            if origin is not None and preflight and scope["method"] == "OPTIONS":
                return states, index
            states.append((CORS, layer, (origin, raw)))
        elif kind is GZipMiddleware:
            raw = scope["headers"] = list(scope["headers"])
            accept = ""
            for key, value in raw:
                if key == b"accept-encoding":
                    accept = value.decode("latin-1")
                    break
            states.append((GZIP, layer, "gzip" in accept))
        elif kind is TrustedHostMiddleware:
            if not layer.allow_any and not _host_allowed(layer, scope):
                return states, index
        elif scope["scheme"] in ("http", "ws"):  # HTTPSRedirectMiddleware answers it
            return states, index
    return states, -1


def _host_allowed(layer: TrustedHostMiddleware, scope: Any) -> bool:
    """`TrustedHostMiddleware.__call__`'s test: whether it passes the request on."""
    raw = scope["headers"] = list(scope["headers"])
    host_header = None
    for key, value in raw:
        if key == b"host":
            host_header = value.decode("latin-1")
            break
    parsed_host = stock_trustedhost.parse_host_header(host_header)
    if parsed_host is None:
        return False
    host = parsed_host.host.lower()
    for pattern in layer.allowed_hosts:
        if host == pattern or (pattern.startswith("*") and host.endswith(pattern[1:])):
            return True
    return False


def compose(states: list[tuple[int, Any, Any]], send: Send) -> Send:
    """The `send` the layers' own wrappers give the next layer, around `send` (outermost first)."""
    for kind, layer, value in states:
        if kind == CORS:
            origin, raw = value
            request_headers = stock_cors.Headers(raw=raw)
            send = functools.partial(layer.send, send=send, request_headers=request_headers)
        else:
            responder: Any
            if value:
                responder = stock_gzip.GZipResponder(
                    layer.app,
                    layer.minimum_size,
                    compresslevel=layer.compresslevel,
                    thread_minimum_size=layer.thread_minimum_size,
                    exclude_content_types=layer.exclude_content_types,
                )
            else:
                responder = stock_gzip.IdentityResponder(
                    layer.app, layer.minimum_size, exclude_content_types=layer.exclude_content_types
                )
            responder.send = send
            send = responder.send_with_compression
    return send


async def send_through(states: list[tuple[int, Any, Any]], start: Message, body: Message, send: Send) -> None:
    """A plain response's two messages sent through the layers, innermost first, each applying
    what its `send` wrapper does to them; from a layer that cannot do so here (a body for GZip's
    worker thread), through the wrappers of that layer and the ones outside it."""
    for index in range(len(states) - 1, -1, -1):
        kind, layer, value = states[index]
        if kind == CORS:
            _cors_start(layer, value[0], start)
        elif not _gzip_whole(layer, value, start, body):
            wrapped = compose(states[: index + 1], send)
            await wrapped(start)
            await wrapped(body)
            return
    await send(start)
    await send(body)


async def answer(layer: Any, states: list[tuple[int, Any, Any]], scope: Any, receive: Receive, send: Send) -> None:
    """The answer of a layer that does not call the next one, sent through the layers outside it."""
    if type(layer) is CORSMiddleware and stock_cors.PlainTextResponse is StockPlainTextResponse:
        # A preflight request: `CORSMiddleware.preflight_response`'s response, sent as
        # `Response.__call__` sends it.
        response = _preflight_response(layer, scope["headers"])
        start = {"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers}
        await send_through(states, start, {"type": "http.response.body", "body": response.body}, send)
        return
    await layer(scope, receive, compose(states, send))


def _preflight_response(layer: CORSMiddleware, raw: list[tuple[bytes, bytes]]) -> Any:
    """`CORSMiddleware.preflight_response`, the request's headers read from the raw list."""
    requested = {}
    for key, value in raw:
        if key in _PREFLIGHT_HEADERS and key not in requested:
            requested[key] = value.decode("latin-1")
    requested_origin = requested[b"origin"]
    requested_headers = requested.get(b"access-control-request-headers")
    requested_private_network = requested.get(b"access-control-request-private-network")
    headers = dict(layer.preflight_headers)
    failures: list[str] = []
    if layer.is_allowed_origin(origin=requested_origin):
        if layer.preflight_explicit_allow_origin:
            headers["Access-Control-Allow-Origin"] = requested_origin
    else:
        failures.append("origin")
    if requested[b"access-control-request-method"] not in layer.allow_methods:
        failures.append("method")
    if layer.allow_all_headers and requested_headers is not None:
        headers["Access-Control-Allow-Headers"] = requested_headers
    elif requested_headers is not None:
        for header in [h.lower() for h in requested_headers.split(",")]:
            if header.strip() not in layer.allow_headers:
                failures.append("headers")
                break
    if requested_private_network is not None:
        if layer.allow_private_network:
            headers["Access-Control-Allow-Private-Network"] = "true"
        else:
            failures.append("private-network")
    if failures:
        return PlainTextResponse("Disallowed CORS " + ", ".join(failures), status_code=400, headers=headers)
    return PlainTextResponse("OK", status_code=200, headers=headers)


_PREFLIGHT_HEADERS = frozenset(
    (
        b"origin",
        b"access-control-request-method",
        b"access-control-request-headers",
        b"access-control-request-private-network",
    )
)


def _cors_start(layer: CORSMiddleware, origin: str | None, message: Message) -> None:
    """`CORSMiddleware.send` on a start message."""
    # `MutableHeaders(scope=message)`: the message's headers become a new list.
    raw = message["headers"] = list(message.setdefault("headers", []))
    present = {key for key, _ in raw}
    if origin is not None:
        for key, value in layer.simple_headers.items():
            _set(raw, present, key.lower().encode("latin-1"), value.encode("latin-1"))
    if origin is not None and (
        (layer.allow_all_origins and layer.allow_credentials)
        or (not layer.allow_all_origins and layer.is_allowed_origin(origin=origin))
    ):
        _set(raw, present, b"access-control-allow-origin", origin.encode("latin-1"))
    _add_vary(raw, present, "Origin")


def _gzip_whole(layer: GZipMiddleware, accepts_gzip: bool, start: Message, body: Message) -> bool:
    """`IdentityResponder.send_with_compression` (`GZipResponder`'s when the request accepts
    gzip) on a start message and one final body message; False, untouched, when the body is one
    the responder would compress in a worker thread."""
    raw = start.setdefault("headers", [])
    content_type = ""
    content_encoding_set = False
    for key, value in raw:
        if key == b"content-encoding":
            content_encoding_set = True
        elif key == b"content-type" and not content_type:
            content_type = value.decode("latin-1")
    media_type = content_type.partition(";")[0].strip().lower()
    media_types = {media_type, media_type.partition("/")[0] + "/*"}
    if media_type.startswith("application/grpc+"):
        media_types.add("application/grpc")
    excluded = not media_types.isdisjoint(_normalized(layer.exclude_content_types))
    if content_encoding_set or start["status"] == 206 or excluded:
        return True
    content = body["body"]
    if len(content) < layer.minimum_size:
        return True
    if accepts_gzip:
        if len(content) >= layer.thread_minimum_size:
            return False
        compressor = zlib.compressobj(layer.compresslevel, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        compressed = compressor.compress(content) + compressor.flush()
    else:
        compressed = content
    present = {key for key, _ in raw}
    _add_vary(raw, present, "Accept-Encoding")
    if compressed != body["body"]:
        # (A plain response's start message asks for no trailers.)
        _set(raw, present, b"content-encoding", b"gzip")
        _set(raw, present, b"content-length", str(len(compressed)).encode("latin-1"))
        body["body"] = compressed
    return True


# `_normalize_content_types` of each tuple met (a pure function of an immutable value; the entry
# keeps its tuple alive, so its id is not reused).
_NORMALIZED: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _normalized(content_types: tuple[str, ...]) -> tuple[str, ...]:
    if type(content_types) is not tuple:  # reassigned by the app: possibly mutable
        return stock_gzip._normalize_content_types(content_types)  # type: ignore[no-any-return]
    entry = _NORMALIZED.get(id(content_types))
    if entry is None or entry[0] is not content_types:
        entry = _NORMALIZED[id(content_types)] = (content_types, stock_gzip._normalize_content_types(content_types))
    return entry[1]


def _add_vary(raw: list[tuple[bytes, bytes]], present: set[bytes], value: str) -> None:
    """`headers["Vary"] = ", ".join([*headers.getlist("Vary"), value])` (CORS's, and GZip's
    `add_vary_header`)."""
    if b"vary" in present:
        joined = ", ".join([*(item.decode("latin-1") for key, item in raw if key == b"vary"), value])
        _set(raw, present, b"vary", joined.encode("latin-1"))
    else:
        raw.append((b"vary", value.encode("latin-1")))
        present.add(b"vary")


def _set(raw: list[tuple[bytes, bytes]], present: set[bytes], key: bytes, value: bytes) -> None:
    """`MutableHeaders.__setitem__`: the first entry replaced, the others removed, or appended.
    `present`: the keys of `raw`, kept up to date (most keys set are new to the list)."""
    if key not in present:
        raw.append((key, value))
        present.add(key)
        return
    found = [index for index, (item_key, _) in enumerate(raw) if item_key == key]
    for index in reversed(found[1:]):
        del raw[index]
    if found:
        raw[found[0]] = (key, value)
    else:
        raw.append((key, value))
