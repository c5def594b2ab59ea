//! wss:// with rustls on every I/O family: certificates made at test time (rcgen), rustls
//! servers (blocking `StreamOwned` and tokio-rustls) that upgrade with laputa's `accept`, and
//! clients that run `laputa::tls`'s handshake, then laputa's `client` over the TLS stream.
#![cfg(feature = "rustls")]

#[allow(dead_code, unreachable_pub)]
mod tls_support;

use laputa::tls::rustls::{self, AlertDescription, CertificateError};
use laputa::tls::{self as laputa_tls, TlsConnector};
use laputa::CloseCode;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tls_support::{server_config, Pki};

/// The I/O families a client can run on, as far as the features allow.
#[derive(Debug, Clone, Copy)]
enum Family {
    #[cfg(feature = "blocking")]
    Blocking,
    #[cfg(feature = "tokio")]
    Tokio,
    #[cfg(feature = "smol")]
    Smol,
    #[cfg(feature = "async-std")]
    AsyncStd,
}

const FAMILIES: &[Family] = &[
    #[cfg(feature = "blocking")]
    Family::Blocking,
    #[cfg(feature = "tokio")]
    Family::Tokio,
    #[cfg(feature = "smol")]
    Family::Smol,
    #[cfg(feature = "async-std")]
    Family::AsyncStd,
];

/// What the client saw of a connection that worked.
#[derive(Debug)]
struct Echoed {
    alpn: Option<Vec<u8>>,
    reply: Option<String>,
    clean: bool,
}

fn deadline() -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(10))
}

/// Connects to `addr` as `wss://host:port/`: TCP, TLS for `host` (the handshake under test),
/// then laputa's client handshake over the TLS stream; sends "BALUS", reads the echo, closes.
fn echo(family: Family, addr: SocketAddr, host: &str, connector: &TlsConnector) -> Result<Echoed, laputa::Error> {
    let url = format!(
        "wss://{}:{}/echo",
        if host.contains(':') { format!("[{host}]") } else { host.to_owned() },
        addr.port()
    );
    let request = laputa::ClientRequest::new(&url)?;
    let config = laputa::Config::default();
    match family {
        #[cfg(feature = "blocking")]
        Family::Blocking => {
            let tcp = std::net::TcpStream::connect(addr)?;
            let tls = laputa_tls::handshake_blocking(tcp, request.host(), connector, deadline())?;
            let stream: laputa_tls::BlockingStream = laputa_tls::MaybeTls::Tls(Box::new(tls));
            let (mut ws, response) = laputa::blocking::client(stream, request, config)?;
            assert_eq!(response.status(), 101);
            let alpn = ws.get_ref().tls().and_then(|tls| tls.alpn_protocol()).map(<[u8]>::to_vec);
            ws.send("BALUS")?;
            let reply = ws.read()?.as_text().map(str::to_owned);
            ws.close()?;
            Ok(Echoed { alpn, reply, clean: ws.closed().is_some_and(|closed| closed.clean) })
        }
        #[cfg(feature = "tokio")]
        Family::Tokio => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let tcp = tokio::net::TcpStream::connect(addr).await?;
                let tls = laputa_tls::handshake_tokio(tcp, request.host(), connector, deadline()).await?;
                let stream: laputa_tls::TokioStream = laputa_tls::MaybeTls::Tls(Box::new(tls));
                let (mut ws, _) = laputa::tokio::client(stream, request, config).await?;
                let alpn = ws.get_ref().tls().and_then(|tls| tls.alpn_protocol()).map(<[u8]>::to_vec);
                ws.send("BALUS").await?;
                let reply = ws.recv().await?.as_text().map(str::to_owned);
                ws.close().await?;
                Ok(Echoed { alpn, reply, clean: ws.closed().is_some_and(|closed| closed.clean) })
            })
        }
        #[cfg(feature = "smol")]
        Family::Smol => smol::block_on(async {
            let tcp = smol::net::TcpStream::connect(addr).await?;
            let tls = laputa_tls::handshake_futures(tcp, request.host(), connector, deadline()).await?;
            let stream: laputa_tls::FuturesStream<_> = laputa_tls::MaybeTls::Tls(Box::new(tls));
            let (mut ws, _) = laputa::smol::client(stream, request, config).await?;
            let alpn = ws.get_ref().tls().and_then(|tls| tls.alpn_protocol()).map(<[u8]>::to_vec);
            ws.send("BALUS").await?;
            let reply = ws.recv().await?.as_text().map(str::to_owned);
            ws.close().await?;
            Ok(Echoed { alpn, reply, clean: ws.closed().is_some_and(|closed| closed.clean) })
        }),
        #[cfg(feature = "async-std")]
        Family::AsyncStd => async_std::task::block_on(async {
            let tcp = async_std::net::TcpStream::connect(addr).await?;
            let tls = laputa_tls::handshake_futures(tcp, request.host(), connector, deadline()).await?;
            let stream: laputa_tls::FuturesStream<_> = laputa_tls::MaybeTls::Tls(Box::new(tls));
            let (mut ws, _) = laputa::async_std::client(stream, request, config).await?;
            let alpn = ws.get_ref().tls().and_then(|tls| tls.alpn_protocol()).map(<[u8]>::to_vec);
            ws.send("BALUS").await?;
            let reply = ws.recv().await?.as_text().map(str::to_owned);
            ws.close().await?;
            Ok(Echoed { alpn, reply, clean: ws.closed().is_some_and(|closed| closed.clean) })
        }),
    }
}

/// The rustls error that failed a connection.
fn tls_error(error: &laputa::Error) -> &rustls::Error {
    let laputa::Error::Io(io_error) = error else { panic!("not an I/O error: {error:?}") };
    laputa_tls::rustls_error(io_error).unwrap_or_else(|| panic!("no rustls error inside: {io_error:?}"))
}

/// Asserts that a connection worked end to end: the echo came back, ALPN `http/1.1` on both
/// sides, SNI as expected, and both sides closed cleanly (TLS close_notify, then FIN).
fn assert_echoed(family: Family, echoed: Echoed, seen: tls_support::Seen, sni: Option<&str>) {
    assert_eq!(echoed.reply.as_deref(), Some("BALUS"), "{family:?}");
    assert_eq!(echoed.alpn.as_deref(), Some(&b"http/1.1"[..]), "{family:?}");
    assert!(echoed.clean, "{family:?}: the client's close was not clean");
    assert_eq!(seen.alpn.as_deref(), Some(&b"http/1.1"[..]), "{family:?}: the server's ALPN");
    assert_eq!(seen.sni.as_deref(), sni, "{family:?}: the SNI");
    assert_eq!(seen.messages, ["BALUS"], "{family:?}");
    let closed = seen.closed.expect("closed");
    assert!(closed.clean, "{family:?}: the server's close was not clean: {closed:?}");
    assert_eq!(closed.code, CloseCode::NORMAL, "{family:?}");
}

#[cfg(feature = "blocking")]
#[test]
fn a_trusted_chain_passes_and_echoes_on_every_family() {
    let pki = Pki::new();
    let server = tls_support::serve_blocking(server_config(&pki.leaf, None));
    for &family in FAMILIES {
        let echoed = echo(family, server.addr, "localhost", &pki.connector()).expect("a trusted server");
        assert_echoed(family, echoed, server.next().expect("the server's side"), Some("localhost"));
    }
}

#[cfg(feature = "tokio")]
#[test]
fn a_tokio_rustls_server_serves_every_family() {
    let pki = Pki::new();
    let server = tls_support::serve_tokio(server_config(&pki.leaf, None));
    for &family in FAMILIES {
        let echoed = echo(family, server.addr, "localhost", &pki.connector()).expect("a trusted server");
        assert_echoed(family, echoed, server.next().expect("the server's side"), Some("localhost"));
    }
}

#[cfg(feature = "blocking")]
#[test]
fn an_ip_address_is_checked_against_the_certificate_and_sends_no_sni() {
    let pki = Pki::new();
    let server = tls_support::serve_blocking(server_config(&pki.leaf, None));
    for &family in FAMILIES {
        let echoed = echo(family, server.addr, "127.0.0.1", &pki.connector()).expect("valid for 127.0.0.1");
        assert_echoed(family, echoed, server.next().expect("the server's side"), None);
    }
}

#[cfg(feature = "blocking")]
#[test]
fn added_roots_extend_the_platform_roots() {
    let pki = Pki::new();
    let server = tls_support::serve_blocking(server_config(&pki.leaf, None));
    let connector =
        TlsConnector::builder().platform_roots().add_roots_pem(pki.ca_pem.as_bytes()).unwrap().build().unwrap();
    let echoed = echo(Family::Blocking, server.addr, "localhost", &connector).expect("trusted through the added root");
    assert_echoed(Family::Blocking, echoed, server.next().unwrap(), Some("localhost"));
}

/// Runs a connection that must fail the certificate check on every family, and returns the
/// rustls errors; the server must have seen the TLS handshake fail (the client's alert), and no
/// upgrade.
fn refused(server: &tls_support::Server, host: &str, connector: &TlsConnector) -> Vec<rustls::Error> {
    FAMILIES
        .iter()
        .map(|&family| {
            let error = echo(family, server.addr, host, connector).expect_err("a refused certificate");
            let outcome = server.next().expect_err("the server's handshake failed too");
            assert!(outcome.starts_with("TLS: "), "{family:?}: {outcome}");
            tls_error(&error).clone()
        })
        .collect()
}

#[cfg(feature = "blocking")]
#[test]
fn an_untrusted_issuer_is_refused_with_unknown_issuer() {
    let pki = Pki::new();
    let server = tls_support::serve_blocking(server_config(&pki.untrusted, None));
    for error in refused(&server, "localhost", &pki.connector()) {
        assert_eq!(error, rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer));
    }
    // Nor do the platform's roots know that CA.
    let error = echo(Family::Blocking, server.addr, "localhost", &TlsConnector::new()).unwrap_err();
    assert_eq!(*tls_error(&error), rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer));
}

#[cfg(feature = "blocking")]
#[test]
fn a_certificate_for_another_name_is_refused_with_not_valid_for_name() {
    let pki = Pki::new();
    let server = tls_support::serve_blocking(server_config(&pki.other_name, None));
    for error in refused(&server, "localhost", &pki.connector()) {
        assert!(
            matches!(
                error,
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
                )
            ),
            "{error:?}"
        );
    }
}

#[cfg(feature = "blocking")]
#[test]
fn an_expired_certificate_is_refused_with_expired() {
    let pki = Pki::new();
    let server = tls_support::serve_blocking(server_config(&pki.expired, None));
    for error in refused(&server, "localhost", &pki.connector()) {
        assert!(
            matches!(
                error,
                rustls::Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. })
            ),
            "{error:?}"
        );
    }
}

/// What a verification callback was shown.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    chain: Vec<Vec<u8>>,
    server_name: String,
    verdict: Result<(), rustls::Error>,
}

/// A connector that trusts the test root, with a callback that records what it is shown and
/// answers `accept`.
fn recording(pki: &Pki, accept: bool) -> (TlsConnector, Arc<Mutex<Vec<Shown>>>) {
    let shown = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&shown);
    let connector = TlsConnector::builder()
        .add_root_der(pki.ca.clone())
        .only_added_roots()
        .verify_with(move |check| {
            record.lock().unwrap().push(Shown {
                chain: check.chain().map(|der| der.to_vec()).collect(),
                server_name: check.server_name().to_str().into_owned(),
                verdict: check.verdict().map_err(Clone::clone),
            });
            accept
        })
        .build()
        .unwrap();
    (connector, shown)
}

#[cfg(feature = "blocking")]
#[test]
fn the_callback_can_accept_an_untrusted_certificate_and_sees_chain_name_and_verdict() {
    let pki = Pki::new();
    let server = tls_support::serve_blocking(server_config(&pki.untrusted, None));
    for &family in FAMILIES {
        let (connector, shown) = recording(&pki, true);
        let echoed = echo(family, server.addr, "localhost", &connector).expect("accepted by the callback");
        assert_echoed(family, echoed, server.next().unwrap(), Some("localhost"));
        let shown = shown.lock().unwrap();
        let expected = Shown {
            chain: vec![pki.untrusted.chain[0].to_vec()],
            server_name: "localhost".into(),
            verdict: Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)),
        };
        assert_eq!(*shown, [expected], "{family:?}: once, for the one handshake");
    }
}

/// Clones of a connector share its session cache: a second connection resumes the TLS session
/// (RFC 8446 section 2.2), which checks no certificate, so the callback runs once.
#[cfg(feature = "blocking")]
#[test]
fn a_reconnect_resumes_the_session_without_a_second_check() {
    let pki = Pki::new();
    let server = tls_support::serve_blocking(server_config(&pki.untrusted, None));
    let (connector, shown) = recording(&pki, true);
    let kinds: Vec<_> = (0..2)
        .map(|_| {
            let tcp = std::net::TcpStream::connect(server.addr).unwrap();
            let tls = laputa_tls::handshake_blocking(tcp, "localhost", &connector.clone(), deadline()).unwrap();
            let stream: laputa_tls::BlockingStream = laputa_tls::MaybeTls::Tls(Box::new(tls));
            let request = laputa::ClientRequest::new("wss://localhost/").unwrap();
            // The upgrade reads the server's session ticket, which TLS 1.3 sends after its
            // handshake.
            let (mut ws, _) = laputa::blocking::client(stream, request, laputa::Config::default()).unwrap();
            ws.close().unwrap();
            server.next().unwrap();
            ws.get_ref().tls().and_then(|tls| tls.handshake_kind())
        })
        .collect();
    assert_eq!(kinds, [Some(rustls::HandshakeKind::Full), Some(rustls::HandshakeKind::Resumed)]);
    assert_eq!(shown.lock().unwrap().len(), 1, "only the full handshake checks the certificate");
}

#[cfg(feature = "blocking")]
#[test]
fn the_callback_sees_the_whole_chain_and_a_passing_verdict() {
    let pki = Pki::new();
    let server = tls_support::serve_blocking(server_config(&pki.leaf, None));
    let (connector, shown) = recording(&pki, true);
    echo(Family::Blocking, server.addr, "127.0.0.1", &connector).expect("a trusted server");
    server.next().unwrap();
    let shown = shown.lock().unwrap();
    let expected: Vec<Vec<u8>> = pki.leaf.chain.iter().map(|der| der.to_vec()).collect();
    assert_eq!(expected.len(), 2, "the server's certificate and the intermediate");
    assert_eq!(*shown, [Shown { chain: expected, server_name: "127.0.0.1".into(), verdict: Ok(()) }]);
}

#[cfg(feature = "blocking")]
#[test]
fn a_refusing_callback_fails_with_the_default_reason_or_application_failure() {
    let pki = Pki::new();
    let (connector, _) = recording(&pki, false);
    // A certificate the normal verification accepts: refused by the application.
    let server = tls_support::serve_blocking(server_config(&pki.leaf, None));
    for error in refused(&server, "localhost", &connector) {
        assert_eq!(error, rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure));
    }
    // One it refuses as well: the normal reason.
    let server = tls_support::serve_blocking(server_config(&pki.expired, None));
    for error in refused(&server, "localhost", &connector) {
        assert!(
            matches!(
                error,
                rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { .. } | CertificateError::Expired)
            ),
            "{error:?}"
        );
    }
}

#[cfg(feature = "blocking")]
#[test]
fn danger_accept_any_certificate_accepts_expired_and_misnamed_ones() {
    let pki = Pki::new();
    let insecure = TlsConnector::builder().danger_accept_any_certificate().build().unwrap();
    for identity in [&pki.expired, &pki.other_name, &pki.untrusted] {
        let server = tls_support::serve_blocking(server_config(identity, None));
        for &family in FAMILIES {
            let echoed = echo(family, server.addr, "localhost", &insecure).expect("anything goes");
            assert_echoed(family, echoed, server.next().unwrap(), Some("localhost"));
        }
    }
}

#[cfg(feature = "blocking")]
#[test]
fn a_client_certificate_is_presented_when_the_server_requires_one() {
    let pki = Pki::new();
    let server = tls_support::serve_blocking(server_config(&pki.leaf, Some(&pki.client_ca)));
    let with_certificate = TlsConnector::builder()
        .add_roots_pem(pki.ca_pem.as_bytes())
        .unwrap()
        .only_added_roots()
        .client_auth_pem(pki.client.chain_pem.as_bytes(), pki.client.key_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    for &family in FAMILIES {
        let echoed = echo(family, server.addr, "localhost", &with_certificate).expect("a client certificate");
        let seen = server.next().unwrap();
        assert_eq!(seen.client_chain, pki.client.chain, "{family:?}: what the server received");
        assert_echoed(family, echoed, seen, Some("localhost"));
    }
    // Without one, the server refuses: in TLS 1.3 the client has finished its handshake when
    // the server's alert arrives, so the failure is the first read's, in the upgrade.
    for &family in FAMILIES {
        let error = echo(family, server.addr, "localhost", &pki.connector()).expect_err("no client certificate");
        assert_eq!(
            *tls_error(&error),
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
            "{family:?}"
        );
        let outcome = server.next().unwrap_err();
        assert!(outcome.starts_with("TLS: "), "{outcome}");
    }
    // The same certificate in DER form.
    let der = TlsConnector::builder()
        .add_root_der(pki.ca.clone())
        .only_added_roots()
        .client_auth_der(pki.client.chain.clone(), pki.client.key())
        .build()
        .unwrap();
    let echoed = echo(FAMILIES[0], server.addr, "localhost", &der).expect("a client certificate");
    assert_echoed(FAMILIES[0], echoed, server.next().unwrap(), Some("localhost"));
}

/// A peer that answers a ClientHello with plain HTTP: the handshake fails, and nothing is
/// taken as a plain connection.
#[cfg(feature = "blocking")]
#[test]
fn a_peer_that_does_not_speak_tls_fails_the_handshake() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.read(&mut [0; 1024]);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let pki = Pki::new();
    for &family in FAMILIES {
        let error = echo(family, addr, "localhost", &pki.connector()).expect_err("not TLS");
        let laputa::Error::Io(io_error) = &error else { panic!("{family:?}: {error:?}") };
        assert_eq!(io_error.kind(), io::ErrorKind::InvalidData, "{family:?}: {io_error:?}");
        assert!(laputa_tls::rustls_error(io_error).is_some(), "{family:?}: {io_error:?}");
    }
}

/// A server that accepts TCP and never answers: the deadline ends the handshake, and the
/// blocking handshake gives the socket its own timeouts back.
#[test]
fn the_deadline_bounds_a_silent_server() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let held = Arc::new(Mutex::new(Vec::new()));
    let holder = Arc::clone(&held);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            holder.lock().unwrap().push(stream); // kept open, never read
        }
    });
    let pki = Pki::new();
    let connector = pki.connector();
    let wait = Duration::from_millis(300);
    #[cfg(feature = "blocking")]
    {
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(123))).unwrap();
        let kept = tcp.try_clone().unwrap();
        let start = Instant::now();
        let error = laputa_tls::handshake_blocking(tcp, "localhost", &connector, Some(start + wait)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error:?}");
        assert!(start.elapsed() >= wait, "not before the deadline");
        assert_eq!(kept.read_timeout().unwrap(), Some(Duration::from_secs(123)), "restored");
        assert_eq!(kept.write_timeout().unwrap(), None, "restored");
    }
    #[cfg(feature = "tokio")]
    {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let error = runtime.block_on(async {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            laputa_tls::handshake_tokio(tcp, "localhost", &connector, Some(Instant::now() + wait)).await.unwrap_err()
        });
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error:?}");
    }
    #[cfg(feature = "smol")]
    {
        let error = smol::block_on(async {
            let tcp = smol::net::TcpStream::connect(addr).await.unwrap();
            laputa_tls::handshake_futures(tcp, "localhost", &connector, Some(Instant::now() + wait)).await.unwrap_err()
        });
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error:?}");
    }
    #[cfg(feature = "async-std")]
    {
        let error = async_std::task::block_on(async {
            let tcp = async_std::net::TcpStream::connect(addr).await.unwrap();
            laputa_tls::handshake_futures(tcp, "localhost", &connector, Some(Instant::now() + wait)).await.unwrap_err()
        });
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error:?}");
    }
    // A deadline already past fails at once, before any byte is sent.
    #[cfg(feature = "blocking")]
    {
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        let error = laputa_tls::handshake_blocking(tcp, "localhost", &connector, Some(Instant::now())).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }
}

#[test]
fn an_invalid_server_name_is_refused_before_any_io() {
    let pki = Pki::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let _tcp = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    #[cfg(feature = "blocking")]
    {
        let error = laputa_tls::handshake_blocking(_tcp, "bad name!", &pki.connector(), None).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
    let _ = pki;
}

#[test]
fn builder_errors_are_invalid_input() {
    let pki = Pki::new();
    let kind = |result: io::Result<TlsConnector>| result.unwrap_err().kind();
    assert_eq!(kind(TlsConnector::builder().only_added_roots().build()), io::ErrorKind::InvalidInput);
    assert_eq!(kind(TlsConnector::builder().add_root_der(b"junk".to_vec()).build()), io::ErrorKind::InvalidInput);
    assert_eq!(TlsConnector::builder().add_roots_pem(b"").unwrap_err().kind(), io::ErrorKind::InvalidInput);
    // A key that is not the certificate's.
    let mismatched = TlsConnector::builder()
        .client_auth_pem(pki.client.chain_pem.as_bytes(), pki.leaf.key_pem.as_bytes())
        .unwrap()
        .build();
    assert_eq!(kind(mismatched), io::ErrorKind::InvalidInput);
    assert!(TlsConnector::builder().client_auth_pem(b"", pki.leaf.key_pem.as_bytes()).is_err());
    assert!(TlsConnector::builder().client_auth_pem(pki.leaf.chain_pem.as_bytes(), b"").is_err());
    // Several roots in one PEM file.
    let two = format!("{}{}", pki.ca_pem, pki.leaf.chain_pem);
    assert!(TlsConnector::builder().add_roots_pem(two.as_bytes()).unwrap().only_added_roots().build().is_ok());
}

/// A server that reads the raw bytes after its TLS handshake until the client's FIN, checks
/// that they end the TLS session cleanly (close_notify), then answers through TLS on the other,
/// still open, direction and closes it. It reports (close_notify seen, FIN seen).
#[cfg(feature = "blocking")]
fn half_close_server(pki: &Pki) -> (SocketAddr, std::thread::JoinHandle<(bool, bool)>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let config = server_config(&pki.leaf, None);
    let server = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut conn = rustls::ServerConnection::new(config).unwrap();
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp).unwrap();
        }
        let mut raw = Vec::new();
        let fin = tcp.read_to_end(&mut raw).is_ok(); // a timeout if no FIN came
        conn.read_tls(&mut raw.as_slice()).unwrap();
        let close_notify = conn.process_new_packets().is_ok_and(|state| state.peer_has_closed());
        conn.writer().write_all(b"still open").unwrap();
        conn.send_close_notify();
        conn.complete_io(&mut tcp).unwrap();
        tcp.shutdown(std::net::Shutdown::Write).unwrap();
        (close_notify, fin)
    });
    (addr, server)
}

#[cfg(feature = "blocking")]
#[test]
fn shutting_down_the_write_side_sends_close_notify_then_fin_and_keeps_reading() {
    let pki = Pki::new();
    let connector = pki.connector();
    for &family in FAMILIES {
        let (addr, server) = half_close_server(&pki);
        let received = match family {
            Family::Blocking => {
                use laputa::blocking::Stream;
                use std::io::Read;
                let tcp = std::net::TcpStream::connect(addr).unwrap();
                let tls = laputa_tls::handshake_blocking(tcp, "localhost", &connector, deadline()).unwrap();
                let mut stream: laputa_tls::BlockingStream = laputa_tls::MaybeTls::Tls(Box::new(tls));
                stream.shutdown_write().unwrap();
                let mut received = Vec::new();
                stream.read_to_end(&mut received).unwrap();
                received
            }
            #[cfg(feature = "tokio")]
            Family::Tokio => {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async {
                    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
                    let tls = laputa_tls::handshake_tokio(tcp, "localhost", &connector, deadline()).await.unwrap();
                    let mut stream: laputa_tls::TokioStream = laputa_tls::MaybeTls::Tls(Box::new(tls));
                    stream.shutdown().await.unwrap();
                    let mut received = Vec::new();
                    stream.read_to_end(&mut received).await.unwrap();
                    received
                })
            }
            #[cfg(feature = "smol")]
            Family::Smol => smol::block_on(async {
                use futures::{AsyncReadExt, AsyncWriteExt};
                let tcp = smol::net::TcpStream::connect(addr).await.unwrap();
                let tls = laputa_tls::handshake_futures(tcp, "localhost", &connector, deadline()).await.unwrap();
                let mut stream: laputa_tls::FuturesStream<_> = laputa_tls::MaybeTls::Tls(Box::new(tls));
                stream.close().await.unwrap(); // what the smol adapter calls to shut down
                let mut received = Vec::new();
                stream.read_to_end(&mut received).await.unwrap();
                received
            }),
            #[cfg(feature = "async-std")]
            Family::AsyncStd => async_std::task::block_on(async {
                use futures::AsyncReadExt;
                use laputa::async_std::Stream;
                let tcp = async_std::net::TcpStream::connect(addr).await.unwrap();
                let tls = laputa_tls::handshake_futures(tcp, "localhost", &connector, deadline()).await.unwrap();
                let mut stream: laputa_tls::FuturesStream<_> = laputa_tls::MaybeTls::Tls(Box::new(tls));
                // async-std's own close only flushes: the FIN is this trait's part.
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut stream).poll_shutdown_write(cx)).await.unwrap();
                let mut received = Vec::new();
                stream.read_to_end(&mut received).await.unwrap();
                received
            }),
        };
        assert_eq!(received, b"still open", "{family:?}: the read side stayed open");
        assert_eq!(server.join().unwrap(), (true, true), "{family:?}: (close_notify, FIN)");
    }
}
