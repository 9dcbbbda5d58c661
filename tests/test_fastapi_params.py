"""FastAPI's `field_annotation_is_sequence` remembered per annotation (`install()` puts it in
FastAPI's parameter extraction): the same answer as FastAPI's function for random annotations,
asked repeatedly, and a changed answer as soon as an ABC registration changes FastAPI's."""

from __future__ import annotations

import collections
import collections.abc
import importlib
import typing
from typing import Annotated, Any

from fastapi._compat import field_annotation_is_sequence as stock
from hypothesis import given, settings, strategies as st

import tachyon_engine
from tachyon_engine.fastapi.params import field_annotation_is_sequence as remembered


class Plain:
    pass


class Listish(list):  # type: ignore[type-arg]
    pass


LEAVES: list[Any] = [
    int,
    str,
    bytes,
    float,
    bool,
    type(None),
    Plain,
    Listish,
    list,
    tuple,
    set,
    frozenset,
    collections.deque,
    collections.abc.Sequence,
    dict,
    typing.Any,
    None,
    "forward",
]


def union(items: list[Any]) -> Any:
    try:
        return typing.Union[tuple(items)]  # noqa: UP007  (typing.Union takes forward references and None)
    except TypeError:  # members that cannot be hashed (an `Annotated` with a list)
        return items[0]


def annotation_types() -> st.SearchStrategy[Any]:
    def nest(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            children.map(lambda item: list[item]),  # type: ignore[valid-type]
            children.map(lambda item: typing.List[item]),  # type: ignore[valid-type]  # noqa: UP006
            st.lists(children, min_size=1, max_size=3).map(union),
            children.map(lambda item: union([item, None])),
            children.map(lambda item: Annotated[item, "meta"]),
            children.map(lambda item: Annotated[item, ["unhashable"]]),
        )

    return st.recursive(st.sampled_from(LEAVES), nest, max_leaves=5)


def answer(function: Any, annotation: Any) -> Any:
    try:
        return function(annotation)
    except Exception as exc:
        return (type(exc).__name__, str(exc))


@settings(max_examples=1500, deadline=None)
@given(annotation_types())
def test_the_same_answers_as_fastapi(annotation: Any) -> None:
    expected = answer(stock, annotation)
    assert answer(remembered, annotation) == expected
    assert answer(remembered, annotation) == expected


def test_an_abc_registration_is_seen() -> None:
    class Later:
        pass

    assert remembered(Later) is stock(Later) is False
    collections.abc.Sequence.register(Later)
    assert remembered(Later) is stock(Later) is True


def test_installed_in_fastapi_parameter_extraction() -> None:
    utils: Any = importlib.import_module("fastapi.dependencies.utils")
    tachyon_engine.install()
    try:
        assert utils.field_annotation_is_sequence is remembered
    finally:
        tachyon_engine.uninstall()
    assert utils.field_annotation_is_sequence is stock
