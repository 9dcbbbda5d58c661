//! The Python face of the response helpers: `init_headers` returns Starlette's `raw_headers`
//! list, or `NotImplemented` when an input is outside the exact fast path (a mapping other
//! than a `dict`, a non-`str` key or value, a non-ASCII name, text Latin-1 cannot encode, a
//! status that is not an `int`), and the caller then runs Starlette's own method.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};

use super::headers::{content_type, latin1_bytes, status_takes_content_length};

struct Fallback;

type Fast<T> = Result<T, Fallback>;

static CONTENT_LENGTH: PyOnceLock<Py<PyBytes>> = PyOnceLock::new();
static CONTENT_TYPE: PyOnceLock<Py<PyBytes>> = PyOnceLock::new();

fn constant<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyBytes>>,
    value: &[u8],
) -> Bound<'py, PyBytes> {
    cell.get_or_init(py, || PyBytes::new(py, value).unbind())
        .bind(py)
        .clone()
}

fn exact_str<'a>(value: &'a Bound<'_, PyAny>) -> Fast<&'a str> {
    let text = value.cast_exact::<PyString>().map_err(|_| Fallback)?;
    // `to_str` fails on lone surrogates, which Latin-1 cannot encode either.
    text.to_str().map_err(|_| Fallback)
}

/// The value of an exact `int` that fits 64 bits (`IntEnum` members and others take Python's path).
fn exact_int(value: &Bound<'_, PyAny>) -> Option<i64> {
    value.cast_exact::<PyInt>().ok()?.extract().ok()
}

fn latin1<'py>(py: Python<'py>, text: &str) -> Fast<Bound<'py, PyBytes>> {
    latin1_bytes(text)
        .map(|bytes| PyBytes::new(py, &bytes))
        .ok_or(Fallback)
}

/// The user's headers as `(name, value)` pairs: names lowercased, both Latin-1 encoded.
fn user_headers<'py>(
    py: Python<'py>,
    headers: &Bound<'py, PyAny>,
    out: &Bound<'py, PyList>,
) -> PyResult<Fast<(bool, bool)>> {
    let Ok(dict) = headers.cast_exact::<PyDict>() else {
        return Ok(Err(Fallback));
    };
    let (mut has_length, mut has_type) = (false, false);
    for (key, value) in dict.iter() {
        let (Ok(key), Ok(value)) = (exact_str(&key), exact_str(&value)) else {
            return Ok(Err(Fallback));
        };
        if !key.is_ascii() {
            return Ok(Err(Fallback));
        }
        let name = key.to_ascii_lowercase();
        has_length |= name == "content-length";
        has_type |= name == "content-type";
        let Ok(value) = latin1(py, value) else {
            return Ok(Err(Fallback));
        };
        out.append(PyTuple::new(
            py,
            [PyBytes::new(py, name.as_bytes()), value],
        )?)?;
    }
    Ok(Ok((has_length, has_type)))
}

/// Starlette's `Response.init_headers(headers)` for a response whose `body` (or `None` when it
/// has none), `status_code`, `media_type` and `charset` are given.
#[pyfunction]
#[pyo3(signature = (headers, body, status_code, media_type, charset, /))]
pub fn init_headers<'py>(
    py: Python<'py>,
    headers: &Bound<'py, PyAny>,
    body: &Bound<'py, PyAny>,
    status_code: &Bound<'py, PyAny>,
    media_type: &Bound<'py, PyAny>,
    charset: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let not_implemented = || Ok(py.NotImplemented().into_bound(py));
    let raw = PyList::empty(py);
    let (has_length, has_type) = if headers.is_none() {
        (false, false)
    } else {
        match user_headers(py, headers, &raw)? {
            Ok(found) => found,
            Err(Fallback) => return not_implemented(),
        }
    };
    if !body.is_none() && !has_length {
        let Some(status) = exact_int(status_code) else {
            return not_implemented();
        };
        if status_takes_content_length(status) {
            let length = body.len()?.to_string();
            raw.append((
                constant(py, &CONTENT_LENGTH, b"content-length"),
                PyBytes::new(py, length.as_bytes()),
            ))?;
        }
    }
    if !media_type.is_none() && !has_type {
        let (Ok(media_type), Ok(charset)) = (exact_str(media_type), exact_str(charset)) else {
            return not_implemented();
        };
        let Ok(value) = latin1(py, &content_type(media_type, charset)) else {
            return not_implemented();
        };
        raw.append((constant(py, &CONTENT_TYPE, b"content-type"), value))?;
    }
    Ok(raw.into_any())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(init_headers, m)?)
}
