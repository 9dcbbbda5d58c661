//! Version and build profile, so benchmarks can refuse a debug build.

use pyo3::prelude::*;

/// `"release"` or `"debug"`, decided by whether debug assertions were compiled in.
pub const BUILD_PROFILE: &str = if cfg!(debug_assertions) {
    "debug"
} else {
    "release"
};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("BUILD_PROFILE", BUILD_PROFILE)?;
    Ok(())
}
