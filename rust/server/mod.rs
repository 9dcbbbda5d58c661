//! The built-in HTTP server: hyper's HTTP/1.1 and HTTP/2 over tokio, serving an ASGI app through the bridge
//! in `asgi/` (the only part that touches Python). Nothing else in the crate imports this module.
//!
//! - `listener`: the listening socket the Python side bound (TCP, Unix, inherited fd).
//! - `service`: accept loop, one hyper connection per socket (HTTP/1.1, or HTTP/2 after the
//!   `preface` check), one `NewRequest` per request.
//! - `exchange`: the state one request shares between tokio and the Python thread.
//! - `body`: the response body hyper writes and the pump that reads a request body ahead.
//! - `bridge`: the event queue and eventfd from tokio to the Python thread.
//! - `tls`: rustls, set up from uvicorn's `--ssl-*` options.
//! - `websocket`: the handshake and the tokio side of a WebSocket (tokio-tungstenite).
//! - `asgi`: scopes, `receive()`/`send()`, and the `NativeServer` Python class.

pub mod asgi;
pub mod body;
pub mod bridge;
pub mod config;
pub mod exchange;
pub mod listener;
pub mod preface;
pub mod service;
pub mod tls;
pub mod websocket;
