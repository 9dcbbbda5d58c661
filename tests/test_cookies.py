"""Cookie parsing in Rust against Starlette's `cookie_parser` and `HTTPConnection.cookies`."""

from __future__ import annotations

import starlette.requests
from hypothesis import given, settings, strategies as st
from strategies import any_text, latin1_bytes

from tachyon_engine import _core
from tachyon_engine.requests import HTTPConnection, cookie_parser

MANY = settings(max_examples=10_000, deadline=None)

cookie_values = st.one_of(
    any_text,
    st.lists(
        st.tuples(st.sampled_from(["a", " b ", "", "c d"]), any_text),
        max_size=5,
    ).map(lambda pairs: ";".join(f'{k}="{v}"' if i % 2 else f"{k}={v}" for i, (k, v) in enumerate(pairs))),
)


@MANY
@given(cookie_values)
def test_cookie_parser_matches_starlette(cookie: str) -> None:
    # Items, not dicts: the order of the keys is part of the result.
    assert list(cookie_parser(cookie).items()) == list(starlette.requests.cookie_parser(cookie).items())


@MANY
@given(st.lists(st.tuples(st.sampled_from([b"cookie", b"Cookie", b"x"]), latin1_bytes), max_size=4))
def test_connection_cookies_match_starlette(headers: list[tuple[bytes, bytes]]) -> None:
    scope = {"type": "http", "headers": headers}
    ours = HTTPConnection(dict(scope)).cookies
    theirs = starlette.requests.HTTPConnection(dict(scope)).cookies
    assert list(ours.items()) == list(theirs.items())


def test_surrogates_take_the_fallback() -> None:
    assert _core.parse_cookie_string("a=\ud800") is NotImplemented
    assert cookie_parser("a=\ud800; b=1") == {"a": "\ud800", "b": "1"}


def test_unusual_header_lists_take_the_fallback() -> None:
    scope = {"type": "http", "headers": [[b"cookie", b"a=1"]]}
    assert _core.parse_cookie_headers(scope["headers"]) is NotImplemented
    assert HTTPConnection(scope).cookies == {"a": "1"}
