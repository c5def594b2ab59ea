//! The async driver, written once and shared by every runtime, and the [`Runtime`] trait that
//! each runtime module implements.
//!
//! Use it through a runtime module: [`laputa::tokio`](crate::tokio),
//! [`laputa::smol`](crate::smol) or [`laputa::async_std`](crate::async_std). Each one names
//! the types of this module for its runtime (`laputa::tokio::WebSocket<S>` is
//! [`WebSocket<S, Tokio>`](WebSocket)) and offers `connect`, `connect_with`, `client`,
//! `accept` and `accept_with` with the blocking adapter's signatures, made `async`.
//!
//! [`WebSocket`] follows the drive loop of `ARCHITECTURE.md`: a receive call reads into a
//! scratch buffer, feeds the core, hands out its events, writes what the core emits (pongs,
//! the close echo) and keeps one timer armed at the core's deadline (close timeout, keepalive);
//! a send call queues a frame in the core and writes. Nothing runs in the background: the
//! core's timers and automatic answers advance while a receive call is pending, so keep one
//! pending (or a [`ReadHalf`]'s) for the life of the connection.
//!
//! # Cancellation safety
//!
//! Every future of this module may be dropped before it completes without corrupting the
//! connection: state lives in the connection, never in the future.
//! - [`WebSocket::recv`] and [`recv_event`](WebSocket::recv_event) (and `Stream::poll_next`)
//!   are cancellation safe: a dropped call loses no message.
//! - [`send`](WebSocket::send), [`feed`](WebSocket::feed),
//!   [`send_fragment`](WebSocket::send_fragment) and [`ping`](WebSocket::ping): dropped while
//!   waiting below the high-water mark, nothing was queued; dropped while flushing, the frame
//!   is queued whole and goes out with the next call that writes. A frame is never sent in part.
//! - [`close`](WebSocket::close): the close frame, once queued, goes out with the next call
//!   that writes; calling `close` again resumes the handshake.
//!
//! # Backpressure
//!
//! Sending waits while more than the high-water mark
//! ([`set_high_water_mark`](WebSocket::set_high_water_mark),
//! [`DEFAULT_HIGH_WATER_MARK`](crate::DEFAULT_HIGH_WATER_MARK) by default) is waiting to
//! be written, so a peer that does not read makes the sender wait instead of growing a queue.
//! At most one message beyond the mark is buffered. Received data is read only as the
//! application asks for events, so a slow receiver slows the peer down through TCP.

mod accept_tls;
pub(crate) mod connect;
pub(crate) mod driver;
pub(crate) mod facade;
#[cfg(feature = "_futures_io")]
pub(crate) mod futures_io;

use crate::Error;
pub use accept_tls::ServerTransport;
pub use connect::ClientTransport;
use driver::{Driver, Io};
use futures_core::Stream;
use futures_sink::Sink;
use laputa_core::bytes::buf::Limit;
use laputa_core::bytes::BytesMut;
use laputa_core::handshake::{
    Accept, Answer, ClientHandshake, ClientRequest, HandshakeError, IncomingRequest, Reject, ServerHandshake,
};
use laputa_core::{CloseCode, Closed, Config, Connection, Event, Message, MessageKind};
use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

/// What the driver needs from an async runtime: a timer, a task spawner and TCP. Implemented by
/// [`Tokio`](crate::tokio::Tokio), [`Smol`](crate::smol::Smol) and
/// [`AsyncStd`](crate::async_std::AsyncStd); how the runtime drives a given stream type is
/// [`RuntimeIo`].
///
/// Code generic over the runtime (as the examples are) takes `R: TcpRuntime`:
///
/// ```no_run
/// # #[cfg(feature = "tokio")] {
/// use laputa::runtime::{self, TcpRuntime};
///
/// async fn serve<R: TcpRuntime>(addr: &str) -> std::io::Result<()> {
///     let listener = R::bind(addr).await?;
///     loop {
///         let (stream, _) = R::accept(&listener).await?;
///         R::spawn(async move {
///             let Ok(mut ws) = runtime::accept::<_, R>(stream).await else { return };
///             while let Ok(message) = ws.recv().await {
///                 if ws.send(message).await.is_err() {
///                     break;
///                 }
///             }
///         });
///     }
/// }
/// # let _ = serve::<laputa::tokio::Tokio>; }
/// ```
pub trait Runtime: Sized + Send + Sync + 'static {
    /// The runtime's TCP stream.
    type TcpStream: Unpin + Send + 'static;
    /// The runtime's TCP listener.
    type TcpListener: Send + Sync + 'static;
    /// A sleep until an instant.
    type Sleep: Future + Send + 'static;
    /// A spawned task; awaiting it gives the task's output (a panic in the task resumes in the
    /// awaiting one). Dropping it detaches the task, which runs on.
    type JoinHandle<T: Send + 'static>: Future<Output = T> + Send + 'static;

    /// A sleep that ends at `deadline`. Called from within the runtime.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::runtime::Runtime;
    /// use laputa::tokio::Tokio;
    /// use std::time::{Duration, Instant};
    ///
    /// let deadline = Instant::now() + Duration::from_millis(10);
    /// Tokio::sleep_until(deadline).await;
    /// assert!(Instant::now() >= deadline, "a sleep does not end early");
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn sleep_until(deadline: Instant) -> Self::Sleep;

    /// Moves a sleep's deadline.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::runtime::Runtime;
    /// use laputa::tokio::Tokio;
    /// use std::time::{Duration, Instant};
    ///
    /// let start = Instant::now();
    /// let mut sleep = std::pin::pin!(Tokio::sleep_until(start + Duration::from_secs(60)));
    /// let deadline = Instant::now() + Duration::from_millis(10);
    /// Tokio::reset_sleep(sleep.as_mut(), deadline);
    /// sleep.await; // ends at the new deadline
    /// assert!(Instant::now() >= deadline);
    /// assert!(start.elapsed() < Duration::from_secs(60), "not at the old one");
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn reset_sleep(sleep: Pin<&mut Self::Sleep>, deadline: Instant);

    /// Connects to `host` (a name or address) and `port`, with `TCP_NODELAY` set.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::runtime::Runtime;
    /// use laputa::tokio::Tokio;
    /// # let listener = Tokio::bind("127.0.0.1:0").await?;
    /// # let port = Tokio::local_addr(&listener)?.port();
    ///
    /// // A server listens on `port`.
    /// let stream = Tokio::connect("127.0.0.1", port).await?;
    /// assert!(stream.nodelay()?, "TCP_NODELAY is set");
    /// assert_eq!(stream.peer_addr()?.port(), port);
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn connect(host: &str, port: u16) -> impl Future<Output = io::Result<Self::TcpStream>> + Send;

    /// Listens on `addr` (such as `127.0.0.1:9001`).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::runtime::Runtime;
    /// use laputa::tokio::Tokio;
    ///
    /// let listener = Tokio::bind("127.0.0.1:0").await?; // port 0: the system picks a free one
    /// let addr = Tokio::local_addr(&listener)?;
    /// assert!(addr.ip().is_loopback());
    /// assert_ne!(addr.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn bind(addr: &str) -> impl Future<Output = io::Result<Self::TcpListener>> + Send;

    /// The address a listener is bound to.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::runtime::Runtime;
    /// use laputa::tokio::Tokio;
    ///
    /// let listener = Tokio::bind("127.0.0.1:0").await?;
    /// let addr = Tokio::local_addr(&listener)?;
    /// println!("listening on ws://{addr}/");
    /// let stream = Tokio::connect("127.0.0.1", addr.port()).await?;
    /// assert_eq!(stream.peer_addr()?, addr);
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn local_addr(listener: &Self::TcpListener) -> io::Result<SocketAddr>;

    /// Accepts a connection, with `TCP_NODELAY` set.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::runtime::Runtime;
    /// use laputa::tokio::Tokio;
    /// # let listener = Tokio::bind("127.0.0.1:0").await?;
    /// # let client = tokio::net::TcpStream::connect(Tokio::local_addr(&listener)?).await?;
    ///
    /// // A client connected to `listener`.
    /// let (stream, peer) = Tokio::accept(&listener).await?;
    /// println!("connection from {peer}");
    /// assert_eq!(peer, client.local_addr()?);
    /// assert!(stream.nodelay()?, "TCP_NODELAY is set");
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn accept(listener: &Self::TcpListener) -> impl Future<Output = io::Result<(Self::TcpStream, SocketAddr)>> + Send;

    /// Runs `future` as a task of the runtime.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::runtime::Runtime;
    /// use laputa::tokio::Tokio;
    ///
    /// let task = Tokio::spawn(async { 6 * 7 });
    /// assert_eq!(task.await, 42);
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

/// How runtime `Self` reads and writes a stream `S` (through tokio's `AsyncRead`/`AsyncWrite`,
/// or the `futures-io` traits for smol and async-std). The runtimes implement it for every
/// `Unpin` stream with those traits; pin a stream that is not `Unpin` in a `Box`.
///
/// Code generic over the runtime and the stream takes `R: RuntimeIo<S>`:
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use laputa::runtime::{self, RuntimeIo};
///
/// async fn echo_once<S, R: RuntimeIo<S>>(stream: S) -> Result<(), laputa::Error> {
///     let mut ws = runtime::accept::<S, R>(stream).await?;
///     let message = ws.recv().await?;
///     ws.send(message).await
/// }
///
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// // On tokio, over an in-memory pipe.
/// let (client_end, server_end) = tokio::io::duplex(64 * 1024);
/// let server = tokio::spawn(echo_once::<_, laputa::tokio::Tokio>(server_end));
/// # let request = laputa::ClientRequest::new("ws://localhost/")?;
/// let (mut client, _) = laputa::tokio::client(client_end, request, laputa::Config::default()).await?;
/// client.send("BALUS").await?;
/// assert_eq!(client.recv().await?.as_text(), Some("BALUS"));
/// # server.await.expect("the server task")?;
/// # Ok::<(), laputa::Error>(())
/// # })?;
/// # }
/// # Ok::<(), laputa::Error>(())
/// ```
pub trait RuntimeIo<S>: Runtime {
    /// Reads into `buf`; `Ok(0)` is the end of the stream.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::runtime::RuntimeIo;
    /// use laputa::tokio::Tokio;
    /// use std::future::poll_fn;
    /// # use tokio::io::AsyncWriteExt;
    /// # let (mut stream, mut peer) = tokio::io::duplex(4096);
    /// # peer.write_all(b"hello").await?;
    /// # drop(peer);
    ///
    /// // The peer of `stream` wrote "hello", then closed.
    /// let mut buf = [0; 4096];
    /// let n = poll_fn(|cx| Tokio::poll_read(&mut stream, cx, &mut buf)).await?;
    /// assert_eq!(&buf[..n], b"hello");
    /// let n = poll_fn(|cx| Tokio::poll_read(&mut stream, cx, &mut buf)).await?;
    /// assert_eq!(n, 0, "the end of the stream");
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn poll_read(stream: &mut S, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Whether [`poll_read_spare`](Self::poll_read_spare) can read into memory that was never
    /// initialized; when not, the driver lends the stream zeroed room instead.
    const READS_SPARE: bool = false;

    /// Reads into the spare capacity of `buf`, at most its limit, without zeroing it first
    /// (tokio's `read_buf`): the core lends it while a large frame arrives. Called only when
    /// [`READS_SPARE`](Self::READS_SPARE) is true; the default refuses.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::core::bytes::{BufMut, BytesMut};
    /// use laputa::runtime::RuntimeIo;
    /// use laputa::tokio::Tokio;
    /// use std::future::poll_fn;
    /// use tokio::io::DuplexStream;
    /// # use tokio::io::AsyncWriteExt;
    /// # let (mut stream, mut peer) = tokio::io::duplex(4096);
    /// # peer.write_all(b"hello").await?;
    ///
    /// // The peer of `stream` wrote "hello". Tokio reads into spare capacity (`read_buf`):
    /// assert!(<Tokio as RuntimeIo<DuplexStream>>::READS_SPARE);
    /// let mut buf = BytesMut::with_capacity(4096);
    /// let n = poll_fn(|cx| Tokio::poll_read_spare(&mut stream, cx, &mut (&mut buf).limit(4096))).await?;
    /// assert_eq!((n, &buf[..]), (5, &b"hello"[..]));
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn poll_read_spare(
        stream: &mut S,
        cx: &mut Context<'_>,
        buf: &mut Limit<&mut BytesMut>,
    ) -> Poll<io::Result<usize>> {
        let _ = (stream, cx, buf);
        Poll::Ready(Err(io::ErrorKind::Unsupported.into()))
    }

    /// Writes from `buf`: the driver's write when the output is one chunk (on Linux a plain
    /// `send` costs the kernel less than a `writev` of one buffer). The default writes it as a
    /// vectored write of one slice.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::runtime::RuntimeIo;
    /// use laputa::tokio::Tokio;
    /// use std::future::poll_fn;
    /// # use tokio::io::AsyncReadExt;
    /// # let (mut stream, mut peer) = tokio::io::duplex(4096);
    ///
    /// let n = poll_fn(|cx| Tokio::poll_write(&mut stream, cx, b"hello")).await?;
    /// assert_eq!(n, 5);
    /// # let mut received = [0; 5];
    /// # peer.read_exact(&mut received).await?;
    /// assert_eq!(&received, b"hello"); // what the peer of `stream` read
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn poll_write(stream: &mut S, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Self::poll_write_vectored(stream, cx, &[IoSlice::new(buf)])
    }

    /// Writes from `bufs`, in order.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::runtime::RuntimeIo;
    /// use laputa::tokio::Tokio;
    /// use std::future::poll_fn;
    /// use std::io::IoSlice;
    /// # use tokio::io::AsyncReadExt;
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut stream = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
    /// # let (mut peer, _) = listener.accept().await?;
    ///
    /// // `stream` is a TCP socket.
    /// let bufs = [IoSlice::new(b"hello, "), IoSlice::new(b"world")];
    /// let n = poll_fn(|cx| Tokio::poll_write_vectored(&mut stream, cx, &bufs)).await?;
    /// assert_eq!(n, 12, "both buffers, in one write");
    /// # let mut received = [0; 12];
    /// # peer.read_exact(&mut received).await?;
    /// assert_eq!(&received, b"hello, world"); // what the peer of `stream` read
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn poll_write_vectored(stream: &mut S, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>>;

    /// Whether a vectored write is worth it on `stream` (when not, one buffer is written at a time).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::runtime::RuntimeIo;
    /// use laputa::tokio::Tokio;
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let stream = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
    ///
    /// // `stream` is a TCP socket, which takes several buffers in one system call.
    /// println!("vectored writes: {}", Tokio::is_write_vectored(&stream));
    /// assert!(Tokio::is_write_vectored(&stream));
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn is_write_vectored(stream: &S) -> bool;

    /// Flushes buffered writes.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::runtime::RuntimeIo;
    /// use laputa::tokio::Tokio;
    /// use std::future::poll_fn;
    /// # use tokio::io::AsyncReadExt;
    /// # let (stream, mut peer) = tokio::io::duplex(4096);
    ///
    /// // A stream that holds what is written until it is flushed.
    /// let mut stream = tokio::io::BufWriter::new(stream);
    /// poll_fn(|cx| Tokio::poll_write(&mut stream, cx, b"hello")).await?;
    /// assert_eq!(stream.buffer(), b"hello", "held in the buffer");
    /// poll_fn(|cx| Tokio::poll_flush(&mut stream, cx)).await?;
    /// assert!(stream.buffer().is_empty(), "written to the stream beneath");
    /// # let mut received = [0; 5];
    /// # peer.read_exact(&mut received).await?;
    /// # assert_eq!(&received, b"hello");
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn poll_flush(stream: &mut S, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Shuts down the write side (TCP FIN).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// use laputa::runtime::RuntimeIo;
    /// use laputa::tokio::Tokio;
    /// use std::future::poll_fn;
    /// use tokio::io::AsyncReadExt;
    /// # let (mut stream, mut peer) = tokio::io::duplex(4096);
    ///
    /// poll_fn(|cx| Tokio::poll_shutdown(&mut stream, cx)).await?;
    /// assert_eq!(peer.read(&mut [0; 16]).await?, 0, "the peer reads the end of the stream");
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn poll_shutdown(stream: &mut S, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// A [`Runtime`] that can drive its own TCP stream: what `connect` and servers need.
///
/// ```no_run
/// # #[cfg(feature = "tokio")] {
/// use laputa::runtime::{self, TcpRuntime};
///
/// async fn hello<R: TcpRuntime>(url: &str) -> Result<(), laputa::Error> {
///     let (mut ws, _response) = runtime::connect::<R>(url).await?;
///     ws.send("hello").await
/// }
/// # let _ = hello::<laputa::tokio::Tokio>;
/// # }
/// ```
pub trait TcpRuntime:
    Runtime + ClientTransport + RuntimeIo<<Self as Runtime>::TcpStream> + RuntimeIo<<Self as ClientTransport>::ClientStream>
{
}

impl<R> TcpRuntime for R where
    R: Runtime
        + ClientTransport
        + RuntimeIo<<R as Runtime>::TcpStream>
        + RuntimeIo<<R as ClientTransport>::ClientStream>
{
}

/// Opens a client connection with the default [`Config`]: to a URL (`&str`, `String`,
/// [`http::Uri`]), for an [`http::Request<()>`], a [`ClientRequest`] or a
/// [`ClientBuilder`](crate::ClientBuilder) (proxy, credentials, cookies, redirects, TLS,
/// timeouts). Every decision is the core's connect flow ([`laputa_core::connect`]); this runs
/// it on `R`: TCP (the runtime resolves the name), TLS for `wss://` (feature `rustls`), the
/// proxy's tunnel, the upgrade, all within [`Config::handshake_timeout`].
///
/// A client and an echo server on loopback:
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use laputa::runtime::{self, Runtime};
/// use laputa::tokio::Tokio;
///
/// tokio::runtime::Runtime::new()?.block_on(async {
///     let listener = Tokio::bind("127.0.0.1:0").await?;
///     let url = format!("ws://{}/", Tokio::local_addr(&listener)?);
///     let server = Tokio::spawn(async move {
///         let (stream, _) = Tokio::accept(&listener).await?;
///         let mut ws = runtime::accept::<_, Tokio>(stream).await?;
///         let message = ws.recv().await?;
///         ws.send(message).await
///     });
///
///     let (mut ws, response) = runtime::connect::<Tokio>(&url).await?;
///     assert_eq!(response.status(), 101);
///     ws.send("BALUS").await?;
///     assert_eq!(ws.recv().await?.as_text(), Some("BALUS"));
///     server.await
/// })?;
/// # }
/// # Ok::<(), laputa::Error>(())
/// ```
pub async fn connect<R: TcpRuntime>(
    request: impl crate::IntoClientRequest,
) -> Result<(WebSocket<R::ClientStream, R>, http::Response<()>), Error> {
    // Boxed for the same reason as in `accept_with`.
    Box::pin(connect::run_connect::<R>(request.into_client_request()?)).await
}

/// [`connect`] with a [`Config`] (limits, timeouts, permessage-deflate).
/// [`Config::handshake_timeout`] bounds the whole connect: name resolution, TCP, the proxy,
/// TLS and the handshake together.
///
/// ```no_run
/// # #[cfg(feature = "tokio")]
/// # async fn run() -> Result<(), laputa::Error> {
/// use laputa::{runtime, tokio::Tokio, ClientRequest, Config};
/// use std::time::Duration;
///
/// let request = ClientRequest::new("ws://127.0.0.1:9001/chat")?.protocol("chat");
/// let mut config = Config::default();
/// config.handshake_timeout = Duration::from_secs(5);
/// let (ws, response) = runtime::connect_with::<Tokio>(request, config).await?;
/// # Ok(()) }
/// ```
pub async fn connect_with<R: TcpRuntime>(
    request: impl crate::IntoClientRequest,
    config: Config,
) -> Result<(WebSocket<R::ClientStream, R>, http::Response<()>), Error> {
    Box::pin(connect::run_connect::<R>(request.into_client_request()?.config(config))).await
}

/// Runs the client handshake over a stream the caller connected (a Unix socket, a TLS stream,
/// a proxy tunnel).
///
/// ```no_run
/// # #[cfg(feature = "tokio")]
/// # async fn run() -> Result<(), laputa::Error> {
/// use laputa::{runtime, tokio::Tokio, ClientRequest, Config};
///
/// let stream = tokio::net::UnixStream::connect("/run/app.sock").await?;
/// let request = ClientRequest::new("ws://localhost/")?;
/// let (ws, _response) = runtime::client::<_, Tokio>(stream, request, Config::default()).await?;
/// # Ok(()) }
/// ```
pub async fn client<S, R: RuntimeIo<S>>(
    stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<S, R>, http::Response<()>), Error> {
    let handshake = ClientHandshake::new(request, config, Instant::now())?;
    drive_client(Io::new(stream), handshake).await
}

async fn drive_client<S, R: RuntimeIo<S>>(
    io: Io<S, R>,
    handshake: ClientHandshake,
) -> Result<(WebSocket<S, R>, http::Response<()>), Error> {
    // Boxed for the same reason as in `accept_with`.
    Box::pin(async move {
        let (mut io, mut handshake) = (io, handshake);
        let (connection, response) = io.handshake(&mut handshake).await?;
        Ok((WebSocket::from_driver(Driver::new(io, connection)), response))
    })
    .await
}

/// Answers the opening handshake on a server with the default [`Config`], accepting any request.
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use laputa::{runtime, tokio::Tokio};
///
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// # let (client_end, stream) = tokio::io::duplex(64 * 1024);
/// # let client = tokio::spawn(async move {
/// #     let request = laputa::ClientRequest::new("ws://localhost/")?;
/// #     let (mut ws, _) = laputa::tokio::client(client_end, request, laputa::Config::default()).await?;
/// #     ws.send("hello").await?;
/// #     Ok::<_, laputa::Error>(ws)
/// # });
/// // A client on the other end of `stream` sends "hello".
/// let mut ws = runtime::accept::<_, Tokio>(stream).await?;
/// let message = ws.recv().await?;
/// assert_eq!(message.as_text(), Some("hello"));
/// # client.await.expect("the client task")?;
/// # Ok::<(), laputa::Error>(())
/// # })?;
/// # }
/// # Ok::<(), laputa::Error>(())
/// ```
pub async fn accept<S, R: RuntimeIo<S>>(stream: S) -> Result<WebSocket<S, R>, Error> {
    accept_with::<S, R, _>(stream, Config::default(), |_| Ok(Accept::default())).await
}

/// Answers the opening handshake, letting `decide` look at the request (path, query, Origin,
/// cookies, subprotocols) and accept it (choosing a subprotocol, adding headers) or reject it
/// with an HTTP response. A request that is not a valid upgrade gets the matching HTTP error.
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use laputa::{runtime, tokio::Tokio, Accept, Config, Reject};
///
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// # let (client_end, stream) = tokio::io::duplex(64 * 1024);
/// # let client = tokio::spawn(async move {
/// #     let request = laputa::ClientRequest::new("ws://localhost/")?.protocol("chat");
/// #     laputa::tokio::client(client_end, request, Config::default()).await
/// # });
/// // A client on the other end of `stream` offers the subprotocol "chat".
/// let ws = runtime::accept_with::<_, Tokio, _>(stream, Config::default(), |request| {
///     if !request.protocols().any(|protocol| protocol == "chat") {
///         return Err(Reject::new(http::StatusCode::BAD_REQUEST).body("this server speaks chat"));
///     }
///     Ok(Accept::new().protocol("chat"))
/// })
/// .await?;
/// # let (_client, response) = client.await.expect("the client task")?;
/// assert_eq!(response.headers()["sec-websocket-protocol"], "chat"); // the client's `response`
/// # Ok::<(), laputa::Error>(())
/// # })?;
/// # }
/// # Ok::<(), laputa::Error>(())
/// ```
pub async fn accept_with<S, R, F>(stream: S, config: Config, decide: F) -> Result<WebSocket<S, R>, Error>
where
    R: RuntimeIo<S>,
    F: FnOnce(&IncomingRequest) -> Result<Accept, Reject>,
{
    // The handshake's state (parser, buffers, timer) lives in a box while it runs: a future
    // is as large as its largest state, so a task that goes on to hold the connection for
    // hours would otherwise keep room for the handshake all that time.
    Box::pin(serve_handshake::<S, R, F>(stream, config, decide)).await
}

async fn serve_handshake<S, R, F>(stream: S, config: Config, decide: F) -> Result<WebSocket<S, R>, Error>
where
    R: RuntimeIo<S>,
    F: FnOnce(&IncomingRequest) -> Result<Accept, Reject>,
{
    let close_timeout = config.close_timeout;
    let mut handshake = ServerHandshake::new(config, Instant::now());
    let mut io = Io::<S, R>::new(stream);
    let request = match io.handshake(&mut handshake).await {
        Ok(request) => request,
        Err(error) => {
            if let Some(response) = error.handshake_error().and_then(HandshakeError::response_bytes) {
                io.write_and_shut(response, Instant::now().checked_add(close_timeout)).await;
            }
            return Err(error);
        }
    };
    // The core's one accept flow: the 101 and a connection, or the refusal to write (a 500
    // when the accept itself cannot be answered), within the close timeout.
    let decision = decide(&request);
    match request.answer(decision) {
        Answer::Upgrade { connection, .. } => {
            let mut ws = WebSocket::from_driver(Driver::new(io, connection));
            ws.flush().await?;
            Ok(ws)
        }
        Answer::Refuse { response, error } => {
            io.write_and_shut(response, Instant::now().checked_add(close_timeout)).await;
            Err(error.into())
        }
    }
}

/// A WebSocket connection over an async stream `S`, driven on runtime `R`.
///
/// It is a [`Stream`] of received messages (ending after a clean close; an unclean end is
/// yielded once as an error) and a [`Sink`] of messages (whose `poll_close` starts the close
/// handshake with 1000); the inherent methods do the same as `async fn`s. [`split`](Self::split)
/// gives halves for two tasks. See the [module docs](self) for cancellation safety and
/// backpressure.
///
/// ```no_run
/// # #[cfg(feature = "tokio")]
/// # async fn run() -> Result<(), laputa::Error> {
/// use laputa::Message;
///
/// let (mut ws, _response) = laputa::tokio::connect("ws://127.0.0.1:9001/").await?;
/// ws.send(Message::from("BALUS")).await?;
/// let reply = ws.recv().await?;
/// println!("{reply:?}");
/// ws.close().await?;
/// # Ok(()) }
/// ```
pub struct WebSocket<S, R: Runtime> {
    driver: Driver<S, R>,
}

impl<S, R: Runtime> std::fmt::Debug for WebSocket<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket").field("driver", &self.driver).finish()
    }
}

impl<S, R: RuntimeIo<S>> WebSocket<S, R> {
    /// Wraps a stream whose upgrade another HTTP stack already performed (see
    /// [`IncomingRequest::from_request`](laputa_core::handshake::IncomingRequest::from_request)),
    /// or any stream with a [`Connection`] made by hand.
    ///
    /// Two ends of an in-memory pipe, as if an HTTP stack had upgraded them:
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// use laputa::core::{Connection, Role};
    /// use laputa::{tokio::WebSocket, Config};
    ///
    /// tokio::runtime::Runtime::new()?.block_on(async {
    ///     let (a, b) = tokio::io::duplex(64 * 1024);
    ///     let mut client = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    ///     let mut server = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    ///     client.send("hello").await?;
    ///     assert_eq!(server.recv().await?.as_text(), Some("hello"));
    ///     Ok::<(), laputa::Error>(())
    /// })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn from_upgraded(stream: S, connection: Connection) -> Self {
        Self::from_driver(Driver::new(Io::new(stream), connection))
    }

    fn from_driver(driver: Driver<S, R>) -> Self {
        Self { driver }
    }

    /// The underlying stream.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let stream = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
    /// # let mut ws = laputa::tokio::WebSocket::from_upgraded(stream, Connection::new(Role::Client, laputa::Config::default()));
    /// // `ws` is connected to `listener`.
    /// println!("peer: {}", ws.get_ref().peer_addr()?);
    /// assert_eq!(ws.get_ref().peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.driver.io.stream
    }

    /// The underlying stream, to set options; do not read or write it directly.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let stream = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
    /// # let mut ws = laputa::tokio::WebSocket::from_upgraded(stream, Connection::new(Role::Client, laputa::Config::default()));
    /// ws.get_mut().set_ttl(100)?;
    /// assert_eq!(ws.get_ref().ttl()?, 100);
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.driver.io.stream
    }

    /// The protocol state machine, for what this type does not expose.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, DeflateParams, Rng, Role};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (stream, _peer) = tokio::io::duplex(64 * 1024);
    /// # let connection = Connection::with_deflate(Role::Client, laputa::Config::default(), Rng::os(), DeflateParams::default());
    /// # let ws = laputa::tokio::WebSocket::from_upgraded(stream, connection);
    /// // Both ends of `ws` agreed on permessage-deflate.
    /// if ws.connection().is_compressed() {
    ///     println!("permessage-deflate is on");
    /// }
    /// assert!(ws.connection().is_compressed());
    /// assert_eq!(ws.connection().role(), Role::Client);
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn connection(&self) -> &Connection {
        &self.driver.connection
    }

    /// How the connection ended, once it has.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let closing = tokio::spawn(async move { peer.close_with(laputa::CloseCode::NORMAL, "done").await });
    /// use laputa::CloseCode;
    ///
    /// // `peer` closes the connection with 1000 "done".
    /// assert!(ws.closed().is_none());
    /// while let Ok(message) = ws.recv().await {
    ///     println!("{message:?}");
    /// }
    /// let closed = ws.closed().expect("the connection is over");
    /// println!("closed with {} {:?}, clean: {}", closed.code, closed.reason, closed.clean);
    /// assert_eq!((closed.code, closed.reason.as_str(), closed.clean), (CloseCode::NORMAL, "done", true));
    /// # closing.await.expect("the peer task")?;
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn closed(&self) -> Option<&Closed> {
        self.driver.closed.as_ref()
    }

    /// Sets how many bytes may wait to be written before sending waits
    /// ([`DEFAULT_HIGH_WATER_MARK`](crate::DEFAULT_HIGH_WATER_MARK) by default).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// use futures::FutureExt; // `now_or_never`: polls a future once
    ///
    /// // `peer` reads nothing for now, and the pipe to it holds 1 KiB.
    /// ws.set_high_water_mark(16 * 1024);
    /// ws.feed(vec![0u8; 20 * 1024]).await?; // queued: less than the mark was waiting
    /// assert!(ws.send("more").now_or_never().is_none(), "more than the mark waits: `send` waits");
    /// // Once `peer` reads, the waiting ends.
    /// let (sent, received) = tokio::join!(ws.send("more"), peer.recv());
    /// sent?;
    /// assert_eq!(received?.payload().len(), 20 * 1024);
    /// assert_eq!(peer.recv().await?.as_text(), Some("more"));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn set_high_water_mark(&mut self, bytes: usize) {
        self.driver.high_water = bytes;
    }

    /// The high-water mark of [`set_high_water_mark`](Self::set_high_water_mark).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # let (stream, _peer) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = laputa::tokio::WebSocket::from_upgraded(stream, Connection::new(Role::Client, laputa::Config::default()));
    /// assert_eq!(ws.high_water_mark(), laputa::DEFAULT_HIGH_WATER_MARK);
    /// ws.set_high_water_mark(16 * 1024);
    /// assert_eq!(ws.high_water_mark(), 16 * 1024);
    /// # }
    /// ```
    pub fn high_water_mark(&self) -> usize {
        self.driver.high_water
    }

    /// Bytes queued and not yet written to the socket (the WebSocket API's `bufferedAmount`).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// ws.feed("hello").await?;
    /// println!("{} bytes not yet written", ws.buffered_amount());
    /// assert_eq!(ws.buffered_amount(), 2 + 4 + 5, "a masked frame with 5 bytes of text");
    /// ws.flush().await?;
    /// assert_eq!(ws.buffered_amount(), 0);
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn buffered_amount(&self) -> usize {
        self.driver.buffered()
    }

    /// Waits for the next message (answering pings and honouring the deadlines meanwhile).
    /// When the connection ends, returns [`Error::Closed`] once the TCP teardown is done.
    /// Cancellation safe.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let sending = tokio::spawn(async move {
    /// #     peer.send("Hello").await?;
    /// #     peer.close().await
    /// # });
    /// // `peer` sends "Hello", then closes.
    /// let mut texts = Vec::new();
    /// loop {
    ///     match ws.recv().await {
    ///         Ok(message) => texts.push(message.as_text().unwrap_or("<binary>").to_owned()),
    ///         Err(laputa::Error::Closed(closed)) => {
    ///             println!("closed: {}", closed.code);
    ///             break;
    ///         }
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// assert_eq!(texts, ["Hello"]);
    /// # sending.await.expect("the peer task")?;
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn recv(&mut self) -> Result<Message, Error> {
        recv(self).await
    }

    /// Waits for the next event of any kind: messages, pings (with `Config::emit_pings`),
    /// pongs, and the close handshake. Cancellation safe.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # peer.send("Hello").await?;
    /// use laputa::{Event, Message};
    ///
    /// // `peer` sent "Hello".
    /// let event = ws.recv_event().await?;
    /// match &event {
    ///     Event::Message(message) => println!("message: {message:?}"),
    ///     Event::Pong(payload) => println!("pong: {payload:?}"),
    ///     other => println!("{other:?}"),
    /// }
    /// assert_eq!(event, Event::Message(Message::from("Hello")));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn recv_event(&mut self) -> Result<Event, Error> {
        poll_fn(|cx| self.driver.poll_event(cx)).await
    }

    /// The blocking adapter's name for [`recv`](Self::recv).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # peer.send("Hello").await?;
    /// // `peer` sent "Hello".
    /// let message = ws.read().await?;
    /// assert_eq!(message.as_text(), Some("Hello"));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn read(&mut self) -> Result<Message, Error> {
        recv(self).await
    }

    /// The blocking adapter's name for [`recv_event`](Self::recv_event).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # peer.send("Hello").await?;
    /// use laputa::{Event, Message};
    ///
    /// // `peer` sent "Hello".
    /// let event = ws.read_event().await?;
    /// assert_eq!(event, Event::Message(Message::from("Hello")));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn read_event(&mut self) -> Result<Event, Error> {
        self.recv_event().await
    }

    /// Sends a whole message: waits below the high-water mark, queues it, and writes it out.
    ///
    /// `peer` is the other end of the connection:
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// ws.send("hello").await?; // text
    /// ws.send(vec![1, 2, 3]).await?; // binary
    /// assert_eq!(peer.recv().await?, laputa::Message::from("hello"));
    /// assert_eq!(peer.recv().await?, laputa::Message::from(vec![1, 2, 3]));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        send(self, message.into()).await
    }

    /// Queues a message once below the high-water mark, without writing it: it goes out with
    /// everything else queued at the next call that writes ([`recv`](Self::recv) before it
    /// waits, [`flush`](Self::flush), [`send`](Self::send)). An echo loop of `recv` and `feed`
    /// thus answers all messages of one read with one write.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let peer = tokio::spawn(async move {
    /// #     for text in ["one", "two", "three"] {
    /// #         peer.feed(text).await?;
    /// #     }
    /// #     peer.flush().await?;
    /// #     let mut echoes = Vec::new();
    /// #     for _ in 0..3 {
    /// #         echoes.push(peer.recv().await?.as_text().unwrap_or_default().to_owned());
    /// #     }
    /// #     peer.close().await?;
    /// #     Ok::<_, laputa::Error>(echoes)
    /// # });
    /// // `peer` sends "one", "two" and "three", reads the echoes, then closes.
    /// // An echo server: the echoes of one read go out together, in one write.
    /// while let Ok(message) = ws.recv().await {
    ///     ws.feed(message).await?;
    /// }
    /// # let echoes = peer.await.expect("the peer task")?;
    /// assert_eq!(echoes, ["one", "two", "three"]); // what `peer` received
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        feed(self, message.into()).await
    }

    /// Sends one fragment of a message (stream a large message without holding it whole);
    /// `is_final` ends the message.
    ///
    /// `peer` is the other end of the connection:
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// use laputa::MessageKind;
    ///
    /// ws.send_fragment(MessageKind::Binary, b"first part, ", false).await?;
    /// ws.send_fragment(MessageKind::Binary, b"last part", true).await?;
    /// assert_eq!(peer.recv().await?.payload(), b"first part, last part"); // one message
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn send_fragment(&mut self, kind: MessageKind, data: &[u8], is_final: bool) -> Result<(), Error> {
        send_fragment(self, kind, data, is_final).await
    }

    /// Sends a ping (at most 125 bytes); the pong arrives as an event in
    /// [`recv_event`](Self::recv_event).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let peer = tokio::spawn(async move { while peer.recv().await.is_ok() {} });
    /// use laputa::Event;
    ///
    /// // The peer's core answers pings while it receives.
    /// ws.ping(b"are you there?").await?;
    /// let pong = loop {
    ///     if let Event::Pong(payload) = ws.recv_event().await? {
    ///         println!("pong: {payload:?}");
    ///         break payload;
    ///     }
    /// };
    /// assert_eq!(pong, "are you there?"); // a pong carries its ping's payload
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        ping(self, payload).await
    }

    /// Writes everything queued.
    ///
    /// `peer` is the other end of the connection:
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// ws.feed("one").await?;
    /// ws.feed("two").await?;
    /// assert!(ws.buffered_amount() > 0, "queued, not written yet");
    /// ws.flush().await?; // both go out in one write
    /// assert_eq!(ws.buffered_amount(), 0);
    /// assert_eq!(peer.recv().await?.as_text(), Some("one"));
    /// assert_eq!(peer.recv().await?.as_text(), Some("two"));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.driver.poll_flush(cx)).await
    }

    /// Runs the close handshake with 1000 (normal closure) and no reason, and waits as
    /// [`close_with`](Self::close_with) does. Being inherent, it is what `ws.close()` calls
    /// whether `futures::SinkExt` is in scope or not.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::core::{Connection, Role};
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut client = laputa::tokio::WebSocket::from_upgraded(a, Connection::new(Role::Client, laputa::Config::default()));
    /// # let mut server = laputa::tokio::WebSocket::from_upgraded(b, Connection::new(Role::Server, laputa::Config::default()));
    ///     use futures::SinkExt; // in scope or not, `close()` is this method
    ///
    ///     let (closing, received) = tokio::join!(client.close(), server.recv());
    ///     closing?;
    ///     assert_eq!(client.closed().map(|closed| closed.clean), Some(true));
    ///     let Err(laputa::Error::Closed(closed)) = received else { panic!("not closed: {received:?}") };
    ///     assert_eq!((closed.code, closed.reason.as_str()), (laputa::CloseCode::NORMAL, ""));
    ///     Ok::<(), laputa::Error>(())
    /// })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn close(&mut self) -> Result<(), Error> {
        self.close_with(CloseCode::NORMAL, "").await
    }

    /// Runs the close handshake: sends a close frame (see `Connection::close` for valid codes),
    /// discards messages that still arrive, and returns once the peer answered and the TCP
    /// connection is torn down, or the close timeout passed (also when the peer stopped
    /// reading and the close frame cannot get out).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// use laputa::CloseCode;
    ///
    /// tokio::runtime::Runtime::new()?.block_on(async {
    /// # use laputa::core::{Connection, Role};
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut client = laputa::tokio::WebSocket::from_upgraded(a, Connection::new(Role::Client, laputa::Config::default()));
    /// # let mut server = laputa::tokio::WebSocket::from_upgraded(b, Connection::new(Role::Server, laputa::Config::default()));
    ///     // The server keeps receiving while the client closes.
    ///     let (closing, received) = tokio::join!(client.close_with(CloseCode::NORMAL, "bye"), server.recv());
    ///     closing?;
    ///     assert_eq!(client.closed().map(|closed| closed.clean), Some(true));
    ///     let Err(laputa::Error::Closed(closed)) = received else { panic!("not closed: {received:?}") };
    ///     assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::NORMAL, "bye"));
    ///     Ok::<(), laputa::Error>(())
    /// })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn close_with(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.driver.connection.close(code, reason)?;
        loop {
            match self.recv_event().await {
                Ok(_) => {}
                Err(Error::Closed(_)) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Starts the close handshake without waiting: the close frame goes out as far as the
    /// socket takes it now, the rest while receiving; keep calling [`recv`](Self::recv) to
    /// receive what the peer sent before its close frame, until it returns [`Error::Closed`].
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # peer.send("late").await?;
    /// # let peer = tokio::spawn(async move { while peer.recv().await.is_ok() {} });
    /// use laputa::{CloseCode, Message};
    ///
    /// // `peer` sent "late" before our close frame reached it.
    /// ws.send_close(CloseCode::GOING_AWAY, "shutting down").await?;
    /// let mut received = Vec::new();
    /// loop {
    ///     match ws.recv().await {
    ///         Ok(message) => received.push(message), // sent before the close
    ///         Err(e) if e.is_closed() => break,
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// assert_eq!(received, [Message::from("late")]);
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn send_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        send_close(self, code, reason).await
    }

    /// Splits the connection into a receiving and a sending half, usable from two tasks at
    /// once. The receiving half drives the timers and answers pings, so keep it polled.
    ///
    /// ```no_run
    /// # #[cfg(feature = "tokio")]
    /// # async fn run(ws: laputa::tokio::WebSocket) -> Result<(), laputa::Error> {
    /// let (mut reader, mut writer) = ws.split();
    /// tokio::spawn(async move {
    ///     while let Ok(message) = reader.recv().await {
    ///         println!("{message:?}");
    ///     }
    /// });
    /// writer.send(laputa::Message::from("hello")).await?;
    /// # Ok(()) }
    /// ```
    pub fn split(self) -> (ReadHalf<S, R>, WriteHalf<S, R>) {
        let shared = Arc::new(Mutex::new(self.driver));
        (ReadHalf { shared: shared.clone() }, WriteHalf { shared })
    }
}

impl<S: Unpin, R: RuntimeIo<S>> Stream for WebSocket<S, R> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().driver.poll_next_message(cx)
    }
}

impl<S: Unpin, R: RuntimeIo<S>> Sink<Message> for WebSocket<S, R> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().driver.poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        Ok(self.get_mut().driver.connection.send(message)?)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().driver.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().driver.poll_close_sink(cx)
    }
}

/// The receiving half of a split [`WebSocket`]: messages and events. It also writes what
/// receiving makes the core send (pongs, the close echo) and drives the connection's timer.
///
/// It is also a `Stream` of messages:
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// # use laputa::core::{Connection, Role};
/// # use laputa::{tokio::WebSocket, Config};
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// # let (a, b) = tokio::io::duplex(64 * 1024);
/// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
/// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
/// # let sending = tokio::spawn(async move {
/// #     peer.send("one").await?;
/// #     peer.send("two").await?;
/// #     peer.close().await
/// # });
/// use futures::StreamExt;
/// use laputa::Message;
///
/// // `peer` sends "one" and "two", then closes: the stream ends.
/// let (mut reader, _writer) = ws.split();
/// let mut received = Vec::new();
/// while let Some(message) = reader.next().await {
///     received.push(message?);
/// }
/// assert_eq!(received, [Message::from("one"), Message::from("two")]);
/// # sending.await.expect("the peer task")?;
/// # Ok::<(), laputa::Error>(())
/// # })?;
/// # }
/// # Ok::<(), laputa::Error>(())
/// ```
pub struct ReadHalf<S, R: Runtime> {
    shared: Arc<Mutex<Driver<S, R>>>,
}

/// The sending half of a split [`WebSocket`].
///
/// It is also a `Sink` of messages:
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// # use laputa::core::{Connection, Role};
/// # use laputa::{tokio::WebSocket, Config};
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// # let (a, b) = tokio::io::duplex(64 * 1024);
/// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
/// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
/// # let echo = tokio::spawn(async move {
/// #     while let Ok(message) = peer.recv().await {
/// #         peer.send(message).await?;
/// #     }
/// #     Ok::<(), laputa::Error>(())
/// # });
/// use futures::{stream, StreamExt};
/// use laputa::Message;
///
/// // `peer` echoes what it receives. `forward` closes the sink at the end (a close frame, 1000).
/// let (mut reader, writer) = ws.split();
/// tokio::spawn(stream::iter(["one", "two", "three"]).map(|text| Ok(Message::from(text))).forward(writer));
/// let mut echoes = Vec::new();
/// while let Ok(message) = reader.recv().await {
///     echoes.push(message);
/// }
/// assert_eq!(echoes, [Message::from("one"), Message::from("two"), Message::from("three")]);
/// # echo.await.expect("the peer task")?;
/// # Ok::<(), laputa::Error>(())
/// # })?;
/// # }
/// # Ok::<(), laputa::Error>(())
/// ```
pub struct WriteHalf<S, R: Runtime> {
    shared: Arc<Mutex<Driver<S, R>>>,
}

fn lock<S, R: Runtime>(shared: &Mutex<Driver<S, R>>) -> MutexGuard<'_, Driver<S, R>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S, R: Runtime> std::fmt::Debug for ReadHalf<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadHalf").finish_non_exhaustive()
    }
}

impl<S, R: Runtime> std::fmt::Debug for WriteHalf<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteHalf").finish_non_exhaustive()
    }
}

impl<S, R: RuntimeIo<S>> ReadHalf<S, R> {
    /// Waits for the next message; see [`WebSocket::recv`]. Cancellation safe.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # peer.send("Hello").await?;
    /// # let (mut reader, _writer) = ws.split();
    /// // `peer` sent "Hello".
    /// let message = reader.recv().await?;
    /// assert_eq!(message.as_text(), Some("Hello"));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn recv(&mut self) -> Result<Message, Error> {
        recv(&mut Locked(&self.shared)).await
    }

    /// Waits for the next event; see [`WebSocket::recv_event`]. Cancellation safe.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let peer = tokio::spawn(async move { while peer.recv().await.is_ok() {} });
    /// # let (mut reader, mut writer) = ws.split();
    /// # writer.ping(b"hi").await?;
    /// // `writer` sent a ping with "hi", which `peer` answers.
    /// let event = reader.recv_event().await?;
    /// if let laputa::Event::Pong(payload) = &event {
    ///     println!("pong: {payload:?}");
    /// }
    /// assert_eq!(event, laputa::Event::Pong("hi".into()));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn recv_event(&mut self) -> Result<Event, Error> {
        poll_fn(|cx| lock(&self.shared).poll_event(cx)).await
    }

    /// How the connection ended, once it has.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let closing = tokio::spawn(async move { peer.close_with(laputa::CloseCode::NORMAL, "done").await });
    /// # let (mut reader, _writer) = ws.split();
    /// use laputa::CloseCode;
    ///
    /// // `peer` closes the connection with 1000 "done".
    /// assert!(reader.closed().is_none());
    /// while let Ok(message) = reader.recv().await {
    ///     println!("{message:?}");
    /// }
    /// let closed = reader.closed().expect("the connection is over");
    /// println!("closed with {} {:?}, clean: {}", closed.code, closed.reason, closed.clean);
    /// assert_eq!((closed.code, closed.reason.as_str(), closed.clean), (CloseCode::NORMAL, "done", true));
    /// # closing.await.expect("the peer task")?;
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn closed(&self) -> Option<Closed> {
        lock(&self.shared).closed.clone()
    }

    /// Whether `other` is the sending half of the same connection.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let client = laputa::tokio::WebSocket::from_upgraded(a, Connection::new(Role::Client, laputa::Config::default()));
    /// # let server = laputa::tokio::WebSocket::from_upgraded(b, Connection::new(Role::Server, laputa::Config::default()));
    /// let (reader, writer) = client.split();
    /// let (_, other_writer) = server.split();
    /// assert!(reader.is_pair_of(&writer));
    /// assert!(!reader.is_pair_of(&other_writer));
    /// # }
    /// ```
    pub fn is_pair_of(&self, other: &WriteHalf<S, R>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Puts the halves back together; gives them back if they are not a pair.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let client = laputa::tokio::WebSocket::from_upgraded(a, Connection::new(Role::Client, laputa::Config::default()));
    /// # let server = laputa::tokio::WebSocket::from_upgraded(b, Connection::new(Role::Server, laputa::Config::default()));
    /// let (reader, writer) = client.split();
    /// let (other_reader, other_writer) = server.split();
    /// // Halves of different connections are given back.
    /// let (reader, other_writer) = reader.reunite(other_writer).unwrap_err();
    /// assert!(reader.is_pair_of(&writer) && other_reader.is_pair_of(&other_writer));
    /// let client = reader.reunite(writer).expect("a pair");
    /// let server = other_reader.reunite(other_writer).expect("a pair");
    /// assert_eq!((client.connection().role(), server.connection().role()), (Role::Client, Role::Server));
    /// # }
    /// ```
    pub fn reunite(self, other: WriteHalf<S, R>) -> Result<WebSocket<S, R>, (Self, WriteHalf<S, R>)> {
        if !self.is_pair_of(&other) {
            return Err((self, other));
        }
        drop(other);
        match Arc::try_unwrap(self.shared) {
            Ok(mutex) => Ok(WebSocket::from_driver(mutex.into_inner().unwrap_or_else(PoisonError::into_inner))),
            Err(_) => unreachable!("a pair holds the only two references"),
        }
    }
}

impl<S, R: RuntimeIo<S>> Stream for ReadHalf<S, R> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        lock(&self.shared).poll_next_message(cx)
    }
}

/// The halves' access to the shared driver: locked for the span of each poll.
struct Locked<'a, S, R: Runtime>(&'a Mutex<Driver<S, R>>);

impl<S, R: RuntimeIo<S>> WriteHalf<S, R> {
    /// Sends a whole message; see [`WebSocket::send`].
    ///
    /// `peer` is the other end of the connection:
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let (mut reader, mut writer) = ws.split();
    /// writer.send("hello").await?;
    /// assert_eq!(peer.recv().await?.as_text(), Some("hello"));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        send(&mut Locked(&self.shared), message.into()).await
    }

    /// Queues a message without waiting for it to be written; see [`WebSocket::feed`].
    ///
    /// `peer` is the other end of the connection:
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let (mut reader, mut writer) = ws.split();
    /// writer.feed("one").await?;
    /// writer.feed("two").await?;
    /// assert!(writer.buffered_amount() > 0, "queued, not written yet");
    /// writer.flush().await?; // both go out in one write
    /// assert_eq!(peer.recv().await?.as_text(), Some("one"));
    /// assert_eq!(peer.recv().await?.as_text(), Some("two"));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        feed(&mut Locked(&self.shared), message.into()).await
    }

    /// Sends one fragment of a message; see [`WebSocket::send_fragment`].
    ///
    /// `peer` is the other end of the connection:
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let (mut reader, mut writer) = ws.split();
    /// use laputa::MessageKind;
    ///
    /// writer.send_fragment(MessageKind::Text, b"Hello, ", false).await?;
    /// writer.send_fragment(MessageKind::Text, b"world", true).await?;
    /// assert_eq!(peer.recv().await?.as_text(), Some("Hello, world")); // one message
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn send_fragment(&mut self, kind: MessageKind, data: &[u8], is_final: bool) -> Result<(), Error> {
        send_fragment(&mut Locked(&self.shared), kind, data, is_final).await
    }

    /// Sends a ping; the pong arrives on the [`ReadHalf`].
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let peer = tokio::spawn(async move { while peer.recv().await.is_ok() {} });
    /// # let (mut reader, mut writer) = ws.split();
    /// use laputa::Event;
    ///
    /// // The peer's core answers pings while it receives.
    /// writer.ping(b"").await?; // the pong arrives as `Event::Pong` on the reader
    /// assert_eq!(reader.recv_event().await?, Event::Pong(Default::default()));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        ping(&mut Locked(&self.shared), payload).await
    }

    /// Writes everything queued.
    ///
    /// `peer` is the other end of the connection:
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let (mut reader, mut writer) = ws.split();
    /// writer.feed("hello").await?;
    /// assert!(writer.buffered_amount() > 0, "queued, not written yet");
    /// writer.flush().await?;
    /// assert_eq!(writer.buffered_amount(), 0);
    /// assert_eq!(peer.recv().await?.as_text(), Some("hello"));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| lock(&self.shared).poll_flush(cx)).await
    }

    /// Sends a close frame and writes it; the [`ReadHalf`] receives what the peer sent before
    /// its answer, then [`Error::Closed`] once the close handshake is over.
    ///
    /// Writing gives up once the connection is finished: when the peer does not read, the
    /// [`ReadHalf`] ends it at the close timeout.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # peer.send("late").await?;
    /// # let peer = tokio::spawn(async move { while peer.recv().await.is_ok() {} });
    /// use laputa::{CloseCode, Message};
    ///
    /// // `peer` sent "late" before our close frame reached it.
    /// let (mut reader, mut writer) = ws.split();
    /// writer.close_with(CloseCode::NORMAL, "done").await?;
    /// let mut received = Vec::new();
    /// while let Ok(message) = reader.recv().await {
    ///     received.push(message); // sent before the close
    /// }
    /// assert_eq!(received, [Message::from("late")]);
    /// assert!(reader.closed().is_some_and(|closed| closed.clean));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn close_with(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let mut access = Locked(&self.shared);
        access.with(|driver| driver.connection.close(code, reason))?;
        flush(&mut access).await
    }

    /// Sends a close frame with 1000 (normal closure) and no reason, as
    /// [`close_with`](Self::close_with) does. Being inherent, it is what `writer.close()` calls
    /// whether `futures::SinkExt` is in scope or not.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let peer = tokio::spawn(async move { peer.recv().await });
    /// let (mut reader, mut writer) = ws.split();
    /// writer.close().await?;
    /// while reader.recv().await.is_ok() {}
    /// assert!(reader.closed().is_some_and(|closed| closed.clean));
    /// # let Err(laputa::Error::Closed(closed)) = peer.await.unwrap() else { panic!("not closed") };
    /// # assert_eq!(closed.code, laputa::CloseCode::NORMAL);
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn close(&mut self) -> Result<(), Error> {
        self.close_with(CloseCode::NORMAL, "").await
    }

    /// Sets how many bytes may wait to be written before sending waits
    /// ([`DEFAULT_HIGH_WATER_MARK`](crate::DEFAULT_HIGH_WATER_MARK) by default).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let (mut reader, mut writer) = ws.split();
    /// use futures::FutureExt; // `now_or_never`: polls a future once
    ///
    /// // `peer` reads nothing for now, and the pipe to it holds 1 KiB.
    /// writer.set_high_water_mark(16 * 1024);
    /// writer.feed(vec![0u8; 20 * 1024]).await?; // queued: less than the mark was waiting
    /// assert!(writer.send("more").now_or_never().is_none(), "more than the mark waits: `send` waits");
    /// // Once `peer` reads, the waiting ends.
    /// let (sent, received) = tokio::join!(writer.send("more"), peer.recv());
    /// sent?;
    /// assert_eq!(received?.payload().len(), 20 * 1024);
    /// assert_eq!(peer.recv().await?.as_text(), Some("more"));
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn set_high_water_mark(&mut self, bytes: usize) {
        lock(&self.shared).high_water = bytes;
    }

    /// Bytes queued and not yet written to the socket.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// # use laputa::core::{Connection, Role};
    /// # use laputa::{tokio::WebSocket, Config};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// # let (a, b) = tokio::io::duplex(64 * 1024);
    /// # let mut ws = WebSocket::from_upgraded(a, Connection::new(Role::Client, Config::default()));
    /// # let mut peer = WebSocket::from_upgraded(b, Connection::new(Role::Server, Config::default()));
    /// # let (mut reader, mut writer) = ws.split();
    /// writer.feed("hello").await?;
    /// println!("{} bytes not yet written", writer.buffered_amount());
    /// assert_eq!(writer.buffered_amount(), 2 + 4 + 5, "a masked frame with 5 bytes of text");
    /// writer.flush().await?;
    /// assert_eq!(writer.buffered_amount(), 0);
    /// # Ok::<(), laputa::Error>(())
    /// # })?;
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn buffered_amount(&self) -> usize {
        lock(&self.shared).buffered()
    }
}

impl<S, R: RuntimeIo<S>> Sink<Message> for WriteHalf<S, R> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        Ok(lock(&self.shared).connection.send(message)?)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared).poll_close_sink(cx)
    }
}

// ---- the commands, written once for a whole connection and for the halves ----

/// Runs `f` on the driver: directly, or under the halves' lock for the span of one call.
trait Command<S, R: Runtime> {
    fn with<T>(&mut self, f: impl FnOnce(&mut Driver<S, R>) -> T) -> T;
}

impl<S, R: Runtime> Command<S, R> for WebSocket<S, R> {
    fn with<T>(&mut self, f: impl FnOnce(&mut Driver<S, R>) -> T) -> T {
        f(&mut self.driver)
    }
}

impl<S, R: Runtime> Command<S, R> for Locked<'_, S, R> {
    fn with<T>(&mut self, f: impl FnOnce(&mut Driver<S, R>) -> T) -> T {
        f(&mut lock(self.0))
    }
}

async fn recv<S, R: RuntimeIo<S>>(access: &mut impl Command<S, R>) -> Result<Message, Error> {
    poll_fn(|cx| {
        access.with(|driver| loop {
            match std::task::ready!(driver.poll_event(cx)) {
                Ok(Event::Message(message)) => return Poll::Ready(Ok(message)),
                Ok(_) => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        })
    })
    .await
}

async fn ready<S, R: RuntimeIo<S>>(access: &mut impl Command<S, R>) -> Result<(), Error> {
    poll_fn(|cx| access.with(|driver| driver.poll_ready(cx))).await
}

async fn flush<S, R: RuntimeIo<S>>(access: &mut impl Command<S, R>) -> Result<(), Error> {
    poll_fn(|cx| access.with(|driver| driver.poll_flush(cx))).await
}

/// Queues a frame once below the high-water mark and writes everything queued.
async fn queue_and_flush<S, R: RuntimeIo<S>>(
    access: &mut impl Command<S, R>,
    command: impl FnOnce(&mut Connection) -> Result<(), laputa_core::Error>,
) -> Result<(), Error> {
    ready(access).await?;
    access.with(|driver| command(&mut driver.connection))?;
    flush(access).await
}

/// Writes what the socket takes now, without waiting for the rest.
async fn write_now<S, R: RuntimeIo<S>>(access: &mut impl Command<S, R>) -> Result<(), Error> {
    poll_fn(|cx| {
        access.with(|driver| match driver.poll_flush(cx) {
            Poll::Pending => Poll::Ready(Ok(())),
            other => other,
        })
    })
    .await
}

async fn send<S, R: RuntimeIo<S>>(access: &mut impl Command<S, R>, message: Message) -> Result<(), Error> {
    queue_and_flush(access, |connection| connection.send(message)).await
}

/// Queues without writing: everything fed while handling one read goes out in one write when the
/// next call writes (`recv` before it waits, `flush`, `send`), as uWebSockets' corking does.
async fn feed<S, R: RuntimeIo<S>>(access: &mut impl Command<S, R>, message: Message) -> Result<(), Error> {
    ready(access).await?;
    Ok(access.with(|driver| driver.connection.send(message))?)
}

async fn send_fragment<S, R: RuntimeIo<S>>(
    access: &mut impl Command<S, R>,
    kind: MessageKind,
    data: &[u8],
    is_final: bool,
) -> Result<(), Error> {
    queue_and_flush(access, |connection| connection.send_fragment(kind, data, is_final)).await
}

async fn ping<S, R: RuntimeIo<S>>(access: &mut impl Command<S, R>, payload: &[u8]) -> Result<(), Error> {
    access.with(|driver| driver.connection.ping(payload))?;
    flush(access).await
}

async fn send_close<S, R: RuntimeIo<S>>(
    access: &mut impl Command<S, R>,
    code: CloseCode,
    reason: &str,
) -> Result<(), Error> {
    access.with(|driver| driver.connection.close(code, reason))?;
    write_now(access).await
}
