"""The Python face of `rust/datastructures/`: `Headers` lookups and deletion, query strings, cookie
headers."""

from tachyon_engine._core import (
    headers_contains as headers_contains,
    headers_delete as headers_delete,
    headers_get as headers_get,
    headers_getlist as headers_getlist,
    parse_cookie_headers as parse_cookie_headers,
    parse_cookie_string as parse_cookie_string,
    parse_query_string as parse_query_string,
)
