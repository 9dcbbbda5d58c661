//! Response-side helpers: the headers Starlette's `Response.init_headers` builds.

pub mod bindings;
pub mod cookies;
pub mod headers;
