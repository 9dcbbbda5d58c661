"""The Python face of `rust/requests.rs`: `Request(...)` built without its Python constructors, a
connection's `headers` and `query_params`."""

from tachyon_engine._core import (
    configure_requests as configure_requests,
    connection_headers as connection_headers,
    connection_query_params as connection_query_params,
    new_headers as new_headers,
    new_query_params as new_query_params,
    new_request as new_request,
    register_plain_class as register_plain_class,
)
