//! One WebSocket as the app sees it: `receive()` and `send()` with the messages, checks and
//! error texts of uvicorn's `websockets` protocol. Like `cycle`, both return a completed
//! awaitable unless they must wait (for a message from the peer, or for the socket to drain).

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Response, StatusCode};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use std::sync::Arc;
use tokio::sync::oneshot;

use super::cycle::{done, ready, resolve};
use super::{to_header, ClientDisconnected, Settings};
use crate::server::body::OutBody;
use crate::server::bridge::{Bridge, NewWebSocket};
use crate::server::exchange::Parked;
use crate::server::websocket::channel::{Channel, Inbound, Outbound};
use crate::server::websocket::handshake;

/// What a waiting `receive()` or `send()` parks in the channel.
pub struct ParkedSocketFuture {
    pub future: Py<PyAny>,
    /// For `receive()`: the cycle whose next message resolves the future.
    pub cycle: Option<Py<WebSocketCycle>>,
}

enum Handshake {
    Pending,
    Accepted,
    /// `websocket.http.response.start` was sent: its status and headers, and the body so far.
    Denying(StatusCode, Vec<(HeaderName, HeaderValue)>, Vec<u8>),
    /// Answered otherwise (refused, denied in full, or failed).
    Done,
}

#[pyclass(module = "tachyon_engine._core", name = "WebSocketCycle")]
pub struct WebSocketCycle {
    #[pyo3(get)]
    scope: Py<PyDict>,
    channel: Arc<Channel>,
    bridge: Arc<Bridge>,
    settings: Arc<Settings>,
    respond: Option<oneshot::Sender<Response<OutBody>>>,
    accept_key: String,
    connected: bool,
    handshake: Handshake,
    close_sent: bool,
}

fn message_dict<'py>(py: Python<'py>, kind: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyDict>> {
    let message = PyDict::new(py);
    message.set_item(intern!(py, "type"), kind)?;
    Ok(message)
}

fn to_message<'py>(py: Python<'py>, inbound: Inbound) -> PyResult<Bound<'py, PyDict>> {
    match inbound {
        Inbound::Text(text) => {
            let message = message_dict(py, intern!(py, "websocket.receive"))?;
            message.set_item(intern!(py, "text"), PyString::new(py, text.as_str()))?;
            Ok(message)
        }
        Inbound::Binary(data) => {
            let message = message_dict(py, intern!(py, "websocket.receive"))?;
            message.set_item(intern!(py, "bytes"), PyBytes::new(py, &data))?;
            Ok(message)
        }
        Inbound::Closed { code, reason } => {
            let message = message_dict(py, intern!(py, "websocket.disconnect"))?;
            message.set_item(intern!(py, "code"), code)?;
            if let Some(reason) = reason {
                message.set_item(intern!(py, "reason"), reason)?;
            }
            Ok(message)
        }
    }
}

/// `message.get(key)`, `None` when absent, for a dict or any mapping.
fn get<'py>(
    message: &Bound<'py, PyAny>,
    key: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let value = match message.cast::<PyDict>() {
        Ok(dict) => dict.get_item(key)?,
        Err(_) => Some(message.call_method1(intern!(message.py(), "get"), (key,))?),
    };
    Ok(value.filter(|v| !v.is_none()))
}

/// The app's headers, as pairs of bytes.
fn headers_of(message: &Bound<'_, PyAny>) -> PyResult<Vec<(HeaderName, HeaderValue)>> {
    let py = message.py();
    let mut headers = Vec::new();
    if let Some(pairs) = get(message, intern!(py, "headers"))? {
        for pair in pairs.try_iter()? {
            let pair = pair?;
            let name = pair.get_item(0)?;
            let value = pair.get_item(1)?;
            headers.push(to_header(
                &name.cast::<PyBytes>()?.as_bytes().to_ascii_lowercase(),
                value.cast::<PyBytes>()?.as_bytes(),
            )?);
        }
    }
    Ok(headers)
}

impl WebSocketCycle {
    pub fn new(
        py: Python<'_>,
        request: NewWebSocket,
        settings: &Arc<Settings>,
        bridge: &Arc<Bridge>,
    ) -> PyResult<Self> {
        let scope =
            super::scope::build_websocket(py, &request.head, &request.connection, settings)?;
        Ok(Self {
            scope: scope.unbind(),
            channel: request.channel,
            bridge: bridge.clone(),
            settings: settings.clone(),
            respond: Some(request.respond),
            accept_key: request.accept_key,
            connected: false,
            handshake: Handshake::Pending,
            close_sent: false,
        })
    }

    /// The next message for `receive()` if there is one now.
    pub fn receive_now<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        if !self.connected {
            self.connected = true;
            return message_dict(py, intern!(py, "websocket.connect")).map(Some);
        }
        self.channel.pop().map(|m| to_message(py, m)).transpose()
    }

    /// Tells the app's waiting `receive()` (if any) what the app's own side decided.
    /// (Called inside `send()`, with this cycle borrowed: the message is taken here, not by `wake`.)
    fn tell(&mut self, py: Python<'_>, message: Inbound) -> PyResult<()> {
        let Some(parked) = self.channel.push(message) else {
            return Ok(());
        };
        let Ok(parked) = parked.downcast::<ParkedSocketFuture>() else {
            return Ok(());
        };
        match self.receive_now(py)? {
            Some(message) => resolve(py, &parked.future, message.into_any()),
            None => Ok(()),
        }
    }

    /// Answers the handshake with something other than a 101 (a 403, a denial): the app's
    /// `receive()` says 1006 from now on, as uvicorn's does.
    fn refuse(&mut self, py: Python<'_>, response: Response<OutBody>) -> PyResult<()> {
        self.tell(
            py,
            Inbound::Closed {
                code: 1006,
                reason: None,
            },
        )?;
        self.close_sent = true;
        self.handshake = Handshake::Done;
        self.answer(py, response)
    }

    /// Hands a response for the handshake to hyper after this pass of the loop.
    fn answer(&mut self, py: Python<'_>, response: Response<OutBody>) -> PyResult<()> {
        if let Some(sender) = self.respond.take() {
            if self.bridge.reply((sender, response)) {
                self.settings.flush_after_this_pass(py)?;
            }
        }
        Ok(())
    }

    fn log(&self, py: Python<'_>, outcome: &Bound<'_, PyAny>) -> PyResult<()> {
        match &self.settings.websocket_log {
            Some(log) => log.call1(py, (self.scope.bind(py), outcome)).map(drop),
            None => Ok(()),
        }
    }

    fn accept(&mut self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<()> {
        self.log(py, intern!(py, "[accepted]"))?;
        let mut headers = HeaderMap::with_capacity(8);
        headers.append(http::header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.append(
            http::header::CONNECTION,
            HeaderValue::from_static("Upgrade"),
        );
        headers.append(
            http::header::SEC_WEBSOCKET_ACCEPT,
            HeaderValue::from_str(&self.accept_key)
                .map_err(|_| PyRuntimeError::new_err("invalid Sec-WebSocket-Accept"))?,
        );
        self.settings.defaults.write(&mut headers);
        for (name, value) in headers_of(message)? {
            headers.append(name, value);
        }
        if let Some(subprotocol) = get(message, intern!(py, "subprotocol"))? {
            if subprotocol.is_truthy()? {
                let subprotocol = subprotocol.extract::<String>()?;
                headers.append(
                    http::header::SEC_WEBSOCKET_PROTOCOL,
                    HeaderValue::from_str(&subprotocol)
                        .map_err(|_| PyRuntimeError::new_err("Invalid HTTP header value."))?,
                );
            }
        }
        let mut response = Response::new(OutBody::Whole {
            data: None,
            exact: false,
        });
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        *response.headers_mut() = headers;
        self.handshake = Handshake::Accepted;
        self.answer(py, response)
    }

    fn send_text_or_bytes(
        &mut self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Outbound>> {
        if let Some(data) = get(message, intern!(py, "bytes"))? {
            let data = match data.cast::<PyBytes>() {
                Ok(bytes) => Bytes::copy_from_slice(bytes.as_bytes()),
                Err(_) => Bytes::from(data.extract::<Vec<u8>>()?),
            };
            return Ok(Some(Outbound::Binary(data)));
        }
        if let Some(text) = get(message, intern!(py, "text"))? {
            return Ok(Some(Outbound::Text(
                text.cast::<PyString>()?.to_str()?.to_owned(),
            )));
        }
        Ok(None)
    }

    /// Queues a message for the peer; returns whether `send()` must wait for the socket.
    fn queue(&self, py: Python<'_>, outbound: Outbound) -> PyResult<bool> {
        let (backpressure, first) = self
            .channel
            .send(outbound)
            .ok_or_else(|| ClientDisconnected::new_err("client disconnected"))?;
        if first && self.bridge.notify_socket(self.channel.clone()) {
            self.settings.flush_after_this_pass(py)?;
        }
        Ok(backpressure)
    }

    /// Handles one `send()`; returns whether it must wait for the socket to drain.
    fn handle_send(&mut self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<bool> {
        if self.channel.is_gone() {
            return Err(ClientDisconnected::new_err("client disconnected"));
        }
        let kind_object = message.get_item(intern!(py, "type"))?;
        let kind = kind_object.cast::<PyString>()?.to_str()?;
        match (&mut self.handshake, kind) {
            (Handshake::Pending, "websocket.accept") => {
                self.accept(py, message)?;
                Ok(false)
            }
            (Handshake::Pending, "websocket.close") => {
                self.log(py, &403_u16.into_pyobject(py)?.into_any())?;
                let response = handshake::plain(StatusCode::FORBIDDEN, Bytes::new(), Vec::new());
                self.refuse(py, response)?;
                Ok(false)
            }
            (Handshake::Pending, "websocket.http.response.start") => {
                let status: u16 = message.get_item(intern!(py, "status"))?.extract()?;
                let valid = StatusCode::from_u16(status)
                    .ok()
                    .filter(|_| (100..600).contains(&status));
                let Some(status_code) = valid else {
                    return Err(PyRuntimeError::new_err(format!(
                        "Invalid HTTP status code '{status}' in response."
                    )));
                };
                self.log(py, &status.into_pyobject(py)?.into_any())?;
                let headers = headers_of(message)?;
                self.handshake = Handshake::Denying(status_code, headers, Vec::new());
                Ok(false)
            }
            (Handshake::Pending, _) => Err(PyRuntimeError::new_err(format!(
                "Expected ASGI message 'websocket.accept', 'websocket.close' or \
                 'websocket.http.response.start' but got '{kind}'."
            ))),
            (Handshake::Accepted, _) if self.close_sent => Err(PyRuntimeError::new_err(format!(
                "Unexpected ASGI message '{kind}', after sending 'websocket.close'."
            ))),
            (Handshake::Accepted, "websocket.send") => {
                match self.send_text_or_bytes(py, message)? {
                    Some(outbound) => self.queue(py, outbound),
                    None => Ok(false),
                }
            }
            (Handshake::Accepted, "websocket.close") => {
                let code = match get(message, intern!(py, "code"))? {
                    Some(code) => code.extract::<u16>()?,
                    None => 1000,
                };
                let reason = match get(message, intern!(py, "reason"))? {
                    Some(reason) if reason.is_truthy()? => reason.extract::<String>()?,
                    _ => String::new(),
                };
                if reason.len() > 123 {
                    return Err(PyValueError::new_err(
                        "a close reason is at most 123 bytes of UTF-8",
                    ));
                }
                self.tell(
                    py,
                    Inbound::Closed {
                        code,
                        reason: Some(reason.clone()),
                    },
                )?;
                self.close_sent = true;
                self.queue(py, Outbound::Close { code, reason })
            }
            (Handshake::Accepted, _) => Err(PyRuntimeError::new_err(format!(
                "Expected ASGI message 'websocket.send' or 'websocket.close', but got '{kind}'."
            ))),
            (Handshake::Denying(..), "websocket.http.response.body") => {
                let Handshake::Denying(status, headers, body) =
                    std::mem::replace(&mut self.handshake, Handshake::Done)
                else {
                    unreachable!("matched above");
                };
                let mut body = body;
                if let Some(chunk) = get(message, intern!(py, "body"))? {
                    body.extend_from_slice(chunk.cast::<PyBytes>()?.as_bytes());
                }
                let more = match get(message, intern!(py, "more_body"))? {
                    Some(more) => more.is_truthy()?,
                    None => false,
                };
                if more {
                    self.handshake = Handshake::Denying(status, headers, body);
                    return Ok(false);
                }
                let mut response = handshake::plain(status, Bytes::from(body), headers);
                if let Some(phrase) = self.settings.reason_phrase(status) {
                    response.extensions_mut().insert(phrase);
                }
                self.refuse(py, response)?;
                Ok(false)
            }
            (Handshake::Denying(..), _) => Err(PyRuntimeError::new_err(format!(
                "Expected ASGI message 'websocket.http.response.body' but got '{kind}'."
            ))),
            (Handshake::Done, _) => Err(PyRuntimeError::new_err(format!(
                "Unexpected ASGI message '{kind}', after sending 'websocket.close'."
            ))),
        }
    }
}

/// Resolves a parked `receive()` or `send()` future (on the Python thread).
pub fn wake(py: Python<'_>, parked: Parked) -> PyResult<()> {
    let Ok(parked) = parked.downcast::<ParkedSocketFuture>() else {
        return Ok(());
    };
    let Some(cycle) = &parked.cycle else {
        return resolve(py, &parked.future, py.None().into_bound(py));
    };
    let cycle = cycle.clone_ref(py);
    loop {
        if let Some(message) = cycle.bind(py).borrow_mut().receive_now(py)? {
            return resolve(py, &parked.future, message.into_any());
        }
        let again = Box::new(ParkedSocketFuture {
            future: parked.future.clone_ref(py),
            cycle: Some(cycle.clone_ref(py)),
        });
        if cycle.bind(py).borrow().channel.park_receive(again) {
            return Ok(());
        }
    }
}

#[pymethods]
impl WebSocketCycle {
    fn receive(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        loop {
            if let Some(message) = slf.borrow_mut().receive_now(py)? {
                return ready(py, message.into_any());
            }
            let this = slf.borrow();
            let future = this.settings.create_future.call0(py)?;
            let parked = Box::new(ParkedSocketFuture {
                future: future.clone_ref(py),
                cycle: Some(slf.clone().unbind()),
            });
            if this.channel.park_receive(parked) {
                return Ok(future);
            }
        }
    }

    fn send(slf: &Bound<'_, Self>, message: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let backpressure = slf.borrow_mut().handle_send(py, message)?;
        if backpressure {
            let this = slf.borrow();
            let future = this.settings.create_future.call0(py)?;
            let parked = Box::new(ParkedSocketFuture {
                future: future.clone_ref(py),
                cycle: None,
            });
            if this.channel.park_drain(parked) {
                return Ok(future);
            }
        }
        done(py)
    }

    /// Whether the app answered the handshake (accepted, refused or denied it).
    #[getter]
    fn handshake_complete(&self) -> bool {
        !matches!(self.handshake, Handshake::Pending)
    }

    #[getter]
    fn disconnected(&self) -> bool {
        self.channel.is_gone()
    }

    /// The app failed or returned before answering the handshake: uvicorn's 500.
    fn refuse_with_500(&mut self, py: Python<'_>) -> PyResult<()> {
        if matches!(self.handshake, Handshake::Pending | Handshake::Denying(..)) {
            self.handshake = Handshake::Done;
            let response = handshake::plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                Bytes::from_static(b"Internal Server Error"),
                Vec::new(),
            );
            self.answer(py, response)?;
        }
        Ok(())
    }

    /// The app returned: the connection ends (once the closing handshake is done, if the app
    /// closed it).
    fn finish(&mut self, py: Python<'_>) -> PyResult<()> {
        // A handshake nobody answered gets hyper's side of the story (a 500, see `handle`).
        self.respond = None;
        if self.channel.finish() && self.bridge.notify_socket(self.channel.clone()) {
            self.settings.flush_after_this_pass(py)?;
        }
        Ok(())
    }
}
