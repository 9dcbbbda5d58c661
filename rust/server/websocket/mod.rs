//! WebSockets: hyper's upgrade of an HTTP/1.1 request, then tokio-tungstenite on the upgraded
//! connection, with uvicorn's behaviour (its `websockets` protocol) at every step.
//!
//! - `handshake`: which requests are WebSocket handshakes, the server's own refusals.
//! - `channel`: the state one connection shares between its tokio task and the app's side.
//! - `connection`: the tokio task that reads and writes frames once the app has accepted.
//!
//! The app's side (`receive()`/`send()`, the scope) is `asgi::websocket`.

pub mod channel;
pub mod connection;
pub mod handshake;

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use tokio::sync::oneshot;

use super::body::OutBody;
use super::bridge::{Event, NewWebSocket};
use super::service::{ConnectionInfo, Shared};
use channel::Channel;

/// uvicorn's `--ws-*` options.
#[derive(Clone, Debug)]
pub struct Options {
    /// `--ws-max-size`: the largest message (and frame) accepted, in bytes.
    pub max_size: usize,
    /// `--ws-max-queue`: received messages waiting for the app before reading pauses.
    pub max_queue: usize,
    /// `--ws-ping-interval` and `--ws-ping-timeout`.
    pub ping_interval: Option<Duration>,
    pub ping_timeout: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_size: 16 * 1024 * 1024,
            max_queue: 32,
            ping_interval: Some(Duration::from_secs(20)),
            ping_timeout: Some(Duration::from_secs(20)),
        }
    }
}

/// Tells the app the client left when hyper drops a handshake before the app answered it.
struct AbandonGuard<'a> {
    channel: &'a Arc<Channel>,
    shared: &'a Shared,
    armed: bool,
}

impl Drop for AbandonGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.bridge.wake_socket(self.channel.abandon());
        }
    }
}

/// Serves a WebSocket handshake request: the server's own refusal, or the app's answer. An
/// accepted handshake's connection is served by `connection::serve` once hyper upgrades it.
pub async fn handle(
    mut request: Request<Incoming>,
    connection: Arc<ConnectionInfo>,
    shared: Arc<Shared>,
    options: Options,
) -> Response<OutBody> {
    let upgrade = hyper::upgrade::on(&mut request);
    let (head, _body) = request.into_parts();
    let accept_key = match handshake::check(&head) {
        Ok(key) => key,
        Err(refusal) => return refusal.response(),
    };
    let channel = Arc::new(Channel::new(options.max_queue));
    let (respond, response) = oneshot::channel();
    let mut guard = AbandonGuard {
        channel: &channel,
        shared: &shared,
        armed: true,
    };
    shared
        .bridge
        .submit(Event::WebSocket(Box::new(NewWebSocket {
            head,
            connection,
            channel: channel.clone(),
            accept_key,
            respond,
        })));
    let response = response.await;
    guard.armed = false;
    match response {
        Ok(response) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
            tokio::spawn(connection::serve(
                upgrade,
                channel.clone(),
                shared.clone(),
                options,
            ));
            response
        }
        Ok(response) => {
            shared.bridge.wake_socket(channel.abandon());
            response
        }
        Err(_) => {
            // The app's side went away without answering (it failed before the handshake).
            shared.bridge.wake_socket(channel.abandon());
            handshake::plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                bytes::Bytes::from_static(b"Internal Server Error"),
                Vec::new(),
            )
        }
    }
}
