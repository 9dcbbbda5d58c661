//! Narrows the routes worth checking for a path: each route registers the text that every
//! path it matches must start with (or equal, for a parameterless route); routes that cannot
//! be described are checked for every path. Candidates come back in registration order.

use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Default)]
pub struct PathIndex {
    /// Parameterless routes by their exact path.
    exact: HashMap<String, Vec<u32>>,
    /// Routes with parameters by the text before their first parameter.
    prefixed: HashMap<String, Vec<u32>>,
    /// The distinct byte lengths of the keys of `prefixed`.
    prefix_lengths: BTreeSet<usize>,
    /// Routes checked for every path.
    always: Vec<u32>,
}

impl PathIndex {
    pub fn add_exact(&mut self, path: &str, position: u32) {
        self.exact
            .entry(path.to_owned())
            .or_default()
            .push(position);
    }

    pub fn add_prefixed(&mut self, prefix: &str, position: u32) {
        self.prefix_lengths.insert(prefix.len());
        self.prefixed
            .entry(prefix.to_owned())
            .or_default()
            .push(position);
    }

    pub fn add_always(&mut self, position: u32) {
        self.always.push(position);
    }

    /// Positions of the routes that may match `route_path`, ascending.
    pub fn candidates(&self, route_path: &str) -> Vec<u32> {
        let mut found: Vec<u32> = self.always.clone();
        // An exact path also matches with one trailing newline (Python's `$`).
        let without_newline = route_path.strip_suffix('\n');
        for key in std::iter::once(route_path).chain(without_newline) {
            if let Some(positions) = self.exact.get(key) {
                found.extend_from_slice(positions);
            }
        }
        for &length in self.prefix_lengths.range(..=route_path.len()) {
            if let Some(prefix) = route_path.get(..length) {
                if let Some(positions) = self.prefixed.get(prefix) {
                    found.extend_from_slice(positions);
                }
            }
        }
        found.sort_unstable();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_come_in_registration_order() {
        let mut index = PathIndex::default();
        index.add_exact("/users", 3);
        index.add_prefixed("/users/", 1);
        index.add_prefixed("/", 4);
        index.add_always(2);
        index.add_exact("/other", 0);
        assert_eq!(index.candidates("/users"), vec![2, 3, 4]);
        assert_eq!(index.candidates("/users\n"), vec![2, 3, 4]);
        assert_eq!(index.candidates("/users/7"), vec![1, 2, 4]);
        assert_eq!(index.candidates(""), vec![2]);
    }

    #[test]
    fn prefixes_only_cut_at_character_boundaries() {
        let mut index = PathIndex::default();
        index.add_prefixed("/\u{e9}", 0);
        index.add_prefixed("/x", 1);
        // "/\u{e9}" is 3 bytes; a 2-byte cut of "/\u{e9}t" would split the character.
        assert_eq!(index.candidates("/\u{e9}t"), vec![0]);
    }
}
