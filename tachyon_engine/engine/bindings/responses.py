"""The Python face of `rust/responses/`: the `Response` constructor, `init_headers`, `set_cookie`."""

from tachyon_engine._core import (
    configure_responses as configure_responses,
    init_headers as init_headers,
    init_response as init_response,
    set_cookie_header as set_cookie_header,
)
