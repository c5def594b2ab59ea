//! TLS for the `futures-io` adapters (smol, async-std): futures-rustls' client stream, and a
//! handshake bounded by a deadline on `async-io`'s timer.

use super::stream::sealed::Sealed;
use super::{within, ClientTlsStream, MaybeTls, TlsAcceptor, TlsConnector};
use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::client::TlsStream;
use rustls::ClientConnection;
use std::io;
use std::time::Instant;

/// A `futures-io` stream, plain or TLS: what a smol or async-std client over `ws://` and
/// `wss://` alike runs on.
///
/// ```
/// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
/// # #[cfg(feature = "smol")] {
/// use laputa::tls::{self, FuturesStream, MaybeTls};
/// use laputa::{ClientRequest, Config};
/// use smol::net::TcpStream;
///
/// async fn open(url: &str, connector: &tls::TlsConnector) -> Result<laputa::smol::WebSocket<FuturesStream<TcpStream>>, laputa::Error> {
///     let request = ClientRequest::new(url)?;
///     let tcp = TcpStream::connect((request.host(), request.port())).await?;
///     let stream = match request.is_secure() {
///         true => MaybeTls::Tls(Box::new(tls::handshake_futures(tcp, request.host(), connector, None).await?)),
///         false => MaybeTls::Plain(tcp),
///     };
///     Ok(laputa::smol::client(stream, request, Config::default()).await?.0)
/// }
///
/// # let pki = support::Pki::new();
/// # let server = support::serve_blocking(support::server_config(&pki.leaf, None));
/// # let connector = pki.connector();
/// smol::block_on(async {
///     // A wss:// echo server on `server.addr` that `connector` trusts.
///     let mut ws = open(&format!("wss://localhost:{}/", server.addr.port()), &connector).await?;
///     ws.send("BALUS").await?;
///     assert_eq!(ws.recv().await?.as_text(), Some("BALUS"));
///     Ok::<(), laputa::Error>(())
/// })?;
/// # }
/// # Ok::<(), laputa::Error>(())
/// ```
pub type FuturesStream<S> = MaybeTls<S, TlsStream<S>>;

/// Runs a TLS client handshake over `stream` for `server_name` (the URL's host: a DNS name, or
/// an IP address, for which no SNI is sent) and returns the TLS stream, handshake complete, so
/// that a refused certificate fails here, at connect. `deadline` bounds it (`async-io`'s
/// timer, an [`io::ErrorKind::TimedOut`] error); `None` waits as long as the server takes.
///
/// A TLS failure is an error of kind `InvalidData` whose [`rustls_error`](super::rustls_error)
/// says why. Nothing falls back to plain TCP.
///
/// ```
/// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
/// # #[cfg(feature = "smol")] {
/// use laputa::tls::{self, rustls::{CertificateError, Error as TlsError}};
/// use std::time::{Duration, Instant};
///
/// # let pki = support::Pki::new();
/// # let server = support::serve_blocking(support::server_config(&pki.untrusted, None));
/// # let connector = pki.connector();
/// smol::block_on(async {
///     // The server on `server.addr` has a certificate from a CA that `connector` does not trust.
///     let tcp = smol::net::TcpStream::connect(server.addr).await?;
///     let deadline = Instant::now() + Duration::from_secs(5);
///     let error = tls::handshake_futures(tcp, "localhost", &connector, Some(deadline)).await.unwrap_err();
///     assert!(matches!(tls::rustls_error(&error), Some(TlsError::InvalidCertificate(CertificateError::UnknownIssuer))));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn handshake_futures<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    server_name: &str,
    connector: &TlsConnector,
    deadline: Option<Instant>,
) -> io::Result<TlsStream<S>> {
    let name = super::server_name(server_name)?;
    let connect = futures_rustls::TlsConnector::from(connector.config().clone()).connect(name, stream);
    let tls = within(connect, deadline.map(async_io::Timer::at)).await?;
    tracing::debug!(server = server_name, alpn = ?tls.get_ref().1.alpn_protocol().map(String::from_utf8_lossy), "TLS handshake complete");
    Ok(tls)
}

impl<S> Sealed for TlsStream<S> {}

impl<S> ClientTlsStream for TlsStream<S> {
    type Io = S;

    fn io(&self) -> &S {
        self.get_ref().0
    }

    fn io_mut(&mut self) -> &mut S {
        self.get_mut().0
    }

    fn connection(&self) -> &ClientConnection {
        self.get_ref().1
    }
}

/// A `futures-io` server's TLS stream (smol, async-std), handshake complete: what
/// [`TlsAcceptor::accept_futures`] returns, which `laputa::smol::accept` or
/// `laputa::async_std::accept` upgrades. Its session (the client's certificates, ALPN) is
/// [`ServerTlsStream::connection`](super::ServerTlsStream::connection).
///
/// ```
/// use laputa::tls::{FuturesServerStream, ServerTlsStream};
///
/// // Whether the client presented a certificate.
/// fn authenticated<S>(stream: &FuturesServerStream<S>) -> bool {
///     stream.peer_certificates().is_some()
/// }
/// ```
pub type FuturesServerStream<S> = futures_rustls::server::TlsStream<S>;

impl TlsAcceptor {
    /// Runs a TLS server handshake over `stream` (a connection a listener accepted) and returns
    /// the TLS stream, handshake complete, for `laputa::smol::accept` or
    /// `laputa::async_std::accept`. `deadline` bounds it (`async-io`'s timer, an
    /// [`io::ErrorKind::TimedOut`] error), so a client that sends nothing holds a task only that
    /// long; `None` waits as long as the client takes.
    ///
    /// A client that does not speak TLS, or whose certificate the settings refuse, is an error
    /// of kind `InvalidData` whose [`rustls_error`](super::rustls_error) says why.
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # #[cfg(feature = "smol")] {
    /// # let pki = support::Pki::new();
    /// use laputa::tls::TlsAcceptor;
    /// use std::time::{Duration, Instant};
    ///
    /// smol::block_on(async {
    ///     let acceptor = TlsAcceptor::from_pem(pki.leaf.chain_pem.as_bytes(), pki.leaf.key_pem.as_bytes())?;
    ///     let listener = smol::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     // A client that connects and says nothing.
    ///     let _silent = smol::net::TcpStream::connect(addr).await?;
    ///     let (tcp, _) = listener.accept().await?;
    ///     let error = acceptor.accept_futures(tcp, Some(Instant::now() + Duration::from_millis(100))).await.unwrap_err();
    ///     assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept_futures<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
        deadline: Option<Instant>,
    ) -> io::Result<FuturesServerStream<S>> {
        let accept = futures_rustls::TlsAcceptor::from(self.config().clone()).accept(stream);
        let tls = within(accept, deadline.map(async_io::Timer::at)).await?;
        super::log_accepted(tls.get_ref().1);
        Ok(tls)
    }
}

#[cfg(feature = "async-std")]
mod async_std_stream {
    use crate::async_std::Stream;
    use std::io;
    use std::pin::Pin;
    use std::task::{ready, Context, Poll};

    /// A client TLS stream as an async-std WebSocket's stream.
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// use laputa::async_std::Stream;
    /// use laputa::tls;
    /// use std::pin::Pin;
    ///
    /// # let pki = support::Pki::new();
    /// # let server = support::serve_blocking(support::server_config(&pki.leaf, None));
    /// # let connector = pki.connector();
    /// async_std::task::block_on(async {
    ///     let tcp = async_std::net::TcpStream::connect(server.addr).await?;
    ///     let mut tls = tls::handshake_futures(tcp, "localhost", &connector, None).await?;
    ///     // close_notify, then FIN: the server sees the end of the stream.
    ///     std::future::poll_fn(|cx| Pin::new(&mut tls).poll_shutdown_write(cx)).await
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    impl<S: Stream> Stream for futures_rustls::client::TlsStream<S> {
        fn poll_shutdown_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            // futures-rustls' `poll_close` sends `close_notify` and calls the stream's
            // `poll_close`, which on async-std only flushes: the FIN comes after.
            ready!(futures_io::AsyncWrite::poll_close(self.as_mut(), cx))?;
            Pin::new(self.get_mut().get_mut().0).poll_shutdown_write(cx)
        }
    }

    /// A server TLS stream as an async-std WebSocket's stream (a `wss://` server).
    ///
    /// ```
    /// use laputa::async_std::Stream;
    ///
    /// fn is_stream<S: Stream>() {}
    /// is_stream::<futures_rustls::server::TlsStream<async_std::net::TcpStream>>();
    /// ```
    impl<S: Stream> Stream for futures_rustls::server::TlsStream<S> {
        fn poll_shutdown_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            // futures-rustls' `poll_close` sends `close_notify` and calls the stream's
            // `poll_close`, which on async-std only flushes: the FIN comes after.
            ready!(futures_io::AsyncWrite::poll_close(self.as_mut(), cx))?;
            Pin::new(self.get_mut().get_mut().0).poll_shutdown_write(cx)
        }
    }
}
