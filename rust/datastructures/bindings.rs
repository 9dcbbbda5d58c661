//! The Python face of the data-structure parsers.
//!
//! Every function returns `NotImplemented` when its input is outside the fast path (a type
//! it does not know exactly, text it cannot represent), and the Python caller then runs
//! Starlette's own code: a fast path may be skipped, never give a different answer.

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use pyo3::BoundObject;

use super::cookies::parse_cookie;
use super::headers::lookup_key;
use super::query_string::parse_qsl;
use crate::fast_path::{exact_str, latin1_str, new_str, Fallback, Fast};
use crate::text::latin1_to_string;

/// Converts a fast-path answer into a Python value, `NotImplemented` for a fallback.
fn answer<'py, T>(py: Python<'py>, result: PyResult<Fast<T>>) -> PyResult<Bound<'py, PyAny>>
where
    T: IntoPyObject<'py>,
    PyErr: From<T::Error>,
{
    match result? {
        Ok(value) => Ok(value.into_pyobject(py)?.into_any().into_bound()),
        Err(Fallback) => Ok(py.NotImplemented().into_bound(py)),
    }
}

/// `bytes.decode("latin-1")` as Rust text, borrowed when the bytes are ASCII.
fn latin1(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.is_ascii() => Cow::Borrowed(text),
        _ => Cow::Owned(latin1_to_string(bytes)),
    }
}

/// Calls `on_match` with the raw value of every header whose name equals `name`, in order.
/// Takes only a `list` of 2-tuples whose names are exact `bytes`.
fn scan_headers<'py>(
    raw: &Bound<'py, PyAny>,
    name: &[u8],
    mut on_match: impl FnMut(&Bound<'py, PyAny>) -> Fast<bool>,
) -> Fast<()> {
    let list = raw.cast_exact::<PyList>().map_err(|_| Fallback)?;
    for item in list.iter() {
        let (pair, key) = header_item(&item)?;
        if key.as_bytes() == name {
            let value = pair.get_item(1).map_err(|_| Fallback)?;
            if !on_match(&value)? {
                break;
            }
        }
    }
    Ok(())
}

/// One item of a raw header list, a 2-tuple whose name is exact `bytes`: the pair and its name.
fn header_item<'py>(item: &Bound<'py, PyAny>) -> Fast<(Bound<'py, PyTuple>, Bound<'py, PyBytes>)> {
    let pair = item.cast_exact::<PyTuple>().map_err(|_| Fallback)?;
    if pair.len() != 2 {
        return Err(Fallback);
    }
    let key = pair.get_item(0).map_err(|_| Fallback)?;
    let key = key.cast_into_exact::<PyBytes>().map_err(|_| Fallback)?;
    Ok((pair.clone(), key))
}

fn decode_header_value<'py>(value: &Bound<'py, PyAny>) -> Fast<Bound<'py, PyString>> {
    let bytes = value.cast_exact::<PyBytes>().map_err(|_| Fallback)?;
    latin1_str(value.py(), bytes.as_bytes()).map_err(|_| Fallback)
}

fn header_name(key: &Bound<'_, PyAny>) -> Fast<Vec<u8>> {
    lookup_key(exact_str(key)?).ok_or(Fallback)
}

/// The decoded values of header `key`, in order; only the first one when `first_only`.
fn header_values<'py>(
    raw: &Bound<'py, PyAny>,
    key: &Bound<'py, PyAny>,
    first_only: bool,
) -> Fast<Vec<Bound<'py, PyString>>> {
    let name = header_name(key)?;
    let mut values = Vec::new();
    scan_headers(raw, &name, |value| {
        values.push(decode_header_value(value)?);
        Ok(!first_only)
    })?;
    Ok(values)
}

/// Where the headers named `name` are in `raw`, a list of 2-tuples of exact `bytes` names.
fn header_positions(raw: &Bound<'_, PyList>, name: &[u8]) -> Fast<Vec<usize>> {
    let mut positions = Vec::new();
    for (position, item) in raw.iter().enumerate() {
        let (_, key) = header_item(&item)?;
        if key.as_bytes() == name {
            positions.push(position);
        }
    }
    Ok(positions)
}

/// `MutableHeaders.__delitem__`: removes every header named `key` from the list `raw` (all
/// items checked before any is removed), `None`; `NotImplemented` outside the fast path.
#[pyfunction]
#[pyo3(signature = (raw, key, /))]
fn headers_delete<'py>(
    raw: &Bound<'py, PyAny>,
    key: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = raw.py();
    let Ok(list) = raw.cast_exact::<PyList>() else {
        return Ok(py.NotImplemented().into_bound(py));
    };
    let Ok(positions) = header_name(key).and_then(|name| header_positions(list, &name)) else {
        return Ok(py.NotImplemented().into_bound(py));
    };
    for &position in positions.iter().rev() {
        list.del_item(position)?;
    }
    Ok(py.None().into_bound(py))
}

/// `Headers.__getitem__` / `get`: the first value of `key`, or `None` when absent.
#[pyfunction]
#[pyo3(signature = (raw, key, /))]
fn headers_get<'py>(
    raw: &Bound<'py, PyAny>,
    key: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let first = header_values(raw, key, true).map(|values| values.into_iter().next());
    answer(raw.py(), Ok(first))
}

/// `Headers.getlist`: every value of `key`, in order.
#[pyfunction]
#[pyo3(signature = (raw, key, /))]
fn headers_getlist<'py>(
    raw: &Bound<'py, PyAny>,
    key: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    answer(raw.py(), Ok(header_values(raw, key, false)))
}

/// `Headers.__contains__`: like Starlette, stops at the first matching name.
#[pyfunction]
#[pyo3(signature = (raw, key, /))]
fn headers_contains<'py>(
    raw: &Bound<'py, PyAny>,
    key: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let found = header_name(key).and_then(|name| {
        let mut found = false;
        scan_headers(raw, &name, |_| {
            found = true;
            Ok(false)
        })?;
        Ok(found)
    });
    answer(raw.py(), Ok(found))
}

/// Inserts parsed cookies into `into` one by one, so dict order and overwrites are Python's.
fn insert_cookies(into: &Bound<'_, PyDict>, cookie: &str) -> PyResult<()> {
    for (name, value) in parse_cookie(cookie) {
        into.set_item(name, value)?;
    }
    Ok(())
}

/// `cookie_parser(cookie_string)`.
#[pyfunction]
#[pyo3(signature = (cookie, /))]
fn parse_cookie_string<'py>(cookie: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = cookie.py();
    let parsed = exact_str(cookie).map(|text| -> PyResult<Bound<'py, PyDict>> {
        let cookies = PyDict::new(py);
        insert_cookies(&cookies, text)?;
        Ok(cookies)
    });
    answer(py, parsed.map_or(Ok(Err(Fallback)), |built| built.map(Ok)))
}

/// `HTTPConnection.cookies` from the raw header list: every `cookie` header, parsed in order.
#[pyfunction]
#[pyo3(signature = (raw, /))]
fn parse_cookie_headers<'py>(raw: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = raw.py();
    let cookies = PyDict::new(py);
    let mut error = None;
    let scanned = scan_headers(raw, b"cookie", |value| {
        let bytes = value.cast_exact::<PyBytes>().map_err(|_| Fallback)?;
        if let Err(err) = insert_cookies(&cookies, &latin1(bytes.as_bytes())) {
            error = Some(err);
            return Ok(false);
        }
        Ok(true)
    });
    if let Some(err) = error {
        return Err(err);
    }
    answer(py, Ok(scanned.map(|()| cookies)))
}

/// `QueryParams(str_or_bytes)`: returns `(items, dict)` as Starlette stores them.
#[pyfunction]
#[pyo3(signature = (query, /))]
fn parse_query_string<'py>(query: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = query.py();
    match parsed_query(query)? {
        Some((items, mapping)) => {
            Ok(PyTuple::new(py, [items.into_any(), mapping.into_any()])?.into_any())
        }
        None => answer::<()>(py, Ok(Err(Fallback))),
    }
}

/// The `(items, dict)` of an exact `str` or `bytes` query string; `None` for anything else.
pub fn parsed_query<'py>(
    query: &Bound<'py, PyAny>,
) -> PyResult<Option<(Bound<'py, PyList>, Bound<'py, PyDict>)>> {
    let py = query.py();
    let text = match query.cast_exact::<PyBytes>() {
        Ok(bytes) => Ok(latin1(bytes.as_bytes())),
        Err(_) => exact_str(query).map(Cow::Borrowed),
    };
    let Ok(text) = text else {
        return Ok(None);
    };
    let items = PyList::empty(py);
    let mapping = PyDict::new(py);
    for (name, value) in parse_qsl(&text) {
        let (name, value) = (new_str(py, &name)?, new_str(py, &value)?);
        mapping.set_item(&name, &value)?;
        items.append(PyTuple::new(py, [name, value])?)?;
    }
    Ok(Some((items, mapping)))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(headers_get, m)?)?;
    m.add_function(wrap_pyfunction!(headers_getlist, m)?)?;
    m.add_function(wrap_pyfunction!(headers_contains, m)?)?;
    m.add_function(wrap_pyfunction!(headers_delete, m)?)?;
    m.add_function(wrap_pyfunction!(parse_cookie_string, m)?)?;
    m.add_function(wrap_pyfunction!(parse_cookie_headers, m)?)?;
    m.add_function(wrap_pyfunction!(parse_query_string, m)?)?;
    Ok(())
}
