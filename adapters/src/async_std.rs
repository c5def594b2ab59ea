//! WebSockets on async-std (feature `async-std`): the [generic driver](crate::runtime) over
//! the `futures-io` traits, `async-io`'s timer and `async_std::net`.
//!
//! **async-std is discontinued upstream**; this module stays because users asked for it, and
//! it shares all its code with [`smol`](crate::smol) (the maintained choice on the same
//! `futures-io` traits), so moving there is a change of module path.
//!
//! ```no_run
//! async_std::task::block_on(async {
//!     let listener = async_std::net::TcpListener::bind("127.0.0.1:9001").await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         async_std::task::spawn(async move {
//!             let mut ws = laputa::async_std::accept(stream).await?;
//!             loop {
//!                 let message = ws.recv().await?;
//!                 ws.send(message).await?; // echo
//!             }
//!             #[allow(unreachable_code)]
//!             Ok::<(), laputa::Error>(())
//!         });
//!     }
//!     #[allow(unreachable_code)]
//!     Ok::<(), laputa::Error>(())
//! })?;
//! # Ok::<(), laputa::Error>(())
//! ```

use crate::runtime::{self, futures_io::impl_futures_io, Runtime};
use crate::Error;
use futures_io::{AsyncRead, AsyncWrite};
use laputa_core::handshake::{Accept, ClientRequest, IncomingRequest, Reject};
use laputa_core::Config;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

pub use async_std::net::TcpStream;

/// The async-std [`Runtime`]: tasks on async-std's executor, timers on `async-io` (which
/// async-std runs on).
///
/// It is the `R` of code generic over the runtime, such as the functions of
/// [`laputa::runtime`](crate::runtime):
///
/// ```no_run
/// use laputa::runtime::{self, TcpRuntime};
///
/// async fn hello<R: TcpRuntime>(url: &str) -> Result<(), laputa::Error> {
///     let (mut ws, _response) = runtime::connect::<R>(url).await?;
///     ws.send("hello").await
/// }
///
/// async_std::task::block_on(hello::<laputa::async_std::AsyncStd>("ws://127.0.0.1:9001/"))?;
/// # Ok::<(), laputa::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncStd;

/// A WebSocket over a `futures-io` stream (by default async-std's [`TcpStream`]).
///
/// ```
/// use laputa::async_std::WebSocket;
///
/// // Answers one message with its echo.
/// async fn echo_once(ws: &mut WebSocket) -> Result<(), laputa::Error> {
///     let message = ws.recv().await?;
///     ws.send(message).await
/// }
///
/// async_std::task::block_on(async {
/// # use laputa::{core::Connection, Config, Role};
/// # let listener = async_std::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let stream = async_std::net::TcpStream::connect(listener.local_addr()?).await?;
/// # let mut client = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
/// # let mut server = WebSocket::from_upgraded(listener.accept().await?.0, Connection::new(Role::Server, Config::default()));
///     // `client` and `server` are the two ends of a connection over TCP.
///     client.send("BALUS").await?;
///     echo_once(&mut server).await?;
///     assert_eq!(client.recv().await?.as_text(), Some("BALUS"));
///     Ok::<(), laputa::Error>(())
/// })?;
/// # Ok::<(), laputa::Error>(())
/// ```
pub type WebSocket<S = TcpStream> = runtime::WebSocket<S, AsyncStd>;
/// The receiving half of a split [`WebSocket`].
///
/// ```
/// use laputa::async_std::ReadHalf;
///
/// // A reading task: the texts that arrive until the connection ends.
/// async fn texts(mut reader: ReadHalf) -> Vec<String> {
///     let mut texts = Vec::new();
///     while let Ok(message) = reader.recv().await {
///         texts.extend(message.as_text().map(String::from));
///     }
///     texts
/// }
///
/// async_std::task::block_on(async {
/// # use laputa::{core::Connection, async_std::WebSocket, Config, Role};
/// # let listener = async_std::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let stream = async_std::net::TcpStream::connect(listener.local_addr()?).await?;
/// # let mut client = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
/// # let mut server = WebSocket::from_upgraded(listener.accept().await?.0, Connection::new(Role::Server, Config::default()));
///     // `client` and `server` are the two ends of a connection over TCP.
///     let (reader, _writer) = server.split();
///     let reading = async_std::task::spawn(texts(reader));
///     client.send("one").await?;
///     client.send("two").await?;
///     client.close().await?;
///     assert_eq!(reading.await, ["one", "two"]);
///     Ok::<(), laputa::Error>(())
/// })?;
/// # Ok::<(), laputa::Error>(())
/// ```
pub type ReadHalf<S = TcpStream> = runtime::ReadHalf<S, AsyncStd>;
/// The sending half of a split [`WebSocket`].
///
/// ```
/// use laputa::async_std::WriteHalf;
///
/// // The sending side: a countdown.
/// async fn countdown(writer: &mut WriteHalf, from: u32) -> Result<(), laputa::Error> {
///     for n in (1..=from).rev() {
///         writer.send(n.to_string()).await?;
///     }
///     Ok(())
/// }
///
/// async_std::task::block_on(async {
/// # use laputa::{core::Connection, async_std::WebSocket, Config, Role};
/// # let listener = async_std::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let stream = async_std::net::TcpStream::connect(listener.local_addr()?).await?;
/// # let mut client = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
/// # let mut server = WebSocket::from_upgraded(listener.accept().await?.0, Connection::new(Role::Server, Config::default()));
///     // `client` and `server` are the two ends of a connection over TCP.
///     let (_reader, mut writer) = client.split();
///     countdown(&mut writer, 3).await?;
///     for expected in ["3", "2", "1"] {
///         assert_eq!(server.recv().await?.as_text(), Some(expected));
///     }
///     Ok::<(), laputa::Error>(())
/// })?;
/// # Ok::<(), laputa::Error>(())
/// ```
pub type WriteHalf<S = TcpStream> = runtime::WriteHalf<S, AsyncStd>;

runtime::connect::impl_client_transport!(AsyncStd, FuturesStream, handshake_futures);

/// The stream of a client connection that [`connect`] opened: TCP for `ws://`, TLS over TCP for
/// `wss://` (with the `rustls` feature).
pub type ClientStream = <AsyncStd as runtime::ClientTransport>::ClientStream;

impl Runtime for AsyncStd {
    type TcpStream = TcpStream;
    type TcpListener = async_std::net::TcpListener;
    type Sleep = async_io::Timer;
    type JoinHandle<T: Send + 'static> = async_std::task::JoinHandle<T>;

    fn sleep_until(deadline: Instant) -> Self::Sleep {
        runtime::futures_io::sleep_until(deadline)
    }

    fn reset_sleep(sleep: Pin<&mut Self::Sleep>, deadline: Instant) {
        runtime::futures_io::reset_sleep(sleep, deadline);
    }

    fn connect(host: &str, port: u16) -> impl Future<Output = io::Result<TcpStream>> + Send {
        let host = host.to_owned();
        async move {
            let stream = TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(stream)
        }
    }

    fn bind(addr: &str) -> impl Future<Output = io::Result<Self::TcpListener>> + Send {
        let addr = addr.to_owned();
        async move { async_std::net::TcpListener::bind(addr.as_str()).await }
    }

    fn local_addr(listener: &Self::TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &Self::TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok((stream, addr))
    }

    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        async_std::task::spawn(future)
    }
}

impl_futures_io!(AsyncStd, Stream::poll_shutdown_write, Stream);

/// What the async-std adapter needs from a stream beyond the `futures-io` traits: shutting
/// down its write side (TCP FIN), as the core asks after the close handshake. async-std's own
/// `poll_close` only flushes, so its sockets implement this with `shutdown(Write)`; for other
/// streams (a TLS stream, say) the default calls `poll_close`.
///
/// ```
/// use laputa::async_std::Stream;
/// # struct MyTlsStream;
/// # impl futures_io::AsyncRead for MyTlsStream {
/// #     fn poll_read(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>, _: &mut [u8])
/// #         -> std::task::Poll<std::io::Result<usize>> { unimplemented!() }
/// # }
/// # impl futures_io::AsyncWrite for MyTlsStream {
/// #     fn poll_write(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>, _: &[u8])
/// #         -> std::task::Poll<std::io::Result<usize>> { unimplemented!() }
/// #     fn poll_flush(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>)
/// #         -> std::task::Poll<std::io::Result<()>> { unimplemented!() }
/// #     fn poll_close(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>)
/// #         -> std::task::Poll<std::io::Result<()>> { unimplemented!() }
/// # }
/// // A stream whose `poll_close` ends its write side.
/// impl Stream for MyTlsStream {}
/// ```
pub trait Stream: AsyncRead + AsyncWrite + Unpin {
    /// Shuts down the write side; by default `poll_close`.
    ///
    /// ```
    /// use laputa::async_std::Stream;
    /// use std::pin::Pin;
    /// # use async_std::io::{ReadExt, WriteExt};
    ///
    /// # async_std::task::block_on(async {
    /// # let listener = async_std::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut stream = async_std::net::TcpStream::connect(listener.local_addr()?).await?;
    /// # let (mut peer, _) = listener.accept().await?;
    /// // Send a FIN: the peer reads the end of the stream, and this side can still read.
    /// std::future::poll_fn(|cx| Pin::new(&mut stream).poll_shutdown_write(cx)).await?;
    /// assert_eq!(peer.read(&mut [0; 16]).await?, 0);
    /// # peer.write_all(b"still open").await?;
    /// let mut buf = [0; 10];
    /// stream.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"still open"); // what the peer wrote after the FIN
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn poll_shutdown_write(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_close(cx)
    }
}

impl Stream for TcpStream {
    fn poll_shutdown_write(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(std::net::Shutdown::Write))
    }
}

#[cfg(unix)]
impl Stream for async_std::os::unix::net::UnixStream {
    fn poll_shutdown_write(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(std::net::Shutdown::Write))
    }
}

/// Opens a client connection (a URL, an `http::Request`, a [`ClientRequest`] or a
/// [`ClientBuilder`](crate::ClientBuilder)) with the default [`Config`]: see
/// [`runtime::connect`].
///
/// ```no_run
/// # async fn run() -> Result<(), laputa::Error> {
/// let (mut ws, _response) = laputa::async_std::connect("ws://127.0.0.1:9001/").await?;
/// ws.send("hello").await?;
/// # Ok(()) }
/// ```
pub async fn connect(
    request: impl crate::IntoClientRequest,
) -> Result<(WebSocket<ClientStream>, http::Response<()>), Error> {
    runtime::connect::<AsyncStd>(request).await
}

/// Opens a client connection for a prepared request (subprotocols, Origin, extra headers).
///
/// ```no_run
/// # async fn run() -> Result<(), laputa::Error> {
/// use laputa::{ClientRequest, Config};
/// let request = ClientRequest::new("ws://127.0.0.1:9001/chat")?.protocol("chat");
/// let (ws, response) = laputa::async_std::connect_with(request, Config::default()).await?;
/// # Ok(()) }
/// ```
pub async fn connect_with(
    request: impl crate::IntoClientRequest,
    config: Config,
) -> Result<(WebSocket<ClientStream>, http::Response<()>), Error> {
    runtime::connect_with::<AsyncStd>(request, config).await
}

/// Runs the client handshake over a stream the caller connected (a Unix socket, a TLS stream).
///
/// ```no_run
/// # async fn run() -> Result<(), laputa::Error> {
/// use laputa::{ClientRequest, Config};
/// let stream = async_std::os::unix::net::UnixStream::connect("/run/app.sock").await?;
/// let request = ClientRequest::new("ws://localhost/")?;
/// let (ws, _) = laputa::async_std::client(stream, request, Config::default()).await?;
/// # Ok(()) }
/// ```
pub async fn client<S: Stream>(
    stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<S>, http::Response<()>), Error> {
    runtime::client::<S, AsyncStd>(stream, request, config).await
}

/// Answers the opening handshake on a server with the default [`Config`], accepting any request.
///
/// ```no_run
/// # async fn run(stream: async_std::net::TcpStream) -> Result<(), laputa::Error> {
/// let mut ws = laputa::async_std::accept(stream).await?;
/// let message = ws.recv().await?;
/// # Ok(()) }
/// ```
pub async fn accept<S: Stream>(stream: S) -> Result<WebSocket<S>, Error> {
    runtime::accept::<S, AsyncStd>(stream).await
}

/// Answers the opening handshake, letting `decide` accept the request (choosing a subprotocol,
/// adding headers) or reject it with an HTTP response.
///
/// ```no_run
/// use laputa::{Accept, Config, Reject};
///
/// # async fn run(stream: async_std::net::TcpStream) -> Result<(), laputa::Error> {
/// let ws = laputa::async_std::accept_with(stream, Config::default(), |request| {
///     if request.path() != "/Laputa" {
///         return Err(Reject::new(http::StatusCode::NOT_FOUND).body("no such service"));
///     }
///     Ok(Accept::default())
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn accept_with<S, F>(stream: S, config: Config, decide: F) -> Result<WebSocket<S>, Error>
where
    S: Stream,
    F: FnOnce(&IncomingRequest) -> Result<Accept, Reject>,
{
    runtime::accept_with::<S, AsyncStd, F>(stream, config, decide).await
}
