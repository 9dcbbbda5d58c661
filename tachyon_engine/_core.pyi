"""Type stub of the Rust extension `tachyon_engine._core`.

Every parser returns `NotImplemented` for an input outside its fast path; the caller then
runs Starlette's own code.
"""

from types import NotImplementedType
from typing import Any

__all__ = [
    "__version__",
    "BUILD_PROFILE",
    "headers_get",
    "headers_getlist",
    "headers_contains",
    "parse_cookie_string",
    "parse_cookie_headers",
    "parse_query_string",
]

__version__: str
BUILD_PROFILE: str

def headers_get(raw: Any, key: Any, /) -> str | None | NotImplementedType: ...
def headers_getlist(raw: Any, key: Any, /) -> list[str] | NotImplementedType: ...
def headers_contains(raw: Any, key: Any, /) -> bool | NotImplementedType: ...
def parse_cookie_string(cookie: Any, /) -> dict[str, str] | NotImplementedType: ...
def parse_cookie_headers(raw: Any, /) -> dict[str, str] | NotImplementedType: ...
def parse_query_string(query: Any, /) -> tuple[list[tuple[str, str]], dict[str, str]] | NotImplementedType: ...
