//! One request/response exchange, shared by hyper's task (tokio thread) and the app's side
//! (the Python thread). Pure Rust: the Python side parks an opaque value here while it waits,
//! and gets it back through the bridge when tokio has something for it.
//!
//! The lock is held for a few field updates at a time, never across an await or a Python call.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use bytes::Bytes;
use tokio::sync::Notify;

/// Whatever the Python side left here while it waits (an asyncio future).
pub type Parked = Box<dyn Any + Send>;

/// What the parked Python side waits for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wait {
    /// More request body, or the end of it, or a disconnect.
    Receive,
    /// The response body queue to fall below its low-water mark, or a disconnect.
    Drain,
}

/// The request body buffered for the app is read up to this many bytes ahead of it.
pub const BODY_HIGH_WATER: usize = 64 * 1024;
/// `send()` waits while more than this many response bytes are queued for the socket.
pub const OUT_HIGH_WATER: usize = 64 * 1024;
/// ... and resumes once the queue is down to this.
pub const OUT_LOW_WATER: usize = 16 * 1024;

#[derive(Default)]
struct State {
    // Request body, from hyper to the app.
    body: VecDeque<Bytes>,
    body_len: usize,
    body_end: bool,
    // Response body, from the app to hyper.
    out: VecDeque<Bytes>,
    out_len: usize,
    out_end: bool,
    /// Trailer fields, sent after the last chunk (`http.response.trailers`).
    out_trailers: Option<http::HeaderMap>,
    out_abort: bool,
    // The abort was seen once (hyper got a chance to flush what it had).
    out_abort_seen: bool,
    out_waker: Option<Waker>,
    // The client went away (or the connection failed) before the exchange completed.
    disconnected: bool,
    // The request body was malformed (a bad chunk size, ...): the server answers 400 itself.
    body_invalid: bool,
    parked: Option<(Wait, Parked)>,
}

/// Shared state of one exchange.
#[derive(Default)]
pub struct Exchange {
    state: Mutex<State>,
    /// Wakes the body pump when the app wants more of the request body.
    pub pump: Notify,
}

/// What a chunk pulled from the request body queue looks like to the app.
pub enum Received {
    /// Bytes (all that were buffered) and whether more follow.
    Body(Bytes, bool),
    /// Nothing buffered yet and the body is not over.
    Nothing,
    Disconnected,
}

/// What `poll_out` found in the response queue.
pub enum Out {
    Chunk(Bytes),
    Trailers(http::HeaderMap),
    End,
    Abort,
    Empty,
}

impl Exchange {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes what is parked, if it waits for `wait` (or for anything when `None`).
    fn unpark(state: &mut State, wait: Option<Wait>) -> Option<Parked> {
        match &state.parked {
            Some((parked_for, _)) if wait.is_none_or(|w| w == *parked_for) => {
                state.parked.take().map(|(_, p)| p)
            }
            _ => None,
        }
    }

    // ----- tokio side -----

    /// Appends request body bytes; returns what was parked waiting for them.
    pub fn push_body(&self, chunk: Bytes, end: bool) -> Option<Parked> {
        let mut state = self.lock();
        state.body_len += chunk.len();
        if !chunk.is_empty() {
            state.body.push_back(chunk);
        }
        state.body_end |= end;
        if state.body.is_empty() && !state.body_end {
            return None;
        }
        Self::unpark(&mut state, Some(Wait::Receive))
    }

    /// Whether the pump should read more of the request body now.
    pub fn body_wanted(&self) -> bool {
        let state = self.lock();
        !state.disconnected && state.body_len < BODY_HIGH_WATER
    }

    /// The peer went away or the connection failed: whatever is parked learns it.
    pub fn disconnect(&self) -> Option<Parked> {
        let mut state = self.lock();
        if state.disconnected {
            return None;
        }
        state.disconnected = true;
        if let Some(waker) = state.out_waker.take() {
            waker.wake();
        }
        Self::unpark(&mut state, None)
    }

    /// The request body turned out malformed: the app sees a disconnect, the client a 400.
    pub fn invalidate_body(&self) -> Option<Parked> {
        self.lock().body_invalid = true;
        self.disconnect()
    }

    pub fn body_invalid(&self) -> bool {
        self.lock().body_invalid
    }

    /// The next response chunk for hyper; registers the waker when there is none yet.
    pub fn poll_out(&self, waker: &Waker) -> (Out, Option<Parked>) {
        let mut state = self.lock();
        if let Some(chunk) = state.out.pop_front() {
            state.out_len -= chunk.len();
            let parked = if state.out_len <= OUT_LOW_WATER {
                Self::unpark(&mut state, Some(Wait::Drain))
            } else {
                None
            };
            return (Out::Chunk(chunk), parked);
        }
        if state.out_abort {
            if state.out_abort_seen {
                return (Out::Abort, None);
            }
            // Pending once, woken at once: hyper flushes the head and the chunks it wrote
            // before the error closes the connection (what the client got stays as uvicorn's).
            state.out_abort_seen = true;
            waker.wake_by_ref();
            return (Out::Empty, None);
        }
        if state.out_end {
            if let Some(trailers) = state.out_trailers.take() {
                return (Out::Trailers(trailers), None);
            }
            return (Out::End, None);
        }
        match &state.out_waker {
            Some(existing) if existing.will_wake(waker) => {}
            _ => state.out_waker = Some(waker.clone()),
        }
        (Out::Empty, None)
    }

    /// Whether the response body has been handed over in full.
    pub fn out_finished(&self) -> bool {
        let state = self.lock();
        state.out_end && state.out.is_empty()
    }

    // ----- Python side -----

    /// Everything buffered of the request body, or why there is nothing.
    pub fn take_body(&self) -> Received {
        let mut state = self.lock();
        if !state.body.is_empty() || state.body_end {
            let total = state.body.iter().map(Bytes::len).sum();
            let chunk = match state.body.len() {
                0 => Bytes::new(),
                1 => state.body.pop_front().unwrap_or_default(),
                _ => {
                    let mut joined = Vec::with_capacity(total);
                    for part in state.body.drain(..) {
                        joined.extend_from_slice(&part);
                    }
                    Bytes::from(joined)
                }
            };
            state.body_len = 0;
            let more = !state.body_end;
            // Delivered once: the end of the body is consumed with it.
            state.body_end = false;
            if !more {
                state.body_len = usize::MAX / 2;
            }
            return Received::Body(chunk, more);
        }
        if state.disconnected {
            return Received::Disconnected;
        }
        Received::Nothing
    }

    pub fn is_disconnected(&self) -> bool {
        self.lock().disconnected
    }

    /// Parks `parked` until tokio has news for `wait`; `false` (nothing parked) when the news is
    /// already there: a disconnect, or for `Drain` a queue already below its low-water mark.
    pub fn park(&self, wait: Wait, parked: Parked) -> bool {
        let mut state = self.lock();
        let ready = state.disconnected
            || match wait {
                Wait::Receive => !state.body.is_empty() || state.body_end,
                Wait::Drain => state.out_len <= OUT_LOW_WATER,
            };
        if ready {
            return false;
        }
        state.parked = Some((wait, parked));
        true
    }

    /// Takes back what was parked (the waiter was cancelled, or the response completed).
    pub fn unpark_any(&self) -> Option<Parked> {
        Self::unpark(&mut self.lock(), None)
    }

    /// Queues response bytes for hyper. Returns whether the queue is now above its high-water mark.
    pub fn push_out(&self, chunk: Bytes, end: bool) -> bool {
        let mut state = self.lock();
        if !chunk.is_empty() {
            state.out_len += chunk.len();
            state.out.push_back(chunk);
        }
        state.out_end |= end;
        if let Some(waker) = state.out_waker.take() {
            waker.wake();
        }
        state.out_len > OUT_HIGH_WATER
    }

    /// Ends the response body with trailer fields.
    pub fn push_trailers(&self, trailers: http::HeaderMap) {
        let mut state = self.lock();
        state.out_trailers = Some(trailers);
        state.out_end = true;
        if let Some(waker) = state.out_waker.take() {
            waker.wake();
        }
    }

    /// The app failed after the response started: hyper closes the connection.
    pub fn abort_out(&self) {
        let mut state = self.lock();
        state.out_abort = true;
        if let Some(waker) = state.out_waker.take() {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_chunks_join_and_the_end_is_delivered_once() {
        let exchange = Exchange::new();
        assert!(matches!(exchange.take_body(), Received::Nothing));
        exchange.push_body(Bytes::from_static(b"ab"), false);
        exchange.push_body(Bytes::from_static(b"cd"), false);
        match exchange.take_body() {
            Received::Body(chunk, more) => assert_eq!((&chunk[..], more), (&b"abcd"[..], true)),
            _ => panic!("expected a body"),
        }
        exchange.push_body(Bytes::new(), true);
        match exchange.take_body() {
            Received::Body(chunk, more) => assert_eq!((chunk.len(), more), (0, false)),
            _ => panic!("expected the end"),
        }
        assert!(matches!(exchange.take_body(), Received::Nothing));
        assert!(
            !exchange.body_wanted(),
            "no more reading once the body was delivered"
        );
    }

    #[test]
    fn a_parked_receive_is_handed_back_with_the_next_chunk_or_a_disconnect() {
        let exchange = Exchange::new();
        assert!(exchange.park(Wait::Receive, Box::new(7_u8)));
        let parked = exchange
            .push_body(Bytes::from_static(b"x"), false)
            .expect("parked");
        assert_eq!(parked.downcast_ref::<u8>(), Some(&7));
        assert!(
            !exchange.park(Wait::Receive, Box::new(8_u8)),
            "a chunk is already there"
        );
        let exchange = Exchange::new();
        assert!(exchange.park(Wait::Receive, Box::new(9_u8)));
        assert!(exchange.disconnect().is_some());
        assert!(
            exchange.disconnect().is_none(),
            "a disconnect is reported once"
        );
        assert!(!exchange.park(Wait::Receive, Box::new(1_u8)));
    }

    #[test]
    fn the_response_queue_applies_backpressure_and_releases_it_below_low_water() {
        let exchange = Exchange::new();
        let waker = Waker::noop();
        assert!(!exchange.push_out(Bytes::from(vec![0; OUT_HIGH_WATER]), false));
        assert!(exchange.push_out(Bytes::from(vec![0; 1]), false));
        assert!(exchange.park(Wait::Drain, Box::new(())));
        let (out, parked) = exchange.poll_out(waker);
        assert!(matches!(out, Out::Chunk(c) if c.len() == OUT_HIGH_WATER));
        assert!(
            parked.is_some(),
            "one byte left is below the low-water mark"
        );
        let (out, _) = exchange.poll_out(waker);
        assert!(matches!(out, Out::Chunk(c) if c.len() == 1));
        assert!(matches!(exchange.poll_out(waker).0, Out::Empty));
        exchange.push_out(Bytes::new(), true);
        assert!(matches!(exchange.poll_out(waker).0, Out::End));
        assert!(exchange.out_finished());
    }

    #[test]
    fn an_abort_ends_the_response_with_an_error() {
        let exchange = Exchange::new();
        exchange.push_out(Bytes::from_static(b"partial"), false);
        exchange.abort_out();
        assert!(
            matches!(exchange.poll_out(Waker::noop()).0, Out::Chunk(_)),
            "what was sent goes out"
        );
        assert!(
            matches!(exchange.poll_out(Waker::noop()).0, Out::Empty),
            "a flush first"
        );
        assert!(matches!(exchange.poll_out(Waker::noop()).0, Out::Abort));
    }
}
