//! The FastAPI integration's Rust side (Python: `tachyon_engine.fastapi`): FastAPI's
//! `jsonable_encoder` for plain data, and its telemetry gate.

pub mod jsonable;
pub mod telemetry;

use pyo3::prelude::*;

use jsonable::Options;

/// FastAPI's `jsonable_encoder(value, exclude_none=..., sqlalchemy_safe=...)` (the other
/// arguments at their defaults) for plain data, or `NotImplemented` when FastAPI's function
/// must answer.
#[pyfunction]
#[pyo3(signature = (value, /, exclude_none, sqlalchemy_safe))]
fn jsonable_plain<'py>(
    value: &Bound<'py, PyAny>,
    exclude_none: bool,
    sqlalchemy_safe: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let py = value.py();
    let options = Options {
        exclude_none,
        sqlalchemy_safe,
    };
    Ok(match jsonable::encode(value, &options, 0)? {
        Ok(encoded) => {
            crate::stats::JSONABLE_ENCODES.hit();
            encoded
        }
        Err(_) => py.NotImplemented().into_bound(py),
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(jsonable_plain, m)?)?;
    telemetry::register(m)
}
