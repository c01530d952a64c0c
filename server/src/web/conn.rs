//! The connections the HTTP server accepts, bounded: at most [`ConnectionLimits::max`] open
//! at once (the rest wait in the kernel's backlog instead of exhausting file descriptors),
//! a first byte within [`FIRST_BYTE_TIMEOUT`] of accepting (a client that connects and says
//! nothing is dropped), and no connection silent both ways for longer than
//! [`IDLE_TIMEOUT`] (WebSockets of open pages get pushes every second; a socket held open
//! and silent by a greedy client is not a page).
//!
//! `axum::serve` has neither limit of its own, so they live in the listener and its IO type.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// A connection must send its first byte this soon after it is accepted.
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection silent in both directions this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// File descriptors kept free for sled, the exchange connections and the CSV exports.
const RESERVED_FDS: u64 = 128;
/// Most connections served at once, whatever the descriptor limit allows.
const MAX_CONNECTIONS: u64 = 1_024;

/// How many connections may be open at once, and how long they may stay silent.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub max: usize,
    pub first_byte: Duration,
    pub idle: Duration,
}

impl ConnectionLimits {
    /// Raises the soft open-files limit to the hard one, then allows what it leaves after the
    /// descriptors the server needs for itself (at most [`MAX_CONNECTIONS`]).
    pub fn from_system() -> Self {
        let soft = raise_nofile_limit();
        let max = soft.saturating_sub(RESERVED_FDS).clamp(16, MAX_CONNECTIONS);
        ConnectionLimits { max: max as usize, first_byte: FIRST_BYTE_TIMEOUT, idle: IDLE_TIMEOUT }
    }
}

/// Raises `RLIMIT_NOFILE`'s soft limit to its hard limit; returns the soft limit in force.
fn raise_nofile_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by reference.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 256;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux x86_64, not on every target
    let soft = limit.rlim_cur as u64;
    soft
}

/// A TCP listener that hands out at most `max` connections at once.
pub struct LimitedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    limits: ConnectionLimits,
}

impl LimitedListener {
    pub fn new(inner: TcpListener, limits: ConnectionLimits) -> Self {
        Self { inner, permits: Arc::new(Semaphore::new(limits.max)), limits }
    }
}

impl axum::serve::Listener for LimitedListener {
    type Io = LimitedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // Wait for a free slot before accepting: beyond the cap, clients queue in the backlog.
        let permit = match self.permits.clone().acquire_owned().await {
            Ok(permit) => permit,
            Err(_) => std::future::pending().await, // the semaphore is never closed
        };
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    if let Err(err) = stream.set_nodelay(true) {
                        // Pushed frames are small and latency-bound: no Nagle delay.
                        tracing::debug!(%err, "cannot set TCP_NODELAY");
                    }
                    return (LimitedStream::new(stream, permit, self.limits), addr);
                }
                Err(err) => {
                    // EMFILE and friends: back off instead of spinning (as axum does).
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An accepted connection: its slot is released when it is dropped; it times out when
/// silent (see the module doc).
pub struct LimitedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    /// Fires when the connection has been silent too long.
    deadline: Pin<Box<Sleep>>,
    idle: Duration,
    seen_bytes: bool,
}

impl LimitedStream {
    fn new(stream: TcpStream, permit: OwnedSemaphorePermit, limits: ConnectionLimits) -> Self {
        let deadline = Box::pin(tokio::time::sleep(limits.first_byte));
        Self { stream, _permit: permit, deadline, idle: limits.idle, seen_bytes: false }
    }

    fn activity(&mut self) {
        let idle = self.idle;
        self.deadline.as_mut().reset(Instant::now() + idle);
    }

    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

impl AsyncRead for LimitedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.seen_bytes = true;
                    self.activity();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => {
                if self.timed_out(cx) {
                    let what = if self.seen_bytes { "idle connection" } else { "no request" };
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) && self.seen_bytes {
            self.activity();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::serve::Listener;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn limits(max: usize) -> ConnectionLimits {
        ConnectionLimits { max, first_byte: Duration::from_millis(300), idle: Duration::from_millis(600) }
    }

    #[tokio::test]
    async fn a_silent_connection_is_dropped_and_its_slot_freed() {
        let inner = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = inner.local_addr().expect("addr");
        let mut listener = LimitedListener::new(inner, limits(1));
        let _client = TcpStream::connect(addr).await.expect("connect");
        let (mut stream, _) = listener.accept().await;
        // The only slot is taken: a second accept waits.
        let _second = TcpStream::connect(addr).await.expect("connect");
        let waiting = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(waiting.is_err(), "a second connection got a slot beyond the cap");
        // Nothing is sent: after the first-byte timeout the read fails.
        let started = Instant::now();
        let mut buf = [0u8; 8];
        let err = stream.read(&mut buf).await.expect_err("timed out");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(stream);
        let accepted = tokio::time::timeout(Duration::from_secs(2), listener.accept()).await;
        assert!(accepted.is_ok(), "the slot was not freed");
    }

    #[tokio::test]
    async fn a_talking_connection_stays_until_it_goes_quiet() {
        let inner = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = inner.local_addr().expect("addr");
        let mut listener = LimitedListener::new(inner, limits(4));
        let mut client = TcpStream::connect(addr).await.expect("connect");
        let (mut stream, _) = listener.accept().await;
        let mut buf = [0u8; 4];
        // Talking every 200 ms for 1.2 s: longer than both timeouts, never cut.
        for _ in 0..6 {
            client.write_all(b"ping").await.expect("write");
            stream.read_exact(&mut buf).await.expect("read while talking");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let started = Instant::now();
        let err = stream.read(&mut buf).await.expect_err("idle");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(300), "cut before the idle timeout");
    }
}
