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

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of the 8 bytes in `word` is a control character, `"` or `\`.
fn needs_escape(word: u64) -> bool {
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    (below_space
        | (quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash))
        & HIGHS
        != 0
}

/// Where the first byte that needs an escape is, or `bytes.len()`: eight bytes at a time,
/// then one by one from the first word that holds one.
fn first_escape(bytes: &[u8]) -> usize {
    let mut start = 0;
    for chunk in bytes.chunks_exact(8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        if needs_escape(word) {
            break;
        }
        start += 8;
    }
    bytes[start..]
        .iter()
        .position(|&byte| NEEDS_ESCAPE[usize::from(byte)])
        .map_or(bytes.len(), |offset| start + offset)
}

/// Appends `bytes`, copying short ones inline: for the keys, numbers and words of a typical
/// payload, a call to `memcpy` costs more than the copy.
#[inline]
pub fn append(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if !(4..=16).contains(&len) {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(len);
    let at = out.len();
    // SAFETY: `reserve` made room for `len` bytes after `at`, and `bytes` cannot overlap
    // `out`'s spare capacity (it is borrowed while `out` is mutably borrowed).
    unsafe {
        copy_short(bytes.as_ptr(), out.as_mut_ptr().add(at), len);
        out.set_len(at + len);
    }
}

/// Appends `out[start..end]` again, as `append` does.
#[inline]
pub fn append_within(out: &mut Vec<u8>, start: usize, end: usize) {
    let len = end - start;
    if !(4..=16).contains(&len) || end > out.len() {
        out.extend_from_within(start..end);
        return;
    }
    out.reserve(len);
    let at = out.len();
    // SAFETY: `start..end` lies in the initialised part before `at` (checked above) and the
    // target `at..at + len` in the room `reserve` made: the two do not overlap.
    unsafe {
        let base = out.as_mut_ptr();
        copy_short(base.add(start), base.add(at), len);
        out.set_len(at + len);
    }
}

/// Copies 4 to 16 bytes with two overlapping word moves.
///
/// # Safety
/// `source..source + len` must be readable, `target..target + len` writable, and the two
/// ranges must not overlap.
#[inline]
unsafe fn copy_short(source: *const u8, target: *mut u8, len: usize) {
    debug_assert!((4..=16).contains(&len));
    // SAFETY: the caller's contract; each move reads and writes inside the two ranges.
    unsafe {
        if len >= 8 {
            let head = source.cast::<u64>().read_unaligned();
            let tail = source.add(len - 8).cast::<u64>().read_unaligned();
            target.cast::<u64>().write_unaligned(head);
            target.add(len - 8).cast::<u64>().write_unaligned(tail);
        } else {
            let head = source.cast::<u32>().read_unaligned();
            let tail = source.add(len - 4).cast::<u32>().read_unaligned();
            target.cast::<u32>().write_unaligned(head);
            target.add(len - 4).cast::<u32>().write_unaligned(tail);
        }
    }
}

/// Appends `text` as a quoted JSON string.
pub fn write_string(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let first = first_escape(bytes);
    if first == bytes.len() {
        append(out, bytes);
        out.push(b'"');
        return;
    }
    out.extend_from_slice(&bytes[..first]);
    let mut start = first;
    for (index, &byte) in bytes.iter().enumerate().skip(first) {
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

    #[test]
    fn every_byte_value_at_every_offset_of_a_word() {
        for length in 0..=20 {
            for position in 0..length {
                for byte in 0u8..=127 {
                    let mut bytes = vec![b'a'; length];
                    bytes[position] = byte;
                    let text = String::from_utf8(bytes).unwrap();
                    let expected = if NEEDS_ESCAPE[usize::from(byte)] {
                        position
                    } else {
                        length
                    };
                    assert_eq!(first_escape(text.as_bytes()), expected, "{text:?}");
                    let mut out = b"xy".to_vec();
                    append(&mut out, text.as_bytes());
                    append_within(&mut out, 2, 2 + length);
                    assert_eq!(out, [b"xy", text.as_bytes(), text.as_bytes()].concat());
                }
            }
        }
    }
}
