//! wss:// servers with laputa's `TlsAcceptor` on every I/O family (blocking, tokio, smol,
//! async-std), against laputa's clients: echo, client certificates (required, optional, a
//! callback), and hostile clients (plain TCP to the TLS port, a handshake that never ends),
//! after which the same server goes on serving. Certificates are made at test time (rcgen).
#![cfg(all(feature = "rustls", feature = "blocking"))]

#[allow(dead_code, unreachable_pub)]
mod tls_support;

use laputa::tls::rustls::pki_types::CertificateDer;
use laputa::tls::rustls::{self, AlertDescription, CertificateError};
use laputa::tls::{self as laputa_tls, ServerTlsStream, TlsAcceptor, TlsConnector};
use laputa::{ClientBuilder, CloseCode};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use tls_support::Pki;

/// The I/O families a server (and its client) can run on, as far as the features allow.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Family {
    Blocking,
    #[cfg(feature = "tokio")]
    Tokio,
    #[cfg(feature = "smol")]
    Smol,
    #[cfg(feature = "async-std")]
    AsyncStd,
}

const FAMILIES: &[Family] = &[
    Family::Blocking,
    #[cfg(feature = "tokio")]
    Family::Tokio,
    #[cfg(feature = "smol")]
    Family::Smol,
    #[cfg(feature = "async-std")]
    Family::AsyncStd,
];

/// What the server saw of a connection that got past TLS and the upgrade.
#[derive(Debug)]
struct Seen {
    alpn: Option<Vec<u8>>,
    sni: Option<String>,
    client_chain: Option<Vec<CertificateDer<'static>>>,
    messages: Vec<String>,
    closed: Option<laputa::Closed>,
}

/// Why the server gave up on a connection: the TLS handshake (its I/O error's kind and the
/// rustls error inside), or later.
#[derive(Debug)]
enum Failed {
    Tls(io::ErrorKind, Option<rustls::Error>),
    Later(#[allow(dead_code)] String), // read through Debug, in a failing test's message
}

type Outcome = Result<Seen, Failed>;

fn tls_failed(error: &io::Error) -> Failed {
    Failed::Tls(error.kind(), laputa_tls::rustls_error(error).cloned())
}

/// A server on its own thread (and runtime), reporting each connection's outcome in the order
/// they end. It serves until the test process exits.
struct Server {
    addr: SocketAddr,
    outcomes: mpsc::Receiver<Outcome>,
}

impl Server {
    fn start(family: Family, acceptor: TlsAcceptor, handshake_wait: Duration) -> Self {
        let (report, outcomes) = mpsc::channel();
        let addr = match family {
            Family::Blocking => serve_blocking(acceptor, handshake_wait, report),
            #[cfg(feature = "tokio")]
            Family::Tokio => serve_async::<laputa::tokio::Tokio>(acceptor, handshake_wait, report, |serve| {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                runtime.block_on(serve);
            }),
            #[cfg(feature = "smol")]
            Family::Smol => serve_async::<laputa::smol::Smol>(acceptor, handshake_wait, report, smol::block_on),
            #[cfg(feature = "async-std")]
            Family::AsyncStd => {
                serve_async::<laputa::async_std::AsyncStd>(acceptor, handshake_wait, report, async_std::task::block_on)
            }
        };
        Self { addr, outcomes }
    }

    /// The outcome of the next connection to end.
    fn next(&self) -> Outcome {
        self.outcomes.recv_timeout(Duration::from_secs(30)).expect("a connection ended within 30 s")
    }
}

fn serve_blocking(acceptor: TlsAcceptor, handshake_wait: Duration, report: mpsc::Sender<Outcome>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let addr = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let (acceptor, report) = (acceptor.clone(), report.clone());
            std::thread::spawn(move || {
                let _ = report.send(serve_one_blocking(tcp, &acceptor, Instant::now() + handshake_wait));
            });
        }
    });
    addr
}

fn serve_one_blocking(tcp: TcpStream, acceptor: &TlsAcceptor, deadline: Instant) -> Outcome {
    let tls = acceptor.accept_blocking(tcp, Some(deadline)).map_err(|e| tls_failed(&e))?;
    let mut seen = session(&tls);
    let mut ws = laputa::blocking::accept(tls).map_err(|e| Failed::Later(format!("upgrade: {e}")))?;
    loop {
        match ws.read() {
            Ok(message) => {
                seen.messages.extend(message.as_text().map(str::to_owned));
                ws.send(message).map_err(|e| Failed::Later(format!("echo: {e}")))?;
            }
            Err(laputa::Error::Closed(closed)) => {
                seen.closed = Some(closed);
                return Ok(seen);
            }
            Err(e) => return Err(Failed::Later(format!("read: {e}"))),
        }
    }
}

/// What the server reads of the TLS session, whatever the family.
fn session<T: ServerTlsStream>(tls: &T) -> Seen {
    let connection = tls.connection();
    Seen {
        alpn: connection.alpn_protocol().map(<[u8]>::to_vec),
        sni: connection.server_name().map(str::to_owned),
        client_chain: tls.peer_certificates().map(<[_]>::to_vec),
        messages: Vec::new(),
        closed: None,
    }
}

/// An async server, generic over the runtime: `R::tls_accept` then `runtime::accept`, one task
/// per connection; `block_on` runs it on a thread of its own.
#[cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]
fn serve_async<R: laputa::runtime::ServerTransport>(
    acceptor: TlsAcceptor,
    handshake_wait: Duration,
    report: mpsc::Sender<Outcome>,
    block_on: impl FnOnce(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>) + Send + 'static,
) -> SocketAddr
where
    R::TlsServerStream: ServerTlsStream,
{
    let (bound, addr) = mpsc::channel();
    std::thread::spawn(move || {
        block_on(Box::pin(async move {
            let listener = R::bind("127.0.0.1:0").await.expect("a listener");
            bound.send(R::local_addr(&listener).expect("its address")).expect("the test waits");
            loop {
                let Ok((tcp, _)) = R::accept(&listener).await else { continue };
                let (acceptor, report) = (acceptor.clone(), report.clone());
                drop(R::spawn(async move {
                    let _ = report.send(serve_one_async::<R>(tcp, &acceptor, Instant::now() + handshake_wait).await);
                }));
            }
        }));
    });
    addr.recv().expect("the server listens")
}

#[cfg(any(feature = "tokio", feature = "smol", feature = "async-std"))]
async fn serve_one_async<R: laputa::runtime::ServerTransport>(
    tcp: R::TcpStream,
    acceptor: &TlsAcceptor,
    deadline: Instant,
) -> Outcome
where
    R::TlsServerStream: ServerTlsStream,
{
    let tls = R::tls_accept(acceptor, tcp, Some(deadline)).await.map_err(|e| tls_failed(&e))?;
    let mut seen = session(&tls);
    let mut ws = laputa::runtime::accept::<_, R>(tls).await.map_err(|e| Failed::Later(format!("upgrade: {e}")))?;
    loop {
        match ws.recv().await {
            Ok(message) => {
                seen.messages.extend(message.as_text().map(str::to_owned));
                ws.send(message).await.map_err(|e| Failed::Later(format!("echo: {e}")))?;
            }
            Err(laputa::Error::Closed(closed)) => {
                seen.closed = Some(closed);
                return Ok(seen);
            }
            Err(e) => return Err(Failed::Later(format!("read: {e}"))),
        }
    }
}

/// What a client saw of a connection that worked.
#[derive(Debug)]
struct Echoed {
    reply: Option<String>,
    clean: bool,
}

/// laputa's client of `family` to `wss://localhost:PORT/`: sends "BALUS", reads the echo,
/// closes.
fn echo(family: Family, addr: SocketAddr, connector: &TlsConnector) -> Result<Echoed, laputa::Error> {
    let builder = ClientBuilder::new(&format!("wss://localhost:{}/", addr.port()))?
        .tls(connector.clone())
        .timeout(Duration::from_secs(20));
    match family {
        Family::Blocking => {
            let (mut ws, _) = laputa::blocking::connect(builder)?;
            ws.send("BALUS")?;
            let reply = ws.read()?.as_text().map(str::to_owned);
            ws.close()?;
            Ok(Echoed { reply, clean: ws.closed().is_some_and(|closed| closed.clean) })
        }
        #[cfg(feature = "tokio")]
        Family::Tokio => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let (mut ws, _) = laputa::tokio::connect(builder).await?;
                ws.send("BALUS").await?;
                let reply = ws.recv().await?.as_text().map(str::to_owned);
                ws.close().await?;
                Ok(Echoed { reply, clean: ws.closed().is_some_and(|closed| closed.clean) })
            })
        }
        #[cfg(feature = "smol")]
        Family::Smol => smol::block_on(async {
            let (mut ws, _) = laputa::smol::connect(builder).await?;
            ws.send("BALUS").await?;
            let reply = ws.recv().await?.as_text().map(str::to_owned);
            ws.close().await?;
            Ok(Echoed { reply, clean: ws.closed().is_some_and(|closed| closed.clean) })
        }),
        #[cfg(feature = "async-std")]
        Family::AsyncStd => async_std::task::block_on(async {
            let (mut ws, _) = laputa::async_std::connect(builder).await?;
            ws.send("BALUS").await?;
            let reply = ws.recv().await?.as_text().map(str::to_owned);
            ws.close().await?;
            Ok(Echoed { reply, clean: ws.closed().is_some_and(|closed| closed.clean) })
        }),
    }
}

/// Asserts that a connection worked end to end and both sides closed cleanly.
fn assert_echoed(family: Family, echoed: Echoed, seen: &Seen) {
    assert_eq!(echoed.reply.as_deref(), Some("BALUS"), "{family:?}");
    assert!(echoed.clean, "{family:?}: the client's close was not clean");
    assert_eq!(seen.alpn.as_deref(), Some(&b"http/1.1"[..]), "{family:?}: ALPN");
    assert_eq!(seen.sni.as_deref(), Some("localhost"), "{family:?}: SNI");
    assert_eq!(seen.messages, ["BALUS"], "{family:?}");
    let closed = seen.closed.as_ref().expect("closed");
    assert!(closed.clean, "{family:?}: the server's close was not clean: {closed:?}");
    assert_eq!(closed.code, CloseCode::NORMAL, "{family:?}");
}

/// The rustls error that failed a client's connection.
fn client_tls_error(error: &laputa::Error) -> rustls::Error {
    let laputa::Error::Io(io_error) = error else { panic!("not an I/O error: {error:?}") };
    laputa_tls::rustls_error(io_error).unwrap_or_else(|| panic!("no rustls error inside: {io_error:?}")).clone()
}

fn acceptor(pki: &Pki) -> TlsAcceptor {
    TlsAcceptor::from_pem(pki.leaf.chain_pem.as_bytes(), pki.leaf.key_pem.as_bytes()).expect("an acceptor")
}

fn with_client_certificate(pki: &Pki, identity: &tls_support::Identity) -> TlsConnector {
    TlsConnector::builder()
        .add_root_der(pki.ca.clone())
        .only_added_roots()
        .client_auth_pem(identity.chain_pem.as_bytes(), identity.key_pem.as_bytes())
        .expect("a client certificate")
        .build()
        .expect("a connector")
}

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn a_laputa_client_and_server_echo_over_wss_on_every_family() {
    let pki = Pki::new();
    for &family in FAMILIES {
        let server = Server::start(family, acceptor(&pki), WAIT);
        let echoed = echo(family, server.addr, &pki.connector()).unwrap_or_else(|e| panic!("{family:?}: {e:?}"));
        let seen = server.next().unwrap_or_else(|e| panic!("{family:?}: {e:?}"));
        assert_echoed(family, echoed, &seen);
        assert_eq!(seen.client_chain, None, "{family:?}: no client certificate asked for");
        // Another client on the same server: the acceptor serves every connection.
        let other = if family == Family::Blocking { FAMILIES[FAMILIES.len() - 1] } else { Family::Blocking };
        let echoed = echo(other, server.addr, &pki.connector()).unwrap_or_else(|e| panic!("{family:?}: {e:?}"));
        assert_echoed(family, echoed, &server.next().unwrap_or_else(|e| panic!("{family:?}: {e:?}")));
    }
}

#[test]
fn a_required_client_certificate_is_verified_then_shown_to_the_callback() {
    let pki = Pki::new();
    let shown: Arc<Mutex<Vec<Vec<CertificateDer<'static>>>>> = Arc::default();
    let record = Arc::clone(&shown);
    let acceptor = TlsAcceptor::builder()
        .cert_chain_pem(pki.leaf.chain_pem.as_bytes())
        .unwrap()
        .key_pem(pki.leaf.key_pem.as_bytes())
        .unwrap()
        .client_cert_roots_pem(pki.client_ca_pem.as_bytes())
        .unwrap()
        .verify_client_with(move |chain| {
            record.lock().unwrap().push(chain.iter().map(|c| c.clone().into_owned()).collect());
            true
        })
        .build()
        .unwrap();
    for &family in FAMILIES {
        let server = Server::start(family, acceptor.clone(), WAIT);

        // With a certificate from the client CA: served, and the callback and the session see it.
        let echoed = echo(family, server.addr, &with_client_certificate(&pki, &pki.client))
            .unwrap_or_else(|e| panic!("{family:?}: {e:?}"));
        let seen = server.next().unwrap_or_else(|e| panic!("{family:?}: {e:?}"));
        assert_echoed(family, echoed, &seen);
        assert_eq!(seen.client_chain.as_deref(), Some(&pki.client.chain[..]), "{family:?}: the session");
        let chains: Vec<_> = shown.lock().unwrap().drain(..).collect();
        assert_eq!(chains, vec![pki.client.chain.clone()], "{family:?}: what the callback saw");

        // Without one: refused. In TLS 1.3 the client has finished its handshake when the
        // server's alert arrives, so the client's failure is the upgrade's first read.
        let error = echo(family, server.addr, &pki.connector()).expect_err("no client certificate");
        assert_eq!(client_tls_error(&error), rustls::Error::AlertReceived(AlertDescription::CertificateRequired));
        match server.next() {
            Err(Failed::Tls(io::ErrorKind::InvalidData, Some(rustls::Error::NoCertificatesPresented))) => {}
            other => panic!("{family:?}: {other:?}"),
        }

        // A certificate from a CA the server does not trust for clients: refused before the
        // callback runs.
        let error = echo(family, server.addr, &with_client_certificate(&pki, &pki.untrusted)).expect_err("untrusted");
        assert_eq!(client_tls_error(&error), rustls::Error::AlertReceived(AlertDescription::UnknownCA));
        match server.next() {
            Err(Failed::Tls(
                io::ErrorKind::InvalidData,
                Some(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)),
            )) => {}
            other => panic!("{family:?}: {other:?}"),
        }
        assert!(shown.lock().unwrap().is_empty(), "{family:?}: the callback saw an unverified chain");
    }
}

#[test]
fn a_refusing_callback_fails_the_handshake_with_application_verification_failure() {
    let pki = Pki::new();
    let acceptor = TlsAcceptor::builder()
        .cert_der(pki.leaf.chain.clone(), pki.leaf.key())
        .client_cert_root_der(pki.client_ca.clone())
        .verify_client_with(|_| false)
        .build()
        .unwrap();
    for &family in FAMILIES {
        let server = Server::start(family, acceptor.clone(), WAIT);
        let error = echo(family, server.addr, &with_client_certificate(&pki, &pki.client)).expect_err("refused");
        assert!(matches!(client_tls_error(&error), rustls::Error::AlertReceived(_)), "{family:?}: {error:?}");
        match server.next() {
            Err(Failed::Tls(
                io::ErrorKind::InvalidData,
                Some(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)),
            )) => {}
            other => panic!("{family:?}: {other:?}"),
        }
    }
}

#[test]
fn an_optional_client_certificate_lets_clients_without_one_in() {
    let pki = Pki::new();
    let acceptor = TlsAcceptor::builder()
        .cert_der(pki.leaf.chain.clone(), pki.leaf.key())
        .client_cert_root_der(pki.client_ca.clone())
        .client_cert_optional()
        .build()
        .unwrap();
    let server = Server::start(Family::Blocking, acceptor, WAIT);
    let echoed = echo(Family::Blocking, server.addr, &pki.connector()).unwrap();
    let seen = server.next().unwrap();
    assert_echoed(Family::Blocking, echoed, &seen);
    assert_eq!(seen.client_chain, None);
    let echoed = echo(Family::Blocking, server.addr, &with_client_certificate(&pki, &pki.client)).unwrap();
    let seen = server.next().unwrap();
    assert_echoed(Family::Blocking, echoed, &seen);
    assert_eq!(seen.client_chain.as_deref(), Some(&pki.client.chain[..]));
    // One that presents a certificate must present a valid one.
    echo(Family::Blocking, server.addr, &with_client_certificate(&pki, &pki.untrusted)).expect_err("untrusted");
    assert!(matches!(server.next(), Err(Failed::Tls(io::ErrorKind::InvalidData, Some(_)))));
}

#[test]
fn a_plaintext_client_gets_an_error_and_the_server_serves_the_next_one() {
    let pki = Pki::new();
    for &family in FAMILIES {
        let server = Server::start(family, acceptor(&pki), WAIT);
        // A ws:// client's upgrade request, sent to the wss:// port.
        let mut plain = TcpStream::connect(server.addr).unwrap();
        plain.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        plain.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n").unwrap();
        match server.next() {
            Err(Failed::Tls(io::ErrorKind::InvalidData, Some(rustls::Error::InvalidMessage(_)))) => {}
            other => panic!("{family:?}: {other:?}"),
        }
        // The client reads a TLS alert record (content type 21), then the end of the stream:
        // never an HTTP answer.
        let mut answer = Vec::new();
        let _ = plain.read_to_end(&mut answer);
        assert!(answer.is_empty() || answer[0] == 21, "{family:?}: {answer:?}");

        let echoed = echo(family, server.addr, &pki.connector()).unwrap_or_else(|e| panic!("{family:?}: {e:?}"));
        assert_echoed(family, echoed, &server.next().unwrap_or_else(|e| panic!("{family:?}: {e:?}")));
    }
}

#[test]
fn a_handshake_that_never_completes_ends_at_the_deadline() {
    let pki = Pki::new();
    for &family in FAMILIES {
        let server = Server::start(family, acceptor(&pki), Duration::from_millis(300));
        // One client says nothing; another starts a record of 512 bytes and stops after its
        // header.
        let silent = TcpStream::connect(server.addr).unwrap();
        let mut trickling = TcpStream::connect(server.addr).unwrap();
        trickling.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).unwrap();
        for _ in 0..2 {
            match server.next() {
                Err(Failed::Tls(io::ErrorKind::TimedOut, None)) => {}
                other => panic!("{family:?}: {other:?}"),
            }
        }
        drop((silent, trickling));
    }
}

#[test]
fn a_client_that_hangs_up_midway_is_unexpected_eof() {
    let pki = Pki::new();
    for &family in FAMILIES {
        let server = Server::start(family, acceptor(&pki), WAIT);
        let mut client = TcpStream::connect(server.addr).unwrap();
        client.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).unwrap();
        drop(client);
        match server.next() {
            Err(Failed::Tls(io::ErrorKind::UnexpectedEof, None)) => {}
            other => panic!("{family:?}: {other:?}"),
        }
    }
}

#[test]
fn acceptors_from_pem_files_name_the_file_that_failed() {
    let pki = Pki::new();
    let dir = std::env::temp_dir().join(format!("laputa-tls-server-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (chain, key, other_key) = (dir.join("chain.pem"), dir.join("key.pem"), dir.join("other.pem"));
    std::fs::write(&chain, &pki.leaf.chain_pem).unwrap();
    std::fs::write(&key, &pki.leaf.key_pem).unwrap();
    std::fs::write(&other_key, &pki.client.key_pem).unwrap();

    let acceptor = TlsAcceptor::from_pem_files(&chain, &key).unwrap();
    let server = Server::start(Family::Blocking, acceptor, WAIT);
    let echoed = echo(Family::Blocking, server.addr, &pki.connector()).unwrap();
    assert_echoed(Family::Blocking, echoed, &server.next().unwrap());

    let error = TlsAcceptor::from_pem_files(dir.join("nothing.pem"), &key).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    assert!(error.to_string().contains("nothing.pem"), "{error}");
    let error = TlsAcceptor::from_pem_files(&key, &key).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("key.pem"), "{error}");
    // A key that is not the certificate's.
    let error = TlsAcceptor::from_pem_files(&chain, &other_key).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}
