//! [`MaybeTls`]: a stream that is plain or TLS, with the I/O traits of every family.

use rustls::ClientConnection;
use std::io::{self, IoSlice, Read, Write};

/// A stream that is plain (`ws://`) or TLS over it (`wss://`), so that a client connects to
/// both with one `WebSocket` type. The TLS stream is boxed: it holds rustls' buffers and state
/// (a kilobyte and more), which a plain connection should not carry.
///
/// It has the I/O traits its variants have, for each family: `Read`, `Write` and
/// [`blocking::Stream`](crate::blocking::Stream) ([`BlockingStream`](super::BlockingStream)),
/// tokio's `AsyncRead` and `AsyncWrite` ([`TokioStream`](super::TokioStream)), and the
/// `futures-io` traits with [`async_std::Stream`](crate::async_std::Stream)
/// ([`FuturesStream`](super::FuturesStream)). Shutting down its write side sends TLS
/// `close_notify`, then the TCP FIN.
///
/// ```
/// # #[cfg(feature = "blocking")] {
/// use laputa::tls::{BlockingStream, MaybeTls};
/// use laputa::{blocking, ClientRequest, Config};
/// use std::net::TcpStream;
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let addr = listener.local_addr()?;
/// # let server = std::thread::spawn(move || -> Result<(), laputa::Error> {
/// #     let mut ws = blocking::accept(listener.accept()?.0)?;
/// #     let message = ws.read()?;
/// #     ws.send(message)
/// # });
///
/// // A ws:// echo server listens on `addr`: the same type as a wss:// connection.
/// let stream: BlockingStream = MaybeTls::Plain(TcpStream::connect(addr)?);
/// let request = ClientRequest::new(&format!("ws://{addr}/"))?;
/// let (mut ws, _) = blocking::client(stream, request, Config::default())?;
/// assert!(!ws.get_ref().is_tls());
/// ws.send("BALUS")?;
/// assert_eq!(ws.read()?.as_text(), Some("BALUS"));
/// # server.join().expect("the server thread")?;
/// # }
/// # Ok::<(), laputa::Error>(())
/// ```
#[derive(Debug)]
pub enum MaybeTls<S, T> {
    /// The stream as it is (`ws://`).
    Plain(S),
    /// TLS over the stream (`wss://`), after its handshake.
    Tls(Box<T>),
}

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

impl<S, T> MaybeTls<S, T> {
    /// Whether this is the TLS variant.
    ///
    /// ```
    /// use laputa::tls::{BlockingStream, MaybeTls};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///
    /// let plain: BlockingStream = MaybeTls::Plain(std::net::TcpStream::connect(listener.local_addr()?)?);
    /// assert!(!plain.is_tls());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Tls(_))
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

impl<S: Read, T: Read> Read for MaybeTls<S, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.read(buf),
            Self::Tls(tls) => tls.read(buf),
        }
    }
}

impl<S: Write, T: Write> Write for MaybeTls<S, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.write(buf),
            Self::Tls(tls) => tls.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.write_vectored(bufs),
            Self::Tls(tls) => tls.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(stream) => stream.flush(),
            Self::Tls(tls) => tls.flush(),
        }
    }
}

/// The async I/O traits, by delegation to the variant: one macro for tokio's and futures-io's,
/// whose methods differ in the read buffer and the name of the shutdown.
#[cfg(any(feature = "tokio", feature = "_futures_io"))]
macro_rules! delegate {
    ($self:ident, $stream:ident => $call:expr) => {
        match $self.get_mut() {
            MaybeTls::Plain($stream) => {
                let $stream = std::pin::Pin::new($stream);
                $call
            }
            MaybeTls::Tls(tls) => {
                let $stream = std::pin::Pin::new(&mut **tls);
                $call
            }
        }
    };
}

#[cfg(feature = "tokio")]
mod tokio_io {
    use super::MaybeTls;
    use std::io::{self, IoSlice};
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    impl<S: AsyncRead + Unpin, T: AsyncRead + Unpin> AsyncRead for MaybeTls<S, T> {
        fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            delegate!(self, stream => stream.poll_read(cx, buf))
        }
    }

    impl<S: AsyncWrite + Unpin, T: AsyncWrite + Unpin> AsyncWrite for MaybeTls<S, T> {
        fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            delegate!(self, stream => stream.poll_write(cx, buf))
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            delegate!(self, stream => stream.poll_write_vectored(cx, bufs))
        }

        fn is_write_vectored(&self) -> bool {
            match self {
                MaybeTls::Plain(stream) => stream.is_write_vectored(),
                MaybeTls::Tls(tls) => tls.is_write_vectored(),
            }
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            delegate!(self, stream => stream.poll_flush(cx))
        }

        /// TLS `close_notify`, then the stream's own shutdown (tokio's TCP: the FIN).
        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            delegate!(self, stream => stream.poll_shutdown(cx))
        }
    }
}

#[cfg(feature = "_futures_io")]
mod futures_io_impl {
    use super::MaybeTls;
    use futures_io::{AsyncRead, AsyncWrite};
    use std::io::{self, IoSlice};
    use std::pin::Pin;
    use std::task::{Context, Poll};

    impl<S: AsyncRead + Unpin, T: AsyncRead + Unpin> AsyncRead for MaybeTls<S, T> {
        fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
            delegate!(self, stream => stream.poll_read(cx, buf))
        }
    }

    impl<S: AsyncWrite + Unpin, T: AsyncWrite + Unpin> AsyncWrite for MaybeTls<S, T> {
        fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            delegate!(self, stream => stream.poll_write(cx, buf))
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            delegate!(self, stream => stream.poll_write_vectored(cx, bufs))
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            delegate!(self, stream => stream.poll_flush(cx))
        }

        /// TLS `close_notify`, then the stream's own `poll_close` (smol's TCP: the FIN;
        /// async-std's only flushes, which its [`Stream`](crate::async_std::Stream) impl makes
        /// up for).
        fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            delegate!(self, stream => stream.poll_close(cx))
        }
    }
}
