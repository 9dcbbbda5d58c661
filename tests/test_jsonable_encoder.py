"""FastAPI's `jsonable_encoder` with `install()` against FastAPI's own function, on random
values: plain data (answered in Rust) mixed with what FastAPI's function must answer itself
(models, dataclasses, enums, subclasses, paths, dates, tuple keys, deep and circular values),
with every combination of the options the fast path reads. Same result (types included) or the
same exception."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import importlib
import pathlib
from typing import Any

import fastapi.encoders
import pydantic
from hypothesis import given, settings, strategies as st

import tachyon_engine
from tachyon_engine.fastapi import routing as accelerated

STOCK = fastapi.encoders.jsonable_encoder
routing_module: Any = importlib.import_module("fastapi.routing")


class Color(enum.Enum):
    RED = "red"


class Text(str):
    pass


class Number(int):
    pass


class Model(pydantic.BaseModel):
    name: str
    size: int | None = None


@dataclasses.dataclass
class Point:
    x: int
    y: None = None


class Ordered(dict):  # type: ignore[type-arg]
    pass


KEYS = st.one_of(
    st.sampled_from(["_sa_instance_state", "_sa", "_s", "name", "size", "", "\ud800", "_sa\ud800"]),
    st.text(max_size=6),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(["\ud800", "é", "_sa_x"]),
)
ODD = st.sampled_from(
    [
        Color.RED,
        Text("sub"),
        Number(3),
        Model(name="m"),
        Point(1),
        pathlib.PurePosixPath("/a/b"),
        datetime.date(2026, 11, 24),
        Ordered(a=1),
        b"bytes",
        (1, 2),
    ]
)


def values(odd: bool) -> st.SearchStrategy[Any]:
    leaves = st.one_of(SCALARS, ODD) if odd else SCALARS

    def nest(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.lists(children, max_size=5),
            st.lists(children, max_size=5).map(tuple),
            st.frozensets(SCALARS, max_size=4),
            st.sets(st.one_of(st.integers(), st.text(max_size=3)), max_size=4),
            st.dictionaries(KEYS, children, max_size=5),
        )

    return st.recursive(leaves, nest, max_leaves=25)


def outcome(function: Any, value: Any, options: dict[str, Any]) -> Any:
    try:
        result = function(value, **options)
    except Exception as exc:  # the same exception, same message
        return ("raised", type(exc).__name__, str(exc))
    return ("returned", typed(result))


def typed(value: Any) -> Any:
    """The value with the type of every node, in order (`==` alone says `1 == 1.0 == True`)."""
    if isinstance(value, dict):
        return (type(value), [(typed(key), typed(item)) for key, item in value.items()])
    if isinstance(value, list | tuple | set | frozenset):
        return (type(value), [typed(item) for item in value])
    return (type(value), repr(value))


OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "exclude_none": st.booleans(),
        "sqlalchemy_safe": st.booleans(),
        "by_alias": st.booleans(),
        "exclude_unset": st.booleans(),
        "exclude_defaults": st.booleans(),
        "include": st.sampled_from([None, {"name"}, ["name"]]),
        "exclude": st.sampled_from([None, {"size"}]),
        "custom_encoder": st.sampled_from([None, {}, {int: str}]),
    },
)


@settings(max_examples=3000, deadline=None)
@given(st.booleans().flatmap(values), OPTIONS)
def test_jsonable_encoder_matches_fastapi(value: Any, options: dict[str, Any]) -> None:
    assert outcome(accelerated.jsonable_encoder, value, options) == outcome(STOCK, value, options)


def test_deep_and_circular_values_are_fastapi_s() -> None:
    deep: Any = "leaf"
    for _ in range(400):
        deep = [deep]
    assert outcome(accelerated.jsonable_encoder, deep, {}) == outcome(STOCK, deep, {})
    circular: dict[str, Any] = {}
    circular["self"] = circular
    assert outcome(accelerated.jsonable_encoder, circular, {}) == (
        "raised",
        "RecursionError",
        outcome(STOCK, circular, {})[2],
    )


def test_the_native_encoder_answers_under_install() -> None:
    tachyon_engine.install()
    try:
        assert routing_module.jsonable_encoder is accelerated.jsonable_encoder
        before = tachyon_engine.native_counts()["jsonable_encodes"]
        assert routing_module.jsonable_encoder({"items": [1, 2.5, None, "x"], "_sa_state": object()}) == {
            "items": [1, 2.5, None, "x"]
        }
        assert tachyon_engine.native_counts()["jsonable_encodes"] == before + 1
    finally:
        tachyon_engine.uninstall()
    assert routing_module.jsonable_encoder is STOCK
