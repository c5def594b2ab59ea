//! What a server can read of a TLS stream it accepted: the stream beneath and the TLS session,
//! with the client's certificates for a session's context.

use rustls::pki_types::CertificateDer;
use rustls::ServerConnection;
use std::io::{Read, Write};

/// A server TLS stream over an I/O stream `Io`: rustls' [`StreamOwned`](rustls::StreamOwned)
/// ([`BlockingServerStream`](super::BlockingServerStream)), tokio-rustls' and futures-rustls'
/// `server::TlsStream`. Sealed.
///
/// ```
/// use laputa::tls::ServerTlsStream;
///
/// // Who the client is, by its certificate's DER, whatever the I/O family.
/// fn client_id<T: ServerTlsStream>(stream: &T) -> Option<Vec<u8>> {
///     Some(stream.peer_certificates()?.first()?.to_vec())
/// }
/// ```
pub trait ServerTlsStream: sealed::Sealed {
    /// The stream TLS runs over.
    type Io;

    /// The stream TLS runs over.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let (addr, accepted) = support::accept_one_blocking(&pki.leaf, None);
    /// # let client = laputa::tls::handshake_blocking(std::net::TcpStream::connect(addr)?, "localhost", &pki.connector(), None)?;
    /// use laputa::tls::ServerTlsStream;
    ///
    /// // `accepted`: what `TlsAcceptor::accept_blocking` returned for `client`.
    /// let tls = accepted.join().unwrap()?;
    /// assert_eq!(tls.io().peer_addr()?, client.sock.local_addr()?);
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
    /// # let (addr, accepted) = support::accept_one_blocking(&pki.leaf, None);
    /// # let _client = laputa::tls::handshake_blocking(std::net::TcpStream::connect(addr)?, "localhost", &pki.connector(), None)?;
    /// use laputa::tls::ServerTlsStream;
    ///
    /// let mut tls = accepted.join().unwrap()?;
    /// tls.io_mut().set_nodelay(true)?;
    /// assert!(tls.io().nodelay()?);
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn io_mut(&mut self) -> &mut Self::Io;

    /// The TLS session: protocol version, cipher suite, ALPN protocol, the name the client
    /// asked for (SNI), the client's certificates.
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let (addr, accepted) = support::accept_one_blocking(&pki.leaf, None);
    /// # let _client = laputa::tls::handshake_blocking(std::net::TcpStream::connect(addr)?, "localhost", &pki.connector(), None)?;
    /// use laputa::tls::{rustls::ProtocolVersion, ServerTlsStream};
    ///
    /// let tls = accepted.join().unwrap()?;
    /// let session = tls.connection();
    /// assert_eq!(session.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    /// assert_eq!(session.alpn_protocol(), Some(&b"http/1.1"[..]));
    /// assert_eq!(session.server_name(), Some("localhost"));
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn connection(&self) -> &ServerConnection;

    /// The certificate chain the client presented (its own first, then its intermediates),
    /// verified by the acceptor's roots and callback; `None` when it presented none (no
    /// certificate was asked for, or one was optional).
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let (addr, accepted) = support::accept_one_blocking(&pki.leaf, Some(&pki.client_ca_pem));
    /// # let connector = laputa::tls::TlsConnector::builder().add_root_der(pki.ca.clone()).only_added_roots()
    /// #     .client_auth_pem(pki.client.chain_pem.as_bytes(), pki.client.key_pem.as_bytes())?.build()?;
    /// # let mut client = laputa::tls::handshake_blocking(std::net::TcpStream::connect(addr)?, "localhost", &connector, None)?;
    /// # std::io::Write::flush(&mut client)?;
    /// use laputa::tls::ServerTlsStream;
    ///
    /// // A client presented the certificate `pki.client` to an acceptor that requires one.
    /// let tls = accepted.join().unwrap()?;
    /// let chain = tls.peer_certificates().expect("a client certificate");
    /// assert_eq!(chain, &pki.client.chain[..]);
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.connection().peer_certificates()
    }
}

pub(super) mod sealed {
    /// Keeps [`ServerTlsStream`](super::ServerTlsStream) to the streams this module knows.
    pub trait Sealed {}
}

impl<S: Read + Write> sealed::Sealed for rustls::StreamOwned<ServerConnection, S> {}

impl<S: Read + Write> ServerTlsStream for rustls::StreamOwned<ServerConnection, S> {
    type Io = S;

    fn io(&self) -> &S {
        self.get_ref()
    }

    fn io_mut(&mut self) -> &mut S {
        self.get_mut()
    }

    fn connection(&self) -> &ServerConnection {
        &self.conn
    }
}

#[cfg(feature = "tokio")]
impl<S> sealed::Sealed for tokio_rustls::server::TlsStream<S> {}

/// tokio-rustls' server stream ([`TokioServerStream`](super::TokioServerStream)).
#[cfg(feature = "tokio")]
impl<S> ServerTlsStream for tokio_rustls::server::TlsStream<S> {
    type Io = S;

    fn io(&self) -> &S {
        self.get_ref().0
    }

    fn io_mut(&mut self) -> &mut S {
        self.get_mut().0
    }

    fn connection(&self) -> &ServerConnection {
        self.get_ref().1
    }
}

#[cfg(feature = "_futures_io")]
impl<S> sealed::Sealed for futures_rustls::server::TlsStream<S> {}

/// futures-rustls' server stream ([`FuturesServerStream`](super::FuturesServerStream)).
#[cfg(feature = "_futures_io")]
impl<S> ServerTlsStream for futures_rustls::server::TlsStream<S> {
    type Io = S;

    fn io(&self) -> &S {
        self.get_ref().0
    }

    fn io_mut(&mut self) -> &mut S {
        self.get_mut().0
    }

    fn connection(&self) -> &ServerConnection {
        self.get_ref().1
    }
}
