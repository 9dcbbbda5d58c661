//! The server's limits, each with uvicorn's default where uvicorn has one.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Response, StatusCode};

use super::body::OutBody;

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
    /// The headers of every response, those the server writes itself included.
    pub defaults: ResponseDefaults,
    /// `--http`: which protocols a connection may speak.
    pub http: HttpVersions,
    /// WebSocket options; `None` with `--ws none` (an upgrade is then served as plain HTTP).
    pub websocket: Option<super::websocket::Options>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout_keep_alive: Duration::from_secs(5),
            max_headers: 100,
            max_header_size: None,
            max_buf_size: 8192 + 4096 * 100,
            limit_concurrency: None,
            defaults: ResponseDefaults::default(),
            websocket: Some(super::websocket::Options::default()),
            http: HttpVersions::Auto,
        }
    }
}

/// `--http auto|1|2`: HTTP/1.1, HTTP/2 with prior knowledge (h2c), or either, told apart by the
/// HTTP/2 connection preface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpVersions {
    Auto,
    Http1,
    Http2,
}

/// The headers every response starts with, in uvicorn's order: `date`, then `server` and the
/// `--header` values.
#[derive(Clone, Debug, Default)]
pub struct ResponseDefaults {
    pub date: bool,
    pub fixed: Vec<(HeaderName, HeaderValue)>,
}

impl ResponseDefaults {
    pub fn write(&self, headers: &mut HeaderMap) {
        if self.date {
            headers.append(http::header::DATE, date_value());
        }
        for (name, value) in &self.fixed {
            headers.append(name.clone(), value.clone());
        }
    }

    /// A plain-text answer the server gives itself (uvicorn's 400, 500 and 503): the default
    /// headers, then `content-type`, `content-length`, `connection: close`.
    pub fn plain(&self, status: StatusCode, text: &'static str) -> Response<OutBody> {
        let mut response = Response::new(OutBody::Whole {
            data: Some(Bytes::from_static(text.as_bytes())),
            exact: true,
        });
        *response.status_mut() = status;
        let headers = response.headers_mut();
        self.write(headers);
        headers.append(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.append(http::header::CONTENT_LENGTH, HeaderValue::from(text.len()));
        headers.append(http::header::CONNECTION, HeaderValue::from_static("close"));
        response
    }
}

/// The `date` header value, formatted at most once per second per thread.
pub fn date_value() -> HeaderValue {
    thread_local! {
        static CACHE: std::cell::RefCell<(u64, HeaderValue)> =
            const { std::cell::RefCell::new((0, HeaderValue::from_static(""))) };
    }
    let now = std::time::SystemTime::now();
    let seconds = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != seconds {
            let text = httpdate::fmt_http_date(now);
            cache.1 = HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""));
            cache.0 = seconds;
        }
        cache.1.clone()
    })
}
