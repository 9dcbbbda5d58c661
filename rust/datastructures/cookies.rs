//! Starlette's `cookie_parser`: split on `;`, split each chunk on its first `=` (a chunk
//! without one is a value with an empty name), strip Python whitespace, skip empty pairs,
//! and unquote values with `http.cookies._unquote`'s algorithm.

use crate::text::py_strip;

/// The `(name, value)` pairs in header order; inserting them one by one into a dict gives
/// Starlette's result (first position, last value wins).
pub fn parse_cookie(cookie: &str) -> Vec<(&str, String)> {
    cookie
        .split(';')
        .filter_map(|chunk| {
            let (key, value) = chunk.split_once('=').unwrap_or(("", chunk));
            let (key, value) = (py_strip(key), py_strip(value));
            (!key.is_empty() || !value.is_empty()).then(|| (key, unquote_cookie(value)))
        })
        .collect()
}

/// `http.cookies._unquote`: a value wrapped in double quotes loses them, and inside, `\ooo`
/// (first digit 0-3) becomes that octal code point and `\` before any character but a
/// newline becomes that character. Where both could start, the octal escape wins.
pub fn unquote_cookie(value: &str) -> String {
    // '"' is one byte, so byte length and character length agree on "at least two".
    if value.len() < 2 || !value.starts_with('"') || !value.ends_with('"') {
        return value.to_owned();
    }
    let inner = &value[1..value.len() - 1];
    if !inner.contains('\\') {
        return inner.to_owned();
    }
    let chars: Vec<char> = inner.chars().collect();
    let mut out = String::with_capacity(inner.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' {
            if let Some(code) = octal_escape(&chars[i + 1..]) {
                out.push(code);
                i += 4;
                continue;
            }
            if let Some(&next) = chars.get(i + 1) {
                if next != '\n' {
                    out.push(next);
                    i += 2;
                    continue;
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn octal_escape(digits: &[char]) -> Option<char> {
    match digits {
        [a @ '0'..='3', b @ '0'..='7', c @ '0'..='7', ..] => {
            let value = [a, b, c]
                .iter()
                .fold(0u32, |acc, d| acc * 8 + (**d as u32 - '0' as u32));
            char::from_u32(value)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datastructures::test_support::{pairs, random_inputs};

    fn parsed(cookie: &str) -> Vec<(String, String)> {
        parse_cookie(cookie)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    #[test]
    fn splits_and_strips() {
        assert_eq!(
            parsed(" a = 1 ; b=2;;c"),
            pairs(&[("a", "1"), ("b", "2"), ("", "c")])
        );
    }

    #[test]
    fn keeps_later_equals_in_value() {
        assert_eq!(parsed("a=b=c"), pairs(&[("a", "b=c")]));
    }

    #[test]
    fn unquotes_like_http_cookies() {
        assert_eq!(unquote_cookie(r#""a\"b""#), "a\"b");
        assert_eq!(unquote_cookie(r#""\012x""#), "\nx");
        assert_eq!(unquote_cookie(r#""\\012""#), "\\012");
        assert_eq!(unquote_cookie(r#""\\\012""#), "\\\n");
        assert_eq!(unquote_cookie(r#""\477""#), "477");
        assert_eq!(unquote_cookie("\"a\\\nb\""), "a\\\nb");
        assert_eq!(unquote_cookie(r#""abc\""#), "abc\\");
        assert_eq!(unquote_cookie("\""), "\"");
        assert_eq!(unquote_cookie("\"\""), "");
        assert_eq!(unquote_cookie("x\"y\""), "x\"y\"");
    }

    #[test]
    fn random_inputs_never_grow_and_never_panic() {
        for input in random_inputs(200_000) {
            for (name, value) in parse_cookie(&input) {
                // Names are slices of the input; unquoting only ever removes characters.
                assert!(input.contains(name), "{input:?}");
                assert!(value.chars().count() <= input.chars().count(), "{input:?}");
            }
        }
    }
}
