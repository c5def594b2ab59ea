// Certificates made at test time (rcgen) and wss:// echo servers (rustls, laputa's `accept`),
// shared by tests/tls.rs (`mod tls_support;`) and the doc examples of `laputa::tls`, which
// include it as `mod support { include!(...) }` (so: no inner attributes here).

use laputa::tls::rustls;
use laputa::tls::TlsConnector;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use std::net::{SocketAddr, TcpListener};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// A certificate with its chain (the certificate first, then its intermediates) and key.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key_der: Vec<u8>,
    pub chain_pem: String,
    pub key_pem: String,
}

impl Identity {
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

/// A small PKI: a root CA and an intermediate that issues the server certificates; another CA
/// that nobody trusts; a CA for client certificates.
pub struct Pki {
    /// The root CA's certificate, DER and PEM: what a client trusts.
    pub ca: CertificateDer<'static>,
    pub ca_pem: String,
    /// For `localhost` and `127.0.0.1`, issued by the intermediate: valid.
    pub leaf: Identity,
    /// For `localhost` and `127.0.0.1`, but expired in 2001.
    pub expired: Identity,
    /// For `elsewhere.example` only.
    pub other_name: Identity,
    /// For `localhost` and `127.0.0.1`, issued by a CA that no client trusts.
    pub untrusted: Identity,
    /// The CA of client certificates, and a client certificate it issued.
    pub client_ca: CertificateDer<'static>,
    pub client_ca_pem: String,
    pub client: Identity,
}

fn ca_params(name: &str) -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params
}

fn issue(
    names: &[&str],
    issuer: &rcgen::Issuer<'_, rcgen::KeyPair>,
    intermediates: &[(CertificateDer<'static>, String)],
    edit: impl FnOnce(&mut rcgen::CertificateParams),
) -> Identity {
    let key = rcgen::KeyPair::generate().expect("a key");
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("names");
    edit(&mut params);
    let cert = params.signed_by(&key, issuer).expect("a certificate");
    let mut chain = vec![cert.der().clone()];
    let mut chain_pem = cert.pem();
    for (der, pem) in intermediates {
        chain.push(der.clone());
        chain_pem.push_str(pem);
    }
    Identity { chain, key_der: key.serialize_der(), chain_pem, key_pem: key.serialize_pem() }
}

impl Pki {
    pub fn new() -> Self {
        let root_key = rcgen::KeyPair::generate().expect("a key");
        let root_params = ca_params("laputa test root");
        let root_cert = root_params.self_signed(&root_key).expect("the root");
        let root = rcgen::Issuer::new(root_params, root_key);

        let intermediate_key = rcgen::KeyPair::generate().expect("a key");
        let intermediate_params = ca_params("laputa test intermediate");
        let intermediate_cert = intermediate_params.signed_by(&intermediate_key, &root).expect("the intermediate");
        let intermediate = rcgen::Issuer::new(intermediate_params, intermediate_key);
        let via = [(intermediate_cert.der().clone(), intermediate_cert.pem())];

        let names = ["localhost", "127.0.0.1"];
        let leaf = issue(&names, &intermediate, &via, |_| {});
        let expired = issue(&names, &intermediate, &via, |params| {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        });
        let other_name = issue(&["elsewhere.example"], &intermediate, &via, |_| {});

        let stranger_key = rcgen::KeyPair::generate().expect("a key");
        let stranger = rcgen::Issuer::new(ca_params("nobody trusts me"), stranger_key);
        let untrusted = issue(&names, &stranger, &[], |_| {});

        let client_key = rcgen::KeyPair::generate().expect("a key");
        let client_params = ca_params("laputa test client CA");
        let client_ca_cert = client_params.self_signed(&client_key).expect("the client CA");
        let (client_ca, client_ca_pem) = (client_ca_cert.der().clone(), client_ca_cert.pem());
        let client_issuer = rcgen::Issuer::new(client_params, client_key);
        let client = issue(&["client.laputa.test"], &client_issuer, &[], |params| {
            params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        });

        Self {
            ca_pem: root_cert.pem(),
            ca: root_cert.der().clone(),
            leaf,
            expired,
            other_name,
            untrusted,
            client_ca,
            client_ca_pem,
            client,
        }
    }

    /// A connector that trusts the root CA and nothing else.
    pub fn connector(&self) -> TlsConnector {
        TlsConnector::builder().add_root_der(self.ca.clone()).only_added_roots().build().expect("a connector")
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration presenting `identity`, speaking ALPN `http/1.1`, and requiring a
/// client certificate issued by `client_ca` when one is given.
pub fn server_config(identity: &Identity, client_ca: Option<&CertificateDer<'static>>) -> Arc<ServerConfig> {
    let builder =
        ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions().expect("versions");
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            roots.add(ca.clone()).expect("the client CA");
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider()).build().expect("a verifier");
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(identity.chain.clone(), identity.key()).expect("a server certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// What the server saw of one connection.
#[derive(Debug)]
pub struct Seen {
    pub alpn: Option<Vec<u8>>,
    /// The SNI the client sent.
    pub sni: Option<String>,
    /// The client's certificate chain, if it sent one.
    pub client_chain: Vec<CertificateDer<'static>>,
    /// The messages echoed.
    pub messages: Vec<String>,
    /// How the connection ended.
    pub closed: Option<laputa::Closed>,
}

/// A wss:// echo server: every connection is served on its own thread, and its outcome (what
/// the server saw, or why TLS or the upgrade failed) is reported in the order they end.
pub struct Server {
    pub addr: SocketAddr,
    outcomes: mpsc::Receiver<Result<Seen, String>>,
}

impl Server {
    /// The outcome of the next connection to end.
    pub fn next(&self) -> Result<Seen, String> {
        self.outcomes.recv_timeout(Duration::from_secs(20)).expect("a connection ended within 20 s")
    }

    /// The same, for a doc example: the first connection's outcome.
    pub fn join(self) -> Result<Seen, String> {
        self.next()
    }
}

/// A blocking server: rustls' `StreamOwned`, upgraded with `laputa::blocking::accept`.
#[cfg(feature = "blocking")]
pub fn serve_blocking(config: Arc<ServerConfig>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let addr = listener.local_addr().expect("its address");
    let (report, outcomes) = mpsc::channel();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let (config, report) = (Arc::clone(&config), report.clone());
            std::thread::spawn(move || {
                let _ = report.send(serve_one_blocking(tcp, config));
            });
        }
    });
    Server { addr, outcomes }
}

#[cfg(feature = "blocking")]
fn serve_one_blocking(tcp: std::net::TcpStream, config: Arc<ServerConfig>) -> Result<Seen, String> {
    tcp.set_read_timeout(Some(Duration::from_secs(20))).map_err(|e| e.to_string())?;
    let connection = ServerConnection::new(config).map_err(|e| e.to_string())?;
    let mut tls = StreamOwned::new(connection, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).map_err(|e| format!("TLS: {e}"))?;
    }
    let mut seen = Seen {
        alpn: tls.conn.alpn_protocol().map(<[u8]>::to_vec),
        sni: tls.conn.server_name().map(str::to_owned),
        client_chain: tls
            .conn
            .peer_certificates()
            .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
            .unwrap_or_default(),
        messages: Vec::new(),
        closed: None,
    };
    let mut ws = laputa::blocking::accept(tls).map_err(|e| format!("upgrade: {e}"))?;
    loop {
        match ws.read() {
            Ok(message) => {
                seen.messages.extend(message.as_text().map(str::to_owned));
                ws.send(message).map_err(|e| format!("echo: {e}"))?;
            }
            Err(laputa::Error::Closed(closed)) => {
                seen.closed = Some(closed);
                return Ok(seen);
            }
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

/// A tokio server on a runtime of its own (so that a client on any runtime, or blocked on the
/// outcome, cannot stall it): tokio-rustls' acceptor, upgraded with `laputa::tokio::accept`.
#[cfg(feature = "tokio")]
pub fn serve_tokio(config: Arc<ServerConfig>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("its address");
    let (report, outcomes) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let (acceptor, report) = (acceptor.clone(), report.clone());
                tokio::spawn(async move {
                    let _ = report.send(serve_one_tokio(tcp, acceptor).await);
                });
            }
        });
    });
    Server { addr, outcomes }
}

#[cfg(feature = "tokio")]
async fn serve_one_tokio(tcp: tokio::net::TcpStream, acceptor: tokio_rustls::TlsAcceptor) -> Result<Seen, String> {
    let tls = acceptor.accept(tcp).await.map_err(|e| format!("TLS: {e}"))?;
    let (_, connection) = tls.get_ref();
    let mut seen = Seen {
        alpn: connection.alpn_protocol().map(<[u8]>::to_vec),
        sni: connection.server_name().map(str::to_owned),
        client_chain: connection
            .peer_certificates()
            .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
            .unwrap_or_default(),
        messages: Vec::new(),
        closed: None,
    };
    let mut ws = laputa::tokio::accept(tls).await.map_err(|e| format!("upgrade: {e}"))?;
    loop {
        match ws.recv().await {
            Ok(message) => {
                seen.messages.extend(message.as_text().map(str::to_owned));
                ws.send(message).await.map_err(|e| format!("echo: {e}"))?;
            }
            Err(laputa::Error::Closed(closed)) => {
                seen.closed = Some(closed);
                return Ok(seen);
            }
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

/// Accepts one connection with laputa's `TlsAcceptor` (requiring a client certificate from
/// `client_ca_pem` when given) and hands back the server's TLS stream: for doc examples of the
/// server side.
#[cfg(feature = "blocking")]
pub fn accept_one_blocking(
    identity: &Identity,
    client_ca_pem: Option<&String>,
) -> (SocketAddr, std::thread::JoinHandle<std::io::Result<laputa::tls::BlockingServerStream>>) {
    let mut builder = laputa::tls::TlsAcceptor::builder().cert_der(identity.chain.clone(), identity.key());
    if let Some(pem) = client_ca_pem {
        builder = builder.client_cert_roots_pem(pem.as_bytes()).expect("client CA");
    }
    let acceptor = builder.build().expect("an acceptor");
    let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let addr = listener.local_addr().expect("its address");
    let accepted = std::thread::spawn(move || {
        let (tcp, _) = listener.accept()?;
        acceptor.accept_blocking(tcp, Some(std::time::Instant::now() + Duration::from_secs(20)))
    });
    (addr, accepted)
}
