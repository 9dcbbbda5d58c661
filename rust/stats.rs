//! Engagement counters: how often a native path answered instead of Starlette's Python code.
//!
//! Relaxed atomic increments (about a nanosecond each); `tachyon_engine.native_counts()` reads
//! them so that a test run can prove the acceleration was engaged, not merely installed.

use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// One counter per native path.
pub struct Counter(AtomicU64);

impl Counter {
    const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    #[inline]
    pub fn hit(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Routes confirmed natively (the route's `matches` was not called).
pub static ROUTE_NATIVE_MATCHES: Counter = Counter::new();
/// `JSONResponse.render` answered in Rust.
pub static JSON_RENDERS: Counter = Counter::new();
/// `Request.json()` / `WebSocket.receive_json()` parsed in Rust.
pub static JSON_PARSES: Counter = Counter::new();
/// Form bodies (urlencoded or multipart) parsed in Rust.
pub static FORM_PARSES: Counter = Counter::new();

/// FastAPI's `jsonable_encoder` answered in Rust.
pub static JSONABLE_ENCODES: Counter = Counter::new();

/// FastAPI's telemetry gate evaluated in Rust.
pub static TELEMETRY_GATES: Counter = Counter::new();

const COUNTERS: [(&str, &Counter); 6] = [
    ("route_native_matches", &ROUTE_NATIVE_MATCHES),
    ("json_renders", &JSON_RENDERS),
    ("json_parses", &JSON_PARSES),
    ("form_parses", &FORM_PARSES),
    ("jsonable_encodes", &JSONABLE_ENCODES),
    ("telemetry_gates", &TELEMETRY_GATES),
];

/// The counters since the process started, by name.
#[pyfunction]
fn native_counts(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let counts = PyDict::new(py);
    for (name, counter) in COUNTERS {
        counts.set_item(name, counter.get())?;
    }
    Ok(counts)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(native_counts, m)?)
}
