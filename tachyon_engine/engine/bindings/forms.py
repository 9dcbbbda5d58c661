"""The Python face of `rust/forms/`: the urlencoded and multipart form parsers, python-multipart's
`parse_options_header`."""

from tachyon_engine._core import (
    MultipartFormParser as MultipartFormParser,
    UrlencodedFormParser as UrlencodedFormParser,
    parse_options_header as parse_options_header,
)
