//! A route path as Starlette's `compile_path` reads it, and the matcher that reproduces the
//! Python regex it compiles to.
//!
//! Starlette compiles `"/users/{id:int}"` to `^/users/(?P<id>[0-9]+)$` and runs it with
//! Python's `re`. The `regex` crate has the same leftmost-first, greedy-first semantics for
//! these patterns; the one difference is `$`, which in Python also matches just before a
//! final newline, so it becomes `\n?\z` here.

use std::sync::OnceLock;

use regex::Regex;

/// The built-in convertors, by the name `compile_path` knows them under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Convertor {
    Str,
    Path,
    Int,
    Float,
    Uuid,
}

impl Convertor {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "str" => Some(Self::Str),
            "path" => Some(Self::Path),
            "int" => Some(Self::Int),
            "float" => Some(Self::Float),
            "uuid" => Some(Self::Uuid),
            _ => None,
        }
    }

    /// The regex of Starlette's convertor class (`StringConvertor.regex`, ...).
    fn regex(self) -> &'static str {
        match self {
            Self::Str => "[^/]+",
            Self::Path => ".*",
            Self::Int => "[0-9]+",
            Self::Float => r"[0-9]+(\.[0-9]+)?",
            Self::Uuid => {
                "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
            }
        }
    }
}

/// One piece of a route path: literal text, or a `{name:convertor}` parameter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    Literal(String),
    Param { name: String, convertor: Convertor },
}

/// A matched parameter: its name, convertor and raw text.
pub type Capture<'r, 'p> = (&'r str, Convertor, &'p str);

/// A compiled route path.
#[derive(Debug)]
pub struct RoutePattern {
    /// The regex source; compiled on the first path that reaches this route, since a
    /// router may describe hundreds of routes before its first request.
    source: String,
    regex: OnceLock<Result<Regex, regex::Error>>,
    /// Parameter names and convertors, in path order (the order of `match.groupdict()`).
    params: Vec<(String, Convertor)>,
    /// The text every matching path starts with (everything before the first parameter).
    static_prefix: String,
}

impl RoutePattern {
    pub fn new(segments: &[Segment]) -> Self {
        let mut source = String::from("^");
        let mut params = Vec::new();
        let mut static_prefix = String::new();
        for segment in segments {
            match segment {
                Segment::Literal(text) => {
                    source.push_str(&regex::escape(text));
                    if params.is_empty() {
                        static_prefix.push_str(text);
                    }
                }
                Segment::Param { name, convertor } => {
                    source.push_str(&format!("(?P<{name}>{})", convertor.regex()));
                    params.push((name.clone(), *convertor));
                }
            }
        }
        source.push_str("\\n?\\z");
        Self {
            source,
            regex: OnceLock::new(),
            params,
            static_prefix,
        }
    }

    /// Whether the path has no parameters (it then matches exactly its text).
    pub fn is_static(&self) -> bool {
        self.params.is_empty()
    }

    pub fn static_prefix(&self) -> &str {
        &self.static_prefix
    }

    /// The raw text of each parameter, in path order, if `route_path` matches; an error if
    /// the regex does not compile (the caller then asks the route itself).
    pub fn captures<'p>(
        &self,
        route_path: &'p str,
    ) -> Result<Option<Vec<Capture<'_, 'p>>>, regex::Error> {
        if self.is_static() {
            // `^text\n?\z` without running the regex.
            let matched = route_path.strip_suffix('\n').unwrap_or(route_path) == self.static_prefix
                || route_path == self.static_prefix;
            return Ok(matched.then(Vec::new));
        }
        let regex = self
            .regex
            .get_or_init(|| Regex::new(&self.source))
            .as_ref()
            .map_err(Clone::clone)?;
        let Some(captures) = regex.captures(route_path) else {
            return Ok(None);
        };
        Ok(Some(
            self.params
                .iter()
                .map(|(name, convertor)| {
                    let text = captures.name(name).map_or("", |m| m.as_str());
                    (name.as_str(), *convertor, text)
                })
                .collect(),
        ))
    }
}

/// Starlette's `get_route_path`: the path with `root_path` removed when it is a prefix
/// ending at a segment boundary.
pub fn route_path<'a>(path: &'a str, root_path: &str) -> &'a str {
    if root_path.is_empty() || !path.starts_with(root_path) {
        return path;
    }
    let rest = &path[root_path.len()..];
    if rest.is_empty() {
        ""
    } else if rest.starts_with('/') {
        rest
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str) -> Segment {
        Segment::Literal(text.to_owned())
    }

    fn param(name: &str, convertor: Convertor) -> Segment {
        Segment::Param {
            name: name.to_owned(),
            convertor,
        }
    }

    fn texts(pattern: &RoutePattern, path: &str) -> Option<Vec<String>> {
        pattern
            .captures(path)
            .unwrap()
            .map(|caps| caps.into_iter().map(|(_, _, t)| t.to_owned()).collect())
    }

    #[test]
    fn dollar_also_matches_before_a_final_newline() {
        let pattern = RoutePattern::new(&[lit("/users")]);
        assert!(pattern.captures("/users").unwrap().is_some());
        assert!(pattern.captures("/users\n").unwrap().is_some());
        assert!(pattern.captures("/users\n\n").unwrap().is_none());
        assert!(pattern.captures("/users/").unwrap().is_none());
    }

    #[test]
    fn greedy_parameters_backtrack_like_python() {
        let pattern = RoutePattern::new(&[
            lit("/"),
            param("a", Convertor::Str),
            lit("-"),
            param("b", Convertor::Str),
        ]);
        assert_eq!(
            texts(&pattern, "/x-y-z"),
            Some(vec!["x-y".into(), "z".into()])
        );
        let str_then_newline = RoutePattern::new(&[lit("/"), param("p", Convertor::Str)]);
        assert_eq!(texts(&str_then_newline, "/x\n"), Some(vec!["x\n".into()]));
        let path = RoutePattern::new(&[lit("/"), param("p", Convertor::Path)]);
        assert_eq!(texts(&path, "/a/b\n"), Some(vec!["a/b".into()]));
    }

    #[test]
    fn mixed_segments_and_float() {
        let pattern = RoutePattern::new(&[lit("/v/"), param("n", Convertor::Float), lit(".json")]);
        assert_eq!(texts(&pattern, "/v/1.5.json"), Some(vec!["1.5".into()]));
        assert_eq!(texts(&pattern, "/v/15.json"), Some(vec!["15".into()]));
        assert_eq!(pattern.static_prefix(), "/v/");
        assert!(!pattern.is_static());
    }

    #[test]
    fn literals_are_escaped() {
        // A parameter makes the regex run (parameterless paths compare as text).
        let pattern = RoutePattern::new(&[lit("/a.b(c)[d]*+?/"), param("x", Convertor::Str)]);
        assert!(pattern.captures("/a.b(c)[d]*+?/1").unwrap().is_some());
        assert!(pattern.captures("/aXb(c)[d]*+?/1").unwrap().is_none());
    }

    #[test]
    fn route_path_strips_root_path_at_boundaries() {
        assert_eq!(route_path("/api/x", "/api"), "/x");
        assert_eq!(route_path("/api", "/api"), "");
        assert_eq!(route_path("/apix", "/api"), "/apix");
        assert_eq!(route_path("/other", "/api"), "/other");
        assert_eq!(route_path("/x", ""), "/x");
    }
}
