"""Mirror of `starlette.responses`: every response class builds its headers and cookies in
Rust, and `JSONResponse` renders in Rust.

Each class here subclasses Starlette's class of the same name, then this module's `Response`
(which only replaces `init_headers`), so Starlette's own constructors run unchanged.
"""

from __future__ import annotations

import json
import time as _time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Literal

import starlette.datastructures
import starlette.responses
from starlette.responses import (
    AsyncContentStream as AsyncContentStream,
    Content as Content,
    ContentStream as ContentStream,
    MalformedRangeHeader as MalformedRangeHeader,
    RangeNotSatisfiable as RangeNotSatisfiable,
    SyncContentStream as SyncContentStream,
)

from tachyon_engine._utils import (
    create_collapsing_task_group as create_collapsing_task_group,
)
from tachyon_engine.background import (
    BackgroundTask as BackgroundTask,
)
from tachyon_engine.concurrency import (
    iterate_in_threadpool as iterate_in_threadpool,
)
from tachyon_engine.datastructures import (
    URL as URL,
    Headers as Headers,
    MutableHeaders as MutableHeaders,
)
from tachyon_engine.engine.bindings import json as rust_json, responses as rust_responses
from tachyon_engine.engine.targets import stock
from tachyon_engine.requests import (
    ClientDisconnect as ClientDisconnect,
)
from tachyon_engine.types import (
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)

_GMTIME = _time.gmtime
_JSON_DUMPS = json.dumps
# The names `starlette.responses` binds (patchable there), looked up at call time.
stock_responses: Any = starlette.responses
_STOCK_MUTABLE_HEADERS = starlette.datastructures.MutableHeaders
_stock_headers_init = stock("starlette.datastructures:Headers.__init__")
# Starlette's own methods, called explicitly: `install()` puts the methods below on Starlette's classes.
_stock_init_headers = stock("starlette.responses:Response.init_headers")
_stock_set_cookie = stock("starlette.responses:Response.set_cookie")
_stock_json_render = stock("starlette.responses:JSONResponse.render")
_stock_render = stock("starlette.responses:Response.render")


class Response(starlette.responses.Response):
    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        """Starlette's constructor (status, media type, background, `render`, `init_headers`,
        in that order) in one native call; overridden `render` / `init_headers` are called."""
        rust_responses.init_response(self, content, status_code, headers, media_type, background)

    @property
    def headers(self) -> starlette.datastructures.MutableHeaders:
        """Starlette's `MutableHeaders` over `raw_headers`, made once per response; with
        Starlette's own class and constructor, set up without the constructor's branches."""
        if hasattr(self, "_headers"):
            return self._headers
        cls = stock_responses.MutableHeaders
        if cls is _STOCK_MUTABLE_HEADERS and cls.__init__ is _stock_headers_init:
            headers = cls.__new__(cls)
            headers._list = self.raw_headers  # what `MutableHeaders(raw=...)` keeps: the list itself
        else:
            headers = cls(raw=self.raw_headers)
        self._headers = headers
        return headers

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Starlette's `raw_headers` (the given headers, then `content-length` and `content-type`
        unless given), built in Rust; other mappings and unusual text take Starlette's method."""
        body = getattr(self, "body", None)
        raw_headers = rust_responses.init_headers(headers, body, self.status_code, self.media_type, self.charset)
        if raw_headers is NotImplemented:
            _stock_init_headers(self, headers)
        else:
            self.raw_headers = raw_headers

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Appends the `set-cookie` header `http.cookies` would write for Starlette, built in
        Rust for plain arguments; anything else (and every error) goes through Starlette."""
        when: datetime | str | int | None = expires
        if isinstance(expires, datetime) and expires.tzinfo is UTC:
            # What Starlette writes for a datetime; only a UTC one is taken, since the call
            # cannot fail on it (Starlette reports the other errors first).
            when = format_datetime(expires, usegmt=True)
        # `http.cookies` dates an int `expires` from `time.time()`, both looked up at call time
        # (freezegun and tests patch them): Rust calls the clock given, only with stock `gmtime`.
        clock = _time.time if _time.gmtime is _GMTIME else None
        header = rust_responses.set_cookie_header(
            key, value, max_age, when, path, domain, secure, httponly, samesite, partitioned, clock
        )
        if header is NotImplemented:
            _stock_set_cookie(self, key, value, max_age, expires, path, domain, secure, httponly, samesite, partitioned)
        else:
            self.raw_headers.append((b"set-cookie", header))


class HTMLResponse(starlette.responses.HTMLResponse, Response):
    pass


class PlainTextResponse(starlette.responses.PlainTextResponse, Response):
    pass


class JSONResponse(starlette.responses.JSONResponse, Response):
    def render(self, content: Any) -> bytes:
        """Starlette's `json.dumps(...)` bytes, produced in Rust; anything the Rust encoder
        does not reproduce exactly (NaN, lone surrogates, other types) goes to `json.dumps`."""
        # A patched `json.dumps` (a test's mock, say) is called as stock would.
        rendered = rust_json.render_json(content) if json.dumps is _JSON_DUMPS else NotImplemented
        if rendered is NotImplemented:
            return _stock_json_render(self, content)  # type: ignore[no-any-return]
        return rendered


# `rust_responses.init_response` renders and builds headers natively while a class keeps these methods.
rust_responses.configure_responses(_stock_render, Response.init_headers, JSONResponse.render, json, _JSON_DUMPS)


class RedirectResponse(starlette.responses.RedirectResponse, Response):
    pass


class StreamingResponse(starlette.responses.StreamingResponse, Response):
    pass


class FileResponse(starlette.responses.FileResponse, Response):
    pass
