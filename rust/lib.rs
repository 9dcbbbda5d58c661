//! `tachyon_engine._core`: the Rust hot paths behind the `tachyon_engine` package.
//!
//! This file only wires the concerns together; each concern keeps its pure logic apart
//! from its thin PyO3 binding layer.

pub mod build_info;
pub mod datastructures;
pub mod fast_path;
pub mod fastapi;
pub mod forms;
pub mod json;
pub mod requests;
pub mod responses;
pub mod routing;
pub mod server;
pub mod stats;
pub mod text;

#[cfg(test)]
pub(crate) mod test_support;

use pyo3::prelude::*;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    build_info::register(m)?;
    datastructures::bindings::register(m)?;
    fastapi::register(m)?;
    forms::bindings::register(m)?;
    json::bindings::register(m)?;
    requests::register(m)?;
    responses::bindings::register(m)?;
    routing::bindings::register(m)?;
    server::asgi::register(m)?;
    stats::register(m)?;
    Ok(())
}
