//! What [`MaybeTls`](crate::MaybeTls) can reach inside a client TLS stream: the stream beneath
//! it and the TLS session.

use crate::maybe_tls::MaybeTls;
use rustls::ClientConnection;
use std::io::{Read, Write};

/// A client TLS stream over an I/O stream `Io`: rustls' [`StreamOwned`](rustls::StreamOwned),
/// tokio-rustls' and futures-rustls' `client::TlsStream`. Sealed: it names what [`MaybeTls`]
/// can reach inside them.
///
/// ```
/// use laputa::tls::ClientTlsStream;
///
/// // The protocol a TLS client stream agreed on, whatever its I/O family.
/// fn alpn<T: ClientTlsStream>(stream: &T) -> Option<&[u8]> {
///     stream.connection().alpn_protocol()
/// }
/// ```
pub trait ClientTlsStream: sealed::Sealed {
    /// The stream TLS runs over.
    type Io;

    /// The stream TLS runs over.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let server = support::serve_blocking(support::server_config(&pki.leaf, None));
    /// # let connector = pki.connector();
    /// use laputa::tls::{self, ClientTlsStream};
    /// use std::net::TcpStream;
    ///
    /// // `connector` trusts the server on `server.addr`.
    /// let tls = tls::handshake_blocking(TcpStream::connect(server.addr)?, "localhost", &connector, None)?;
    /// assert_eq!(tls.io().peer_addr()?, server.addr);
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn io(&self) -> &Self::Io;

    /// The stream TLS runs over, to set options; reading or writing it breaks the TLS session.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let server = support::serve_blocking(support::server_config(&pki.leaf, None));
    /// # let connector = pki.connector();
    /// use laputa::tls::{self, ClientTlsStream};
    /// use std::net::TcpStream;
    ///
    /// let mut tls = tls::handshake_blocking(TcpStream::connect(server.addr)?, "localhost", &connector, None)?;
    /// tls.io_mut().set_nodelay(true)?;
    /// assert!(tls.io().nodelay()?);
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn io_mut(&mut self) -> &mut Self::Io;

    /// The TLS session: its protocol version, cipher suite, ALPN protocol, the server's
    /// certificates.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let server = support::serve_blocking(support::server_config(&pki.leaf, None));
    /// # let connector = pki.connector();
    /// use laputa::tls::{self, rustls::ProtocolVersion, ClientTlsStream};
    /// use std::net::TcpStream;
    ///
    /// let tls = tls::handshake_blocking(TcpStream::connect(server.addr)?, "localhost", &connector, None)?;
    /// let session = tls.connection();
    /// assert_eq!(session.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    /// assert_eq!(session.alpn_protocol(), Some(&b"http/1.1"[..]));
    /// let certificates = session.peer_certificates().unwrap_or_default();
    /// assert_eq!(certificates.len(), 2, "the server's and its intermediate");
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn connection(&self) -> &ClientConnection;
}

pub(super) mod sealed {
    /// Keeps [`ClientTlsStream`](super::ClientTlsStream) to the streams this module knows.
    pub trait Sealed {}
}

impl<S: Read + Write> sealed::Sealed for rustls::StreamOwned<ClientConnection, S> {}

impl<S: Read + Write> ClientTlsStream for rustls::StreamOwned<ClientConnection, S> {
    type Io = S;

    fn io(&self) -> &S {
        self.get_ref()
    }

    fn io_mut(&mut self) -> &mut S {
        self.get_mut()
    }

    fn connection(&self) -> &ClientConnection {
        &self.conn
    }
}

impl<S, T: ClientTlsStream<Io = S>> MaybeTls<S, T> {
    /// The stream beneath TLS, or the plain stream: the TCP socket of either variant.
    ///
    /// ```
    /// use laputa::tls::{BlockingStream, MaybeTls};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let addr = listener.local_addr()?;
    ///
    /// let stream: BlockingStream = MaybeTls::Plain(std::net::TcpStream::connect(addr)?);
    /// assert_eq!(stream.get_ref().peer_addr()?, addr);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &S {
        match self {
            Self::Plain(stream) => stream,
            Self::Tls(tls) => tls.io(),
        }
    }

    /// The stream beneath TLS, or the plain stream, to set options; reading or writing it
    /// directly breaks the TLS session.
    ///
    /// ```
    /// use laputa::tls::{BlockingStream, MaybeTls};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///
    /// let mut stream: BlockingStream = MaybeTls::Plain(std::net::TcpStream::connect(listener.local_addr()?)?);
    /// stream.get_mut().set_nodelay(true)?;
    /// assert!(stream.get_ref().nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        match self {
            Self::Plain(stream) => stream,
            Self::Tls(tls) => tls.io_mut(),
        }
    }

    /// The TLS session, if this is the TLS variant: protocol version, ALPN protocol, the
    /// server's certificates.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let server = support::serve_blocking(support::server_config(&pki.leaf, None));
    /// # let connector = pki.connector();
    /// use laputa::tls::{self, BlockingStream, MaybeTls};
    /// use std::net::TcpStream;
    ///
    /// let tls = tls::handshake_blocking(TcpStream::connect(server.addr)?, "localhost", &connector, None)?;
    /// let stream: BlockingStream = MaybeTls::Tls(Box::new(tls));
    /// let session = stream.tls().expect("a TLS stream");
    /// assert_eq!(session.alpn_protocol(), Some(&b"http/1.1"[..]));
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn tls(&self) -> Option<&ClientConnection> {
        match self {
            Self::Plain(_) => None,
            Self::Tls(tls) => Some(tls.connection()),
        }
    }
}
