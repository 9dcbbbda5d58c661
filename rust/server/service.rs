//! The HTTP side: accepting connections, hyper's HTTP/1.1 connection per socket, and the service
//! that turns each request into a `NewRequest` for the Python side and waits for its response.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{Request, Response, StatusCode};
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

use super::preface::{self, Prefixed, Protocol};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{oneshot, watch};

use super::body::{body_failed, pump, OutBody};
use super::bridge::{Bridge, Event, LogLevel, NewRequest};
use super::config::{HttpVersions, Limits};
use super::exchange::Exchange;
use super::listener::Listener;

/// Where a connection comes from and arrives at; `None` on a Unix socket (as uvicorn reports it).
pub struct ConnectionInfo {
    pub client: Option<SocketAddr>,
    pub server: Option<SocketAddr>,
    /// The Python `(host, port)` tuple for `client`, made once per connection on the Python thread.
    pub client_tuple: std::sync::OnceLock<pyo3::Py<pyo3::types::PyTuple>>,
    /// Asks the connection to close once its current response is out (the app failed after
    /// starting a response hyper writes no body for, such as a HEAD's).
    pub close: tokio::sync::Notify,
    /// Requests of this connection being served (several at once over HTTP/2).
    pub in_flight: AtomicUsize,
}

/// Counts one request of a connection for as long as it is served.
struct ConnectionRequest(Arc<ConnectionInfo>);

impl Drop for ConnectionRequest {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A request body of at most this many bytes, with a declared length, is read before the app
/// starts, so that its first `receive()` completes at once.
const READ_AHEAD: u64 = 64 * 1024;

pub struct Shared {
    pub bridge: Arc<Bridge>,
    /// Set when the server speaks TLS.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Turns true when the server shuts down.
    pub stop: watch::Receiver<bool>,
    pub limits: Limits,
    pub connections: AtomicUsize,
    pub requests: AtomicUsize,
}

/// Counts one in-flight request for as long as it lives.
struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.requests.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Tells the Python side the client went away when hyper drops a request before its response.
struct DisconnectGuard<'a> {
    exchange: Arc<Exchange>,
    bridge: &'a Bridge,
    armed: bool,
}

impl Drop for DisconnectGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let parked = self.exchange.disconnect();
            self.bridge.wake(&self.exchange, parked);
        }
    }
}

/// How often a connection asked to finish checks whether it is idle (and then ends).
const SHUTDOWN_IDLE_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

/// The most bytes of request headers an HTTP/2 stream may carry, when `--limit-header-size` does
/// not say: what hyper's HTTP/1 read buffer allows a head.
const H2_MAX_HEADER_LIST: usize = 8192 + 4096 * 100;

/// The texts of the answers the server gives itself, as uvicorn words them.
const SERVICE_UNAVAILABLE: &str = "Service Unavailable";
const INTERNAL_ERROR: &str = "Internal Server Error";
const BAD_REQUEST: &str = "Invalid HTTP request received.";

async fn handle(
    request: Request<Incoming>,
    connection: Arc<ConnectionInfo>,
    shared: Arc<Shared>,
) -> Result<Response<OutBody>, Infallible> {
    // A graceful shutdown lets this connection finish what it serves, handshakes included.
    connection.in_flight.fetch_add(1, Ordering::AcqRel);
    let _connection_request = ConnectionRequest(connection.clone());
    if let Some(options) = &shared.limits.websocket {
        // As uvicorn: a WebSocket handshake is not subject to --limit-concurrency.
        if super::websocket::handshake::wants_websocket(request.headers()) {
            let options = options.clone();
            return Ok(super::websocket::handle(request, connection, shared, options).await);
        }
    }
    let requests = shared.requests.fetch_add(1, Ordering::AcqRel) + 1;
    let _in_flight = InFlight(&shared);
    if let Some(limit) = shared.limits.limit_concurrency {
        // uvicorn's test: the open connections (this one included) or the running requests.
        if shared.connections.load(Ordering::Acquire) >= limit || requests > limit {
            shared.bridge.submit(Event::Log(
                LogLevel::Warning,
                "Exceeded concurrency limit.".into(),
            ));
            return Ok(shared
                .limits
                .defaults
                .plain(StatusCode::SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE));
        }
    }
    let (head, mut incoming) = request.into_parts();
    if head.headers.contains_key(http::header::UPGRADE) {
        // As uvicorn without a WebSocket implementation: said once per request, served as HTTP.
        shared.bridge.submit(Event::Log(
            LogLevel::Warning,
            "Unsupported upgrade request.".into(),
        ));
    }
    let exchange = Exchange::new();
    let expects_continue = head
        .headers
        .get(http::header::EXPECT)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let body = if incoming.is_end_stream() {
        Some(Bytes::new())
    } else if !expects_continue
        && incoming
            .size_hint()
            .exact()
            .is_some_and(|n| n <= READ_AHEAD)
    {
        let declared = incoming.size_hint().exact();
        let mut whole = BytesMut::with_capacity(incoming.size_hint().lower() as usize);
        let mut failed = None;
        while let Some(frame) = incoming.frame().await {
            match frame {
                Ok(frame) => {
                    if let Some(data) = frame.data_ref() {
                        whole.extend_from_slice(data);
                    }
                }
                Err(error) => {
                    failed = Some(error);
                    break;
                }
            }
        }
        match failed {
            // hyper ends an HTTP/2 body early, without an error, when the client resets the
            // stream with NO_ERROR or CANCEL: short of its declared length, it is a disconnect.
            None if declared.is_some_and(|n| n != whole.len() as u64) => {
                exchange.push_body(whole.freeze(), false);
                exchange.disconnect();
                None
            }
            None => Some(whole.freeze()),
            Some(error) => {
                // The client left mid-body: the app still gets what arrived, then the
                // disconnect, as under uvicorn.
                exchange.push_body(whole.freeze(), false);
                body_failed(&exchange, &error);
                None
            }
        }
    } else {
        tokio::spawn(pump(
            incoming,
            exchange.clone(),
            shared.bridge.clone(),
            expects_continue,
        ));
        None
    };
    let (respond, response) = oneshot::channel();
    let mut guard = DisconnectGuard {
        exchange: exchange.clone(),
        bridge: &shared.bridge,
        armed: true,
    };
    shared.bridge.submit(Event::Request(Box::new(NewRequest {
        head,
        connection,
        exchange,
        body,
        respond,
    })));
    let response = response.await;
    guard.armed = false;
    Ok(response.unwrap_or_else(|_| {
        // The app's side dropped the exchange without answering: a malformed body gets uvicorn's
        // 400; otherwise (the app never answered, the client is most likely gone) a 500.
        let defaults = &shared.limits.defaults;
        match guard.exchange.body_invalid() {
            true => defaults.plain(StatusCode::BAD_REQUEST, BAD_REQUEST),
            false => defaults.plain(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_ERROR),
        }
    }))
}

/// hyper's connection futures, which can be asked to finish gracefully.
trait Graceful: std::future::Future {
    fn shut_down(self: std::pin::Pin<&mut Self>);
}

impl<I, S> Graceful for hyper::server::conn::http1::UpgradeableConnection<I, S>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming, ResBody = OutBody>,
{
    fn shut_down(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<I, S> Graceful for hyper::server::conn::http2::Connection<I, S, TokioExecutor>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming, ResBody = OutBody>,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn shut_down(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// Serves one connection until it closes or the server shuts down.
async fn serve_connection<IO>(
    io: IO,
    connection: ConnectionInfo,
    shared: Arc<Shared>,
    negotiated: Option<Protocol>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = Arc::new(connection);
    let limits = &shared.limits;
    let mut stop = shared.stop.clone();
    let decided = match (negotiated, limits.http) {
        // ALPN chose.
        (Some(protocol), _) => Some(protocol),
        (None, HttpVersions::Http1) => Some(Protocol::Http1),
        (None, HttpVersions::Http2) => Some(Protocol::Http2),
        (None, HttpVersions::Auto) => None,
    };
    let protocol = match decided {
        Some(protocol) => Some((protocol, Prefixed::new(Bytes::new(), io))),
        None => tokio::select! {
            // The first bytes must come within the time a request head may take.
            sniffed = tokio::time::timeout(limits.timeout_keep_alive, preface::sniff(io)) => {
                sniffed.ok().and_then(Result::ok).flatten()
            }
            _ = stop.changed() => None,
        },
    };
    if let Some((protocol, io)) = protocol {
        let service_shared = shared.clone();
        let service_connection = connection.clone();
        let service = hyper::service::service_fn(move |request| {
            handle(request, service_connection.clone(), service_shared.clone())
        });
        let io = TokioIo::new(io);
        match protocol {
            Protocol::Http1 => {
                let served = http1_builder(limits)
                    .serve_connection(io, service)
                    .with_upgrades();
                until_closed(served, &connection, stop).await;
            }
            Protocol::Http2 => {
                let served = http2_builder(limits).serve_connection(io, service);
                until_closed(served, &connection, stop).await;
            }
        }
    }
    shared.connections.fetch_sub(1, Ordering::AcqRel);
}

fn http1_builder(limits: &Limits) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // hyper's timer starts when it waits for a request head, idle or not: it bounds both an
        // idle keep-alive connection and a slow head (slowloris).
        .header_read_timeout(limits.timeout_keep_alive)
        .max_buf_size(limits.max_buf_size)
        .keep_alive(true)
        .auto_date_header(false)
        .half_close(false);
    // hyper parses up to 100 headers on the stack; any other limit moves them to the heap.
    if limits.max_headers != 100 {
        builder.max_headers(limits.max_headers);
    }
    if let Some(size) = limits.max_header_size {
        builder.max_header_size(size);
    }
    builder
}

fn http2_builder(limits: &Limits) -> hyper::server::conn::http2::Builder<TokioExecutor> {
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .auto_date_header(false)
        .max_header_list_size(
            u32::try_from(limits.max_header_size.unwrap_or(H2_MAX_HEADER_LIST)).unwrap_or(u32::MAX),
        );
    builder
}

/// Drives a connection to its end, asking it to finish gracefully when the server stops or the
/// app's side asks for the connection to close.
async fn until_closed<C: Graceful>(
    served: C,
    connection: &ConnectionInfo,
    mut stop: watch::Receiver<bool>,
) {
    tokio::pin!(served);
    let mut stopping = *stop.borrow();
    if stopping {
        served.as_mut().shut_down();
    }
    loop {
        tokio::select! {
            // hyper first: a close asked for after a response comes once its head is written.
            biased;
            _ = served.as_mut() => break,
            // Once asked to finish, an idle connection ends even if the client never answers
            // (hyper's HTTP/2 shutdown waits for the client to acknowledge a PING after its
            // GOAWAY); one with requests in flight lets them finish.
            _ = tokio::time::sleep(SHUTDOWN_IDLE_CHECK), if stopping => {
                if connection.in_flight.load(Ordering::Acquire) == 0 {
                    break;
                }
            }
            _ = connection.close.notified(), if !stopping => {
                stopping = true;
                served.as_mut().shut_down();
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    served.as_mut().shut_down();
                }
            }
        }
    }
}

/// The TLS handshake (within the time a request head may take), then the connection, in the
/// protocol ALPN chose.
async fn serve_tls<IO>(
    tls: tokio_rustls::TlsAcceptor,
    io: IO,
    connection: ConnectionInfo,
    shared: Arc<Shared>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handshake = tokio::time::timeout(shared.limits.timeout_keep_alive, tls.accept(io)).await;
    match handshake {
        Ok(Ok(stream)) => {
            let protocol = match stream.get_ref().1.alpn_protocol() {
                Some(b"h2") => Some(Protocol::Http2),
                Some(b"http/1.1") => Some(Protocol::Http1),
                _ => None,
            };
            serve_connection(stream, connection, shared, protocol).await;
        }
        // A failed or slow handshake: nothing reached HTTP, nothing to answer.
        _ => {
            shared.connections.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Serves an accepted connection on a task of its own, over TLS when the server speaks it.
fn spawn_connection<IO>(io: IO, info: ConnectionInfo, shared: Arc<Shared>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match shared.tls.clone() {
        Some(tls) => tokio::spawn(serve_tls(tls, io, info, shared)),
        None => tokio::spawn(serve_connection(io, info, shared, None)),
    };
}

/// Accepts connections until told to stop, then waits for the open ones to finish.
pub async fn accept_loop(listener: Listener, shared: Arc<Shared>) {
    let mut stop = shared.stop.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((io, client, server)) => {
                    shared.connections.fetch_add(1, Ordering::AcqRel);
                    let info = ConnectionInfo { client, server, client_tuple: Default::default(), close: tokio::sync::Notify::new(), in_flight: AtomicUsize::new(0) };
                    match io {
                        super::listener::Stream::Tcp(tcp) => {
                            let _ = tcp.set_nodelay(true);
                            spawn_connection(tcp, info, shared.clone());
                        }
                        super::listener::Stream::Unix(unix) => spawn_connection(unix, info, shared.clone()),
                    }
                }
                Err(error) => {
                    // Out of fds and the like: report, back off a little, keep serving.
                    shared.bridge.submit(Event::Log(LogLevel::Error, format!("accept failed: {error}")));
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            },
            _ = stop.changed() => break,
        }
    }
    drop(listener);
}
