"""`Headers` lookups in Rust against Starlette's `Headers`, on random raw header lists."""

from __future__ import annotations

from typing import Any

import starlette.datastructures
from differential import outcome
from hypothesis import given, settings, strategies as st
from strategies import any_text

from tachyon_engine.datastructures import Headers, MutableHeaders

MANY = settings(max_examples=10_000, deadline=None)

_NAMES = [b"content-type", b"Content-Type", b"cookie", b"k", b"x-\xe9", b"", b"accept", b"x-a"]
_KEYS = ["content-type", "Content-Type", "CONTENT-TYPE", "cookie", "k", "K", "\u212a", "x-\xe9", "X-\xc9", "", "x-A"]

names = st.one_of(st.sampled_from(_NAMES), st.binary(max_size=6))
values = st.one_of(st.sampled_from([b"", b"text/html", b"a=1", b"\xe9\xff"]), st.binary(max_size=12))
raw_lists = st.lists(st.tuples(names, values), max_size=8)
keys = st.one_of(st.sampled_from(_KEYS), any_text)


def lookups(headers: Any, key: Any) -> list[tuple[str, Any]]:
    return [
        outcome(lambda: headers[key]),
        outcome(lambda: headers.get(key)),
        outcome(lambda: headers.get(key, "default")),
        outcome(lambda: headers.getlist(key)),
        outcome(lambda: key in headers),
    ]


@MANY
@given(raw_lists, keys)
def test_lookups_match_starlette(raw: list[tuple[bytes, bytes]], key: str) -> None:
    ours, theirs = Headers(raw=list(raw)), starlette.datastructures.Headers(raw=list(raw))
    assert lookups(ours, key) == lookups(theirs, key)


@settings(max_examples=500, deadline=None)
@given(raw_lists, keys)
def test_mutable_headers_match_starlette(raw: list[tuple[bytes, bytes]], key: str) -> None:
    ours, theirs = MutableHeaders(raw=list(raw)), starlette.datastructures.MutableHeaders(raw=list(raw))
    assert lookups(ours, key) == lookups(theirs, key)
    ours["x-set"] = theirs["x-set"] = "1"
    assert lookups(ours, "X-Set") == lookups(theirs, "X-Set")
    assert ours.raw == theirs.raw


@given(keys)
def test_unusual_containers_and_keys_fall_back(key: str) -> None:
    unusual: list[Any] = [
        [[b"k", b"v"]],
        [(bytearray(b"k"), b"v")],
        [(b"k", bytearray(b"v"))],
        [(b"k", b"v", b"extra")],
        ((b"k", b"v"),),
        [("k", "v")],
    ]
    for raw in unusual:
        for probe in (key, "k", "K", None, 1, b"k"):
            ours, theirs = Headers(raw=raw), starlette.datastructures.Headers(raw=raw)
            assert lookups(ours, probe) == lookups(theirs, probe)


def test_copies_stay_accelerated() -> None:
    headers = Headers(headers={"A": "1"})
    copy = headers.mutablecopy()
    assert type(copy) is MutableHeaders
    assert isinstance(copy, starlette.datastructures.MutableHeaders)
    assert copy["a"] == "1"


def deletion(headers: Any, key: Any) -> Any:
    result = outcome(lambda: headers.__delitem__(key))
    return result, list(headers._list)


@MANY
@given(raw_lists, keys)
def test_deleting_matches_starlette(raw: list[tuple[bytes, bytes]], key: str) -> None:
    # Half the time a key that is there, in another case.
    if raw and key.startswith("x") and raw[0][0].isascii():
        key = raw[0][0].decode().upper()
    ours, theirs = MutableHeaders(raw=list(raw)), starlette.datastructures.MutableHeaders(raw=list(raw))
    assert deletion(ours, key) == deletion(theirs, key)


@given(keys)
def test_deleting_from_unusual_lists_falls_back(key: str) -> None:
    unusual: list[Any] = [
        [[b"k", b"v"], (b"k", b"w")],
        [(b"k", b"v"), (bytearray(b"k"), b"v")],
        [(b"k", b"v"), (b"k", b"v", b"extra")],
        [(b"k", b"v"), ("k", "v")],
        [(b"k", b"v"), b"kv"],
    ]
    for raw in unusual:
        for probe in (key, "k", "K", None, 1):
            ours, theirs = MutableHeaders(raw=list(raw)), starlette.datastructures.MutableHeaders(raw=list(raw))
            assert deletion(ours, probe) == deletion(theirs, probe)
