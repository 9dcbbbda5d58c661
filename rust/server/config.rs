//! The server's limits, each with uvicorn's default where uvicorn has one.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Limits {
    /// Idle keep-alive connections and request heads must complete within this (uvicorn: 5 s).
    pub timeout_keep_alive: Duration,
    /// At most this many header fields in a request head (hyper's default, 100).
    pub max_headers: usize,
    /// At most this many bytes of request head (hyper's: bounded by `max_buf_size`).
    pub max_header_size: Option<usize>,
    /// hyper's read buffer bound (its default, about 400 KiB).
    pub max_buf_size: usize,
    /// `--limit-concurrency`: answer 503 beyond this many connections or running requests.
    pub limit_concurrency: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout_keep_alive: Duration::from_secs(5),
            max_headers: 100,
            max_header_size: None,
            max_buf_size: 8192 + 4096 * 100,
            limit_concurrency: None,
        }
    }
}
