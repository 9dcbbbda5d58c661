//! `json.loads` for UTF-8 input, building Python objects directly. It accepts exactly what
//! CPython's scanner accepts and builds the same values (big integers exact, floats rounded
//! as `float()` rounds); on anything else (any syntax error, `NaN` / `Infinity`, lone
//! surrogates, BOMs and other encodings, very deep nesting) it steps aside so that
//! `json.loads` runs and raises its own `JSONDecodeError` with its `pos` and `msg`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyList, PyString};

/// Why the fast parser stopped.
pub enum Stop {
    /// Not reproduced here: `json.loads` must answer.
    Fallback,
    /// A Python error while building values (memory, for instance).
    Error(PyErr),
}

impl From<PyErr> for Stop {
    fn from(err: PyErr) -> Self {
        Self::Error(err)
    }
}

type Parsed<T> = Result<T, Stop>;

/// Deeper documents go to `json.loads` (which hits Python's recursion limit its own way).
const MAX_DEPTH: usize = 200;

/// How many distinct keys are remembered per document.
const KEY_CACHE_SIZE: usize = 32;

pub struct Decoder<'a, 'py> {
    py: Python<'py>,
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    /// Escape-free key strings already built, reused like the stdlib's key memo (records
    /// repeat a handful of keys: a short list beats hashing).
    keys: Vec<(&'a str, Bound<'py, PyString>)>,
    /// Where the last key was found in `keys`: records repeat their keys in order, so the next
    /// key is usually the one after it.
    last_key: usize,
}

impl<'a, 'py> Decoder<'a, 'py> {
    pub fn new(py: Python<'py>, text: &'a str) -> Self {
        Self {
            py,
            text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
            keys: Vec::new(),
            last_key: 0,
        }
    }

    /// The whole document: one value between optional whitespace.
    pub fn document(mut self) -> Parsed<Bound<'py, PyAny>> {
        self.skip_whitespace();
        let value = self.value()?;
        self.skip_whitespace();
        if self.pos == self.bytes.len() {
            Ok(value)
        } else {
            Err(Stop::Fallback)
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect_literal(&mut self, literal: &[u8]) -> Parsed<()> {
        if self.bytes[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            Ok(())
        } else {
            Err(Stop::Fallback)
        }
    }

    fn value(&mut self) -> Parsed<Bound<'py, PyAny>> {
        let py = self.py;
        match self.peek().ok_or(Stop::Fallback)? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => Ok(self.string()?.into_any()),
            b't' => self
                .expect_literal(b"true")
                .map(|()| pyo3::types::PyBool::new(py, true).to_owned().into_any()),
            b'f' => self
                .expect_literal(b"false")
                .map(|()| pyo3::types::PyBool::new(py, false).to_owned().into_any()),
            b'n' => self
                .expect_literal(b"null")
                .map(|()| py.None().into_bound(py)),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(Stop::Fallback),
        }
    }

    fn enter(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Stop::Fallback);
        }
        self.pos += 1;
        self.skip_whitespace();
        Ok(())
    }

    fn object(&mut self) -> Parsed<Bound<'py, PyAny>> {
        self.enter()?;
        let dict = PyDict::new(self.py);
        if self.close(b'}') {
            return Ok(dict.into_any());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(Stop::Fallback);
            }
            let key = self.key()?;
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(Stop::Fallback);
            }
            self.pos += 1;
            self.skip_whitespace();
            let value = self.value()?;
            dict.set_item(key, value)?;
            if self.after_item(b'}')? {
                return Ok(dict.into_any());
            }
        }
    }

    fn array(&mut self) -> Parsed<Bound<'py, PyAny>> {
        self.enter()?;
        let mut items = Vec::new();
        if self.close(b']') {
            return Ok(PyList::empty(self.py).into_any());
        }
        loop {
            items.push(self.value()?);
            if self.after_item(b']')? {
                return Ok(PyList::new(self.py, items)?.into_any());
            }
        }
    }

    /// Consumes `closing` (ending the current container) if it comes next.
    fn close(&mut self, closing: u8) -> bool {
        if self.peek() != Some(closing) {
            return false;
        }
        self.pos += 1;
        self.depth -= 1;
        true
    }

    /// After a container item: `,` (another item follows: `false`) or `closing` (`true`).
    fn after_item(&mut self, closing: u8) -> Parsed<bool> {
        self.skip_whitespace();
        if self.close(closing) {
            return Ok(true);
        }
        if self.peek() != Some(b',') {
            return Err(Stop::Fallback);
        }
        self.pos += 1;
        self.skip_whitespace();
        Ok(false)
    }

    /// A key: escape-free keys are built once per document.
    fn key(&mut self) -> Parsed<Bound<'py, PyString>> {
        let start = self.pos + 1;
        let end = self.plain_string_end(start)?;
        if self.bytes[end] == b'"' {
            self.pos = end + 1;
            let text = &self.text[start..end];
            if let Some(known) = self.known_key(text) {
                return Ok(known);
            }
            let built = PyString::new(self.py, text);
            if self.keys.len() < KEY_CACHE_SIZE {
                self.last_key = self.keys.len();
                self.keys.push((text, built.clone()));
            }
            return Ok(built);
        }
        self.string()
    }

    /// The key string already built for `text`: the one after the last key found, else any.
    fn known_key(&mut self, text: &str) -> Option<Bound<'py, PyString>> {
        let next = self.last_key + 1;
        let guess = if next < self.keys.len() { next } else { 0 };
        let index = match self.keys.get(guess) {
            Some((seen, _)) if *seen == text => guess,
            _ => self.keys.iter().position(|(seen, _)| *seen == text)?,
        };
        self.last_key = index;
        Some(self.keys[index].1.clone())
    }

    /// The index of the first `"` or `\` at or after `start`; a raw control character or
    /// the end of input is an error (the stdlib's strict mode).
    fn plain_string_end(&self, start: usize) -> Parsed<usize> {
        let rest = self.bytes.get(start..).ok_or(Stop::Fallback)?;
        let length = memchr::memchr2(b'"', b'\\', rest).ok_or(Stop::Fallback)?;
        if rest[..length].iter().any(|&byte| byte < 0x20) {
            return Err(Stop::Fallback);
        }
        Ok(start + length)
    }

    fn string(&mut self) -> Parsed<Bound<'py, PyString>> {
        let start = self.pos + 1;
        let mut end = self.plain_string_end(start)?;
        if self.bytes[end] == b'"' {
            self.pos = end + 1;
            return Ok(PyString::new(self.py, &self.text[start..end]));
        }
        let mut decoded = String::with_capacity(end - start + 16);
        decoded.push_str(&self.text[start..end]);
        loop {
            // At a backslash.
            let escape = *self.bytes.get(end + 1).ok_or(Stop::Fallback)?;
            let mut next = end + 2;
            match escape {
                b'"' => decoded.push('"'),
                b'\\' => decoded.push('\\'),
                b'/' => decoded.push('/'),
                b'b' => decoded.push('\u{8}'),
                b'f' => decoded.push('\u{c}'),
                b'n' => decoded.push('\n'),
                b'r' => decoded.push('\r'),
                b't' => decoded.push('\t'),
                b'u' => {
                    let (character, after) = self.unicode_escape(end + 2)?;
                    decoded.push(character);
                    next = after;
                }
                _ => return Err(Stop::Fallback),
            }
            let run_end = self.plain_string_end(next)?;
            decoded.push_str(&self.text[next..run_end]);
            end = run_end;
            if self.bytes[end] == b'"' {
                self.pos = end + 1;
                return Ok(PyString::new(self.py, &decoded));
            }
        }
    }

    /// `\uXXXX` (with the hex digits at `at`), joining a surrogate pair; a lone surrogate
    /// (which Python would keep) is left to the stdlib.
    fn unicode_escape(&self, at: usize) -> Parsed<(char, usize)> {
        let first = self.hex4(at)?;
        if (0xd800..0xdc00).contains(&first) && self.bytes.get(at + 4..at + 6) == Some(b"\\u") {
            let second = self.hex4(at + 6)?;
            if (0xdc00..0xe000).contains(&second) {
                let code = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
                return Ok((char::from_u32(code).ok_or(Stop::Fallback)?, at + 10));
            }
        }
        Ok((char::from_u32(first).ok_or(Stop::Fallback)?, at + 4))
    }

    fn hex4(&self, at: usize) -> Parsed<u32> {
        let digits = self.bytes.get(at..at + 4).ok_or(Stop::Fallback)?;
        digits.iter().try_fold(0u32, |acc, &d| {
            let value = char::from(d).to_digit(16).ok_or(Stop::Fallback)?;
            Ok(acc * 16 + value)
        })
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`: an int without fraction or exponent.
    fn number(&mut self) -> Parsed<Bound<'py, PyAny>> {
        let start = self.pos;
        let mut index = start;
        if self.bytes[index] == b'-' {
            index += 1;
        }
        match self.bytes.get(index) {
            Some(b'0') => index += 1,
            Some(b'1'..=b'9') => index += self.digits_from(index),
            _ => return Err(Stop::Fallback),
        }
        let mut is_float = false;
        if self.bytes.get(index) == Some(&b'.') && self.digits_from(index + 1) > 0 {
            index += 1 + self.digits_from(index + 1);
            is_float = true;
        }
        if matches!(self.bytes.get(index), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.bytes.get(index + 1), Some(b'+' | b'-')));
            let exponent_digits = self.digits_from(index + 1 + sign);
            if exponent_digits > 0 {
                index += 1 + sign + exponent_digits;
                is_float = true;
            }
        }
        self.pos = index;
        let text = &self.text[start..index];
        if is_float {
            let value: f64 = text.parse().map_err(|_| Stop::Fallback)?;
            return Ok(PyFloat::new(self.py, value).into_any());
        }
        if text.len() <= 18 {
            let value: i64 = text.parse().map_err(|_| Stop::Fallback)?;
            let Ok(number) = value.into_pyobject(self.py);
            return Ok(number.into_any());
        }
        if text.len() > 4000 {
            // Near `sys.get_int_max_str_digits()`: the stdlib decides.
            return Err(Stop::Fallback);
        }
        Ok(self.py.get_type::<PyInt>().call1((text,))?)
    }

    fn digits_from(&self, start: usize) -> usize {
        self.bytes.get(start..).map_or(0, |rest| {
            rest.iter().take_while(|b| b.is_ascii_digit()).count()
        })
    }
}
