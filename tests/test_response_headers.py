"""Response headers built in Rust (`Response.init_headers`) against Starlette's: the same
`raw_headers` for every response class, status, body, media type, charset and user header
mapping, or the same exception."""

from __future__ import annotations

import datetime
import enum
import json
import time
import types
from collections.abc import Callable
from typing import Any

import pytest
import starlette.datastructures
import starlette.responses
from differential import outcome
from hypothesis import given, settings, strategies as st
from strategies import special_text

import tachyon_engine.responses
from tachyon_engine import _core


class Status(enum.IntEnum):
    OK = 200
    NO_CONTENT = 204


header_text = st.one_of(
    special_text,
    st.sampled_from(["Content-Length", "content-type", "CONTENT-TYPE", "X-Thing", "set-cookie", "K\u212aey", "\xc0"]),
)
media_types = st.one_of(
    st.none(),
    st.sampled_from(
        ["text/plain", "text/html; charset=latin-1", "Text/Plain", "text/x; CHARSET=utf-8", "application/json"]
    ),
    special_text.map(lambda s: "text/" + s),
    special_text,
)
statuses = st.one_of(st.sampled_from([100, 199, 200, 204, 205, 304, 404, -1, 2**70]), st.sampled_from(list(Status)))
bodies = st.one_of(
    st.none(),
    st.binary(max_size=20),
    st.binary(max_size=20).map(lambda b: memoryview(b)),
    st.text(max_size=20),
    st.just(7),
)
user_headers = st.one_of(
    st.none(),
    st.dictionaries(header_text, header_text, max_size=4),
    st.dictionaries(header_text, header_text, max_size=4).map(types.MappingProxyType),
    st.dictionaries(st.sampled_from(["x-a", "content-length"]), st.integers(), max_size=2),
)


def built_headers(responses: Any, **attributes: Any) -> Callable[[], Any]:
    """`init_headers` on a bare response carrying `attributes` (set as Starlette sets them)."""
    headers = attributes.pop("headers")

    def build() -> Any:
        response = responses.Response.__new__(responses.Response)
        for name, value in attributes.items():
            if value is not None or name != "body":
                setattr(response, name, value)
        response.init_headers(headers)
        return response.raw_headers

    return build


@settings(max_examples=3000, deadline=None)
@given(
    headers=user_headers,
    body=bodies,
    status_code=statuses,
    media_type=media_types,
    charset=st.one_of(st.sampled_from(["utf-8", "latin-1"]), special_text),
)
def test_init_headers_matches_starlette(
    headers: Any, body: Any, status_code: Any, media_type: Any, charset: Any
) -> None:
    attributes = {"body": body, "status_code": status_code, "media_type": media_type, "charset": charset}
    theirs = outcome(built_headers(starlette.responses, headers=headers, **attributes))
    ours = outcome(built_headers(tachyon_engine.responses, headers=headers, **attributes))
    assert ours == theirs


CLASSES = ["Response", "HTMLResponse", "PlainTextResponse", "JSONResponse", "RedirectResponse"]


@settings(max_examples=1000, deadline=None)
@given(
    name=st.sampled_from(CLASSES),
    content=st.one_of(st.text(max_size=20), st.binary(max_size=20)),
    status_code=st.sampled_from([200, 204, 301, 304, 404]),
    headers=st.one_of(st.none(), st.dictionaries(header_text, header_text, max_size=3)),
    media_type=st.one_of(st.none(), st.sampled_from(["text/csv", "application/xml", "image/png"])),
)
def test_response_classes_match_starlette(
    name: str, content: Any, status_code: int, headers: Any, media_type: Any
) -> None:
    def construct(responses: Any) -> Callable[[], Any]:
        def build() -> Any:
            cls = getattr(responses, name)
            if name == "RedirectResponse":
                response = cls(content if isinstance(content, str) else "/", status_code, headers)
            elif name == "JSONResponse":
                response = cls(content if isinstance(content, str) else None, status_code, headers, media_type)
            else:
                response = cls(content, status_code, headers, media_type)
            return response.status_code, response.body, response.raw_headers, dict(response.headers)

        return build

    ours = outcome(construct(tachyon_engine.responses))
    assert ours == outcome(construct(starlette.responses))
    cls = getattr(tachyon_engine.responses, name)
    assert issubclass(cls, getattr(starlette.responses, name))


def test_streaming_and_file_responses_match_starlette(tmp_path: Any) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(b"<p>hi</p>")

    def stream() -> Any:
        yield b"x"

    def built(responses: Any) -> Any:
        streaming = responses.StreamingResponse(stream(), headers={"X-A": "1"}, media_type="text/csv")
        file = responses.FileResponse(path, headers={"X-B": "2"}, stat_result=path.stat())
        return streaming.raw_headers, file.raw_headers

    assert built(tachyon_engine.responses) == built(starlette.responses)
    assert built(tachyon_engine.responses)[0] == [(b"x-a", b"1"), (b"content-type", b"text/csv; charset=utf-8")]


cookie_text = st.one_of(
    special_text,
    st.sampled_from(["session", "a.b-c_d", "", "Path", "max-AGE", "k=v", "e\u0301", "\u20ac", "/", "/api ", " x"]),
)
cookie_dates = st.one_of(
    st.none(),
    st.integers(min_value=-(10**11), max_value=10**11),
    st.sampled_from([0, 3600, -1, True]),
    cookie_text,
    st.datetimes(timezones=st.sampled_from([datetime.UTC, datetime.timezone(datetime.timedelta(0))])),
    st.datetimes(timezones=st.none() | st.just(datetime.timezone(datetime.timedelta(hours=2)))),
)
flags = st.one_of(st.booleans(), st.sampled_from([0, 1, "", "yes"]))


@settings(max_examples=3000, deadline=None)
@given(
    key=cookie_text,
    value=st.one_of(cookie_text, st.sampled_from(["abc==.sig", '"q"', "a\\b"])),
    max_age=st.one_of(st.none(), st.integers(), st.sampled_from([True, "5", 1.5])),
    expires=cookie_dates,
    path=st.one_of(st.none(), cookie_text),
    domain=st.one_of(st.none(), cookie_text),
    secure=flags,
    httponly=flags,
    samesite=st.one_of(st.none(), st.sampled_from(["lax", "Strict", "NONE", "bad", "", "la\u212a"])),
    partitioned=st.booleans(),
)
def test_set_cookie_matches_starlette(**arguments: Any) -> None:
    def set_cookie(responses: Any) -> Callable[[], Any]:
        def build() -> Any:
            response = responses.Response(b"")
            response.set_cookie(**arguments)
            response.delete_cookie(arguments["key"], path=arguments["path"], domain=arguments["domain"])
            return response.raw_headers

        return build

    # `expires` as seconds from now reads the clock: one of the stock runs around ours
    # falls in the same second.
    before = outcome(set_cookie(starlette.responses))
    ours = outcome(set_cookie(tachyon_engine.responses))
    after = outcome(set_cookie(starlette.responses))
    assert ours in (before, after)


def test_plain_cookies_are_built_natively() -> None:
    """The common shapes take the Rust path (the differential test above would also pass if
    every call fell back to Starlette)."""
    plain = _core.set_cookie_header("session", "abc", 60, None, "/", None, True, True, "lax", False, None)
    assert isinstance(plain, bytes)
    now = _core.set_cookie_header("old", "", 0, 0, "/", "example.com", False, False, "lax", False, time.time)
    assert isinstance(now, bytes)
    assert isinstance(
        _core.set_cookie_header(
            "sig", "a b==", None, "Wed, 21 Oct 2015 07:28:00 GMT", "/", None, False, False, None, False, None
        ),
        bytes,
    )
    headers = _core.init_headers({"X-Tag": "v"}, b"body", 200, "text/plain", "utf-8")
    assert headers == [(b"x-tag", b"v"), (b"content-length", b"4"), (b"content-type", b"text/plain; charset=utf-8")]


@pytest.mark.parametrize("patch_gmtime", [False, True])
def test_cookie_dates_follow_a_patched_clock(monkeypatch: pytest.MonkeyPatch, patch_gmtime: bool) -> None:
    """`http.cookies` looks `time.time` and `time.gmtime` up when it writes a date (tests and
    freezegun patch them): the cookie header follows both, as Starlette's does."""
    now = datetime.datetime(2037, 1, 22, 12, 0, 0, 750000, tzinfo=datetime.UTC).timestamp()
    monkeypatch.setattr(time, "time", lambda: now)
    if patch_gmtime:
        real_gmtime = time.gmtime
        monkeypatch.setattr(time, "gmtime", lambda seconds=None: real_gmtime(0))

    def cookies(responses: Any) -> Any:
        response = responses.Response(b"")
        response.set_cookie("a", "b", expires=10)
        response.delete_cookie("c")
        return response.raw_headers

    assert cookies(tachyon_engine.responses) == cookies(starlette.responses)
    expected = b"Thu, 01 Jan 1970" if patch_gmtime else b"Thu, 22 Jan 2037 12:00:10 GMT"
    assert expected in cookies(tachyon_engine.responses)[1][1]


def test_response_subclasses_keep_their_own_methods() -> None:
    """The one-call constructor runs a subclass's `render` / `init_headers` (on the class or set
    on the instance before Starlette's constructor runs), as Starlette's constructor does."""

    def built(responses: Any) -> list[Any]:
        class Upper(responses.PlainTextResponse):  # type: ignore[misc]
            def render(self, content: Any) -> bytes:
                return str(content).upper().encode()

        class Tagged(responses.Response):  # type: ignore[misc]
            def init_headers(self, headers: Any = None) -> None:
                super().init_headers(headers)
                self.raw_headers.append((b"x-tagged", b"1"))

        class Late(responses.HTMLResponse):  # type: ignore[misc]
            def __init__(self, content: Any) -> None:
                self.render = lambda content: b"<b>" + content.encode() + b"</b>"
                super().__init__(content, status_code=201)

        class Latin(responses.PlainTextResponse):  # type: ignore[misc]
            charset = "latin-1"

        made: list[Any] = [
            Upper("shout"),
            Tagged(b"x", headers={"A": "b"}),
            Late("bold"),
            Latin("caf\xe9"),
            Latin(None),
        ]
        made += [responses.Response(memoryview(b"view")), responses.Response("\u20ac", media_type="text/x")]
        return [(r.status_code, bytes(r.body), r.raw_headers, r.background) for r in made]

    assert built(tachyon_engine.responses) == built(starlette.responses)
    with pytest.raises(UnicodeEncodeError) as ours:
        tachyon_engine.responses.PlainTextResponse("\ud800")
    with pytest.raises(UnicodeEncodeError) as theirs:
        starlette.responses.PlainTextResponse("\ud800")
    assert str(ours.value) == str(theirs.value)


def test_headers_property_is_starlette_s(monkeypatch: Any) -> None:
    """`response.headers`: Starlette's `MutableHeaders` over the response's own `raw_headers`
    list, made once; a `MutableHeaders` replaced in `starlette.responses` is the one used."""
    for cls in (tachyon_engine.responses.Response, tachyon_engine.responses.JSONResponse):
        response = cls({"a": 1}) if cls is tachyon_engine.responses.JSONResponse else cls(b"x", media_type="text/plain")
        headers = response.headers
        assert type(headers) is starlette.datastructures.MutableHeaders
        assert headers._list is response.raw_headers
        assert response.headers is headers
        del headers["Content-Length"]
        assert response.raw_headers == [(b"content-type", headers["content-type"].encode())]

    class Spy(starlette.datastructures.MutableHeaders):
        pass

    monkeypatch.setattr(starlette.responses, "MutableHeaders", Spy)
    response = tachyon_engine.responses.Response(b"x")
    assert type(response.headers) is Spy and response.headers._list is response.raw_headers


def test_json_responses_follow_a_patched_dumps_and_their_own_render(monkeypatch: pytest.MonkeyPatch) -> None:
    """`JSONResponse` renders natively only while `json.dumps` is the stdlib's and the class
    keeps tachyon_engine's `render`: a patched `json.dumps` (a test's mock, say) is called, and
    so is a subclass's `render`, as on Starlette."""

    def built(responses: Any) -> list[Any]:
        class Sorted(responses.JSONResponse):  # type: ignore[misc]
            def render(self, content: Any) -> bytes:
                return json.dumps(content, sort_keys=True).encode()

        return [bytes(r.body) for r in (responses.JSONResponse({"b": 1, "a": [2.5]}), Sorted({"b": 1, "a": 2}))]

    assert built(tachyon_engine.responses) == built(starlette.responses)
    calls: list[Any] = []
    stock_dumps = json.dumps

    def dumps(content: Any, **options: Any) -> str:
        calls.append(content)
        return stock_dumps(content, **options)

    monkeypatch.setattr(json, "dumps", dumps)
    assert built(tachyon_engine.responses) == built(starlette.responses)
    assert len(calls) == 4
