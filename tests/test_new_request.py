"""`_core.new_request(cls, scope, receive, send)` against `cls(scope, receive, send)`: the same
class and instance attributes (in the same order), the same errors, and the class's own
constructor whenever it is not Starlette's."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
import starlette.datastructures
import starlette.requests

import tachyon_engine
import tachyon_engine.datastructures
import tachyon_engine.requests
from tachyon_engine import _core

CLASSES = [tachyon_engine.requests.Request, starlette.requests.Request]


async def receive() -> Any:
    return {"type": "http.request"}


async def send(message: Any) -> None:
    pass


def outcome(build: Any) -> Any:
    try:
        request = build()
    except Exception as exc:
        return type(exc), exc.args
    return type(request), list(request.__dict__.items())


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    "scope",
    [
        {"type": "http", "path": "/"},
        {"type": "websocket"},
        {"type": "lifespan"},
        {"path": "/"},
        OrderedDict(type="http"),
        {"type": b"http"},
    ],
    ids=["http", "websocket", "lifespan", "no-type", "dict-subclass", "bytes-type"],
)
def test_new_request_is_the_constructor(cls: type, scope: dict[str, Any]) -> None:
    assert outcome(lambda: _core.new_request(cls, scope, receive, send)) == outcome(lambda: cls(scope, receive, send))


def test_a_subclass_runs_its_own_constructor() -> None:
    class Tagged(tachyon_engine.requests.Request):
        def __init__(self, scope: Any, receive: Any = None, send: Any = None) -> None:
            super().__init__(scope, receive, send)
            self.tag = "mine"

    request = _core.new_request(Tagged, {"type": "http"}, receive, send)
    assert type(request) is Tagged and request.tag == "mine"


@pytest.mark.parametrize("owner", [starlette.requests.Request, starlette.requests.HTTPConnection])
def test_a_patched_constructor_is_called(owner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stock_init = owner.__init__
    calls: list[Any] = []

    def init(self: Any, scope: Any, *args: Any) -> None:
        calls.append(scope)
        stock_init(self, scope, *args)

    monkeypatch.setattr(owner, "__init__", init)
    scope = {"type": "http"}
    for cls in CLASSES:
        request = _core.new_request(cls, scope, receive, send)
        assert type(request) is cls and request.scope is scope
    assert calls == [scope, scope]


HEADERS_CLASSES = [tachyon_engine.datastructures.Headers, starlette.datastructures.Headers]
QUERY_CLASSES = [tachyon_engine.datastructures.QueryParams, starlette.datastructures.QueryParams]


def built_with_scope(build: Any, scope: Any) -> Any:
    """The outcome of `build(scope)`, with what it left in the scope."""
    try:
        made = build(scope)
    except Exception as exc:
        return type(exc), exc.args, scope
    return type(made), list(made.__dict__.items()), scope


@pytest.mark.parametrize("cls", HEADERS_CLASSES)
@pytest.mark.parametrize(
    "headers",
    [[(b"a", b"1"), (b"b", b"2")], ((b"a", b"1"),), [], None, 5, "missing"],
    ids=["list", "tuple", "empty", "none", "int", "missing"],
)
def test_new_headers_is_the_constructor(cls: type, headers: Any) -> None:
    def scope() -> dict[str, Any]:
        return {} if headers == "missing" else {"type": "http", "headers": headers}

    ours = built_with_scope(lambda s: _core.new_headers(cls, s), scope())
    theirs = built_with_scope(lambda s: cls(scope=s), scope())
    assert ours == theirs
    if ours[0] is cls:
        made = _core.new_headers(cls, given := scope())
        assert made._list is given["headers"]  # the very list, as Starlette keeps it


@pytest.mark.parametrize("cls", QUERY_CLASSES)
@pytest.mark.parametrize("query", [b"a=1&b=2&a=3", "x=%20y&&z", b"", "", b"caf\xe9=1", None, 7, [("k", "v")]])
def test_new_query_params_is_the_constructor(cls: type, query: Any) -> None:
    assert outcome(lambda: _core.new_query_params(cls, query)) == outcome(lambda: cls(query))


def test_subclassed_parts_run_their_own_constructors() -> None:
    class Loud(starlette.datastructures.Headers):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.loud = True

    class Counted(tachyon_engine.datastructures.QueryParams):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.count = len(self._list)

    assert _core.new_headers(Loud, {"headers": []}).loud
    assert _core.new_query_params(Counted, b"a=1&b=2").count == 2


@pytest.mark.parametrize("installed", [False, True])
def test_connection_properties_are_starlette_s(installed: bool) -> None:
    """`headers` and `query_params` of tachyon_engine's connection, and of Starlette's under
    `install()`: the classes their modules bind, built once, and the scope's headers made a list."""
    if installed:
        tachyon_engine.install()
    try:
        for cls, parts in [
            (tachyon_engine.requests.Request, tachyon_engine.datastructures),
            (starlette.requests.Request, starlette.datastructures),
        ]:
            scope = {"type": "http", "headers": ((b"host", b"x"),), "query_string": b"q=1"}
            request = cls(scope)
            assert type(request.headers) is parts.Headers and request.headers is request.headers
            assert request.headers["host"] == "x" and scope["headers"] == [(b"host", b"x")]
            assert type(request.query_params) is parts.QueryParams and request.query_params["q"] == "1"
            assert request.query_params is request.query_params
    finally:
        if installed:
            tachyon_engine.uninstall()
