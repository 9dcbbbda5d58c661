//! A request and the parts its properties build on first use (`Headers(scope=scope)`,
//! `QueryParams(query_string)`), made without their Python constructors.
//!
//! `Request.__init__` calls `HTTPConnection.__init__` (assert the scope's type, keep the scope),
//! asserts an HTTP scope and sets five attributes. For the request classes registered here, with
//! both constructors still Starlette's and `object.__new__`, the instance is allocated and its
//! six attributes set in that order. The parts are built the same way for the classes
//! registered with the constructor they must keep (`register_plain_class`). Anything else is
//! constructed by calling the class.

use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyString, PyTuple, PyType};

use crate::datastructures::bindings::parsed_query;

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
    let plain_new = keeps_object_new(cls);
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

/// Whether instances of `cls` are made by `object.__new__` (no `__new__` of its own).
fn keeps_object_new(cls: &Bound<'_, PyType>) -> bool {
    // SAFETY: `cls` is a live type object; `tp_new` is read, not called. Both slots hold
    // CPython's own function pointers, so comparing their addresses is meaningful.
    unsafe {
        let new = (*cls.as_type_ptr()).tp_new.map(|new| new as usize);
        new == ffi::PyBaseObject_Type.tp_new.map(|new| new as usize)
    }
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

/// Classes whose constructor the functions below reproduce, with the `__init__` each must keep.
static PLAIN_CLASSES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

fn plain_classes(py: Python<'_>) -> &Bound<'_, PyDict> {
    PLAIN_CLASSES
        .get_or_init(py, || PyDict::new(py).unbind())
        .bind(py)
}

/// Registers `cls` as built natively while its `__init__` is `init`.
#[pyfunction]
#[pyo3(signature = (cls, init, /))]
fn register_plain_class(cls: &Bound<'_, PyType>, init: &Bound<'_, PyAny>) -> PyResult<()> {
    plain_classes(cls.py()).set_item(cls, init)
}

/// Whether `cls` is registered, keeps its registered `__init__` and `object.__new__`.
fn built_plainly(cls: &Bound<'_, PyType>) -> PyResult<bool> {
    let py = cls.py();
    let Some(init) = plain_classes(py).get_item(cls)? else {
        return Ok(false);
    };
    Ok(keeps_object_new(cls) && cls.getattr(intern!(py, "__init__"))?.is(&init))
}

/// `cls(scope=scope)` for `Headers`: the scope's headers copied into a list, which becomes both
/// the instance's `_list` and the scope's `"headers"`.
#[pyfunction]
#[pyo3(signature = (cls, scope, /))]
fn new_headers<'py>(
    cls: &Bound<'py, PyType>,
    scope: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    if let Ok(scope) = scope.cast_exact::<PyDict>() {
        if built_plainly(cls)? {
            if let Some(headers) = scope.get_item(intern!(py, "headers"))? {
                // SAFETY: `list(headers)`, a new reference or NULL with the exception set.
                let copied = unsafe {
                    Bound::from_owned_ptr_or_err(py, ffi::PySequence_List(headers.as_ptr()))?
                };
                let instance = allocate(cls)?;
                instance.setattr(intern!(py, "_list"), &copied)?;
                scope.set_item(intern!(py, "headers"), &copied)?;
                return Ok(instance);
            }
        }
    }
    let keywords = PyDict::new(py);
    keywords.set_item(intern!(py, "scope"), scope)?;
    cls.call((), Some(&keywords))
}

/// `cls(query_string)` for `QueryParams` and an exact `str` or `bytes`: `_dict`, then `_list`.
#[pyfunction]
#[pyo3(signature = (cls, query, /))]
fn new_query_params<'py>(
    cls: &Bound<'py, PyType>,
    query: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    if built_plainly(cls)? {
        if let Some((items, mapping)) = parsed_query(query)? {
            let py = cls.py();
            let instance = allocate(cls)?;
            instance.setattr(intern!(py, "_dict"), mapping)?;
            instance.setattr(intern!(py, "_list"), items)?;
            return Ok(instance);
        }
    }
    cls.call1((query,))
}

/// `HTTPConnection.headers`: the `_headers` attribute, set on first use to `cls(scope=self.scope)`.
#[pyfunction]
#[pyo3(signature = (connection, cls, /))]
fn connection_headers<'py>(
    connection: &Bound<'py, PyAny>,
    cls: &Bound<'py, PyType>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = connection.py();
    cached(connection, intern!(py, "_headers"), || {
        new_headers(cls, &connection.getattr(intern!(py, "scope"))?)
    })
}

/// `HTTPConnection.query_params`: the `_query_params` attribute, set on first use to
/// `cls(self.scope["query_string"])`.
#[pyfunction]
#[pyo3(signature = (connection, cls, /))]
fn connection_query_params<'py>(
    connection: &Bound<'py, PyAny>,
    cls: &Bound<'py, PyType>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = connection.py();
    cached(connection, intern!(py, "_query_params"), || {
        let scope = connection.getattr(intern!(py, "scope"))?;
        new_query_params(cls, &scope.get_item(intern!(py, "query_string"))?)
    })
}

/// Starlette's lazy attribute: `if not hasattr(self, name): setattr(self, name, build())`, then
/// `getattr(self, name)`.
fn cached<'py>(
    object: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
    build: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    if let Some(value) = optional_attr(object, name)? {
        return Ok(value);
    }
    object.setattr(name, build()?)?;
    object.getattr(name)
}

/// `getattr(object, name)`, or `None` when it has no such attribute: what `hasattr` asks, and as
/// `hasattr` does it, without making an `AttributeError` on objects with the generic getattr
/// (pyo3's `getattr_opt` makes one before Python 3.13).
fn optional_attr<'py>(
    object: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = object.py();
    let mut found = std::ptr::null_mut();
    // SAFETY: live object and name; on 1 `found` is a new reference, on -1 an error is set.
    match unsafe { lookup_attr(object.as_ptr(), name.as_ptr(), &mut found) } {
        1 => Ok(Some(unsafe { Bound::from_owned_ptr(py, found) })),
        0 => Ok(None),
        _ => Err(PyErr::fetch(py)),
    }
}

#[cfg(Py_3_13)]
use ffi::PyObject_GetOptionalAttr as lookup_attr;

#[cfg(not(Py_3_13))]
extern "C" {
    // CPython 3.11 and 3.12's name for `PyObject_GetOptionalAttr`, which `hasattr` calls.
    #[link_name = "_PyObject_LookupAttr"]
    fn lookup_attr(
        object: *mut ffi::PyObject,
        name: *mut ffi::PyObject,
        result: *mut *mut ffi::PyObject,
    ) -> std::os::raw::c_int;
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(connection_headers, m)?)?;
    m.add_function(wrap_pyfunction!(connection_query_params, m)?)?;
    m.add_function(wrap_pyfunction!(register_plain_class, m)?)?;
    m.add_function(wrap_pyfunction!(new_headers, m)?)?;
    m.add_function(wrap_pyfunction!(new_query_params, m)?)?;
    m.add_function(wrap_pyfunction!(configure_requests, m)?)?;
    m.add_function(wrap_pyfunction!(new_request, m)?)?;
    Ok(())
}
