//! [`TlsAcceptor`]: what a `wss://` server presents and which client certificates it asks
//! for, built once and shared by every connection.

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// The application's check of a verified client certificate chain
/// (see [`TlsAcceptorBuilder::verify_client_with`]).
type ClientCallback = dyn Fn(&[CertificateDer<'_>]) -> bool + Send + Sync;

/// The TLS settings of a `wss://` server: its certificate chain and key, the ALPN protocols it
/// agrees to, the client certificates it asks for. Cheap to clone (an
/// `Arc<rustls::ServerConfig>` inside); one acceptor serves every connection.
///
/// The defaults ([`from_pem_files`](Self::from_pem_files), [`from_pem`](Self::from_pem),
/// [`builder`](Self::builder)):
/// - TLS 1.3 and 1.2 with rustls' safe defaults, on the `ring` crypto provider.
/// - **ALPN** `http/1.1` (RFC 7301): a client that offers ALPN without it is refused (rustls'
///   `NoApplicationProtocol` alert) rather than left to guess; a client that offers no ALPN is
///   served.
/// - No client certificate is asked for, unless roots to verify them against are given.
///
/// The handshake runs within a deadline the caller gives, with one function per I/O family:
/// [`accept_blocking`](Self::accept_blocking), `accept_tokio`, `accept_futures` (smol,
/// async-std), or generically [`ServerTransport::tls_accept`](crate::runtime::ServerTransport::tls_accept).
///
/// ```
/// # #[cfg(feature = "blocking")] {
/// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
/// # let pki = support::Pki::new();
/// # let (chain_pem, key_pem) = (pki.leaf.chain_pem.as_bytes(), pki.leaf.key_pem.as_bytes());
/// use laputa::tls::TlsAcceptor;
/// use std::net::TcpListener;
/// use std::time::{Duration, Instant};
///
/// // `chain_pem` and `key_pem` hold a certificate for localhost, its chain, and its key.
/// let acceptor = TlsAcceptor::from_pem(chain_pem, key_pem)?;
/// assert_eq!(acceptor.config().alpn_protocols, [b"http/1.1".to_vec()]);
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// # let connector = pki.connector();
/// # let client = std::thread::spawn(move || -> Result<(), laputa::Error> {
/// #     let tcp = std::net::TcpStream::connect(addr)?;
/// #     let tls = laputa::tls::handshake_blocking(tcp, "localhost", &connector, None)?;
/// #     let request = laputa::ClientRequest::new(&format!("wss://localhost:{}/", addr.port()))?;
/// #     let (mut ws, _) = laputa::blocking::client(tls, request, laputa::Config::default())?;
/// #     ws.send("BALUS")?;
/// #     assert_eq!(ws.read()?.as_text(), Some("BALUS"));
/// #     ws.close()
/// # });
/// // A wss:// echo of one connection (a client on `addr` trusts the certificate's CA).
/// let (tcp, _) = listener.accept()?;
/// let tls = acceptor.accept_blocking(tcp, Some(Instant::now() + Duration::from_secs(10)))?;
/// let mut ws = laputa::blocking::accept(tls)?;
/// let message = ws.read()?;
/// ws.send(message)?;
/// # let _ = ws.read();
/// # client.join().unwrap()?;
/// # }
/// # Ok::<(), laputa::Error>(())
/// ```
#[derive(Clone)]
pub struct TlsAcceptor {
    config: Arc<ServerConfig>,
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The configuration holds the private key: only what says how the server behaves.
        f.debug_struct("TlsAcceptor").field("alpn_protocols", &self.config.alpn_protocols).finish_non_exhaustive()
    }
}

impl TlsAcceptor {
    /// Reads the certificate chain (the server's certificate first, then its intermediates) and
    /// the private key (PKCS#8, PKCS#1 or SEC1) from PEM files: what `echo_server --tls-cert
    /// FILE --tls-key FILE` does. They may be the same file.
    ///
    /// An error names the file; a file that cannot be read keeps its kind (`NotFound`,
    /// `PermissionDenied`), one that holds no certificate or key, or a key that is not the
    /// certificate's, is `InvalidInput` with the PEM or rustls error inside.
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let dir = std::env::temp_dir().join(format!("laputa-acceptor-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # std::fs::write(dir.join("chain.pem"), &pki.leaf.chain_pem)?;
    /// # std::fs::write(dir.join("key.pem"), &pki.leaf.key_pem)?;
    /// use laputa::tls::TlsAcceptor;
    /// use std::io::ErrorKind;
    ///
    /// // `dir` holds chain.pem and key.pem.
    /// let acceptor = TlsAcceptor::from_pem_files(dir.join("chain.pem"), dir.join("key.pem"))?;
    ///
    /// let error = TlsAcceptor::from_pem_files(dir.join("missing.pem"), dir.join("key.pem")).unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::NotFound);
    /// assert!(error.to_string().contains("missing.pem"), "{error}");
    /// // A key file that holds no key (here: the certificates).
    /// let error = TlsAcceptor::from_pem_files(dir.join("chain.pem"), dir.join("chain.pem")).unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::InvalidInput);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_pem_files(cert_chain: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
        let (cert_chain, key) = (cert_chain.as_ref(), key.as_ref());
        let read =
            |path: &Path| std::fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())));
        let (chain_pem, key_pem) = (read(cert_chain)?, read(key)?);
        let in_file = |path: &Path, e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        let builder = TlsAcceptorBuilder::default();
        let builder = builder.cert_chain_pem(&chain_pem).map_err(|e| in_file(cert_chain, e))?;
        builder.key_pem(&key_pem).map_err(|e| in_file(key, e))?.build()
    }

    /// The defaults with the certificate chain (the server's certificate first, then its
    /// intermediates) and private key given as PEM text. Errors are `InvalidInput`: no
    /// certificate, no key, a key that is not the certificate's.
    ///
    /// ```
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    /// # let (chain_pem, key_pem) = (cert.pem(), key.serialize_pem());
    /// use laputa::tls::TlsAcceptor;
    ///
    /// let acceptor = TlsAcceptor::from_pem(chain_pem.as_bytes(), key_pem.as_bytes())?;
    ///
    /// let stranger = rcgen::KeyPair::generate().unwrap().serialize_pem();
    /// let error = TlsAcceptor::from_pem(chain_pem.as_bytes(), stranger.as_bytes()).unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> io::Result<Self> {
        TlsAcceptorBuilder::default().cert_chain_pem(cert_chain)?.key_pem(key)?.build()
    }

    /// Starts from the defaults: a certificate and key, then ALPN protocols, client
    /// certificates, a crypto provider.
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let (chain_pem, key_pem, client_ca_pem) = (pki.leaf.chain_pem, pki.leaf.key_pem, pki.client_ca_pem);
    /// use laputa::tls::TlsAcceptor;
    ///
    /// // Only clients with a certificate from the CA `client_ca_pem` are served.
    /// let acceptor = TlsAcceptor::builder()
    ///     .cert_chain_pem(chain_pem.as_bytes())?
    ///     .key_pem(key_pem.as_bytes())?
    ///     .client_cert_roots_pem(client_ca_pem.as_bytes())?
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> TlsAcceptorBuilder {
        TlsAcceptorBuilder::default()
    }

    /// Wraps a rustls configuration made by hand (several certificates chosen by SNI, session
    /// tickets, other protocol versions); it is used as it is, its ALPN protocols too.
    ///
    /// ```
    /// use laputa::tls::{rustls, TlsAcceptor};
    /// use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    /// use std::sync::Arc;
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    /// # let (cert_der, key_der) = (cert.der().to_vec(), key.serialize_der());
    ///
    /// // `cert_der` and `key_der` (PKCS#8): a certificate and its key.
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let mut config = rustls::ServerConfig::builder_with_provider(provider)
    ///     .with_protocol_versions(&[&rustls::version::TLS13])?
    ///     .with_no_client_auth()
    ///     .with_single_cert(
    ///         vec![CertificateDer::from(cert_der)],
    ///         PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
    ///     )?;
    /// config.alpn_protocols = vec![b"http/1.1".to_vec()];
    /// let acceptor = TlsAcceptor::from_config(Arc::new(config));
    /// # Ok::<(), rustls::Error>(())
    /// ```
    pub fn from_config(config: Arc<ServerConfig>) -> Self {
        Self { config }
    }

    /// The rustls configuration the handshakes use.
    ///
    /// ```
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    /// # let (chain_pem, key_pem) = (cert.pem(), key.serialize_pem());
    /// let acceptor = laputa::tls::TlsAcceptor::from_pem(chain_pem.as_bytes(), key_pem.as_bytes())?;
    /// assert_eq!(acceptor.config().alpn_protocols, [b"http/1.1".to_vec()]);
    /// assert_eq!(acceptor.config().max_early_data_size, 0, "no 0-RTT data");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }
}

impl From<Arc<ServerConfig>> for TlsAcceptor {
    /// The same as [`TlsAcceptor::from_config`].
    ///
    /// ```
    /// use laputa::tls::{rustls, TlsAcceptor};
    /// use std::sync::Arc;
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    /// # let (chain, key) = (vec![cert.der().clone()], rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()));
    ///
    /// let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
    ///     .with_safe_default_protocol_versions()?
    ///     .with_no_client_auth()
    ///     .with_single_cert(chain, key)?;
    /// let config = Arc::new(config);
    /// let acceptor = TlsAcceptor::from(Arc::clone(&config));
    /// assert!(Arc::ptr_eq(acceptor.config(), &config));
    /// # Ok::<(), rustls::Error>(())
    /// ```
    fn from(config: Arc<ServerConfig>) -> Self {
        Self::from_config(config)
    }
}

fn invalid_input(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, error)
}

/// Builds a [`TlsAcceptor`] ([`TlsAcceptor::builder`]): the certificate and key (PEM or DER),
/// the ALPN protocols, client certificates (required or optional, against the roots given,
/// with a callback after the chain is verified), the crypto provider.
///
/// Errors are [`io::Error`]s of kind `InvalidInput` with the PEM or rustls error inside, as
/// [`TlsConnectorBuilder`](super::TlsConnectorBuilder)'s are, so that `?` makes them a
/// [`laputa::Error`](crate::Error) or an `io::Error`.
///
/// ```
/// use laputa::tls::TlsAcceptor;
///
/// let error = TlsAcceptor::builder().cert_chain_pem(b"no PEM here").unwrap_err();
/// assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
/// let error = TlsAcceptor::builder().build().unwrap_err();
/// assert!(error.to_string().contains("certificate"), "{error}");
/// ```
#[derive(Default)]
pub struct TlsAcceptorBuilder {
    provider: Option<Arc<CryptoProvider>>,
    chain: Vec<CertificateDer<'static>>,
    key: Option<PrivateKeyDer<'static>>,
    alpn: Option<Vec<Vec<u8>>>,
    client_roots: Vec<CertificateDer<'static>>,
    client_optional: bool,
    client_callback: Option<Arc<ClientCallback>>,
}

impl fmt::Debug for TlsAcceptorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptorBuilder")
            .field("chain", &self.chain.len())
            .field("key", &self.key.is_some())
            .field("alpn", &self.alpn)
            .field("client_roots", &self.client_roots.len())
            .field("client_optional", &self.client_optional)
            .field("client_callback", &self.client_callback.is_some())
            .finish_non_exhaustive()
    }
}

impl TlsAcceptorBuilder {
    /// The server's certificate chain from PEM text: every `CERTIFICATE` section, the server's
    /// own first, then its intermediates.
    ///
    /// ```
    /// use laputa::tls::TlsAcceptor;
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    /// # let (chain_pem, key_pem) = (cert.pem(), key.serialize_pem());
    ///
    /// let acceptor = TlsAcceptor::builder().cert_chain_pem(chain_pem.as_bytes())?.key_pem(key_pem.as_bytes())?.build()?;
    /// // A key alone is not a chain.
    /// assert!(TlsAcceptor::builder().cert_chain_pem(key_pem.as_bytes()).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cert_chain_pem(mut self, pem: &[u8]) -> io::Result<Self> {
        let chain = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(invalid_input)?;
        if chain.is_empty() {
            return Err(invalid_input("no CERTIFICATE section in the certificate chain's PEM"));
        }
        self.chain = chain;
        Ok(self)
    }

    /// The server's private key from PEM text (PKCS#8, PKCS#1 or SEC1; the first key found).
    ///
    /// ```
    /// use laputa::tls::TlsAcceptor;
    /// # let key_pem = rcgen::KeyPair::generate().unwrap().serialize_pem();
    ///
    /// let builder = TlsAcceptor::builder().key_pem(key_pem.as_bytes())?;
    /// assert!(TlsAcceptor::builder().key_pem(b"-----BEGIN NOTHING-----").is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn key_pem(mut self, pem: &[u8]) -> io::Result<Self> {
        self.key = Some(PrivateKeyDer::from_pem_slice(pem).map_err(invalid_input)?);
        Ok(self)
    }

    /// The certificate chain (the server's first) and its private key, in DER form.
    ///
    /// ```
    /// use laputa::tls::{rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer}, TlsAcceptor};
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    /// # let (cert_der, key_der) = (cert.der().to_vec(), key.serialize_der());
    ///
    /// let chain = vec![CertificateDer::from(cert_der)];
    /// let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der));
    /// let acceptor = TlsAcceptor::builder().cert_der(chain, key).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cert_der(mut self, chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        self.chain = chain;
        self.key = Some(key);
        self
    }

    /// The ALPN protocols the server agrees to, in its order of preference (`http/1.1` by
    /// default; empty: no ALPN at all). A client that offers ALPN but none of these is refused.
    ///
    /// ```
    /// use laputa::tls::TlsAcceptor;
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    /// # let (chain_pem, key_pem) = (cert.pem(), key.serialize_pem());
    ///
    /// // Clients that offer other protocols, or none, are served too.
    /// let acceptor = TlsAcceptor::builder()
    ///     .cert_chain_pem(chain_pem.as_bytes())?
    ///     .key_pem(key_pem.as_bytes())?
    ///     .alpn_protocols(Vec::new())
    ///     .build()?;
    /// assert!(acceptor.config().alpn_protocols.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn alpn_protocols(mut self, protocols: Vec<Vec<u8>>) -> Self {
        self.alpn = Some(protocols);
        self
    }

    /// Asks clients for a certificate issued by one of the CA certificates of this PEM text
    /// (every `CERTIFICATE` section), and refuses the handshake of a client without one (or see
    /// [`client_cert_optional`](Self::client_cert_optional)). A client's certificate that the
    /// roots do not vouch for, or that has expired, fails the handshake (rustls' alert tells
    /// the client).
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let (chain_pem, key_pem, client_ca_pem) = (pki.leaf.chain_pem, pki.leaf.key_pem, pki.client_ca_pem);
    /// use laputa::tls::TlsAcceptor;
    ///
    /// let acceptor = TlsAcceptor::builder()
    ///     .cert_chain_pem(chain_pem.as_bytes())?
    ///     .key_pem(key_pem.as_bytes())?
    ///     .client_cert_roots_pem(client_ca_pem.as_bytes())?
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn client_cert_roots_pem(mut self, pem: &[u8]) -> io::Result<Self> {
        let before = self.client_roots.len();
        for certificate in CertificateDer::pem_slice_iter(pem) {
            self.client_roots.push(certificate.map_err(invalid_input)?);
        }
        if self.client_roots.len() == before {
            return Err(invalid_input("no CERTIFICATE section in the PEM given as client certificate roots"));
        }
        Ok(self)
    }

    /// Asks clients for a certificate issued by this CA certificate (DER), as
    /// [`client_cert_roots_pem`](Self::client_cert_roots_pem) does. A certificate that does not
    /// parse is reported by [`build`](Self::build).
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let (identity, client_ca) = (&pki.leaf, pki.client_ca.clone());
    /// use laputa::tls::TlsAcceptor;
    ///
    /// // `identity` is the server's certificate, `client_ca` a CA's certificate (DER).
    /// let acceptor = TlsAcceptor::builder()
    ///     .cert_der(identity.chain.clone(), identity.key())
    ///     .client_cert_root_der(client_ca)
    ///     .build()?;
    ///
    /// let error = TlsAcceptor::builder()
    ///     .cert_der(identity.chain.clone(), identity.key())
    ///     .client_cert_root_der(b"not DER".to_vec())
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn client_cert_root_der(mut self, der: impl Into<CertificateDer<'static>>) -> Self {
        self.client_roots.push(der.into());
        self
    }

    /// Serves clients without a certificate too; one that presents a certificate must still
    /// present a valid one (and pass the [`verify_client_with`](Self::verify_client_with)
    /// callback). Needs client certificate roots.
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let (identity, client_ca) = (&pki.leaf, pki.client_ca.clone());
    /// use laputa::tls::TlsAcceptor;
    ///
    /// let acceptor = TlsAcceptor::builder()
    ///     .cert_der(identity.chain.clone(), identity.key())
    ///     .client_cert_root_der(client_ca)
    ///     .client_cert_optional()
    ///     .build()?;
    ///
    /// // Without roots, there is nothing to verify a certificate against.
    /// assert!(TlsAcceptor::builder().cert_der(identity.chain.clone(), identity.key()).client_cert_optional().build().is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn client_cert_optional(mut self) -> Self {
        self.client_optional = true;
        self
    }

    /// Lets `callback` refuse a client certificate chain that the roots verified: it sees the
    /// chain the client sent (DER, its own certificate first, then its intermediates) and
    /// returns `true` to accept. A refusal fails the handshake with
    /// `CertificateError::ApplicationVerificationFailure` (the client gets an alert). It runs
    /// only after the chain is verified, so it can narrow what the roots accept (a subject, a
    /// pinned certificate), never widen it. Needs client certificate roots.
    ///
    /// The chain is also there after the handshake, for a session's context: see
    /// [`ServerTlsStream::peer_certificates`](super::ServerTlsStream::peer_certificates).
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let (identity, client_ca, allowed) = (&pki.leaf, pki.client_ca.clone(), pki.client.chain[0].clone());
    /// use laputa::tls::TlsAcceptor;
    ///
    /// // Of the clients `client_ca` vouches for, only the one whose certificate is `allowed`.
    /// let acceptor = TlsAcceptor::builder()
    ///     .cert_der(identity.chain.clone(), identity.key())
    ///     .client_cert_root_der(client_ca)
    ///     .verify_client_with(move |chain| chain.first() == Some(&allowed))
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn verify_client_with(
        mut self,
        callback: impl Fn(&[CertificateDer<'_>]) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.client_callback = Some(Arc::new(callback));
        self
    }

    /// Uses another rustls crypto provider than `ring` (aws-lc-rs for FIPS, say).
    ///
    /// ```
    /// use laputa::tls::{rustls, TlsAcceptor};
    /// use std::sync::Arc;
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    /// # let (chain_pem, key_pem) = (cert.pem(), key.serialize_pem());
    ///
    /// // ring, with only its TLS 1.3 cipher suites.
    /// let mut provider = rustls::crypto::ring::default_provider();
    /// provider.cipher_suites.retain(|suite| suite.version() == &rustls::version::TLS13);
    /// let acceptor = TlsAcceptor::builder()
    ///     .cert_chain_pem(chain_pem.as_bytes())?
    ///     .key_pem(key_pem.as_bytes())?
    ///     .crypto_provider(Arc::new(provider))
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn crypto_provider(mut self, provider: Arc<CryptoProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Builds the acceptor: checks that there is a certificate and a key, that the key is the
    /// certificate's, and that client certificate settings have roots.
    ///
    /// ```
    /// use laputa::tls::TlsAcceptor;
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    /// # let chain_pem = cert.pem();
    ///
    /// // A certificate without its key.
    /// let error = TlsAcceptor::builder().cert_chain_pem(chain_pem.as_bytes())?.build().unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self) -> io::Result<TlsAcceptor> {
        let provider = self.provider.unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
        if self.chain.is_empty() {
            return Err(invalid_input("a TLS server needs a certificate chain"));
        }
        let key = self.key.ok_or_else(|| invalid_input("a TLS server needs its certificate's private key"))?;
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(invalid_input)?;
        let builder = if self.client_roots.is_empty() {
            if self.client_optional || self.client_callback.is_some() {
                return Err(invalid_input(
                    "client certificate settings need roots (client_cert_roots_pem or client_cert_root_der)",
                ));
            }
            builder.with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            for root in self.client_roots {
                roots.add(root).map_err(invalid_input)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = match self.client_optional {
                true => verifier.allow_unauthenticated(),
                false => verifier,
            };
            let verifier = verifier.build().map_err(invalid_input)?;
            match self.client_callback {
                Some(callback) => {
                    builder.with_client_cert_verifier(Arc::new(ClientVerifier { inner: verifier, callback }))
                }
                None => builder.with_client_cert_verifier(verifier),
            }
        };
        let mut config = builder.with_single_cert(self.chain, key).map_err(invalid_input)?;
        config.alpn_protocols = self.alpn.unwrap_or_else(|| vec![b"http/1.1".to_vec()]);
        Ok(TlsAcceptor { config: Arc::new(config) })
    }
}

/// rustls' verifier of client certificates, then the application's callback on what it
/// verified.
struct ClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    callback: Arc<ClientCallback>,
}

impl fmt::Debug for ClientVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientVerifier").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self.inner.verify_client_cert(end_entity, intermediates, now)?;
        let chain: Vec<CertificateDer<'_>> =
            std::iter::once(end_entity).chain(intermediates).map(|c| CertificateDer::from(c.as_ref())).collect();
        if (self.callback)(&chain) {
            Ok(verified)
        } else {
            tracing::debug!("TLS client certificate refused by the callback");
            Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
