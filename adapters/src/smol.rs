//! WebSockets on smol (feature `smol`): the [generic driver](crate::runtime) over the
//! `futures-io` traits, `async-io`'s timer and `smol::net`.
//!
//! The same API as [`blocking`](crate::blocking), made `async`; moving between them is a
//! change of module path (and `.await`). Any `futures-io` stream works, so this module also
//! serves other executors built on `async-io`.
//!
//! ```no_run
//! smol::block_on(async {
//!     let listener = smol::net::TcpListener::bind("127.0.0.1:9001").await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         smol::spawn(async move {
//!             let mut ws = laputa::smol::accept(stream).await?;
//!             loop {
//!                 let message = ws.recv().await?;
//!                 ws.send(message).await?; // echo
//!             }
//!             #[allow(unreachable_code)]
//!             Ok::<(), laputa::Error>(())
//!         })
//!         .detach();
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

pub use smol::net::TcpStream;

/// The smol [`Runtime`]: tasks on smol's global executor, timers and sockets on `async-io`.
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
/// smol::block_on(hello::<laputa::smol::Smol>("ws://127.0.0.1:9001/"))?;
/// # Ok::<(), laputa::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Smol;

/// A WebSocket over a `futures-io` stream (by default smol's [`TcpStream`]).
///
/// ```
/// use laputa::smol::WebSocket;
///
/// // Answers one message with its echo.
/// async fn echo_once(ws: &mut WebSocket) -> Result<(), laputa::Error> {
///     let message = ws.recv().await?;
///     ws.send(message).await
/// }
///
/// smol::block_on(async {
/// # use laputa::{core::Connection, Config, Role};
/// # let listener = smol::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let stream = smol::net::TcpStream::connect(listener.local_addr()?).await?;
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
pub type WebSocket<S = TcpStream> = runtime::WebSocket<S, Smol>;
/// The receiving half of a split [`WebSocket`].
///
/// ```
/// use laputa::smol::ReadHalf;
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
/// smol::block_on(async {
/// # use laputa::{core::Connection, smol::WebSocket, Config, Role};
/// # let listener = smol::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let stream = smol::net::TcpStream::connect(listener.local_addr()?).await?;
/// # let mut client = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
/// # let mut server = WebSocket::from_upgraded(listener.accept().await?.0, Connection::new(Role::Server, Config::default()));
///     // `client` and `server` are the two ends of a connection over TCP.
///     let (reader, _writer) = server.split();
///     let reading = smol::spawn(texts(reader));
///     client.send("one").await?;
///     client.send("two").await?;
///     client.close().await?;
///     assert_eq!(reading.await, ["one", "two"]);
///     Ok::<(), laputa::Error>(())
/// })?;
/// # Ok::<(), laputa::Error>(())
/// ```
pub type ReadHalf<S = TcpStream> = runtime::ReadHalf<S, Smol>;
/// The sending half of a split [`WebSocket`].
///
/// ```
/// use laputa::smol::WriteHalf;
///
/// // The sending side: a countdown.
/// async fn countdown(writer: &mut WriteHalf, from: u32) -> Result<(), laputa::Error> {
///     for n in (1..=from).rev() {
///         writer.send(n.to_string()).await?;
///     }
///     Ok(())
/// }
///
/// smol::block_on(async {
/// # use laputa::{core::Connection, smol::WebSocket, Config, Role};
/// # let listener = smol::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let stream = smol::net::TcpStream::connect(listener.local_addr()?).await?;
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
pub type WriteHalf<S = TcpStream> = runtime::WriteHalf<S, Smol>;

/// A task spawned on smol; awaiting it gives its output. Unlike a bare `smol::Task`, dropping
/// it detaches the task instead of cancelling it, as on the other runtimes.
///
/// ```
/// use laputa::runtime::Runtime;
/// use laputa::smol::Smol;
///
/// smol::block_on(async {
///     let (tx, rx) = smol::channel::bounded(1);
///     drop(Smol::spawn(async move { tx.send(42).await })); // detached: it still runs
///     assert_eq!(rx.recv().await.ok(), Some(42));
/// });
/// ```
#[derive(Debug)]
pub struct JoinHandle<T>(Option<smol::Task<T>>);

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.0.as_mut() {
            Some(task) => Pin::new(task).poll(cx),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.detach();
        }
    }
}

runtime::connect::impl_client_transport!(Smol, FuturesStream, handshake_futures);

/// The stream of a client connection that [`connect`] opened: TCP for `ws://`, TLS over TCP for
/// `wss://` (with the `rustls` feature).
pub type ClientStream = <Smol as runtime::ClientTransport>::ClientStream;

impl Runtime for Smol {
    type TcpStream = TcpStream;
    type TcpListener = smol::net::TcpListener;
    type Sleep = async_io::Timer;
    type JoinHandle<T: Send + 'static> = JoinHandle<T>;

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
        async move { smol::net::TcpListener::bind(addr.as_str()).await }
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
        JoinHandle(Some(smol::spawn(future)))
    }
}

// `poll_close` of smol's sockets shuts down the write side (and of a TLS stream, sends its
// close_notify first).
impl_futures_io!(Smol, futures_io::AsyncWrite::poll_close, AsyncRead + AsyncWrite + Unpin);

/// Opens a client connection (a URL, an `http::Request`, a [`ClientRequest`] or a
/// [`ClientBuilder`](crate::ClientBuilder)) with the default [`Config`]: see
/// [`runtime::connect`].
///
/// ```no_run
/// # async fn run() -> Result<(), laputa::Error> {
/// let (mut ws, _response) = laputa::smol::connect("ws://127.0.0.1:9001/").await?;
/// ws.send("hello").await?;
/// # Ok(()) }
/// ```
pub async fn connect(
    request: impl crate::IntoClientRequest,
) -> Result<(WebSocket<ClientStream>, http::Response<()>), Error> {
    runtime::connect::<Smol>(request).await
}

/// Opens a client connection for a prepared request (subprotocols, Origin, extra headers).
///
/// ```no_run
/// # async fn run() -> Result<(), laputa::Error> {
/// use laputa::{ClientRequest, Config};
/// let request = ClientRequest::new("ws://127.0.0.1:9001/chat")?.protocol("chat");
/// let (ws, response) = laputa::smol::connect_with(request, Config::default()).await?;
/// # Ok(()) }
/// ```
pub async fn connect_with(
    request: impl crate::IntoClientRequest,
    config: Config,
) -> Result<(WebSocket<ClientStream>, http::Response<()>), Error> {
    runtime::connect_with::<Smol>(request, config).await
}

/// Runs the client handshake over a stream the caller connected (a Unix socket, a TLS stream).
///
/// ```no_run
/// # async fn run() -> Result<(), laputa::Error> {
/// use laputa::{ClientRequest, Config};
/// let stream = smol::net::unix::UnixStream::connect("/run/app.sock").await?;
/// let request = ClientRequest::new("ws://localhost/")?;
/// let (ws, _) = laputa::smol::client(stream, request, Config::default()).await?;
/// # Ok(()) }
/// ```
pub async fn client<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<S>, http::Response<()>), Error> {
    runtime::client::<S, Smol>(stream, request, config).await
}

/// Answers the opening handshake on a server with the default [`Config`], accepting any request.
///
/// ```no_run
/// # async fn run(stream: smol::net::TcpStream) -> Result<(), laputa::Error> {
/// let mut ws = laputa::smol::accept(stream).await?;
/// let message = ws.recv().await?;
/// # Ok(()) }
/// ```
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> Result<WebSocket<S>, Error> {
    runtime::accept::<S, Smol>(stream).await
}

/// Answers the opening handshake, letting `decide` accept the request (choosing a subprotocol,
/// adding headers) or reject it with an HTTP response.
///
/// ```no_run
/// use laputa::{Accept, Config, Reject};
///
/// # async fn run(stream: smol::net::TcpStream) -> Result<(), laputa::Error> {
/// let ws = laputa::smol::accept_with(stream, Config::default(), |request| {
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
    runtime::accept_with::<S, Smol, F>(stream, config, decide).await
}
