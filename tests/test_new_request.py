"""`_core.new_request(cls, scope, receive, send)` against `cls(scope, receive, send)`: the same
class and instance attributes (in the same order), the same errors, and the class's own
constructor whenever it is not Starlette's."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
import starlette.requests

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
def test_a_patched_constructor_is_called(owner: type, monkeypatch: pytest.MonkeyPatch) -> None:
    stock_init = owner.__init__
    calls: list[Any] = []

    def init(self: Any, scope: Any, *args: Any) -> None:
        calls.append(scope)
        stock_init(self, scope, *args)  # type: ignore[misc]

    monkeypatch.setattr(owner, "__init__", init)
    scope = {"type": "http"}
    for cls in CLASSES:
        request = _core.new_request(cls, scope, receive, send)
        assert type(request) is cls and request.scope is scope
    assert calls == [scope, scope]
