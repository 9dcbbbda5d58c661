"""Mirror of `starlette.formparsers`: urlencoded and multipart bodies parse in Rust.

`FormParser.parse` and `MultiPartParser.parse` feed each received chunk to a Rust parser
(`rust_forms.UrlencodedFormParser`, `rust_forms.MultipartFormParser`) that reproduces the installed
python-multipart's state machines (0.0.32, 0.0.33 or 0.0.34, see `PORTED_MULTIPART_VERSIONS`)
and Starlette's callbacks exactly: same fields, files, part headers, limits, errors (types,
messages, chained causes), logged warnings and the same chunk on which an error is raised.
Python keeps what must stay Python: `SpooledTemporaryFile`, `UploadFile` and `Headers` are
looked up when a file part starts, in the module whose callbacks the parser has (this one for
these classes, `starlette.formparsers` for Starlette's), so patching
`tachyon_engine.formparsers.SpooledTemporaryFile` (or, under `install()`,
`starlette.formparsers.SpooledTemporaryFile`) works as for Starlette. File data goes through
`UploadFile.write`, or exactly what it does: while a standard spooled file stays in memory,
the Rust parser appends the received chunk (or a `memoryview` slice of it) to its buffer
itself; once rolled over, data is written in a worker thread. Exception messages are
formatted from the parser's own attributes.

The two `parse` functions are also what `install()` puts on Starlette's own classes: they
work on instances of either, and fall back by calling Starlette's saved `parse` (never
`super()`). Starlette's own code runs when the fast path cannot be exact: a python-multipart
version not in `PORTED_MULTIPART_VERSIONS`, a subclass overriding a callback, limits that are
not plain `int`/`float`. Without python-multipart, constructing a parser fails with
Starlette's own `AssertionError`, as it does for Starlette.
"""

from __future__ import annotations

import codecs
import io
import logging
import tempfile
from tempfile import SpooledTemporaryFile
from typing import Any, Final, NoReturn, cast

import starlette.formparsers

# Includes optional-dependency names (None when not installed), bound as Starlette binds them.
from starlette.formparsers import (  # type: ignore[attr-defined]
    FormMessage as FormMessage,
    FormParser as _StarletteFormParser,
    MultiPartException as MultiPartException,
    MultipartPart as MultipartPart,
    _user_safe_decode as _user_safe_decode,
    multipart as multipart,
    parse_options_header as parse_options_header,
)

from tachyon_engine.concurrency import run_in_threadpool
from tachyon_engine.datastructures import (
    FormData as FormData,
    Headers as Headers,
    UploadFile as UploadFile,
)
from tachyon_engine.engine.bindings import forms as rust_forms
from tachyon_engine.engine.targets import stock
from tachyon_engine.exceptions import (
    StarletteDeprecationWarning as StarletteDeprecationWarning,
)

# The python-multipart releases whose parsers the Rust code reproduces, each with the mode the
# Rust parsers take to reproduce it (`rust/forms/release.rs`). What Starlette can observe:
# 0.0.33 lowercases the content type of `parse_options_header` in front of options too;
# 0.0.34 strips only spaces and tabs there (not every `str.isspace()` character), and ends a
# multipart part at a delimiter followed by spaces or tabs (`BOUNDARY_PADDING`). Their
# `QuerystringParser`s make the same callbacks, so the urlencoded parser takes no mode.
PORTED_MULTIPART_VERSIONS: Final[dict[str, int]] = {"0.0.32": 0, "0.0.33": 1, "0.0.34": 2}
# Once a file has rolled over to disk, its data is written in batches of this size (one
# worker-thread call per batch instead of one per received chunk; the received chunks are
# written as they are, never joined). While it is in memory, every piece is appended to the
# spool buffer as Starlette appends it, so peak memory stays Starlette's (its in-memory spool).
_DISK_WRITE_SIZE = 1024 * 1024
_BIG = 2**60

if multipart is not None:  # pragma: no branch
    from python_multipart import multipart as _multipart_module
    from python_multipart.exceptions import FormParserError, MultipartParseError

    _logger = logging.getLogger(_multipart_module.__name__)


def _ported_mode() -> int | None:
    """The Rust parsers' mode for the python-multipart Starlette's parsers use now, or None
    when it is not a ported release (Starlette's own code then runs)."""
    module = starlette.formparsers.multipart  # type: ignore[attr-defined]
    if module is None:
        return None
    version = getattr(module, "__version__", None)
    return PORTED_MULTIPART_VERSIONS.get(version) if type(version) is str else None


def _fast_path_available() -> bool:
    return _ported_mode() is not None


def _limit(value: Any) -> float | None:
    """A limit as Rust compares it, or None when it is not a plain `int` / `float`."""
    if type(value) is int:
        # Clamped to +-2**60 (exact as a float, and beyond any count Rust can reach).
        return float(value) if -_BIG <= value <= _BIG else float(_BIG if value > 0 else -_BIG)
    if type(value) is float:
        return value
    return None


def _count(value: int) -> int:
    """A non-negative `int` limit for Rust: `value` clamped to 0..2**60."""
    return value if 0 <= value <= _BIG else (_BIG if value > 0 else 0)


def _overrides(cls: type, originals: dict[str, tuple[Any, ...]]) -> bool:
    """Whether `cls` has another callback than the ones the Rust parser reproduces (checked
    on every parse: classes can be patched at any time)."""
    for name, accepted in originals.items():
        if getattr(cls, name) not in accepted:
            return True
    return False


def _new_form(items: list[tuple[str, Any]], mapping: dict[str, Any]) -> FormData:
    """`FormData(items)` as Starlette's parsers build it (with the `FormData` of
    `starlette.formparsers`), the `_list` / `_dict` pair built in Rust."""
    form_data: type[FormData] = starlette.formparsers.FormData  # type: ignore[attr-defined]
    if form_data is not _FORM_DATA:
        return form_data(items)
    form = FormData.__new__(FormData)
    form._list = items
    form._dict = mapping
    return form


def _as_bytes(chunk: Any) -> bytes:
    return chunk if type(chunk) is bytes else bytes(chunk)


_version = getattr(multipart, "__version__", None)
# The mode of the installed python-multipart, and its `parse_options_header`, when it is a
# release the Rust port reproduces.
_OPTIONS_MODE = PORTED_MULTIPART_VERSIONS.get(_version) if type(_version) is str else None
_PORTED_OPTIONS = parse_options_header if _OPTIONS_MODE is not None else None
del _version


def _parse_options(function: Any, value: Any) -> tuple[bytes, dict[bytes, bytes]]:
    """`function(value)`, in Rust when `function` is the installed python-multipart's
    `parse_options_header`, of a ported release, and `value` a `str` of latin-1 characters
    (what Starlette's headers hold)."""
    if function is _PORTED_OPTIONS and function is not None and _OPTIONS_MODE is not None:
        parsed = rust_forms.parse_options_header(value, _OPTIONS_MODE)
        if parsed is not NotImplemented:
            return parsed
    return function(value)  # type: ignore[no-any-return]


_NEW_FILE, _WRITE, _SEEK = 0, 1, 2
_FORM_DATA = FormData
# What the direct writes reproduce: `UploadFile.write` and `SpooledTemporaryFile.write` as
# they are now (a class patched since makes every write go through it).
_UPLOAD_WRITE = UploadFile.write
_SPOOLED_WRITE = tempfile.SpooledTemporaryFile.write


def _standard(upload: Any, spooled: Any) -> bool:
    """Whether `upload` is an exact `UploadFile` over `spooled`, an exact binary
    `SpooledTemporaryFile`, with the stock `write` methods."""
    return (
        type(upload) is UploadFile
        and type(spooled) is tempfile.SpooledTemporaryFile
        and upload.file is spooled
        and type(spooled._file) is io.BytesIO
        and UploadFile.write is _UPLOAD_WRITE
        and tempfile.SpooledTemporaryFile.write is _SPOOLED_WRITE
    )


def _write_in_memory(operation: tuple[Any, ...], files: list[UploadFile], spools: list[Any]) -> bool:
    """Performs a write operation when it is a write of `bytes` (or of a `memoryview` of them)
    to a standard spooled file still in memory that the write does not roll over: what
    `UploadFile.write` and `SpooledTemporaryFile.write` then do, straight to the in-memory
    buffer. False otherwise."""
    _, index, data = operation
    spooled = spools[index]
    if (
        spooled is None
        or type(data) is list
        or spooled._rolled
        or (spooled._max_size and spooled._file.tell() + len(data) > spooled._max_size)
    ):
        return False
    upload = files[index]
    upload.size = cast(int, upload.size) + len(data)
    spooled._file.write(data)
    return True


async def _write_pieces(upload: UploadFile, spooled: Any, pieces: list[Any]) -> None:
    """`for piece in pieces: await upload.write(bytes(piece))`, in one worker-thread call
    when the upload is a standard spooled file (`spooled` not None) already rolled over to
    disk (where each `UploadFile.write` would be a worker-thread call of its own; the file
    takes `memoryview` slices as they are)."""
    if spooled is not None and spooled._rolled:
        if upload.size is not None:
            upload.size += sum(map(len, pieces))
        try:
            await run_in_threadpool(spooled.writelines, pieces)
        finally:
            # The worker thread keeps its last arguments until its next job: an emptied
            # list does not keep the batch's chunks alive.
            pieces.clear()
        return
    for piece in pieces:
        await upload.write(_as_bytes(piece))


# The functions below are the parsers' `parse`, shared by tachyon_engine's subclasses and by
# `install()`, which puts them on Starlette's own classes: `self` may be an instance of either,
# so they call Starlette's saved `parse` to fall back (never `super()`) and use no method that
# only tachyon_engine's classes have.
_stock_form_parse = stock("starlette.formparsers:FormParser.parse")
_stock_multipart_parse = stock("starlette.formparsers:MultiPartParser.parse")

_FORM_CALLBACKS = ("on_field_start", "on_field_name", "on_field_data", "on_field_end")


class FormParser(_StarletteFormParser):
    """Starlette's `FormParser`; `parse` runs in Rust."""

    async def parse(self) -> FormData:
        max_fields, max_part_size = _limit(self.max_fields), _limit(self.max_part_size)
        if (
            max_fields is None
            or max_part_size is None
            or not _fast_path_available()
            or _overrides(type(self), _FORM_ORIGINALS)
        ):
            return await _stock_form_parse(self)  # type: ignore[no-any-return]
        parser = rust_forms.UrlencodedFormParser(max_fields, max_part_size)
        async for chunk in self.stream:
            error = parser.feed(_as_bytes(chunk))
            if error is not None:
                _raise_limit(self, parser, error)
        error = parser.finish()
        if error is not None:
            _raise_limit(self, parser, error)
        self._current_fields = parser.state()[0]
        self._items, mapping = parser.result()
        return _new_form(self._items, mapping)


def _raise_limit(self: _StarletteFormParser, parser: rust_forms.UrlencodedFormParser, error: int) -> NoReturn:
    # The field being parsed when the limit tripped, as Starlette's callbacks leave it.
    self._current_fields, self._current_field_size, name, value = parser.state()
    self._field_name, self._field_value = bytearray(name), bytearray(value)
    if error == 1:
        raise MultiPartException(f"Too many fields. Maximum number of fields is {self.max_fields}.")
    raise MultiPartException(f"Field exceeded maximum size of {int(self.max_part_size / 1024)}KB.")


_FORM_ORIGINALS = {name: (getattr(_StarletteFormParser, name),) for name in _FORM_CALLBACKS}

_MULTIPART_CALLBACKS = (
    "on_part_begin",
    "on_part_data",
    "on_part_end",
    "on_header_field",
    "on_header_value",
    "on_header_end",
    "on_headers_finished",
    "on_end",
)


class MultiPartParser(starlette.formparsers.MultiPartParser):
    """Starlette's `MultiPartParser`; `parse` runs in Rust. The callbacks below serve the
    fallback (Starlette's own `parse`)."""

    def on_headers_finished(self) -> None:
        part = self._current_part
        _, options = parse_options_header(part.content_disposition)
        try:
            part.field_name = _user_safe_decode(options[b"name"], self._charset)
        except KeyError:
            # Chained like Starlette's (no `from None`): the KeyError stays the context.
            raise MultiPartException('The Content-Disposition header field "name" must be provided.')  # noqa: B904
        if b"filename" not in options:
            self._current_fields += 1
            if self._current_fields > self.max_fields:
                raise MultiPartException(f"Too many fields. Maximum number of fields is {self.max_fields}.")
            part.file = None
            return
        self._current_files += 1
        if self._current_files > self.max_files:
            raise MultiPartException(f"Too many files. Maximum number of files is {self.max_files}.")
        filename = _user_safe_decode(options[b"filename"], self._charset)
        spooled = SpooledTemporaryFile(max_size=self.spool_max_size)
        self._files_to_close_on_error.append(spooled)
        part.file = UploadFile(
            file=spooled,  # type: ignore[arg-type]
            size=0,
            filename=filename,
            headers=Headers(raw=part.item_headers),
        )

    async def parse(self) -> FormData:
        settings = _native_settings(self)
        if settings is None:
            return await _stock_multipart_parse(self)  # type: ignore[no-any-return]
        # The module whose `SpooledTemporaryFile`, `UploadFile` and `Headers` Starlette's
        # callbacks would use: `starlette.formparsers`, or this one for this class's callback.
        namespace = type(self).on_headers_finished.__globals__
        _, params = _parse_options(namespace["parse_options_header"], self.headers["Content-Type"])
        charset = params.get(b"charset", "utf-8")
        if isinstance(charset, bytes):
            charset = charset.decode("latin-1")
        try:
            self._charset = codecs.lookup(charset).name
        except LookupError:
            self._charset = "latin-1"
        try:
            boundary = params[b"boundary"]
        except KeyError:
            raise MultiPartException("Missing boundary in multipart.")  # noqa: B904

        files: list[UploadFile] = []
        # Per file, the spooled file when it is a standard `SpooledTemporaryFile` (written to
        # directly while in memory, by Rust once the file exists; in batches once on disk),
        # else None: a patched class sees every write Starlette would make.
        spools: list[Any] = []
        parser: rust_forms.MultipartFormParser | None = None
        try:
            if len(boundary) > _multipart_module.MAX_BOUNDARY_LENGTH:
                raise FormParserError(
                    f"Boundary length {len(boundary)} exceeds maximum of {_multipart_module.MAX_BOUNDARY_LENGTH}"
                )
            mode, max_files, max_fields, max_part_size, header_count, header_size = settings
            parser = rust_forms.MultipartFormParser(
                boundary, self._charset, max_files, max_fields, max_part_size, header_count, header_size, 0, mode
            )
            async for chunk in self.stream:
                operations = parser.feed(chunk if type(chunk) is bytes else bytes(chunk))
                if operations is not None:
                    await _apply(self, namespace, parser, operations, files, spools)
            operations = parser.finish()
            if operations is not None:
                await _apply(self, namespace, parser, operations, files, spools)
            self._current_files, self._current_fields = parser.counts()
        except BaseException as exc:
            if parser is not None:
                self._current_files, self._current_fields = parser.counts()
            # Close all the files if parsing or reading the request stream fails.
            for file in self._files_to_close_on_error:
                file.close()
            if isinstance(exc, FormParserError):
                raise MultiPartException("Invalid multipart data.") from exc
            raise
        charset = self._charset
        self.items, mapping = parser.result(files, lambda raw: _user_safe_decode(raw, charset))
        return _new_form(self.items, mapping)


_MultiPart = starlette.formparsers.MultiPartParser

# Starlette's callbacks, and this module's `on_headers_finished` (Starlette's, with this
# module's names): the callbacks the Rust parser reproduces.
_MULTIPART_ORIGINALS = {
    name: tuple({getattr(_MultiPart, name), getattr(MultiPartParser, name)}) for name in _MULTIPART_CALLBACKS
}


def _native_settings(self: _MultiPart) -> tuple[int, float, float, float, int, int] | None:
    """The mode and the limits for the Rust parser, or None when Starlette's own code must run."""
    mode = _ported_mode()
    if mode is None or _overrides(type(self), _MULTIPART_ORIGINALS):
        return None
    limits = _limit(self.max_files), _limit(self.max_fields), _limit(self.max_part_size)
    defaults = starlette.formparsers.multipart.MultipartParser.__init__.__kwdefaults__ or {}  # type: ignore[attr-defined]
    header_count, header_size = defaults.get("max_header_count"), defaults.get("max_header_size")
    if None in limits or type(header_count) is not int or type(header_size) is not int:
        return None
    max_files, max_fields, max_part_size = limits
    assert max_files is not None and max_fields is not None and max_part_size is not None
    return mode, max_files, max_fields, max_part_size, _count(header_count), _count(header_size)


async def _apply(
    self: _MultiPart,
    namespace: dict[str, Any],
    parser: rust_forms.MultipartFormParser,
    operations: list[Any],
    files: list[UploadFile],
    spools: list[Any],
) -> None:
    for operation in operations:
        kind = operation[0]
        if kind == _WRITE:
            _, index, data = operation
            upload, spooled = files[index], spools[index]
            if type(data) is list:
                await _write_pieces(upload, spooled, data)
            elif not _write_in_memory(operation, files, spools):
                await upload.write(_as_bytes(data))
                if spooled is not None and spooled._rolled:
                    parser.flush_size = _DISK_WRITE_SIZE
        elif kind == _NEW_FILE:
            _, filename, headers = operation
            spooled = namespace["SpooledTemporaryFile"](max_size=self.spool_max_size)
            self._files_to_close_on_error.append(spooled)
            upload = namespace["UploadFile"](
                file=spooled,
                size=0,
                filename=filename if isinstance(filename, str) else _user_safe_decode(filename, self._charset),
                headers=namespace["Headers"](raw=headers),
            )
            files.append(upload)
            if _standard(upload, spooled):
                spools.append(spooled)
                parser.memory_file(len(files) - 1, upload, spooled)
            else:
                spools.append(None)
            parser.flush_size = 0
        elif kind == _SEEK:
            await files[operation[1]].seek(0)
        else:
            _raise(self, operation[1:])


def _raise(self: _MultiPart, error: tuple[int, str, int, bool]) -> NoReturn:
    code, message, offset, logged = error
    if code == 0:
        if logged:
            _logger.warning(message)
        raise MultipartParseError(message, offset=offset)
    if code == 1:
        try:
            raise KeyError(b"name")
        except KeyError:
            # Starlette raises it while handling the KeyError of `options[b"name"]`.
            raise MultiPartException('The Content-Disposition header field "name" must be provided.')  # noqa: B904
    if code == 2:
        raise MultiPartException(f"Too many files. Maximum number of files is {self.max_files}.")
    if code == 3:
        raise MultiPartException(f"Too many fields. Maximum number of fields is {self.max_fields}.")
    raise MultiPartException(f"Part exceeded maximum size of {int(self.max_part_size / 1024)}KB.")
