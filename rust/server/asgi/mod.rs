//! The ASGI bridge, the only part of the server that touches Python. The server's tokio runtime
//! runs on a thread of its own and never takes the GIL; the Python thread that runs the asyncio
//! loop drains the bridge's queue when its eventfd is readable (`NativeServer.drain()`), which
//! builds each new request's scope and cycle and resolves the futures of waiting
//! `receive()`/`send()` calls, all in one call per wakeup.

pub mod cycle;
pub mod scope;
pub mod websocket;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::StatusCode;
use hyper::ext::ReasonPhrase;
use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use tokio::sync::watch;

use super::bridge::{Bridge, Delivery, Event, LogLevel};
use super::config::{HttpVersions, Limits, ResponseDefaults};
use super::listener::Listener;
use super::service::{accept_loop, Shared};
use super::tls::TlsFiles;
use super::websocket::Options as WebSocketOptions;
use cycle::{resolve, HttpCycle, ParkedFuture};
use websocket::WebSocketCycle;

/// An optional duration in seconds from Python (`None` or a non-positive value: never).
fn seconds(value: Option<f64>) -> Option<Duration> {
    value.filter(|s| *s > 0.0).map(Duration::from_secs_f64)
}

pyo3::create_exception!(
    tachyon_engine._core,
    ClientDisconnected,
    PyOSError,
    "send() after the client went away (ASGI spec 2.4: an OSError subclass)."
);

/// What every request's scope and response share: made once per server on the Python thread.
pub struct Settings {
    pub scheme: Py<PyString>,
    /// `ws` or `wss`, for WebSocket scopes.
    pub websocket_scheme: Py<PyString>,
    /// `websocket_log(scope, outcome)`: uvicorn's info line for each handshake's answer.
    pub websocket_log: Option<Py<PyAny>>,
    pub root_path: Py<PyString>,
    pub root_path_text: String,
    pub state: Py<PyDict>,
    pub create_future: Py<PyAny>,
    /// `access_log(scope, status)` when the access log is on.
    pub access_log: Option<Py<PyAny>>,
    /// `proxy_headers(scope)` when `--proxy-headers` is on (called only for requests that carry
    /// `X-Forwarded-For` or `X-Forwarded-Proto`).
    pub proxy_headers: Option<Py<PyAny>>,
    /// `log(level, message)` for the server's own log lines from the tokio side.
    pub log: Py<PyAny>,
    /// `loop.call_soon`, and what it calls once per pass that completed responses.
    pub call_soon: Py<PyAny>,
    pub flush_replies: Py<PyAny>,
    pub defaults: ResponseDefaults,
    /// Python's reason phrase for each status code where it differs from hyper's.
    pub reason_phrases: Vec<Option<ReasonPhrase>>,
    server_tuple: Mutex<Option<(SocketAddr, Py<PyTuple>)>>,
}

impl Settings {
    pub fn server_tuple<'py>(
        &self,
        py: Python<'py>,
        address: &SocketAddr,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let mut cached = self.server_tuple.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((known, tuple)) = cached.as_ref() {
            if known == address {
                return Ok(tuple.bind(py).clone());
            }
        }
        let tuple = scope::address_tuple(py, address)?;
        *cached = Some((*address, tuple.clone().unbind()));
        Ok(tuple)
    }

    /// Arranges one delivery to tokio of what this pass of the loop queued for it (responses,
    /// WebSocket messages): `flush_replies` called once the pass is over.
    pub fn flush_after_this_pass(&self, py: Python<'_>) -> PyResult<()> {
        self.call_soon
            .call1(py, (self.flush_replies.bind(py),))
            .map(drop)
    }

    pub fn reason_phrase(&self, status: StatusCode) -> Option<ReasonPhrase> {
        self.reason_phrases
            .get(usize::from(status.as_u16()))
            .cloned()
            .flatten()
    }
}

#[pyclass(module = "tachyon_engine._core", name = "NativeServer", frozen)]
pub struct NativeServer {
    shared: Arc<Shared>,
    settings: Arc<Settings>,
    stop: watch::Sender<bool>,
    terminate: watch::Sender<bool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    events: Mutex<Vec<Event>>,
}

/// A header the app or the command line gives, refused with uvicorn's messages.
pub fn to_header(name: &[u8], value: &[u8]) -> PyResult<(HeaderName, HeaderValue)> {
    Ok((
        HeaderName::from_bytes(name)
            .map_err(|_| PyRuntimeError::new_err("Invalid HTTP header name."))?,
        HeaderValue::from_bytes(value)
            .map_err(|_| PyRuntimeError::new_err("Invalid HTTP header value."))?,
    ))
}

#[pymethods]
impl NativeServer {
    /// Starts serving the listening socket `fd` (a duplicate is taken) on a tokio thread.
    #[new]
    #[pyo3(signature = (
        fd, *, create_future, call_soon, log, state, scheme = "http", root_path = "", access_log = None,
        proxy_headers = None, date_header = true, headers = Vec::new(), reason_phrases = Vec::new(),
        timeout_keep_alive = 5.0, max_headers = 100, max_header_size = None, limit_concurrency = None,
        ws = true, ws_max_size = 16777216, ws_max_queue = 32, ws_ping_interval = Some(20.0),
        ws_ping_timeout = Some(20.0), websocket_log = None, http = "auto", tls = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        fd: i32,
        create_future: Py<PyAny>,
        call_soon: Py<PyAny>,
        log: Py<PyAny>,
        state: Py<PyDict>,
        scheme: &str,
        root_path: &str,
        access_log: Option<Py<PyAny>>,
        proxy_headers: Option<Py<PyAny>>,
        date_header: bool,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        reason_phrases: Vec<(u16, Vec<u8>)>,
        timeout_keep_alive: f64,
        max_headers: usize,
        max_header_size: Option<usize>,
        limit_concurrency: Option<usize>,
        ws: bool,
        ws_max_size: usize,
        ws_max_queue: usize,
        ws_ping_interval: Option<f64>,
        ws_ping_timeout: Option<f64>,
        websocket_log: Option<Py<PyAny>>,
        http: &str,
        tls: Option<Py<TlsConfig>>,
    ) -> PyResult<Self> {
        let http = http_versions(http)?;
        let fixed = headers
            .iter()
            .map(|(n, v)| to_header(n, v))
            .collect::<PyResult<Vec<_>>>()?;
        let defaults = ResponseDefaults {
            date: date_header,
            fixed,
        };
        let mut phrases = vec![None; 600];
        for (code, phrase) in reason_phrases {
            let Ok(status) = StatusCode::from_u16(code) else {
                continue;
            };
            if status.canonical_reason().map(str::as_bytes) != Some(&phrase[..]) {
                if let (Some(slot), Ok(reason)) = (
                    phrases.get_mut(usize::from(code)),
                    ReasonPhrase::try_from(phrase),
                ) {
                    *slot = Some(reason);
                }
            }
        }
        let bridge = Bridge::new()?;
        let flush_replies = Py::new(py, FlushReplies(bridge.clone()))?.into_any();
        let settings = Arc::new(Settings {
            call_soon,
            flush_replies,
            scheme: PyString::new(py, scheme).unbind(),
            websocket_scheme: PyString::new(py, if scheme == "https" { "wss" } else { "ws" })
                .unbind(),
            websocket_log,
            root_path: PyString::new(py, root_path).unbind(),
            root_path_text: root_path.to_owned(),
            state,
            create_future,
            access_log,
            proxy_headers,
            log,
            defaults: defaults.clone(),
            reason_phrases: phrases,
            server_tuple: Mutex::new(None),
        });
        let limits = Limits {
            defaults,
            timeout_keep_alive: Duration::from_secs_f64(timeout_keep_alive.max(0.001)),
            max_headers,
            max_header_size,
            limit_concurrency,
            http,
            websocket: ws.then(|| WebSocketOptions {
                max_size: ws_max_size,
                max_queue: ws_max_queue,
                ping_interval: seconds(ws_ping_interval),
                ping_timeout: seconds(ws_ping_timeout),
            }),
            ..Limits::default()
        };
        let tls = tls.map(|config| config.get().0.clone());
        let (stop, stop_receiver) = watch::channel(false);
        let shared = Arc::new(Shared {
            bridge,
            tls,
            stop: stop_receiver,
            limits,
            connections: Default::default(),
            requests: Default::default(),
        });
        // Tokio tells the Python side about new events when it runs out of work.
        let park_bridge = shared.bridge.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(move || park_bridge.flush_events())
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            Listener::from_fd(fd)?
        };
        let (terminate, mut terminate_receiver) = watch::channel(false);
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("tachyon-io".into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::spawn(deliver_replies(thread_shared.bridge.clone()));
                    let serving = async {
                        accept_loop(listener, thread_shared.clone()).await;
                        // Stopped accepting: wait for the open connections to finish.
                        while thread_shared.connections.load(Ordering::Acquire) > 0 {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    };
                    tokio::select! {
                        _ = serving => {}
                        _ = terminate_receiver.changed() => {}
                    }
                });
                // Dropping the runtime closes whatever connections are left.
            })?;
        Ok(Self {
            shared,
            settings,
            stop,
            terminate,
            thread: Mutex::new(Some(thread)),
            events: Mutex::new(Vec::with_capacity(256)),
        })
    }

    /// The eventfd to watch: readable when `drain()` has something to do.
    fn fileno(&self) -> i32 {
        self.shared.bridge.fileno()
    }

    /// New requests since the last call, as cycles (each with its `scope`); also resolves the
    /// futures of waiting `receive()`/`send()` calls and writes the tokio side's log lines.
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut events =
            std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()));
        self.shared.bridge.take(&mut events);
        let cycles = PyList::empty(py);
        let mut failure = None;
        for event in events.drain(..) {
            let outcome = match event {
                Event::Request(request) => {
                    HttpCycle::new(py, *request, &self.settings, &self.shared.bridge)
                        .and_then(|cycle| Py::new(py, cycle))
                        .and_then(|cycle| cycles.append(cycle))
                }
                Event::WebSocket(request) => {
                    WebSocketCycle::new(py, *request, &self.settings, &self.shared.bridge)
                        .and_then(|cycle| Py::new(py, cycle))
                        .and_then(|cycle| cycles.append(cycle))
                }
                Event::WakeSocket(parked) => websocket::wake(py, parked),
                Event::Wake(exchange, parked) => match parked.downcast::<ParkedFuture>() {
                    Ok(parked) => wake(py, &exchange, *parked),
                    Err(_) => Ok(()),
                },
                Event::Log(level, message) => {
                    let level = match level {
                        LogLevel::Warning => 30,
                        LogLevel::Error => 40,
                    };
                    self.settings.log.call1(py, (level, message)).map(drop)
                }
            };
            if let Err(error) = outcome {
                failure.get_or_insert(error);
            }
        }
        *self.events.lock().unwrap_or_else(|p| p.into_inner()) = events;
        match failure {
            Some(error) => Err(error),
            None => Ok(cycles),
        }
    }

    /// Stops accepting and asks every connection to close once its in-flight request is done
    /// (idle keep-alive connections close at once).
    fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// Closes every connection now, finished or not.
    fn terminate(&self) {
        let _ = self.stop.send(true);
        let _ = self.terminate.send(true);
    }

    /// Waits for the tokio thread to end (after `shutdown()` or `terminate()`).
    fn join(&self, py: Python<'_>) {
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            py.detach(|| {
                let _ = thread.join();
            });
        }
    }

    #[getter]
    fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Acquire)
    }

    #[getter]
    fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::Acquire)
    }
}

/// Hands the replies the Python side queued to their connections, one batch per wakeup.
async fn deliver_replies(bridge: Arc<Bridge>) {
    let mut replies = Vec::with_capacity(256);
    loop {
        bridge.replies_ready.notified().await;
        bridge.take_replies(&mut replies);
        for delivery in replies.drain(..) {
            match delivery {
                // A connection that went away meanwhile drops its response.
                Delivery::Reply((sender, response)) => drop(sender.send(response)),
                Delivery::Socket(channel) => channel.io.notify_one(),
            }
        }
        for connection in bridge.take_closing() {
            connection.close.notify_one();
        }
    }
}

/// `flush_replies()`: called once per pass of the asyncio loop that completed responses.
#[pyclass(module = "tachyon_engine._core", name = "FlushReplies", frozen)]
struct FlushReplies(Arc<Bridge>);

#[pymethods]
impl FlushReplies {
    fn __call__(&self) {
        self.0.flush_replies();
    }
}

fn wake(
    py: Python<'_>,
    exchange: &Arc<super::exchange::Exchange>,
    parked: ParkedFuture,
) -> PyResult<()> {
    let Some(cycle) = &parked.cycle else {
        return resolve(py, &parked.future, py.None().into_bound(py));
    };
    let cycle = cycle.clone_ref(py);
    loop {
        if let Some(message) = cycle.bind(py).borrow_mut().receive_now(py)? {
            return resolve(py, &parked.future, message.into_any());
        }
        // Woken with nothing to deliver yet: wait again (unless the news arrived meanwhile).
        let future = parked.future.clone_ref(py);
        let again = Box::new(ParkedFuture {
            future,
            cycle: Some(cycle.clone_ref(py)),
        });
        if exchange.park(super::exchange::Wait::Receive, again) {
            return Ok(());
        }
    }
}

/// `--http`'s value.
fn http_versions(http: &str) -> PyResult<HttpVersions> {
    match http {
        "auto" => Ok(HttpVersions::Auto),
        "1" => Ok(HttpVersions::Http1),
        "2" => Ok(HttpVersions::Http2),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "http must be 'auto', '1' or '2', not {other:?}"
        ))),
    }
}

/// The server's TLS setup, made from the files' contents before the server starts (so that a
/// file that cannot be used stops it before the lifespan) and handed to `NativeServer`.
#[pyclass(module = "tachyon_engine._core", name = "TlsConfig", frozen)]
pub struct TlsConfig(tokio_rustls::TlsAcceptor);

#[pymethods]
impl TlsConfig {
    /// Raises `ValueError` saying what is wrong with the files.
    #[new]
    #[pyo3(signature = (certificates, key, ca_certs = None, cert_reqs = 0, http = "auto"))]
    fn new(
        certificates: Vec<u8>,
        key: Vec<u8>,
        ca_certs: Option<Vec<u8>>,
        cert_reqs: u8,
        http: &str,
    ) -> PyResult<Self> {
        let files = TlsFiles {
            chain_pem: certificates,
            key_pem: key,
            ca_pem: ca_certs,
            cert_reqs,
        };
        super::tls::acceptor(&files, http_versions(http)?)
            .map(Self)
            .map_err(pyo3::exceptions::PyValueError::new_err)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TlsConfig>()?;
    m.add_class::<NativeServer>()?;
    m.add_class::<HttpCycle>()?;
    m.add_class::<WebSocketCycle>()?;
    m.add_class::<cycle::Ready>()?;
    m.add(
        "ClientDisconnected",
        m.py().get_type::<ClientDisconnected>(),
    )?;
    Ok(())
}
