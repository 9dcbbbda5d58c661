//! Starlette's `Request(scope, receive, send)`, built without its two Python `__init__` frames.
//!
//! `Request.__init__` calls `HTTPConnection.__init__` (assert the scope's type, keep the scope),
//! asserts an HTTP scope and sets five attributes. For the request classes registered here, with
//! both constructors still Starlette's and `object.__new__`, the instance is allocated and its
//! six attributes set in that order; anything else is constructed by calling the class.

use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyString, PyTuple, PyType};

struct StockRequests {
    /// The classes built natively: tachyon_engine's `Request` and Starlette's.
    classes: Vec<Py<PyType>>,
    request_init: Py<PyAny>,
    connection: Py<PyType>,
    connection_init: Py<PyAny>,
}

static STOCK: PyOnceLock<StockRequests> = PyOnceLock::new();

/// Registers the request classes and Starlette's two constructors (once; later calls are ignored).
#[pyfunction]
#[pyo3(signature = (classes, request_init, connection, connection_init, /))]
fn configure_requests(
    py: Python<'_>,
    classes: Vec<Py<PyType>>,
    request_init: Py<PyAny>,
    connection: Py<PyType>,
    connection_init: Py<PyAny>,
) {
    let _ = STOCK.set(
        py,
        StockRequests {
            classes,
            request_init,
            connection,
            connection_init,
        },
    );
}

/// `cls(scope, receive, send)`.
#[pyfunction]
#[pyo3(signature = (cls, scope, receive, send, /))]
fn new_request<'py>(
    cls: &Bound<'py, PyType>,
    scope: &Bound<'py, PyAny>,
    receive: &Bound<'py, PyAny>,
    send: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    if builds_natively(cls, scope)? {
        let request = allocate(cls)?;
        let py = cls.py();
        request.setattr(intern!(py, "scope"), scope)?;
        request.setattr(intern!(py, "_receive"), receive)?;
        request.setattr(intern!(py, "_send"), send)?;
        let no = PyBool::new(py, false);
        request.setattr(intern!(py, "_stream_consumed"), no)?;
        request.setattr(intern!(py, "_is_disconnected"), no)?;
        request.setattr(intern!(py, "_form"), py.None())?;
        return Ok(request);
    }
    cls.call1((scope, receive, send))
}

/// Whether calling `cls(scope, ...)` runs Starlette's constructors on an HTTP scope (a `dict`
/// whose `"type"` is `"http"`, so that both assertions hold).
fn builds_natively(cls: &Bound<'_, PyType>, scope: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = cls.py();
    let Some(stock) = STOCK.get(py) else {
        return Ok(false);
    };
    if !stock.classes.iter().any(|class| class.is(cls)) {
        return Ok(false);
    }
    // SAFETY: `cls` is a live type object; `tp_new` is read, not called. Both slots hold
    // CPython's own function pointers, so comparing their addresses is meaningful.
    let plain_new = unsafe {
        let new = (*cls.as_type_ptr()).tp_new.map(|new| new as usize);
        new == ffi::PyBaseObject_Type.tp_new.map(|new| new as usize)
    };
    if !plain_new
        || !cls
            .getattr(intern!(py, "__init__"))?
            .is(&stock.request_init)
        || !stock
            .connection
            .bind(py)
            .getattr(intern!(py, "__init__"))?
            .is(&stock.connection_init)
    {
        return Ok(false);
    }
    let Ok(scope) = scope.cast_exact::<PyDict>() else {
        return Ok(false);
    };
    let http = match scope.get_item(intern!(py, "type"))? {
        Some(kind) => kind
            .cast_exact::<PyString>()
            .is_ok_and(|kind| kind.to_str().is_ok_and(|kind| kind == "http")),
        None => false,
    };
    Ok(http)
}

/// `object.__new__(cls)`.
fn allocate<'py>(cls: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let no_arguments = PyTuple::empty(py);
    // SAFETY: `tp_new` is `object.__new__` (checked by the caller), called as `type.__call__`
    // calls it, with a live type and an empty argument tuple; it returns a new reference or NULL.
    unsafe {
        let new = (*cls.as_type_ptr()).tp_new.expect("object.__new__");
        let object = new(
            cls.as_type_ptr(),
            no_arguments.as_ptr(),
            std::ptr::null_mut(),
        );
        Bound::from_owned_ptr_or_err(py, object)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(configure_requests, m)?)?;
    m.add_function(wrap_pyfunction!(new_request, m)?)?;
    Ok(())
}
