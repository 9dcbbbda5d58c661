//! Narrows the routes worth checking for a path: parameterless routes by their exact path, the
//! others in a trie of their `/`-separated segments (a segment without parameters by its text,
//! one with a parameter as "any segment", a `path` parameter as "any rest"), so that a table
//! whose routes start with parameters is narrowed as well as one with static prefixes. Routes
//! that cannot be described are checked for every path. The candidates are a superset of the
//! routes that match, in registration order; each is then confirmed by its own matcher.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::pattern::{Convertor, Segment};

/// Maps keyed by route text. The keys are the app's own route paths, never request data, so
/// a fast multiply-rotate hash (as rustc's `FxHasher`) serves instead of SipHash, which cost
/// more than the rest of a lookup for short segments.
type TextMap<V> = HashMap<String, V, BuildHasherDefault<TextHasher>>;

#[derive(Default)]
struct TextHasher {
    hash: u64,
}

impl TextHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for TextHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[derive(Debug, Default)]
pub struct PathIndex {
    /// Parameterless routes by their exact path.
    exact: TextMap<Vec<u32>>,
    /// Routes with parameters, by their segments.
    root: Node,
    /// Routes checked for every path.
    always: Vec<u32>,
}

/// A trie node: the routes whose first segments lead here.
#[derive(Debug, Default)]
struct Node {
    /// Children by the exact text of a segment without parameters.
    literal: TextMap<Node>,
    /// The child for segments holding a parameter (`{id:int}`, `{id}.json`, `pre-{name}`):
    /// none of the built-in convertors but `path` matches a `/`, so such a segment matches one
    /// segment of the path, whatever its text (the route's own matcher decides).
    parametric: Option<Box<Node>>,
    /// Routes whose last segment leads here.
    ends: Vec<u32>,
    /// Routes with a `path` parameter after the segments leading here: any rest of the path.
    rest: Vec<u32>,
}

/// A route segment as the trie keys it.
enum Key {
    Literal(String),
    Parametric,
}

/// The segments of a route with parameters, and whether a `path` parameter ends them (it may
/// match across `/`, so what follows is any rest, whatever the route says after it).
fn keys(segments: &[Segment]) -> (Vec<Key>, bool) {
    let mut keys = Vec::new();
    let mut current = String::new();
    let mut parametric = false;
    for segment in segments {
        match segment {
            Segment::Literal(text) => {
                let mut pieces = text.split('/');
                current.push_str(pieces.next().unwrap_or_default());
                for piece in pieces {
                    let text = std::mem::take(&mut current);
                    keys.push(if parametric {
                        Key::Parametric
                    } else {
                        Key::Literal(text)
                    });
                    parametric = false;
                    current.push_str(piece);
                }
            }
            Segment::Param {
                convertor: Convertor::Path,
                ..
            } => return (keys, true),
            Segment::Param { .. } => parametric = true,
        }
    }
    keys.push(if parametric {
        Key::Parametric
    } else {
        Key::Literal(current)
    });
    (keys, false)
}

impl PathIndex {
    pub fn add_exact(&mut self, path: &str, position: u32) {
        self.exact
            .entry(path.to_owned())
            .or_default()
            .push(position);
    }

    /// A route with parameters, by its segments (as `RoutePattern::new` takes them).
    pub fn add_pattern(&mut self, segments: &[Segment], position: u32) {
        let (keys, rest) = keys(segments);
        let mut node = &mut self.root;
        for key in keys {
            node = match key {
                Key::Literal(text) => node.literal.entry(text).or_default(),
                Key::Parametric => node.parametric.get_or_insert_with(Box::default),
            };
        }
        if rest {
            node.rest.push(position);
        } else {
            node.ends.push(position);
        }
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
        if !self.root.is_empty() {
            self.root.collect(route_path.split('/'), &mut found);
        }
        found.sort_unstable();
        found
    }
}

impl Node {
    /// Adds the routes of the nodes `segments` (the rest of a path, split at `/`) lead to from
    /// this one: every node reached gives its `rest`, following each literal child that equals
    /// the next segment and the parametric child; the nodes reached by the last segment give
    /// their `ends`. Each node is at one depth and reached at most once, so no route comes twice.
    /// Depth first, without allocating.
    fn collect(&self, mut segments: std::str::Split<'_, char>, found: &mut Vec<u32>) {
        found.extend_from_slice(&self.rest);
        let Some(segment) = segments.next() else {
            found.extend_from_slice(&self.ends);
            return;
        };
        if let Some(child) = self.literal.get(segment) {
            child.collect(segments.clone(), found);
        }
        // `$` also matches before a final newline, after the last segment's text.
        if let Some(text) = segment.strip_suffix('\n') {
            if segments.clone().next().is_none() {
                if let Some(child) = self.literal.get(text) {
                    child.collect(segments.clone(), found);
                }
            }
        }
        if let Some(child) = &self.parametric {
            child.collect(segments, found);
        }
    }

    fn is_empty(&self) -> bool {
        self.literal.is_empty()
            && self.parametric.is_none()
            && self.ends.is_empty()
            && self.rest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::pattern::RoutePattern;

    fn lit(text: &str) -> Segment {
        Segment::Literal(text.to_owned())
    }

    fn param(convertor: Convertor) -> Segment {
        named(convertor, 0)
    }

    fn named(convertor: Convertor, number: u64) -> Segment {
        Segment::Param {
            name: format!("p{number}"),
            convertor,
        }
    }

    #[test]
    fn candidates_come_in_registration_order() {
        let mut index = PathIndex::default();
        index.add_exact("/users", 3);
        index.add_pattern(&[lit("/users/"), param(Convertor::Int)], 1);
        index.add_pattern(&[lit("/"), param(Convertor::Path)], 4);
        index.add_always(2);
        index.add_exact("/other", 0);
        assert_eq!(index.candidates("/users"), vec![2, 3, 4]);
        assert_eq!(index.candidates("/users\n"), vec![2, 3, 4]);
        assert_eq!(index.candidates("/users/7"), vec![1, 2, 4]);
        // A superset: "" has no segment after the leading one, which `{p:path}` may still need.
        assert_eq!(index.candidates(""), vec![2, 4]);
    }

    #[test]
    fn routes_starting_with_parameters_are_narrowed() {
        let mut index = PathIndex::default();
        for n in 0..1000 {
            let segments = [
                lit("/t/"),
                param(Convertor::Str),
                lit(&format!("/resources{n}/")),
                param(Convertor::Int),
            ];
            index.add_pattern(&segments, n);
        }
        // `/{p}.json`: a parameter and text in one segment.
        index.add_pattern(&[lit("/"), param(Convertor::Str), lit(".json")], 1000);
        assert_eq!(index.candidates("/t/acme/resources999/7"), vec![999]);
        assert_eq!(index.candidates("/t/acme/resources999/7\n"), vec![999]);
        assert_eq!(index.candidates("/x.json"), vec![1000]);
        assert!(index.candidates("/t/acme/other/7").is_empty());
    }

    /// Generated tables and paths: every route whose pattern matches a path is a candidate.
    #[test]
    fn candidates_hold_every_match() {
        const PIECES: &[&str] = &["/", "a", "b", ".json", "/a", "-", "\n"];
        const CONVERTORS: &[Convertor] = &[
            Convertor::Str,
            Convertor::Path,
            Convertor::Int,
            Convertor::Float,
            Convertor::Uuid,
        ];
        const PATH_PIECES: &[&str] = &[
            "/",
            "a",
            "b",
            ".json",
            "-",
            "\n",
            "1",
            "2.5",
            "x",
            "0123456789abcdef0123456789abcdef",
        ];
        let mut next = crate::test_support::xorshift(0x5eed_1234_abcd_0042);
        let mut matches = 0;
        for _ in 0..3_000 {
            let mut index = PathIndex::default();
            let mut patterns = Vec::new();
            for position in 0..8u32 {
                let mut segments = vec![lit("/")];
                for number in 0..(next() % 5) {
                    if next().is_multiple_of(3) {
                        segments.push(named(CONVERTORS[(next() % 5) as usize], number));
                    } else {
                        segments.push(lit(PIECES[(next() % PIECES.len() as u64) as usize]));
                    }
                }
                let pattern = RoutePattern::new(&segments);
                if pattern.is_static() {
                    index.add_exact(pattern.static_prefix(), position);
                } else {
                    index.add_pattern(&segments, position);
                }
                patterns.push(pattern);
            }
            for _ in 0..20 {
                let path = crate::test_support::pick(&mut next, PATH_PIECES, 8).concat();
                let path = format!("/{path}");
                let candidates = index.candidates(&path);
                for (position, pattern) in patterns.iter().enumerate() {
                    if pattern.captures(&path).unwrap().is_some() {
                        matches += 1;
                        assert!(
                            candidates.contains(&(position as u32)),
                            "{path:?} {pattern:?}"
                        );
                    }
                }
            }
        }
        assert!(matches > 20_000, "only {matches} matching pairs");
    }
}
