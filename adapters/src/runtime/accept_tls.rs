//! [`ServerTransport`]: what a runtime adds for `wss://` servers, so that a server generic over
//! the runtime starts TLS on the connections it accepts without naming a TLS crate.

use super::{RuntimeIo, TcpRuntime};
#[cfg(feature = "rustls")]
use std::future::Future;
#[cfg(feature = "rustls")]
use std::io;
#[cfg(feature = "rustls")]
use std::time::Instant;

/// What a runtime adds for `wss://` servers: the TLS stream over its TCP stream and the server
/// handshake that makes one ([`tls_accept`](Self::tls_accept), feature `rustls`), which the
/// runtime drives as it drives TCP (`RuntimeIo<Self::TlsServerStream>`). Implemented by
/// [`Tokio`](crate::tokio::Tokio), [`Smol`](crate::smol::Smol) and
/// [`AsyncStd`](crate::async_std::AsyncStd).
///
/// The trait exists without the `rustls` feature (its stream is then [`NoTls`](crate::NoTls),
/// which cannot be made, and `tls_accept` is absent), so that a bound `R: ServerTransport`
/// compiles whatever the features.
///
/// ```
/// # #[cfg(all(feature = "tokio", feature = "rustls"))] {
/// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
/// use laputa::runtime::{self, Runtime, ServerTransport};
/// use laputa::tls::{ServerTlsStream, TlsAcceptor};
/// use std::time::{Duration, Instant};
///
/// /// Serves wss:// echo on any runtime, one task per connection.
/// async fn serve<R: ServerTransport>(listener: R::TcpListener, acceptor: TlsAcceptor) {
///     loop {
///         let Ok((tcp, _)) = R::accept(&listener).await else { continue };
///         let acceptor = acceptor.clone();
///         drop(R::spawn(async move {
///             // A client that does not finish its TLS handshake in 10 s is dropped.
///             let deadline = Instant::now() + Duration::from_secs(10);
///             let Ok(tls) = R::tls_accept(&acceptor, tcp, Some(deadline)).await else { return };
///             let Ok(mut ws) = runtime::accept::<_, R>(tls).await else { return };
///             while let Ok(message) = ws.recv().await {
///                 if ws.send(message).await.is_err() {
///                     break;
///                 }
///             }
///         }));
///     }
/// }
///
/// # let pki = support::Pki::new();
/// # let (chain_pem, key_pem, connector) = (pki.leaf.chain_pem.as_bytes(), pki.leaf.key_pem.as_bytes(), pki.connector());
/// tokio::runtime::Runtime::new()?.block_on(async {
///     use laputa::tokio::Tokio;
///     let listener = Tokio::bind("127.0.0.1:0").await?;
///     let port = Tokio::local_addr(&listener)?.port();
///     tokio::spawn(serve::<Tokio>(listener, TlsAcceptor::from_pem(chain_pem, key_pem)?));
///
///     // A client that trusts the server certificate's CA (`connector`).
///     let builder = laputa::ClientBuilder::new(&format!("wss://localhost:{port}/"))?.tls(connector);
///     let (mut ws, _) = laputa::tokio::connect(builder).await?;
///     ws.send("BALUS").await?;
///     assert_eq!(ws.recv().await?.as_text(), Some("BALUS"));
///     Ok::<(), laputa::Error>(())
/// })?;
/// # }
/// # Ok::<(), laputa::Error>(())
/// ```
pub trait ServerTransport: TcpRuntime + RuntimeIo<<Self as ServerTransport>::TlsServerStream> {
    /// TLS over the runtime's TCP stream, handshake complete: tokio-rustls' or futures-rustls'
    /// `server::TlsStream` (see [`ServerTlsStream`](crate::tls::ServerTlsStream) for its
    /// session and the client's certificates).
    type TlsServerStream: Unpin + Send + 'static;

    /// Runs the TLS server handshake over an accepted TCP stream with `acceptor`'s settings,
    /// within `deadline` (an [`io::ErrorKind::TimedOut`] error once it passes). A client that
    /// does not speak TLS, or whose certificate is refused, is an error of kind `InvalidData`
    /// whose [`rustls_error`](crate::tls::rustls_error) says why.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// use laputa::runtime::{Runtime, ServerTransport};
    /// use laputa::smol::Smol;
    /// use laputa::tls::{self, TlsAcceptor};
    /// use smol::io::AsyncWriteExt;
    /// use std::time::{Duration, Instant};
    ///
    /// smol::block_on(async {
    ///     let acceptor = TlsAcceptor::from_pem(pki.leaf.chain_pem.as_bytes(), pki.leaf.key_pem.as_bytes())?;
    ///     let listener = Smol::bind("127.0.0.1:0").await?;
    ///     // A client that speaks plain HTTP to the TLS port.
    ///     let mut client = smol::net::TcpStream::connect(Smol::local_addr(&listener)?).await?;
    ///     client.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await?;
    ///     let (tcp, _) = Smol::accept(&listener).await?;
    ///     let deadline = Instant::now() + Duration::from_secs(5);
    ///     let error = Smol::tls_accept(&acceptor, tcp, Some(deadline)).await.unwrap_err();
    ///     assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    ///     assert!(tls::rustls_error(&error).is_some());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(feature = "rustls")]
    fn tls_accept(
        acceptor: &crate::tls::TlsAcceptor,
        tcp: Self::TcpStream,
        deadline: Option<Instant>,
    ) -> impl Future<Output = io::Result<Self::TlsServerStream>> + Send;
}

/// Implements [`ServerTransport`] for `$runtime` with the acceptor's `$accept` handshake, whose
/// stream is `$tls_stream` over the runtime's TCP stream.
macro_rules! impl_server_transport {
    ($runtime:ty, $tls_stream:ident, $accept:ident) => {
        impl ServerTransport for $runtime {
            #[cfg(feature = "rustls")]
            type TlsServerStream = crate::tls::$tls_stream<<$runtime as super::Runtime>::TcpStream>;
            #[cfg(not(feature = "rustls"))]
            type TlsServerStream = crate::NoTls;

            #[cfg(feature = "rustls")]
            fn tls_accept(
                acceptor: &crate::tls::TlsAcceptor,
                tcp: Self::TcpStream,
                deadline: Option<Instant>,
            ) -> impl Future<Output = io::Result<Self::TlsServerStream>> + Send {
                let acceptor = acceptor.clone();
                async move { acceptor.$accept(tcp, deadline).await }
            }
        }
    };
}

#[cfg(feature = "tokio")]
impl_server_transport!(crate::tokio::Tokio, TokioServerStream, accept_tokio);
#[cfg(feature = "smol")]
impl_server_transport!(crate::smol::Smol, FuturesServerStream, accept_futures);
#[cfg(feature = "async-std")]
impl_server_transport!(crate::async_std::AsyncStd, FuturesServerStream, accept_futures);
