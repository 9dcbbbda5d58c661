//! What the binding layers share: the marker of an input a fast path does not take (the
//! Python caller then runs Starlette's own code) and the exact-type readers behind it.

use pyo3::ffi;
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

/// `bytes.decode("latin-1")`: a `str` of the code points the bytes are.
pub fn latin1_str<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
    let length = ffi::Py_ssize_t::try_from(bytes.len())
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("string is too long"))?;
    // SAFETY: the pointer and length describe `bytes`, which outlives the call; the encoding
    // cannot fail, and the result (a new reference, or NULL with an exception set) is a `str`.
    unsafe {
        let text = ffi::PyUnicode_DecodeLatin1(bytes.as_ptr().cast(), length, std::ptr::null());
        Ok(Bound::from_owned_ptr_or_err(py, text)?.cast_into_unchecked())
    }
}

/// `PyString::new(py, text)`, faster for text below U+0100 that is not all ASCII (accented
/// Latin): such text is built from its latin-1 bytes, which CPython copies, where its UTF-8
/// decoder rebuilds the string once it meets the first non-ASCII character (about twice as slow).
pub fn new_str<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyString>> {
    let bytes = text.as_bytes();
    // In UTF-8, the characters U+0080..U+00FF are led by 0xC2 or 0xC3; higher ones by more.
    if bytes.is_ascii() || bytes.iter().any(|&b| b >= 0xC4) {
        return Ok(PyString::new(py, text));
    }
    let mut short = [0u8; 128];
    let mut long = Vec::new();
    let latin1: &mut [u8] = if bytes.len() <= short.len() {
        &mut short
    } else {
        long.resize(bytes.len(), 0);
        &mut long
    };
    let mut length = 0;
    for c in text.chars() {
        latin1[length] = u8::try_from(u32::from(c)).unwrap_or(b'?');
        length += 1;
    }
    latin1_str(py, &latin1[..length])
}
