//! Request-side data structures: query strings, cookies, header lookups.

pub mod bindings;
pub mod cookies;
pub mod headers;
pub mod query_string;

#[cfg(test)]
pub(crate) mod test_support {
    /// Deterministic random strings over an alphabet dense in what the parsers treat
    /// specially, for no-panic and invariant checks over many inputs (xorshift, no crate).
    pub fn random_inputs(count: usize) -> impl Iterator<Item = String> {
        const PIECES: &[&str] = &[
            "=",
            "&",
            ";",
            "+",
            "%",
            "\"",
            "\\",
            " ",
            "\t",
            "\n",
            "\u{1c}",
            "0",
            "3",
            "7",
            "9",
            "a",
            "F",
            "g",
            "%2",
            "%C3",
            "%A9",
            "%ED%A0%80",
            "%F0%90%80",
            "\u{e9}",
            "\u{a0}",
            "\u{20ac}",
            "\u{1f600}",
        ];
        let mut next = crate::test_support::xorshift(0x9e37_79b9_7f4a_7c15);
        (0..count).map(move |_| crate::test_support::pick(&mut next, PIECES, 24).concat())
    }

    /// Owned `(name, value)` pairs from string literals.
    pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }
}
