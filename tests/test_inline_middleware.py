"""Starlette's CORS, GZip, TrustedHost and HTTPSRedirect middleware, run inline by the lean
dispatch, against the same classes in Starlette's own stack: random configurations, orders and
requests, every message sent, the exception raised to the server and the scope's headers."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import pytest
import starlette.applications
import starlette.responses
import starlette.routing
from differential import drive_asgi
from hypothesis import given, settings, strategies as st
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

import tachyon_engine.applications
import tachyon_engine.routing
from tachyon_engine.engine.dispatch import LeanStack

ORIGINS = ["https://a.example", "http://b.example", "https://evil.example", "null"]
HOSTS = ["example.com", "www.example.com", "api.example.com", "evil.com", "example.com:8000", "[::1]:80", "bad host"]


class PassThrough:
    """A pure ASGI middleware: the lean dispatch calls it as it is, after the inline layers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def routes(routing: Any) -> list[Any]:
    responses = starlette.responses

    async def text(request: Any) -> Any:
        size = int(request.query_params.get("size", "13"))
        headers = {}
        if "vary" in request.query_params:
            headers["Vary"] = request.query_params["vary"]
        if "encoding" in request.query_params:
            headers["Content-Encoding"] = "br"
        media_type = request.query_params.get("type", "text/plain")
        return responses.Response(b"x" * size, headers=headers, media_type=media_type)

    async def stream(request: Any) -> Any:
        async def chunks() -> Any:
            for index in range(3):
                yield b"chunk %d " % index * 100

        return responses.StreamingResponse(chunks(), media_type="text/plain")

    async def teapot(request: Any) -> Any:
        raise HTTPException(418, "teapot")

    async def boom(request: Any) -> Any:
        raise RuntimeError("boom")

    return [
        routing.Route("/", text, methods=["GET", "POST", "HEAD"]),
        routing.Route("/stream", stream),
        routing.Route("/teapot", teapot),
        routing.Route("/boom", boom),
    ]


def build(stack: str, middleware: list[Middleware]) -> Any:
    if stack == "stock":
        return starlette.applications.Starlette(routes=routes(starlette.routing), middleware=middleware)
    return tachyon_engine.applications.Starlette(routes=routes(tachyon_engine.routing), middleware=middleware)


cors = st.builds(
    lambda origins, regex, methods, headers, credentials, expose, max_age, private: Middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_origin_regex=regex,
        allow_methods=methods,
        allow_headers=headers,
        allow_credentials=credentials,
        expose_headers=expose,
        max_age=max_age,
        allow_private_network=private,
    ),
    st.lists(st.sampled_from([*ORIGINS, "*"]), max_size=3),
    st.sampled_from([None, r"https://.*\.example", r"http://b\..*"]),
    st.lists(st.sampled_from(["GET", "POST", "PUT", "*"]), max_size=3),
    st.lists(st.sampled_from(["X-Token", "content-type", "*"]), max_size=2),
    st.booleans(),
    st.lists(st.sampled_from(["X-Total", "X-Page"]), max_size=2),
    st.sampled_from([600, 0, 3600]),
    st.booleans(),
)
gzip_layer = st.builds(
    lambda minimum, level, thread_minimum, excluded: Middleware(
        GZipMiddleware,
        minimum_size=minimum,
        compresslevel=level,
        thread_minimum_size=thread_minimum,
        **({} if excluded is None else {"exclude_content_types": excluded}),
    ),
    st.sampled_from([0, 20, 500]),
    st.integers(1, 9),
    st.sampled_from([128 * 1024, 1500]),
    st.sampled_from([None, ("text/html; charset=utf-8",), ()]),
)
trusted = st.builds(
    lambda hosts, redirect: Middleware(TrustedHostMiddleware, allowed_hosts=hosts, www_redirect=redirect),
    st.lists(st.sampled_from(["example.com", "*.example.com", "www.example.com", "*", "api.example.com"]), max_size=3),
    st.booleans(),
)
layers = st.lists(
    st.one_of(
        cors, gzip_layer, trusted, st.just(Middleware(HTTPSRedirectMiddleware)), st.just(Middleware(PassThrough))
    ),
    min_size=1,
    max_size=4,
)


@st.composite
def requests(draw: Any) -> tuple[str, str, bytes, str, list[tuple[bytes, bytes]]]:
    method = draw(st.sampled_from(["GET", "POST", "OPTIONS", "HEAD"]))
    path = draw(st.sampled_from(["/", "/", "/", "/stream", "/teapot", "/boom", "/missing"]))
    query = draw(
        st.sampled_from(
            [
                "",
                "size=600",
                "size=2000",
                "size=5",
                "size=20",
                "size=500",
                "size=1500",
                "vary=Cookie&size=900",
                "encoding=1",
                "type=image/png&size=900",
            ]
        )
    )
    scheme = draw(st.sampled_from(["https", "http"]))
    headers: list[tuple[bytes, bytes]] = []
    optional = {
        b"host": st.sampled_from(HOSTS),
        b"origin": st.sampled_from(ORIGINS),
        b"access-control-request-method": st.sampled_from(["GET", "POST", "DELETE"]),
        b"access-control-request-headers": st.sampled_from(["X-Token", "x-token, Content-Type", "X-Other"]),
        b"access-control-request-private-network": st.just("true"),
        b"accept-encoding": st.sampled_from(["gzip, deflate", "br", "identity"]),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            headers.append((name, draw(values).encode("latin-1")))
    return method, path, query.encode(), scheme, draw(st.permutations(headers))


def scope_for(method: str, path: str, query: bytes, scheme: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": tuple(headers),
        "client": ("127.0.0.1", 5000),
        "server": ("example.com", 80),
    }


def observe(app: Any, request: tuple[Any, ...]) -> tuple[Any, ...]:
    scope = scope_for(*request)
    body = [{"type": "http.request", "body": b"", "more_body": False}]
    recording = asyncio.run(drive_asgi(app, scope, body))
    raised = None if recording.raised is None else (type(recording.raised), str(recording.raised))
    return recording.sent, raised, scope["headers"], type(scope["headers"])


@settings(max_examples=600, deadline=None)
@given(layers, st.lists(requests(), min_size=1, max_size=3))
def test_same_messages_as_starlette(middleware: list[Middleware], requests: list[tuple[Any, ...]]) -> None:
    stock, ours = build("stock", middleware), build("ours", middleware)
    for request in requests:
        assert observe(ours, request) == observe(stock, request)


@pytest.mark.parametrize(
    "middleware",
    [
        [Middleware(CORSMiddleware, allow_origins=["*"])],
        [Middleware(GZipMiddleware), Middleware(TrustedHostMiddleware, allowed_hosts=["example.com"])],
        [Middleware(HTTPSRedirectMiddleware), Middleware(PassThrough)],
    ],
)
def test_recognised_layers_are_served_inline(middleware: list[Middleware]) -> None:
    app = build("ours", middleware)
    observe(app, ("GET", "/", b"", "https", [(b"host", b"example.com")]))
    assert type(app.middleware_stack) is LeanStack


def test_a_subclass_or_a_patched_method_keeps_starlettes_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    class OwnCORS(CORSMiddleware):
        pass

    app = build("ours", [Middleware(OwnCORS, allow_origins=["*"])])
    observe(app, ("GET", "/", b"", "https", [(b"origin", b"https://a.example")]))
    assert type(app.middleware_stack) is not LeanStack

    # A method patched after the stack was built: the request goes through Starlette's code.
    app = build("ours", [Middleware(CORSMiddleware, allow_origins=["*"])])
    calls: list[str] = []
    stock_send = CORSMiddleware.send

    async def counted(self: Any, message: Any, send: Any, request_headers: Any) -> None:
        calls.append(message["type"])
        await stock_send(self, message, send, request_headers)

    observe(app, ("GET", "/", b"", "https", [(b"origin", b"https://a.example")]))
    monkeypatch.setattr(CORSMiddleware, "send", counted)
    sent, _, _, _ = observe(app, ("GET", "/", b"", "https", [(b"origin", b"https://a.example")]))
    assert calls == ["http.response.start", "http.response.body"]
    assert (b"access-control-allow-origin", b"*") in sent[0]["headers"]


def test_gzip_bytes_are_pythons() -> None:
    app = build("ours", [Middleware(GZipMiddleware, minimum_size=10, compresslevel=6)])
    sent, raised, _, _ = observe(app, ("GET", "/", b"size=5000", "https", [(b"accept-encoding", b"gzip")]))
    assert raised is None
    assert (b"content-encoding", b"gzip") in sent[0]["headers"]
    assert gzip.decompress(sent[1]["body"]) == b"x" * 5000


@pytest.mark.parametrize("size", [19, 20, 21, 1499, 1500, 1501])
@pytest.mark.parametrize("accept", [b"gzip", b"br"])
def test_gzip_size_boundaries(size: int, accept: bytes) -> None:
    # `minimum_size` and `thread_minimum_size` themselves, and one byte either side.
    middleware = [Middleware(GZipMiddleware, minimum_size=20, thread_minimum_size=1500)]
    request = ("GET", "/", b"size=%d" % size, "https", [(b"accept-encoding", accept)])
    assert observe(build("ours", middleware), request) == observe(build("stock", middleware), request)
