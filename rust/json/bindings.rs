//! The Python face of the JSON encoder.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::encode::Encoder;

/// `JSONResponse.render(content)`: the UTF-8 bytes, or `NotImplemented` when `json.dumps`
/// must answer (it then gives the same bytes or raises the same exception).
#[pyfunction]
#[pyo3(signature = (content, /))]
fn render_json<'py>(content: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = content.py();
    let mut encoder = Encoder::new();
    Ok(match encoder.value(content)? {
        Ok(()) => PyBytes::new(py, &encoder.out).into_any(),
        Err(_) => py.NotImplemented().into_bound(py),
    })
}

/// `json.dumps(content, separators=(",", ":"), ensure_ascii=False)` as `str` (what
/// `WebSocket.send_json` sends), or `NotImplemented` when `json.dumps` must answer.
#[pyfunction]
#[pyo3(signature = (content, /))]
fn dumps_json<'py>(content: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = content.py();
    let mut encoder = Encoder::new();
    if encoder.value(content)?.is_err() {
        return Ok(py.NotImplemented().into_bound(py));
    }
    // The encoder only writes UTF-8 (copied from `str` values, or ASCII).
    let text = std::str::from_utf8(&encoder.out)
        .map_err(|err| pyo3::exceptions::PyValueError::new_err(err.to_string()))?;
    Ok(PyString::new(py, text).into_any())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(render_json, m)?)?;
    m.add_function(wrap_pyfunction!(dumps_json, m)?)
}
