//! Finding the multipart delimiter (`\r\n--boundary`) in a chunk: the one pass over every byte
//! of an upload, so its speed is the parser's. `memchr::memmem` checks 32 positions per step
//! (AVX2); with AVX-512BW this checks 128, comparing the delimiter's first and last bytes at
//! every position and the bytes between only where both match. Same answers: the first
//! occurrence, or none.

use memchr::memmem;

pub struct DelimiterFinder {
    needle: Vec<u8>,
    /// Boxed: the AVX2 searcher inside holds 32-byte-aligned vectors, and a `#[pyclass]`
    /// value lives in memory Python allocates with 16-byte alignment only (an inline
    /// finder crashed on an aligned load).
    fallback: Box<memmem::Finder<'static>>,
    wide: bool,
}

impl DelimiterFinder {
    pub fn new(needle: &[u8]) -> Self {
        Self {
            needle: needle.to_vec(),
            fallback: Box::new(memmem::Finder::new(needle).into_owned()),
            wide: needle.len() >= 2 && wide_available(),
        }
    }

    /// The start of the first occurrence of the delimiter in `haystack`.
    pub fn find(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if self.wide {
            // SAFETY: `wide` is set only where the CPU has AVX-512F and AVX-512BW.
            return unsafe { find_avx512(haystack, &self.needle) };
        }
        self.fallback.find(haystack)
    }
}

#[cfg(target_arch = "x86_64")]
fn wide_available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
}

#[cfg(not(target_arch = "x86_64"))]
fn wide_available() -> bool {
    false
}

/// First occurrence of `needle` (at least 2 bytes) in `haystack`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn find_avx512(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    use std::arch::x86_64::{
        __m512i, _mm512_cmpeq_epi8_mask, _mm512_loadu_si512, _mm512_set1_epi8,
    };

    let length = needle.len();
    if haystack.len() < length {
        return None;
    }
    let last = length - 1;
    let first_byte = _mm512_set1_epi8(needle[0] as i8);
    let last_byte = _mm512_set1_epi8(needle[last] as i8);
    // Candidate starts are 0..starts; a step at `p` reads haystack[p..p + 64 + last].
    let starts = haystack.len() - last;
    let base = haystack.as_ptr();
    // Both masks: bit i set where the candidate start p + i has the first and the last byte.
    let candidates = |p: usize| -> u64 {
        // SAFETY: callers keep p + 64 <= starts, so p + last + 64 <= haystack.len().
        let (head, tail) = unsafe {
            (
                _mm512_loadu_si512(base.add(p).cast::<__m512i>()),
                _mm512_loadu_si512(base.add(p + last).cast::<__m512i>()),
            )
        };
        _mm512_cmpeq_epi8_mask(head, first_byte) & _mm512_cmpeq_epi8_mask(tail, last_byte)
    };
    let mut p = 0;
    // Two steps at a time while nothing matches.
    while p + 128 <= starts && candidates(p) | candidates(p + 64) == 0 {
        p += 128;
    }
    while p + 64 <= starts {
        let mut mask = candidates(p);
        while mask != 0 {
            let start = p + mask.trailing_zeros() as usize;
            if haystack[start + 1..start + last] == needle[1..last] {
                return Some(start);
            }
            mask &= mask - 1;
        }
        p += 64;
    }
    (p..starts).find(|&start| haystack[start..start + length] == *needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Generated haystacks with the delimiter (or pieces of it) at every offset around the
    /// 64- and 128-byte steps and the end: the same answers as `memmem`.
    #[test]
    fn finds_what_memmem_finds() {
        let needle = b"\r\n--boundary";
        let finder = DelimiterFinder::new(needle);
        let pieces: &[&[u8]] = &[
            b"x",
            b"\r",
            b"\r\n",
            b"\r\n--",
            b"\r\n--boundar",
            needle,
            b"y",
            &[0; 61],
        ];
        let mut next = crate::test_support::xorshift(0x1234_5678_9abc_def1);
        for _ in 0..20_000 {
            let haystack = crate::test_support::pick(&mut next, pieces, 40).concat();
            for from in [0, 1, haystack.len() / 2] {
                let slice = &haystack[from.min(haystack.len())..];
                assert_eq!(finder.find(slice), memmem::find(slice, needle), "{slice:?}");
            }
        }
        for size in 0..300 {
            for at in 0..=size {
                let mut haystack = vec![b'-'; size + needle.len()];
                haystack[at..at + needle.len()].copy_from_slice(needle);
                assert_eq!(finder.find(&haystack), Some(at));
                assert_eq!(finder.find(&haystack[..at + needle.len() - 1]), None);
            }
        }
    }

    #[test]
    fn two_byte_needle() {
        let finder = DelimiterFinder::new(b"\r\n");
        let mut haystack = vec![b'\r'; 200];
        assert_eq!(finder.find(&haystack), None);
        haystack[150] = b'\n';
        assert_eq!(finder.find(&haystack), Some(149));
    }
}
