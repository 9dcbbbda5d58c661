//! Generated inputs for the parsers' no-panic and invariant tests, without a crate.

/// Deterministic pseudo-random numbers (xorshift64) from `seed`.
pub fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Fewer than `max_len` of `pieces`, chosen by `next`: joined, an input dense in what a parser
/// treats specially.
pub fn pick<'a, T: ?Sized>(
    next: &mut impl FnMut() -> u64,
    pieces: &[&'a T],
    max_len: u64,
) -> Vec<&'a T> {
    let len = next() % max_len;
    (0..len)
        .map(|_| pieces[(next() % pieces.len() as u64) as usize])
        .collect()
}
