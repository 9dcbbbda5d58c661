//! One WebSocket connection's state, shared by its tokio task and the app's side (the Python
//! thread), as `exchange` is for an HTTP request. Pure Rust: the Python side parks an opaque
//! value while it waits and gets it back through the bridge when tokio has news.
//!
//! The lock is held for a few field updates at a time, never across an await or a Python call.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::server::exchange::Parked;

/// A message from the peer for the app.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    Text(Utf8Bytes),
    Binary(Bytes),
    /// The connection is over: the close code and, when a close frame said so, its reason.
    Closed {
        code: u16,
        reason: Option<String>,
    },
}

/// A message from the app for the peer.
#[derive(Debug, PartialEq, Eq)]
pub enum Outbound {
    Text(String),
    Binary(Bytes),
    Close { code: u16, reason: String },
}

impl Outbound {
    fn weight(&self) -> usize {
        match self {
            Outbound::Text(text) => text.len(),
            Outbound::Binary(data) => data.len(),
            Outbound::Close { .. } => 0,
        }
    }
}

/// `send()` waits while more than this many bytes are queued for the socket ...
pub const OUT_HIGH_WATER: usize = 64 * 1024;
/// ... and resumes once the queue is down to this.
pub const OUT_LOW_WATER: usize = 16 * 1024;

#[derive(Default)]
struct State {
    inbound: VecDeque<Inbound>,
    /// A `Closed` was queued: nothing follows it.
    closed_queued: bool,
    outbound: VecDeque<Outbound>,
    /// Bytes handed to the tokio task and not yet written.
    out_bytes: usize,
    /// The connection is gone (or never upgraded): `send()` raises `ClientDisconnected`.
    gone: bool,
    /// The app returned: the tokio task drops the connection unless a close handshake is on.
    finished: bool,
    receive: Option<Parked>,
    drain: Option<Parked>,
}

pub struct Channel {
    state: Mutex<State>,
    /// Wakes the connection's tokio task: messages to write, room to read, or the app finished.
    pub io: Notify,
    /// At most this many received messages wait for the app before reading pauses.
    max_queue: usize,
}

impl Channel {
    pub fn new(max_queue: usize) -> Self {
        Self {
            state: Mutex::default(),
            io: Notify::new(),
            max_queue: max_queue.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ----- tokio side -----

    /// Queues a message for the app; returns a parked `receive()` to wake. Messages after a
    /// `Closed` are dropped: the app has been told the connection is over.
    pub fn push(&self, message: Inbound) -> Option<Parked> {
        let mut state = self.lock();
        if state.closed_queued {
            return None;
        }
        state.closed_queued = matches!(message, Inbound::Closed { .. });
        state.inbound.push_back(message);
        state.receive.take()
    }

    /// The connection ended: queues `Closed { code }` unless the app was already told, and
    /// returns whatever was parked (a `receive()` and a `send()` waiting for room).
    pub fn end(&self, code: u16) -> Vec<Parked> {
        let mut state = self.lock();
        state.gone = true;
        if !state.closed_queued {
            state.closed_queued = true;
            state
                .inbound
                .push_back(Inbound::Closed { code, reason: None });
        }
        state
            .receive
            .take()
            .into_iter()
            .chain(state.drain.take())
            .collect()
    }

    /// Whether the app has room for another message (else reading waits).
    pub fn wants_more(&self) -> bool {
        let state = self.lock();
        state.inbound.len() < self.max_queue && !state.finished
    }

    /// Everything the app queued for the peer, and whether the app has finished.
    pub fn take_outbound(&self, into: &mut Vec<Outbound>) -> bool {
        let mut state = self.lock();
        into.extend(state.outbound.drain(..));
        state.finished
    }

    /// `written` bytes reached the socket; returns a parked `send()` once below low water.
    pub fn written(&self, written: usize) -> Option<Parked> {
        let mut state = self.lock();
        state.out_bytes = state.out_bytes.saturating_sub(written);
        if state.out_bytes <= OUT_LOW_WATER {
            state.drain.take()
        } else {
            None
        }
    }

    // ----- Python side -----

    /// The next message for the app, if there is one. The last `Closed` stays for later calls.
    pub fn pop(&self) -> Option<Inbound> {
        let mut state = self.lock();
        let was_full = state.inbound.len() >= self.max_queue;
        let message = match state.inbound.front() {
            Some(Inbound::Closed { code, reason }) if state.inbound.len() == 1 => {
                Some(Inbound::Closed {
                    code: *code,
                    reason: reason.clone(),
                })
            }
            Some(_) => state.inbound.pop_front(),
            None => None,
        };
        drop(state);
        if was_full {
            self.io.notify_one();
        }
        message
    }

    /// Parks a `receive()` until a message arrives; `false` (nothing parked) if one is there.
    pub fn park_receive(&self, parked: Parked) -> bool {
        let mut state = self.lock();
        if !state.inbound.is_empty() {
            return false;
        }
        state.receive = Some(parked);
        true
    }

    /// Parks a `send()` until the queue drains; `false` (nothing parked) if it has room, or if
    /// the connection is gone.
    pub fn park_drain(&self, parked: Parked) -> bool {
        let mut state = self.lock();
        if state.gone || state.out_bytes <= OUT_LOW_WATER {
            return false;
        }
        state.drain = Some(parked);
        true
    }

    /// Queues a message for the peer. `None` when the connection is gone; otherwise whether
    /// the queue is above its high-water mark, and whether it was empty (the caller then wakes
    /// the tokio task, once per pass of its loop).
    pub fn send(&self, message: Outbound) -> Option<(bool, bool)> {
        let mut state = self.lock();
        if state.gone {
            return None;
        }
        let first = state.outbound.is_empty();
        state.out_bytes += message.weight();
        state.outbound.push_back(message);
        Some((state.out_bytes > OUT_HIGH_WATER, first))
    }

    /// The app returned; `true` if the tokio task should hear of it (it is still running).
    pub fn finish(&self) -> bool {
        let mut state = self.lock();
        state.finished = true;
        !state.gone
    }

    /// The connection never became a WebSocket (refused, or the client left first).
    pub fn abandon(&self) -> Vec<Parked> {
        self.end(1006)
    }

    pub fn is_gone(&self) -> bool {
        self.lock().gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_the_app_in_order_and_the_close_stays() {
        let channel = Channel::new(4);
        assert!(channel.park_receive(Box::new(1_u8)));
        let woken = channel.push(Inbound::Text("a".into()));
        assert_eq!(
            woken.and_then(|p| p.downcast::<u8>().ok()),
            Some(Box::new(1))
        );
        channel.push(Inbound::Binary(Bytes::from_static(b"b")));
        assert!(channel.end(1005).is_empty(), "nothing parked");
        channel.push(Inbound::Text("dropped".into()));
        assert_eq!(channel.pop(), Some(Inbound::Text("a".into())));
        assert_eq!(
            channel.pop(),
            Some(Inbound::Binary(Bytes::from_static(b"b")))
        );
        let closed = Inbound::Closed {
            code: 1005,
            reason: None,
        };
        assert_eq!(channel.pop(), Some(closed));
        assert_eq!(
            channel.pop(),
            Some(Inbound::Closed {
                code: 1005,
                reason: None
            }),
            "every later receive() sees the end again"
        );
    }

    #[test]
    fn a_peer_close_is_not_overwritten_by_the_end_of_the_connection() {
        let channel = Channel::new(4);
        channel.push(Inbound::Closed {
            code: 1001,
            reason: Some("bye".into()),
        });
        channel.end(1005);
        assert_eq!(
            channel.pop(),
            Some(Inbound::Closed {
                code: 1001,
                reason: Some("bye".into())
            })
        );
    }

    #[test]
    fn reading_pauses_at_max_queue_and_sends_apply_backpressure() {
        let channel = Channel::new(2);
        channel.push(Inbound::Text("1".into()));
        assert!(channel.wants_more());
        channel.push(Inbound::Text("2".into()));
        assert!(!channel.wants_more());
        channel.pop();
        assert!(channel.wants_more());

        assert_eq!(
            channel.send(Outbound::Binary(Bytes::from(vec![0; OUT_HIGH_WATER]))),
            Some((false, true))
        );
        assert_eq!(
            channel.send(Outbound::Text("x".into())),
            Some((true, false))
        );
        assert!(channel.park_drain(Box::new(())));
        let mut out = Vec::new();
        assert!(!channel.take_outbound(&mut out));
        assert_eq!(out.len(), 2);
        assert!(channel.written(OUT_HIGH_WATER).is_some(), "below low water");
        channel.end(1005);
        assert!(channel.is_gone());
        assert_eq!(channel.send(Outbound::Text("late".into())), None);
    }
}
