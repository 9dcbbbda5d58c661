//! Listening sockets: the Python side binds them (TCP over IPv4/IPv6, a Unix socket, or an
//! inherited descriptor, as uvicorn does) and hands over the descriptor; tokio accepts on it.

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, RawFd};

use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Listener {
    /// Takes a duplicate of `fd` (a listening socket), so the caller keeps its own.
    /// Must run inside the tokio runtime.
    pub fn from_fd(fd: RawFd) -> std::io::Result<Self> {
        // SAFETY: dup returns a new descriptor (or -1) for a caller-provided one.
        let own = unsafe { libc::dup(fd) };
        if own < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut length = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: storage is large enough for any socket address and length says so.
        let result = unsafe {
            libc::getsockname(
                own,
                (&mut storage as *mut libc::sockaddr_storage).cast(),
                &mut length,
            )
        };
        if result < 0 {
            let error = std::io::Error::last_os_error();
            // SAFETY: `own` is ours and closed once.
            unsafe { libc::close(own) };
            return Err(error);
        }
        if i32::from(storage.ss_family) == libc::AF_UNIX {
            // SAFETY: `own` is a listening Unix socket that nothing else owns.
            let listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(own) };
            listener.set_nonblocking(true)?;
            Ok(Listener::Unix(UnixListener::from_std(listener)?))
        } else {
            // SAFETY: `own` is a listening TCP socket that nothing else owns.
            let listener = unsafe { std::net::TcpListener::from_raw_fd(own) };
            listener.set_nonblocking(true)?;
            Ok(Listener::Tcp(TcpListener::from_std(listener)?))
        }
    }

    /// The next connection, with the client's and the server's addresses (none on a Unix socket).
    pub async fn accept(
        &self,
    ) -> std::io::Result<(Stream, Option<SocketAddr>, Option<SocketAddr>)> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, client) = listener.accept().await?;
                let server = stream.local_addr().ok();
                Ok((Stream::Tcp(stream), Some(client), server))
            }
            Listener::Unix(listener) => {
                let (stream, _) = listener.accept().await?;
                Ok((Stream::Unix(stream), None, None))
            }
        }
    }
}
