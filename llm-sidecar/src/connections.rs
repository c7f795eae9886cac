//! Noticing clients that hang up while their (non-streaming) answer is generated.
//!
//! poem's HTTP/1 server doesn't cancel a handler when its client disconnects (hyper only
//! learns of it when it next reads or writes the socket, which it doesn't do while the
//! handler runs), so a closed connection would keep its batch slot until generation
//! ends. This acceptor keeps a duplicate of each connection's socket, keyed by the
//! client's address; a handler can await [`Connections::closed`], which peeks at the
//! socket (without consuming anything hyper will read) and resolves on end-of-file.
//! Streaming responses don't need it: a failed write drops their stream.

use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Duplicated sockets of open connections, by client address.
#[derive(Default)]
pub struct Connections {
    map: Mutex<HashMap<SocketAddr, Arc<TcpStream>>>,
}

impl Connections {
    /// Resolves once the client at `addr` has closed its connection. Never resolves
    /// for connections we don't track (other listeners, in-process tests).
    pub async fn closed(&self, addr: Option<&SocketAddr>) {
        let sock = addr.and_then(|a| self.map.lock().ok()?.get(a).cloned());
        let Some(sock) = sock else {
            return std::future::pending().await;
        };
        let mut buf = [0u8; 1];
        loop {
            match sock.peek(&mut buf).await {
                Ok(0) | Err(_) => return,
                // The client sent more (a pipelined request): check again later, it
                // stays in the socket for hyper.
                Ok(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    fn insert(&self, addr: SocketAddr, sock: TcpStream) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(addr, Arc::new(sock));
        }
    }

    fn remove(&self, addr: &SocketAddr) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(addr);
        }
    }
}

/// A second handle on the same socket (a `dup`ed descriptor) for peeking.
#[cfg(unix)]
fn duplicate(stream: &TcpStream) -> io::Result<TcpStream> {
    use std::os::fd::AsFd;
    let fd = stream.as_fd().try_clone_to_owned()?;
    let std = std::net::TcpStream::from(fd);
    std.set_nonblocking(true)?;
    TcpStream::from_std(std)
}

#[cfg(not(unix))]
fn duplicate(_: &TcpStream) -> io::Result<TcpStream> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "not on this platform",
    ))
}

/// A TCP acceptor that registers each connection in [`Connections`].
pub struct WatchedAcceptor {
    inner: TcpAcceptor,
    conns: Arc<Connections>,
}

impl WatchedAcceptor {
    pub fn new(inner: TcpAcceptor, conns: Arc<Connections>) -> Self {
        Self { inner, conns }
    }
}

/// The connection's stream; deregisters (closing the duplicate) when hyper drops it.
pub struct WatchedStream {
    inner: TcpStream,
    key: Option<SocketAddr>,
    conns: Arc<Connections>,
}

impl Drop for WatchedStream {
    fn drop(&mut self) {
        if let Some(k) = &self.key {
            self.conns.remove(k);
        }
    }
}

impl Acceptor for WatchedAcceptor {
    type Io = WatchedStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(
        &mut self,
    ) -> io::Result<(
        WatchedStream,
        LocalAddr,
        RemoteAddr,
        poem::http::uri::Scheme,
    )> {
        let (stream, local, remote, scheme) = self.inner.accept().await?;
        let key = remote.as_socket_addr().copied();
        let key = match (key, duplicate(&stream)) {
            (Some(k), Ok(dup)) => {
                self.conns.insert(k, dup);
                Some(k)
            }
            // Without a duplicate the connection works, it just isn't watched.
            _ => None,
        };
        let io = WatchedStream {
            inner: stream,
            key,
            conns: self.conns.clone(),
        };
        Ok((io, local, remote, scheme))
    }
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
