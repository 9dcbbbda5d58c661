"""Mirror of `starlette.datastructures`: `QueryParams` parsing and `Headers` lookups run in Rust."""

from __future__ import annotations

from typing import Any

import starlette.datastructures
from starlette.datastructures import (
    URL as URL,
    Address as Address,
    CommaSeparatedStrings as CommaSeparatedStrings,
    FormData as FormData,
    ImmutableMultiDict as ImmutableMultiDict,
    MultiDict as MultiDict,
    Secret as Secret,
    State as State,
    UploadFile as UploadFile,
    URLPath as URLPath,
    _CovariantValueType as _CovariantValueType,
    _KeyType as _KeyType,
)

from tachyon_engine._utils import (
    parse_host_header as parse_host_header,
)
from tachyon_engine.concurrency import (
    run_in_threadpool as run_in_threadpool,
)
from tachyon_engine.engine.bindings import datastructures as rust_datastructures
from tachyon_engine.engine.targets import stock
from tachyon_engine.types import (
    Scope as Scope,
)

# Starlette's own methods, the fallbacks of the accelerated ones below. The methods below call
# them explicitly (never `super()`): `install()` puts these same functions on Starlette's classes.
_QueryParams = starlette.datastructures.QueryParams
_Headers = starlette.datastructures.Headers
_stock_query_params_init = stock("starlette.datastructures:QueryParams.__init__")
_stock_headers_getitem = stock("starlette.datastructures:Headers.__getitem__")
_stock_headers_get = stock("starlette.datastructures:Headers.get")
_stock_headers_getlist = stock("starlette.datastructures:Headers.getlist")
_stock_headers_contains = stock("starlette.datastructures:Headers.__contains__")
_stock_mutable_headers_delitem = stock("starlette.datastructures:MutableHeaders.__delitem__")


class QueryParams(starlette.datastructures.QueryParams):
    """An immutable multidict, parsed by `rust_datastructures.parse_query_string` from a str or bytes."""

    def __init__(
        self,
        *args: ImmutableMultiDict[Any, Any] | Any,
        **kwargs: Any,
    ) -> None:
        if len(args) == 1 and not kwargs:
            parsed = rust_datastructures.parse_query_string(args[0])
            if parsed is not NotImplemented:
                items, self._dict = parsed
                self._list = items  # after `_dict`, as Starlette sets them
                return
        _stock_query_params_init(self, *args, **kwargs)


class Headers(starlette.datastructures.Headers):
    """An immutable, case-insensitive multidict whose lookups scan the raw list in Rust."""

    def __getitem__(self, key: str) -> str:
        value = rust_datastructures.headers_get(self._list, key)
        if value is None:
            raise KeyError(key)
        if value is NotImplemented:
            return _stock_headers_getitem(self, key)  # type: ignore[no-any-return]
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = rust_datastructures.headers_get(self._list, key)
        if value is NotImplemented:
            return _stock_headers_get(self, key, default)
        return default if value is None else value

    def getlist(self, key: str) -> list[str]:
        values = rust_datastructures.headers_getlist(self._list, key)
        if values is NotImplemented:
            return _stock_headers_getlist(self, key)  # type: ignore[no-any-return]
        return values

    def __contains__(self, key: Any) -> bool:
        found = rust_datastructures.headers_contains(self._list, key)
        if found is NotImplemented:
            return _stock_headers_contains(self, key)  # type: ignore[no-any-return]
        return found

    def mutablecopy(self) -> MutableHeaders:
        return MutableHeaders(raw=self._list[:])


class MutableHeaders(Headers, starlette.datastructures.MutableHeaders):
    """Starlette's `MutableHeaders` with the Rust lookups of `Headers`."""

    def __delitem__(self, key: str) -> None:
        """Removes every `key` header, in one pass in Rust over a list of byte pairs."""
        if rust_datastructures.headers_delete(self._list, key) is NotImplemented:
            _stock_mutable_headers_delitem(self, key)
