//! Walks Python values in the order and with the type tests of CPython's C JSON encoder,
//! writing compact JSON. Anything it does not reproduce exactly (NaN and infinities, lone
//! surrogates, containers other than exact `dict` / `list` / `tuple`, unusual keys, very deep
//! nesting, which includes circular references) stops the walk: the caller then runs
//! `json.dumps`, which gives the same output or raises the same exception.

use std::cell::Cell;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::escape::{append, append_within, write_string};
use super::float::write_repr;

/// Marks a value the encoder leaves to the standard library.
pub struct Unsupported;

type Step = PyResult<Result<(), Unsupported>>;

/// Deeper than this is left to `json.dumps` (it detects cycles and recursion limits).
const MAX_DEPTH: usize = 200;

/// How many distinct key strings are remembered per render.
const KEY_CACHE_SIZE: usize = 32;

pub struct Encoder {
    pub out: Vec<u8>,
    depth: usize,
    /// Key strings already written, with where their encoding sits in `out`: lists of
    /// records repeat the same (interned) key objects, so each is escaped once and copied.
    written_keys: Vec<(Py<PyString>, usize, usize)>,
    /// Where in `written_keys` the next key is looked for first.
    next_key_guess: usize,
}

thread_local! {
    /// The output buffer of the thread's last render, kept for its next one: a render then
    /// writes into memory already allocated instead of growing a new vector by doubling.
    static SPARE_OUTPUT: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Bigger buffers are freed after their render.
const SPARE_OUTPUT_KEPT: usize = 4 << 20;

impl Drop for Encoder {
    fn drop(&mut self) {
        if self.out.capacity() <= SPARE_OUTPUT_KEPT {
            let mut out = std::mem::take(&mut self.out);
            out.clear();
            SPARE_OUTPUT.with(|spare| spare.set(out));
        }
    }
}

impl Encoder {
    pub fn new() -> Self {
        Self {
            out: SPARE_OUTPUT.with(Cell::take),
            depth: 0,
            written_keys: Vec::new(),
            next_key_guess: 0,
        }
    }

    fn exact_key(&mut self, key: &Bound<'_, PyString>) -> Result<(), Unsupported> {
        // Records repeat their keys in the same order: the key after the last one found is
        // the first guess.
        let guess = self.next_key_guess;
        let found = match self.written_keys.get(guess) {
            Some((known, _, _)) if key.is(known) => Some(guess),
            _ => self
                .written_keys
                .iter()
                .position(|(known, _, _)| key.is(known)),
        };
        if let Some(slot) = found {
            let (_, start, end) = self.written_keys[slot];
            append_within(&mut self.out, start, end);
            self.next_key_guess = slot + 1;
            return Ok(());
        }
        let start = self.out.len();
        self.string(key)?;
        if self.written_keys.len() < KEY_CACHE_SIZE {
            self.written_keys
                .push((key.clone().unbind(), start, self.out.len()));
        }
        Ok(())
    }

    /// Appends `value` as JSON.
    pub fn value(&mut self, value: &Bound<'_, PyAny>) -> Step {
        // Exact types first (one pointer comparison each, and disjoint, so their order does
        // not matter); subclasses after, in the C encoder's order (str, int, float).
        if let Ok(text) = value.cast_exact::<PyString>() {
            Ok(self.string(text))
        } else if let Ok(dict) = value.cast_exact::<PyDict>() {
            // Owned while walked: its items are borrowed from it.
            self.object(&dict.clone())
        } else if value.is_exact_instance_of::<PyList>() {
            self.sequence(&value.clone(), true)
        } else if let Ok(number) = value.cast_exact::<PyInt>() {
            self.int(number)
        } else if let Ok(number) = value.cast_exact::<PyFloat>() {
            Ok(self.float(number.value()))
        } else if let Some(literal) = constant(value) {
            self.out.extend_from_slice(literal);
            Ok(Ok(()))
        } else if value.is_exact_instance_of::<PyTuple>() {
            self.sequence(&value.clone(), false)
        } else if let Ok(text) = value.cast::<PyString>() {
            Ok(self.string(text))
        } else if let Ok(number) = value.cast::<PyInt>() {
            self.int(number)
        } else if let Ok(number) = value.cast::<PyFloat>() {
            Ok(self.float(number.value()))
        } else {
            Ok(Err(Unsupported))
        }
    }

    fn string(&mut self, text: &Bound<'_, PyString>) -> Result<(), Unsupported> {
        // Lone surrogates cannot be encoded to UTF-8: `render` raises, via the stdlib.
        let text = text.to_str().map_err(|_| Unsupported)?;
        write_string(text, &mut self.out);
        Ok(())
    }

    /// `int.__repr__`, also for `int` subclasses (an `IntEnum` member prints as its value).
    fn int(&mut self, number: &Bound<'_, PyInt>) -> Step {
        if let Ok(small) = number.extract::<i64>() {
            append(&mut self.out, itoa::Buffer::new().format(small).as_bytes());
        } else {
            let py = number.py();
            let text = py
                .get_type::<PyInt>()
                .getattr(pyo3::intern!(py, "__repr__"))?
                .call1((number,))?;
            self.out
                .extend_from_slice(text.cast::<PyString>()?.to_str()?.as_bytes());
        }
        Ok(Ok(()))
    }

    /// `float.__repr__`; NaN and infinities are errors under `allow_nan=False`.
    fn float(&mut self, value: f64) -> Result<(), Unsupported> {
        if !value.is_finite() {
            return Err(Unsupported);
        }
        write_repr(value, &mut self.out);
        Ok(())
    }

    /// Appends the items of an exact `list` or `tuple`.
    fn sequence(&mut self, items: &Bound<'_, PyAny>, is_list: bool) -> Step {
        if !self.enter() {
            return Ok(Err(Unsupported));
        }
        let py = items.py();
        self.out.push(b'[');
        let mut index = 0;
        loop {
            // SAFETY: the GIL is held, `items` is an exact list or tuple kept alive by the
            // caller, and the length is read again before each item (the walk runs no Python
            // code, but a list could only change through some). The borrowed item is used
            // before anything else can run.
            let item = unsafe {
                let size = if is_list {
                    ffi::PyList_GET_SIZE(items.as_ptr())
                } else {
                    ffi::PyTuple_GET_SIZE(items.as_ptr())
                };
                if index >= size {
                    break;
                }
                let pointer = if is_list {
                    ffi::PyList_GET_ITEM(items.as_ptr(), index)
                } else {
                    ffi::PyTuple_GET_ITEM(items.as_ptr(), index)
                };
                Borrowed::from_ptr(py, pointer)
            };
            if index > 0 {
                self.out.push(b',');
            }
            if self.value(&item)?.is_err() {
                return Ok(Err(Unsupported));
            }
            index += 1;
        }
        self.out.push(b']');
        self.depth -= 1;
        Ok(Ok(()))
    }

    fn object(&mut self, dict: &Bound<'_, PyDict>) -> Step {
        if !self.enter() {
            return Ok(Err(Unsupported));
        }
        let py = dict.py();
        self.out.push(b'{');
        let mut position: ffi::Py_ssize_t = 0;
        let mut key: *mut ffi::PyObject = std::ptr::null_mut();
        let mut value: *mut ffi::PyObject = std::ptr::null_mut();
        let mut first = true;
        // SAFETY: the GIL is held and `dict` is kept alive by the caller; `PyDict_Next` stays
        // in bounds even if the dict changed. The borrowed key and value are used before the
        // next step, and containers among them are owned again before being walked.
        while unsafe { ffi::PyDict_Next(dict.as_ptr(), &mut position, &mut key, &mut value) } != 0 {
            let (key, value) =
                unsafe { (Borrowed::from_ptr(py, key), Borrowed::from_ptr(py, value)) };
            if !first {
                self.out.push(b',');
            }
            first = false;
            if self.key(&key)?.is_err() || {
                self.out.push(b':');
                self.value(&value)?.is_err()
            } {
                return Ok(Err(Unsupported));
            }
        }
        self.out.push(b'}');
        self.depth -= 1;
        Ok(Ok(()))
    }

    /// Keys as the C encoder converts them: str as is, then float, bool and None, then int,
    /// each written as a JSON string.
    fn key(&mut self, key: &Bound<'_, PyAny>) -> Step {
        if let Ok(text) = key.cast_exact::<PyString>() {
            return Ok(self.exact_key(text));
        }
        if let Ok(text) = key.cast::<PyString>() {
            return Ok(self.string(text));
        }
        let start = self.out.len();
        let converted = if let Ok(number) = key.cast::<PyFloat>() {
            Ok(self.float(number.value()))
        } else if let Some(literal) = constant(key) {
            self.out.extend_from_slice(literal);
            Ok(Ok(()))
        } else if let Ok(number) = key.cast::<PyInt>() {
            self.int(number)
        } else {
            Ok(Err(Unsupported))
        }?;
        if converted.is_ok() {
            // The converted key is plain ASCII: quoting it needs no escaping.
            self.out.insert(start, b'"');
            self.out.push(b'"');
        }
        Ok(converted)
    }

    fn enter(&mut self) -> bool {
        self.depth += 1;
        self.depth <= MAX_DEPTH
    }
}

/// `null`, `true` or `false` for `None`, `True` and `False`.
fn constant(value: &Bound<'_, PyAny>) -> Option<&'static [u8]> {
    if value.is_none() {
        Some(b"null")
    } else {
        let flag = value.cast_exact::<PyBool>().ok()?;
        Some(if flag.is_true() { b"true" } else { b"false" })
    }
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}
