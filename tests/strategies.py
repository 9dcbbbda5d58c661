"""Hypothesis strategies shared by the differential tests: inputs dense in the characters
that parsers treat specially, mixed with arbitrary text."""

from __future__ import annotations

from hypothesis import strategies as st

# Characters with a meaning to one parser or another, and characters that exercise
# encodings: non-ASCII latin-1, multi-byte UTF-8, astral, a lone surrogate.
_SPECIAL = list('=&;+%"\\ \t\n\x0b\x1c\x1f,') + list("0123456789abcdefABCDEF") + ["xyz", "Az"]
_ENCODINGS = ["\x7f", "\x80", "\xa0", "\xe9", "\xff", "\u0130", "\u212a", "\u20ac", "\u3000", "\U0001f600", "\ud800"]

special_text = st.lists(st.sampled_from(_SPECIAL + _ENCODINGS), max_size=40).map("".join)
any_text = st.one_of(special_text, st.text(max_size=40))
latin1_bytes = st.one_of(
    special_text.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=40),
)
