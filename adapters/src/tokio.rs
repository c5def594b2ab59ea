//! WebSockets on tokio (feature `tokio`): the [generic driver](crate::runtime) over tokio's
//! `AsyncRead`/`AsyncWrite`, timers and TCP.
//!
//! The same API as [`blocking`](crate::blocking), made `async`; moving between them is a
//! change of module path (and `.await`).
//!
//! ```no_run
//! use laputa::{tokio as ws, Message};
//!
//! # async fn run() -> Result<(), laputa::Error> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let mut ws = ws::accept(stream).await?;
//!         loop {
//!             let message = ws.recv().await?;
//!             ws.send(message).await?; // echo
//!         }
//!         #[allow(unreachable_code)]
//!         Ok::<(), laputa::Error>(())
//!     });
//! }
//! # }
//! ```

use crate::runtime::{self, Runtime, RuntimeIo};
use crate::Error;
use laputa_core::bytes::buf::Limit;
use laputa_core::bytes::BytesMut;
use laputa_core::handshake::{Accept, ClientRequest, IncomingRequest, Reject};
use laputa_core::Config;
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

pub use tokio::net::TcpStream;

/// The tokio [`Runtime`]. Its functions must be called within a tokio runtime with the time
/// driver enabled.
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
/// # async fn run() -> Result<(), laputa::Error> {
/// hello::<laputa::tokio::Tokio>("ws://127.0.0.1:9001/").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

/// A WebSocket over a tokio stream (by default a [`TcpStream`]).
///
/// ```
/// use laputa::tokio::WebSocket;
///
/// // Answers one message with its echo.
/// async fn echo_once(ws: &mut WebSocket) -> Result<(), laputa::Error> {
///     let message = ws.recv().await?;
///     ws.send(message).await
/// }
///
/// tokio::runtime::Runtime::new()?.block_on(async {
/// # use laputa::{core::Connection, Config, Role};
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let stream = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
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
pub type WebSocket<S = TcpStream> = runtime::WebSocket<S, Tokio>;
/// The receiving half of a split [`WebSocket`].
///
/// ```
/// use laputa::tokio::ReadHalf;
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
/// tokio::runtime::Runtime::new()?.block_on(async {
/// # use laputa::{core::Connection, tokio::WebSocket, Config, Role};
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let stream = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
/// # let mut client = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
/// # let mut server = WebSocket::from_upgraded(listener.accept().await?.0, Connection::new(Role::Server, Config::default()));
///     // `client` and `server` are the two ends of a connection over TCP.
///     let (reader, _writer) = server.split();
///     let reading = tokio::spawn(texts(reader));
///     client.send("one").await?;
///     client.send("two").await?;
///     client.close().await?;
///     assert_eq!(reading.await.expect("the reading task"), ["one", "two"]);
///     Ok::<(), laputa::Error>(())
/// })?;
/// # Ok::<(), laputa::Error>(())
/// ```
pub type ReadHalf<S = TcpStream> = runtime::ReadHalf<S, Tokio>;
/// The sending half of a split [`WebSocket`].
///
/// ```
/// use laputa::tokio::WriteHalf;
///
/// // The sending side: a countdown.
/// async fn countdown(writer: &mut WriteHalf, from: u32) -> Result<(), laputa::Error> {
///     for n in (1..=from).rev() {
///         writer.send(n.to_string()).await?;
///     }
///     Ok(())
/// }
///
/// tokio::runtime::Runtime::new()?.block_on(async {
/// # use laputa::{core::Connection, tokio::WebSocket, Config, Role};
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let stream = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
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
pub type WriteHalf<S = TcpStream> = runtime::WriteHalf<S, Tokio>;

/// A task spawned on tokio; awaiting it gives its output (resuming its panic, if it panicked).
///
/// ```
/// use laputa::runtime::Runtime;
/// use laputa::tokio::{JoinHandle, Tokio};
///
/// tokio::runtime::Runtime::new()?.block_on(async {
///     let task: JoinHandle<u32> = Tokio::spawn(async { 6 * 7 });
///     assert_eq!(task.await, 42);
/// });
/// # Ok::<(), laputa::Error>(())
/// ```
#[derive(Debug)]
pub struct JoinHandle<T>(tokio::task::JoinHandle<T>);

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0).poll(cx).map(|result| match result {
            Ok(value) => value,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("task failed: {e}"),
        })
    }
}

runtime::connect::impl_client_transport!(Tokio, TokioStream, handshake_tokio);

/// The stream of a client connection that [`connect`] opened: TCP for `ws://`, TLS over TCP for
/// `wss://` (with the `rustls` feature).
pub type ClientStream = <Tokio as runtime::ClientTransport>::ClientStream;

impl Runtime for Tokio {
    type TcpStream = TcpStream;
    type TcpListener = tokio::net::TcpListener;
    type Sleep = tokio::time::Sleep;
    type JoinHandle<T: Send + 'static> = JoinHandle<T>;

    fn sleep_until(deadline: Instant) -> Self::Sleep {
        tokio::time::sleep_until(deadline.into())
    }

    fn reset_sleep(sleep: Pin<&mut Self::Sleep>, deadline: Instant) {
        sleep.reset(deadline.into());
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
        tokio::net::TcpListener::bind(addr.to_owned())
    }

    fn local_addr(listener: &Self::TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &Self::TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok((stream, addr))
    }

    fn spawn<F>(future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        JoinHandle(tokio::spawn(future))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> RuntimeIo<S> for Tokio {
    fn poll_read(stream: &mut S, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        std::task::ready!(Pin::new(stream).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }

    const READS_SPARE: bool = true;

    fn poll_read_spare(
        stream: &mut S,
        cx: &mut Context<'_>,
        buf: &mut Limit<&mut BytesMut>,
    ) -> Poll<io::Result<usize>> {
        std::pin::pin!(stream.read_buf(buf)).poll(cx)
    }

    fn poll_write(stream: &mut S, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(stream: &mut S, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(stream: &S) -> bool {
        stream.is_write_vectored()
    }

    fn poll_flush(stream: &mut S, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(stream).poll_flush(cx)
    }

    fn poll_shutdown(stream: &mut S, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(stream).poll_shutdown(cx)
    }
}

/// Opens a client connection (a URL, an `http::Request`, a [`ClientRequest`] or a
/// [`ClientBuilder`](crate::ClientBuilder)) with the default [`Config`]: see
/// [`runtime::connect`].
///
/// ```no_run
/// # async fn run() -> Result<(), laputa::Error> {
/// let (mut ws, _response) = laputa::tokio::connect("ws://127.0.0.1:9001/").await?;
/// ws.send("hello").await?;
/// # Ok(()) }
/// ```
pub async fn connect(
    request: impl crate::IntoClientRequest,
) -> Result<(WebSocket<ClientStream>, http::Response<()>), Error> {
    runtime::connect::<Tokio>(request).await
}

/// Opens a client connection for a prepared request (subprotocols, Origin, extra headers).
///
/// ```no_run
/// # async fn run() -> Result<(), laputa::Error> {
/// use laputa::{ClientRequest, Config};
/// let request = ClientRequest::new("ws://127.0.0.1:9001/chat")?.protocol("chat");
/// let (ws, response) = laputa::tokio::connect_with(request, Config::default()).await?;
/// # Ok(()) }
/// ```
pub async fn connect_with(
    request: impl crate::IntoClientRequest,
    config: Config,
) -> Result<(WebSocket<ClientStream>, http::Response<()>), Error> {
    runtime::connect_with::<Tokio>(request, config).await
}

/// Runs the client handshake over a stream the caller connected (a Unix socket, a TLS stream).
///
/// ```no_run
/// # async fn run() -> Result<(), laputa::Error> {
/// use laputa::{ClientRequest, Config};
/// let stream = tokio::net::UnixStream::connect("/run/app.sock").await?;
/// let request = ClientRequest::new("ws://localhost/")?;
/// let (ws, _) = laputa::tokio::client(stream, request, Config::default()).await?;
/// # Ok(()) }
/// ```
pub async fn client<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<S>, http::Response<()>), Error> {
    runtime::client::<S, Tokio>(stream, request, config).await
}

/// Answers the opening handshake on a server with the default [`Config`], accepting any request.
///
/// ```no_run
/// # async fn run(stream: tokio::net::TcpStream) -> Result<(), laputa::Error> {
/// let mut ws = laputa::tokio::accept(stream).await?;
/// let message = ws.recv().await?;
/// # Ok(()) }
/// ```
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> Result<WebSocket<S>, Error> {
    runtime::accept::<S, Tokio>(stream).await
}

/// Answers the opening handshake, letting `decide` accept the request (choosing a subprotocol,
/// adding headers) or reject it with an HTTP response.
///
/// ```no_run
/// use laputa::{Accept, Config, Reject};
///
/// # async fn run(stream: tokio::net::TcpStream) -> Result<(), laputa::Error> {
/// let ws = laputa::tokio::accept_with(stream, Config::default(), |request| {
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
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&IncomingRequest) -> Result<Accept, Reject>,
{
    runtime::accept_with::<S, Tokio, F>(stream, config, decide).await
}
