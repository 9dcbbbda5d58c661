//! The Python face of the form parsers: one call per received chunk, compact answers.
//!
//! `tachyon_engine.formparsers` drives these objects and does everything that must stay in
//! Python (creating `SpooledTemporaryFile`s through the patchable module name, writing to
//! `UploadFile`, raising Starlette's exceptions with messages formatted from its own
//! attributes).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::multipart::{Action, Charset, FileData, Form, FormError, Item, MultipartParser, Text};
use super::urlencoded::{LimitError, UrlencodedParser};

/// `application/x-www-form-urlencoded`: `feed` / `finish` return `None`, or the limit that
/// tripped (1: too many fields, 2: field too large).
#[pyclass(module = "tachyon_engine._core")]
pub struct UrlencodedFormParser {
    inner: UrlencodedParser,
}

fn limit_code(result: Result<(), LimitError>) -> Option<u8> {
    match result {
        Ok(()) => None,
        Err(LimitError::TooManyFields) => Some(1),
        Err(LimitError::FieldTooLarge) => Some(2),
    }
}

#[pymethods]
impl UrlencodedFormParser {
    #[new]
    fn new(max_fields: f64, max_part_size: f64) -> Self {
        Self {
            inner: UrlencodedParser::new(max_fields, max_part_size),
        }
    }

    fn feed(&mut self, chunk: &[u8]) -> Option<u8> {
        limit_code(self.inner.feed(chunk))
    }

    fn finish(&mut self) -> Option<u8> {
        limit_code(self.inner.finish())
    }

    /// `(items, mapping)`: the `_list` and `_dict` of the `FormData`.
    fn result<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyDict>)> {
        let list = PyList::empty(py);
        let dict = PyDict::new(py);
        for (name, value) in &self.inner.items {
            let name = PyString::new(py, name);
            let value = PyString::new(py, value);
            dict.set_item(&name, &value)?;
            list.append(PyTuple::new(py, [name, value])?)?;
        }
        Ok((list, dict))
    }

    /// `(_current_fields, _current_field_size, _field_name, _field_value)`.
    fn state<'py>(&self, py: Python<'py>) -> (u64, u64, Bound<'py, PyBytes>, Bound<'py, PyBytes>) {
        let inner = &self.inner;
        (
            inner.fields_seen,
            inner.field_size,
            PyBytes::new(py, &inner.name),
            PyBytes::new(py, &inner.value),
        )
    }
}

/// File bytes waiting to be written: ranges of received chunks (kept alive), or owned bytes.
enum Pending {
    Chunk(Py<PyBytes>, usize, usize),
    Owned(Vec<u8>),
}

/// Operation kinds in the list `MultipartFormParser.feed` returns, in execution order.
const NEW_FILE: u8 = 0;
const WRITE: u8 = 1;
const SEEK: u8 = 2;
const ERROR: u8 = 3;

/// `multipart/form-data`. `feed` returns `None` when Python has nothing to do, else a list
/// of operations: `(0, filename, headers)` create the next file, `(1, file, data)` write
/// `bytes` or a list of `bytes`, `(2, file)` the part is complete (`seek(0)`),
/// `(3, code, message, offset, logged)` raise.
#[pyclass(module = "tachyon_engine._core")]
pub struct MultipartFormParser {
    inner: MultipartParser,
    /// File data is coalesced up to this many bytes per write (0: one write per callback,
    /// as Starlette writes). Python raises it once a file has rolled over to disk.
    #[pyo3(get, set)]
    flush_size: usize,
    pending: Vec<Pending>,
    pending_len: usize,
    pending_file: usize,
}

#[pymethods]
impl MultipartFormParser {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        boundary: &[u8],
        charset: &str,
        max_files: f64,
        max_fields: f64,
        max_part_size: f64,
        max_header_count: u64,
        max_header_size: u64,
        flush_size: usize,
    ) -> Self {
        let charset = match charset {
            "utf-8" => Charset::Utf8,
            "latin-1" | "iso8859-1" => Charset::Latin1,
            "ascii" => Charset::Ascii,
            _ => Charset::Other,
        };
        let form = Form::new(charset, max_files, max_fields, max_part_size);
        Self {
            inner: MultipartParser::new(boundary, form, max_header_count, max_header_size),
            flush_size,
            pending: Vec::new(),
            pending_len: 0,
            pending_file: 0,
        }
    }

    fn feed<'py>(&mut self, chunk: &Bound<'py, PyBytes>) -> PyResult<Option<Bound<'py, PyList>>> {
        let py = chunk.py();
        let result = self.inner.feed(chunk.as_bytes());
        let actions = std::mem::take(&mut self.inner.form.actions);
        if actions.is_empty() && result.is_ok() {
            return Ok(None);
        }
        // Files are created while the chunk is parsed, data written after it: creations
        // come first, then the error or the writes and seeks.
        let out = PyList::empty(py);
        let ops = PyList::empty(py);
        for action in actions {
            match action {
                Action::NewFile { filename, headers } => {
                    let headers = PyList::new(
                        py,
                        headers
                            .iter()
                            .map(|(k, v)| (PyBytes::new(py, k), PyBytes::new(py, v))),
                    )?;
                    out.append((NEW_FILE, text(py, &filename), headers))?;
                }
                // Data of a chunk that failed is never written, as in Starlette.
                _ if result.is_err() => {}
                Action::Write { file, data } => {
                    if file != self.pending_file && self.pending_len > 0 {
                        self.flush(py, &ops)?;
                    }
                    self.pending_file = file;
                    let piece = match data {
                        FileData::Chunk(start, end) => {
                            Pending::Chunk(chunk.clone().unbind(), start, end)
                        }
                        FileData::Owned(bytes) => Pending::Owned(bytes),
                    };
                    self.pending_len += match &piece {
                        Pending::Chunk(_, start, end) => end - start,
                        Pending::Owned(bytes) => bytes.len(),
                    };
                    self.pending.push(piece);
                    if self.pending_len >= self.flush_size {
                        self.flush(py, &ops)?;
                    }
                }
                Action::Seek { file } => {
                    if self.pending_len > 0 {
                        self.flush(py, &ops)?;
                    }
                    ops.append((SEEK, file))?;
                }
            }
        }
        match result {
            Ok(()) => {
                if out.is_empty() {
                    // Data held back for a later batch: nothing for Python to do yet.
                    return Ok(if ops.is_empty() { None } else { Some(ops) });
                }
                for op in ops.iter() {
                    out.append(op)?;
                }
            }
            Err(error) => out.append(error_tuple(py, error)?)?,
        }
        Ok(Some(out))
    }

    /// Writes still pending at the end of the body (a part the body never closed).
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let ops = PyList::empty(py);
        if self.pending_len > 0 {
            self.flush(py, &ops)?;
        }
        Ok(ops)
    }

    /// `(items, mapping)` for the `FormData`, given the `UploadFile`s in creation order and
    /// `decode(bytes) -> str` for text the request charset leaves to Python.
    fn result<'py>(
        &self,
        files: &Bound<'py, PyList>,
        decode: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyDict>)> {
        let py = files.py();
        let list = PyList::empty(py);
        let dict = PyDict::new(py);
        let to_str = |t: &Text| -> PyResult<Bound<'py, PyAny>> {
            match t {
                Text::Str(s) => Ok(PyString::new(py, s).into_any()),
                Text::Bytes(b) => decode.call1((PyBytes::new(py, b),)),
            }
        };
        for item in &self.inner.form.items {
            let (name, value) = match item {
                Item::Field(name, value) => (to_str(name)?, to_str(value)?),
                Item::File(name, index) => (to_str(name)?, files.get_item(*index)?),
            };
            dict.set_item(&name, &value)?;
            list.append(PyTuple::new(py, [name, value])?)?;
        }
        Ok((list, dict))
    }

    /// `(_current_files, _current_fields)`.
    fn counts(&self) -> (u64, u64) {
        (self.inner.form.files_seen, self.inner.form.fields_seen)
    }
}

impl MultipartFormParser {
    /// Emits the pending file data: `bytes` for one piece, else a list of `bytes` pieces
    /// (whole received chunks are passed as they are, never copied).
    fn flush<'py>(&mut self, py: Python<'py>, ops: &Bound<'py, PyList>) -> PyResult<()> {
        let pieces = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        let mut out: Vec<Bound<'py, PyBytes>> = Vec::with_capacity(pieces.len());
        for piece in pieces {
            out.push(match piece {
                Pending::Chunk(bytes, start, end) => {
                    let bytes = bytes.into_bound(py);
                    if start == 0 && end == bytes.as_bytes().len() {
                        bytes
                    } else {
                        PyBytes::new(py, &bytes.as_bytes()[start..end])
                    }
                }
                Pending::Owned(owned) => PyBytes::new(py, &owned),
            });
        }
        if out.len() == 1 {
            ops.append((WRITE, self.pending_file, out.pop()))?;
        } else {
            ops.append((WRITE, self.pending_file, PyList::new(py, out)?))?;
        }
        Ok(())
    }
}

fn text<'py>(py: Python<'py>, t: &Text) -> Bound<'py, PyAny> {
    match t {
        Text::Str(s) => PyString::new(py, s).into_any(),
        Text::Bytes(b) => PyBytes::new(py, b).into_any(),
    }
}

/// `(ERROR, code, message, offset, logged)`: code 0 parse error (message/offset/logged
/// set), 1 missing name, 2 too many files, 3 too many fields, 4 part too large.
fn error_tuple(py: Python<'_>, error: FormError) -> PyResult<Bound<'_, PyAny>> {
    let (code, message, offset, logged) = match error {
        FormError::Parse {
            message,
            offset,
            logged,
        } => (0u8, message, offset, logged),
        FormError::MissingName => (1, String::new(), 0, false),
        FormError::TooManyFiles => (2, String::new(), 0, false),
        FormError::TooManyFields => (3, String::new(), 0, false),
        FormError::PartTooLarge => (4, String::new(), 0, false),
    };
    let tuple = (ERROR, code, message, offset, logged);
    Ok(tuple.into_pyobject(py)?.into_any())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<UrlencodedFormParser>()?;
    m.add_class::<MultipartFormParser>()
}
