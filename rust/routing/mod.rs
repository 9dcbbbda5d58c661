//! Route matching: a path index that narrows the candidate routes, and Rust ports of
//! `Route.matches` / `WebSocketRoute.matches` for routes built from the built-in convertors.

pub mod bindings;
pub mod index;
pub mod pattern;
