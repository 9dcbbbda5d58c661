//! Request-side data structures: query strings, cookies, header lookups.

pub mod bindings;
pub mod cookies;
pub mod headers;
pub mod query_string;
