//! Streaming `application/x-www-form-urlencoded` parsing with Starlette's exact semantics.
//!
//! Starlette's `FormParser` feeds python-multipart's `QuerystringParser` chunk by chunk and
//! keeps, per field, the name and value bytes its callbacks receive; each finished field is
//! `unquote_plus(bytes.decode("latin-1"))`. This is a port of that state machine (0.0.32;
//! 0.0.33 and 0.0.34 make the same callbacks with the same data, so it takes no release, see
//! `super::release`): fields are the non-empty pieces between `&`, split on their first `=`,
//! so the fields do not depend on where chunks are cut. What depends on the chunks is *when* a limit trips:
//! the size check runs once per name or value piece (a piece ends at `=`, `&` or the end of
//! a chunk), the field count check when a field ends. Both are reproduced, so an error is
//! raised while handling the same chunk, with the same partial field state, as Starlette.

use std::ops::Range;

use crate::datastructures::query_string::unquote_plus_latin1_into;

/// A limit Starlette enforces, raised as `MultiPartException` with its own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitError {
    /// `Too many fields. Maximum number of fields is {max_fields}.`
    TooManyFields,
    /// `Field exceeded maximum size of {int(max_part_size / 1024)}KB.`
    FieldTooLarge,
}

/// Names and values of at least this many bytes keep their own allocation.
const OWNED_FROM: usize = 4096;

/// A finished name or value: a range of the shared text, or a text of its own.
#[derive(Debug)]
enum Decoded {
    InText(Range<usize>),
    Owned(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    BeforeField,
    FieldName,
    FieldData,
}

/// One request body's parser. Limits are compared as Python compares an `int` count with
/// an `int | float` limit (the counts stay far below 2**53, where `f64` is exact).
#[derive(Debug)]
pub struct UrlencodedParser {
    max_fields: f64,
    max_part_size: f64,
    state: State,
    found_sep: bool,
    /// `FormParser._current_fields`
    pub fields_seen: u64,
    /// `FormParser._current_field_size`
    pub field_size: u64,
    /// `FormParser._field_name` / `._field_value`
    pub name: Vec<u8>,
    pub value: Vec<u8>,
    /// The decoded text of the finished fields, one after another.
    text: String,
    /// Per finished field, its name and its value.
    fields: Vec<(Decoded, Decoded)>,
    /// Percent-decoded bytes of the run being decoded (kept for its capacity).
    scratch: Vec<u8>,
}

impl UrlencodedParser {
    pub fn new(max_fields: f64, max_part_size: f64) -> Self {
        Self {
            max_fields,
            max_part_size,
            state: State::BeforeField,
            found_sep: false,
            fields_seen: 0,
            field_size: 0,
            name: Vec::new(),
            value: Vec::new(),
            text: String::new(),
            fields: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// How many fields are finished.
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// The finished fields, decoded: `unquote_plus(bytes.decode("latin-1"))` of each name and value.
    pub fn items(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .map(|(name, value)| (self.text_of(name), self.text_of(value)))
    }

    fn text_of<'a>(&'a self, decoded: &'a Decoded) -> &'a str {
        match decoded {
            Decoded::InText(range) => &self.text[range.clone()],
            Decoded::Owned(text) => text,
        }
    }

    fn field_start(&mut self) {
        self.field_size = 0;
        self.name.clear();
        self.value.clear();
    }

    fn grow(&mut self, len: usize) -> Result<(), LimitError> {
        self.field_size += len as u64;
        if self.field_size as f64 > self.max_part_size {
            return Err(LimitError::FieldTooLarge);
        }
        Ok(())
    }

    fn field_name(&mut self, piece: &[u8]) -> Result<(), LimitError> {
        if piece.is_empty() {
            return Ok(());
        }
        self.grow(piece.len())?;
        self.name.extend_from_slice(piece);
        Ok(())
    }

    fn field_data(&mut self, piece: &[u8]) -> Result<(), LimitError> {
        if piece.is_empty() {
            return Ok(());
        }
        self.grow(piece.len())?;
        self.value.extend_from_slice(piece);
        Ok(())
    }

    fn field_end(&mut self) -> Result<(), LimitError> {
        self.fields_seen += 1;
        if self.fields_seen as f64 > self.max_fields {
            return Err(LimitError::TooManyFields);
        }
        let name = decode(&mut self.name, &mut self.text, &mut self.scratch);
        let value = decode(&mut self.value, &mut self.text, &mut self.scratch);
        self.fields.push((name, value));
        Ok(())
    }

    /// `QuerystringParser.write(chunk)` with Starlette's callbacks.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), LimitError> {
        let length = data.len();
        let mut i = 0;
        while i < length {
            match self.state {
                State::BeforeField => {
                    if data[i] == b'&' {
                        // A first separator is expected; later ones are skipped.
                        self.found_sep = true;
                        i += 1;
                    } else {
                        self.field_start();
                        self.state = State::FieldName;
                        self.found_sep = false;
                    }
                }
                State::FieldName => {
                    let sep = memchr::memchr(b'&', &data[i..]).map(|p| p + i);
                    let limit = sep.unwrap_or(length);
                    match memchr::memchr(b'=', &data[i..limit]).map(|p| p + i) {
                        Some(equals) => {
                            self.field_name(&data[i..equals])?;
                            self.state = State::FieldData;
                            i = equals + 1;
                        }
                        None => {
                            self.field_name(&data[i..limit])?;
                            match sep {
                                Some(sep) => {
                                    self.field_end()?;
                                    self.state = State::BeforeField;
                                    i = sep;
                                }
                                None => i = length,
                            }
                        }
                    }
                }
                State::FieldData => match memchr::memchr(b'&', &data[i..]).map(|p| p + i) {
                    Some(sep) => {
                        self.field_data(&data[i..sep])?;
                        self.field_end()?;
                        self.state = State::BeforeField;
                        i = sep;
                    }
                    None => {
                        self.field_data(&data[i..])?;
                        i = length;
                    }
                },
            }
        }
        Ok(())
    }

    /// `QuerystringParser.finalize()`: a field still open at the end is finished.
    pub fn finish(&mut self) -> Result<(), LimitError> {
        if self.state != State::BeforeField {
            self.field_end()?;
        }
        Ok(())
    }
}

/// `unquote_plus(raw.decode("latin-1"))` of a finished name or value: a small one appended to
/// `text` (its buffer kept for the next field), a large one in a text of its own, taking its
/// buffer (a plain one becomes the string without a copy).
fn decode(raw: &mut Vec<u8>, text: &mut String, scratch: &mut Vec<u8>) -> Decoded {
    if raw.len() < OWNED_FROM {
        let start = text.len();
        unquote_plus_latin1_into(raw, text, scratch);
        return Decoded::InText(start..text.len());
    }
    let raw = std::mem::take(raw);
    if raw.is_ascii() && memchr::memchr2(b'%', b'+', &raw).is_none() {
        return Decoded::Owned(String::from_utf8(raw).unwrap_or_default());
    }
    let mut own = String::with_capacity(raw.len());
    unquote_plus_latin1_into(&raw, &mut own, scratch);
    Decoded::Owned(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(
        chunks: &[&[u8]],
        max_fields: f64,
        max_size: f64,
    ) -> Result<Vec<(String, String)>, LimitError> {
        let mut parser = UrlencodedParser::new(max_fields, max_size);
        for chunk in chunks {
            parser.feed(chunk)?;
        }
        parser.finish()?;
        Ok(parser
            .items()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect())
    }

    fn owned(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn fields_are_the_pieces_between_ampersands() {
        let expected = owned(&[
            ("a", "1"),
            ("b", ""),
            ("", "c"),
            ("d", "=e"),
            ("f g", "h+i"),
        ]);
        let body = b"&&a=1&&b&=c&d==e&f+g=h%2Bi&";
        assert_eq!(
            parse_chunks(&[body], f64::INFINITY, f64::INFINITY),
            Ok(expected.clone())
        );
        for cut in 0..=body.len() {
            let (x, y) = body.split_at(cut);
            assert_eq!(
                parse_chunks(&[x, y], f64::INFINITY, f64::INFINITY),
                Ok(expected.clone())
            );
        }
    }

    #[test]
    fn raw_bytes_are_latin1_and_escapes_utf8() {
        assert_eq!(
            parse_chunks(&[b"\xe9=%C3%A9"], f64::INFINITY, f64::INFINITY),
            Ok(owned(&[("\u{e9}", "\u{e9}")]))
        );
    }

    #[test]
    fn limits() {
        assert_eq!(
            parse_chunks(&[b"a=1&b=2"], 1.0, f64::INFINITY),
            Err(LimitError::TooManyFields)
        );
        assert_eq!(
            parse_chunks(&[b"a=1&b=2"], 2.0, f64::INFINITY).map(|v| v.len()),
            Ok(2)
        );
        assert_eq!(
            parse_chunks(&[b"ab=cd"], f64::INFINITY, 3.0),
            Err(LimitError::FieldTooLarge)
        );
        assert_eq!(
            parse_chunks(&[b"ab=c"], f64::INFINITY, 3.0).map(|v| v.len()),
            Ok(1)
        );
        assert_eq!(
            parse_chunks(&[b"a=1"], f64::NAN, f64::NAN).map(|v| v.len()),
            Ok(1)
        );
        assert_eq!(
            parse_chunks(&[b"a=1"], -1.0, f64::INFINITY),
            Err(LimitError::TooManyFields)
        );
    }

    #[test]
    fn size_error_keeps_the_pieces_before_it() {
        let mut parser = UrlencodedParser::new(f64::INFINITY, 4.0);
        parser.feed(b"k=ab").unwrap();
        assert_eq!(parser.feed(b"cd"), Err(LimitError::FieldTooLarge));
        assert_eq!(parser.value, b"ab");
    }

    /// Generated bodies at generated cuts: no panic, the held field never outgrows the size
    /// limit, and without limits the fields equal the single-chunk parse.
    #[test]
    fn generated_inputs_never_panic_and_ignore_cuts() {
        const PIECES: &[&[u8]] = &[
            b"a", b"=", b"&", b"+", b"%", b"%2", b"%C3", b"%A9", b"\xe9", b"\xff", b"%zz",
        ];
        let mut next = crate::test_support::xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..100_000 {
            let body = crate::test_support::pick(&mut next, PIECES, 24).concat();
            let whole = parse_chunks(&[&body], f64::INFINITY, f64::INFINITY);
            let cut = (next() as usize) % (body.len() + 1);
            let (x, y) = body.split_at(cut);
            assert_eq!(parse_chunks(&[x, y], f64::INFINITY, f64::INFINITY), whole);
            let size = (next() % 6) as f64;
            let mut parser = UrlencodedParser::new((next() % 4) as f64, size);
            for piece in [x, y] {
                let failed = parser.feed(piece).is_err();
                assert!((parser.name.len() + parser.value.len()) as f64 <= size);
                if failed {
                    break;
                }
            }
        }
    }
}
