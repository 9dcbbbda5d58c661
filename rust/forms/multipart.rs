//! Streaming `multipart/form-data` parsing with Starlette's exact semantics.
//!
//! Two layers, both free of PyO3 types:
//!
//! - [`Machine`] is a port of python-multipart's `MultipartParser._internal_write` (0.0.32,
//!   with 0.0.34's `BOUNDARY_PADDING` when the [`Release`] has it; the other changes up to
//!   0.0.34 are shortcuts with the same callbacks at the same bytes): the same states,
//!   boundary index, flags, marks and look-behind, so it emits the same callbacks with the
//!   same data for any body cut at any chunk boundaries, and fails with the same
//!   `MultipartParseError` message and offset at the same byte. The whole-boundary
//!   search (python-multipart's `bytes.find`) is [`DelimiterFinder`]: one pass per chunk, no
//!   rescans across chunk edges (a partial match at the end of a chunk is carried as an index).
//! - [`Form`] is Starlette's `MultiPartParser` callback logic on top of it: part headers,
//!   `Content-Disposition` options, field and file counting, `max_part_size`, field values.
//!   What needs Python (creating a `SpooledTemporaryFile`, writing file data) comes out as
//!   [`Action`]s; file data is passed as ranges of the received chunk where possible.

use super::delimiter::DelimiterFinder;
use super::options::parse_disposition;
use super::release::Release;

const CR: u8 = b'\r';
const LF: u8 = b'\n';
const HYPHEN: u8 = b'-';
const SPACE: u8 = b' ';
const TAB: u8 = b'\t';
const FLAG_PART_BOUNDARY: u8 = 1;
const FLAG_LAST_BOUNDARY: u8 = 2;

/// RFC 7230 token characters: what python-multipart accepts in a header name.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Why parsing stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// python-multipart's `MultipartParseError(message, offset=offset)`; `logged` when it
    /// also logs the message as a warning first.
    Parse {
        message: String,
        offset: usize,
        logged: bool,
    },
    /// `The Content-Disposition header field "name" must be provided.`
    MissingName,
    /// `Too many files. Maximum number of files is {max_files}.`
    TooManyFiles,
    /// `Too many fields. Maximum number of fields is {max_fields}.`
    TooManyFields,
    /// `Part exceeded maximum size of {int(max_part_size / 1024)}KB.`
    PartTooLarge,
}

fn parse_error(message: String, offset: isize, logged: bool) -> FormError {
    FormError::Parse {
        message,
        offset: offset.max(0) as usize,
        logged,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    StartBoundary,
    HeaderFieldStart,
    HeaderField,
    HeaderValueStart,
    HeaderValue,
    HeaderValueAlmostDone,
    HeadersAlmostDone,
    PartDataStart,
    PartData,
    /// Spaces and tabs after a delimiter, up to its CRLF (0.0.34).
    BoundaryPadding,
    EndBoundary,
    End,
}

/// A data callback's bytes: a range of the current chunk, or look-behind bytes (a partial
/// boundary match from the previous chunk that turned out to be data).
#[derive(Debug, Clone, Copy)]
pub enum Piece<'a> {
    Chunk(usize, usize),
    Look(&'a [u8]),
}

impl<'a> Piece<'a> {
    pub fn bytes<'b>(&self, chunk: &'b [u8]) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            Piece::Chunk(start, end) => &chunk[start..end],
            Piece::Look(bytes) => bytes,
        }
    }
}

/// The callbacks Starlette registers.
pub trait Callbacks {
    fn part_begin(&mut self) -> Result<(), FormError>;
    fn part_data(&mut self, chunk: &[u8], piece: Piece<'_>) -> Result<(), FormError>;
    fn part_end(&mut self) -> Result<(), FormError>;
    fn header_field(&mut self, data: &[u8]) -> Result<(), FormError>;
    fn header_value(&mut self, data: &[u8]) -> Result<(), FormError>;
    fn header_end(&mut self) -> Result<(), FormError>;
    fn headers_finished(&mut self) -> Result<(), FormError>;
}

#[derive(Clone, Copy)]
enum Mark {
    HeaderField,
    HeaderValue,
    PartData,
}

/// python-multipart's `MultipartParser` state.
pub struct Machine {
    release: Release,
    boundary: Vec<u8>,
    finder: DelimiterFinder,
    state: State,
    index: usize,
    flags: u8,
    header_count: u64,
    header_size: u64,
    max_header_count: u64,
    max_header_size: u64,
    marks: [Option<isize>; 3],
}

impl Machine {
    /// `boundary` as given in the Content-Type (python-multipart prefixes `\r\n--`).
    pub fn new(
        boundary: &[u8],
        max_header_count: u64,
        max_header_size: u64,
        release: Release,
    ) -> Self {
        let mut full = b"\r\n--".to_vec();
        full.extend_from_slice(boundary);
        let finder = DelimiterFinder::new(&full);
        Self {
            release,
            boundary: full,
            finder,
            state: State::Start,
            index: 0,
            flags: 0,
            header_count: 0,
            header_size: 0,
            max_header_count,
            max_header_size,
            marks: [None; 3],
        }
    }

    /// Whether the closing boundary was seen.
    pub fn ended(&self) -> bool {
        self.state == State::End
    }

    /// `MultipartParser.write(data)`.
    pub fn write(&mut self, data: &[u8], cb: &mut impl Callbacks) -> Result<(), FormError> {
        let entry_flags = self.flags;
        let length = data.len() as isize;
        let blen = self.boundary.len();
        let mut state = self.state;
        let mut index = self.index;
        let mut flags = self.flags;
        let mut header_count = self.header_count;
        let mut header_size = self.header_size;
        let mut i: isize = 0;

        macro_rules! advance_header_size {
            ($amount:expr) => {
                header_size += ($amount) as u64;
                if header_size > self.max_header_size {
                    return Err(parse_error("Maximum header size exceeded".into(), i, false));
                }
            };
        }

        while i < length {
            let mut c = data[i as usize];
            match state {
                State::Start => {
                    if c == CR || c == LF {
                        match memchr::memchr(HYPHEN, &data[i as usize..]) {
                            Some(p) => {
                                i += p as isize;
                                continue;
                            }
                            None => break,
                        }
                    }
                    index = 0;
                    state = State::StartBoundary;
                    i -= 1;
                }
                State::StartBoundary => {
                    if index == blen - 2 {
                        if c == HYPHEN {
                            state = State::EndBoundary;
                        } else if c != CR {
                            return Err(parse_error(
                                format!("Did not find CR at end of boundary ({i})"),
                                i,
                                true,
                            ));
                        }
                        index += 1;
                    } else if index == blen - 1 {
                        if c != LF {
                            return Err(parse_error(
                                format!("Did not find LF at end of boundary ({i})"),
                                i,
                                true,
                            ));
                        }
                        index = 0;
                        cb.part_begin()?;
                        header_count = 0;
                        header_size = 0;
                        state = State::HeaderFieldStart;
                    } else {
                        let expected = self.boundary[index + 2];
                        if c != expected {
                            let message = format!(
                                "Expected boundary character {expected}, got {c} at index {}",
                                index + 2
                            );
                            return Err(parse_error(message, i, true));
                        }
                        index += 1;
                    }
                }
                State::HeaderFieldStart => {
                    index = 0;
                    if c != CR {
                        header_count += 1;
                        if header_count > self.max_header_count {
                            return Err(parse_error(
                                "Maximum header count exceeded".into(),
                                i,
                                false,
                            ));
                        }
                        header_size = 0;
                    }
                    self.marks[Mark::HeaderField as usize] = Some(i);
                    state = State::HeaderField;
                    i -= 1;
                }
                State::HeaderField => {
                    if c == CR && index == 0 {
                        self.marks[Mark::HeaderField as usize] = None;
                        state = State::HeadersAlmostDone;
                        i += 1;
                        continue;
                    }
                    let from = i as usize;
                    let colon = memchr::memchr(b':', &data[from..]).map(|p| p + from);
                    let end = colon.unwrap_or(data.len());
                    advance_header_size!(if colon.is_none() {
                        end - from
                    } else {
                        end - from + 1
                    });
                    if let Some(bad) = data[from..end].iter().position(|&b| !is_token(b)) {
                        let bad_i = from + bad;
                        let message = format!(
                            "Found invalid character {} in header at {bad_i}",
                            data[bad_i]
                        );
                        return Err(parse_error(message, bad_i as isize, true));
                    }
                    index += end - from;
                    match colon {
                        None => i = length,
                        Some(colon) => {
                            if index == 0 {
                                return Err(parse_error(
                                    format!("Found 0-length header at {i}"),
                                    i,
                                    true,
                                ));
                            }
                            i = colon as isize;
                            self.data_callback(Mark::HeaderField, data, i, false, entry_flags, cb)?;
                            state = State::HeaderValueStart;
                        }
                    }
                }
                State::HeaderValueStart => {
                    if c == SPACE {
                        advance_header_size!(1);
                        i += 1;
                        continue;
                    }
                    self.marks[Mark::HeaderValue as usize] = Some(i);
                    state = State::HeaderValue;
                    i -= 1;
                }
                State::HeaderValue => {
                    let from = i as usize;
                    let cr = memchr::memchr(CR, &data[from..]).map(|p| p + from);
                    let end = cr.unwrap_or(data.len());
                    advance_header_size!(end - from);
                    match cr {
                        Some(cr) => {
                            i = cr as isize;
                            self.data_callback(Mark::HeaderValue, data, i, false, entry_flags, cb)?;
                            cb.header_end()?;
                            header_size = 0;
                            state = State::HeaderValueAlmostDone;
                        }
                        None => i = length,
                    }
                }
                State::HeaderValueAlmostDone => {
                    if c != LF {
                        let message =
                            format!("Did not find LF character at end of header (found {c})");
                        return Err(parse_error(message, i, true));
                    }
                    state = State::HeaderFieldStart;
                }
                State::HeadersAlmostDone => {
                    if c != LF {
                        let message = format!("Did not find LF at end of headers (found {c})");
                        return Err(parse_error(message, i, true));
                    }
                    cb.headers_finished()?;
                    state = State::PartDataStart;
                }
                State::PartDataStart => {
                    self.marks[Mark::PartData as usize] = Some(i);
                    state = State::PartData;
                    i -= 1;
                }
                State::PartData => {
                    let mut prev_index = index;
                    if index == 0 {
                        let from = i as usize;
                        match self.finder.find(&data[from..]) {
                            Some(p) => {
                                index = blen - 1;
                                i = (from + p + blen - 1) as isize;
                                c = data[i as usize];
                            }
                            None => {
                                let lo = from.max((length as usize + 1).saturating_sub(blen));
                                if let Some(k) = memchr::memrchr(CR, &data[lo..]).map(|p| p + lo) {
                                    if self.boundary.starts_with(&data[k..]) {
                                        index = data.len() - k;
                                    }
                                }
                                i = length;
                                continue;
                            }
                        }
                    }
                    if index < blen {
                        if self.boundary[index] == c {
                            index += 1;
                        } else {
                            index = 0;
                        }
                    } else if index == blen {
                        index += 1;
                        if c == CR {
                            flags |= FLAG_PART_BOUNDARY;
                        } else if c == HYPHEN {
                            flags |= FLAG_LAST_BOUNDARY;
                        } else if (c == SPACE || c == TAB) && self.release.boundary_padding() {
                            // A line starting with the boundary cannot be data (RFC 2046).
                            // With `index` 0 the byte is read again below, in the padding
                            // state, as python-multipart reads it (where it is skipped).
                            self.data_callback(
                                Mark::PartData,
                                data,
                                i - blen as isize,
                                false,
                                entry_flags,
                                cb,
                            )?;
                            index = 0;
                            state = State::BoundaryPadding;
                        } else {
                            index = 0;
                        }
                    } else if index == blen + 1 {
                        if flags & FLAG_PART_BOUNDARY != 0 {
                            if c == LF {
                                flags &= !FLAG_PART_BOUNDARY;
                                self.data_callback(
                                    Mark::PartData,
                                    data,
                                    i - index as isize,
                                    false,
                                    entry_flags,
                                    cb,
                                )?;
                                cb.part_end()?;
                                cb.part_begin()?;
                                header_count = 0;
                                header_size = 0;
                                index = 0;
                                state = State::HeaderFieldStart;
                                i += 1;
                                continue;
                            }
                            index = 0;
                            flags &= !FLAG_PART_BOUNDARY;
                        } else if flags & FLAG_LAST_BOUNDARY != 0 {
                            if c == HYPHEN {
                                self.data_callback(
                                    Mark::PartData,
                                    data,
                                    i - index as isize,
                                    false,
                                    entry_flags,
                                    cb,
                                )?;
                                cb.part_end()?;
                                state = State::End;
                            } else {
                                index = 0;
                            }
                        }
                    }
                    if index == 0 && prev_index > 0 {
                        prev_index = 0;
                        let _ = prev_index;
                        i -= 1;
                    }
                }
                State::BoundaryPadding => {
                    if index == 0 && c == CR {
                        index = 1;
                    } else if index == 1 && c == LF {
                        cb.part_end()?;
                        cb.part_begin()?;
                        header_count = 0;
                        header_size = 0;
                        index = 0;
                        state = State::HeaderFieldStart;
                    } else if index == 1 || !(c == SPACE || c == TAB) {
                        return Err(parse_error(
                            format!("Did not find CRLF after boundary padding at {i}"),
                            i,
                            true,
                        ));
                    }
                }
                State::EndBoundary => {
                    if index == blen - 1 {
                        if c != HYPHEN {
                            return Err(parse_error(
                                format!("Did not find - at end of boundary ({i})"),
                                i,
                                true,
                            ));
                        }
                        index += 1;
                        state = State::End;
                    }
                }
                State::End => break,
            }
            i += 1;
        }

        self.data_callback(Mark::HeaderField, data, length, true, entry_flags, cb)?;
        self.data_callback(Mark::HeaderValue, data, length, true, entry_flags, cb)?;
        self.data_callback(
            Mark::PartData,
            data,
            length - index as isize,
            true,
            entry_flags,
            cb,
        )?;

        self.state = state;
        self.index = index;
        self.flags = flags;
        self.header_count = header_count;
        self.header_size = header_size;
        Ok(())
    }

    fn data_callback(
        &mut self,
        mark: Mark,
        data: &[u8],
        end_i: isize,
        remaining: bool,
        entry_flags: u8,
        cb: &mut impl Callbacks,
    ) -> Result<(), FormError> {
        let Some(marked) = self.marks[mark as usize] else {
            return Ok(());
        };
        if end_i <= marked {
        } else if marked >= 0 {
            emit(
                cb,
                mark,
                data,
                Piece::Chunk(marked as usize, end_i as usize),
            )?;
        } else {
            let look_len = (-marked) as usize;
            let blen = self.boundary.len();
            let mut lookback = self.boundary.clone();
            let valid = if look_len <= blen {
                true
            } else if entry_flags & FLAG_PART_BOUNDARY != 0 {
                lookback.extend_from_slice(b"\r\n");
                true
            } else if entry_flags & FLAG_LAST_BOUNDARY != 0 {
                lookback.extend_from_slice(b"--\r\n");
                true
            } else {
                false
            };
            if valid {
                let take = look_len.min(lookback.len());
                emit(cb, mark, data, Piece::Look(&lookback[..take]))?;
            }
            if end_i > 0 {
                emit(cb, mark, data, Piece::Chunk(0, end_i as usize))?;
            }
        }
        self.marks[mark as usize] = if remaining {
            Some(end_i - data.len() as isize)
        } else {
            None
        };
        Ok(())
    }
}

fn emit(
    cb: &mut impl Callbacks,
    mark: Mark,
    data: &[u8],
    piece: Piece<'_>,
) -> Result<(), FormError> {
    // `BaseParser.callback` skips empty data.
    if let Piece::Chunk(start, end) = piece {
        if start == end {
            return Ok(());
        }
    }
    match mark {
        Mark::HeaderField => cb.header_field(piece.bytes(data)),
        Mark::HeaderValue => cb.header_value(piece.bytes(data)),
        Mark::PartData => cb.part_data(data, piece),
    }
}

/// Text decoded with the request charset when Rust can do it exactly
/// (`_user_safe_decode`), the raw bytes otherwise (decoded in Python).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    Str(String),
    Bytes(Vec<u8>),
}

/// The charsets `_user_safe_decode` is reproduced for in Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    Latin1,
    Ascii,
    /// Any other codec: bytes go back to Python.
    Other,
}

impl Charset {
    /// `decode` of owned bytes: valid UTF-8 is kept without a copy.
    pub fn decode_owned(self, raw: Vec<u8>) -> Text {
        match self {
            Charset::Utf8 => match String::from_utf8(raw) {
                Ok(text) => Text::Str(text),
                Err(error) => Text::Str(crate::text::latin1_to_string(error.as_bytes())),
            },
            Charset::Other => Text::Bytes(raw),
            _ => self.decode(&raw),
        }
    }

    pub fn decode(self, raw: &[u8]) -> Text {
        let latin1 = || crate::text::latin1_to_string(raw);
        match self {
            Charset::Utf8 => Text::Str(match std::str::from_utf8(raw) {
                Ok(s) => s.to_owned(),
                Err(_) => latin1(),
            }),
            Charset::Latin1 => Text::Str(latin1()),
            Charset::Ascii => Text::Str(latin1()),
            Charset::Other => Text::Bytes(raw.to_vec()),
        }
    }
}

/// What Python must do, in order, after a chunk.
#[derive(Debug)]
pub enum Action {
    /// Create file number `file` (`SpooledTemporaryFile` + `UploadFile`).
    NewFile {
        filename: Text,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// Append these bytes to file `file`.
    Write { file: usize, data: FileData },
    /// `await upload.seek(0)`: the part is complete.
    Seek { file: usize },
}

/// File bytes: a range of the current chunk, or owned bytes.
#[derive(Debug)]
pub enum FileData {
    Chunk(usize, usize),
    Owned(Vec<u8>),
}

/// One finished form item.
#[derive(Debug, PartialEq, Eq)]
pub enum Item {
    Field(Text, Text),
    File(Text, usize),
}

#[derive(Default)]
struct Part {
    content_disposition: Option<Vec<u8>>,
    field_name: Option<Text>,
    data: Vec<u8>,
    file: Option<usize>,
    item_headers: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Starlette's `MultiPartParser` callbacks.
pub struct Form {
    /// The python-multipart release reproduced (its `parse_options_header`, and the
    /// machine's, see [`MultipartParser::new`]).
    pub release: Release,
    pub charset: Charset,
    max_files: f64,
    max_fields: f64,
    max_part_size: f64,
    pub files_seen: u64,
    pub fields_seen: u64,
    partial_name: Vec<u8>,
    partial_value: Vec<u8>,
    part: Part,
    pub items: Vec<Item>,
    pub actions: Vec<Action>,
    files: usize,
}

impl Form {
    pub fn new(
        release: Release,
        charset: Charset,
        max_files: f64,
        max_fields: f64,
        max_part_size: f64,
    ) -> Self {
        Self {
            release,
            charset,
            max_files,
            max_fields,
            max_part_size,
            files_seen: 0,
            fields_seen: 0,
            partial_name: Vec::new(),
            partial_value: Vec::new(),
            part: Part::default(),
            items: Vec::new(),
            actions: Vec::new(),
            files: 0,
        }
    }
}

impl Callbacks for Form {
    fn part_begin(&mut self) -> Result<(), FormError> {
        self.part = Part::default();
        Ok(())
    }

    fn part_data(&mut self, chunk: &[u8], piece: Piece<'_>) -> Result<(), FormError> {
        let bytes = piece.bytes(chunk);
        match self.part.file {
            None => {
                if (self.part.data.len() + bytes.len()) as f64 > self.max_part_size {
                    return Err(FormError::PartTooLarge);
                }
                self.part.data.extend_from_slice(bytes);
            }
            Some(file) => {
                let data = match piece {
                    Piece::Chunk(start, end) => FileData::Chunk(start, end),
                    Piece::Look(bytes) => FileData::Owned(bytes.to_vec()),
                };
                self.actions.push(Action::Write { file, data });
            }
        }
        Ok(())
    }

    fn part_end(&mut self) -> Result<(), FormError> {
        let name = self
            .part
            .field_name
            .clone()
            .unwrap_or(Text::Str(String::new()));
        match self.part.file {
            None => {
                let value = self
                    .charset
                    .decode_owned(std::mem::take(&mut self.part.data));
                self.items.push(Item::Field(name, value));
            }
            Some(file) => {
                self.actions.push(Action::Seek { file });
                self.items.push(Item::File(name, file));
            }
        }
        Ok(())
    }

    fn header_field(&mut self, data: &[u8]) -> Result<(), FormError> {
        self.partial_name.extend_from_slice(data);
        Ok(())
    }

    fn header_value(&mut self, data: &[u8]) -> Result<(), FormError> {
        self.partial_value.extend_from_slice(data);
        Ok(())
    }

    fn header_end(&mut self) -> Result<(), FormError> {
        let field = self.partial_name.to_ascii_lowercase();
        let value = std::mem::take(&mut self.partial_value);
        if field == b"content-disposition" {
            self.part.content_disposition = Some(value.clone());
        }
        self.part.item_headers.push((field, value));
        self.partial_name.clear();
        Ok(())
    }

    fn headers_finished(&mut self) -> Result<(), FormError> {
        let options = parse_disposition(self.part.content_disposition.as_deref(), self.release);
        let Some(name) = options.name else {
            return Err(FormError::MissingName);
        };
        self.part.field_name = Some(self.charset.decode(&name));
        match options.filename {
            Some(filename) => {
                self.files_seen += 1;
                if self.files_seen as f64 > self.max_files {
                    return Err(FormError::TooManyFiles);
                }
                let filename = self.charset.decode(&filename);
                let file = self.files;
                self.files += 1;
                self.actions.push(Action::NewFile {
                    filename,
                    headers: self.part.item_headers.clone(),
                });
                self.part.file = Some(file);
            }
            None => {
                self.fields_seen += 1;
                if self.fields_seen as f64 > self.max_fields {
                    return Err(FormError::TooManyFields);
                }
                self.part.file = None;
            }
        }
        Ok(())
    }
}

/// A whole parser: the machine feeding Starlette's callbacks.
pub struct MultipartParser {
    pub machine: Machine,
    pub form: Form,
}

impl MultipartParser {
    /// The machine reproduces the same release as `form`.
    pub fn new(boundary: &[u8], form: Form, max_header_count: u64, max_header_size: u64) -> Self {
        Self {
            machine: Machine::new(boundary, max_header_count, max_header_size, form.release),
            form,
        }
    }

    /// Parses one chunk; the actions it produced are in `self.form.actions`.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), FormError> {
        self.machine.write(chunk, &mut self.form)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASES: [Release; 3] = [Release::V0_0_32, Release::V0_0_33, Release::V0_0_34];

    fn form(charset: Charset, files: f64, fields: f64, size: f64) -> Form {
        Form::new(Release::V0_0_32, charset, files, fields, size)
    }

    /// Parses `body` cut into the given chunks as 0.0.32 does; fields and files (with their
    /// contents).
    pub(crate) fn run(body: &[u8], cuts: &[usize]) -> (Vec<String>, Result<(), FormError>) {
        run_in(Release::V0_0_32, body, cuts)
    }

    /// Parses `body` cut into the given chunks as `release` does.
    fn run_in(
        release: Release,
        body: &[u8],
        cuts: &[usize],
    ) -> (Vec<String>, Result<(), FormError>) {
        let unlimited = Form::new(
            release,
            Charset::Utf8,
            f64::INFINITY,
            f64::INFINITY,
            f64::INFINITY,
        );
        let mut parser = MultipartParser::new(b"B", unlimited, 8, 4224);
        let mut files: Vec<Vec<u8>> = Vec::new();
        let mut log = Vec::new();
        let mut start = 0;
        let mut bounds: Vec<usize> = cuts.iter().copied().filter(|&c| c <= body.len()).collect();
        bounds.push(body.len());
        let mut result = Ok(());
        for end in bounds {
            if end < start {
                continue;
            }
            let chunk = &body[start..end];
            start = end;
            let r = parser.feed(chunk);
            for action in parser.form.actions.drain(..) {
                match action {
                    Action::NewFile { .. } => files.push(Vec::new()),
                    Action::Write { file, data } => match data {
                        FileData::Chunk(s, e) => files[file].extend_from_slice(&chunk[s..e]),
                        FileData::Owned(v) => files[file].extend_from_slice(&v),
                    },
                    Action::Seek { .. } => {}
                }
            }
            if r.is_err() {
                result = r;
                break;
            }
        }
        for item in &parser.form.items {
            match item {
                Item::Field(Text::Str(n), Text::Str(v)) => log.push(format!("{n}={v}")),
                Item::File(Text::Str(n), f) => {
                    log.push(format!("{n}:{:?}", String::from_utf8_lossy(&files[*f])))
                }
                other => log.push(format!("{other:?}")),
            }
        }
        (log, result)
    }

    const BODY: &[u8] =
        b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--\r\n--B\r\n\
Content-Disposition: form-data; name=\"f\"; filename=\"t.txt\"\r\nContent-Type: text/plain\r\n\r\n\
\r\n--Bx\r\n--B-\r\n\r\n--B--\r\nepilogue";

    #[test]
    fn same_result_at_every_cut() {
        let (expected, ok) = run(BODY, &[]);
        assert_eq!(ok, Ok(()));
        assert_eq!(
            expected,
            vec![
                "a=x\r\n--".to_string(),
                "f:\"\\r\\n--Bx\\r\\n--B-\\r\\n\"".to_string()
            ]
        );
        for release in RELEASES {
            for a in 0..BODY.len() {
                let whole = (expected.clone(), Ok(()));
                assert_eq!(run_in(release, BODY, &[a]), whole, "cut at {a}");
                for b in (a..BODY.len()).step_by(7) {
                    let parsed = run_in(release, BODY, &[a, b]).0;
                    assert_eq!(parsed, expected, "cuts at {a}, {b}");
                }
            }
        }
    }

    const PADDED: &[u8] =
        b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--B \t \r\n\
Content-Disposition: form-data; name=\"f\"; filename=\"t\"\r\n\r\ny\r\n--B\t\r\n\
Content-Disposition: form-data; name=\"b\"\r\n\r\n\r\n--B--\r\n";

    /// 0.0.34 ends a part at a delimiter followed by spaces and tabs up to a CRLF; before,
    /// such a line was data.
    #[test]
    fn boundary_padding() {
        let padded = vec!["a=x".to_string(), "f:\"y\"".to_string(), "b=".to_string()];
        let data = "a=x\r\n--B \t \r\nContent-Disposition: form-data; name=\"f\"; \
filename=\"t\"\r\n\r\ny\r\n--B\t\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n";
        for (release, expected) in [
            (Release::V0_0_32, vec![data.to_string()]),
            (Release::V0_0_33, vec![data.to_string()]),
            (Release::V0_0_34, padded),
        ] {
            for a in 0..PADDED.len() {
                let whole = (expected.clone(), Ok(()));
                assert_eq!(run_in(release, PADDED, &[a]), whole, "cut at {a}");
                for b in (a..PADDED.len()).step_by(5) {
                    let parsed = run_in(release, PADDED, &[a, b]).0;
                    assert_eq!(parsed, expected, "cuts at {a}, {b}");
                }
            }
        }
    }

    #[test]
    fn boundary_padding_errors() {
        let head = b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--B";
        for (tail, at) in [
            (&b" x"[..], 1),
            (b" \t-", 2),
            (b"\t--\r\n", 1),
            (b" \r\r\n", 2),
            (b"\t\r \n", 2),
        ] {
            let body = [&head[..], tail].concat();
            let offset = head.len() + at;
            let error = FormError::Parse {
                message: format!("Did not find CRLF after boundary padding at {offset}"),
                offset,
                logged: true,
            };
            assert_eq!(run_in(Release::V0_0_34, &body, &[]), (vec![], Err(error)));
            // Cut before the offending byte, the offset is the chunk's.
            let (log, result) = run_in(Release::V0_0_34, &body, &[offset]);
            assert!(log.is_empty());
            assert!(
                matches!(result, Err(FormError::Parse { offset: 0, ref message, .. }) if message == "Did not find CRLF after boundary padding at 0")
            );
            for release in [Release::V0_0_32, Release::V0_0_33] {
                assert_eq!(run_in(release, &body, &[]), (vec![], Ok(())));
            }
        }
    }

    #[test]
    fn errors() {
        let (_, r) = run(b"--X\r\n", &[]);
        assert_eq!(
            r,
            Err(FormError::Parse {
                message: "Expected boundary character 66, got 88 at index 4".into(),
                offset: 2,
                logged: true
            })
        );
        let (_, r) = run(b"--B\r\nContent-Disposition: form-data\r\n\r\nx", &[]);
        assert_eq!(r, Err(FormError::MissingName));
        let (_, r) = run(b"--B\r\nBad Header: x\r\n", &[]);
        assert!(matches!(r, Err(FormError::Parse { offset: 8, .. })));
        let (_, r) = run(b"--B\r\n: x\r\n", &[]);
        assert!(
            matches!(r, Err(FormError::Parse { ref message, .. }) if message == "Found 0-length header at 5")
        );
    }

    #[test]
    fn truncated_part_is_not_an_item() {
        let (log, r) = run(
            b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nxyz",
            &[],
        );
        assert_eq!(r, Ok(()));
        assert!(log.is_empty());
    }

    #[test]
    fn limits_and_errors_of_starlette() {
        let body = b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nxyz\r\n--B\r\n\
Content-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\ndata\r\n--B--\r\n";
        let parse = |files: f64, fields: f64, size: f64| {
            let mut parser =
                MultipartParser::new(b"B", form(Charset::Utf8, files, fields, size), 8, 4224);
            parser.feed(body)
        };
        assert_eq!(parse(9.0, 9.0, 9.0), Ok(()));
        assert_eq!(parse(0.0, 9.0, 9.0), Err(FormError::TooManyFiles));
        assert_eq!(parse(9.0, 0.5, 9.0), Err(FormError::TooManyFields));
        assert_eq!(parse(9.0, 9.0, 2.0), Err(FormError::PartTooLarge));
        assert_eq!(parse(9.0, 9.0, 3.0), Ok(()));
        let mut parser = MultipartParser::new(b"B", form(Charset::Utf8, 9.0, 9.0, 9.0), 1, 4224);
        let two_headers = b"--B\r\nA: 1\r\nB: 2\r\n";
        assert!(
            matches!(parser.feed(two_headers), Err(FormError::Parse { ref message, .. }) if message == "Maximum header count exceeded")
        );
        let mut parser = MultipartParser::new(b"B", form(Charset::Utf8, 9.0, 9.0, 9.0), 8, 10);
        assert!(
            matches!(parser.feed(b"--B\r\nA: 123456789\r\n"), Err(FormError::Parse { ref message, .. }) if message == "Maximum header size exceeded")
        );
    }

    #[test]
    fn charsets() {
        assert_eq!(
            Charset::Utf8.decode(b"\xc3\xa9"),
            Text::Str("\u{e9}".into())
        );
        assert_eq!(Charset::Utf8.decode(b"\xe9"), Text::Str("\u{e9}".into()));
        assert_eq!(Charset::Ascii.decode(b"\xe9"), Text::Str("\u{e9}".into()));
        assert_eq!(Charset::Other.decode(b"\xe9"), Text::Bytes(vec![0xe9]));
    }

    /// Generated bodies (dense in boundary fragments, line ends and header syntax) cut at
    /// generated points, under generated limits: no panic, and the memory the parser holds
    /// stays bounded by its limits (header buffers by the header size limit, a field's data
    /// by `max_part_size`); a run that completes keeps every part it reported.
    #[test]
    fn generated_inputs_never_panic_and_stay_bounded() {
        const PIECES: &[&[u8]] = &[
            b"--B",
            b"\r\n--B",
            b"\r\n--B--",
            b"\r\n--B ",
            b"\t",
            b"--B--\r\n",
            b"\r\n",
            b"\r",
            b"\n",
            b"-",
            b"--",
            b"B",
            b"\r\n\r\n",
            b"Content-Disposition: form-data; name=\"a\"",
            b"; filename=\"f\"",
            b"Content-Disposition: form-data; name=",
            b"X: y",
            b":",
            b" ",
            b"\"",
            b";",
            b"\x00",
            b"\xe9",
            b"x",
            b"name",
            b"filename*=",
            b"\\",
        ];
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..100_000 {
            let body = crate::test_support::pick(&mut next, PIECES, 30).concat();
            let limit = |n: u64| {
                if n.is_multiple_of(3) {
                    f64::INFINITY
                } else {
                    (n % 5) as f64
                }
            };
            let (header_size, part_size) = (next() % 64, limit(next()) * 8.0);
            let release = RELEASES[(next() % 3) as usize];
            let form = Form::new(
                release,
                Charset::Utf8,
                limit(next()),
                limit(next()),
                part_size,
            );
            let mut parser = MultipartParser::new(b"B", form, 1 + next() % 8, header_size);
            let mut start = 0;
            while start < body.len() {
                let end = (start + 1 + (next() % 40) as usize).min(body.len());
                let result = parser.feed(&body[start..end]);
                let form = &parser.form;
                assert!(form.partial_name.len() as u64 <= header_size);
                assert!(form.partial_value.len() as u64 <= header_size);
                assert!(form.part.data.len() as f64 <= part_size);
                parser.form.actions.clear();
                if result.is_err() {
                    break;
                }
                start = end;
            }
        }
    }
}
