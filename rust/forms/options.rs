//! python-multipart's `parse_options_header` (0.0.32, 0.0.33 or 0.0.34, see [`Release`]):
//! for the request's `Content-Type` (`_core.parse_options_header`), and for a part's
//! `Content-Disposition`, reduced to what Starlette reads from it (the `name` and `filename`
//! options).
//!
//! The header bytes are decoded as latin-1 there, so every byte is one character and this
//! port works on bytes; `str.strip()` / `.lower()` use CPython's definitions restricted to
//! the latin-1 range. `_parseparam` (vendored from the stdlib's `email.message`) is ported
//! literally, including its index arithmetic, with Python's slice-index rules.

use std::collections::HashMap;

use super::release::Release;

/// The options Starlette looks up; a later occurrence of a key replaces an earlier one.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Disposition {
    pub name: Option<Vec<u8>>,
    pub filename: Option<Vec<u8>>,
}

/// `str.isspace()` for a latin-1 character.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | 0x1c..=0x20 | 0x85 | 0xa0)
}

/// A space or a tab: what `str.strip(" \t")` removes.
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// What the release's `strip()` / `lstrip()` / `rstrip()` calls remove.
fn stripped(release: Release) -> fn(u8) -> bool {
    if release.strips_blanks_only() {
        is_blank
    } else {
        is_space
    }
}

fn strip(s: &[u8], space: fn(u8) -> bool) -> &[u8] {
    rstrip(lstrip(s, space), space)
}

fn lstrip(s: &[u8], space: fn(u8) -> bool) -> &[u8] {
    let start = s.iter().position(|&b| !space(b)).unwrap_or(s.len());
    &s[start..]
}

fn rstrip(s: &[u8], space: fn(u8) -> bool) -> &[u8] {
    let end = s.iter().rposition(|&b| !space(b)).map_or(0, |p| p + 1);
    &s[..end]
}

/// `str.lower()` on a latin-1 string (A-Z and U+00C0..U+00DE except U+00D7).
fn lower(b: u8) -> u8 {
    match b {
        b'A'..=b'Z' | 0xc0..=0xd6 | 0xd8..=0xde => b + 32,
        _ => b,
    }
}

/// Python's normalisation of `start`/`end` arguments to `str.find` / `str.count`.
fn adjust(index: isize, len: usize) -> usize {
    let len = len as isize;
    if index < 0 {
        (index + len).max(0) as usize
    } else {
        index.min(len) as usize
    }
}

/// `s.find(sub, start[, end])` for a one-byte `sub`.
fn find(s: &[u8], sub: u8, start: isize, end: Option<isize>) -> isize {
    let start = adjust(start, s.len());
    let end = end.map_or(s.len(), |e| adjust(e, s.len()));
    if start > end {
        return -1;
    }
    memchr::memchr(sub, &s[start..end]).map_or(-1, |p| (p + start) as isize)
}

/// `s.count(sub, start, end)` for `sub` of one or two bytes (non-overlapping).
fn count(s: &[u8], sub: &[u8], start: isize, end: isize) -> isize {
    let start = adjust(start, s.len());
    let end = adjust(end, s.len());
    if start > end || end - start < sub.len() {
        return 0;
    }
    let hay = &s[start..end];
    let mut n = 0;
    let mut i = 0;
    while i + sub.len() <= hay.len() {
        if &hay[i..i + sub.len()] == sub {
            n += 1;
            i += sub.len();
        } else {
            i += 1;
        }
    }
    n
}

/// `_parseparam(value)`.
fn parseparam(value: &[u8], release: Release) -> Vec<Vec<u8>> {
    let space = stripped(release);
    let mut s = Vec::with_capacity(value.len() + 1);
    s.push(b';');
    s.extend_from_slice(value);
    let s = &s[..];
    let mut plist = Vec::new();
    let mut start: isize = 0;
    while find(s, b';', start, None) == start {
        start += 1;
        let mut end = find(s, b';', start, None);
        let (mut ind, mut diff) = (start, 0isize);
        while end > 0 {
            diff += count(s, b"\"", ind, end) - count(s, b"\\\"", ind, end);
            if diff.rem_euclid(2) == 0 {
                break;
            }
            let next = find(s, b';', end + 1, None);
            end = ind;
            ind = next;
        }
        if end < 0 {
            end = s.len() as isize;
        }
        let (a, b) = (adjust(start, s.len()), adjust(end, s.len()));
        let i = find(s, b'=', start, Some(end));
        let f: Vec<u8> = if i == -1 {
            if a < b {
                s[a..b].to_vec()
            } else {
                Vec::new()
            }
        } else {
            let i = i as usize;
            let key = if a < i {
                rstrip(&s[a..i], space)
            } else {
                &[][..]
            };
            let val = if i + 1 < b {
                lstrip(&s[i + 1..b], space)
            } else {
                &[][..]
            };
            let mut f: Vec<u8> = key.iter().map(|&c| lower(c)).collect();
            f.push(b'=');
            f.extend_from_slice(val);
            f
        };
        plist.push(strip(&f, space).to_vec());
        start = end;
    }
    plist
}

/// Header options as `(key, value)` pairs, in dict order.
pub type Options = Vec<(Vec<u8>, Vec<u8>)>;

/// Up to this many options, a key is looked up by a linear search; beyond, through an index
/// (a header can carry thousands of options).
const LINEAR_OPTIONS: usize = 16;

/// `parse_options_header(value)` for a value of latin-1 characters, one byte each: the content
/// type and the options, in the order of the dict python-multipart builds (a later occurrence
/// of a key replaces the value and keeps the first one's place).
pub fn parse_options(value: &[u8], release: Release) -> (Vec<u8>, Options) {
    if value.is_empty() {
        return (Vec::new(), Vec::new());
    }
    if !value.contains(&b';') {
        let lowered: Vec<u8> = value.iter().map(|&c| lower(c)).collect();
        return (strip(&lowered, stripped(release)).to_vec(), Vec::new());
    }
    let segments = parseparam(value, release);
    let mut options: Options = Vec::new();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    each_option(&segments, |key, val| {
        let found = if options.len() <= LINEAR_OPTIONS {
            options.iter().position(|(k, _)| k.as_slice() == key)
        } else {
            if index.is_empty() {
                index.extend(
                    options
                        .iter()
                        .enumerate()
                        .map(|(at, (k, _))| (k.clone(), at)),
                );
            }
            index.get(key).copied()
        };
        match found {
            Some(at) => options[at].1 = val,
            None => {
                if !index.is_empty() {
                    index.insert(key.to_vec(), options.len());
                }
                options.push((key.to_vec(), val));
            }
        }
    });
    // `_parseparam` always yields the part before the first `;`.
    let mut ctype = segments.into_iter().next().unwrap_or_default();
    if release.lowers_content_type() {
        ctype.iter_mut().for_each(|c| *c = lower(*c));
    }
    (ctype, options)
}

/// Calls `on_option(key, value)` for each option of `_parseparam`'s `segments` (after the
/// first, the content type), in order, as `parse_options_header` puts them in its dict.
fn each_option(segments: &[Vec<u8>], mut on_option: impl FnMut(&[u8], Vec<u8>)) {
    for segment in segments.iter().skip(1) {
        let (key, val) = match segment.iter().position(|&b| b == b'=') {
            Some(p) => (&segment[..p], &segment[p + 1..]),
            None => (&segment[..], &[][..]),
        };
        if key.contains(&b'*') {
            continue;
        }
        let mut val: Vec<u8> = if val.len() >= 2 && val[0] == b'"' && val[val.len() - 1] == b'"' {
            let inner = replace(&val[1..val.len() - 1], b"\\\\", b"\\");
            replace(&inner, b"\\\"", b"\"")
        } else {
            val.to_vec()
        };
        if key == b"filename" && (val.get(1..3) == Some(&b":\\"[..]) || val.starts_with(b"\\\\")) {
            let last = val.iter().rposition(|&b| b == b'\\').map_or(0, |p| p + 1);
            val = val[last..].to_vec();
        }
        on_option(key, val);
    }
}

/// The `name` and `filename` options of `parse_options_header(value)`.
pub fn parse_disposition(value: Option<&[u8]>, release: Release) -> Disposition {
    let mut out = Disposition::default();
    let value = match value {
        Some(v) if v.contains(&b';') => v,
        _ => return out,
    };
    each_option(&parseparam(value, release), |key, val| match key {
        b"name" => out.name = Some(val),
        b"filename" => out.filename = Some(val),
        _ => {}
    });
    out
}

/// `bytes.replace(old, new)` for a two-byte `old`.
fn replace(s: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with(old) {
            out.extend_from_slice(new);
            i += old.len();
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASES: [Release; 3] = [Release::V0_0_32, Release::V0_0_33, Release::V0_0_34];

    fn parse_in(release: Release, v: &[u8]) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let d = parse_disposition(Some(v), release);
        (d.name, d.filename)
    }

    /// The same in every release.
    fn parse(v: &str) -> (Option<String>, Option<String>) {
        let s = |x: Option<Vec<u8>>| x.map(|b| String::from_utf8(b).unwrap());
        let (name, filename) = parse_in(Release::V0_0_32, v.as_bytes());
        for release in RELEASES {
            assert_eq!(
                parse_in(release, v.as_bytes()),
                (name.clone(), filename.clone())
            );
        }
        (s(name), s(filename))
    }

    #[test]
    fn plain_and_quoted() {
        assert_eq!(
            parse("form-data; name=\"a\"; filename=\"b.txt\""),
            (Some("a".into()), Some("b.txt".into()))
        );
        assert_eq!(parse("form-data; NAME = x "), (Some("x".into()), None));
        assert_eq!(parse("form-data;\tname\t=\tx\t"), (Some("x".into()), None));
        assert_eq!(parse("form-data; name=\"a;b\""), (Some("a;b".into()), None));
        assert_eq!(
            parse("form-data; name=\"a\\\"b\""),
            (Some("a\"b".into()), None)
        );
        assert_eq!(parse("form-data"), (None, None));
        assert_eq!(parse("form-data; filename*=utf-8''x"), (None, None));
        assert_eq!(parse("form-data; name=a; name=b"), (Some("b".into()), None));
    }

    #[test]
    fn content_type_and_options_in_dict_order() {
        let pair = |k: &str, v: &str| (k.as_bytes().to_vec(), v.as_bytes().to_vec());
        let value = b"Multipart/Form-Data; boundary=x; A = 1; boundary=\"y\"";
        let options = vec![pair("boundary", "y"), pair("a", "1")];
        assert_eq!(
            parse_options(value, Release::V0_0_32),
            (b"Multipart/Form-Data".to_vec(), options.clone())
        );
        for release in [Release::V0_0_33, Release::V0_0_34] {
            assert_eq!(
                parse_options(value, release),
                (b"multipart/form-data".to_vec(), options.clone())
            );
        }
        for release in RELEASES {
            assert_eq!(parse_options(b"", release), (vec![], vec![]));
            assert_eq!(
                parse_options(b" Text/HTML\t", release),
                (b"text/html".to_vec(), vec![])
            );
        }
        assert_eq!(
            parse_options(b"a=B; c", Release::V0_0_32),
            (b"a=B".to_vec(), vec![pair("c", "")])
        );
        assert_eq!(
            parse_options(b"A=B; c", Release::V0_0_33),
            (b"a=b".to_vec(), vec![pair("c", "")])
        );
    }

    /// 0.0.34 strips only spaces and tabs; before, every `str.isspace()` character.
    #[test]
    fn other_whitespace() {
        for release in [Release::V0_0_32, Release::V0_0_33] {
            assert_eq!(
                parse_options(b" Text/HTML\xa0", release),
                (b"text/html".to_vec(), vec![])
            );
            assert_eq!(
                parse_options(b"\x0bText/HTML\x1c;\x85boundary\x0c=\x1fb\xa0", release).1,
                vec![(b"boundary".to_vec(), b"b".to_vec())]
            );
            assert_eq!(
                parse_in(
                    release,
                    b"form-data;\xa0name=\x0ba\x0c;\x85filename\x1d=f\x1e"
                ),
                (Some(b"a".to_vec()), Some(b"f".to_vec()))
            );
        }
        let release = Release::V0_0_34;
        assert_eq!(
            parse_options(b" Text/HTML\xa0", release),
            (b"text/html\xa0".to_vec(), vec![])
        );
        assert_eq!(
            parse_options(b"\x0bText/HTML\x1c;\x85boundary\x0c=\x1fb\xa0", release),
            (
                b"\x0btext/html\x1c".to_vec(),
                vec![(b"\x85boundary\x0c".to_vec(), b"\x1fb\xa0".to_vec())]
            )
        );
        assert_eq!(
            parse_in(
                release,
                b"form-data;\xa0name=\x0ba\x0c;\x85filename\x1d=f\x1e"
            ),
            (None, None)
        );
        assert_eq!(
            parse_in(release, b"form-data; name=\x0ba\x0c; filename=f"),
            (Some(b"\x0ba\x0c".to_vec()), Some(b"f".to_vec()))
        );
    }

    #[test]
    fn many_options_keep_dict_order() {
        let mut value = b"t".to_vec();
        for i in 0..40 {
            value.extend_from_slice(format!("; k{}={i}", i % 25).as_bytes());
        }
        for release in RELEASES {
            let (ctype, options) = parse_options(&value, release);
            assert_eq!(ctype, b"t");
            let expected: Vec<(Vec<u8>, Vec<u8>)> = (0..25)
                .map(|k| {
                    let last = if k + 25 < 40 { k + 25 } else { k };
                    (format!("k{k}").into_bytes(), last.to_string().into_bytes())
                })
                .collect();
            assert_eq!(options, expected);
        }
    }

    #[test]
    fn ie6_paths() {
        assert_eq!(
            parse("form-data; filename=\"C:\\\\dir\\\\f.txt\"").1,
            Some("f.txt".into())
        );
        assert_eq!(
            parse("form-data; filename=\"\\\\\\\\srv\\\\f\"").1,
            Some("f".into())
        );
    }
}
