//! Header-name matching for `Headers` lookups.
//!
//! Starlette compares `key.lower().encode("latin-1")` with the raw header names. The fast
//! path only takes ASCII keys, for which Python's `str.lower` is ASCII lowercasing; any
//! other key goes back to Starlette's code.

/// The lowercased lookup key, or `None` if the key is not ASCII.
pub fn lookup_key(key: &str) -> Option<Vec<u8>> {
    key.is_ascii()
        .then(|| key.bytes().map(|b| b.to_ascii_lowercase()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_ascii_keys() {
        assert_eq!(
            lookup_key("Content-Type").as_deref(),
            Some(&b"content-type"[..])
        );
    }

    #[test]
    fn refuses_non_ascii_keys() {
        // "\u{212a}" (Kelvin sign) lowercases to ASCII "k" in Python: not ours to decide.
        assert_eq!(lookup_key("\u{212a}"), None);
        assert_eq!(lookup_key("\u{e9}"), None);
    }
}
