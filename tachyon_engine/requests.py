"""Mirror of `starlette.requests`: headers, query params and cookies parse in Rust."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from functools import partial
from typing import Any

import starlette.datastructures
import starlette.requests

# Includes optional-dependency names (None when not installed), bound as Starlette binds them.
from starlette.requests import (  # type: ignore[attr-defined]
    SERVER_PUSH_HEADERS_TO_COPY as SERVER_PUSH_HEADERS_TO_COPY,
    ClientDisconnect as ClientDisconnect,
    StateT as StateT,
    empty_receive as empty_receive,
    empty_send as empty_send,
    parse_options_header as parse_options_header,
)

from tachyon_engine._utils import (
    AwaitableOrContextManager as AwaitableOrContextManager,
    AwaitableOrContextManagerWrapper as AwaitableOrContextManagerWrapper,
)
from tachyon_engine.datastructures import (
    URL as URL,
    Address as Address,
    FormData as FormData,
    Headers as Headers,
    MutableHeaders,
    QueryParams as QueryParams,
    State as State,
)
from tachyon_engine.engine.bindings import (
    datastructures as rust_datastructures,
    json as rust_json,
    requests as rust_requests,
)
from tachyon_engine.engine.targets import stock
from tachyon_engine.exceptions import (
    HTTPException as HTTPException,
)
from tachyon_engine.formparsers import (
    FormParser as FormParser,
    MultiPartException as MultiPartException,
    MultiPartParser as MultiPartParser,
    _parse_options,
)
from tachyon_engine.types import (
    Message as Message,
    Receive as Receive,
    Scope as Scope,
    Send as Send,
)

# Starlette's own, the fallback (called explicitly: `install()` replaces the module's name).
_stock_cookie_parser = stock("starlette.requests:cookie_parser")


def cookie_parser(cookie_string: str) -> dict[str, str]:
    """Parses a `Cookie` header into a dict, exactly as Starlette's `cookie_parser`."""
    cookies = rust_datastructures.parse_cookie_string(cookie_string)
    if cookies is NotImplemented:
        return _stock_cookie_parser(cookie_string)  # type: ignore[no-any-return]
    return cookies


# Header containers whose raw `_list` the Rust cookie parser may read directly: a subclass
# could override `getlist`, so only these exact types take the fast path.
_PLAIN_HEADERS = (
    Headers,
    MutableHeaders,
    starlette.datastructures.Headers,
    starlette.datastructures.MutableHeaders,
)


class HTTPConnection(starlette.requests.HTTPConnection[StateT]):
    """Starlette's `HTTPConnection` with the Rust-backed `Headers`, `QueryParams` and cookies."""

    _headers: Headers
    _query_params: QueryParams

    @property
    def headers(self) -> Headers:
        return rust_requests.connection_headers(self, Headers)  # type: ignore[no-any-return]

    @property
    def query_params(self) -> QueryParams:
        return rust_requests.connection_query_params(self, QueryParams)  # type: ignore[no-any-return]

    @property
    def cookies(self) -> dict[str, str]:
        if not hasattr(self, "_cookies"):
            headers = self.headers
            parsed = (
                rust_datastructures.parse_cookie_headers(headers._list)
                if type(headers) in _PLAIN_HEADERS
                else NotImplemented
            )
            if parsed is NotImplemented:
                parsed = {}
                for header in headers.getlist("cookie"):
                    parsed.update(cookie_parser(header))
            self._cookies = parsed
        return self._cookies


_JSON_LOADS = json.loads


def _loads(data: bytes | str) -> Any:
    """`json.loads(data)`, parsed in Rust when the Rust parser reproduces it exactly (and
    `json.loads` is the stdlib's own: a patched one, a test's mock say, is called as stock would)."""
    if json.loads is not _JSON_LOADS:
        return json.loads(data)
    value = rust_json.loads_json(data)
    if value is NotImplemented:
        return json.loads(data)
    return value


class Request(HTTPConnection[StateT], starlette.requests.Request[StateT]):
    """Starlette's `Request`, with the accelerated connection properties, JSON and form
    parsers."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):  # pragma: no branch
            body = await self.body()
            self._json = _loads(body)
        return self._json

    async def _get_form(
        self,
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> FormData:
        if self._form is None:  # pragma: no branch
            assert parse_options_header is not None, (
                "The `python-multipart` library must be installed to use form parsing."
            )
            content_type, _ = _parse_options(parse_options_header, self.headers.get("Content-Type"))
            make_parser: Callable[[Headers, AsyncGenerator[bytes, None]], MultiPartParser | FormParser]
            if content_type == b"multipart/form-data":
                make_parser = partial(
                    MultiPartParser, max_files=max_files, max_fields=max_fields, max_part_size=max_part_size
                )
            elif content_type == b"application/x-www-form-urlencoded":
                make_parser = partial(FormParser, max_fields=max_fields, max_part_size=max_part_size)
            else:
                self._form = FormData()
                return self._form
            try:
                async with aclosing(self.stream()) as stream:
                    self._form = await make_parser(self.headers, stream).parse()
            except MultiPartException as exc:
                if "app" in self.scope:
                    raise HTTPException(status_code=400, detail=exc.message)  # noqa: B904
                raise exc
        return self._form


# `rust_requests.new_request(cls, scope, receive, send)` builds these two classes without their Python
# constructors while those are Starlette's; it calls the class for anything else.
rust_requests.configure_requests(
    [Request, starlette.requests.Request],
    starlette.requests.Request.__init__,
    starlette.requests.HTTPConnection,
    starlette.requests.HTTPConnection.__init__,
)

# The `headers` and `query_params` properties `install()` puts on Starlette's `HTTPConnection`:
# as above, with the classes Starlette's module binds (looked up at call time).
stock_requests: Any = starlette.requests


@property  # type: ignore[misc]
def starlette_headers(self: Any) -> Any:
    return rust_requests.connection_headers(self, stock_requests.Headers)


@property  # type: ignore[misc]
def starlette_query_params(self: Any) -> Any:
    return rust_requests.connection_query_params(self, stock_requests.QueryParams)


# Built in Rust while their constructors are these (the class is called otherwise): the
# `headers` and `query_params` of a connection.
for _headers_class in (Headers, starlette.datastructures.Headers):
    rust_requests.register_plain_class(_headers_class, starlette.datastructures.Headers.__init__)
for _query_class in (QueryParams, starlette.datastructures.QueryParams):
    rust_requests.register_plain_class(_query_class, QueryParams.__init__)
