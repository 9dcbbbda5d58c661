//! The Python face of the form parsers: one call per received chunk, compact answers.
//!
//! `tachyon_engine.formparsers` drives these objects and does everything that must stay in
//! Python (creating `SpooledTemporaryFile`s through the patchable module name, writing to
//! `UploadFile`, raising Starlette's exceptions with messages formatted from its own
//! attributes).

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyMemoryView, PySlice, PyString, PyTuple};

use super::multipart::{Action, Charset, FileData, Form, FormError, Item, MultipartParser, Text};
use super::options::parse_options;
use super::release::Release;
use super::urlencoded::{LimitError, UrlencodedParser};
use crate::fast_path::{exact_str, new_str};

/// The release for a mode of `tachyon_engine.formparsers.PORTED_MULTIPART_VERSIONS`.
fn release(mode: u8) -> PyResult<Release> {
    Release::from_mode(mode)
        .ok_or_else(|| PyValueError::new_err(format!("unknown python-multipart mode {mode}")))
}

/// python-multipart's `parse_options_header(value)` (of the release `mode` stands for) for a
/// non-empty exact `str` of latin-1 characters (what Starlette's headers hold):
/// `(content_type, {key: value})` as `bytes`; `NotImplemented` for any other value (Python's
/// function then runs, and raises as it does).
#[pyfunction]
#[pyo3(signature = (value, mode, /))]
fn parse_options_header<'py>(value: &Bound<'py, PyAny>, mode: u8) -> PyResult<Bound<'py, PyAny>> {
    let py = value.py();
    let release = release(mode)?;
    let Ok(text) = exact_str(value) else {
        return Ok(py.NotImplemented().into_bound(py));
    };
    let mut latin1 = Vec::with_capacity(text.len());
    for c in text.chars() {
        match u8::try_from(u32::from(c)) {
            Ok(byte) => latin1.push(byte),
            Err(_) => return Ok(py.NotImplemented().into_bound(py)),
        }
    }
    if latin1.is_empty() {
        return Ok(py.NotImplemented().into_bound(py));
    }
    let (ctype, options) = parse_options(&latin1, release);
    let dict = PyDict::new(py);
    for (key, val) in options {
        dict.set_item(PyBytes::new(py, &key), PyBytes::new(py, &val))?;
    }
    Ok((PyBytes::new(py, &ctype), dict)
        .into_pyobject(py)?
        .into_any())
}

/// `chunk[start:end]` without copying: the chunk itself, or a `memoryview` slice of it.
fn chunk_slice<'py>(
    chunk: &Bound<'py, PyBytes>,
    start: usize,
    end: usize,
) -> PyResult<Bound<'py, PyAny>> {
    if start == 0 && end == chunk.as_bytes().len() {
        return Ok(chunk.clone().into_any());
    }
    let py = chunk.py();
    let (Ok(first), Ok(last)) = (isize::try_from(start), isize::try_from(end)) else {
        return Ok(PyBytes::new(py, &chunk.as_bytes()[start..end]).into_any());
    };
    PyMemoryView::from(chunk.as_any())?.get_item(PySlice::new(py, first, last, 1))
}

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
        crate::stats::FORM_PARSES.hit();
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
        let dict = PyDict::new(py);
        let mut pairs = Vec::with_capacity(self.inner.field_count());
        for (name, value) in self.inner.items() {
            let name = new_str(py, name)?;
            let value = new_str(py, value)?;
            dict.set_item(&name, &value)?;
            pairs.push(PyTuple::new(py, [name, value])?);
        }
        Ok((PyList::new(py, pairs)?, dict))
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
/// Ranges reach Python as `memoryview` slices of the chunk (never copied).
enum Pending {
    Chunk(Py<PyBytes>, usize, usize),
    Owned(Vec<u8>),
}

/// A file whose in-memory writes and final `seek(0)` Rust performs itself: an exact
/// `UploadFile` over an exact `SpooledTemporaryFile` (Python checks both types when it
/// registers the file). Each write is made only while the spool stays in memory, and is what
/// `UploadFile.write` then does: `size += len(data)`, then `SpooledTemporaryFile.write`,
/// which is `_file.write(data)` followed by a rollover check that cannot trip.
struct MemoryFile {
    upload: Py<PyAny>,
    spooled: Py<PyAny>,
}

impl MemoryFile {
    /// Whether the spool is still in memory (`not spooled._rolled`).
    fn in_memory(spooled: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(!spooled
            .getattr(intern!(spooled.py(), "_rolled"))?
            .is_truthy()?)
    }

    /// Writes `data` when that keeps the spool in memory; false (nothing done) otherwise.
    fn write(&self, data: &Bound<'_, PyAny>, length: usize) -> PyResult<bool> {
        let py = data.py();
        let spooled = self.spooled.bind(py);
        if !Self::in_memory(spooled)? {
            return Ok(false);
        }
        let file = spooled.getattr(intern!(py, "_file"))?;
        let max_size = spooled.getattr(intern!(py, "_max_size"))?;
        if max_size.is_truthy()? {
            // `tell() + len(data) > max_size` would roll over: Python's path does that.
            let Ok(max_size) = max_size.extract::<i64>() else {
                return Ok(false);
            };
            let position: i64 = file.call_method0(intern!(py, "tell"))?.extract()?;
            let Ok(length) = i64::try_from(length) else {
                return Ok(false);
            };
            if position.saturating_add(length) > max_size {
                return Ok(false);
            }
        }
        let upload = self.upload.bind(py);
        let size = upload.getattr(intern!(py, "size"))?;
        if !size.is_none() {
            upload.setattr(intern!(py, "size"), size.add(length)?)?;
        }
        file.call_method1(intern!(py, "write"), (data,))?;
        Ok(true)
    }

    /// `await upload.seek(0)` for a spool still in memory; false (nothing done) otherwise.
    fn rewind(&self, py: Python<'_>) -> PyResult<bool> {
        let spooled = self.spooled.bind(py);
        if !Self::in_memory(spooled)? {
            return Ok(false);
        }
        spooled.call_method1(intern!(py, "seek"), (0,))?;
        Ok(true)
    }
}

/// Operation kinds in the list `MultipartFormParser.feed` returns, in execution order.
const NEW_FILE: u8 = 0;
const WRITE: u8 = 1;
const SEEK: u8 = 2;
const ERROR: u8 = 3;

/// `multipart/form-data`. `feed` returns `None` when Python has nothing to do, else a list
/// of operations: `(0, filename, headers)` create the next file, `(1, file, data)` write a
/// piece or a list of pieces (`bytes`, or `memoryview` slices of a chunk), `(2, file)` the
/// part is complete (`seek(0)`), `(3, code, message, offset, logged)` raise. Writes and
/// seeks of files registered with `memory_file` are made in `feed` itself when they are
/// exactly what Python would do next: the chunk parsed without error and created no file,
/// nothing is queued before them, and the spool stays in memory. `mode` selects the
/// python-multipart release reproduced (see `release`).
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
    /// Per file (creation order), the file Rust may write itself, if registered.
    memory_files: Vec<Option<MemoryFile>>,
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
        mode: u8,
    ) -> PyResult<Self> {
        let release = release(mode)?;
        let charset = match charset {
            "utf-8" => Charset::Utf8,
            "latin-1" | "iso8859-1" => Charset::Latin1,
            "ascii" => Charset::Ascii,
            _ => Charset::Other,
        };
        let form = Form::new(release, charset, max_files, max_fields, max_part_size);
        crate::stats::FORM_PARSES.hit();
        Ok(Self {
            inner: MultipartParser::new(boundary, form, max_header_count, max_header_size),
            flush_size,
            pending: Vec::new(),
            pending_len: 0,
            pending_file: 0,
            memory_files: Vec::new(),
        })
    }

    /// Lets Rust write file number `index` itself while it stays in memory (see `MemoryFile`).
    fn memory_file(&mut self, index: usize, upload: Py<PyAny>, spooled: Py<PyAny>) {
        if self.memory_files.len() <= index {
            self.memory_files.resize_with(index + 1, || None);
        }
        self.memory_files[index] = Some(MemoryFile { upload, spooled });
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
        // Rust makes the writes and seeks itself until the first one it leaves to Python.
        let mut direct = result.is_ok()
            && self.pending_len == 0
            && !actions.iter().any(|a| matches!(a, Action::NewFile { .. }));
        // Starlette writes all the data of a chunk, then rewinds the files it completed.
        let mut seeks: Vec<usize> = Vec::new();
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
                    if direct {
                        direct = self.write_directly(chunk, file, &data)?;
                        if direct {
                            continue;
                        }
                    }
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
                Action::Seek { file } => seeks.push(file),
            }
        }
        if !seeks.is_empty() && self.pending_len > 0 {
            self.flush(py, &ops)?;
        }
        for file in seeks {
            if direct {
                direct = self.rewind_directly(py, file)?;
                if direct {
                    continue;
                }
            }
            ops.append((SEEK, file))?;
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

    /// Writes still pending at the end of the body (a part the body never closed), or `None`.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        if self.pending_len == 0 {
            return Ok(None);
        }
        let ops = PyList::empty(py);
        self.flush(py, &ops)?;
        Ok(Some(ops))
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
                Text::Str(s) => Ok(new_str(py, s)?.into_any()),
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
    /// Writes file data to a registered in-memory file; false (nothing done) when Python must.
    fn write_directly(
        &self,
        chunk: &Bound<'_, PyBytes>,
        file: usize,
        data: &FileData,
    ) -> PyResult<bool> {
        let Some(Some(memory)) = self.memory_files.get(file) else {
            return Ok(false);
        };
        let (data, length) = match data {
            FileData::Chunk(start, end) => (chunk_slice(chunk, *start, *end)?, end - start),
            FileData::Owned(owned) => (PyBytes::new(chunk.py(), owned).into_any(), owned.len()),
        };
        memory.write(&data, length)
    }

    /// Rewinds a registered in-memory file; false (nothing done) when Python must.
    fn rewind_directly(&self, py: Python<'_>, file: usize) -> PyResult<bool> {
        match self.memory_files.get(file) {
            Some(Some(memory)) => memory.rewind(py),
            _ => Ok(false),
        }
    }

    /// Emits the pending file data: one piece, else a list of pieces (whole received chunks
    /// as they are, parts of chunks as `memoryview` slices, held-back bytes as `bytes`).
    fn flush<'py>(&mut self, py: Python<'py>, ops: &Bound<'py, PyList>) -> PyResult<()> {
        let pieces = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        let mut out: Vec<Bound<'py, PyAny>> = Vec::with_capacity(pieces.len());
        for piece in pieces {
            out.push(match piece {
                Pending::Chunk(bytes, start, end) => chunk_slice(bytes.bind(py), start, end)?,
                Pending::Owned(owned) => PyBytes::new(py, &owned).into_any(),
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
    m.add_function(wrap_pyfunction!(parse_options_header, m)?)?;
    m.add_class::<UrlencodedFormParser>()?;
    m.add_class::<MultipartFormParser>()
}
