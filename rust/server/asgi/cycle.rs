//! One HTTP request/response cycle as the app sees it: `receive()` and `send()` with uvicorn's
//! semantics (its messages, checks and error texts). Both return an already-completed awaitable
//! unless they must wait: for request body bytes still on the wire, for the client to leave, or
//! for the socket to drain (backpressure). Only then is an asyncio future made, and tokio hands
//! it back through the bridge.

use bytes::Bytes;
use http::header::HeaderValue;
use http::{HeaderMap, Response, StatusCode};
use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyStopIteration};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString};
use std::sync::Arc;
use tokio::sync::oneshot;

use super::{to_header, ClientDisconnected, Settings};
use crate::server::body::OutBody;
use crate::server::bridge::{Bridge, NewRequest};
use crate::server::exchange::{Exchange, Received, Wait};

/// An awaitable that is already complete: `await` returns `value` without suspending.
#[pyclass(module = "tachyon_engine._core", name = "Ready", freelist = 64)]
pub struct Ready {
    value: Option<Py<PyAny>>,
}

#[pymethods]
impl Ready {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self) -> PyResult<Option<Py<PyAny>>> {
        match self.value.take() {
            None => Ok(None),
            Some(value) => Err(PyStopIteration::new_err((value,))),
        }
    }
}

static DONE: PyOnceLock<Py<Ready>> = PyOnceLock::new();

/// The shared completed awaitable whose result is `None` (what `send()` returns).
pub fn done(py: Python<'_>) -> PyResult<Py<PyAny>> {
    Ok(DONE
        .get_or_try_init(py, || Py::new(py, Ready { value: None }))?
        .clone_ref(py)
        .into_any())
}

pub fn ready(py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    Ok(Py::new(
        py,
        Ready {
            value: Some(value.unbind()),
        },
    )?
    .into_any())
}

/// What a waiting `receive()` or `send()` parks in the exchange.
pub struct ParkedFuture {
    pub future: Py<PyAny>,
    /// For `receive()`: the cycle whose next message resolves the future.
    pub cycle: Option<Py<HttpCycle>>,
}

pub fn disconnect_message(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let message = PyDict::new(py);
    message.set_item(intern!(py, "type"), intern!(py, "http.disconnect"))?;
    Ok(message)
}

fn request_message<'py>(py: Python<'py>, body: &[u8], more: bool) -> PyResult<Bound<'py, PyDict>> {
    let message = PyDict::new(py);
    message.set_item(intern!(py, "type"), intern!(py, "http.request"))?;
    message.set_item(intern!(py, "body"), PyBytes::new(py, body))?;
    message.set_item(intern!(py, "more_body"), more)?;
    Ok(message)
}

/// Resolves a parked future with `value` unless it was cancelled meanwhile.
pub fn resolve(py: Python<'_>, future: &Py<PyAny>, value: Bound<'_, PyAny>) -> PyResult<()> {
    let future = future.bind(py);
    if !future.call_method0(intern!(py, "done"))?.is_truthy()? {
        future.call_method1(intern!(py, "set_result"), (value,))?;
    }
    Ok(())
}

#[pyclass(module = "tachyon_engine._core", name = "HttpCycle")]
pub struct HttpCycle {
    #[pyo3(get)]
    scope: Py<PyDict>,
    exchange: Arc<Exchange>,
    bridge: Arc<Bridge>,
    settings: Arc<Settings>,
    connection: Arc<crate::server::service::ConnectionInfo>,
    respond: Option<oneshot::Sender<Response<OutBody>>>,
    /// The whole request body, read before the app started, until it is received.
    body: Option<Bytes>,
    body_complete: bool,
    head_request: bool,
    http10: bool,
    keep_alive: bool,
    // Response state, as uvicorn keeps it.
    started: bool,
    complete: bool,
    streaming: bool,
    chunked: Option<bool>,
    expected_length: u64,
    pending_head: Option<(StatusCode, HeaderMap)>,
    #[pyo3(get)]
    status: u16,
    /// The app said at start it will send trailers (`http.response.trailers`) ...
    trailers: bool,
    /// ... its body is over and they are what comes next ...
    awaiting_trailers: bool,
    /// ... and these arrived so far.
    trailer_fields: HeaderMap,
}

impl HttpCycle {
    pub fn new(
        py: Python<'_>,
        request: NewRequest,
        settings: &Arc<Settings>,
        bridge: &Arc<Bridge>,
    ) -> PyResult<Self> {
        let scope = super::scope::build(py, &request, settings)?;
        let head_request = request.head.method == http::Method::HEAD;
        let keep_alive = request.head.version != http::Version::HTTP_10
            && !request
                .head
                .headers
                .get_all(http::header::CONNECTION)
                .iter()
                .any(|value| says_close(value.as_bytes()));
        Ok(Self {
            scope: scope.unbind(),
            exchange: request.exchange,
            connection: request.connection.clone(),
            bridge: bridge.clone(),
            settings: settings.clone(),
            respond: Some(request.respond),
            body: request.body,
            body_complete: false,
            head_request,
            http10: request.head.version == http::Version::HTTP_10,
            keep_alive,
            started: false,
            complete: false,
            streaming: false,
            chunked: None,
            expected_length: 0,
            pending_head: None,
            status: 0,
            trailers: false,
            awaiting_trailers: false,
            trailer_fields: HeaderMap::new(),
        })
    }

    /// The next message for `receive()` if there is one now.
    pub fn receive_now<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        if self.complete {
            return disconnect_message(py).map(Some);
        }
        if !self.body_complete {
            if let Some(body) = self.body.take() {
                self.body_complete = true;
                return request_message(py, &body, false).map(Some);
            }
            // Body bytes that arrived before a disconnect are delivered first.
            match self.exchange.take_body() {
                Received::Body(chunk, more) => {
                    self.body_complete = !more;
                    if more {
                        self.exchange.pump.notify_one();
                    }
                    return request_message(py, &chunk, more).map(Some);
                }
                Received::Disconnected => return disconnect_message(py).map(Some),
                Received::Nothing => return Ok(None),
            }
        }
        if self.exchange.is_disconnected() {
            return disconnect_message(py).map(Some);
        }
        Ok(None)
    }

    fn wait(slf: &Bound<'_, Self>, wait: Wait) -> PyResult<Option<Py<PyAny>>> {
        let py = slf.py();
        let this = slf.borrow();
        let future = this.settings.create_future.call0(py)?;
        let cycle = (wait == Wait::Receive).then(|| slf.clone().unbind());
        let parked = Box::new(ParkedFuture {
            future: future.clone_ref(py),
            cycle,
        });
        Ok(this.exchange.park(wait, parked).then_some(future))
    }

    fn start(&mut self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<()> {
        let status_code: u16 = message.get_item(intern!(py, "status"))?.extract()?;
        let status = StatusCode::from_u16(status_code)
            .ok()
            .filter(|s| (100..600).contains(&s.as_u16()))
            .ok_or_else(|| PyKeyError::new_err(status_code))?;
        let mut headers = HeaderMap::with_capacity(8);
        self.settings.defaults.write(&mut headers);
        let mut has_connection_close = false;
        if let Ok(app_headers) = message.get_item(intern!(py, "headers")) {
            for pair in app_headers.try_iter()? {
                let pair = pair?;
                let (name_object, value_object) = match pair.cast::<pyo3::types::PyTuple>() {
                    Ok(tuple) if tuple.len() == 2 => (tuple.get_item(0)?, tuple.get_item(1)?),
                    _ => (pair.get_item(0)?, pair.get_item(1)?),
                };
                let (name, value) = to_header(
                    name_object.cast::<PyBytes>()?.as_bytes(),
                    value_object.cast::<PyBytes>()?.as_bytes(),
                )?;
                let value_bytes = value.as_bytes();
                if name == http::header::CONTENT_LENGTH && self.chunked.is_none() {
                    self.expected_length = content_length(py, value_bytes)?;
                    self.chunked = Some(false);
                } else if name == http::header::TRANSFER_ENCODING
                    && value_bytes.eq_ignore_ascii_case(b"chunked")
                {
                    self.expected_length = 0;
                    self.chunked = Some(true);
                } else if name == http::header::CONNECTION && says_close(value_bytes) {
                    self.keep_alive = false;
                    has_connection_close = true;
                }
                headers.append(name, value);
            }
        }
        if !self.keep_alive && !has_connection_close {
            headers.append(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.chunked.is_none() && !self.head_request && status_code != 204 && status_code != 304
        {
            self.chunked = Some(true);
        }
        if let Ok(trailers) = message.get_item(intern!(py, "trailers")) {
            self.trailers = trailers.is_truthy()?;
        }
        self.started = true;
        self.status = status_code;
        if let Some(log) = &self.settings.access_log {
            log.call1(py, (self.scope.bind(py), status_code))?;
        }
        self.pending_head = Some((status, headers));
        Ok(())
    }

    fn response(&mut self, body: OutBody) -> Response<OutBody> {
        let (status, headers) = self.pending_head.take().unwrap_or_default();
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        if self.http10 {
            // hyper answers an HTTP/1.0 request as HTTP/1.0 anyway; saying so keeps it from
            // adding `keep-alive` to the `connection: close` uvicorn's rule puts there.
            *response.version_mut() = http::Version::HTTP_10;
        }
        if let Some(phrase) = self.settings.reason_phrase(status) {
            response.extensions_mut().insert(phrase);
        }
        response
    }

    /// Hands the response head (and its whole body, or a stream) to hyper, in the batch of
    /// replies flushed after this pass of the loop.
    fn respond(&mut self, py: Python<'_>, body: OutBody) -> PyResult<()> {
        let Some(sender) = self.respond.take() else {
            return Ok(());
        };
        if sender.is_closed() {
            return Err(ClientDisconnected::new_err("client disconnected"));
        }
        let response = self.response(body);
        if self.bridge.reply((sender, response)) {
            self.settings.flush_after_this_pass(py)?;
        }
        Ok(())
    }

    fn finish(&mut self, py: Python<'_>) -> PyResult<()> {
        self.complete = true;
        if let Some(parked) = self.exchange.unpark_any() {
            if let Ok(parked) = parked.downcast::<ParkedFuture>() {
                resolve(py, &parked.future, disconnect_message(py)?.into_any())?;
            }
        }
        Ok(())
    }

    fn body(&mut self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<bool> {
        let body = match message.get_item(intern!(py, "body")) {
            Ok(body) => body,
            Err(_) => PyBytes::new(py, b"").into_any(),
        };
        let more = match message.get_item(intern!(py, "more_body")) {
            Ok(more) => more.is_truthy()?,
            Err(_) => false,
        };
        let data: Bytes = match body.cast::<PyBytes>() {
            Ok(bytes) => Bytes::copy_from_slice(bytes.as_bytes()),
            Err(_) => Bytes::from(body.extract::<Vec<u8>>()?),
        };
        let data = if self.head_request {
            self.expected_length = 0;
            Bytes::new()
        } else if self.chunked == Some(true) {
            data
        } else {
            self.count_body(data.len() as u64)?;
            data
        };
        let mut backpressure = false;
        // With trailers to come, the body stays open after its last chunk: it streams.
        if !self.streaming && !more && !self.trailers {
            let exact = self.chunked == Some(false);
            // A chunked response keeps even an empty body (uvicorn sends `0\r\n\r\n`, where
            // hyper would write `content-length: 0` for a body that ended before it started).
            let keep = self.chunked == Some(true) || exact || !data.is_empty();
            self.respond(
                py,
                OutBody::Whole {
                    data: keep.then_some(data),
                    exact,
                },
            )?;
        } else {
            if !self.streaming {
                self.streaming = true;
                self.respond(
                    py,
                    OutBody::Streamed {
                        exchange: self.exchange.clone(),
                        bridge: self.bridge.clone(),
                    },
                )?;
            }
            backpressure = self.exchange.push_out(data, !more && !self.trailers);
        }
        if !more {
            self.check_body_complete()?;
            if self.trailers {
                self.awaiting_trailers = true;
            } else {
                self.finish(py)?;
            }
        }
        Ok(backpressure)
    }
}

impl HttpCycle {
    /// Counts body bytes against the declared Content-Length, as uvicorn checks them.
    fn count_body(&mut self, length: u64) -> PyResult<()> {
        if length > self.expected_length {
            return Err(PyRuntimeError::new_err(
                "Response content longer than Content-Length",
            ));
        }
        self.expected_length -= length;
        Ok(())
    }

    /// At the end of the body: all of the declared Content-Length was sent.
    fn check_body_complete(&self) -> PyResult<()> {
        if self.expected_length != 0 {
            return Err(PyRuntimeError::new_err(
                "Response content shorter than Content-Length",
            ));
        }
        Ok(())
    }

    /// `http.response.trailers`: fields for after the body; the last message ends the response.
    /// hyper sends them over HTTP/2, and over HTTP/1.1 when the response's `Trailer` header
    /// names them (its chunked encoding's rule).
    fn add_trailers(&mut self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(headers) = message.get_item(intern!(py, "headers")) {
            for pair in headers.try_iter()? {
                let pair = pair?;
                let (name, value) = to_header(
                    pair.get_item(0)?.cast::<PyBytes>()?.as_bytes(),
                    pair.get_item(1)?.cast::<PyBytes>()?.as_bytes(),
                )?;
                self.trailer_fields.append(name, value);
            }
        }
        let more = match message.get_item(intern!(py, "more_trailers")) {
            Ok(more) => more.is_truthy()?,
            Err(_) => false,
        };
        if !more {
            self.awaiting_trailers = false;
            self.exchange
                .push_trailers(std::mem::take(&mut self.trailer_fields));
            self.finish(py)?;
        }
        Ok(())
    }

    /// `http.response.pathsend`: the file at `path` is the whole body, read by tokio. Opening it
    /// fails here, in the app's `send()` (`FileNotFoundError`, ...); a length that contradicts
    /// the declared Content-Length fails as a body would.
    fn pathsend(&mut self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<()> {
        let path: std::path::PathBuf = message.get_item(intern!(py, "path"))?.extract()?;
        let file = std::fs::File::open(&path)?;
        let length = file.metadata()?.len();
        if self.head_request {
            let empty = PyDict::new(py);
            empty.set_item(intern!(py, "type"), intern!(py, "http.response.body"))?;
            self.body(py, empty.as_any())?;
            return Ok(());
        }
        let exact = self.chunked == Some(false);
        if exact {
            self.count_body(length)?;
            self.check_body_complete()?;
        }
        let body = OutBody::File {
            file: tokio::fs::File::from_std(file),
            remaining: length,
            exact,
        };
        self.respond(py, body)?;
        self.finish(py)
    }
}

/// Whether a `Connection` header value lists the `close` token.
fn says_close(value: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"))
}

/// `int(value.decode())`, as uvicorn reads a Content-Length header (its errors included).
fn content_length(py: Python<'_>, value: &[u8]) -> PyResult<u64> {
    if !value.is_empty() && value.len() <= 18 && value.iter().all(u8::is_ascii_digit) {
        return Ok(value.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')));
    }
    let text = PyBytes::new(py, value).call_method0(intern!(py, "decode"))?;
    py.get_type::<pyo3::types::PyInt>()
        .call1((text,))?
        .extract()
}

#[pymethods]
impl HttpCycle {
    fn receive(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        if let Some(message) = slf.borrow_mut().receive_now(py)? {
            return ready(py, message.into_any());
        }
        // The pump waits for the first receive() before reading an `Expect: 100-continue` body.
        slf.borrow().exchange.pump.notify_one();
        match Self::wait(slf, Wait::Receive)? {
            Some(future) => Ok(future),
            None => match slf.borrow_mut().receive_now(py)? {
                Some(message) => ready(py, message.into_any()),
                None => Err(PyRuntimeError::new_err(
                    "receive() found nothing after the exchange said ready",
                )),
            },
        }
    }

    fn send(slf: &Bound<'_, Self>, message: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let backpressure = {
            let mut this = slf.borrow_mut();
            if this.exchange.is_disconnected() {
                return Err(ClientDisconnected::new_err("client disconnected"));
            }
            let kind_object = message.get_item(intern!(py, "type"))?;
            let kind = kind_object.cast::<PyString>()?.to_str()?;
            if !this.started {
                if kind != "http.response.start" {
                    return Err(PyRuntimeError::new_err(format!(
                        "Expected ASGI message 'http.response.start', but got '{kind}'."
                    )));
                }
                this.start(py, message)?;
                false
            } else if this.awaiting_trailers {
                if kind != "http.response.trailers" {
                    return Err(PyRuntimeError::new_err(format!(
                        "Expected ASGI message 'http.response.trailers', but got '{kind}'."
                    )));
                }
                this.add_trailers(py, message)?;
                false
            } else if !this.complete {
                if kind == "http.response.pathsend" && !this.streaming {
                    this.pathsend(py, message)?;
                    return done(py);
                }
                if kind != "http.response.body" {
                    return Err(PyRuntimeError::new_err(format!(
                        "Expected ASGI message 'http.response.body', but got '{kind}'."
                    )));
                }
                this.body(py, message)?
            } else {
                return Err(PyRuntimeError::new_err(format!(
                    "Unexpected ASGI message '{kind}' sent, after response already completed."
                )));
            }
        };
        if backpressure {
            if let Some(future) = Self::wait(slf, Wait::Drain)? {
                return Ok(future);
            }
        }
        done(py)
    }

    #[getter]
    fn response_started(&self) -> bool {
        self.started
    }

    #[getter]
    fn response_complete(&self) -> bool {
        self.complete
    }

    #[getter]
    fn disconnected(&self) -> bool {
        self.exchange.is_disconnected()
    }

    /// The app failed or returned after starting its response: close the connection (the client
    /// sees the head, perhaps part of the body, then the end of the connection).
    fn abort(&mut self, py: Python<'_>) -> PyResult<()> {
        if self.respond.is_some() {
            if self.pending_head.is_none() {
                // Not even started: a cycle dropped without a response gets hyper's 500 instead.
                self.respond = None;
                return Ok(());
            }
            let body = OutBody::Streamed {
                exchange: self.exchange.clone(),
                bridge: self.bridge.clone(),
            };
            // The head goes out, then the aborted body closes the connection.
            let _ = self.respond(py, body);
        }
        self.exchange.abort_out();
        // hyper writes no body for some responses (HEAD, 204, 304), so it would never see the
        // aborted body: the connection is asked to close after this response all the same.
        if self.head_request || self.status == 204 || self.status == 304 {
            self.bridge.close_after_replies(self.connection.clone());
            self.settings.flush_after_this_pass(py)?;
        }
        self.complete = true;
        Ok(())
    }
}
