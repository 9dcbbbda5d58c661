//! Bodies both ways: the response body hyper writes (whole, or streamed from the app's `send()`
//! calls through the exchange), and the pump that reads a request body ahead of the app.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::bridge::Bridge;
use super::exchange::{Exchange, Out};

/// The app failed after its response started: hyper closes the connection.
#[derive(Debug)]
pub struct AppAborted;

impl std::fmt::Display for AppAborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the application failed after starting its response")
    }
}

impl std::error::Error for AppAborted {}

pub enum OutBody {
    /// The whole body. `exact` when the app declared its length (else hyper chunks it, as
    /// uvicorn does for a response without Content-Length).
    Whole { data: Option<Bytes>, exact: bool },
    /// Chunks as the app sends them.
    Streamed {
        exchange: Arc<Exchange>,
        bridge: Arc<Bridge>,
    },
    /// A file the app named with `http.response.pathsend`, read by tokio (its blocking pool), never
    /// by Python: `remaining` bytes of it, and whether the app declared that length.
    File {
        file: tokio::fs::File,
        remaining: u64,
        exact: bool,
    },
}

/// The most bytes of a file read for one frame.
const FILE_CHUNK: u64 = 256 * 1024;

impl Body for OutBody {
    type Data = Bytes;
    type Error = AppAborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, AppAborted>>> {
        match self.get_mut() {
            OutBody::Whole { data, .. } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            OutBody::Streamed { exchange, bridge } => {
                let (out, parked) = exchange.poll_out(cx.waker());
                bridge.wake(exchange, parked);
                match out {
                    Out::Chunk(chunk) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
                    Out::Trailers(trailers) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
                    Out::End => Poll::Ready(None),
                    Out::Abort => Poll::Ready(Some(Err(AppAborted))),
                    Out::Empty => Poll::Pending,
                }
            }
            OutBody::File {
                file, remaining, ..
            } => {
                if *remaining == 0 {
                    return Poll::Ready(None);
                }
                let mut chunk = vec![0; FILE_CHUNK.min(*remaining) as usize];
                let mut read = tokio::io::ReadBuf::new(&mut chunk);
                match tokio::io::AsyncRead::poll_read(Pin::new(file), cx, &mut read) {
                    Poll::Pending => Poll::Pending,
                    // Shorter than it was when the app sent it, or unreadable: the connection is
                    // closed, as for an app that fails mid-body.
                    Poll::Ready(Err(_)) => Poll::Ready(Some(Err(AppAborted))),
                    Poll::Ready(Ok(())) if read.filled().is_empty() => {
                        Poll::Ready(Some(Err(AppAborted)))
                    }
                    Poll::Ready(Ok(())) => {
                        let filled = read.filled().len();
                        *remaining -= filled as u64;
                        chunk.truncate(filled);
                        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        // Never "ended" before the first poll: hyper would write `content-length: 0` for an empty
        // body the app sent without a length, where uvicorn sends an empty chunked body.
        matches!(self, OutBody::Whole { data: None, .. })
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            OutBody::Whole {
                data: Some(data),
                exact: true,
            } => SizeHint::with_exact(data.len() as u64),
            OutBody::File {
                remaining,
                exact: true,
                ..
            } => SizeHint::with_exact(*remaining),
            _ => SizeHint::default(),
        }
    }
}

impl Drop for OutBody {
    fn drop(&mut self) {
        // Dropped before its end: hyper gave up on the connection (the client left).
        if let OutBody::Streamed { exchange, bridge } = self {
            if !exchange.out_finished() {
                let parked = exchange.disconnect();
                bridge.wake(exchange, parked);
            }
        }
    }
}

/// Whether a body error is hyper's decoder refusing the bytes (bad chunk size, bad chunk end, ...),
/// as opposed to the connection ending (`UnexpectedEof`) or failing.
pub fn is_malformed(error: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput
            );
        }
        source = cause.source();
    }
    error.is_parse()
}

/// Records a request body that could not be read: a malformed body (bad chunk size, ...) is
/// answered 400 as uvicorn answers it, a client that left is a disconnect. Returns what was parked.
pub fn body_failed(exchange: &Exchange, error: &hyper::Error) -> Option<super::exchange::Parked> {
    if is_malformed(error) {
        exchange.invalidate_body()
    } else {
        exchange.disconnect()
    }
}

/// Reads the request body into the exchange, staying at most a high-water mark ahead of the app.
/// For `Expect: 100-continue`, waits for the app's first `receive()` before reading (hyper sends
/// the `100 Continue` on the first read).
pub async fn pump(
    mut incoming: Incoming,
    exchange: Arc<Exchange>,
    bridge: Arc<Bridge>,
    wait_first: bool,
) {
    if wait_first {
        exchange.pump.notified().await;
    }
    let declared = incoming.size_hint().exact();
    let mut received: u64 = 0;
    loop {
        while !exchange.body_wanted() {
            if exchange.is_disconnected() {
                return;
            }
            exchange.pump.notified().await;
        }
        match incoming.frame().await {
            Some(Ok(frame)) => {
                // Trailers are not part of an ASGI request body.
                if let Ok(data) = frame.into_data() {
                    received += data.len() as u64;
                    let parked = exchange.push_body(data, false);
                    bridge.wake(&exchange, parked);
                }
            }
            // hyper ends an HTTP/2 body early, without an error, when the client resets the
            // stream with NO_ERROR or CANCEL: short of its declared length, it is a disconnect.
            None if declared.is_some_and(|n| n != received) => {
                let parked = exchange.disconnect();
                bridge.wake(&exchange, parked);
                return;
            }
            None => {
                let parked = exchange.push_body(Bytes::new(), true);
                bridge.wake(&exchange, parked);
                return;
            }
            Some(Err(error)) => {
                let parked = body_failed(&exchange, &error);
                bridge.wake(&exchange, parked);
                return;
            }
        }
    }
}
