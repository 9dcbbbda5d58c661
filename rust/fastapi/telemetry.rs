//! FastAPI's telemetry gate, `NativeTelemetry.enabled()`, evaluated natively.
//!
//! The gate is `bool((tracing and (tracer_provider is not None or not _unconfigured(
//! trace.get_tracer_provider()))) or (metrics and ...) or (logs and ...))` over its config dict.
//! The getters are answered here only while each is OpenTelemetry's verified function and would
//! return a global without side effects: the provider once set, or the proxy while the provider
//! variable is absent from the stock `os.environ` (tested on `_data` with the stock `encodekey`,
//! as `_Environ.__getitem__` tests it, without its `KeyError`). Otherwise the getter is called.
//! FastAPI's `_unconfigured`, when it is the verified function, is answered the same way.

use pyo3::exceptions::PyNameError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFrozenSet, PyInt, PyString, PyTuple, PyType};

use crate::stats;

/// The environment checked in this call with its `_data`, valid while no Python code ran since.
type CheckedEnviron<'py> = Option<(Bound<'py, PyAny>, Bound<'py, PyDict>)>;

/// One of OpenTelemetry's global-provider getters and the config keys that guard its call.
#[derive(FromPyObject)]
struct ProviderGetter {
    /// The config switch (`"tracing"`) and the application's own provider (`"tracer_provider"`).
    switch: Py<PyString>,
    own_provider: Py<PyString>,
    /// Where FastAPI's module finds the getter: `trace.get_tracer_provider`.
    module_global: Py<PyString>,
    function_name: Py<PyString>,
    /// The verified function (None: another source, always called).
    verified: Option<VerifiedGetter>,
    /// Its globals, which it reads: the provider, the variable's name, the proxy.
    namespace: Py<PyDict>,
    provider: Py<PyString>,
    variable: Py<PyString>,
    proxy: Py<PyString>,
    /// Whether it reads `os.environ` (else its own `environ`, imported from `os`).
    environ_in_os: bool,
}

/// A getter whose source was verified: the function, the variable's name it held then, and the
/// stock `encodekey`'s answer for that name.
#[derive(FromPyObject)]
struct VerifiedGetter(Py<PyAny>, Py<PyString>, Py<PyAny>);

/// What the stock `name in os.environ` goes through: `Mapping.__contains__` calling
/// `_Environ.__getitem__`, which looks up `encodekey(name)` in `_data`.
#[derive(FromPyObject)]
struct StockEnviron {
    #[pyo3(attribute("class_"))]
    class: Py<PyType>,
    getitem: Py<PyAny>,
    contains: Py<PyAny>,
    encodekey: Py<PyAny>,
}

#[pyclass(frozen)]
struct TelemetryGate {
    fastapi_globals: Py<PyDict>,
    getters: Vec<ProviderGetter>,
    /// FastAPI's verified `_unconfigured` (None: always called) and its globals.
    unconfigured: Option<Py<PyAny>>,
    unconfigured_namespace: Py<PyDict>,
    environ: StockEnviron,
}

#[pymethods]
impl TelemetryGate {
    #[new]
    #[pyo3(signature = (fastapi_globals, getters, unconfigured, unconfigured_namespace, environ, /))]
    fn new(
        fastapi_globals: Py<PyDict>,
        getters: Vec<ProviderGetter>,
        unconfigured: Option<Py<PyAny>>,
        unconfigured_namespace: Py<PyDict>,
        environ: StockEnviron,
    ) -> Self {
        Self {
            fastapi_globals,
            getters,
            unconfigured,
            unconfigured_namespace,
            environ,
        }
    }

    /// The gate's answer for this config, or None when the config is not a plain dict or a
    /// switch is not a plain `bool`, `int` or `str` (FastAPI's `or`s and `bool()` test a
    /// switch's truth more than once: only those types answer it without running code).
    #[pyo3(signature = (config, /))]
    fn __call__(&self, config: &Bound<'_, PyAny>) -> PyResult<Option<bool>> {
        let Ok(config) = config.cast_exact::<PyDict>() else {
            return Ok(None);
        };
        let py = config.py();
        let mut switches = Vec::with_capacity(self.getters.len());
        for getter in &self.getters {
            match config.get_item(getter.switch.bind(py))? {
                Some(switch)
                    if switch.is_exact_instance_of::<PyBool>()
                        || switch.is_exact_instance_of::<PyInt>()
                        || switch.is_exact_instance_of::<PyString>() =>
                {
                    switches.push(switch)
                }
                _ => return Ok(None),
            }
        }
        stats::TELEMETRY_GATES.hit();
        let mut checked = None;
        for (getter, switch) in self.getters.iter().zip(switches) {
            if !switch.is_truthy()? {
                continue;
            }
            if !config
                .as_any()
                .get_item(getter.own_provider.bind(py))?
                .is_none()
            {
                return Ok(Some(true));
            }
            let provider = self.provider(getter, &mut checked, py)?;
            if !self.unconfigured(&provider, &mut checked)? {
                return Ok(Some(true));
            }
        }
        Ok(Some(false))
    }
}

impl TelemetryGate {
    /// A global of FastAPI's module as its code reads it (its globals, then the builtins).
    fn fastapi_global<'py>(
        &self,
        py: Python<'py>,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Some(value) = self.fastapi_globals.bind(py).get_item(name)? {
            return Ok(value);
        }
        if let Some(value) = py.import(intern!(py, "builtins"))?.dict().get_item(name)? {
            return Ok(value);
        }
        Err(PyNameError::new_err(format!(
            "name '{name}' is not defined"
        )))
    }

    /// `trace.get_tracer_provider()` (and the two others), as FastAPI's module calls it.
    fn provider<'py>(
        &self,
        getter: &ProviderGetter,
        checked: &mut CheckedEnviron<'py>,
        py: Python<'py>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let function = self
            .fastapi_global(py, getter.module_global.bind(py))?
            .getattr(getter.function_name.bind(py))?;
        if let Some(verified) = &getter.verified {
            if function.is(&verified.0) {
                if let Some(provider) = self.without_side_effects(getter, verified, checked, py)? {
                    return Ok(provider);
                }
            }
        }
        *checked = None; // the getter runs Python code
        function.call0()
    }

    /// What the verified getter returns where it returns a global as it stands.
    fn without_side_effects<'py>(
        &self,
        getter: &ProviderGetter,
        verified: &VerifiedGetter,
        checked: &mut CheckedEnviron<'py>,
        py: Python<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let namespace = getter.namespace.bind(py);
        let Some(provider) = namespace.get_item(getter.provider.bind(py))? else {
            return Ok(None);
        };
        if !provider.is_none() {
            return Ok(Some(provider));
        }
        let environ = if getter.environ_in_os {
            match namespace.get_item(intern!(py, "os"))? {
                Some(os) => os.getattr(intern!(py, "environ")).ok(),
                None => None,
            }
        } else {
            namespace.get_item(intern!(py, "environ"))?
        };
        let Some(environ) = environ else {
            return Ok(None);
        };
        let Some(variable) = namespace.get_item(getter.variable.bind(py))? else {
            return Ok(None);
        };
        if !variable.is(&verified.1) || !self.lacks(environ, &verified.2, checked)? {
            return Ok(None);
        }
        namespace.get_item(getter.proxy.bind(py))
    }

    /// `encodekey(variable) not in environ._data`: True only where the stock `os.environ` says
    /// the variable is not in it.
    fn lacks<'py>(
        &self,
        environ: Bound<'py, PyAny>,
        encoded_name: &Py<PyAny>,
        checked: &mut CheckedEnviron<'py>,
    ) -> PyResult<bool> {
        let py = environ.py();
        let data = match checked {
            Some((known, data)) if known.is(&environ) => data.clone(),
            _ => match self.stock_data(&environ) {
                Some(data) => {
                    *checked = Some((environ, data.clone()));
                    data
                }
                None => return Ok(false),
            },
        };
        Ok(!data.contains(encoded_name.bind(py))?)
    }

    /// `environ._data` if `environ` answers `in` as the stock `os.environ` does.
    fn stock_data<'py>(&self, environ: &Bound<'py, PyAny>) -> Option<Bound<'py, PyDict>> {
        let py = environ.py();
        let stock = &self.environ;
        let class = stock.class.bind(py);
        let is_stock =
            |owner: &Bound<'py, PyAny>, name: &Bound<'py, PyString>, value: &Py<PyAny>| {
                owner.getattr(name).is_ok_and(|found| found.is(value))
            };
        if !environ.get_type().is(class)
            || !is_stock(class.as_any(), intern!(py, "__getitem__"), &stock.getitem)
            || !is_stock(class.as_any(), intern!(py, "__contains__"), &stock.contains)
            || !is_stock(environ, intern!(py, "encodekey"), &stock.encodekey)
        {
            return None;
        }
        let data = environ.getattr(intern!(py, "_data")).ok()?;
        data.cast_into_exact::<PyDict>().ok()
    }

    /// `_unconfigured(provider)` as FastAPI's module calls it.
    fn unconfigured<'py>(
        &self,
        provider: &Bound<'py, PyAny>,
        checked: &mut CheckedEnviron<'py>,
    ) -> PyResult<bool> {
        let py = provider.py();
        let function = self.fastapi_global(py, intern!(py, "_unconfigured"))?;
        if let Some(verified) = &self.unconfigured {
            if function.is(verified) {
                let deferred = self
                    .unconfigured_namespace
                    .bind(py)
                    .get_item(intern!(py, "_DEFERRED_PROVIDERS"))?;
                if let Some(deferred) = deferred {
                    let class = provider.get_type();
                    let module = class.getattr(intern!(py, "__module__"))?;
                    let name = class.getattr(intern!(py, "__name__"))?;
                    // Without Python code only for a plain class, str names and a frozenset.
                    if !class.get_type().is(PyType::new::<PyType>(py))
                        || !module.is_exact_instance_of::<PyString>()
                        || !name.is_exact_instance_of::<PyString>()
                        || !deferred.is_exact_instance_of::<PyFrozenSet>()
                    {
                        *checked = None;
                    }
                    return deferred.contains(PyTuple::new(py, [module, name])?);
                }
            }
        }
        *checked = None;
        function.call1((provider,))?.is_truthy()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TelemetryGate>()
}
