//! TLS for the tokio adapter: tokio-rustls' client stream, and a handshake bounded by a deadline.

use super::stream::sealed::Sealed;
use super::{within, ClientTlsStream, MaybeTls, TlsAcceptor, TlsConnector};
use rustls::ClientConnection;
use std::io;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;

/// A tokio stream, plain or TLS: what a tokio client over `ws://` and `wss://` alike runs on
/// (by default over a [`TcpStream`](tokio::net::TcpStream)).
///
/// ```
/// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
/// use laputa::tls::{self, MaybeTls, TokioStream};
/// use laputa::{ClientRequest, Config};
///
/// async fn open(url: &str, connector: &tls::TlsConnector) -> Result<laputa::tokio::WebSocket<TokioStream>, laputa::Error> {
///     let request = ClientRequest::new(url)?;
///     let tcp = tokio::net::TcpStream::connect((request.host(), request.port())).await?;
///     let stream = match request.is_secure() {
///         true => MaybeTls::Tls(Box::new(tls::handshake_tokio(tcp, request.host(), connector, None).await?)),
///         false => MaybeTls::Plain(tcp),
///     };
///     Ok(laputa::tokio::client(stream, request, Config::default()).await?.0)
/// }
///
/// tokio::runtime::Runtime::new()?.block_on(async {
/// #   let pki = support::Pki::new();
/// #   let server = support::serve_tokio(support::server_config(&pki.leaf, None));
/// #   let connector = pki.connector();
///     // A wss:// echo server on `server.addr` that `connector` trusts.
///     let mut ws = open(&format!("wss://localhost:{}/", server.addr.port()), &connector).await?;
///     ws.send("BALUS").await?;
///     assert_eq!(ws.recv().await?.as_text(), Some("BALUS"));
///     Ok::<(), laputa::Error>(())
/// })?;
/// # Ok::<(), laputa::Error>(())
/// ```
pub type TokioStream<S = tokio::net::TcpStream> = MaybeTls<S, TlsStream<S>>;

/// Runs a TLS client handshake over `stream` for `server_name` (the URL's host: a DNS name, or
/// an IP address, for which no SNI is sent) and returns the TLS stream, handshake complete, so
/// that a refused certificate fails here, at connect. `deadline` bounds it (tokio's timer, an
/// [`io::ErrorKind::TimedOut`] error; so it runs, as every function of
/// [`laputa::tokio`](crate::tokio), in a runtime with its time driver on); `None` waits as long
/// as the server takes.
///
/// A TLS failure is an error of kind `InvalidData` whose [`rustls_error`](super::rustls_error)
/// says why. Nothing falls back to plain TCP.
///
/// ```
/// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
/// use laputa::tls::{self, rustls::{CertificateError, Error as TlsError}};
/// use std::time::{Duration, Instant};
///
/// tokio::runtime::Runtime::new()?.block_on(async {
/// #   let pki = support::Pki::new();
/// #   let server = support::serve_tokio(support::server_config(&pki.other_name, None));
/// #   let connector = pki.connector();
///     // The server on `server.addr` presents a certificate for another name.
///     let tcp = tokio::net::TcpStream::connect(server.addr).await?;
///     let deadline = Instant::now() + Duration::from_secs(5);
///     let error = tls::handshake_tokio(tcp, "localhost", &connector, Some(deadline)).await.unwrap_err();
///     assert!(matches!(
///         tls::rustls_error(&error),
///         Some(TlsError::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }))
///     ));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn handshake_tokio<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    server_name: &str,
    connector: &TlsConnector,
    deadline: Option<Instant>,
) -> io::Result<TlsStream<S>> {
    let name = super::server_name(server_name)?;
    let connect = tokio_rustls::TlsConnector::from(connector.config().clone()).connect(name, stream);
    let tls = within(connect, deadline.map(|deadline| tokio::time::sleep_until(deadline.into()))).await?;
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

/// A tokio server's TLS stream, handshake complete (by default over a
/// [`TcpStream`](tokio::net::TcpStream)): what [`TlsAcceptor::accept_tokio`] returns, which
/// [`laputa::tokio::accept`](crate::tokio::accept) upgrades. Its session (the client's
/// certificates, ALPN) is [`ServerTlsStream::connection`](super::ServerTlsStream::connection).
///
/// ```
/// use laputa::tls::{ServerTlsStream, TokioServerStream};
///
/// // The name the client asked for (SNI), for a server of several names.
/// fn asked_for(stream: &TokioServerStream) -> Option<&str> {
///     stream.connection().server_name()
/// }
/// ```
pub type TokioServerStream<S = tokio::net::TcpStream> = tokio_rustls::server::TlsStream<S>;

impl TlsAcceptor {
    /// Runs a TLS server handshake over `stream` (a connection a listener accepted) and returns
    /// the TLS stream, handshake complete, for [`laputa::tokio::accept`](crate::tokio::accept).
    /// `deadline` bounds it (tokio's timer, an [`io::ErrorKind::TimedOut`] error; so it runs in
    /// a runtime with its time driver on), so a client that sends nothing holds a task only that
    /// long; `None` waits as long as the client takes.
    ///
    /// A client that does not speak TLS, or whose certificate the settings refuse, is an error
    /// of kind `InvalidData` whose [`rustls_error`](super::rustls_error) says why.
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let connector = pki.connector();
    /// use laputa::tls::TlsAcceptor;
    /// use std::time::{Duration, Instant};
    ///
    /// tokio::runtime::Runtime::new()?.block_on(async {
    ///     let acceptor = TlsAcceptor::from_pem(pki.leaf.chain_pem.as_bytes(), pki.leaf.key_pem.as_bytes())?;
    ///     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     let server = tokio::spawn(async move {
    ///         let (tcp, _) = listener.accept().await?;
    ///         let tls = acceptor.accept_tokio(tcp, Some(Instant::now() + Duration::from_secs(10))).await?;
    ///         let mut ws = laputa::tokio::accept(tls).await?;
    ///         let message = ws.recv().await?;
    ///         ws.send(message).await
    ///     });
    ///
    ///     // A client that trusts the certificate's CA (`connector`).
    ///     let builder = laputa::ClientBuilder::new(&format!("wss://localhost:{}/", addr.port()))?.tls(connector);
    ///     let (mut ws, _) = laputa::tokio::connect(builder).await?;
    ///     ws.send("BALUS").await?;
    ///     assert_eq!(ws.recv().await?.as_text(), Some("BALUS"));
    ///     server.await.expect("the server task")
    /// })?;
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub async fn accept_tokio<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
        deadline: Option<Instant>,
    ) -> io::Result<TokioServerStream<S>> {
        let accept = tokio_rustls::TlsAcceptor::from(self.config().clone()).accept(stream);
        let tls = within(accept, deadline.map(|deadline| tokio::time::sleep_until(deadline.into()))).await?;
        super::log_accepted(tls.get_ref().1);
        Ok(tls)
    }
}
