"""`Request.json()` / `WebSocket.receive_json()` parsing in Rust against `json.loads`, on
random documents (valid, reformatted, and damaged): the same value with the same types (big
integers exact, floats bit for bit), or the same exception with the same `msg` and `pos`."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

from differential import outcome
from hypothesis import given, settings, strategies as st

from tachyon_engine import _core
from tachyon_engine.requests import _loads

MANY = settings(max_examples=10_000, deadline=None)

documents = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(10**60), max_value=10**60),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.text(max_size=4), children, max_size=5),
    ),
    max_leaves=25,
)


def typed(value: Any) -> Any:
    """The value with every type and float bit pattern spelled out, for exact comparison."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value)) if not math.isnan(value) else ("nan",)
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    if isinstance(value, dict):
        return ("dict", [(key, typed(item)) for key, item in value.items()])
    return (type(value).__name__, value)


def both(data: bytes | str) -> tuple[Any, Any]:
    def ours() -> Any:
        return typed(_loads(data))

    def theirs() -> Any:
        return typed(json.loads(data))

    return outcome(ours), outcome(theirs)


def with_position(result: tuple[str, Any], data: bytes | str) -> Any:
    """Adds `JSONDecodeError.pos` / `.msg` to a raised outcome (FastAPI copies them)."""
    if result[0] != "raised":
        return result
    try:
        json.loads(data)
    except json.JSONDecodeError as exc:
        return result, exc.pos, exc.msg
    except Exception:
        return result
    return result


@MANY
@given(documents, st.sampled_from([(",", ":"), (", ", ": ")]), st.booleans(), st.sampled_from([None, 1]))
def test_valid_documents_parse_identically(document: Any, separators: Any, ascii_only: bool, indent: Any) -> None:
    text = json.dumps(document, separators=separators, ensure_ascii=ascii_only, indent=indent)
    for data in (text, text.encode("utf-8")):
        ours, theirs = both(data)
        assert ours == theirs


@MANY
@given(documents, st.data())
def test_damaged_documents_fail_identically(document: Any, data: st.DataObject) -> None:
    text = json.dumps(document)
    position = data.draw(st.integers(min_value=0, max_value=len(text)))
    damage = data.draw(
        st.sampled_from(["", " ", ",", "]", "}", '"', "\\", "\x00", "NaN", "-", "0", "1.", "e5", "\ud800", "\ufeff"])
    )
    cut = data.draw(st.integers(min_value=0, max_value=3))
    damaged = text[:position] + damage + text[position + cut :]
    for raw in (damaged, damaged.encode("utf-8", "surrogatepass")):
        ours, theirs = both(raw)
        assert with_position(ours, raw) == with_position(theirs, raw)


def test_stdlib_cases_are_left_to_the_stdlib() -> None:
    for data in [b"NaN", b"[Infinity]", b'"\\ud800"', b"\xef\xbb\xbf{}", '{"a": 1}'.encode("utf-16"), b"", b"[1,]"]:
        assert _core.loads_json(data) is NotImplemented


def test_common_documents_take_the_native_path() -> None:
    data = b'{"id": 12345678901234567890, "price": 0.1, "tags": ["a", "\\u00e9\\ud83d\\ude00"], "ok": true}'
    assert typed(_core.loads_json(data)) == typed(json.loads(data))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["id", "name", "a", "ab", "b", "é", "x" * 40]), unique=True, max_size=7),
        max_size=60,
    ),
    st.integers(min_value=0, max_value=3),
)
def test_records_with_shifting_keys_parse_identically(key_lists: list[list[str]], extra: int) -> None:
    """Records whose keys come in changing orders, some missing, more than the key cache holds:
    the decoder's guess of the next key must never stand for another key."""
    records = [{key: index for index, key in enumerate(keys)} for keys in key_lists]
    records += [{f"k{index}": index for index in range(40 + extra)}] * 2
    document = json.dumps(records).encode()
    assert _core.loads_json(document) == json.loads(document)
