//! The rules of Starlette's `Response.init_headers`, on Latin-1 text.
//!
//! Python encodes header names with `str.lower().encode("latin-1")` and values with
//! `.encode("latin-1")`; the callers here only take text whose every character is below
//! U+0100 (and ASCII names), where those are a byte per character and ASCII lowercasing.

/// Whether a body of this status gets a `content-length`: not for 1xx, 204 and 304.
pub fn status_takes_content_length(status: i64) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

/// The `content-type` value for `media_type`: a `text/` type without a charset parameter gets
/// `; charset=<charset>` (Python checks `"charset=" not in media_type.lower()`; on Latin-1 text no
/// character lowercases into ASCII, so an ASCII case-insensitive search is the same test).
pub fn content_type(media_type: &str, charset: &str) -> String {
    if media_type.starts_with("text/") && !contains_ascii_ignore_case(media_type, "charset=") {
        format!("{media_type}; charset={charset}")
    } else {
        media_type.to_owned()
    }
}

fn contains_ascii_ignore_case(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

/// `text.encode("latin-1")`, or `None` when a character is above U+00FF (Python raises).
pub fn latin1_bytes(text: &str) -> Option<Vec<u8>> {
    if text.is_ascii() {
        return Some(text.as_bytes().to_vec());
    }
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_follows_the_status() {
        assert!(status_takes_content_length(200));
        assert!(status_takes_content_length(599));
        assert!(!status_takes_content_length(101));
        assert!(!status_takes_content_length(-5));
        assert!(!status_takes_content_length(204));
        assert!(!status_takes_content_length(304));
        assert!(status_takes_content_length(205));
    }

    #[test]
    fn text_types_get_a_charset_once() {
        assert_eq!(
            content_type("text/plain", "utf-8"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            content_type("text/html; CharSet=latin-1", "utf-8"),
            "text/html; CharSet=latin-1"
        );
        assert_eq!(
            content_type("application/json", "utf-8"),
            "application/json"
        );
        assert_eq!(content_type("Text/plain", "utf-8"), "Text/plain");
        assert_eq!(content_type("text/", "x"), "text/; charset=x");
        assert_eq!(content_type("text/a\u{e9}", "x"), "text/a\u{e9}; charset=x");
    }

    #[test]
    fn latin1_encoding_stops_above_ff() {
        assert_eq!(latin1_bytes("a\u{e9}\u{ff}"), Some(vec![b'a', 0xe9, 0xff]));
        assert_eq!(latin1_bytes("\u{100}"), None);
        assert_eq!(latin1_bytes(""), Some(vec![]));
    }
}
