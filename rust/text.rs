//! Small text helpers that reproduce CPython's own definitions exactly.

/// `str.isspace()` for one character, as CPython defines it (it differs from
/// `char::is_whitespace`: CPython also counts the separators U+001C..U+001F).
pub fn py_isspace(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// `str.strip()` with no argument.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// `bytes.decode("latin-1")`: every byte is the code point of the same value.
pub fn latin1_to_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_matches_python_whitespace() {
        assert_eq!(py_strip("\u{1c} a b \u{a0}\u{3000}"), "a b");
        assert_eq!(py_strip("\u{200b}x"), "\u{200b}x"); // zero-width space is not whitespace
        assert_eq!(py_strip(""), "");
    }

    #[test]
    fn latin1_maps_bytes_to_code_points() {
        assert_eq!(latin1_to_string(b"a\xe9\xff"), "a\u{e9}\u{ff}");
    }
}
