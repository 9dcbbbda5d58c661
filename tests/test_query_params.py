"""`QueryParams` and `_core.parse_query_string` against `urllib.parse.parse_qsl` and Starlette."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import starlette.datastructures
from differential import outcome
from hypothesis import given, settings, strategies as st
from strategies import any_text, latin1_bytes

from tachyon_engine import _core
from tachyon_engine.datastructures import QueryParams

MANY = settings(max_examples=10_000, deadline=None)


def stock(query: Any) -> list[tuple[str, str]]:
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    return parse_qsl(query, keep_blank_values=True)


@MANY
@given(st.one_of(any_text, latin1_bytes))
def test_parser_matches_parse_qsl(query: str | bytes) -> None:
    parsed = _core.parse_query_string(query)
    if isinstance(query, str) and not _is_encodable(query):
        # Lone surrogates cannot cross into Rust: the Python fallback handles them.
        assert parsed is NotImplemented
        return
    assert parsed is not NotImplemented
    items, mapping = parsed
    assert items == stock(query)
    assert mapping == dict(stock(query))


@MANY
@given(st.one_of(any_text, latin1_bytes))
def test_query_params_match_starlette(query: str | bytes) -> None:
    ours, theirs = QueryParams(query), starlette.datastructures.QueryParams(query)
    assert isinstance(ours, starlette.datastructures.QueryParams)
    assert ours.multi_items() == theirs.multi_items()
    assert list(ours.items()) == list(theirs.items())
    assert outcome(lambda: str(ours)) == outcome(lambda: str(theirs))
    assert outcome(lambda: repr(ours)) == outcome(lambda: repr(theirs))
    assert ours == QueryParams(theirs)


def test_other_constructor_forms_fall_back_to_starlette() -> None:
    forms: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}),
        (([("a", 1), ("b", "2")],), {}),
        (({"a": "1"},), {}),
        (("a=1",), {"b": "2"}),
        ((starlette.datastructures.QueryParams("a=1&a=2"),), {}),
    ]
    for args, kwargs in forms:
        ours = QueryParams(*args, **kwargs)
        theirs = starlette.datastructures.QueryParams(*args, **kwargs)
        assert ours.multi_items() == theirs.multi_items()


def test_str_subclass_takes_the_fallback() -> None:
    class Query(str):
        pass

    assert _core.parse_query_string(Query("a=1")) is NotImplemented
    assert QueryParams(Query("a=1&b")).multi_items() == [("a", "1"), ("b", "")]


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
