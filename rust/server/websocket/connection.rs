//! The tokio task of one accepted WebSocket: frames from the peer into the channel, the app's
//! messages out to the peer, keepalive pings, and the closing handshake, as uvicorn's
//! `websockets` protocol does them:
//!
//! - the peer's close: the app gets its code and reason, the close is echoed, the connection ends;
//! - the app's close: the close frame goes out and the connection ends when the peer echoes it
//!   (or after 10 s); messages that arrive meanwhile are dropped;
//! - the app returning without a close, or the connection failing: the connection ends at once
//!   and the app (if it still listens) gets code 1005;
//! - a frame that breaks the protocol, bad UTF-8 or a message over `--ws-max-size`: a close
//!   frame with 1002, 1007 or 1009, which the app gets too;
//! - no pong within `--ws-ping-timeout` of a ping: a 1011 close;
//! - the server shutting down: a 1012 close, which the app gets.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::channel::{Channel, Inbound, Outbound};
use super::Options;
use crate::server::service::Shared;

/// How long the app's close waits for the peer's echo (uvicorn's `close_timeout`).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// The close code and reason a failed read ends the connection with, or `None` when the
/// connection itself is gone (nothing can be sent).
fn failure(error: &WsError) -> Option<(u16, String)> {
    match error {
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => Some((
            1009,
            format!("frame with {size} bytes exceeds limit of {max_size} bytes"),
        )),
        WsError::Capacity(other) => Some((1009, other.to_string())),
        WsError::Utf8(_) => Some((1007, "invalid UTF-8".to_owned())),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        WsError::Protocol(problem) => Some((1002, problem.to_string())),
        _ => None,
    }
}

fn close_frame(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }))
}

/// A random 4-byte ping payload (the `websockets` library's size); only its identity matters.
/// Each `RandomState` gets keys of its own (from a random per-thread seed), so hashing the same
/// value with a new one gives a different, unpredictable result each time.
fn ping_payload() -> [u8; 4] {
    use std::hash::BuildHasher;
    (std::collections::hash_map::RandomState::new().hash_one(()) as u32).to_be_bytes()
}

/// Counts one WebSocket among the server's open connections while it lives (hyper stops
/// counting the connection once it is upgraded).
struct Open<'a>(&'a Shared);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

pub async fn serve(
    upgrade: OnUpgrade,
    channel: Arc<Channel>,
    shared: Arc<Shared>,
    options: Options,
) {
    let bridge = &shared.bridge;
    let Ok(upgraded) = upgrade.await else {
        bridge.wake_socket(channel.end(1006));
        return;
    };
    shared.connections.fetch_add(1, Ordering::AcqRel);
    let _open = Open(&shared);
    let config = WebSocketConfig::default()
        .max_message_size(Some(options.max_size))
        .max_frame_size(Some(options.max_size));
    let socket =
        WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
    let (mut sink, mut stream) = socket.split();
    let mut stop = shared.stop.clone();
    let mut stopping = *stop.borrow();
    let mut outbound = Vec::new();
    // Set once the app's close frame is out: until then, wait for the peer's echo.
    let mut closing: Option<Instant> = None;
    let mut next_ping = options.ping_interval.map(|every| Instant::now() + every);
    let mut pending_ping: Option<([u8; 4], Instant)> = None;
    let far = Instant::now() + Duration::from_secs(86400 * 365);
    loop {
        let reading = closing.is_some() || channel.wants_more();
        let pong_deadline = pending_ping
            .zip(options.ping_timeout)
            .map(|((_, sent), timeout)| sent + timeout);
        tokio::select! {
            biased;
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    if closing.is_none() {
                        bridge.wake_socket(channel.push(Inbound::Closed { code: 1012, reason: None }));
                        let _ = sink.send(close_frame(1012, "")).await;
                    }
                    break;
                }
            }
            _ = channel.io.notified() => {
                let finished = channel.take_outbound(&mut outbound);
                let mut written = 0;
                let mut failed = false;
                for message in outbound.drain(..) {
                    let frame = match message {
                        Outbound::Text(text) => {
                            written += text.len();
                            Message::Text(text.into())
                        }
                        Outbound::Binary(data) => {
                            written += data.len();
                            Message::Binary(data)
                        }
                        Outbound::Close { code, reason } => {
                            closing.get_or_insert(Instant::now() + CLOSE_TIMEOUT);
                            close_frame(code, &reason)
                        }
                    };
                    if sink.feed(frame).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed || sink.flush().await.is_err() {
                    break;
                }
                bridge.wake_socket(channel.written(written));
                if finished && closing.is_none() {
                    break;
                }
            }
            message = stream.next(), if reading => match message {
                Some(Ok(Message::Text(text))) => {
                    if closing.is_none() {
                        bridge.wake_socket(channel.push(Inbound::Text(text)));
                    }
                }
                Some(Ok(Message::Binary(data))) => {
                    if closing.is_none() {
                        bridge.wake_socket(channel.push(Inbound::Binary(data)));
                    }
                }
                Some(Ok(Message::Pong(payload))) => {
                    if let Some((expected, sent)) = pending_ping {
                        if payload[..] == expected[..] {
                            pending_ping = None;
                            let rtt = sent.elapsed();
                            next_ping = options
                                .ping_interval
                                .map(|every| Instant::now() + every.saturating_sub(rtt));
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    if closing.is_none() {
                        let (code, reason) = match frame {
                            Some(frame) => (u16::from(frame.code), frame.reason.as_str().to_owned()),
                            None => (1005, String::new()),
                        };
                        bridge.wake_socket(channel.push(Inbound::Closed { code, reason: Some(reason) }));
                        // tungstenite queued the echo: write it before the connection ends.
                        let _ = sink.flush().await;
                    }
                    break;
                }
                // Pongs to pings go out with the next read; raw frames are not surfaced.
                Some(Ok(Message::Ping(_) | Message::Frame(_))) => {}
                Some(Err(error)) => {
                    if let (Some((code, reason)), None) = (failure(&error), closing) {
                        bridge.wake_socket(channel.push(Inbound::Closed { code, reason: Some(reason.clone()) }));
                        let _ = sink.send(close_frame(code, &reason)).await;
                    }
                    break;
                }
                None => break,
            },
            _ = sleep_until(next_ping.unwrap_or(far)), if next_ping.is_some() && pending_ping.is_none() && closing.is_none() => {
                let payload = ping_payload();
                pending_ping = Some((payload, Instant::now()));
                next_ping = None;
                if sink.send(Message::Ping(payload.to_vec().into())).await.is_err() {
                    break;
                }
                if options.ping_timeout.is_none() {
                    // Without a timeout, pings go out on schedule whether answered or not.
                    pending_ping = None;
                    next_ping = options.ping_interval.map(|every| Instant::now() + every);
                }
            }
            _ = sleep_until(pong_deadline.unwrap_or(far)), if pong_deadline.is_some() && closing.is_none() => {
                let _ = sink.send(close_frame(1011, "keepalive ping timeout")).await;
                break;
            }
            _ = sleep_until(closing.unwrap_or(far)), if closing.is_some() => break,
        }
    }
    bridge.wake_socket(channel.end(1005));
}
