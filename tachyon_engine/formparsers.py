"""Mirror of `starlette.formparsers`.

`SpooledTemporaryFile` is looked up in this module when a file part starts, so patching
`tachyon_engine.formparsers.SpooledTemporaryFile` works as it does for Starlette.
"""

from __future__ import annotations

from tempfile import SpooledTemporaryFile

import starlette.formparsers

# Includes optional-dependency names (None when not installed), bound as Starlette binds them.
from starlette.formparsers import (  # type: ignore[attr-defined]
    FormMessage as FormMessage,
    FormParser as FormParser,
    MultiPartException as MultiPartException,
    MultipartPart as MultipartPart,
    _user_safe_decode as _user_safe_decode,
    multipart as multipart,
    parse_options_header as parse_options_header,
)

from tachyon_engine.datastructures import (
    FormData as FormData,
    Headers as Headers,
    UploadFile as UploadFile,
)
from tachyon_engine.exceptions import (
    StarletteDeprecationWarning as StarletteDeprecationWarning,
)


class MultiPartParser(starlette.formparsers.MultiPartParser):
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
