//! TLS for clients and servers (`wss://`) with rustls (feature `rustls`), on every runtime.
//!
//! - [`TlsConnector`] is what a client trusts and presents: the platform's roots
//!   (rustls-platform-verifier) or Mozilla's (feature `webpki-roots`), roots of your own, a
//!   verification callback (websocket-sharp's `ServerCertificateValidationCallback`), a client
//!   certificate. It is cheap to clone (an `Arc<rustls::ClientConfig>` inside), and its clones
//!   share one session cache, so a reconnect resumes the TLS session.
//! - The handshake functions start TLS over a connected stream and complete the handshake
//!   before they return, within a deadline, so that a refused certificate is the error of the
//!   connect: [`handshake_blocking`] (features `blocking` and `rustls`), [`handshake_tokio`]
//!   (`tokio`), [`handshake_futures`] (`smol` or `async-std`).
//! - [`MaybeTls`] is a stream that is plain (`ws://`) or TLS (`wss://`), so that one
//!   `WebSocket` type serves both: [`BlockingStream`], [`TokioStream`] and [`FuturesStream`]
//!   name it for each I/O family. Closing it sends TLS `close_notify` before the TCP FIN.
//! - [`TlsAcceptor`] is what a server presents (a certificate chain and key, from PEM files or
//!   rustls types; ALPN `http/1.1`) and which client certificates it asks for (required or
//!   optional, against roots of your own, with a callback after the chain is verified). Its
//!   handshakes, [`accept_blocking`](TlsAcceptor::accept_blocking), `accept_tokio` and
//!   `accept_futures` (or [`ServerTransport`](crate::runtime::ServerTransport) for code generic
//!   over the runtime), complete within a deadline, so a client that never finishes its hello
//!   holds nothing past it; [`ServerTlsStream`] reads the session (the client's certificates)
//!   afterwards.
//!
//! A TLS failure is an error, never a fall back to plain TCP. A certificate the verifier
//! refused is an [`io::Error`] of kind `InvalidData` carrying the [`rustls::Error`] that says
//! why (`UnknownIssuer`, `NotValidForName`, `Expired`...): [`rustls_error`] finds it, as the
//! example shows.
//!
//! ```
//! # #[cfg(feature = "blocking")] {
//! # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
//! # let pki = support::Pki::new();
//! # let server = support::serve_blocking(support::server_config(&pki.leaf, None));
//! # let (addr, ca_pem) = (server.addr, pki.ca_pem.as_bytes());
//! use laputa::tls::{self, MaybeTls, TlsConnector};
//! use laputa::{blocking, ClientRequest, Config};
//! use std::net::TcpStream;
//! use std::time::{Duration, Instant};
//!
//! // A wss:// echo server on `addr` has a certificate for localhost, issued by the CA `ca_pem`.
//! let connector = TlsConnector::builder().add_roots_pem(ca_pem)?.build()?;
//! let request = ClientRequest::new(&format!("wss://localhost:{}/echo", addr.port()))?;
//! let deadline = Instant::now() + Duration::from_secs(10);
//!
//! let tcp = TcpStream::connect(addr)?;
//! let tls = tls::handshake_blocking(tcp, request.host(), &connector, Some(deadline))?;
//! let stream: tls::BlockingStream = MaybeTls::Tls(Box::new(tls));
//! let (mut ws, _response) = blocking::client(stream, request, Config::default())?;
//! assert_eq!(ws.get_ref().tls().and_then(|tls| tls.alpn_protocol()), Some(&b"http/1.1"[..]));
//! ws.send("BALUS")?;
//! assert_eq!(ws.read()?.as_text(), Some("BALUS"));
//! ws.close()?;
//!
//! // The same server under a name its certificate does not have: refused, and why.
//! let tcp = TcpStream::connect(addr)?;
//! let error = tls::handshake_blocking(tcp, "example.com", &connector, Some(deadline)).unwrap_err();
//! assert!(matches!(
//!     tls::rustls_error(&error),
//!     Some(tls::rustls::Error::InvalidCertificate(tls::rustls::CertificateError::NotValidForNameContext { .. }))
//! ));
//! # server.join().expect("the first connection echoed");
//! # }
//! # Ok::<(), laputa::Error>(())
//! ```

mod acceptor;
mod connector;
mod server_stream;
mod stream;
mod verify;

#[cfg(feature = "blocking")]
mod blocking;
#[cfg(feature = "_futures_io")]
mod futures;
#[cfg(feature = "tokio")]
mod tokio;

pub use self::acceptor::{TlsAcceptor, TlsAcceptorBuilder};
#[cfg(feature = "blocking")]
pub use self::blocking::{handshake_blocking, BlockingServerStream, BlockingStream};
pub use self::connector::{ServerCertCheck, TlsConnector, TlsConnectorBuilder};
#[cfg(feature = "_futures_io")]
pub use self::futures::{handshake_futures, FuturesServerStream, FuturesStream};
pub use self::server_stream::ServerTlsStream;
pub use self::stream::ClientTlsStream;
#[cfg(feature = "tokio")]
pub use self::tokio::{handshake_tokio, TokioServerStream, TokioStream};
pub use crate::maybe_tls::MaybeTls;

/// The rustls this module is built on, for the types of its API (errors, certificates,
/// [`rustls::ClientConfig`] for [`TlsConnector::from_rustls`]).
pub use rustls;

#[cfg(any(feature = "blocking", feature = "tokio", feature = "_futures_io"))]
use rustls::pki_types::ServerName;
use std::io;

/// The [`rustls::Error`] inside an I/O error, if a TLS failure caused it: a certificate the
/// verifier refused (`InvalidCertificate(UnknownIssuer)`, `NotValidForName`, `Expired`, or
/// `ApplicationVerificationFailure` from a callback that refused without a reason), an alert
/// from the server (`AlertReceived(CertificateRequired)` when it wants a client certificate),
/// a peer that does not speak TLS (`InvalidContentType`).
///
/// rustls and its async wrappers report these as `io::Error::new(InvalidData, rustls_error)`,
/// so [`io::Error::get_ref`] holds it; the standard `source()` chain skips it (an
/// `io::Error`'s `source` is its inner error's source), which is why this function exists.
/// From a [`laputa::Error`](crate::Error), match `Error::Io(e)` first.
///
/// ```
/// use laputa::tls::{rustls, rustls_error};
/// use rustls::{CertificateError, Error as TlsError};
/// use std::io;
///
/// // What the verifier's refusal looks like when it reaches the caller.
/// let error = io::Error::new(io::ErrorKind::InvalidData, TlsError::InvalidCertificate(CertificateError::Expired));
/// let why = match rustls_error(&error) {
///     Some(TlsError::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. })) => {
///         "the certificate has expired"
///     }
///     Some(TlsError::InvalidCertificate(CertificateError::UnknownIssuer)) => "issued by a CA we do not trust",
///     Some(_) => "another TLS failure",
///     None => "not a TLS failure",
/// };
/// assert_eq!(why, "the certificate has expired");
///
/// // Through laputa's error type:
/// let error = laputa::Error::from(error);
/// let laputa::Error::Io(io_error) = &error else { unreachable!() };
/// assert!(rustls_error(io_error).is_some());
/// assert!(rustls_error(&io::Error::from(io::ErrorKind::ConnectionReset)).is_none());
/// ```
pub fn rustls_error(error: &io::Error) -> Option<&rustls::Error> {
    error.get_ref()?.downcast_ref::<rustls::Error>()
}

/// The name rustls checks the certificate against and sends as SNI: a DNS name, or an IP
/// address (with or without the brackets of a URL), for which no SNI is sent (RFC 6066
/// section 3: "Literal IPv4 and IPv6 addresses are not permitted in "HostName"").
#[cfg(any(feature = "blocking", feature = "tokio", feature = "_futures_io"))]
fn server_name(host: &str) -> io::Result<ServerName<'static>> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    ServerName::try_from(bare.to_owned()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

/// Logs what a server handshake agreed on.
#[cfg(any(feature = "blocking", feature = "tokio", feature = "_futures_io"))]
fn log_accepted(connection: &rustls::ServerConnection) {
    tracing::debug!(
        sni = connection.server_name(),
        version = ?connection.protocol_version(),
        alpn = ?connection.alpn_protocol().map(String::from_utf8_lossy),
        client_certificate = connection.peer_certificates().is_some(),
        "TLS handshake complete"
    );
}

/// The error of a TLS handshake that did not complete before its deadline.
#[cfg(any(feature = "blocking", feature = "tokio", feature = "_futures_io"))]
fn handshake_timeout() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the TLS handshake did not complete before its deadline")
}

/// Runs an async handshake until it completes or `sleep` (the deadline) fires: the part of the
/// async handshake functions that the runtimes share.
#[cfg(any(feature = "tokio", feature = "_futures_io"))]
async fn within<T, S: std::future::Future>(
    handshake: impl std::future::Future<Output = io::Result<T>>,
    sleep: Option<S>,
) -> io::Result<T> {
    use std::task::Poll;
    let mut handshake = std::pin::pin!(handshake);
    let mut sleep = std::pin::pin!(sleep);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = handshake.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        match sleep.as_mut().as_pin_mut() {
            Some(sleep) => sleep.poll(cx).map(|_| Err(handshake_timeout())),
            None => Poll::Pending,
        }
    })
    .await
}

#[cfg(all(test, any(feature = "blocking", feature = "tokio", feature = "_futures_io")))]
mod tests {
    use super::*;

    #[test]
    fn server_names() {
        let name = server_name("example.com").unwrap();
        assert!(matches!(name, ServerName::DnsName(ref dns) if dns.as_ref() == "example.com"));
        // IP addresses, bare (as `ClientRequest::host` gives them) or bracketed: no SNI for them.
        assert!(matches!(server_name("127.0.0.1").unwrap(), ServerName::IpAddress(_)));
        assert!(matches!(server_name("::1").unwrap(), ServerName::IpAddress(_)));
        assert!(matches!(server_name("[::1]").unwrap(), ServerName::IpAddress(_)));
        let error = server_name("not a name!").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(server_name("").is_err());
    }
}
