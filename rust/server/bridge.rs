//! The two ways between tokio's thread and the Python thread, both batched.
//!
//! - To Python: a queue of events and an eventfd that the asyncio loop watches. The eventfd is
//!   written when tokio runs out of work (`flush_events`, from the runtime's park hook), or at
//!   once when the queue is long, and only if the Python side is not already due to drain it:
//!   one wakeup per batch, and none while tokio is still reading requests (on a shared core the
//!   woken Python thread would preempt it and the batches would shrink to a request or two).
//! - To tokio: responses the app completed during one pass of the asyncio loop go into the
//!   outbox and are handed to their connections by one tokio task after one wakeup per pass
//!   (`Bridge::flush_replies`), instead of one cross-thread wakeup (a syscall) per response.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::exchange::{Exchange, Parked};
use super::websocket::channel::Channel;

/// A request head as hyper parsed it, with where it came from.
pub struct NewRequest {
    pub head: http::request::Parts,
    pub connection: Arc<super::service::ConnectionInfo>,
    pub exchange: Arc<Exchange>,
    /// The whole body when it was read before the app started (small, or empty), else `None`.
    pub body: Option<Bytes>,
    pub respond: tokio::sync::oneshot::Sender<http::Response<super::body::OutBody>>,
}

/// A WebSocket handshake request, waiting for the app to accept or refuse it.
pub struct NewWebSocket {
    pub head: http::request::Parts,
    pub connection: Arc<super::service::ConnectionInfo>,
    pub channel: Arc<Channel>,
    /// The `Sec-WebSocket-Accept` value for the handshake response.
    pub accept_key: String,
    pub respond: tokio::sync::oneshot::Sender<http::Response<super::body::OutBody>>,
}

pub enum Event {
    Request(Box<NewRequest>),
    WebSocket(Box<NewWebSocket>),
    /// Tokio has news for what the Python side parked on this exchange.
    Wake(Arc<Exchange>, Parked),
    /// Tokio has news for what the Python side parked on a WebSocket.
    WakeSocket(Parked),
    /// A line for the server's error log (level, message), from the tokio side.
    Log(LogLevel, String),
}

#[derive(Clone, Copy, Debug)]
pub enum LogLevel {
    Warning,
    Error,
}

/// A complete response head (and body) for the connection task waiting on `sender`.
pub type Reply = (
    tokio::sync::oneshot::Sender<http::Response<super::body::OutBody>>,
    http::Response<super::body::OutBody>,
);

/// What the Python side hands to tokio after a pass of its loop.
pub enum Delivery {
    Reply(Reply),
    /// A WebSocket has messages to write, or its app finished.
    Socket(Arc<Channel>),
}

/// Past this many queued events the Python side is woken without waiting for tokio to idle.
const EAGER_SIGNAL: usize = 512;

pub struct Bridge {
    queue: Mutex<Vec<Event>>,
    signalled: AtomicBool,
    eventfd: OwnedFd,
    outbox: Mutex<Vec<Delivery>>,
    /// Connections to close once the replies queued before them are delivered.
    closing: Mutex<Vec<Arc<super::service::ConnectionInfo>>>,
    /// Wakes the task that hands replies to their connections.
    pub replies_ready: tokio::sync::Notify,
}

impl Bridge {
    pub fn new() -> std::io::Result<Arc<Self>> {
        // SAFETY: eventfd takes no pointers; a negative result is an error, else a fresh fd we own.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Arc::new(Self {
            queue: Mutex::new(Vec::with_capacity(256)),
            signalled: AtomicBool::new(false),
            // SAFETY: `fd` was just returned by eventfd and nothing else owns it.
            eventfd: unsafe { OwnedFd::from_raw_fd(fd) },
            outbox: Mutex::new(Vec::with_capacity(256)),
            closing: Mutex::new(Vec::new()),
            replies_ready: tokio::sync::Notify::new(),
        }))
    }

    /// The fd the Python side's loop watches for readability.
    pub fn fileno(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }

    /// Queues an event; the Python side hears of it when tokio idles (or the queue is long).
    pub fn submit(&self, event: Event) {
        let queued = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.push(event);
            queue.len()
        };
        // From outside tokio (a body dropped on the Python thread) there is no park to wait for.
        if queued >= EAGER_SIGNAL || tokio::runtime::Handle::try_current().is_err() {
            self.signal();
        }
    }

    /// Wakes the Python side if events are queued: called when tokio is about to park.
    pub fn flush_events(&self) {
        if !self
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
        {
            self.signal();
        }
    }

    fn signal(&self) {
        if !self.signalled.swap(true, Ordering::AcqRel) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to an fd this struct owns. A full counter
            // (EAGAIN) still leaves the fd readable, which is all that matters.
            unsafe { libc::write(self.fileno(), (&one as *const u64).cast(), 8) };
        }
    }

    /// Everything queued since the last call, in order. Called by the Python side when the
    /// eventfd is readable.
    pub fn take(&self, into: &mut Vec<Event>) {
        let mut counter: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64 from an fd this struct owns.
        unsafe { libc::read(self.fileno(), (&mut counter as *mut u64).cast(), 8) };
        // Cleared before the queue is taken: an event pushed after this point signals again.
        self.signalled.store(false, Ordering::Release);
        std::mem::swap(
            &mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()),
            into,
        );
    }

    /// Queues a reply from the Python side; `true` when it is the first since the last flush
    /// (the caller then arranges one `flush_replies` after the current pass of its loop).
    pub fn reply(&self, reply: Reply) -> bool {
        self.deliver(Delivery::Reply(reply))
    }

    /// Queues a wakeup of a WebSocket's task, like `reply`.
    pub fn notify_socket(&self, channel: Arc<Channel>) -> bool {
        self.deliver(Delivery::Socket(channel))
    }

    fn deliver(&self, delivery: Delivery) -> bool {
        let mut outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        outbox.push(delivery);
        outbox.len() == 1
    }

    /// Asks `connection` to close after the replies queued so far (the caller flushes).
    pub fn close_after_replies(&self, connection: Arc<super::service::ConnectionInfo>) {
        self.closing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(connection);
    }

    /// The connections to close, taken after the replies (the tokio side).
    pub fn take_closing(&self) -> Vec<Arc<super::service::ConnectionInfo>> {
        std::mem::take(&mut *self.closing.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Wakes the tokio task that delivers the queued replies.
    pub fn flush_replies(&self) {
        self.replies_ready.notify_one();
    }

    /// Takes the queued deliveries (the tokio side).
    pub fn take_replies(&self, into: &mut Vec<Delivery>) {
        std::mem::swap(
            &mut *self.outbox.lock().unwrap_or_else(|p| p.into_inner()),
            into,
        );
    }

    /// Hands what was parked back to the Python side, when there was something.
    pub fn wake(&self, exchange: &Arc<Exchange>, parked: Option<Parked>) {
        if let Some(parked) = parked {
            self.submit(Event::Wake(exchange.clone(), parked));
        }
    }

    /// Hands what a WebSocket had parked back to the Python side.
    pub fn wake_socket(&self, parked: impl IntoIterator<Item = Parked>) {
        for parked in parked {
            self.submit(Event::WakeSocket(parked));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(fd: RawFd) -> bool {
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        unsafe { libc::poll(&mut poll, 1, 0) == 1 }
    }

    #[test]
    fn a_batch_signals_once_and_a_drain_rearms() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _inside = runtime.enter();
        let bridge = Bridge::new().unwrap();
        assert!(!readable(bridge.fileno()));
        bridge.submit(Event::Log(LogLevel::Warning, "a".into()));
        bridge.submit(Event::Log(LogLevel::Warning, "b".into()));
        assert!(!readable(bridge.fileno()), "tokio is not idle yet");
        bridge.flush_events();
        bridge.flush_events();
        assert!(readable(bridge.fileno()));
        let mut events = Vec::new();
        bridge.take(&mut events);
        assert_eq!(events.len(), 2);
        assert!(!readable(bridge.fileno()));
        bridge.flush_events();
        assert!(
            !readable(bridge.fileno()),
            "nothing queued, nothing to signal"
        );
        bridge.submit(Event::Log(LogLevel::Error, "c".into()));
        bridge.flush_events();
        assert!(
            readable(bridge.fileno()),
            "an event after the drain signals again"
        );
    }
}

#[cfg(test)]
mod park_tests {
    use super::*;

    #[test]
    fn the_park_hook_signals_what_tokio_queued() {
        let bridge = Bridge::new().unwrap();
        let hook = bridge.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(move || hook.flush_events())
            .build()
            .unwrap();
        let inner = bridge.clone();
        runtime.block_on(async move {
            tokio::spawn(async move { inner.submit(Event::Log(LogLevel::Warning, "x".into())) });
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        });
        let mut poll = libc::pollfd {
            fd: bridge.fileno(),
            events: libc::POLLIN,
            revents: 0,
        };
        assert_eq!(unsafe { libc::poll(&mut poll, 1, 0) }, 1);
    }
}
