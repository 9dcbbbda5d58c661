//! The Python face of the response helpers: `init_headers` returns Starlette's `raw_headers`
//! list, or `NotImplemented` when an input is outside the exact fast path (a mapping other
//! than a `dict`, a non-`str` key or value, a non-ASCII name, text Latin-1 cannot encode, a
//! status that is not an `int`), and the caller then runs Starlette's own method.

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::cookies::{is_legal_char, is_reserved_key, Cookie, Expires};
use super::headers::{content_type, latin1_bytes, status_takes_content_length};
use crate::fast_path::{exact_str, Fallback, Fast};
use crate::json::bindings::render_json;

static CONTENT_LENGTH: PyOnceLock<Py<PyBytes>> = PyOnceLock::new();
static CONTENT_TYPE: PyOnceLock<Py<PyBytes>> = PyOnceLock::new();

fn constant<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyBytes>>,
    value: &[u8],
) -> Bound<'py, PyBytes> {
    cell.get_or_init(py, || PyBytes::new(py, value).unbind())
        .bind(py)
        .clone()
}

/// The value of an exact `int` that fits 64 bits (`IntEnum` members and others take Python's path).
fn exact_int(value: &Bound<'_, PyAny>) -> Option<i64> {
    value.cast_exact::<PyInt>().ok()?.extract().ok()
}

fn latin1<'py>(py: Python<'py>, text: &str) -> Fast<Bound<'py, PyBytes>> {
    latin1_bytes(text)
        .map(|bytes| PyBytes::new(py, &bytes))
        .ok_or(Fallback)
}

/// The user's headers as `(name, value)` pairs: names lowercased, both Latin-1 encoded.
fn user_headers<'py>(
    py: Python<'py>,
    headers: &Bound<'py, PyAny>,
    out: &Bound<'py, PyList>,
) -> PyResult<Fast<(bool, bool)>> {
    let Ok(dict) = headers.cast_exact::<PyDict>() else {
        return Ok(Err(Fallback));
    };
    let (mut has_length, mut has_type) = (false, false);
    for (key, value) in dict.iter() {
        let (Ok(key), Ok(value)) = (exact_str(&key), exact_str(&value)) else {
            return Ok(Err(Fallback));
        };
        if !key.is_ascii() {
            return Ok(Err(Fallback));
        }
        let name = key.to_ascii_lowercase();
        has_length |= name == "content-length";
        has_type |= name == "content-type";
        let Ok(value) = latin1(py, value) else {
            return Ok(Err(Fallback));
        };
        out.append(PyTuple::new(
            py,
            [PyBytes::new(py, name.as_bytes()), value],
        )?)?;
    }
    Ok(Ok((has_length, has_type)))
}

/// Starlette's `Response.init_headers(headers)` for a response whose `body` (or `None` when it
/// has none), `status_code`, `media_type` and `charset` are given.
#[pyfunction]
#[pyo3(signature = (headers, body, status_code, media_type, charset, /))]
pub fn init_headers<'py>(
    py: Python<'py>,
    headers: &Bound<'py, PyAny>,
    body: &Bound<'py, PyAny>,
    status_code: &Bound<'py, PyAny>,
    media_type: &Bound<'py, PyAny>,
    charset: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(
        match raw_headers(py, headers, body, status_code, media_type, charset)? {
            Some(raw) => raw.into_any(),
            None => py.NotImplemented().into_bound(py),
        },
    )
}

/// The `raw_headers` list `init_headers` builds, or `None` for Starlette's method to build.
fn raw_headers<'py>(
    py: Python<'py>,
    headers: &Bound<'py, PyAny>,
    body: &Bound<'py, PyAny>,
    status_code: &Bound<'py, PyAny>,
    media_type: &Bound<'py, PyAny>,
    charset: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyList>>> {
    let raw = PyList::empty(py);
    let (has_length, has_type) = if headers.is_none() {
        (false, false)
    } else {
        match user_headers(py, headers, &raw)? {
            Ok(found) => found,
            Err(Fallback) => return Ok(None),
        }
    };
    if !body.is_none() && !has_length {
        let Some(status) = exact_int(status_code) else {
            return Ok(None);
        };
        if status_takes_content_length(status) {
            let length = itoa::Buffer::new().format(body.len()?).as_bytes().to_vec();
            raw.append((
                constant(py, &CONTENT_LENGTH, b"content-length"),
                PyBytes::new(py, &length),
            ))?;
        }
    }
    if !media_type.is_none() && !has_type {
        match content_type_header(py, media_type, charset)? {
            Some(header) => raw.append(header)?,
            None => return Ok(None),
        }
    }
    Ok(Some(raw))
}

/// The `(b"content-type", value)` pair for a media type and charset. Tuples are immutable, so
/// the pair is built once per media type (a class attribute, usually) and shared.
fn content_type_header<'py>(
    py: Python<'py>,
    media_type: &Bound<'py, PyAny>,
    charset: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let (Ok(media_text), Ok(charset_text)) = (exact_str(media_type), exact_str(charset)) else {
        return Ok(None);
    };
    let cache = CONTENT_TYPE_HEADERS
        .get_or_init(py, || PyDict::new(py).unbind())
        .bind(py);
    if let Some(cached) = cache.get_item(media_type)? {
        let (cached_charset, header) =
            cached.extract::<(Bound<'py, PyString>, Bound<'py, PyAny>)>()?;
        if cached_charset.is(charset)
            || cached_charset
                .to_str()
                .is_ok_and(|text| text == charset_text)
        {
            return Ok(Some(header));
        }
    }
    let Ok(value) = latin1(py, &content_type(media_text, charset_text)) else {
        return Ok(None);
    };
    let header =
        PyTuple::new(py, [constant(py, &CONTENT_TYPE, b"content-type"), value])?.into_any();
    if cache.len() < CONTENT_TYPE_CACHE_SIZE {
        cache.set_item(media_type, (charset, &header))?;
    }
    Ok(Some(header))
}

/// Media types whose `content-type` pair is kept (applications use a handful).
const CONTENT_TYPE_CACHE_SIZE: usize = 64;

static CONTENT_TYPE_HEADERS: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// The methods `init_response` runs natively while a response's class keeps them, and the
/// `json.dumps` the native JSON render stands for.
struct ResponseMethods {
    stock_render: Py<PyAny>,
    native_init_headers: Py<PyAny>,
    native_json_render: Py<PyAny>,
    json_module: Py<PyAny>,
    json_dumps: Py<PyAny>,
}

static METHODS: PyOnceLock<ResponseMethods> = PyOnceLock::new();

/// Registers Starlette's `Response.render`, tachyon_engine's `Response.init_headers` and
/// `JSONResponse.render`, the `json` module and its own `dumps` (once; later calls are ignored).
#[pyfunction]
#[pyo3(signature = (stock_render, native_init_headers, native_json_render, json_module, json_dumps, /))]
fn configure_responses(
    py: Python<'_>,
    stock_render: Py<PyAny>,
    native_init_headers: Py<PyAny>,
    native_json_render: Py<PyAny>,
    json_module: Py<PyAny>,
    json_dumps: Py<PyAny>,
) {
    let _ = METHODS.set(
        py,
        ResponseMethods {
            stock_render,
            native_init_headers,
            native_json_render,
            json_module,
            json_dumps,
        },
    );
}

/// `Response.__init__` in one call: sets `status_code`, `media_type` (when given) and
/// `background`, then `body`, then `raw_headers`. The body is rendered natively when the class
/// keeps Starlette's `render` and the content is `None`, `bytes` or a `str` to encode as UTF-8,
/// or keeps tachyon_engine's `JSONResponse.render` while `json.dumps` is the stdlib's (which
/// that method checks too). The headers are built natively when the class keeps
/// tachyon_engine's `init_headers`. Anything else calls the response's own methods, so
/// subclasses behave as they do on Starlette.
#[pyfunction]
#[pyo3(signature = (response, content, status_code, headers, media_type, background, /))]
pub fn init_response<'py>(
    py: Python<'py>,
    response: &Bound<'py, PyAny>,
    content: &Bound<'py, PyAny>,
    status_code: &Bound<'py, PyAny>,
    headers: &Bound<'py, PyAny>,
    media_type: &Bound<'py, PyAny>,
    background: &Bound<'py, PyAny>,
) -> PyResult<()> {
    let methods = METHODS
        .get(py)
        .ok_or_else(|| PyRuntimeError::new_err("configure_responses was not called"))?;
    response.setattr(intern!(py, "status_code"), status_code)?;
    if !media_type.is_none() {
        response.setattr(intern!(py, "media_type"), media_type)?;
    }
    response.setattr(intern!(py, "background"), background)?;
    let render = response.getattr(intern!(py, "render"))?;
    let body = if is_bound(&render, response, &methods.stock_render) {
        render_natively(py, response, content)?
    } else if is_bound(&render, response, &methods.native_json_render)
        && methods
            .json_module
            .bind(py)
            .getattr(intern!(py, "dumps"))?
            .is(&methods.json_dumps)
    {
        Some(render_json(content)?).filter(|body| !body.is(py.NotImplemented()))
    } else {
        None
    };
    let body = match body {
        Some(body) => body,
        None => render.call1((content,))?,
    };
    response.setattr(intern!(py, "body"), &body)?;
    let init_headers = response.getattr(intern!(py, "init_headers"))?;
    if !is_bound(&init_headers, response, &methods.native_init_headers) {
        init_headers.call1((headers,))?;
        return Ok(());
    }
    // `init_headers` reads the attributes back, as Starlette's does.
    let raw = raw_headers(
        py,
        headers,
        &response.getattr(intern!(py, "body"))?,
        &response.getattr(intern!(py, "status_code"))?,
        &response.getattr(intern!(py, "media_type"))?,
        &response.getattr(intern!(py, "charset"))?,
    )?;
    match raw {
        Some(raw) => response.setattr(intern!(py, "raw_headers"), raw),
        // The method itself, which hands what the native path leaves to Starlette's.
        None => init_headers.call1((headers,)).map(drop),
    }
}

/// Whether `method` (an attribute of `response`) is `function` bound to the response, so that
/// running `function`'s logic natively is what calling it does (it is not overridden by a
/// class or on the instance).
fn is_bound(method: &Bound<'_, PyAny>, response: &Bound<'_, PyAny>, function: &Py<PyAny>) -> bool {
    // SAFETY: reads the object's type; `PyMethod_Function` and `PyMethod_Self` are then asked
    // of a bound method, and return borrowed pointers, compared by address.
    unsafe {
        let method = method.as_ptr();
        ffi::Py_TYPE(method) == &raw mut PyMethod_Type
            && PyMethod_Function(method) == function.as_ptr()
            && PyMethod_Self(method) == response.as_ptr()
    }
}

// CPython's bound-method API, which pyo3's `ffi` does not declare.
extern "C" {
    static mut PyMethod_Type: ffi::PyTypeObject;
    fn PyMethod_Function(method: *mut ffi::PyObject) -> *mut ffi::PyObject;
    fn PyMethod_Self(method: *mut ffi::PyObject) -> *mut ffi::PyObject;
}

/// Starlette's `Response.render` for `None`, exact `bytes`, and an exact `str` when the
/// response's `charset` is `"utf-8"`; `None` for the method itself to answer.
fn render_natively<'py>(
    py: Python<'py>,
    response: &Bound<'py, PyAny>,
    content: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if content.is_none() {
        return Ok(Some(PyBytes::new(py, b"").into_any()));
    }
    if content.is_exact_instance_of::<PyBytes>() {
        return Ok(Some(content.clone()));
    }
    let Ok(text) = content.cast_exact::<PyString>() else {
        return Ok(None);
    };
    let charset = response.getattr(intern!(py, "charset"))?;
    if exact_str(&charset).ok() != Some("utf-8") {
        return Ok(None);
    }
    // Lone surrogates cannot be encoded: the method raises Python's error for them.
    Ok(text
        .to_str()
        .ok()
        .map(|text| PyBytes::new(py, text.as_bytes()).into_any()))
}

/// `None` as `None`, an exact `str` as its text, anything else a fallback.
fn optional_str<'a>(value: &'a Bound<'_, PyAny>) -> Fast<Option<&'a str>> {
    if value.is_none() {
        Ok(None)
    } else {
        exact_str(value).map(Some)
    }
}

/// Attribute text written as is by `OutputString`: printable ASCII without `;` (other text is
/// left to Python, whose handling of it differs between versions).
fn plain_attribute(text: Option<&str>) -> Fast<Option<&str>> {
    match text {
        Some(text) if !text.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b';') => {
            Err(Fallback)
        }
        other => Ok(other),
    }
}

fn exact_bool(value: &Bound<'_, PyAny>) -> Fast<bool> {
    Ok(value
        .cast_exact::<PyBool>()
        .map_err(|_| Fallback)?
        .is_true())
}

/// Seconds from now that `_getdate` turns into a date: `expires` within about 300 years.
const MAX_EXPIRES_SECONDS: i64 = 10_000_000_000;

/// `floor(time() + seconds)` as `_getdate` computes it (`gmtime` floors), with `clock` the
/// caller's `time.time` (tests and tools patch it); `None` unless it gives an `int` or a
/// `float` within range.
fn expiry_time(clock: &Bound<'_, PyAny>, seconds: i64) -> PyResult<Option<i64>> {
    if clock.is_none() {
        return Ok(None);
    }
    let now = clock.call0()?;
    if let Some(now) = exact_int(&now) {
        return Ok(now
            .checked_add(seconds)
            .filter(|t| t.abs() <= 2 * MAX_EXPIRES_SECONDS));
    }
    let Ok(now) = now.cast_exact::<PyFloat>() else {
        return Ok(None);
    };
    // Python adds the int to the float in float arithmetic, as here (exact below 2**53).
    let at = (now.value() + seconds as f64).floor();
    Ok((at.is_finite() && at.abs() <= (2 * MAX_EXPIRES_SECONDS) as f64).then_some(at as i64))
}

#[allow(clippy::too_many_arguments)]
fn cookie_from<'a>(
    key: &'a Bound<'_, PyAny>,
    value: &'a Bound<'_, PyAny>,
    max_age: &'a Bound<'_, PyAny>,
    expires: &'a Bound<'_, PyAny>,
    path: &'a Bound<'_, PyAny>,
    domain: &'a Bound<'_, PyAny>,
    secure: &'a Bound<'_, PyAny>,
    httponly: &'a Bound<'_, PyAny>,
    samesite: &'a Bound<'_, PyAny>,
    partitioned: &'a Bound<'_, PyAny>,
) -> Fast<Cookie<'a>> {
    let key = exact_str(key)?;
    if key.is_empty() || !key.chars().all(is_legal_char) || is_reserved_key(key) {
        return Err(Fallback);
    }
    let value = exact_str(value)?;
    if value.chars().any(|c| u32::from(c) > 0xff) {
        return Err(Fallback);
    }
    let max_age = if max_age.is_none() {
        None
    } else {
        Some(exact_int(max_age).ok_or(Fallback)?)
    };
    let expires = if expires.is_none() {
        None
    } else if let Some(seconds) = exact_int(expires) {
        if seconds.abs() > MAX_EXPIRES_SECONDS {
            return Err(Fallback);
        }
        // Seconds from now for the moment: the caller resolves them against the clock once
        // everything else is known to be fine.
        Some(Expires::At(seconds))
    } else {
        Some(Expires::Text(
            plain_attribute(Some(exact_str(expires)?))?.unwrap_or(""),
        ))
    };
    let samesite = optional_str(samesite)?;
    if let Some(samesite) = samesite {
        if !["strict", "lax", "none"]
            .iter()
            .any(|allowed| samesite.eq_ignore_ascii_case(allowed))
            || !samesite.is_ascii()
        {
            return Err(Fallback);
        }
    }
    if exact_bool(partitioned)? {
        return Err(Fallback);
    }
    Ok(Cookie {
        key,
        value,
        max_age,
        expires,
        path: plain_attribute(optional_str(path)?)?,
        domain: plain_attribute(optional_str(domain)?)?,
        secure: exact_bool(secure)?,
        httponly: exact_bool(httponly)?,
        samesite,
    })
}

/// The `Set-Cookie` value (bytes) Starlette's `Response.set_cookie` appends, for plain
/// arguments (`expires` as text, or as an `int` of seconds from `clock()`, the caller's
/// `time.time`, called once and only when the rest is valid); `NotImplemented` otherwise.
#[pyfunction]
#[pyo3(signature = (key, value, max_age, expires, path, domain, secure, httponly, samesite, partitioned, clock, /))]
#[allow(clippy::too_many_arguments)]
pub fn set_cookie_header<'py>(
    py: Python<'py>,
    key: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
    max_age: &Bound<'py, PyAny>,
    expires: &Bound<'py, PyAny>,
    path: &Bound<'py, PyAny>,
    domain: &Bound<'py, PyAny>,
    secure: &Bound<'py, PyAny>,
    httponly: &Bound<'py, PyAny>,
    samesite: &Bound<'py, PyAny>,
    partitioned: &Bound<'py, PyAny>,
    clock: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let not_implemented = || Ok(py.NotImplemented().into_bound(py));
    let Ok(mut cookie) = cookie_from(
        key,
        value,
        max_age,
        expires,
        path,
        domain,
        secure,
        httponly,
        samesite,
        partitioned,
    ) else {
        return not_implemented();
    };
    // `cookie_from` left an int `expires` as seconds from now: date it from the clock.
    if let Some(Expires::At(seconds)) = cookie.expires {
        match expiry_time(clock, seconds)? {
            Some(at) => cookie.expires = Some(Expires::At(at)),
            None => return not_implemented(),
        }
    }
    match latin1_bytes(&cookie.header_value()) {
        Some(bytes) => Ok(PyBytes::new(py, &bytes).into_any()),
        None => not_implemented(),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(init_headers, m)?)?;
    m.add_function(wrap_pyfunction!(init_response, m)?)?;
    m.add_function(wrap_pyfunction!(configure_responses, m)?)?;
    m.add_function(wrap_pyfunction!(set_cookie_header, m)?)
}
