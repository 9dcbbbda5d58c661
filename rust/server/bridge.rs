//! The one way from tokio's thread to the Python thread: a queue of events and an eventfd that the
//! asyncio loop watches. The eventfd is written only when the Python side is not already due to
//! drain the queue, so a busy server wakes the loop once per batch, not once per request.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::exchange::{Exchange, Parked};

/// A request head as hyper parsed it, with where it came from.
pub struct NewRequest {
    pub head: http::request::Parts,
    pub connection: Arc<super::service::ConnectionInfo>,
    pub exchange: Arc<Exchange>,
    /// The whole body when it was read before the app started (small, or empty), else `None`.
    pub body: Option<Bytes>,
    pub respond: tokio::sync::oneshot::Sender<http::Response<super::body::OutBody>>,
}

pub enum Event {
    Request(Box<NewRequest>),
    /// Tokio has news for what the Python side parked on this exchange.
    Wake(Arc<Exchange>, Parked),
    /// A line for the server's error log (level, message), from the tokio side.
    Log(LogLevel, String),
}

#[derive(Clone, Copy, Debug)]
pub enum LogLevel {
    Warning,
    Error,
}

pub struct Bridge {
    queue: Mutex<Vec<Event>>,
    signalled: AtomicBool,
    eventfd: OwnedFd,
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
        }))
    }

    /// The fd the Python side's loop watches for readability.
    pub fn fileno(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }

    pub fn submit(&self, event: Event) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event);
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

    /// Hands what was parked back to the Python side, when there was something.
    pub fn wake(&self, exchange: &Arc<Exchange>, parked: Option<Parked>) {
        if let Some(parked) = parked {
            self.submit(Event::Wake(exchange.clone(), parked));
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
        let bridge = Bridge::new().unwrap();
        assert!(!readable(bridge.fileno()));
        bridge.submit(Event::Log(LogLevel::Warning, "a".into()));
        bridge.submit(Event::Log(LogLevel::Warning, "b".into()));
        assert!(readable(bridge.fileno()));
        let mut events = Vec::new();
        bridge.take(&mut events);
        assert_eq!(events.len(), 2);
        assert!(!readable(bridge.fileno()));
        bridge.submit(Event::Log(LogLevel::Error, "c".into()));
        assert!(
            readable(bridge.fileno()),
            "an event after the drain signals again"
        );
    }
}
