//! The Python face of the JSON encoder.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::decode::{Decoder, Stop};
use super::encode::Encoder;

/// `JSONResponse.render(content)`: the UTF-8 bytes, or `NotImplemented` when `json.dumps`
/// must answer (it then gives the same bytes or raises the same exception).
#[pyfunction]
#[pyo3(signature = (content, /))]
pub fn render_json<'py>(content: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = content.py();
    let mut encoder = Encoder::new();
    Ok(match encoder.value(content)? {
        Ok(()) => {
            crate::stats::JSON_RENDERS.hit();
            PyBytes::new(py, &encoder.out).into_any()
        }
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

/// `json.loads(data)` for `bytes` or `str`, or `NotImplemented` when `json.loads` must
/// answer (it then builds the same value or raises its own error).
#[pyfunction]
#[pyo3(signature = (data, /))]
fn loads_json<'py>(data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = data.py();
    let text = if let Ok(bytes) = data.cast_exact::<PyBytes>() {
        // `json.loads` picks an encoding from a BOM or NUL bytes: only plain UTF-8 is ours
        // (`surrogatepass` decoding of encoded surrogates is left to it as well).
        let raw = bytes.as_bytes();
        if raw.starts_with(b"\xef\xbb\xbf") || raw.iter().take(4).any(|&b| b == 0) {
            return Ok(py.NotImplemented().into_bound(py));
        }
        std::str::from_utf8(raw).ok()
    } else if let Ok(text) = data.cast_exact::<PyString>() {
        text.to_str().ok()
    } else {
        None
    };
    let Some(text) = text else {
        return Ok(py.NotImplemented().into_bound(py));
    };
    match Decoder::new(py, text).document() {
        Ok(value) => {
            crate::stats::JSON_PARSES.hit();
            Ok(value)
        }
        Err(Stop::Fallback) => Ok(py.NotImplemented().into_bound(py)),
        Err(Stop::Error(err)) => Err(err),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(render_json, m)?)?;
    m.add_function(wrap_pyfunction!(loads_json, m)?)?;
    m.add_function(wrap_pyfunction!(dumps_json, m)?)
}
