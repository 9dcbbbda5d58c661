"""`JSONResponse.render` and `WebSocket.send_json`'s encoding in Rust against Starlette's
`json.dumps` calls, on random nested payloads: same bytes, or the same exception."""

from __future__ import annotations

import enum
import json
import math
import random
import struct
from typing import Any

import starlette.responses
from differential import outcome
from hypothesis import given, settings, strategies as st

from tachyon_engine import _core
from tachyon_engine.responses import JSONResponse
from tachyon_engine.websockets import _dumps

MANY = settings(max_examples=10_000, deadline=None)


class Int(int):
    pass


class Float(float):
    pass


class Text(str):
    pass


class Color(enum.IntEnum):
    RED = 1


class Listish(list[Any]):
    pass


class Dictish(dict[Any, Any]):
    pass


floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e16, 1e15, 1e-4, 1e-5, 5e-324, 1.7976931348623157e308, 0.1, 2.0**60]),
    st.floats().map(Float),
)
ints = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**100]),
    st.integers().map(Int),
    st.just(Color.RED),
)
texts = st.one_of(st.text(), st.text().map(Text), st.sampled_from(["\ud800", 'a\x00\x1f\x7f"\\', "\u2028\U0001f600"]))
scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts)
keys = st.one_of(texts, ints, floats, st.booleans(), st.none(), st.tuples(st.integers()))
payloads = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.lists(children, max_size=4).map(tuple),
        st.lists(children, max_size=3).map(Listish),
        st.dictionaries(keys, children, max_size=6),
        st.dictionaries(st.text(max_size=3), children, max_size=3).map(Dictish),
        st.sets(st.integers(), max_size=2),
    ),
    max_leaves=30,
)


def stock_render(content: Any) -> bytes:
    return starlette.responses.JSONResponse.render(None, content)  # type: ignore[arg-type]


@MANY
@given(payloads)
def test_render_matches_starlette(content: Any) -> None:
    ours = outcome(lambda: JSONResponse(content).body)
    theirs = outcome(lambda: starlette.responses.JSONResponse(content).body)
    assert ours == theirs


@settings(max_examples=2_000, deadline=None)
@given(payloads)
def test_websocket_text_matches_json_dumps(content: Any) -> None:
    ours = outcome(lambda: _dumps(content))
    theirs = outcome(lambda: json.dumps(content, separators=(",", ":"), ensure_ascii=False))
    assert ours == theirs


@settings(max_examples=20_000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_print_as_python_repr(value: float) -> None:
    assert _core.render_json(value) == repr(value).encode()


def test_every_kind_of_double_prints_as_json_dumps() -> None:
    """Random bit patterns (every exponent), each power of two, the edges of every decade
    and their neighbours, and the whole and repeating values payloads are full of."""
    rng = random.Random(20261124)
    values = [struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0] for _ in range(100_000)]
    values += [2.0**exponent for exponent in range(-1074, 1024)]
    for exponent in range(-324, 309):
        for mantissa in ("1", "1.5", "9.999999", "2.2250738585072014", "4.9406564584124654"):
            edge = float(f"{mantissa}e{exponent}")
            values += [edge, math.nextafter(edge, 0.0), math.nextafter(edge, math.inf)]
    values += [index / 7 for index in range(20_000)] + [index * 1.25 for index in range(-20_000, 20_000)]
    finite = [value for value in values if math.isfinite(value)]
    finite += [-value for value in finite]
    expected = json.dumps(finite, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    assert _core.render_json(finite) == expected


def test_native_encoder_takes_the_common_payloads() -> None:
    content = {"id": 1, "price": 9.99, "tags": ["a", "\u00e9"], "nested": {"ok": True, "none": None}, 2: (1.5e-7,)}
    assert _core.render_json(content) == stock_render(content)


def test_unusual_values_are_left_to_the_stdlib() -> None:
    circular: list[Any] = []
    circular.append(circular)
    for content in [float("nan"), {"a": float("inf")}, "\ud800", circular, {(1,): 2}, Listish([1]), {1, 2}]:
        assert _core.render_json(content) is NotImplemented
        assert outcome(lambda: JSONResponse(content).body) == outcome(lambda: stock_render(content))  # noqa: B023
