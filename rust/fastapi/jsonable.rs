//! FastAPI's `jsonable_encoder(obj)` for plain data: exact `dict`, `list`, `tuple`, `set` and
//! `frozenset` holding exact `str`, `int`, `bool`, `float` and `None`. FastAPI's function returns
//! the scalars themselves and new dicts and lists in the same order, leaving out the keys that
//! start with `"_sa"` (`sqlalchemy_safe`) and the `None` values of dicts (`exclude_none`).
//! Anything else (models, dataclasses, enums, subclasses, other keys, deep nesting) is a
//! fallback: FastAPI's own function then answers for the whole value.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple};

use crate::fast_path::{exact_str, Fallback, Fast};

/// Deeper values go to FastAPI's function, which then recurses (or fails) as it always does.
const MAX_DEPTH: usize = 200;

pub struct Options {
    pub exclude_none: bool,
    pub sqlalchemy_safe: bool,
}

fn is_scalar(value: &Bound<'_, PyAny>) -> bool {
    value.is_none()
        || value.is_exact_instance_of::<PyString>()
        || value.is_exact_instance_of::<PyInt>()
        || value.is_exact_instance_of::<PyBool>()
        || value.is_exact_instance_of::<PyFloat>()
}

pub fn encode<'py>(
    value: &Bound<'py, PyAny>,
    options: &Options,
    depth: usize,
) -> PyResult<Fast<Bound<'py, PyAny>>> {
    if is_scalar(value) {
        return Ok(Ok(value.clone()));
    }
    if depth >= MAX_DEPTH {
        return Ok(Err(Fallback));
    }
    let py = value.py();
    if let Ok(dict) = value.cast_exact::<PyDict>() {
        let encoded = PyDict::new(py);
        for (key, item) in dict.iter() {
            if !is_scalar(&key) {
                return Ok(Err(Fallback));
            }
            if options.sqlalchemy_safe && key.is_exact_instance_of::<PyString>() {
                let Ok(text) = exact_str(&key) else {
                    return Ok(Err(Fallback));
                };
                if text.starts_with("_sa") {
                    continue;
                }
            }
            if options.exclude_none && item.is_none() {
                continue;
            }
            match encode(&item, options, depth + 1)? {
                Ok(item) => encoded.set_item(key, item)?,
                Err(fallback) => return Ok(Err(fallback)),
            }
        }
        return Ok(Ok(encoded.into_any()));
    }
    let items: Vec<Bound<'py, PyAny>> = if let Ok(list) = value.cast_exact::<PyList>() {
        list.iter().collect()
    } else if let Ok(tuple) = value.cast_exact::<PyTuple>() {
        tuple.iter().collect()
    } else if let Ok(set) = value.cast_exact::<PySet>() {
        set.iter().collect()
    } else if let Ok(set) = value.cast_exact::<PyFrozenSet>() {
        set.iter().collect()
    } else {
        return Ok(Err(Fallback));
    };
    let encoded = PyList::empty(py);
    for item in &items {
        match encode(item, options, depth + 1)? {
            Ok(item) => encoded.append(item)?,
            Err(fallback) => return Ok(Err(fallback)),
        }
    }
    Ok(Ok(encoded.into_any()))
}
