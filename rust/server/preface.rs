//! Telling HTTP/2 with prior knowledge (h2c) from HTTP/1.1 on a new connection: the first bytes
//! are read, compared with the HTTP/2 connection preface, and handed back to whichever protocol
//! serves the connection (`Prefixed`), so nothing is read twice and no extra read is made for an
//! HTTP/1.1 request whose first bytes already differ from the preface.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// The client connection preface of RFC 9113, section 3.4.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#[derive(Debug, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

/// Which protocol `start` (the bytes read so far) begins, or `None` while it could still be
/// either.
pub fn protocol_of(start: &[u8]) -> Option<Protocol> {
    let common = start.len().min(PREFACE.len());
    if start[..common] != PREFACE[..common] {
        Some(Protocol::Http1)
    } else if common == PREFACE.len() {
        Some(Protocol::Http2)
    } else {
        None
    }
}

/// Reads until the protocol is known; returns it and the connection with what was read put
/// back. `Ok(None)`: the peer closed before saying anything.
pub async fn sniff<IO>(mut io: IO) -> io::Result<Option<(Protocol, Prefixed<IO>)>>
where
    IO: AsyncRead + Unpin,
{
    let mut start = BytesMut::with_capacity(8192);
    loop {
        if io.read_buf(&mut start).await? == 0 {
            if start.is_empty() {
                return Ok(None);
            }
            // Part of the preface, then the end: HTTP/1.1's parser reports what is wrong.
            return Ok(Some((Protocol::Http1, Prefixed::new(start.freeze(), io))));
        }
        if let Some(protocol) = protocol_of(&start) {
            return Ok(Some((protocol, Prefixed::new(start.freeze(), io))));
        }
    }
}

/// A connection whose first bytes were already read: they are read again first.
pub struct Prefixed<IO> {
    prefix: Bytes,
    io: IO,
}

impl<IO> Prefixed<IO> {
    pub fn new(prefix: Bytes, io: IO) -> Self {
        Self { prefix, io }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Prefixed<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Prefixed<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_differing_byte_decides_http1() {
        assert_eq!(protocol_of(b"GET / HTTP/1.1\r\n"), Some(Protocol::Http1));
        assert_eq!(protocol_of(b"P"), None);
        assert_eq!(protocol_of(b"PRI * HTTP/2.0\r\n"), None);
        assert_eq!(protocol_of(b"POST / HTTP/1.1"), Some(Protocol::Http1));
        assert_eq!(protocol_of(PREFACE), Some(Protocol::Http2));
        let mut more = PREFACE.to_vec();
        more.extend_from_slice(b"\x00\x00\x12\x04");
        assert_eq!(protocol_of(&more), Some(Protocol::Http2));
    }

    #[test]
    fn what_was_read_is_read_again_first() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (client, server) = tokio::io::duplex(64);
            let writer = async move {
                let mut client = client;
                tokio::io::AsyncWriteExt::write_all(&mut client, b"PRI * HTTP/2.0\r\n")
                    .await
                    .unwrap();
                tokio::io::AsyncWriteExt::write_all(&mut client, b"\r\nSM\r\n\r\nrest")
                    .await
                    .unwrap();
            };
            let (_, sniffed) = tokio::join!(writer, sniff(server));
            let (protocol, mut io) = sniffed.unwrap().unwrap();
            assert_eq!(protocol, Protocol::Http2);
            let mut all = Vec::new();
            io.read_to_end(&mut all).await.unwrap();
            assert_eq!(all, [PREFACE, b"rest"].concat());
        });
    }
}
