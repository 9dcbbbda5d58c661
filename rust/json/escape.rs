//! JSON string encoding as `json.dumps(..., ensure_ascii=False)` does it: only `"`, `\` and
//! the control characters below U+0020 are escaped (`\n`, `\r`, `\t`, `\b`, `\f` by name,
//! the others as lowercase `\u00XX`); everything else is copied as UTF-8.

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Bytes that need an escape: `"`, `\\` and the C0 controls.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Appends `text` as a quoted JSON string.
pub fn write_string(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        if !NEEDS_ESCAPE[usize::from(byte)] {
            continue;
        }
        let named: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            _ => b"",
        };
        out.extend_from_slice(&bytes[start..index]);
        if named.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
        } else {
            out.extend_from_slice(named);
        }
        start = index + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(text: &str) -> String {
        let mut out = Vec::new();
        write_string(text, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_json_dumps_without_ensure_ascii() {
        assert_eq!(encoded("plain"), "\"plain\"");
        assert_eq!(encoded("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(encoded("\n\r\t\u{8}\u{c}"), "\"\\n\\r\\t\\b\\f\"");
        assert_eq!(encoded("\u{0}\u{1f}\u{7f}"), "\"\\u0000\\u001f\u{7f}\"");
        assert_eq!(
            encoded("\u{e9}\u{2028}\u{1f600}"),
            "\"\u{e9}\u{2028}\u{1f600}\""
        );
    }
}
