//! Request-side data structures: query strings, cookies, header lookups.

pub mod bindings;
pub mod cookies;
pub mod headers;
pub mod query_string;

#[cfg(test)]
pub(crate) mod test_support {
    /// Owned `(name, value)` pairs from string literals.
    pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }
}
