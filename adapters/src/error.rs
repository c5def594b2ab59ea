//! The error type shared by every adapter.

use bytes::Bytes;
use laputa_core::connect::ConnectError;
use laputa_core::handshake::HandshakeError;
use laputa_core::{Closed, ProtocolError};
use std::{fmt, io};

/// What can go wrong when driving a WebSocket over a socket.
///
/// ```
/// use laputa::Error;
///
/// fn describe(error: &Error) -> String {
///     match error {
///         Error::Io(e) if error.is_timeout() => format!("quiet for too long: {e}"),
///         Error::Io(e) => format!("the socket failed: {e}"),
///         Error::Closed(closed) => format!("closed with {}", closed.code),
///         Error::Ws(e) => format!("refused: {e}"),
///         _ => error.to_string(), // `Error` is non_exhaustive
///     }
/// }
///
/// # #[cfg(feature = "blocking")] {
/// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
/// # use std::io::Write;
/// # use std::net::{Shutdown, TcpListener, TcpStream};
/// // Not a WebSocket URL: refused before connecting.
/// let error = laputa::blocking::connect("ftp://example.com/").unwrap_err();
/// assert!(describe(&error).starts_with("refused: "), "{error}");
///
/// // `ws` is the server end of a connection; `client` a raw socket, its peer.
/// # let listener = TcpListener::bind("127.0.0.1:0")?;
/// # let mut client = TcpStream::connect(listener.local_addr()?)?;
/// # let mut ws = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
/// // A close frame with code 1001, masked with the key 0 (which leaves the payload as it is).
/// client.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe9])?;
/// client.shutdown(Shutdown::Write)?;
/// let error = ws.read().unwrap_err();
/// assert_eq!(describe(&error), "closed with 1001");
/// # }
/// # Ok::<(), laputa::Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed (or a read/write timeout set on it expired; the connection stays usable
    /// after a timeout and nothing read or written so far is lost).
    Io(io::Error),
    /// The connection is over. [`Closed`] says how: the close code and reason, whether the close
    /// handshake completed, and the protocol error if the peer broke the protocol.
    Closed(Closed),
    /// The core refused: a failed handshake, or local misuse such as an invalid close code.
    Ws(laputa_core::Error),
    /// The server answered the upgrade with a status other than `101`: its status, headers and
    /// the start of its body (what came with the head). A `401` after the credentials were
    /// refused (or with none given), a redirect while redirects are off, any other status.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")]
    /// # fn run() -> Result<(), laputa::Error> {
    /// match laputa::blocking::connect("ws://127.0.0.1:9001/private") {
    ///     Err(laputa::Error::Http(response)) if response.status() == 401 => println!("wrong password"),
    ///     Err(laputa::Error::Http(response)) => println!("refused: {}", String::from_utf8_lossy(response.body())),
    ///     other => drop(other?),
    /// }
    /// # Ok(()) }
    /// ```
    Http(Box<http::Response<Bytes>>),
    /// The proxy refused the tunnel: a `407` after the proxy credentials were refused (or with
    /// none given), or any other status but `2xx`; as for [`Http`](Self::Http).
    Proxy(Box<http::Response<Bytes>>),
    /// The connect failed otherwise: its deadline passed, a redirect could not be followed, the
    /// proxy's answer was not HTTP, or the connection closed before the answer.
    Connect(ConnectError),
}

impl Error {
    /// True when the connection is over (normally or not), as opposed to a failure of the call:
    /// [`Error::Closed`], and a send that the core refused because the close handshake has
    /// begun (`Error::Ws(laputa_core::Error::Closed)`), so that a loop that stops on
    /// `is_closed` stops whichever call found the connection closing.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # use std::io::Write;
    /// # use std::net::{Shutdown, TcpListener, TcpStream};
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// # let mut client = TcpStream::connect(listener.local_addr()?)?;
    /// # let mut ws = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # // A masked text frame "Hello" (RFC 6455 section 5.7), then a close frame with code 1000.
    /// # client.write_all(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])?;
    /// # client.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])?;
    /// # client.shutdown(Shutdown::Write)?;
    /// // The client sends "Hello", then closes.
    /// let mut received = Vec::new();
    /// loop {
    ///     match ws.read() {
    ///         Ok(message) => received.push(message),
    ///         Err(e) if e.is_closed() => break,
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// assert_eq!(received.len(), 1);
    /// assert_eq!(received[0].as_text(), Some("Hello"));
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_) | Self::Ws(laputa_core::Error::Closed))
    }

    /// The protocol error the peer committed, if that is why the connection ended.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// use laputa::{CloseCode, ProtocolError};
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # use std::io::Write;
    /// # use std::net::{Shutdown, TcpListener, TcpStream};
    ///
    /// // `ws` is the server end of a connection; `client` a raw socket, its peer.
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// # let mut client = TcpStream::connect(listener.local_addr()?)?;
    /// # let mut ws = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// // A text frame "Hello" without a mask, which only a server may send.
    /// client.write_all(&[0x81, 0x05, b'H', b'e', b'l', b'l', b'o'])?;
    /// client.shutdown(Shutdown::Write)?;
    /// let error = ws.read().unwrap_err();
    /// assert_eq!(error.protocol_error(), Some(&ProtocolError::UnmaskedFrame));
    /// let laputa::Error::Closed(closed) = &error else { panic!("not closed: {error:?}") };
    /// assert_eq!(closed.code, CloseCode::PROTOCOL_ERROR); // the close code `ws` sent
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn protocol_error(&self) -> Option<&ProtocolError> {
        match self {
            Self::Closed(closed) => closed.error.as_ref(),
            Self::Ws(laputa_core::Error::Protocol(e)) => Some(e),
            _ => None,
        }
    }

    /// The handshake error, if the opening handshake failed (for example a 401 to a client).
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// use http::StatusCode;
    /// use laputa::{blocking, ClientRequest, Config, HandshakeError};
    /// # use std::io::Write;
    /// # use std::net::{TcpListener, TcpStream};
    ///
    /// // `stream` is connected to a server that wants credentials.
    /// # let listener = TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = TcpStream::connect(listener.local_addr()?)?;
    /// # let (mut server, _) = listener.accept()?;
    /// # server.write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"Laputa\"\r\n\
    /// #     Content-Length: 0\r\n\r\n")?;
    /// let request = ClientRequest::new("ws://example.com/castle")?;
    /// let error = blocking::client(stream, request, Config::default()).unwrap_err();
    /// match error.handshake_error() {
    ///     Some(HandshakeError::UnexpectedStatus { status, headers, .. }) => {
    ///         assert_eq!(*status, StatusCode::UNAUTHORIZED);
    ///         assert_eq!(headers["www-authenticate"], r#"Basic realm="Laputa""#);
    ///     }
    ///     other => panic!("not a 401: {other:?}"),
    /// }
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn handshake_error(&self) -> Option<&HandshakeError> {
        match self {
            Self::Ws(laputa_core::Error::Handshake(e)) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of a connect or accept that failed with one: the server's answer
    /// ([`Error::Http`]), the proxy's ([`Error::Proxy`]), or the status a server answered a
    /// bad upgrade request with.
    ///
    /// ```
    /// use laputa::http::{Response, StatusCode};
    /// use laputa::Error;
    ///
    /// let mut response = Response::new(Default::default());
    /// *response.status_mut() = StatusCode::UNAUTHORIZED;
    /// assert_eq!(Error::Http(Box::new(response)).http_status(), Some(StatusCode::UNAUTHORIZED));
    /// assert_eq!(Error::Io(std::io::ErrorKind::TimedOut.into()).http_status(), None);
    /// ```
    pub fn http_status(&self) -> Option<http::StatusCode> {
        match self {
            Self::Http(response) | Self::Proxy(response) => Some(response.status()),
            Self::Ws(laputa_core::Error::Handshake(e)) => e.http_status(),
            _ => None,
        }
    }

    /// True for a timeout set on the socket (`WouldBlock` or `TimedOut`): retry the call.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// use std::time::Duration;
    /// # use laputa::{blocking::WebSocket, core::Connection, Config, Role};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let mut peer = WebSocket::from_upgraded(listener.accept()?.0, Connection::new(Role::Server, Config::default()));
    /// # let mut ws = WebSocket::from_upgraded(stream, Connection::new(Role::Client, Config::default()));
    ///
    /// // `peer` is the other end of the connection, and quiet.
    /// ws.get_mut().set_read_timeout(Some(Duration::from_millis(10)))?;
    /// let error = ws.read().unwrap_err();
    /// assert!(error.is_timeout(), "{error}");
    /// // Nothing is lost: retry.
    /// peer.send("still here")?;
    /// assert_eq!(ws.read()?.as_text(), Some("still here"));
    /// # }
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Io(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Closed(closed) => {
                write!(f, "connection closed with code {}", closed.code)?;
                if !closed.reason.is_empty() {
                    write!(f, " ({})", closed.reason)?;
                }
                match &closed.error {
                    Some(e) => write!(f, ": {e}"),
                    None => Ok(()),
                }
            }
            Self::Ws(e) => fmt::Display::fmt(e, f),
            Self::Http(response) => write!(f, "server answered {} instead of 101", response.status()),
            Self::Proxy(response) => write!(f, "proxy refused the tunnel: {}", response.status()),
            Self::Connect(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Closed(closed) => closed.error.as_ref().map(|e| e as _),
            Self::Ws(e) => Some(e),
            Self::Connect(e) => Some(e),
            Self::Http(_) | Self::Proxy(_) => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<laputa_core::Error> for Error {
    fn from(e: laputa_core::Error) -> Self {
        Self::Ws(e)
    }
}

impl From<ConnectError> for Error {
    /// An answer other than `101` becomes [`Error::Http`] or [`Error::Proxy`]; a failed
    /// handshake [`Error::Ws`], as from the handshake types; the rest [`Error::Connect`].
    fn from(e: ConnectError) -> Self {
        let response = |status, headers: Box<http::HeaderMap>, body| {
            let mut response = http::Response::new(body);
            *response.status_mut() = status;
            *response.headers_mut() = *headers;
            Box::new(response)
        };
        match e {
            ConnectError::Status { status, headers, body } => Self::Http(response(status, headers, body)),
            ConnectError::Proxy { status, headers, body } => Self::Proxy(response(status, headers, body)),
            ConnectError::Handshake(e) => e.into(),
            // The deadline over the connect is the handshake's timeout.
            ConnectError::Timeout => HandshakeError::Timeout.into(),
            other => Self::Connect(other),
        }
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Self::Ws(e.into())
    }
}
