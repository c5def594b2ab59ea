//! Blocking WebSockets over `std::io` streams: one thread per connection, no runtime.
//!
//! [`connect`] opens a client connection, [`accept`] and [`accept_with`] answer one on a server.
//! Both give a [`WebSocket`], which drives the core with the loop described in
//! `ARCHITECTURE.md`: read into a scratch buffer, feed the core, write what it emits, shut down
//! when told, and honour the core's close deadline with the socket's read timeout.
//!
//! ```no_run
//! use laputa::blocking;
//! use std::net::TcpListener;
//!
//! let listener = TcpListener::bind("127.0.0.1:9001")?;
//! for stream in listener.incoming() {
//!     std::thread::spawn(move || -> Result<(), laputa::Error> {
//!         let mut ws = blocking::accept(stream?)?;
//!         loop {
//!             let message = ws.read()?;
//!             ws.send(message)?; // echo
//!         }
//!     });
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::{ClientBuilder, Error, IntoClientRequest};
use laputa_core::connect::{Action, ConnectError, ConnectFlow};
use laputa_core::handshake::{
    Accept, Answer, ClientHandshake, ClientRequest, Handshake, HandshakeError, IncomingRequest, Reject, ServerHandshake,
};
use laputa_core::{CloseCode, Closed, Config, Connection, Event, Message, MessageKind, TransmitQueue};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime};

/// Size of the scratch buffer each read goes into.
pub(crate) const READ_CHUNK: usize = 32 * 1024;

/// What a [`WebSocket`] needs from its stream beyond `Read + Write`: half-closing, and read and
/// write timeouts, which carry the core's deadlines (handshake, keepalive, write stall, close)
/// so that no read or write waits past them. The defaults do nothing, for streams without them
/// (then a stalled peer can hold a call for as long as the stream lets it).
///
/// Any `Read + Write` stream will do. Here a recorded client request and message, answered
/// into a `Vec`:
///
/// ```
/// use laputa::blocking::{self, Stream};
/// use std::io::{self, Cursor, Read, Write};
///
/// struct Recorded {
///     input: Cursor<Vec<u8>>,
///     output: Vec<u8>,
/// }
/// impl Read for Recorded {
///     fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
///         self.input.read(buf)
///     }
/// }
/// impl Write for Recorded {
///     fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
///         self.output.extend_from_slice(buf);
///         Ok(buf.len())
///     }
///     fn flush(&mut self) -> io::Result<()> {
///         Ok(())
///     }
/// }
/// impl Stream for Recorded {} // no half-close, no timeouts
///
/// let mut input = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Version: 13\r\n\r\n"
///     .to_vec();
/// // A masked text frame "Hello" (RFC 6455 section 5.7).
/// input.extend_from_slice(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// let mut ws = blocking::accept(Recorded { input: Cursor::new(input), output: Vec::new() })?;
/// assert_eq!(ws.read()?.as_text(), Some("Hello"));
/// let response = String::from_utf8_lossy(&ws.get_ref().output);
/// assert!(response.starts_with("HTTP/1.1 101"));
/// assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
/// # Ok::<(), laputa::Error>(())
/// ```
pub trait Stream: Read + Write {
    /// Shuts down the write side (TCP FIN), as the core asks after the close handshake.
    ///
    /// ```
    /// use laputa::blocking::Stream;
    /// use std::io::Read;
    /// use std::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let mut stream = TcpStream::connect(listener.local_addr()?)?;
    /// let (mut peer, _) = listener.accept()?;
    /// stream.shutdown_write()?;
    /// assert_eq!(peer.read(&mut [0; 16])?, 0); // the peer sees the end of the stream
    /// # Ok::<(), laputa::Error>(())
    /// ```
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.flush()
    }

    /// The read timeout the application set, restored after a deadline is applied.
    ///
    /// ```
    /// use laputa::blocking::Stream;
    /// use std::net::TcpStream;
    /// use std::time::Duration;
    ///
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?)?;
    /// assert_eq!(Stream::read_timeout(&stream)?, None); // reads block until data arrives
    /// stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    /// assert_eq!(Stream::read_timeout(&stream)?, Some(Duration::from_secs(30)));
    /// # Ok::<(), laputa::Error>(())
    /// ```
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(None)
    }

    /// Sets the read timeout.
    ///
    /// ```
    /// use laputa::blocking::Stream;
    /// use std::io::{ErrorKind, Read};
    /// use std::net::TcpStream;
    /// use std::time::Duration;
    ///
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut stream = TcpStream::connect(listener.local_addr()?)?;
    /// Stream::set_read_timeout(&mut stream, Some(Duration::from_millis(10)))?;
    /// let error = stream.read(&mut [0; 16]).unwrap_err(); // the peer sends nothing
    /// assert!(matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut));
    /// # Ok::<(), laputa::Error>(())
    /// ```
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// The write timeout the application set, restored after a deadline is applied.
    ///
    /// ```
    /// use laputa::blocking::Stream;
    /// use std::net::TcpStream;
    /// use std::time::Duration;
    ///
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let stream = TcpStream::connect(listener.local_addr()?)?;
    /// assert_eq!(Stream::write_timeout(&stream)?, None); // writes block until the peer reads
    /// stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    /// assert_eq!(Stream::write_timeout(&stream)?, Some(Duration::from_secs(30)));
    /// # Ok::<(), laputa::Error>(())
    /// ```
    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(None)
    }

    /// Sets the write timeout.
    ///
    /// ```
    /// use laputa::blocking::Stream;
    /// use std::io::{ErrorKind, Write};
    /// use std::net::TcpStream;
    /// use std::time::Duration;
    ///
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut stream = TcpStream::connect(listener.local_addr()?)?;
    /// let _peer = listener.accept()?; // connected, and never reads
    /// Stream::set_write_timeout(&mut stream, Some(Duration::from_millis(10)))?;
    /// let chunk = vec![0u8; 1 << 20];
    /// let error = loop {
    ///     // The socket buffers fill up, then a write waits 10 ms and gives up.
    ///     if let Err(error) = stream.write(&chunk) {
    ///         break error;
    ///     }
    /// };
    /// assert!(matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut));
    /// # Ok::<(), laputa::Error>(())
    /// ```
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }
}

impl Stream for TcpStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        match self.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        TcpStream::read_timeout(self)
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        TcpStream::write_timeout(self)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
}

#[cfg(unix)]
impl Stream for std::os::unix::net::UnixStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        std::os::unix::net::UnixStream::read_timeout(self)
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        std::os::unix::net::UnixStream::write_timeout(self)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout)
    }
}

/// The stream of a client connection that [`connect`] opened: TCP for `ws://`, TLS over TCP
/// for `wss://` (with the `rustls` feature, [`crate::tls::MaybeTls`]; without it, plain TCP
/// and `wss://` is refused).
#[cfg(feature = "rustls")]
pub type ClientStream = crate::tls::BlockingStream<TcpStream>;
/// The stream of a client connection that [`connect`] opened: TCP (`wss://` needs the
/// `rustls` feature). The same [`MaybeTls`](crate::MaybeTls) type as with the feature on.
#[cfg(not(feature = "rustls"))]
pub type ClientStream = crate::MaybeTls<TcpStream, crate::NoTls>;

/// Opens a client connection: a URL (`&str`, `String`, [`http::Uri`]), an
/// [`http::Request<()>`], a [`ClientRequest`] or a [`ClientBuilder`] (proxy, credentials,
/// cookies, redirects, TLS, timeouts). Every decision is the core's connect flow
/// ([`laputa_core::connect`]); this runs it: name resolution and TCP (each address bounded by
/// the deadline over the whole connect, [`Config::handshake_timeout`]), TLS for `wss://`, the
/// proxy's tunnel, the upgrade.
///
/// ```no_run
/// let (mut ws, response) = laputa::blocking::connect("ws://127.0.0.1:9001/")?;
/// ws.send("hello")?;
/// let reply = ws.read()?;
/// # Ok::<(), laputa::Error>(())
/// ```
///
/// A server that answers with a status other than 101 is [`Error::Http`], with the answer:
///
/// ```
/// use laputa::{blocking, ClientBuilder, Error, Reject};
/// use std::net::TcpListener;
///
/// # let listener = TcpListener::bind("127.0.0.1:0")?;
/// # let addr = listener.local_addr()?;
/// # let server = std::thread::spawn(move || {
/// #     let refused = blocking::accept_with(listener.accept().unwrap().0, laputa::Config::default(), |_| {
/// #         Err(Reject::new(http::StatusCode::FORBIDDEN).body("members only"))
/// #     });
/// #     assert!(refused.is_err());
/// # });
/// // A server on `addr` refuses with 403.
/// let builder = ClientBuilder::new(&format!("ws://{addr}/private"))?.origin("https://example.com");
/// match blocking::connect(builder) {
///     Err(Error::Http(response)) => {
///         assert_eq!(response.status(), 403);
///         assert_eq!(response.body(), "members only");
///     }
///     other => panic!("{other:?}"),
/// }
/// # server.join().unwrap();
/// # Ok::<(), laputa::Error>(())
/// ```
pub fn connect(request: impl IntoClientRequest) -> Result<(WebSocket<ClientStream>, http::Response<()>), Error> {
    run_connect(request.into_client_request()?)
}

/// [`connect`] with a [`Config`] (limits, timeouts, permessage-deflate).
///
/// ```no_run
/// use laputa::{ClientRequest, Config};
///
/// let request = ClientRequest::new("ws://127.0.0.1:9001/chat")?.protocol("chat");
/// let mut config = Config::default();
/// config.max_message_size = 1 << 20;
/// let (ws, response) = laputa::blocking::connect_with(request, config)?;
/// let chosen = response.headers().get("sec-websocket-protocol");
/// # Ok::<(), laputa::Error>(())
/// ```
pub fn connect_with(
    request: impl IntoClientRequest,
    config: Config,
) -> Result<(WebSocket<ClientStream>, http::Response<()>), Error> {
    run_connect(request.into_client_request()?.config(config))
}

/// Runs the core's connect flow over blocking sockets.
fn run_connect(builder: ClientBuilder) -> Result<(WebSocket<ClientStream>, http::Response<()>), Error> {
    let wall = SystemTime::now();
    let parts = builder.into_parts(wall);
    let mut flow = ConnectFlow::new(parts.request, parts.options, parts.config, Instant::now(), wall)?;
    let mut io: Option<Io<ClientStream>> = None;
    loop {
        match flow.poll_action() {
            Some(Action::Connect { host, port }) => {
                drop(io.take());
                let tcp = tcp_connect(&host, port, flow.poll_timeout())?;
                io = Some(Io::new(plain_stream(tcp)));
                flow.connected();
                continue;
            }
            Some(Action::StartTls { server_name }) => {
                let stream = io.take().map(Io::into_stream).ok_or(ConnectError::Finished)?;
                #[cfg(feature = "rustls")]
                let stream = start_tls(stream, &server_name, &parts.tls, flow.poll_timeout())?;
                #[cfg(not(feature = "rustls"))]
                let stream = start_tls(stream, &server_name)?;
                io = Some(Io::new(stream));
                flow.tls_established();
                continue;
            }
            _ => {}
        }
        let Some(current) = io.as_mut() else { return Err(ConnectError::Finished.into()) };
        flow.poll_transmit(&mut current.outbuf);
        if current.bounded(Direction::Write, flow.poll_timeout(), Io::flush)?.is_none() {
            flow.handle_timeout(Instant::now())?;
            continue;
        }
        let established = match current.read(flow.poll_timeout(), None)? {
            Input::Data(n) => flow.handle_input(&current.scratch[..n])?,
            Input::Eof => flow.handle_eof()?,
            Input::Deadline => {
                flow.handle_timeout(Instant::now())?;
                None
            }
        };
        // The stream is taken only once the connect is done: a tunnel, a challenge answered on
        // a kept-alive connection or a 1xx take more than one read on the same stream.
        if let Some(established) = established {
            let io = io.take().ok_or(ConnectError::Finished)?;
            return Ok((WebSocket::from_parts(io, established.connection), established.response));
        }
    }
}

/// A TCP connection to `host:port`: the name resolved (on a thread of its own, so that the
/// deadline bounds it too), then each address tried in turn within what remains until the
/// deadline.
fn tcp_connect(host: &str, port: u16, deadline: Option<Instant>) -> Result<TcpStream, Error> {
    tracing::debug!(host, port, "connecting");
    let remaining = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let timed_out = || Error::from(ConnectError::Timeout);
    let addresses: Vec<SocketAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            let (found_tx, found) = std::sync::mpsc::channel();
            let name = (host.to_owned(), port);
            std::thread::spawn(move || {
                let _ = found_tx.send(name.to_socket_addrs().map(Iterator::collect::<Vec<_>>));
            });
            match remaining() {
                None => found.recv().map_err(|_| timed_out())??,
                Some(wait) => found.recv_timeout(wait).map_err(|_| timed_out())??,
            }
        }
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"));
    for address in addresses {
        let attempt = match remaining() {
            Some(wait) if wait.is_zero() => return Err(timed_out()),
            Some(wait) => TcpStream::connect_timeout(&address, wait),
            None => TcpStream::connect(address),
        };
        match attempt {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(timed_out()),
            Err(e) => last = e,
        }
    }
    Err(last.into())
}

/// A plain TCP client stream.
fn plain_stream(tcp: TcpStream) -> ClientStream {
    crate::MaybeTls::Plain(tcp)
}

/// Without the `rustls` feature, `wss://` is refused (before anything is sent in the clear).
#[cfg(not(feature = "rustls"))]
fn start_tls(_stream: ClientStream, _server_name: &str) -> Result<ClientStream, Error> {
    Err(HandshakeError::InvalidUrl("wss:// needs the rustls feature of laputa".into()).into())
}

/// TLS over the TCP stream of a `wss://` connect, with the builder's settings or the default
/// ones (the platform's verifier).
#[cfg(feature = "rustls")]
fn start_tls(
    stream: ClientStream,
    server_name: &str,
    tls: &crate::client::TlsSettings,
    deadline: Option<Instant>,
) -> Result<ClientStream, Error> {
    let crate::tls::MaybeTls::Plain(tcp) = stream else { return Err(ConnectError::Finished.into()) };
    let tls = crate::tls::handshake_blocking(tcp, server_name, &tls.connector(), deadline)?;
    Ok(crate::tls::MaybeTls::Tls(Box::new(tls)))
}

/// Runs the client handshake over a stream the caller connected (a Unix socket, a proxy tunnel).
///
/// ```
/// use laputa::{blocking, ClientRequest, CloseCode, Config};
/// use std::net::TcpStream;
///
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let addr = listener.local_addr()?;
/// # let server = std::thread::spawn(move || -> Result<laputa::Closed, laputa::Error> {
/// #     let mut ws = blocking::accept(listener.accept()?.0)?;
/// #     loop {
/// #         match ws.read() {
/// #             Ok(message) => ws.send(message)?,
/// #             Err(laputa::Error::Closed(closed)) => return Ok(closed),
/// #             Err(e) => return Err(e),
/// #         }
/// #     }
/// # });
/// // An echo server listens on `addr`.
/// let stream = TcpStream::connect(addr)?;
/// let request = ClientRequest::new(&format!("ws://{addr}/echo"))?;
/// let (mut ws, _response) = blocking::client(stream, request, Config::default())?;
/// ws.send("BALUS")?;
/// assert_eq!(ws.read()?.as_text(), Some("BALUS"));
/// ws.close_with(CloseCode::NORMAL, "done")?;
/// # let closed = server.join().expect("server thread")?;
/// # assert!(closed.clean);
/// # assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::NORMAL, "done"));
/// # Ok::<(), laputa::Error>(())
/// ```
pub fn client<S: Stream>(
    stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<S>, http::Response<()>), Error> {
    let mut handshake = ClientHandshake::new(request, config, Instant::now())?;
    let mut io = Io::new(stream);
    let (connection, response) = io.drive_handshake(&mut handshake)?;
    Ok((WebSocket::from_parts(io, connection), response))
}

/// Answers the opening handshake on a server with the default [`Config`], accepting any request.
///
/// ```no_run
/// let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
/// let (stream, _) = listener.accept()?;
/// let mut ws = laputa::blocking::accept(stream)?;
/// let message = ws.read()?;
/// # Ok::<(), laputa::Error>(())
/// ```
pub fn accept<S: Stream>(stream: S) -> Result<WebSocket<S>, Error> {
    accept_with(stream, Config::default(), |_| Ok(Accept::default()))
}

/// Answers the opening handshake, letting `decide` look at the request (path, query, Origin,
/// cookies, subprotocols) and accept it (choosing a subprotocol, adding headers) or reject it
/// with an HTTP response.
///
/// ```no_run
/// use laputa::{blocking, Accept, Config, Reject};
///
/// # fn run(stream: std::net::TcpStream) -> Result<(), laputa::Error> {
/// let ws = blocking::accept_with(stream, Config::default(), |request| {
///     if request.path() != "/Laputa" {
///         return Err(Reject::new(http::StatusCode::NOT_FOUND).body("no such service"));
///     }
///     Ok(Accept::default())
/// })?;
/// # Ok(()) }
/// ```
pub fn accept_with<S, F>(stream: S, config: Config, decide: F) -> Result<WebSocket<S>, Error>
where
    S: Stream,
    F: FnOnce(&IncomingRequest) -> Result<Accept, Reject>,
{
    // A refusal is written within the close timeout, or given up.
    let close_timeout = config.close_timeout;
    let mut handshake = ServerHandshake::new(config, Instant::now());
    let mut io = Io::new(stream);
    let request = match io.drive_handshake(&mut handshake) {
        Ok(request) => request,
        Err(error) => {
            if let Some(response) = error.handshake_error().and_then(HandshakeError::response_bytes) {
                io.refuse(response, close_timeout);
            }
            return Err(error);
        }
    };
    // The core's one accept flow: the 101 and a connection, or the refusal to write (a 500
    // when the accept itself cannot be answered).
    let decision = decide(&request);
    match request.answer(decision) {
        Answer::Upgrade { connection, .. } => {
            let mut ws = WebSocket::from_parts(io, connection);
            ws.flush()?;
            Ok(ws)
        }
        Answer::Refuse { response, error } => {
            io.refuse(response, close_timeout);
            Err(error.into())
        }
    }
}

/// A WebSocket connection over a blocking stream.
///
/// `read` waits for the next message; `send`, `ping` and `close` write before returning. Pings
/// are answered inside `read`. Read and write timeouts set on the stream are honoured: a call
/// that times out returns an [`Error::Io`] for which [`Error::is_timeout`] is true, and the
/// connection stays usable with nothing lost.
///
/// ```no_run
/// use laputa::blocking::Stream; // the timeouts of a plain or TLS stream alike
/// use std::time::Duration;
///
/// let (mut ws, _) = laputa::blocking::connect("ws://127.0.0.1:9001/")?;
/// ws.get_mut().set_read_timeout(Some(Duration::from_secs(30)))?;
/// loop {
///     match ws.read() {
///         Ok(message) => println!("{message:?}"),
///         Err(e) if e.is_timeout() => ws.ping(b"still there?")?, // quiet: nothing lost
///         Err(e) if e.is_closed() => break,
///         Err(e) => return Err(e),
///     }
/// }
/// # Ok::<(), laputa::Error>(())
/// ```
#[derive(Debug)]
pub struct WebSocket<S> {
    io: Io<S>,
    connection: Connection,
    closed: Option<Closed>,
}

impl<S: Stream> WebSocket<S> {
    /// Wraps a stream whose upgrade another HTTP stack already performed.
    ///
    /// ```
    /// use laputa::{blocking::WebSocket, Accept, Config, IncomingRequest};
    /// # use std::io::Write;
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept()?;
    /// # let head = http::Request::get("/chat")
    /// #     .header("host", "example.com")
    /// #     .header("upgrade", "websocket")
    /// #     .header("connection", "Upgrade")
    /// #     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    /// #     .header("sec-websocket-version", "13")
    /// #     .body(())
    /// #     .expect("a valid request");
    ///
    /// // The other stack read the request `head` from `stream`; the core checks it.
    /// let incoming = IncomingRequest::from_request(head, Config::default())?;
    /// let (response, connection) = incoming.accept_response(Accept::default())?;
    /// assert_eq!(response.status(), 101);
    /// // ... the other stack writes the 101 `response` to `stream`, then hands the stream over:
    /// let mut ws = WebSocket::from_upgraded(stream, connection);
    /// # // The client's masked text frame "Hello" (RFC 6455 section 5.7).
    /// # client.write_all(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])?;
    /// // The client sends "Hello".
    /// assert_eq!(ws.read()?.as_text(), Some("Hello"));
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn from_upgraded(stream: S, connection: Connection) -> Self {
        Self::from_parts(Io::new(stream), connection)
    }

    fn from_parts(io: Io<S>, connection: Connection) -> Self {
        Self { io, connection, closed: None }
    }

    /// The underlying stream.
    ///
    /// `peer` is the other end of the connection:
    ///
    /// ```
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (peer, _) = listener.accept()?;
    /// # let ws = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
    /// let local = ws.get_ref().local_addr()?;
    /// println!("connected from {local}");
    /// assert_eq!(local, peer.peer_addr()?);
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.io.stream
    }

    /// The underlying stream, to set timeouts or options; do not read or write it directly.
    ///
    /// ```
    /// use std::time::Duration;
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let mut ws = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
    ///
    /// ws.get_mut().set_write_timeout(Some(Duration::from_secs(5)))?;
    /// assert_eq!(ws.get_ref().write_timeout()?, Some(Duration::from_secs(5)));
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io.stream
    }

    /// The protocol state machine, for what this type does not expose.
    ///
    /// ```
    /// use laputa::{ClientRequest, Config, DeflateConfig};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let addr = listener.local_addr()?;
    /// # let server = std::thread::spawn(move || -> Result<(), laputa::Error> {
    /// #     let mut config = Config::default();
    /// #     config.deflate = Some(DeflateConfig::default());
    /// #     let stream = listener.accept()?.0;
    /// #     let mut ws = laputa::blocking::accept_with(stream, config, |_| Ok(laputa::Accept::new()))?;
    /// #     while ws.read().is_ok() {}
    /// #     Ok(())
    /// # });
    ///
    /// // A server that allows permessage-deflate listens on `addr`.
    /// let mut config = Config::default();
    /// config.deflate = Some(DeflateConfig::default());
    /// let request = ClientRequest::new(&format!("ws://{addr}/"))?;
    /// let (mut ws, _) = laputa::blocking::connect_with(request, config)?;
    /// if !ws.connection().is_compressed() {
    ///     println!("the server declined permessage-deflate");
    /// }
    /// assert!(ws.connection().is_compressed());
    /// # ws.close()?;
    /// # server.join().expect("the server thread")?;
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// How the connection ended, once it has (as the async adapters' `closed`).
    ///
    /// ```
    /// use laputa::CloseCode;
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # use std::io::Write;
    /// # use std::net::{Shutdown, TcpListener, TcpStream};
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// # let mut client = TcpStream::connect(listener.local_addr()?)?;
    /// # let mut ws = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # // A masked text frame "Hello", then a close frame with code 1000, then the client's FIN.
    /// # client.write_all(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])?;
    /// # client.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])?;
    /// # client.shutdown(Shutdown::Write)?;
    /// // `ws` is the server end of a connection whose client sends "Hello", then closes.
    /// assert!(ws.closed().is_none());
    /// while let Ok(message) = ws.read() {
    ///     println!("{message:?}");
    /// }
    /// let closed = ws.closed().expect("the connection is over");
    /// assert!(closed.clean && closed.code == CloseCode::NORMAL);
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    /// Sends a whole message.
    ///
    /// `peer` is the other end of the connection:
    ///
    /// ```
    /// use laputa::Message;
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let mut peer = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # let mut ws = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
    /// ws.send("text")?; // a `&'static str` or `String` is text
    /// ws.send(vec![0xde, 0xad])?; // a `Vec<u8>` or `Bytes` is binary
    /// ws.send(Message::from(format!("{} + {}", 1, 2)))?;
    /// assert_eq!(peer.read()?, Message::from("text"));
    /// assert_eq!(peer.read()?, Message::from(vec![0xde, 0xad]));
    /// assert_eq!(peer.read()?.as_text(), Some("1 + 2"));
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.connection.send(message.into())?;
        self.flush()
    }

    /// Queues a whole message without writing it: it goes out with the next call that writes
    /// ([`read`](Self::read) writes everything queued before it waits, and so do
    /// [`flush`](Self::flush) and `send`). An echo loop that answers with `feed` writes its
    /// answers to everything one read brought in one write ("corking"). Once more than
    /// [`FEED_HIGH_WATER`] bytes are queued, `feed` writes them before it returns, so that a
    /// loop that only feeds holds little.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), laputa::Error> {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
    /// let (stream, _) = listener.accept()?;
    /// let mut ws = laputa::blocking::accept(stream)?;
    /// while let Ok(message) = ws.read() {
    ///     ws.feed(message)?; // written by the next `read`, with the other answers
    /// }
    /// # Ok(()) }
    /// ```
    pub fn feed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.connection.send(message.into())?;
        if self.connection.pending_transmit() > FEED_HIGH_WATER {
            self.flush()?;
        }
        Ok(())
    }

    /// Bytes queued and not yet written (by [`feed`](Self::feed), or left by a write that
    /// timed out).
    ///
    /// `peer` is the other end of the connection:
    ///
    /// ```
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let mut peer = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # let mut ws = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
    /// ws.feed("one")?;
    /// ws.feed("two")?;
    /// assert!(ws.buffered_amount() > 0); // queued, not written yet
    /// ws.flush()?;
    /// assert_eq!(ws.buffered_amount(), 0);
    /// assert_eq!(peer.read()?.as_text(), Some("one"));
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn buffered_amount(&self) -> usize {
        self.connection.pending_transmit() + self.io.outbuf.len() - self.io.written
    }

    /// Sends a whole message without compressing it even when permessage-deflate is on: for
    /// secrets sent next to attacker-controlled data (RFC 7692 section 8).
    ///
    /// `ws` is a server with permessage-deflate on; `read_frame` reads one frame from its peer's
    /// socket:
    ///
    /// ```
    /// # use laputa::{blocking::WebSocket, core::{Connection, DeflateParams, Rng}, Config, Role};
    /// # use std::io::Read;
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let connection = Connection::with_deflate(Role::Server, Config::default(), Rng::os(), DeflateParams::default());
    /// # let mut ws = WebSocket::from_upgraded(listener.accept()?.0, connection);
    /// # let mut read_frame = || -> std::io::Result<Vec<u8>> {
    /// #     // A server's frames are not masked; these are short (7-bit length).
    /// #     let mut frame = vec![0; 2];
    /// #     peer.read_exact(&mut frame)?;
    /// #     frame.resize(2 + usize::from(frame[1]), 0);
    /// #     peer.read_exact(&mut frame[2..])?;
    /// #     Ok(frame)
    /// # };
    /// let session_token = format!("session={}", "7".repeat(64));
    /// ws.send("chatter anyone can write into. ".repeat(4))?; // compressed when deflate is on
    /// ws.send_uncompressed(session_token.clone())?; // never compressed next to what an attacker chose
    /// let (chatter, token) = (read_frame()?, read_frame()?);
    /// assert_eq!(chatter[0], 0x80 | 0x40 | 0x1, "FIN, RSV1 (compressed), text");
    /// assert_eq!(token[0], 0x81, "FIN and text, RSV1 clear: not compressed");
    /// assert_eq!(&token[2..], session_token.as_bytes());
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn send_uncompressed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.connection.send_uncompressed(message.into())?;
        self.flush()
    }

    /// Sends one fragment of a message (websocket-sharp's `Send(Stream)`: stream a large message
    /// without holding it whole); `is_final` ends the message.
    ///
    /// `peer` is the other end of the connection:
    ///
    /// ```
    /// use laputa::MessageKind;
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let mut peer = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # let mut ws = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
    /// ws.send_fragment(MessageKind::Text, b"Hel", false)?;
    /// ws.send_fragment(MessageKind::Text, b"lo", true)?;
    /// assert_eq!(peer.read()?.as_text(), Some("Hello")); // one message
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn send_fragment(&mut self, kind: MessageKind, data: &[u8], is_final: bool) -> Result<(), Error> {
        self.connection.send_fragment(kind, data, is_final)?;
        self.flush()
    }

    /// Sends a whole message read from `reader`, in fragments of `chunk` bytes.
    ///
    /// `peer` is the other end of the connection:
    ///
    /// ```
    /// use laputa::MessageKind;
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let mut peer = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # let mut ws = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
    /// let data = vec![7u8; 10_000]; // or a `std::fs::File`, a pipe, any `Read`
    /// ws.send_from(MessageKind::Binary, &data[..], 4096)?; // three frames
    /// assert_eq!(peer.read()?.payload(), &data[..]);
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn send_from(&mut self, kind: MessageKind, mut reader: impl Read, chunk: usize) -> Result<(), Error> {
        // Two buffers, swapped: the next chunk is read before this one is sent, so that the
        // last fragment is known to be last.
        let mut buf = vec![0; chunk.max(1)];
        let mut next = vec![0; buf.len()];
        let mut filled = read_full(&mut reader, &mut buf)?;
        loop {
            let next_filled = if filled == buf.len() { read_full(&mut reader, &mut next)? } else { 0 };
            self.send_fragment(kind, &buf[..filled], next_filled == 0)?;
            if next_filled == 0 {
                return Ok(());
            }
            std::mem::swap(&mut buf, &mut next);
            filled = next_filled;
        }
    }

    /// Sends a ping (at most 125 bytes); the pong arrives as an event in [`read_event`](Self::read_event).
    ///
    /// ```
    /// use laputa::Event;
    /// use std::time::Instant;
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let mut peer = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # let peer = std::thread::spawn(move || while peer.read().is_ok() {});
    /// # let mut ws = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
    /// // The peer's core answers pings while it reads.
    /// let sent = Instant::now();
    /// ws.ping(b"rtt")?;
    /// let pong = loop {
    ///     match ws.read_event()? {
    ///         Event::Pong(payload) => break payload,
    ///         Event::Message(message) => println!("{message:?}"),
    ///         _ => {}
    ///     }
    /// };
    /// println!("round trip: {:?}", sent.elapsed());
    /// assert_eq!(pong, "rtt"); // a pong carries its ping's payload
    /// # ws.close()?;
    /// # peer.join().expect("the peer thread");
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.connection.ping(payload)?;
        self.flush()
    }

    /// Waits for the next message. When the connection ends, returns [`Error::Closed`] once the
    /// TCP teardown is done.
    ///
    /// ```
    /// use laputa::{CloseCode, Error, Message};
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # use std::io::Write;
    /// # use std::net::{Shutdown, TcpListener, TcpStream};
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// # let mut client = TcpStream::connect(listener.local_addr()?)?;
    /// # let mut ws = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # // Masked with the key 0, which leaves the payload as it is: a text frame "Hello", a
    /// # // binary frame of 3 bytes, a close frame with code 1000 and "bye"; then the client's FIN.
    /// # client.write_all(&[0x81, 0x85, 0, 0, 0, 0, b'H', b'e', b'l', b'l', b'o'])?;
    /// # client.write_all(&[0x82, 0x83, 0, 0, 0, 0, 1, 2, 3])?;
    /// # client.write_all(&[0x88, 0x85, 0, 0, 0, 0, 0x03, 0xe8, b'b', b'y', b'e'])?;
    /// # client.shutdown(Shutdown::Write)?;
    /// // The client sends "Hello" and 3 bytes, then closes with 1000 "bye".
    /// let mut texts = Vec::new();
    /// let closed = loop {
    ///     match ws.read() {
    ///         Ok(Message::Text(text)) => texts.push(text),
    ///         Ok(Message::Binary(data)) => println!("{} bytes", data.len()),
    ///         Err(Error::Closed(closed)) => {
    ///             println!("closed: {} {}", closed.code, closed.reason);
    ///             break closed;
    ///         }
    ///         Err(e) => return Err(e),
    ///     }
    /// };
    /// assert_eq!(texts, ["Hello"]);
    /// assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::NORMAL, "bye"));
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn read(&mut self) -> Result<Message, Error> {
        loop {
            if let Event::Message(message) = self.read_event()? {
                return Ok(message);
            }
        }
    }

    /// Waits for the next event of any kind: messages, pings (with `Config::emit_pings`), pongs,
    /// and the close handshake.
    ///
    /// ```
    /// use laputa::{CloseCode, CloseFrame, Event};
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # use std::io::Write;
    /// # use std::net::{Shutdown, TcpListener, TcpStream};
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// # let mut client = TcpStream::connect(listener.local_addr()?)?;
    /// # let mut ws = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # // Masked with the key 0, which leaves the payload as it is: a text frame "Hello", then
    /// # // a close frame with code 1000; then the client's FIN.
    /// # client.write_all(&[0x81, 0x85, 0, 0, 0, 0, b'H', b'e', b'l', b'l', b'o'])?;
    /// # client.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])?;
    /// # client.shutdown(Shutdown::Write)?;
    /// // The client sends "Hello", then closes with 1000.
    /// let (mut echoed, mut close_frame) = (0, None);
    /// let closed = loop {
    ///     match ws.read_event()? {
    ///         Event::Message(message) => {
    ///             ws.send(message)?;
    ///             echoed += 1;
    ///         }
    ///         Event::Pong(payload) => println!("pong: {payload:?}"),
    ///         Event::CloseReceived(frame) => close_frame = frame,
    ///         Event::Closed(closed) => break closed,
    ///         _ => {}
    ///     }
    /// };
    /// assert_eq!(echoed, 1);
    /// assert_eq!(close_frame, Some(CloseFrame { code: CloseCode::NORMAL, reason: String::new() }));
    /// assert!(closed.clean);
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn read_event(&mut self) -> Result<Event, Error> {
        loop {
            if let Some(event) = self.connection.poll_event() {
                if let Event::Closed(closed) = &event {
                    self.closed = Some(closed.clone());
                }
                return Ok(event);
            }
            match self.flush() {
                Ok(()) => {}
                // A deadline ended the connection while writing: its `Closed` event comes first.
                Err(Error::Closed(_)) => continue,
                Err(e) => return Err(e),
            }
            if self.connection.is_finished() {
                return Err(Error::Closed(self.closed.clone().unwrap_or_else(abnormal)));
            }
            self.read_input()?;
        }
    }

    /// Runs the close handshake with 1000 (normal closure) and no reason, and waits as
    /// [`close_with`](Self::close_with) does.
    ///
    /// ```
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let mut peer = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # let peer = std::thread::spawn(move || peer.read());
    /// # let mut ws = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
    /// ws.close()?;
    /// assert!(ws.closed().is_some_and(|closed| closed.clean));
    /// # let Err(laputa::Error::Closed(closed)) = peer.join().expect("the peer thread") else { panic!("not closed") };
    /// # assert_eq!((closed.code, closed.reason.as_str()), (laputa::CloseCode::NORMAL, ""));
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn close(&mut self) -> Result<(), Error> {
        self.close_with(CloseCode::NORMAL, "")
    }

    /// Runs the close handshake: sends a close frame (see `Connection::close` for valid codes),
    /// discards messages that still arrive, and returns once the peer answered and the TCP
    /// connection is torn down, or the close timeout passed.
    ///
    /// ```
    /// use laputa::CloseCode;
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let mut peer = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # let peer = std::thread::spawn(move || (peer.read(), peer.read()));
    /// # let mut ws = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
    /// ws.send("bye")?;
    /// ws.close_with(CloseCode::NORMAL, "done")?;
    /// // The peer answered, and the TCP connection is torn down.
    /// assert!(ws.closed().is_some_and(|closed| closed.clean));
    /// # let (message, closed) = peer.join().expect("the peer thread");
    /// # assert_eq!(message?.as_text(), Some("bye"));
    /// # let Err(laputa::Error::Closed(closed)) = closed else { panic!("not closed: {closed:?}") };
    /// # assert_eq!((closed.code, closed.reason.as_str()), (CloseCode::NORMAL, "done"));
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn close_with(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        match self.send_close(code, reason) {
            // A deadline (the close timeout, a stalled write) ended it while writing.
            Ok(()) | Err(Error::Closed(_)) => {}
            Err(e) => return Err(e),
        }
        loop {
            match self.read_event() {
                Ok(_) => {}
                Err(Error::Closed(_)) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Starts the close handshake without waiting: keep calling [`read`](Self::read) to receive
    /// what the peer sent before its close frame, until it returns [`Error::Closed`].
    ///
    /// ```
    /// use laputa::{CloseCode, Message};
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # use std::io::Write;
    /// # use std::net::{Shutdown, TcpListener, TcpStream};
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// # let mut client = TcpStream::connect(listener.local_addr()?)?;
    /// # let mut ws = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # // Masked with the key 0, which leaves the payload as it is: a text frame "late", then a
    /// # // close frame with code 1000; then the client's FIN.
    /// # client.write_all(&[0x81, 0x84, 0, 0, 0, 0, b'l', b'a', b't', b'e'])?;
    /// # client.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])?;
    /// # client.shutdown(Shutdown::Write)?;
    /// // The client sent "late" before our close frame reached it.
    /// ws.send_close(CloseCode::GOING_AWAY, "shutting down")?;
    /// let mut received = Vec::new();
    /// loop {
    ///     match ws.read() {
    ///         Ok(message) => received.push(message), // sent before the close
    ///         Err(e) if e.is_closed() => break,
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// assert_eq!(received, [Message::from("late")]);
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn send_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.connection.close(code, reason)?;
        self.flush()
    }

    /// Writes everything queued (by [`feed`](Self::feed)), then shuts down the write side if the
    /// core asks. On a write timeout set by the application the rest stays queued for the next
    /// call. Writes wait at most until the core's next deadline: a keepalive ping is queued
    /// then, and a peer that has read nothing for
    /// [`Config::write_stall_timeout`](laputa_core::Config::write_stall_timeout) (or past the
    /// close timeout) ends the connection with [`Error::Closed`].
    ///
    /// `peer` is the other end of the connection:
    ///
    /// ```
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let mut peer = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # let mut ws = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
    /// for n in 0..100 {
    ///     ws.feed(format!("update {n}"))?;
    /// }
    /// assert!(ws.buffered_amount() > 0, "queued, not written yet");
    /// ws.flush()?; // the hundred messages go out together
    /// assert_eq!(ws.buffered_amount(), 0);
    /// for n in 0..100 {
    ///     assert_eq!(peer.read()?.as_text(), Some(format!("update {n}").as_str()));
    /// }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn flush(&mut self) -> Result<(), Error> {
        // Writing everything can let answers to pings that waited join the queue: go again.
        while self.connection.wants_transmit() {
            let now = Instant::now();
            // The clock reading first, so that the deadline counts what is about to be written.
            self.connection.transmit(now);
            let deadline = self.connection.poll_timeout();
            let queue = self.connection.transmit(now);
            match self.io.bounded(Direction::Write, deadline, |io| write_all_buf(&mut io.stream, queue)) {
                Ok(Some(())) => {}
                Ok(None) => self.handle_deadline()?,
                Err(e) => return Err(self.io_error(e)),
            }
        }
        let written = self.io.flush().and_then(|()| match self.connection.poll_shutdown() {
            true => self.io.stream.shutdown_write(),
            false => Ok(()),
        });
        written.map_err(|e| self.io_error(e))
    }

    /// The core's deadline passed while writing: it decides (a keepalive ping, or the end of a
    /// connection whose peer stopped reading or never finished the close handshake).
    fn handle_deadline(&mut self) -> Result<(), Error> {
        let now = Instant::now();
        self.connection.handle_timeout(now);
        if self.connection.is_finished() {
            // What could not be written never will be.
            self.connection.transmit(now).clear();
            return Err(Error::Closed(self.closed.clone().unwrap_or_else(abnormal)));
        }
        Ok(())
    }

    /// A timeout the application set leaves the connection as it is; any other error ends it.
    fn io_error(&mut self, error: io::Error) -> Error {
        if is_timeout(&error) {
            error.into()
        } else {
            self.fail_socket(error)
        }
    }

    /// A reset or other failure of the socket, reading or writing, ends the connection as an
    /// abnormal closure: what is queued is dropped, and later calls return [`Error::Closed`].
    fn fail_socket(&mut self, error: io::Error) -> Error {
        tracing::debug!(%error, "socket failed: the connection ends");
        self.connection.transmit(Instant::now()).clear();
        self.connection.handle_eof();
        self.closed.get_or_insert_with(abnormal);
        error.into()
    }

    /// One read from the stream into the core (straight into its buffer while a large frame
    /// arrives), bounded by the core's deadline if it has one.
    fn read_input(&mut self) -> Result<(), Error> {
        let deadline = self.connection.poll_timeout();
        if let Some(room) = self.connection.input_room() {
            match self.io.read(deadline, Some(room)) {
                Ok(Input::Data(n)) => {
                    self.connection.handle_input_read(n);
                    return Ok(());
                }
                other => return self.after_read(other),
            }
        }
        let read = self.io.read(deadline, None);
        self.after_read(read)
    }

    /// Hands the outcome of a read to the core.
    fn after_read(&mut self, read: io::Result<Input>) -> Result<(), Error> {
        match read {
            Ok(Input::Data(n)) => self.connection.handle_input(&self.io.scratch[..n]),
            Ok(Input::Eof) => self.connection.handle_eof(),
            Ok(Input::Deadline) => self.connection.handle_timeout(Instant::now()),
            Err(e) if is_timeout(&e) => return Err(e.into()),
            Err(e) => return Err(self.fail_socket(e)),
        }
        Ok(())
    }
}

fn abnormal() -> Closed {
    Closed::new(CloseCode::ABNORMAL, "", false)
}

/// Writes all of `out`, advancing it as the stream takes bytes: on a write timeout the rest
/// stays queued for the next call.
fn write_all_buf(stream: &mut impl Write, out: &mut TransmitQueue) -> io::Result<()> {
    while !out.is_empty() {
        match out.write_to(stream) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// [`WebSocket::feed`] writes once more than this is queued
/// ([`DEFAULT_HIGH_WATER_MARK`](crate::DEFAULT_HIGH_WATER_MARK)).
///
/// ```
/// use laputa::blocking::{Stream, WebSocket, FEED_HIGH_WATER};
/// use laputa::{core::Connection, Config, Role};
/// # use std::io::{self, Read, Write};
///
/// // A stream that keeps what is written to it.
/// struct Written(Vec<u8>);
/// # impl Read for Written {
/// #     fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
/// #         Ok(0)
/// #     }
/// # }
/// # impl Write for Written {
/// #     fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
/// #         self.0.extend_from_slice(buf);
/// #         Ok(buf.len())
/// #     }
/// #     fn flush(&mut self) -> io::Result<()> {
/// #         Ok(())
/// #     }
/// # }
/// impl Stream for Written {}
///
/// let mut ws = WebSocket::from_upgraded(Written(Vec::new()), Connection::new(Role::Server, Config::default()));
/// ws.feed(vec![0u8; 1024])?;
/// assert!(ws.get_ref().0.is_empty()); // below the mark: only queued
/// ws.feed(vec![0u8; FEED_HIGH_WATER])?;
/// assert_eq!(ws.buffered_amount(), 0); // past it: `feed` wrote both
/// assert!(ws.get_ref().0.len() > FEED_HIGH_WATER + 1024);
/// # Ok::<(), laputa::Error>(())
/// ```
pub const FEED_HIGH_WATER: usize = crate::DEFAULT_HIGH_WATER_MARK;

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The socket side of the drive loop: a scratch buffer for reads and the unwritten output.
#[derive(Debug)]
pub(crate) struct Io<S> {
    stream: S,
    scratch: Box<[u8]>,
    /// Bytes taken from the core and not yet written; `written` of them already went out.
    outbuf: Vec<u8>,
    written: usize,
}

enum Input {
    Data(usize),
    Eof,
    Deadline,
}

/// Which of the stream's timeouts carries a deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// A deadline applied as the stream's timeout for one operation, with the application's own
/// timeout to put back afterwards.
pub(crate) struct Timeout {
    direction: Direction,
    /// `None`: no deadline, nothing was changed.
    user: Option<Option<Duration>>,
    /// The deadline is the shorter of the two: its expiry is ours, not an error.
    ours: bool,
}

impl Timeout {
    /// Sets the stream's timeout for `direction` to what remains until `deadline`, unless the
    /// application's own is shorter. `None` when the deadline has already passed.
    pub(crate) fn apply(
        stream: &mut impl Stream,
        direction: Direction,
        deadline: Option<Instant>,
    ) -> io::Result<Option<Self>> {
        let Some(deadline) = deadline else { return Ok(Some(Self { direction, user: None, ours: false })) };
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(None);
        }
        let user = match direction {
            Direction::Read => stream.read_timeout()?,
            Direction::Write => stream.write_timeout()?,
        };
        let ours = user.is_none_or(|user| remaining <= user);
        let timeout = Some(if ours { remaining } else { user.unwrap_or(remaining) });
        Self::set(stream, direction, timeout)?;
        Ok(Some(Self { direction, user: Some(user), ours }))
    }

    fn set(stream: &mut impl Stream, direction: Direction, timeout: Option<Duration>) -> io::Result<()> {
        match direction {
            Direction::Read => stream.set_read_timeout(timeout),
            Direction::Write => stream.set_write_timeout(timeout),
        }
    }

    /// Restores the application's timeout and turns the expiry of ours into `Ok(None)`.
    pub(crate) fn finish<T>(self, stream: &mut impl Stream, result: io::Result<T>) -> io::Result<Option<T>> {
        if let Some(user) = self.user {
            Self::set(stream, self.direction, user)?;
        }
        match result {
            Err(e) if is_timeout(&e) && self.ours => Ok(None),
            other => other.map(Some),
        }
    }
}

impl<S: Stream> Io<S> {
    pub(crate) fn new(stream: S) -> Self {
        Self { stream, scratch: vec![0; READ_CHUNK].into_boxed_slice(), outbuf: Vec::new(), written: 0 }
    }

    /// The stream, once the connect flow moves on to TLS over it (nothing is left unwritten
    /// or unread then: the flow speaks first only after TLS).
    pub(crate) fn into_stream(self) -> S {
        self.stream
    }

    /// Writes the pending output. On a write timeout the unwritten rest stays for the next call.
    fn flush(&mut self) -> io::Result<()> {
        while self.written < self.outbuf.len() {
            match self.stream.write(&self.outbuf[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.outbuf.clear();
        self.written = 0;
        self.stream.flush()
    }

    /// Reads once, into `room` or else the scratch buffer. With a deadline, the read waits at
    /// most until then and reports `Deadline` when it passes.
    fn read(&mut self, deadline: Option<Instant>, room: Option<&mut [u8]>) -> io::Result<Input> {
        let read = self.bounded(Direction::Read, deadline, |io| io.read_once(room))?;
        Ok(read.unwrap_or(Input::Deadline))
    }

    /// Runs `op`, a read or a write of the stream, waiting at most until `deadline`: `Ok(None)`
    /// when the deadline passed first. The application's own timeout for that direction still
    /// applies when it is the shorter one (its expiry is an error `op` returns), and is restored
    /// afterwards.
    fn bounded<T>(
        &mut self,
        direction: Direction,
        deadline: Option<Instant>,
        op: impl FnOnce(&mut Self) -> io::Result<T>,
    ) -> io::Result<Option<T>> {
        let Some(timeout) = Timeout::apply(&mut self.stream, direction, deadline)? else { return Ok(None) };
        let result = op(self);
        timeout.finish(&mut self.stream, result)
    }

    fn read_once(&mut self, room: Option<&mut [u8]>) -> io::Result<Input> {
        let buf = match room {
            Some(room) => room,
            None => &mut self.scratch[..],
        };
        loop {
            match self.stream.read(buf) {
                Ok(0) => return Ok(Input::Eof),
                Ok(n) => return Ok(Input::Data(n)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes a refusal of the opening handshake and shuts down the write side. Best effort,
    /// and bounded by `close_timeout`: a client that reads nothing cannot hold the thread.
    pub(crate) fn refuse(&mut self, response: Vec<u8>, close_timeout: Duration) {
        self.outbuf = response;
        self.written = 0;
        let deadline = Instant::now().checked_add(close_timeout);
        if let Err(error) = self.bounded(Direction::Write, deadline, Io::flush) {
            tracing::debug!(%error, "the refusal could not be written");
        }
        let _ = self.stream.shutdown_write();
    }

    /// Drives either side of the opening handshake until it completes, fails, or its deadline
    /// passes.
    pub(crate) fn drive_handshake<H: Handshake>(&mut self, handshake: &mut H) -> Result<H::Output, Error> {
        loop {
            handshake.poll_transmit(&mut self.outbuf);
            if self.bounded(Direction::Write, handshake.poll_timeout(), Io::flush)?.is_none() {
                handshake.handle_timeout(Instant::now())?;
                continue;
            }
            match self.read(handshake.poll_timeout(), None)? {
                Input::Data(n) => {
                    if let Some(done) = handshake.handle_input(&self.scratch[..n])? {
                        return Ok(done);
                    }
                }
                Input::Eof => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
                Input::Deadline => handshake.handle_timeout(Instant::now())?,
            }
        }
    }
}
