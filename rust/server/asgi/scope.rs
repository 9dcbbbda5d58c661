//! The HTTP scope of one request, built on the Python thread from hyper's parsed head, with
//! uvicorn's keys and values: `path` percent-decoded as `urllib.parse.unquote` does, `raw_path`
//! and `path` prefixed with `root_path`, headers lowercased in arrival order, `state` a shallow
//! copy of the lifespan state, ports as ints, `None` addresses on a Unix socket.

use std::borrow::Cow;
use std::net::SocketAddr;

use percent_encoding::percent_decode;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::Settings;
use crate::server::bridge::NewRequest;
use crate::server::service::ConnectionInfo;

/// `urllib.parse.unquote(path)` for an ASCII path: `%XX` decoded, the bytes read as UTF-8 with
/// invalid sequences replaced, everything else (a `%` not followed by two hex digits) kept.
pub fn unquote(raw: &[u8]) -> Cow<'_, str> {
    if !raw.contains(&b'%') {
        return String::from_utf8_lossy(raw);
    }
    match percent_decode(raw).decode_utf8_lossy() {
        Cow::Borrowed(text) => Cow::Owned(text.to_owned()),
        owned => owned,
    }
}

pub fn address_tuple<'py>(py: Python<'py>, address: &SocketAddr) -> PyResult<Bound<'py, PyTuple>> {
    (address.ip().to_string(), address.port()).into_pyobject(py)
}

fn method_name<'py>(py: Python<'py>, method: &http::Method) -> Bound<'py, PyString> {
    match *method {
        http::Method::GET => intern!(py, "GET").clone(),
        http::Method::POST => intern!(py, "POST").clone(),
        http::Method::HEAD => intern!(py, "HEAD").clone(),
        http::Method::PUT => intern!(py, "PUT").clone(),
        http::Method::DELETE => intern!(py, "DELETE").clone(),
        http::Method::PATCH => intern!(py, "PATCH").clone(),
        http::Method::OPTIONS => intern!(py, "OPTIONS").clone(),
        _ => PyString::new(py, method.as_str()),
    }
}

/// Whether the request carries a header that `--proxy-headers` may rewrite the scope from.
fn has_forwarded(headers: &http::HeaderMap) -> bool {
    const FOR: http::HeaderName = http::HeaderName::from_static("x-forwarded-for");
    const PROTO: http::HeaderName = http::HeaderName::from_static("x-forwarded-proto");
    headers.contains_key(FOR) || headers.contains_key(PROTO)
}

unsafe extern "C" {
    // CPython's own presizing constructor (exported by every supported version): a scope has 14
    // keys, past the 5 a new dict holds before it resizes twice.
    fn _PyDict_NewPresized(minused: pyo3::ffi::Py_ssize_t) -> *mut pyo3::ffi::PyObject;
}

fn presized_dict(py: Python<'_>, size: isize) -> PyResult<Bound<'_, PyDict>> {
    // SAFETY: called with the GIL held; a NULL result carries a Python error.
    let dict = unsafe { Bound::from_owned_ptr_or_err(py, _PyDict_NewPresized(size))? };
    Ok(dict.cast_into::<PyDict>()?)
}

/// The HTTP scope of a request.
pub fn build<'py>(
    py: Python<'py>,
    request: &NewRequest,
    settings: &Settings,
) -> PyResult<Bound<'py, PyDict>> {
    build_for(py, &request.head, &request.connection, settings, None)
}

/// The WebSocket scope of a handshake request, as uvicorn's `websockets` protocol makes it:
/// no `method`, `ws`/`wss` for the scheme, `subprotocols`, and the denial-response extension.
pub fn build_websocket<'py>(
    py: Python<'py>,
    head: &http::request::Parts,
    connection: &ConnectionInfo,
    settings: &Settings,
) -> PyResult<Bound<'py, PyDict>> {
    let subprotocols = crate::server::websocket::handshake::subprotocols(&head.headers);
    build_for(py, head, connection, settings, Some(subprotocols))
}

fn build_for<'py>(
    py: Python<'py>,
    head: &http::request::Parts,
    connection: &ConnectionInfo,
    settings: &Settings,
    subprotocols: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyDict>> {
    let websocket = subprotocols.is_some();
    let scope = presized_dict(py, 16)?;
    match websocket {
        false => scope.set_item(intern!(py, "type"), intern!(py, "http"))?,
        true => scope.set_item(intern!(py, "type"), intern!(py, "websocket"))?,
    }
    let asgi = PyDict::new(py);
    asgi.set_item(intern!(py, "version"), intern!(py, "3.0"))?;
    asgi.set_item(intern!(py, "spec_version"), intern!(py, "2.4"))?;
    scope.set_item(intern!(py, "asgi"), asgi)?;
    let version = match head.version {
        http::Version::HTTP_10 if !websocket => intern!(py, "1.0"),
        http::Version::HTTP_2 => intern!(py, "2"),
        _ => intern!(py, "1.1"),
    };
    scope.set_item(intern!(py, "http_version"), version)?;
    match &connection.server {
        Some(address) => {
            scope.set_item(intern!(py, "server"), settings.server_tuple(py, address)?)?
        }
        None => scope.set_item(intern!(py, "server"), py.None())?,
    }
    match &connection.client {
        Some(address) => {
            let client = match connection.client_tuple.get() {
                Some(tuple) => tuple.bind(py).clone(),
                None => {
                    let tuple = address_tuple(py, address)?;
                    let _ = connection.client_tuple.set(tuple.clone().unbind());
                    tuple
                }
            };
            scope.set_item(intern!(py, "client"), client)?;
        }
        None => scope.set_item(intern!(py, "client"), py.None())?,
    }
    match websocket {
        false => scope.set_item(intern!(py, "scheme"), settings.scheme.bind(py))?,
        true => scope.set_item(intern!(py, "scheme"), settings.websocket_scheme.bind(py))?,
    }
    scope.set_item(intern!(py, "root_path"), settings.root_path.bind(py))?;
    let headers = PyList::empty(py);
    if head.version == http::Version::HTTP_2 && !head.headers.contains_key(http::header::HOST) {
        // HTTP/2 carries the host in the `:authority` pseudo-header: apps (Starlette's URL,
        // TrustedHost) read it from `host`, as an HTTP/1.1 request gives it.
        if let Some(authority) = head.uri.authority() {
            headers.append((
                PyBytes::new(py, b"host"),
                PyBytes::new(py, authority.as_str().as_bytes()),
            ))?;
        }
    }
    for (name, value) in head.headers.iter() {
        headers.append((
            PyBytes::new(py, name.as_str().as_bytes()),
            PyBytes::new(py, value.as_bytes()),
        ))?;
    }
    scope.set_item(intern!(py, "headers"), headers)?;
    scope.set_item(intern!(py, "state"), settings.state.bind(py).copy()?)?;
    if !websocket {
        scope.set_item(intern!(py, "method"), method_name(py, &head.method))?;
    }
    let raw_path = head.uri.path().as_bytes();
    let root = settings.root_path_text.as_str();
    let path = unquote(raw_path);
    if root.is_empty() {
        scope.set_item(intern!(py, "path"), PyString::new(py, &path))?;
        scope.set_item(intern!(py, "raw_path"), PyBytes::new(py, raw_path))?;
    } else {
        scope.set_item(
            intern!(py, "path"),
            PyString::new(py, &format!("{root}{path}")),
        )?;
        let mut full = Vec::with_capacity(root.len() + raw_path.len());
        full.extend_from_slice(root.as_bytes());
        full.extend_from_slice(raw_path);
        scope.set_item(intern!(py, "raw_path"), PyBytes::new(py, &full))?;
    }
    let query = head.uri.query().unwrap_or("").as_bytes();
    scope.set_item(intern!(py, "query_string"), PyBytes::new(py, query))?;
    let extensions = PyDict::new(py);
    if let Some(subprotocols) = subprotocols {
        scope.set_item(intern!(py, "subprotocols"), subprotocols)?;
        extensions.set_item(intern!(py, "websocket.http.response"), PyDict::new(py))?;
    } else {
        extensions.set_item(intern!(py, "http.response.pathsend"), PyDict::new(py))?;
        extensions.set_item(intern!(py, "http.response.trailers"), PyDict::new(py))?;
    }
    scope.set_item(intern!(py, "extensions"), extensions)?;
    if let Some(proxy) = &settings.proxy_headers {
        if has_forwarded(&head.headers) {
            proxy.call1(py, (&scope,))?;
        }
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::unquote;

    #[test]
    fn unquote_matches_urllib() {
        // Expected values from CPython's urllib.parse.unquote.
        assert_eq!(unquote(b"/a%20b"), "/a b");
        assert_eq!(unquote(b"/%zz%2"), "/%zz%2");
        assert_eq!(unquote(b"/%C3%A9"), "/\u{e9}");
        assert_eq!(unquote(b"/%FF%C3"), "/\u{fffd}\u{fffd}");
        assert_eq!(unquote(b"/%e2%82x"), "/\u{fffd}x");
        assert_eq!(unquote(b"/plain"), "/plain");
    }
}
