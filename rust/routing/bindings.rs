//! `RouteIndex`: the Python face of route matching, one per router.
//!
//! Python describes each route once (see `tachyon_engine/engine/route_index.py`); every request
//! then costs one call that checks the route list is unchanged, narrows the candidates by
//! path, and confirms them in registration order: natively for plain `Route` /
//! `WebSocketRoute` objects, through the route's own `matches` for everything else.

use std::collections::HashMap;
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use super::index::PathIndex;
use super::pattern::{route_path, Convertor, RoutePattern, Segment};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScopeType {
    Http,
    WebSocket,
}

impl ScopeType {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "http" => Some(Self::Http),
            "websocket" => Some(Self::WebSocket),
            _ => None,
        }
    }
}

enum Entry {
    /// A plain route matched here: `Route` (http) or `WebSocketRoute` (websocket); with
    /// `sets_route`, its `matches` also puts `"route": route` last in the child scope (what
    /// FastAPI's `APIRoute` / `APIWebSocketRoute` add to Starlette's).
    Native {
        pattern: Arc<RoutePattern>,
        scope_type: ScopeType,
        sets_route: bool,
    },
    /// A `Mount` with Starlette's `matches`, matched here (its pattern ends in `{path:path}`).
    Mount { pattern: Arc<RoutePattern> },
    /// Confirmed by calling the route's own `matches`.
    Python,
}

/// What a candidate said: `Some((is_full, child_scope))`, or `None` for no match.
type Found<'py> = Option<(bool, Bound<'py, PyAny>)>;

#[pyclass(module = "tachyon_engine._core")]
pub struct RouteIndex {
    /// The routes as last described, compared by identity before every use.
    routes: Vec<Py<PyAny>>,
    entries: Vec<Entry>,
    paths: PathIndex,
    /// Compiled patterns by their segments, reused across rebuilds.
    patterns: HashMap<Vec<Segment>, Arc<RoutePattern>>,
    match_full: Py<PyAny>,
    match_partial: Py<PyAny>,
    uuid_class: Py<PyAny>,
}

#[pymethods]
impl RouteIndex {
    #[new]
    fn new(match_full: Py<PyAny>, match_partial: Py<PyAny>, uuid_class: Py<PyAny>) -> Self {
        Self {
            routes: Vec::new(),
            entries: Vec::new(),
            paths: PathIndex::default(),
            patterns: HashMap::new(),
            match_full,
            match_partial,
            uuid_class,
        }
    }

    /// Whether `routes` holds exactly the route objects last described, in the same order.
    fn is_current(&self, routes: &Bound<'_, PyAny>) -> bool {
        routes
            .cast_exact::<PyList>()
            .is_ok_and(|list| self.same_routes(list))
    }

    /// Describes `routes` anew. `descriptors[i]` is `None` (confirm through `matches`, check
    /// for every path) or `(kind, segments)` with kind `"http"`, `"websocket"` (matched here;
    /// a `"+route"` suffix adds `"route"` to the child scope) or `"mount"` (narrowed by path, confirmed through `matches`), and segments a list of
    /// literal strings and `(name, convertor)` pairs.
    fn rebuild(
        &mut self,
        routes: &Bound<'_, PyList>,
        descriptors: &Bound<'_, PyList>,
    ) -> PyResult<()> {
        if routes.len() != descriptors.len() {
            return Err(PyValueError::new_err("one descriptor per route is needed"));
        }
        let mut patterns = HashMap::new();
        let mut entries = Vec::with_capacity(routes.len());
        let mut paths = PathIndex::default();
        for (position, descriptor) in descriptors.iter().enumerate() {
            let position =
                u32::try_from(position).map_err(|_| PyValueError::new_err("too many routes"))?;
            let Some((kind, segments)) = parse_descriptor(&descriptor)? else {
                paths.add_always(position);
                entries.push(Entry::Python);
                continue;
            };
            let pattern = match self
                .patterns
                .get(&segments)
                .or_else(|| patterns.get(&segments))
            {
                Some(pattern) => Arc::clone(pattern),
                None => Arc::new(RoutePattern::new(&segments)),
            };
            if pattern.is_static() {
                paths.add_exact(pattern.static_prefix(), position);
            } else {
                paths.add_pattern(&segments, position);
            }
            let (base, sets_route) = match kind.strip_suffix("+route") {
                Some(base) => (base, true),
                None => (kind.as_str(), false),
            };
            entries.push(match ScopeType::from_name(base) {
                Some(scope_type) => Entry::Native {
                    pattern: Arc::clone(&pattern),
                    scope_type,
                    sets_route,
                },
                None if base == "mount" && !sets_route => Entry::Mount {
                    pattern: Arc::clone(&pattern),
                },
                None => Entry::Python,
            });
            patterns.insert(segments, pattern);
        }
        self.routes = routes.iter().map(Bound::unbind).collect();
        self.entries = entries;
        self.paths = paths;
        self.patterns = patterns;
        Ok(())
    }

    /// Starlette's routing loop for `scope`: `(2, route, child_scope)` for the first full
    /// match, else `(1, route, child_scope)` for the first partial one (returned at once when
    /// `stop_at_partial`), else `(0, None, None)`. `NotImplemented` when the route list
    /// changed since `rebuild` or the scope is outside the fast path.
    fn resolve<'py>(
        &self,
        routes: &Bound<'py, PyAny>,
        scope: &Bound<'py, PyAny>,
        stop_at_partial: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = routes.py();
        let fallback = || Ok(py.NotImplemented().into_bound(py));
        let (Ok(list), Ok(scope)) = (routes.cast_exact::<PyList>(), scope.cast_exact::<PyDict>())
        else {
            return fallback();
        };
        if !self.same_routes(list) {
            return fallback();
        }
        let (Some(scope_type), Some(path)) = (
            exact_text(scope, pyo3::intern!(py, "type"))?,
            exact_text(scope, pyo3::intern!(py, "path"))?,
        ) else {
            return fallback();
        };
        let Some(scope_type) = scope_type.to_str().ok().and_then(ScopeType::from_name) else {
            return fallback();
        };
        let root_value = match scope.get_item(pyo3::intern!(scope.py(), "root_path"))? {
            None => None,
            Some(value) => match value.cast_into_exact::<PyString>() {
                Ok(text) => Some(text),
                Err(_) => return fallback(),
            },
        };
        let (Ok(path), Ok(root_path)) = (
            path.to_str(),
            root_value.as_ref().map_or(Ok(""), |r| r.to_str()),
        ) else {
            return fallback();
        };
        let route_path = route_path(path, root_path);

        let mut partial: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)> = None;
        for position in self.paths.candidates(route_path) {
            let route = self.routes[position as usize].bind(py);
            let found = match &self.entries[position as usize] {
                Entry::Native {
                    pattern,
                    scope_type: route_type,
                    sets_route,
                } if *route_type == scope_type => {
                    self.match_natively(route, pattern, route_path, scope, scope_type, *sets_route)?
                }
                Entry::Native { .. } => None,
                Entry::Mount { pattern } => {
                    self.match_mount(route, pattern, route_path, root_value.as_ref(), scope)?
                }
                Entry::Python => self.match_in_python(route, scope)?,
            };
            match found {
                Some((true, child)) => return outcome(py, 2, Some((route.clone(), child))),
                Some((false, child)) if stop_at_partial => {
                    return outcome(py, 1, Some((route.clone(), child)))
                }
                Some((false, child)) if partial.is_none() => partial = Some((route.clone(), child)),
                _ => {}
            }
        }
        match partial {
            Some(found) => outcome(py, 1, Some(found)),
            None => outcome(py, 0, None),
        }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for route in &self.routes {
            visit.call(route)?;
        }
        visit.call(&self.match_full)?;
        visit.call(&self.match_partial)?;
        visit.call(&self.uuid_class)
    }

    fn __clear__(&mut self) {
        self.routes.clear();
        self.entries.clear();
        self.paths = PathIndex::default();
    }
}

impl RouteIndex {
    /// Runs before every request, so it compares raw pointers: a thousand routes cost about
    /// a microsecond less than going through `get_item`.
    fn same_routes(&self, list: &Bound<'_, PyList>) -> bool {
        list.len() == self.routes.len()
            && self.routes.iter().enumerate().all(|(i, route)| {
                // SAFETY: `i < len(list)`, checked above, and the GIL is held: the borrowed
                // item pointer is valid and only compared, never dereferenced.
                let item = unsafe {
                    pyo3::ffi::PyList_GET_ITEM(list.as_ptr(), i as pyo3::ffi::Py_ssize_t)
                };
                std::ptr::eq(item, route.as_ptr())
            })
    }

    /// `Route.matches` / `WebSocketRoute.matches` for a route of built-in convertors.
    fn match_natively<'py>(
        &self,
        route: &Bound<'py, PyAny>,
        pattern: &RoutePattern,
        route_path: &str,
        scope: &Bound<'py, PyDict>,
        scope_type: ScopeType,
        sets_route: bool,
    ) -> PyResult<Found<'py>> {
        let py = route.py();
        let captures = match pattern.captures(route_path) {
            Ok(Some(captures)) => captures,
            Ok(None) => return Ok(None),
            // Cannot happen for the patterns `rebuild` accepts; the route answers if it does.
            Err(_) => return self.match_in_python(route, scope),
        };
        let mut converted = Vec::with_capacity(captures.len());
        for (name, convertor, text) in captures {
            converted.push((name, self.convert(py, convertor, text)?));
        }
        let path_params = self.inherited_path_params(scope)?;
        for (name, value) in converted {
            path_params.set_item(name, value)?;
        }
        let child = PyDict::new(py);
        child.set_item(
            pyo3::intern!(py, "endpoint"),
            route.getattr(pyo3::intern!(py, "endpoint"))?,
        )?;
        child.set_item(pyo3::intern!(py, "path_params"), path_params)?;
        let full = scope_type == ScopeType::WebSocket || self.method_allowed(route, scope)?;
        if sets_route {
            child.set_item(pyo3::intern!(py, "route"), route)?;
        }
        crate::stats::ROUTE_NATIVE_MATCHES.hit();
        Ok(Some((full, child.into_any())))
    }

    /// Starlette's `Mount.matches` for a mount of built-in convertors: the child scope's
    /// `path_params` (the scope's, updated with the mount's own), `app_root_path` (the scope's,
    /// else its `root_path`), `root_path` (extended by the matched part of the path) and
    /// `endpoint` (the mount's `app`), in that order.
    fn match_mount<'py>(
        &self,
        route: &Bound<'py, PyAny>,
        pattern: &RoutePattern,
        route_path: &str,
        root_path: Option<&Bound<'py, PyString>>,
        scope: &Bound<'py, PyDict>,
    ) -> PyResult<Found<'py>> {
        let py = route.py();
        let captures = match pattern.captures(route_path) {
            Ok(Some(captures)) => captures,
            Ok(None) => return Ok(None),
            Err(_) => return self.match_in_python(route, scope),
        };
        let mut rest = None;
        let mut converted = Vec::with_capacity(captures.len());
        for (name, convertor, text) in captures {
            if name == "path" {
                rest = Some(text);
            } else {
                converted.push((name, self.convert(py, convertor, text)?));
            }
        }
        let Some(rest) = rest else {
            return self.match_in_python(route, scope);
        };
        // `route_path[: -len("/" + rest)]`, counted in characters as Python counts them.
        let keep = route_path
            .chars()
            .count()
            .saturating_sub(rest.chars().count() + 1);
        let cut = route_path
            .char_indices()
            .nth(keep)
            .map_or(route_path.len(), |(at, _)| at);
        let matched_path = &route_path[..cut];
        let path_params = self.inherited_path_params(scope)?;
        for (name, value) in converted {
            path_params.set_item(name, value)?;
        }
        let root = match root_path {
            Some(text) => text.clone(),
            None => PyString::new(py, ""),
        };
        let child = PyDict::new(py);
        child.set_item(pyo3::intern!(py, "path_params"), path_params)?;
        let app_root_path = match scope.get_item(pyo3::intern!(py, "app_root_path"))? {
            Some(value) => value,
            None => root.clone().into_any(),
        };
        child.set_item(pyo3::intern!(py, "app_root_path"), app_root_path)?;
        child.set_item(
            pyo3::intern!(py, "root_path"),
            PyString::new(py, &format!("{}{matched_path}", root.to_str()?)),
        )?;
        child.set_item(
            pyo3::intern!(py, "endpoint"),
            route.getattr(pyo3::intern!(py, "app"))?,
        )?;
        crate::stats::ROUTE_NATIVE_MATCHES.hit();
        Ok(Some((true, child.into_any())))
    }

    /// `dict(scope.get("path_params", {}))`.
    fn inherited_path_params<'py>(
        &self,
        scope: &Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let py = scope.py();
        Ok(match scope.get_item(pyo3::intern!(py, "path_params"))? {
            None => PyDict::new(py),
            Some(existing) => match existing.cast_exact::<PyDict>() {
                Ok(dict) => dict.copy()?,
                Err(_) => py
                    .get_type::<PyDict>()
                    .call1((existing,))?
                    .cast_into::<PyDict>()?,
            },
        })
    }

    /// `not (self.methods and scope["method"] not in self.methods)`.
    fn method_allowed(
        &self,
        route: &Bound<'_, PyAny>,
        scope: &Bound<'_, PyDict>,
    ) -> PyResult<bool> {
        let py = route.py();
        let methods = route.getattr(pyo3::intern!(py, "methods"))?;
        if !methods.is_truthy()? {
            return Ok(true);
        }
        let method = scope
            .get_item(pyo3::intern!(scope.py(), "method"))?
            .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err("method"))?;
        methods.contains(method)
    }

    /// The built-in convertors' `convert`.
    fn convert<'py>(
        &self,
        py: Python<'py>,
        convertor: Convertor,
        text: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        Ok(match convertor {
            Convertor::Str | Convertor::Path => PyString::new(py, text).into_any(),
            Convertor::Int => match text.parse::<u64>() {
                Ok(value) if text.len() <= 18 => value.into_pyobject(py)?.into_any(),
                _ => py.get_type::<PyInt>().call1((text,))?,
            },
            Convertor::Float => match text.parse::<f64>() {
                // Both parsers round correctly; very long inputs go to Python all the same.
                Ok(value) if text.len() <= 40 => PyFloat::new(py, value).into_any(),
                _ => py.get_type::<PyFloat>().call1((text,))?,
            },
            Convertor::Uuid => self.uuid_class.bind(py).call1((text,))?,
        })
    }

    /// Calls `route.matches(scope)` and reads its `(Match, child_scope)` answer.
    fn match_in_python<'py>(
        &self,
        route: &Bound<'py, PyAny>,
        scope: &Bound<'py, PyDict>,
    ) -> PyResult<Found<'py>> {
        let py = route.py();
        let answer = route.call_method1(pyo3::intern!(py, "matches"), (scope,))?;
        let (kind, child) = unpack_pair(&answer)?;
        if kind.is(&self.match_full) {
            Ok(Some((true, child)))
        } else if kind.is(&self.match_partial) {
            Ok(Some((false, child)))
        } else {
            Ok(None)
        }
    }
}

/// `a, b = value`, with Python's errors for the wrong number of items.
fn unpack_pair<'py>(value: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let items = match value.cast_exact::<PyTuple>() {
        Ok(tuple) => tuple.clone(),
        Err(_) => PyTuple::new(value.py(), value.try_iter()?.collect::<PyResult<Vec<_>>>()?)?,
    };
    match items.len() {
        2 => Ok((items.get_item(0)?, items.get_item(1)?)),
        n if n > 2 => Err(PyValueError::new_err(
            "too many values to unpack (expected 2)",
        )),
        n => Err(PyValueError::new_err(format!(
            "not enough values to unpack (expected 2, got {n})"
        ))),
    }
}

/// `scope[key]` when it is an exact `str`.
fn exact_text<'py>(
    scope: &Bound<'py, PyDict>,
    key: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyString>>> {
    Ok(scope
        .get_item(key)?
        .and_then(|value| value.cast_into_exact::<PyString>().ok()))
}

fn outcome<'py>(
    py: Python<'py>,
    kind: u8,
    found: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
) -> PyResult<Bound<'py, PyAny>> {
    let (route, child) =
        found.unwrap_or_else(|| (py.None().into_bound(py), py.None().into_bound(py)));
    Ok(PyTuple::new(py, [kind.into_pyobject(py)?.into_any(), route, child])?.into_any())
}

/// `None` -> confirm in Python; `(kind, segments)` -> the kind and parsed segments.
fn parse_descriptor(descriptor: &Bound<'_, PyAny>) -> PyResult<Option<(String, Vec<Segment>)>> {
    if descriptor.is_none() {
        return Ok(None);
    }
    let (kind, raw_segments): (String, Vec<Bound<'_, PyAny>>) = descriptor.extract()?;
    let mut segments = Vec::with_capacity(raw_segments.len());
    for raw in raw_segments {
        if let Ok(text) = raw.extract::<String>() {
            segments.push(Segment::Literal(text));
        } else {
            let (name, convertor): (String, String) = raw.extract()?;
            let convertor = Convertor::from_name(&convertor)
                .ok_or_else(|| PyValueError::new_err(format!("unknown convertor {convertor:?}")))?;
            segments.push(Segment::Param { name, convertor });
        }
    }
    Ok(Some((kind, segments)))
}

/// The items of the list `items` that are instances of `cls` (`isinstance`, in order), or
/// `NotImplemented` for anything but an exact list: a router's routes scanned for one class
/// without a Python-level loop.
#[pyfunction]
#[pyo3(signature = (items, cls, /))]
fn instances_in<'py>(
    items: &Bound<'py, PyAny>,
    cls: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = items.py();
    let Ok(list) = items.cast_exact::<PyList>() else {
        return Ok(py.NotImplemented().into_bound(py));
    };
    let found = PyList::empty(py);
    for item in list.iter() {
        if item.is_instance(cls)? {
            found.append(item)?;
        }
    }
    Ok(found.into_any())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(instances_in, m)?)?;
    m.add_class::<RouteIndex>()
}
