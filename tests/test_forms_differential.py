"""Form parsing, stock Starlette vs tachyon_engine, on random valid and malformed bodies cut
at random chunk boundaries: same fields, files (contents, sizes, headers), parser state,
logged warnings, exceptions (type, message, chained cause), files closed on error, and the
same HTTP responses through an app.

The reference is the installed python-multipart; run the module against each release in
`tachyon_engine.formparsers.PORTED_MULTIPART_VERSIONS` (e.g. with `PYTHONPATH` pointing at a
`pip install --target` of another release). The bodies and headers are dense in what differs
between them: padding after delimiters, upper-case content types, whitespace other than
spaces and tabs around header options."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import tempfile
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import contextmanager
from tempfile import SpooledTemporaryFile
from typing import Any
from unittest import mock

import pytest
import python_multipart
import starlette.applications
import starlette.datastructures
import starlette.formparsers
import starlette.requests
import starlette.responses
import starlette.routing
import starlette.testclient
from hypothesis import given, settings, strategies as st

import tachyon_engine.formparsers
from tachyon_engine.applications import Starlette
from tachyon_engine.datastructures import Headers
from tachyon_engine.requests import Request
from tachyon_engine.responses import JSONResponse
from tachyon_engine.routing import Route
from tachyon_engine.testclient import TestClient

MANY = settings(max_examples=1500, deadline=None)
FEW = settings(max_examples=150, deadline=None)

# ---------------------------------------------------------------------------- bodies

_URL_PIECES = [b"a", b"b", b"=", b"&", b"&&", b"+", b"%", b"%2", b"%2B", b"%C3", b"%A9", b"%zz", b"\xe9", b"\xff", b";"]
urlencoded_bodies = st.one_of(
    st.lists(st.sampled_from(_URL_PIECES), max_size=40).map(b"".join),
    st.binary(max_size=60),
)

# Whitespace other than spaces and tabs: `str.strip()` removes it, `str.strip(" \t")` (0.0.34) not.
_ODD_SPACES = ["\xa0", "\x85", "\x0b", "\x0c", "\x1c", "\x1f"]
_NAME_PIECES = [
    "a",
    "b",
    "x y",
    ";",
    '"',
    "\\",
    "=",
    "*",
    " ",
    "\t",
    "é",
    "€",
    "C:\\",
    "\\\\",
    "file.txt",
    *_ODD_SPACES,
]
_DATA_PIECES = [
    b"x",
    b"\r",
    b"\n",
    b"\r\n",
    b"-",
    b"--",
    b"\r\n--",
    b"\r\n--B",
    b"\r\n--Bo",
    b" ",
    b"\t",
    b"\xe9",
    # Delimiters followed by padding (a boundary from 0.0.34 on, data before).
    b"\r\n--B \r\n",
    b"\r\n--B\t",
    b"\r\n--Bo \t\r\n",
    # What base64 / quoted-printable decoders would hold back (Starlette does not decode).
    b"=",
    b"=3D",
    b"=\r\n",
    b"YQ==",
]
# Between `;`-separated options, and around `=`.
_SEPARATORS = ["; ", ";", ";\t", " ;", *(";" + space for space in _ODD_SPACES)]
_EQUALS = ["="] * 4 + [" = ", "\t=", "=\t", "\xa0=", "=\x0b", "\x0c=\x85"]


@st.composite
def dispositions(draw: st.DrawFn) -> bytes:
    """A Content-Disposition value: mostly well formed, sometimes odd."""

    def text() -> str:
        return "".join(draw(st.lists(st.sampled_from(_NAME_PIECES), max_size=4)))

    def equals() -> str:
        return draw(st.sampled_from(_EQUALS))

    params = []
    if draw(st.integers(0, 9)):
        key = draw(st.sampled_from(["name"] * 6 + ["NAME", " name ", "name*", "name\xa0", "\x0cname"]))
        params.append(key + equals() + _quote(draw, text()))
    if draw(st.booleans()):
        key = draw(st.sampled_from(["filename"] * 3 + ["filename*", "FileName", "\x85filename", "filename\x1c"]))
        params.append(key + equals() + _quote(draw, text()))
    if draw(st.booleans()):
        params.append(text())
    draw(st.randoms()).shuffle(params)
    if draw(st.booleans()) or params:
        value = draw(st.sampled_from(["form-data", "Form-Data", "\tform-data", "form-data\xa0"]))
        for param in params:
            value += draw(st.sampled_from(_SEPARATORS)) + param
    else:
        value = text()
    return value.encode(draw(st.sampled_from(["utf-8", "latin-1"])), "replace")


def _quote(draw: st.DrawFn, text: str) -> str:
    return f'"{text}"' if draw(st.booleans()) else text


@st.composite
def parts(draw: st.DrawFn, boundary: bytes, first: bool) -> bytes:
    headers = []
    if draw(st.integers(0, 9)):
        name = draw(st.sampled_from([b"Content-Disposition", b"content-disposition", b"CONTENT-DISPOSITION"]))
        headers.append(name + b": " + draw(dispositions()))
    for _ in range(draw(st.integers(0, 2))):
        headers.append(
            draw(st.sampled_from([b"Content-Type"] * 4 + [b"X-Extra", b"Bad Name", b"", b"Content-Transfer-Encoding"]))
            + draw(st.sampled_from([b": ", b":", b":  ", b":\t"]))
            + draw(st.sampled_from([b"text/plain", b"", b"a\rb", b"\xe9", b"base64", b"quoted-printable", b" x\t"]))
        )
    draw(st.randoms()).shuffle(headers)
    data = b"".join(draw(st.lists(st.sampled_from([*_DATA_PIECES, boundary[:3]]), max_size=12)))
    if draw(st.integers(0, 5)) == 0:
        data += bytes(draw(st.binary(min_size=0, max_size=300)))
    # Padding after the delimiter: a boundary from python-multipart 0.0.34 on (an error on
    # the first delimiter, or when something other than spaces and tabs precedes the CRLF).
    paddings = [b""] * 12 + [b" "] if first else [b""] * 6 + [b" ", b"\t", b" \t ", b"  x", b" \r", b"\t-", b"\xa0"]
    padding = draw(st.sampled_from(paddings))
    return b"--" + boundary + padding + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + data + b"\r\n"


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """`(boundary, body)`: a well-formed body, then maybe damaged."""
    boundary = draw(st.sampled_from([b"B", b"Bo", b"boundary", b"a-b", b"X" * 70]))
    body = draw(st.sampled_from([b""] * 6 + [b"\r\n", b"preamble\r\n", b"\n\n"]))
    body += b"".join(draw(parts(boundary, first=index == 0)) for index in range(draw(st.integers(0, 5))))
    body += draw(
        st.sampled_from(
            [b"--" + boundary + b"--\r\n", b"--" + boundary + b"--", b"--" + boundary, b""]
            + [b"--" + boundary + b" \r\n", b"--" + boundary + b"\t--\r\n", b"--" + boundary + b" "]
        )
    )
    body += draw(st.sampled_from([b"", b"epilogue", b"\r\n--" + boundary + b"--\r\n"]))
    for _ in range(draw(st.integers(0, 3))):
        if not body or draw(st.integers(0, 2)):
            break
        at = draw(st.integers(0, len(body) - 1))
        action = draw(st.integers(0, 2))
        if action == 0:
            body = body[:at] + body[at + 1 :]
        elif action == 1:
            body = body[:at] + draw(st.sampled_from([b"\r", b"\n", b"-", b" ", b"\t", b":", b"\x00"])) + body[at:]
        else:
            body = body[:at]
    return boundary, body


@st.composite
def cuts(draw: st.DrawFn, body: bytes) -> list[bytes]:
    points = sorted(draw(st.lists(st.integers(0, len(body)), max_size=6)))
    chunks, start = [], 0
    for point in [*points, len(body)]:
        chunks.append(body[start:point])
        start = point
    return chunks


@st.composite
def content_types(draw: st.DrawFn, boundary: bytes, charset: str | None = None) -> str:
    """A multipart Content-Type for `boundary`: mostly plain, sometimes in upper case or with
    tabs or other whitespace around its options (which 0.0.34 no longer strips)."""
    if draw(st.integers(0, 2)):
        content_type = "multipart/form-data; boundary=" + boundary.decode()
        return content_type if charset is None else f"{content_type}; charset={charset}"
    content_type = draw(st.sampled_from(["multipart/form-data", "Multipart/Form-Data", "\tMULTIPART/form-data "]))
    content_type += draw(st.sampled_from(_SEPARATORS)) + draw(st.sampled_from(["boundary", "BOUNDARY", "boundary\x0c"]))
    content_type += (
        draw(st.sampled_from(_EQUALS)) + boundary.decode() + draw(st.sampled_from(["", " ", "\t", "\xa0", "\x1f"]))
    )
    if charset is not None:
        content_type += draw(st.sampled_from(_SEPARATORS)) + "charset" + draw(st.sampled_from(_EQUALS)) + charset
    return content_type


limits = st.one_of(st.just(1000), st.integers(0, 4), st.sampled_from([2.5, float("inf")]))
part_sizes = st.one_of(st.just(1024 * 1024), st.integers(0, 40))

# ---------------------------------------------------------------------------- running


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _captured_log() -> Iterator[list[str]]:
    handler = _Records()
    logger = logging.getLogger("python_multipart.multipart")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


async def _stream(chunks: list[bytes]) -> AsyncGenerator[bytes, None]:
    for chunk in chunks:
        yield chunk


async def _describe(form: Any) -> list[Any]:
    described: list[Any] = []
    for name, value in form.multi_items():
        if isinstance(value, str):
            described.append((name, value))
        else:
            content = await value.read()
            described.append(
                (name, type(value), value.filename, value.size, value.headers.raw, value.content_type, content)
            )
            await value.close()
    return described


def _error(exc: BaseException) -> Any:
    cause = exc.__cause__
    context = exc.__context__
    return (
        type(exc),
        str(exc),
        getattr(exc, "message", None),
        (type(cause), str(cause), getattr(cause, "offset", None)) if cause else None,
        type(context) if context else None,
    )


def _run(parse: Callable[[], Any], state: Callable[[], Any]) -> Any:
    async def go() -> Any:
        try:
            return "form", await _describe(await parse()), state()
        except Exception as exc:
            return "raised", _error(exc), state()

    with _captured_log() as log:
        result = asyncio.run(go())
    return result, log


def _multipart(module: Any, content_type: str, chunks: list[bytes], spool: int, **limits: Any) -> tuple[Any, list[Any]]:
    created: list[Any] = []

    class Tracking(SpooledTemporaryFile):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

    parser = module.MultiPartParser(Headers({"content-type": content_type}), _stream(chunks), **limits)
    parser.spool_max_size = 16 if spool < 0 else spool
    if module is not starlette.formparsers or _native_installed():
        # tachyon_engine's side: the Rust parser answers (this test cannot pass by falling back).
        assert tachyon_engine.formparsers._native_settings(parser) is not None
    with mock.patch.object(module, "SpooledTemporaryFile", Tracking):
        # Patching `tempfile` too keeps tachyon_engine on its coalescing path (it coalesces
        # writes only for the standard class); a spool < 0 tests the write-per-piece path.
        with mock.patch.object(tempfile, "SpooledTemporaryFile", Tracking) if spool >= 0 else _nothing():
            result = _run(parser.parse, lambda: (parser._current_files, parser._current_fields, parser._charset))
    closed = [file.closed for file in created]
    if result[0][0] == "raised":
        assert all(closed)
    for file in created:
        file.close()
    return result, closed


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _native_installed() -> bool:
    """Whether `install()` put tachyon_engine's `parse` on Starlette's parsers."""
    return starlette.formparsers.MultiPartParser.parse is tachyon_engine.formparsers.MultiPartParser.parse


def _urlencoded_state(parser: Any) -> Callable[[], Any]:
    """The parser's counters; after an error, the field it stopped in (Starlette's own suite
    reads it). After a success tachyon_engine does not copy the last field back."""

    def state() -> Any:
        if sys.exc_info()[0] is None:
            return parser._current_fields
        return parser._current_fields, parser._current_field_size, parser._field_name, parser._field_value

    return state


# ---------------------------------------------------------------------------- tests


@MANY
@given(st.data(), urlencoded_bodies, limits, part_sizes)
def test_urlencoded_matches_starlette(data: st.DataObject, body: bytes, max_fields: Any, max_part_size: int) -> None:
    chunks = data.draw(cuts(body))
    headers = Headers({"content-type": "application/x-www-form-urlencoded"})
    results = []
    for module in (starlette.formparsers, tachyon_engine.formparsers):
        parser = module.FormParser(headers, _stream(chunks), max_fields=max_fields, max_part_size=max_part_size)
        results.append(
            _run(
                parser.parse,
                _urlencoded_state(parser),
            )
        )
    assert results[0] == results[1]


@MANY
@given(
    st.data(),
    multipart_bodies(),
    limits,
    limits,
    part_sizes,
    st.sampled_from([None, "utf-8", "latin-1", "ascii", "utf-16", "nonsense"]),
    st.sampled_from([1024 * 1024, 0, 8, -1]),
)
def test_multipart_matches_starlette(
    data: st.DataObject,
    boundary_body: tuple[bytes, bytes],
    max_files: Any,
    max_fields: Any,
    max_part_size: int,
    charset: str | None,
    spool: int,
) -> None:
    boundary, body = boundary_body
    chunks = data.draw(cuts(body))
    content_type = data.draw(content_types(boundary, charset))
    limits = {"max_files": max_files, "max_fields": max_fields, "max_part_size": max_part_size}
    stock = _multipart(starlette.formparsers, content_type, chunks, spool, **limits)
    ours = _multipart(tachyon_engine.formparsers, content_type, chunks, spool, **limits)
    assert ours == stock


_BOUNDARY = "multipart/form-data; boundary=Boundary"


@pytest.mark.parametrize("size", [0, 1, 100_000, 1024 * 1024 + 1, 3 * 1024 * 1024 + 5])
@pytest.mark.parametrize("chunk", [1000, 65536])
def test_large_files_match_starlette(size: int, chunk: int) -> None:
    content = bytes(range(256)) * (size // 256) + b"\r\n--Bou" * (size % 3)
    body = (
        b'--Boundary\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--Boundary--\r\n"
    )
    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    stock = _multipart(starlette.formparsers, _BOUNDARY, chunks, 1024 * 1024)
    ours = _multipart(tachyon_engine.formparsers, _BOUNDARY, chunks, 1024 * 1024)
    assert ours == stock
    assert ours[0][0][1][0][-1] == content


def test_boundary_too_long_and_missing() -> None:
    for content_type in ["multipart/form-data; boundary=" + "X" * 257, "multipart/form-data"]:
        results = []
        for module in (starlette.formparsers, tachyon_engine.formparsers):
            parser = module.MultiPartParser(Headers({"content-type": content_type}), _stream([b"--X\r\n"]))
            results.append(_run(parser.parse, lambda: None))
        assert results[0] == results[1]
        assert results[0][0][0] == "raised"


def test_callback_overrides_take_starlette_path() -> None:
    seen: list[bytes] = []

    class Parser(tachyon_engine.formparsers.FormParser):
        def on_field_data(self, data: bytes, start: int, end: int) -> None:
            seen.append(data[start:end])
            super().on_field_data(data, start, end)

    headers = Headers({"content-type": "application/x-www-form-urlencoded"})
    form = asyncio.run(Parser(headers, _stream([b"a=1&b=2"])).parse())
    assert form.multi_items() == [("a", "1"), ("b", "2")]
    assert seen == [b"1", b"2"]


def test_a_patched_upload_write_sees_every_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Rust parser writes to a spool itself only under the stock `UploadFile.write`: a
    patched one is called as Starlette calls it (same pieces, as `bytes`)."""
    stock_write = starlette.datastructures.UploadFile.write
    body = (
        b'--B\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n'
        + bytes(range(256)) * 40
        + b"\r\n--B--\r\n"
    )
    chunks = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    seen: dict[str, list[tuple[type, bytes]]] = {}
    for module in (starlette.formparsers, tachyon_engine.formparsers):
        calls: list[tuple[type, bytes]] = []

        async def write(self: Any, data: bytes, calls: list[tuple[type, bytes]] = calls) -> None:
            calls.append((type(data), bytes(data)))
            await stock_write(self, data)

        monkeypatch.setattr(starlette.datastructures.UploadFile, "write", write)
        parser = module.MultiPartParser(Headers({"content-type": "multipart/form-data; boundary=B"}), _stream(chunks))
        form = asyncio.run(parser.parse())
        asyncio.run(form.close())
        seen[module.__name__] = calls
    assert seen["tachyon_engine.formparsers"] == seen["starlette.formparsers"]
    assert len(seen["starlette.formparsers"]) == len(chunks)


@contextmanager
def _installed() -> Iterator[None]:
    tachyon_engine.install()
    try:
        yield
    finally:
        assert tachyon_engine.uninstall() == []


@FEW
@given(st.data(), urlencoded_bodies, limits, part_sizes)
def test_installed_urlencoded_matches_stock(
    data: st.DataObject, body: bytes, max_fields: Any, max_part_size: int
) -> None:
    """Under `install()`, Starlette's own `FormParser` parses in Rust, with the same results."""
    chunks = data.draw(cuts(body))
    headers = Headers({"content-type": "application/x-www-form-urlencoded"})
    results = []
    for context in (_nothing, _installed):
        with context():
            parser = starlette.formparsers.FormParser(
                headers, _stream(chunks), max_fields=max_fields, max_part_size=max_part_size
            )
            results.append(_run(parser.parse, _urlencoded_state(parser)))
    assert results[0] == results[1]


@FEW
@given(
    st.data(),
    multipart_bodies(),
    limits,
    limits,
    part_sizes,
    st.sampled_from([None, "utf-8", "latin-1"]),
    st.sampled_from([1024 * 1024, 0, 8, -1]),
)
def test_installed_multipart_matches_stock(
    data: st.DataObject,
    boundary_body: tuple[bytes, bytes],
    max_files: Any,
    max_fields: Any,
    max_part_size: int,
    charset: str | None,
    spool: int,
) -> None:
    """Under `install()`, Starlette's own `MultiPartParser` parses in Rust, with the same
    results; `SpooledTemporaryFile` is looked up in `starlette.formparsers` (`_multipart`
    patches it there and tracks the files created)."""
    boundary, body = boundary_body
    chunks = data.draw(cuts(body))
    content_type = data.draw(content_types(boundary, charset))
    limits = {"max_files": max_files, "max_fields": max_fields, "max_part_size": max_part_size}
    stock = _multipart(starlette.formparsers, content_type, chunks, spool, **limits)
    with _installed():
        ours = _multipart(starlette.formparsers, content_type, chunks, spool, **limits)
    assert ours == stock


@pytest.mark.parametrize("size", [0, 100_000, 1024 * 1024 + 1])
def test_installed_large_files_match_stock(size: int) -> None:
    content = bytes(range(256)) * (size // 256) + b"\r\n--Bou" * (size % 3)
    body = (
        b'--Boundary\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n\r\n'
        + content
        + b"\r\n--Boundary--\r\n"
    )
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    stock = _multipart(starlette.formparsers, _BOUNDARY, chunks, 1024 * 1024)
    before = tachyon_engine.native_counts()["form_parses"]
    with _installed():
        ours = _multipart(starlette.formparsers, _BOUNDARY, chunks, 1024 * 1024)
    assert tachyon_engine.native_counts()["form_parses"] == before + 1
    assert ours == stock
    assert ours[0][0][1][0][-1] == content


# ---------------------------------------------------------------------------- through an app


async def _form_endpoint(request: Any) -> Any:
    form = await request.form(max_files=2, max_fields=3, max_part_size=64)
    items = []
    for name, value in form.multi_items():
        if isinstance(value, str):
            items.append([name, value])
        else:
            items.append([name, value.filename, value.size, (await value.read()).decode("latin-1")])
    await form.close()
    return (JSONResponse if request.__class__ is Request else starlette.responses.JSONResponse)(items)


_APPS = (
    starlette.testclient.TestClient(
        starlette.applications.Starlette(routes=[starlette.routing.Route("/", _form_endpoint, methods=["POST"])])
    ),
    TestClient(Starlette(routes=[Route("/", _form_endpoint, methods=["POST"])])),
)


# Which parser `Request.form()` picks depends on the content type `parse_options_header` gives:
# lowercased in front of options from 0.0.33 on, stripped of spaces and tabs only from 0.0.34.
_URLENCODED_TYPES = [
    "application/x-www-form-urlencoded",
    "Application/X-WWW-Form-Urlencoded",
    "Application/X-WWW-Form-Urlencoded; charset=utf-8",
    "application/x-www-form-urlencoded\xa0",
    "application/x-www-form-urlencoded\x0c; a=b",
    "\tapplication/x-www-form-urlencoded ;",
]


@FEW
@given(st.data(), st.one_of(multipart_bodies(), urlencoded_bodies.map(lambda body: (None, body))))
def test_same_responses_through_an_app(data: st.DataObject, boundary_body: tuple[bytes | None, bytes]) -> None:
    boundary, body = boundary_body
    if boundary is None:
        content_type = data.draw(st.sampled_from(["application/x-www-form-urlencoded"] * 3 + _URLENCODED_TYPES))
    else:
        content_type = data.draw(content_types(boundary))
    created: list[Any] = []

    class Tracking(SpooledTemporaryFile):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

    responses = []
    # A part the body never closes leaves its file unclosed and out of the form, on both
    # stacks (Starlette's behaviour); the test closes such files itself.
    with (
        mock.patch.object(starlette.formparsers, "SpooledTemporaryFile", Tracking),
        mock.patch.object(tachyon_engine.formparsers, "SpooledTemporaryFile", Tracking),
        mock.patch.object(tempfile, "SpooledTemporaryFile", Tracking),
    ):
        for client in _APPS:
            response = client.post("/", content=body, headers={b"content-type": content_type.encode("latin-1")})
            responses.append((response.status_code, response.headers.items(), response.content))
    for file in created:
        file.close()
    assert responses[0] == responses[1]


def test_the_native_parsers_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The differential tests above would also pass if every parse fell back to Starlette (a
    python-multipart version other than the ported one does that): with Starlette's own
    `parse` disabled (the saved functions the fallback calls, and the class attributes),
    tachyon_engine still parses both kinds of form, and counts them."""
    assert python_multipart.__version__ in tachyon_engine.formparsers.PORTED_MULTIPART_VERSIONS
    assert tachyon_engine.formparsers._fast_path_available()

    async def refuse(self: Any) -> Any:
        raise AssertionError("Starlette's parser ran")

    monkeypatch.setattr(tachyon_engine.formparsers, "_stock_form_parse", refuse)
    monkeypatch.setattr(tachyon_engine.formparsers, "_stock_multipart_parse", refuse)
    monkeypatch.setattr(starlette.formparsers.FormParser, "parse", refuse)
    monkeypatch.setattr(starlette.formparsers.MultiPartParser, "parse", refuse)
    urlencoded = tachyon_engine.formparsers.FormParser(
        Headers({"content-type": "application/x-www-form-urlencoded"}), _stream([b"a=1&b=", b"2"])
    )
    body = b'--b\r\nContent-Disposition: form-data; name="f"; filename="x.txt"\r\n\r\ndata\r\n--b--\r\n'
    multipart = tachyon_engine.formparsers.MultiPartParser(
        Headers({"content-type": "multipart/form-data; boundary=b"}), _stream([body[:20], body[20:]])
    )

    async def parse_both() -> list[Any]:
        return [await _describe(await urlencoded.parse()), await _describe(await multipart.parse())]

    before = tachyon_engine.native_counts()["form_parses"]
    fields, files = asyncio.run(parse_both())
    assert fields == [("a", "1"), ("b", "2")]
    assert [(name, filename, content) for name, _, filename, _, _, _, content in files] == [("f", "x.txt", b"data")]
    assert tachyon_engine.native_counts()["form_parses"] == before + 2


def test_ported_versions() -> None:
    """The registry of supported releases, and the modes the Rust parsers accept."""
    versions = tachyon_engine.formparsers.PORTED_MULTIPART_VERSIONS
    assert dict(versions) == {"0.0.32": 0, "0.0.33": 1, "0.0.34": 2}
    assert tachyon_engine.formparsers._ported_mode() == versions[python_multipart.__version__]
    for mode in versions.values():
        tachyon_engine._core.MultipartFormParser(b"B", "utf-8", 1.0, 1.0, 1.0, 8, 4224, 0, mode)
        assert tachyon_engine._core.parse_options_header("a", mode) == (b"a", {})
    with pytest.raises(ValueError, match="unknown python-multipart mode 3"):
        tachyon_engine._core.MultipartFormParser(b"B", "utf-8", 1.0, 1.0, 1.0, 8, 4224, 0, 3)
    with pytest.raises(ValueError, match="unknown python-multipart mode 3"):
        tachyon_engine._core.parse_options_header("a", 3)


# A delimiter followed by padding; a delimiter followed by padding and then not a CRLF; an
# option after a no-break space.
_RELEASE_BODIES = [
    b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--B \t\r\n'
    b'Content-Disposition: form-data; name="b"\r\n\r\ny\r\n--B--\r\n',
    b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--B  x\r\n',
    b'--B\r\nContent-Disposition: form-data; name="b";\xa0filename="f"\r\n\r\ny\r\n--B--\r\n',
]
# The offset in the second chunk of the byte after the padding.
_BAD_PADDING = "Did not find CRLF after boundary padding at 9"
_RELEASE_FORMS: dict[str, list[Any]] = {
    "0.0.32": [
        [("a", 'x\r\n--B \t\r\nContent-Disposition: form-data; name="b"\r\n\r\ny')],
        [],
        [("b", ("f", b"y"))],
    ],
    "0.0.34": [[("a", "x"), ("b", "y")], f"MultipartParseError('{_BAD_PADDING}')", [("b", "y")]],
}
_RELEASE_FORMS["0.0.33"] = _RELEASE_FORMS["0.0.32"]


def test_the_native_parsers_follow_the_installed_release(monkeypatch: pytest.MonkeyPatch) -> None:
    """What differs between the supported releases, parsed in Rust alone (Starlette's own
    `parse` disabled), as the installed release parses it (not merely as one of them)."""
    version = python_multipart.__version__

    async def refuse(self: Any) -> Any:
        raise AssertionError("Starlette's parser ran")

    async def summary(parser: Any) -> Any:
        try:
            form = await parser.parse()
        except tachyon_engine.formparsers.MultiPartException as exc:
            return repr(exc.__cause__)
        items = [
            (name, value if isinstance(value, str) else (value.filename, await value.read()))
            for name, value in form.multi_items()
        ]
        await form.close()
        return items

    monkeypatch.setattr(tachyon_engine.formparsers, "_stock_multipart_parse", refuse)
    outcomes = []
    with _captured_log() as log:
        for body in _RELEASE_BODIES:
            parser = tachyon_engine.formparsers.MultiPartParser(
                Headers({"content-type": "Multipart/Form-Data; boundary=B"}), _stream([body[:48], body[48:]])
            )
            outcomes.append(asyncio.run(summary(parser)))
    assert outcomes == _RELEASE_FORMS[version]
    assert log == ([_BAD_PADDING] if version == "0.0.34" else [])
    parse = tachyon_engine.formparsers._parse_options
    function = starlette.formparsers.parse_options_header  # type: ignore[attr-defined]
    assert parse(function, "Text/Plain; a=1")[0] == (b"Text/Plain" if version == "0.0.32" else b"text/plain")
    assert parse(function, "t;\x0ca=1")[1] == ({b"\x0ca": b"1"} if version == "0.0.34" else {b"a": b"1"})


@pytest.mark.parametrize("version", ["0.0.31", "0.0.35", "1.0.0", None])
def test_other_releases_take_starlette_path(monkeypatch: pytest.MonkeyPatch, version: str | None) -> None:
    """A python-multipart release that is not ported runs Starlette's own parsers."""
    monkeypatch.setattr(python_multipart, "__version__", version)
    assert tachyon_engine.formparsers._ported_mode() is None
    assert not tachyon_engine.formparsers._fast_path_available()
    body = b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--B--\r\n'
    before = tachyon_engine.native_counts()["form_parses"]
    urlencoded = tachyon_engine.formparsers.FormParser(
        Headers({"content-type": "application/x-www-form-urlencoded"}), _stream([b"a=1"])
    )
    multipart = tachyon_engine.formparsers.MultiPartParser(
        Headers({"content-type": "multipart/form-data; boundary=B"}), _stream([body])
    )
    assert asyncio.run(urlencoded.parse()).multi_items() == [("a", "1")]
    assert asyncio.run(multipart.parse()).multi_items() == [("a", "x")]
    assert tachyon_engine.native_counts()["form_parses"] == before


_OPTION_PIECES = [
    "multipart/form-data",
    "MULTIPART/Form-Data",
    "Text/HTML",
    "form-data",
    ";",
    "; ",
    "=",
    '"',
    "\\",
    '\\"',
    "\\\\",
    " ",
    "\t",
    "boundary",
    "BOUNDARY",
    "charset",
    "utf-8",
    "name",
    "filename",
    "name*",
    "C:\\",
    "a",
    "é",
    *_ODD_SPACES,
    "\x1d",
    "\xdf",
    "\xc0",
    "ÿ",
    "€",
    "\ud800",
]


@MANY
@given(st.lists(st.sampled_from(_OPTION_PIECES), max_size=12).map("".join))
def test_parse_options_header_matches_python_multipart(value: str) -> None:
    function = starlette.formparsers.parse_options_header  # type: ignore[attr-defined]

    def outcome(call: Callable[[], Any]) -> Any:
        try:
            ctype, options = call()
        except Exception as exc:
            return type(exc), str(exc)
        return type(ctype), ctype, type(options), list(options.items())

    expected = outcome(lambda: function(value))
    assert outcome(lambda: tachyon_engine.formparsers._parse_options(function, value)) == expected
    mode = tachyon_engine.formparsers.PORTED_MULTIPART_VERSIONS[python_multipart.__version__]
    native = tachyon_engine._core.parse_options_header(value, mode)
    if value and all(ord(c) < 256 for c in value):
        assert outcome(lambda: native) == expected
    else:
        assert native is NotImplemented
    others: tuple[Any, ...] = (None, b"", b"text/plain; a=1", "", 1)
    for other in others:
        ours = outcome(functools.partial(tachyon_engine.formparsers._parse_options, function, other))
        assert ours == outcome(functools.partial(function, other))
