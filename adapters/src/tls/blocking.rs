//! TLS for the blocking adapter: rustls' [`StreamOwned`] as a [`blocking::Stream`], and a
//! handshake bounded by a deadline.

use super::{MaybeTls, TlsAcceptor, TlsConnector};
use crate::blocking::Stream;
use rustls::{ClientConnection, ConnectionCommon, ServerConnection, SideData, StreamOwned};
use std::io::{self, Write};
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

/// A blocking stream, plain or TLS: what a blocking client over `ws://` and `wss://` alike
/// runs on (by default over a [`TcpStream`](std::net::TcpStream)).
///
/// ```
/// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
/// # let pki = support::Pki::new();
/// # let server = support::serve_blocking(support::server_config(&pki.leaf, None));
/// # let connector = pki.connector();
/// use laputa::tls::{self, BlockingStream, MaybeTls};
/// use laputa::{blocking, ClientRequest, Config};
/// use std::net::TcpStream;
///
/// fn open(url: &str, connector: &tls::TlsConnector) -> Result<blocking::WebSocket<BlockingStream>, laputa::Error> {
///     let request = ClientRequest::new(url)?;
///     let tcp = TcpStream::connect((request.host(), request.port()))?;
///     let stream = match request.is_secure() {
///         true => MaybeTls::Tls(Box::new(tls::handshake_blocking(tcp, request.host(), connector, None)?)),
///         false => MaybeTls::Plain(tcp),
///     };
///     Ok(blocking::client(stream, request, Config::default())?.0)
/// }
///
/// // A wss:// echo server on `server.addr` that `connector` trusts.
/// let mut ws = open(&format!("wss://localhost:{}/", server.addr.port()), &connector)?;
/// ws.send("BALUS")?;
/// assert_eq!(ws.read()?.as_text(), Some("BALUS"));
/// # Ok::<(), laputa::Error>(())
/// ```
pub type BlockingStream<S = std::net::TcpStream> = MaybeTls<S, StreamOwned<ClientConnection, S>>;

/// Runs a TLS client handshake over `stream` for `server_name` (the URL's host: a DNS name, or
/// an IP address, for which no SNI is sent) and returns the TLS stream, handshake complete, so
/// that a refused certificate fails here, at connect, and not at the first read.
///
/// `deadline` bounds the whole handshake: every read and write waits at most until then
/// (through the stream's read and write timeouts, which are restored before returning), and an
/// [`io::ErrorKind::TimedOut`] error says it passed. `None` waits as long as the stream's own
/// timeouts let it (a timeout ends the handshake, which cannot resume).
///
/// A TLS failure is an error of kind `InvalidData` whose [`rustls_error`](super::rustls_error)
/// says why; the alert that tells the server is sent first. Nothing falls back to plain TCP.
///
/// ```
/// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
/// # let pki = support::Pki::new();
/// # let server = support::serve_blocking(support::server_config(&pki.expired, None));
/// # let connector = pki.connector();
/// use laputa::tls::{self, rustls::{CertificateError, Error as TlsError}};
/// use std::net::TcpStream;
/// use std::time::{Duration, Instant};
///
/// // The server on `server.addr` presents a certificate that expired yesterday.
/// let deadline = Instant::now() + Duration::from_secs(5);
/// let tcp = TcpStream::connect(server.addr)?;
/// let error = tls::handshake_blocking(tcp, "localhost", &connector, Some(deadline)).unwrap_err();
/// assert!(matches!(
///     tls::rustls_error(&error),
///     Some(TlsError::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }))
/// ));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn handshake_blocking<S: Stream>(
    mut stream: S,
    server_name: &str,
    connector: &TlsConnector,
    deadline: Option<Instant>,
) -> io::Result<StreamOwned<ClientConnection, S>> {
    let name = super::server_name(server_name)?;
    let mut connection = ClientConnection::new(connector.config().clone(), name)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    handshake(&mut connection, &mut stream, deadline, "server")?;
    tracing::debug!(
        server = server_name,
        version = ?connection.protocol_version(),
        alpn = ?connection.alpn_protocol().map(String::from_utf8_lossy),
        "TLS handshake complete"
    );
    Ok(StreamOwned::new(connection, stream))
}

/// A blocking server's TLS stream, handshake complete (by default over a
/// [`TcpStream`](std::net::TcpStream)): what [`TlsAcceptor::accept_blocking`] returns, a
/// [`blocking::Stream`](Stream) that [`blocking::accept`](crate::blocking::accept) upgrades.
/// Its session (the client's certificates, ALPN) is [`ServerTlsStream::connection`](super::ServerTlsStream::connection).
///
/// ```
/// use laputa::tls::{BlockingServerStream, ServerTlsStream};
///
/// // The certificate the client presented, for a session's context.
/// fn client_certificate(stream: &BlockingServerStream) -> Option<Vec<u8>> {
///     Some(stream.peer_certificates()?.first()?.to_vec())
/// }
/// ```
pub type BlockingServerStream<S = std::net::TcpStream> = StreamOwned<ServerConnection, S>;

impl TlsAcceptor {
    /// Runs a TLS server handshake over `stream` (a connection a listener accepted) and returns
    /// the TLS stream, handshake complete, for [`blocking::accept`](crate::blocking::accept).
    ///
    /// `deadline` bounds the whole handshake: every read and write waits at most until then
    /// (through the stream's read and write timeouts, which are restored before returning), and
    /// an [`io::ErrorKind::TimedOut`] error says it passed, so a client that connects and sends
    /// nothing, or trickles its hello, holds a thread only that long. `None` waits as long as
    /// the stream's own timeouts let it.
    ///
    /// A client that does not speak TLS (a plain HTTP request, say), a certificate the
    /// settings refuse, or no certificate where one is required, is an error of kind
    /// `InvalidData` whose [`rustls_error`](super::rustls_error) says why; the alert that tells
    /// the client is sent first. A client that closes the connection midway is `UnexpectedEof`.
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// use laputa::tls::{self, rustls, TlsAcceptor};
    /// use std::io::Write;
    /// use std::net::{TcpListener, TcpStream};
    /// use std::time::{Duration, Instant};
    ///
    /// let acceptor = TlsAcceptor::from_pem(pki.leaf.chain_pem.as_bytes(), pki.leaf.key_pem.as_bytes())?;
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    ///
    /// // A client that sends plain HTTP to the TLS port.
    /// let mut client = TcpStream::connect(listener.local_addr()?)?;
    /// client.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
    /// let (tcp, _) = listener.accept()?;
    /// let error = acceptor.accept_blocking(tcp, Some(Instant::now() + Duration::from_secs(5))).unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    /// assert!(matches!(tls::rustls_error(&error), Some(rustls::Error::InvalidMessage(_))));
    ///
    /// // A client that sends nothing: the deadline ends the wait.
    /// let _silent = TcpStream::connect(listener.local_addr()?)?;
    /// let (tcp, _) = listener.accept()?;
    /// let error = acceptor.accept_blocking(tcp, Some(Instant::now() + Duration::from_millis(100))).unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept_blocking<S: Stream>(
        &self,
        mut stream: S,
        deadline: Option<Instant>,
    ) -> io::Result<StreamOwned<ServerConnection, S>> {
        let mut connection =
            ServerConnection::new(self.config().clone()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        handshake(&mut connection, &mut stream, deadline, "client")?;
        super::log_accepted(&connection);
        Ok(StreamOwned::new(connection, stream))
    }
}

/// Runs the handshake within `deadline` and gives the stream its own timeouts back, whatever
/// happened.
fn handshake<C, D, S>(connection: &mut C, stream: &mut S, deadline: Option<Instant>, peer: &str) -> io::Result<()>
where
    C: DerefMut + Deref<Target = ConnectionCommon<D>>,
    D: SideData,
    S: Stream,
{
    let saved = (Stream::read_timeout(stream)?, Stream::write_timeout(stream)?);
    let result = drive(connection, stream, deadline, peer);
    let restored = Stream::set_read_timeout(stream, saved.0).and(Stream::set_write_timeout(stream, saved.1));
    result.and(restored)
}

/// The handshake's loop: write what rustls has, read what it wants, until it is done and
/// everything it wrote is out.
/// `peer` ("server" or "client") names the other side in errors.
fn drive<C, D, S>(connection: &mut C, stream: &mut S, deadline: Option<Instant>, peer: &str) -> io::Result<()>
where
    C: DerefMut + Deref<Target = ConnectionCommon<D>>,
    D: SideData,
    S: Stream,
{
    loop {
        while connection.wants_write() {
            bound(stream, deadline, Stream::set_write_timeout)?;
            connection.write_tls(stream).map_err(timed_out)?;
        }
        stream.flush()?;
        if !connection.is_handshaking() {
            return Ok(());
        }
        bound(stream, deadline, Stream::set_read_timeout)?;
        if connection.read_tls(stream).map_err(timed_out)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the {peer} closed the connection during the TLS handshake"),
            ));
        }
        if let Err(error) = connection.process_new_packets() {
            // Tell the peer why (the alert rustls queued), within the deadline, then fail.
            while connection.wants_write() {
                if bound(stream, deadline, Stream::set_write_timeout).is_err() || connection.write_tls(stream).is_err()
                {
                    break;
                }
            }
            tracing::debug!(%error, "TLS handshake failed");
            return Err(io::Error::new(io::ErrorKind::InvalidData, error));
        }
    }
}

/// Sets a read or write timeout to what is left before the deadline; fails once it has
/// passed. Without a deadline the application's own timeouts stay.
fn bound<S: Stream>(
    stream: &mut S,
    deadline: Option<Instant>,
    set: fn(&mut S, Option<Duration>) -> io::Result<()>,
) -> io::Result<()> {
    let Some(deadline) = deadline else { return Ok(()) };
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(super::handshake_timeout());
    }
    set(stream, Some(left))
}

/// A read or write that gave up on its timeout ends the handshake, which cannot resume.
fn timed_out(error: io::Error) -> io::Error {
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => super::handshake_timeout(),
        _ => error,
    }
}

/// A TLS stream (client or server side) as a WebSocket's stream: its timeouts are the
/// socket's, and the write side's shutdown sends TLS `close_notify`, then the TCP FIN.
///
/// ```
/// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
/// # let pki = support::Pki::new();
/// # let server = support::serve_blocking(support::server_config(&pki.leaf, None));
/// # let connector = pki.connector();
/// use laputa::blocking::Stream;
/// use laputa::tls;
/// use std::io::Read;
/// use std::net::TcpStream;
/// use std::time::Duration;
///
/// let mut tls = tls::handshake_blocking(TcpStream::connect(server.addr)?, "localhost", &connector, None)?;
/// Stream::set_read_timeout(&mut tls, Some(Duration::from_secs(5)))?;
/// assert_eq!(tls.sock.read_timeout()?, Some(Duration::from_secs(5)));
/// tls.shutdown_write()?; // close_notify, then FIN: the server sees the end of the stream
/// # Ok::<(), std::io::Error>(())
/// ```
impl<C, D, S> Stream for StreamOwned<C, S>
where
    C: DerefMut + Deref<Target = ConnectionCommon<D>>,
    D: SideData,
    S: Stream,
{
    fn shutdown_write(&mut self) -> io::Result<()> {
        // RFC 8446 section 6.1: "Each party MUST send a "close_notify" alert before closing
        // its write side of the connection, unless it has already sent some error alert."
        self.conn.send_close_notify();
        self.flush()?;
        self.sock.shutdown_write()
    }

    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.sock.read_timeout()
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(timeout)
    }

    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.sock.write_timeout()
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.set_write_timeout(timeout)
    }
}
