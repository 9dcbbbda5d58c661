//! `urllib.parse.parse_qsl(qs, keep_blank_values=True)` with CPython's exact semantics:
//! fields split on `&` only, empty fields dropped, the first `=` splits name from value,
//! `+` becomes a space before percent-decoding, `%XX` with two hex digits becomes a byte,
//! each maximal ASCII run is decoded as UTF-8 with invalid sequences replaced (U+FFFD per
//! maximal invalid subpart, as CPython does), and non-ASCII characters pass through untouched.
//! Starlette parses `scope["query_string"]` after decoding it as latin-1.

use std::borrow::Cow;

/// Parses a query string given as text.
pub fn parse_qsl(qs: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    qs.split('&')
        .filter(|field| !field.is_empty())
        .map(|field| {
            let (name, value) = field.split_once('=').unwrap_or((field, ""));
            (unquote_plus(name), unquote_plus(value))
        })
        .collect()
}

/// `unquote(s.replace("+", " "))`.
pub fn unquote_plus(s: &str) -> Cow<'_, str> {
    if s.contains('+') {
        Cow::Owned(unquote(&s.replace('+', " ")).into_owned())
    } else {
        unquote(s)
    }
}

/// `urllib.parse.unquote(s)` with the default `utf-8` / `replace` arguments.
pub fn unquote(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        let ascii_len = rest.bytes().take_while(u8::is_ascii).count();
        let (ascii, tail) = rest.split_at(ascii_len);
        if !ascii.is_empty() {
            let decoded = percent_decode(ascii.as_bytes());
            out.push_str(&String::from_utf8_lossy(&decoded));
        }
        let other_len = tail
            .char_indices()
            .find(|(_, c)| c.is_ascii())
            .map_or(tail.len(), |(i, _)| i);
        let (other, next) = tail.split_at(other_len);
        out.push_str(other);
        rest = next;
    }
    Cow::Owned(out)
}

/// Appends `unquote_plus(raw.decode("latin-1"))` to `out`, in one pass and without
/// allocating once `out` and `scratch` (the percent-decoded bytes of an ASCII run) have
/// grown: the form parser's per-field decode.
pub fn unquote_plus_latin1_into(raw: &[u8], out: &mut String, scratch: &mut Vec<u8>) {
    let mut rest = raw;
    while !rest.is_empty() {
        let (ascii, tail) = rest.split_at(ascii_prefix_len(rest));
        if memchr::memchr(b'%', ascii).is_none() {
            // No escapes: the run is its own text, with `+` as a space.
            let mut start = 0;
            for plus in memchr::memchr_iter(b'+', ascii) {
                out.push_str(ascii_text(&ascii[start..plus]));
                out.push(' ');
                start = plus + 1;
            }
            out.push_str(ascii_text(&ascii[start..]));
        } else {
            scratch.clear();
            let mut start = 0;
            for at in memchr::memchr2_iter(b'%', b'+', ascii) {
                if at < start {
                    continue; // inside an escape just decoded
                }
                scratch.extend_from_slice(&ascii[start..at]);
                start = at + 1;
                if ascii[at] == b'+' {
                    scratch.push(b' ');
                } else if let (Some(hi), Some(lo)) = (
                    ascii.get(at + 1).and_then(|&b| hex_value(b)),
                    ascii.get(at + 2).and_then(|&b| hex_value(b)),
                ) {
                    scratch.push(hi << 4 | lo);
                    start = at + 3;
                } else {
                    scratch.push(b'%');
                }
            }
            scratch.extend_from_slice(&ascii[start..]);
            match std::str::from_utf8(scratch) {
                Ok(text) => out.push_str(text),
                Err(_) => out.push_str(&String::from_utf8_lossy(scratch)),
            }
        }
        let other_len = tail.iter().position(u8::is_ascii).unwrap_or(tail.len());
        out.extend(tail[..other_len].iter().map(|&b| char::from(b)));
        rest = &tail[other_len..];
    }
}

/// The length of the ASCII prefix of `bytes`, eight bytes at a time.
fn ascii_prefix_len(bytes: &[u8]) -> usize {
    let mut length = 0;
    for word in bytes.chunks_exact(8) {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        if u64::from_ne_bytes(eight) & 0x8080_8080_8080_8080 != 0 {
            break;
        }
        length += 8;
    }
    length
        + bytes[length..]
            .iter()
            .position(|b| !b.is_ascii())
            .unwrap_or(bytes.len() - length)
}

/// ASCII bytes as text (they always are valid UTF-8).
fn ascii_text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// `urllib.parse.unquote_to_bytes` on ASCII input: `%` followed by two hex digits is a byte,
/// any other `%` stays as it is.
fn percent_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'%') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let byte = input[i];
        if byte == b'%' && i + 2 < input.len() {
            if let (Some(hi), Some(lo)) = (hex_value(input[i + 1]), hex_value(input[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(byte);
        i += 1;
    }
    Cow::Owned(out)
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::datastructures::test_support::{pairs, random_inputs};
    fn parse_qsl(qs: &str) -> Vec<(String, String)> {
        super::parse_qsl(qs)
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The one-pass form decode equals `unquote_plus` of the latin-1 text, on generated bytes.
    #[test]
    fn latin1_decode_into_matches_unquote_plus() {
        const PIECES: &[&[u8]] = &[
            b"a",
            b"+",
            b"%",
            b"%2",
            b"%2B",
            b"%C3",
            b"%A9",
            b"%e9",
            b"\xe9",
            b"\xff",
            b"%zz",
            b"%F0%90%80",
            b"%ED%A0%80",
            b" ",
            b"=",
        ];
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1d);
        let (mut out, mut scratch) = (String::new(), Vec::new());
        for _ in 0..100_000 {
            let raw = crate::test_support::pick(&mut next, PIECES, 12).concat();
            out.clear();
            out.push('x');
            super::unquote_plus_latin1_into(&raw, &mut out, &mut scratch);
            let expected = super::unquote_plus(&crate::text::latin1_to_string(&raw)).into_owned();
            assert_eq!(&out[1..], expected, "{raw:?}");
        }
    }

    #[test]
    fn splits_on_ampersand_only() {
        assert_eq!(
            parse_qsl("a=1&b=2;c=3"),
            pairs(&[("a", "1"), ("b", "2;c=3")])
        );
    }

    #[test]
    fn keeps_blank_values_and_drops_empty_fields() {
        assert_eq!(
            parse_qsl("&a&&b=&=c&"),
            pairs(&[("a", ""), ("b", ""), ("", "c")])
        );
        assert!(parse_qsl("").is_empty());
    }

    #[test]
    fn plus_is_space_but_encoded_plus_is_not() {
        assert_eq!(parse_qsl("a+b=c%2Bd"), pairs(&[("a b", "c+d")]));
    }

    #[test]
    fn first_equals_splits() {
        assert_eq!(parse_qsl("a==b=c"), pairs(&[("a", "=b=c")]));
    }

    #[test]
    fn invalid_escapes_stay_literal() {
        assert_eq!(
            parse_qsl("a=%zz%4&b=%&c=%4"),
            pairs(&[("a", "%zz%4"), ("b", "%"), ("c", "%4")])
        );
    }

    #[test]
    fn invalid_utf8_is_replaced_per_maximal_subpart() {
        assert_eq!(parse_qsl("a=%C3%A9%FF"), pairs(&[("a", "\u{e9}\u{fffd}")]));
        assert_eq!(parse_qsl("a=%F0%90%80"), pairs(&[("a", "\u{fffd}")]));
        assert_eq!(
            parse_qsl("a=%ED%A0%80"),
            pairs(&[("a", "\u{fffd}\u{fffd}\u{fffd}")])
        );
    }

    #[test]
    fn non_ascii_splits_escape_runs() {
        // CPython decodes each ASCII run on its own, so a sequence cut by a non-ASCII
        // character is two invalid halves.
        assert_eq!(
            parse_qsl("a=%C3\u{e9}%A9"),
            pairs(&[("a", "\u{fffd}\u{e9}\u{fffd}")])
        );
    }

    #[test]
    fn latin1_text_passes_through() {
        let text = crate::text::latin1_to_string(b"k=\xe9%C3%A9");
        assert_eq!(parse_qsl(&text), pairs(&[("k", "\u{e9}\u{e9}")]));
    }

    #[test]
    fn random_inputs_keep_the_field_structure() {
        for input in random_inputs(200_000) {
            let fields: Vec<&str> = input.split('&').filter(|f| !f.is_empty()).collect();
            let parsed = super::parse_qsl(&input);
            assert_eq!(parsed.len(), fields.len(), "{input:?}");
            for (field, (name, value)) in fields.iter().zip(&parsed) {
                if !field.contains(['%', '+']) {
                    let (n, v) = field.split_once('=').unwrap_or((field, ""));
                    assert_eq!((name.as_ref(), value.as_ref()), (n, v), "{input:?}");
                }
            }
        }
    }
}
