"""Mirror of `starlette.formparsers`: urlencoded and multipart bodies parse in Rust.

`FormParser.parse` and `MultiPartParser.parse` feed each received chunk to a Rust parser
(`_core.UrlencodedFormParser`, `_core.MultipartFormParser`) that reproduces python-multipart
0.0.32's state machines and Starlette's callbacks exactly: same fields, files, part headers,
limits, errors (types, messages, chained causes) and the same chunk on which an error is
raised. Python keeps what must stay Python: `SpooledTemporaryFile` is looked up in this module
when a file part starts (patching `tachyon_engine.formparsers.SpooledTemporaryFile` works as
for Starlette), file data goes through `UploadFile.write` (rollover in a worker thread), and
exception messages are formatted from the parser's own attributes.

Starlette's own code (on python-multipart) runs instead when the fast path cannot be exact:
another python-multipart version, a subclass overriding a callback, limits that are not plain
`int`/`float`. Without python-multipart, constructing a parser fails with Starlette's own
`AssertionError`, as it does for Starlette.
"""

from __future__ import annotations

import codecs
import logging
import tempfile
from tempfile import SpooledTemporaryFile
from typing import Any, NoReturn, cast

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

from tachyon_engine import _core
from tachyon_engine.concurrency import run_in_threadpool
from tachyon_engine.datastructures import (
    FormData as FormData,
    Headers as Headers,
    UploadFile as UploadFile,
)
from tachyon_engine.exceptions import (
    StarletteDeprecationWarning as StarletteDeprecationWarning,
)

# The python-multipart release whose parsers the Rust code reproduces.
_PORTED_VERSION = "0.0.32"
# Once a file has rolled over to disk, its data is written in batches of this size (one
# worker-thread call per batch instead of one per received chunk; the received chunks are
# written as they are, never joined). While it is in memory, every piece is written as
# Starlette writes it, so peak memory stays Starlette's (its in-memory spool).
_DISK_WRITE_SIZE = 1024 * 1024
_BIG = 2**60

if multipart is not None:  # pragma: no branch
    from python_multipart import multipart as _multipart_module
    from python_multipart.exceptions import FormParserError, MultipartParseError

    _logger = logging.getLogger(_multipart_module.__name__)


def _fast_path_available() -> bool:
    module = starlette.formparsers.multipart  # type: ignore[attr-defined]
    return module is not None and getattr(module, "__version__", None) == _PORTED_VERSION


def _limit(value: Any) -> float | None:
    """A limit as Rust compares it, or None when it is not a plain `int` / `float`."""
    if type(value) is float:
        return value
    if type(value) is int:
        return float(max(min(value, _BIG), -_BIG))
    return None


def _callbacks(cls: type, names: tuple[str, ...]) -> list[tuple[str, Any]]:
    return [(name, getattr(cls, name)) for name in names]


def _overrides(cls: type, originals: list[tuple[str, Any]]) -> bool:
    """Whether `cls` has another callback than the ones the Rust parser reproduces (checked
    on every parse: classes can be patched at any time)."""
    for name, original in originals:
        if getattr(cls, name) is not original:
            return True
    return False


def _new_form(items: list[tuple[str, Any]], mapping: dict[str, Any]) -> FormData:
    """`FormData(items)`, with the `_list` / `_dict` pair built in Rust."""
    form = FormData.__new__(FormData)
    form._list = items
    form._dict = mapping
    return form


def _as_bytes(chunk: Any) -> bytes:
    return chunk if type(chunk) is bytes else bytes(chunk)


_NEW_FILE, _WRITE, _SEEK = 0, 1, 2


def _standard(upload: UploadFile) -> bool:
    """Whether `upload` is an exact `UploadFile` over an exact `SpooledTemporaryFile`."""
    file: Any = upload.file
    return type(upload) is UploadFile and type(file) is tempfile.SpooledTemporaryFile


def _write_in_memory(operation: tuple[Any, ...], files: list[UploadFile], spools: list[Any]) -> bool:
    """Performs a write operation when it is a write of `bytes` to a standard spooled file
    still in memory that the write does not roll over: what `UploadFile.write` and
    `SpooledTemporaryFile.write` then do, straight to the in-memory buffer. False otherwise."""
    if operation[0] != _WRITE:
        return False
    _, index, data = operation
    spooled = spools[index]
    if (
        spooled is None
        or type(data) is not bytes
        or spooled._rolled
        or (spooled._max_size and spooled._file.tell() + len(data) > spooled._max_size)
    ):
        return False
    upload = files[index]
    upload.size = cast(int, upload.size) + len(data)
    spooled._file.write(data)
    return True


async def _write_pieces(upload: UploadFile, pieces: list[bytes]) -> None:
    """`for piece in pieces: await upload.write(piece)`, in one worker-thread call when
    the upload is a standard spooled file already rolled over to disk (where each
    `UploadFile.write` would be a worker-thread call of its own)."""
    spooled: Any = upload.file if _standard(upload) else None
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
        await upload.write(piece)


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
            return await super().parse()
        parser = _core.UrlencodedFormParser(max_fields, max_part_size)
        async for chunk in self.stream:
            error = parser.feed(_as_bytes(chunk))
            if error is not None:
                self._raise_limit(parser, error)
        error = parser.finish()
        if error is not None:
            self._raise_limit(parser, error)
        self._current_fields = parser.state()[0]
        self._items, mapping = parser.result()
        return _new_form(self._items, mapping)

    def _raise_limit(self, parser: _core.UrlencodedFormParser, error: int) -> NoReturn:
        # The field being parsed when the limit tripped, as Starlette's callbacks leave it.
        self._current_fields, self._current_field_size, name, value = parser.state()
        self._field_name, self._field_value = bytearray(name), bytearray(value)
        if error == 1:
            raise MultiPartException(f"Too many fields. Maximum number of fields is {self.max_fields}.")
        raise MultiPartException(f"Field exceeded maximum size of {int(self.max_part_size / 1024)}KB.")


_FORM_ORIGINALS = _callbacks(FormParser, _FORM_CALLBACKS)

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

    def _native_settings(self) -> tuple[float, float, float, int, int] | None:
        """The limits for the Rust parser, or None when Starlette's own code must run."""
        if not _fast_path_available() or _overrides(type(self), _MULTIPART_ORIGINALS):
            return None
        limits = _limit(self.max_files), _limit(self.max_fields), _limit(self.max_part_size)
        defaults = starlette.formparsers.multipart.MultipartParser.__init__.__kwdefaults__ or {}  # type: ignore[attr-defined]
        header_count, header_size = defaults.get("max_header_count"), defaults.get("max_header_size")
        if None in limits or type(header_count) is not int or type(header_size) is not int:
            return None
        max_files, max_fields, max_part_size = limits
        assert max_files is not None and max_fields is not None and max_part_size is not None
        return max_files, max_fields, max_part_size, max(0, min(header_count, _BIG)), max(0, min(header_size, _BIG))

    async def parse(self) -> FormData:
        settings = self._native_settings()
        if settings is None:
            return await super().parse()
        _, params = parse_options_header(self.headers["Content-Type"])
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
        # directly while in memory, in batches once on disk), else None: a patched class sees
        # every write Starlette would make.
        spools: list[Any] = []
        parser: _core.MultipartFormParser | None = None
        try:
            if len(boundary) > _multipart_module.MAX_BOUNDARY_LENGTH:
                raise FormParserError(
                    f"Boundary length {len(boundary)} exceeds maximum of {_multipart_module.MAX_BOUNDARY_LENGTH}"
                )
            parser = _core.MultipartFormParser(boundary, self._charset, *settings, 0)
            async for chunk in self.stream:
                operations = parser.feed(chunk if type(chunk) is bytes else bytes(chunk))
                if operations is not None and not (
                    len(operations) == 1 and _write_in_memory(operations[0], files, spools)
                ):
                    await self._apply(parser, operations, files, spools)
            await self._apply(parser, parser.finish(), files, spools)
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

    async def _apply(
        self, parser: _core.MultipartFormParser, operations: list[Any], files: list[UploadFile], spools: list[Any]
    ) -> None:
        for operation in operations:
            kind = operation[0]
            if kind == _WRITE:
                _, index, data = operation
                upload, spooled = files[index], spools[index]
                if type(data) is list:
                    await _write_pieces(upload, data)
                elif not _write_in_memory(operation, files, spools):
                    await upload.write(data)
                    if spooled is not None and spooled._rolled:
                        parser.flush_size = _DISK_WRITE_SIZE
            elif kind == _NEW_FILE:
                _, filename, headers = operation
                spooled = SpooledTemporaryFile(max_size=self.spool_max_size)
                self._files_to_close_on_error.append(spooled)
                files.append(
                    UploadFile(
                        file=spooled,  # type: ignore[arg-type]
                        size=0,
                        filename=filename if isinstance(filename, str) else _user_safe_decode(filename, self._charset),
                        headers=Headers(raw=headers),
                    )
                )
                spools.append(spooled if type(spooled) is tempfile.SpooledTemporaryFile else None)
                parser.flush_size = 0
            elif kind == _SEEK:
                await files[operation[1]].seek(0)
            else:
                self._raise(operation[1:])

    def _raise(self, error: tuple[int, str, int, bool]) -> NoReturn:
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


_MULTIPART_ORIGINALS = _callbacks(MultiPartParser, _MULTIPART_CALLBACKS)
