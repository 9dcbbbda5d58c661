//! What the binding layers share: the marker of an input a fast path does not take (the
//! Python caller then runs Starlette's own code) and the exact-type readers behind it.

use pyo3::prelude::*;
use pyo3::types::PyString;

/// Marks an input the fast path does not take.
pub struct Fallback;

pub type Fast<T> = Result<T, Fallback>;

/// Text of an exact `str`, or a fallback for subclasses and strings with lone surrogates.
pub fn exact_str<'a>(value: &'a Bound<'_, PyAny>) -> Fast<&'a str> {
    let text = value.cast_exact::<PyString>().map_err(|_| Fallback)?;
    text.to_str().map_err(|_| Fallback)
}
