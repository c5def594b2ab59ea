//! [`TlsConnector`]: what a client trusts and presents, built once and shared.

use super::verify::{Trust, Verifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::fmt;
use std::io;
use std::sync::{Arc, OnceLock};

/// The application's verification callback (see [`TlsConnectorBuilder::verify_with`]).
pub(super) type Callback = dyn Fn(&ServerCertCheck<'_>) -> bool + Send + Sync;

/// The TLS settings of a client: which certificates it trusts, what it presents, which ALPN
/// protocol it asks for. Cheap to clone: an `Arc<rustls::ClientConfig>` inside, whose session
/// cache its clones share (a reconnect resumes the TLS session).
///
/// [`TlsConnector::new`] (or `default()`) is what a browser would do:
/// - **Trust**: the platform's roots, through rustls-platform-verifier (what reqwest does
///   now): the system's CA bundle here, the OS verifier on macOS, Windows and Android, so that a
///   corporate CA installed on the machine is trusted. With the feature `webpki-roots`, Mozilla's
///   roots compiled into the program are trusted instead, for minimal containers that have no
///   CA bundle; [`platform_roots`](TlsConnectorBuilder::platform_roots) chooses the platform's
///   back. The platform's roots are read when the first certificate is checked, so a machine
///   without any fails the connect, not this constructor.
/// - **ALPN** `http/1.1` (RFC 7301), the protocol a WebSocket handshake runs on (RFC 6455
///   section 4.1), so that a server that also speaks HTTP/2 does not choose it.
/// - **SNI** for DNS names; none for IP addresses, which RFC 6066 section 3 forbids in it.
/// - TLS 1.3 and 1.2 with rustls' safe defaults, on the `ring` crypto provider
///   ([`crypto_provider`](TlsConnectorBuilder::crypto_provider) takes another).
///
/// ```
/// use laputa::tls::TlsConnector;
///
/// let connector = TlsConnector::new();
/// assert_eq!(connector.config().alpn_protocols, [b"http/1.1".to_vec()]);
/// let shared = connector.clone(); // one ClientConfig, one session cache
/// assert!(std::sync::Arc::ptr_eq(connector.config(), shared.config()));
/// ```
#[derive(Debug, Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl Default for TlsConnector {
    /// The same as [`TlsConnector::new`].
    ///
    /// ```
    /// let connector = laputa::tls::TlsConnector::default();
    /// assert!(!connector.config().client_auth_cert_resolver.has_certs());
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl TlsConnector {
    /// The defaults described on [`TlsConnector`]: platform roots (Mozilla's with the feature
    /// `webpki-roots`), ALPN `http/1.1`, no client certificate.
    ///
    /// It is one connector per process, shared: the platform's roots are read once, and a
    /// reconnect to a server resumes its TLS session, whichever part of the program connects.
    /// [`TlsConnector::builder`]`().build()` makes one of its own.
    ///
    /// ```
    /// use laputa::tls::TlsConnector;
    /// use std::sync::Arc;
    ///
    /// let connector = TlsConnector::new();
    /// assert!(connector.config().enable_sni);
    /// assert!(Arc::ptr_eq(connector.config(), TlsConnector::default().config()), "shared");
    /// let own = TlsConnector::builder().build()?;
    /// assert!(!Arc::ptr_eq(connector.config(), own.config()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> Self {
        static DEFAULT: OnceLock<TlsConnector> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                // The defaults take no input that could be refused: no roots to parse (the
                // platform's are read on first use), no client key, and ring supports TLS 1.3
                // and 1.2.
                let config = TlsConnectorBuilder::default().client_config();
                Self { config: Arc::new(config.expect("the default TLS settings are valid with ring")) }
            })
            .clone()
    }

    /// Starts from the defaults and changes what is trusted or presented.
    ///
    /// ```
    /// use laputa::tls::TlsConnector;
    /// # let ca_pem = laputa_test_ca();
    /// # fn laputa_test_ca() -> Vec<u8> {
    /// #     let key = rcgen::KeyPair::generate().unwrap();
    /// #     let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    /// #     params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    /// #     params.self_signed(&key).unwrap().pem().into_bytes()
    /// # }
    ///
    /// // `ca_pem` holds a private CA's certificate (the client example's `--ca FILE`).
    /// let connector = TlsConnector::builder().add_roots_pem(&ca_pem)?.only_added_roots().build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> TlsConnectorBuilder {
        TlsConnectorBuilder::default()
    }

    /// Wraps a rustls configuration made by hand, for full control; it is used as it is (its
    /// ALPN protocols too, which a WebSocket server may need to see as `http/1.1`).
    ///
    /// ```
    /// use laputa::tls::{rustls, TlsConnector};
    /// use std::sync::Arc;
    ///
    /// let mut roots = rustls::RootCertStore::empty();
    /// # let ca = {
    /// #     let key = rcgen::KeyPair::generate().unwrap();
    /// #     let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    /// #     params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    /// #     params.self_signed(&key).unwrap().der().clone()
    /// # };
    /// roots.add(ca)?; // a CA's certificate, DER
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let config = rustls::ClientConfig::builder_with_provider(provider)
    ///     .with_protocol_versions(&[&rustls::version::TLS13])?
    ///     .with_root_certificates(roots)
    ///     .with_no_client_auth();
    /// let connector = TlsConnector::from_rustls(Arc::new(config));
    /// assert!(connector.config().alpn_protocols.is_empty(), "left as given");
    /// # Ok::<(), rustls::Error>(())
    /// ```
    pub fn from_rustls(config: Arc<ClientConfig>) -> Self {
        Self { config }
    }

    /// The rustls configuration the handshakes use.
    ///
    /// ```
    /// let connector = laputa::tls::TlsConnector::new();
    /// let config = connector.config();
    /// assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    /// assert_eq!(config.max_fragment_size, None);
    /// ```
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }
}

impl From<Arc<ClientConfig>> for TlsConnector {
    /// The same as [`TlsConnector::from_rustls`].
    ///
    /// ```
    /// use laputa::tls::{rustls, TlsConnector};
    /// use std::sync::Arc;
    ///
    /// let config = Arc::new(
    ///     rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
    ///         .with_safe_default_protocol_versions()?
    ///         .with_root_certificates(rustls::RootCertStore::empty())
    ///         .with_no_client_auth(),
    /// );
    /// let connector = TlsConnector::from(Arc::clone(&config));
    /// assert!(Arc::ptr_eq(connector.config(), &config));
    /// # Ok::<(), rustls::Error>(())
    /// ```
    fn from(config: Arc<ClientConfig>) -> Self {
        Self::from_rustls(config)
    }
}

/// The roots a connector trusts before any added ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Roots {
    Platform,
    #[cfg(feature = "webpki-roots")]
    Mozilla,
    OnlyAdded,
}

impl Default for Roots {
    #[cfg(feature = "webpki-roots")]
    fn default() -> Self {
        Roots::Mozilla
    }

    #[cfg(not(feature = "webpki-roots"))]
    fn default() -> Self {
        Roots::Platform
    }
}

/// Builds a [`TlsConnector`] ([`TlsConnector::builder`]): what to trust beyond (or instead of)
/// the defaults, a verification callback, a client certificate.
///
/// Errors (a PEM file without a certificate, a key that does not match its certificate, no
/// roots at all) are [`io::Error`]s of kind `InvalidInput`, so that `?` turns them into a
/// [`laputa::Error`](crate::Error) as well as an `io::Error`; the rustls or PEM error is inside.
///
/// ```
/// use laputa::tls::TlsConnector;
///
/// let error = TlsConnector::builder().add_roots_pem(b"no PEM here").unwrap_err();
/// assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
/// let error = TlsConnector::builder().only_added_roots().build().unwrap_err();
/// println!("{error}"); // no roots to trust
/// ```
#[derive(Default)]
pub struct TlsConnectorBuilder {
    provider: Option<Arc<CryptoProvider>>,
    roots: Roots,
    added_roots: Vec<CertificateDer<'static>>,
    callback: Option<Arc<Callback>>,
    accept_any: bool,
    client_auth: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

impl fmt::Debug for TlsConnectorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnectorBuilder")
            .field("roots", &self.roots)
            .field("added_roots", &self.added_roots.len())
            .field("callback", &self.callback.is_some())
            .field("accept_any", &self.accept_any)
            .field("client_auth", &self.client_auth.as_ref().map(|(chain, _)| chain.len()))
            .finish_non_exhaustive()
    }
}

fn invalid_input(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, error)
}

impl TlsConnectorBuilder {
    /// Trusts the CA certificates of a PEM file (every `CERTIFICATE` section), besides the
    /// default roots (or alone, with [`only_added_roots`](Self::only_added_roots)).
    ///
    /// ```
    /// use laputa::tls::TlsConnector;
    /// # let pem = {
    /// #     let key = rcgen::KeyPair::generate().unwrap();
    /// #     let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    /// #     params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    /// #     params.self_signed(&key).unwrap().pem()
    /// # };
    ///
    /// // `pem` is the text of a CA's certificate, as `--ca ca.pem` would read it.
    /// assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    /// let connector = TlsConnector::builder().add_roots_pem(pem.as_bytes())?.build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn add_roots_pem(mut self, pem: &[u8]) -> io::Result<Self> {
        let before = self.added_roots.len();
        for certificate in CertificateDer::pem_slice_iter(pem) {
            self.added_roots.push(certificate.map_err(invalid_input)?);
        }
        if self.added_roots.len() == before {
            return Err(invalid_input("no CERTIFICATE section in the PEM given as roots"));
        }
        Ok(self)
    }

    /// Trusts a CA certificate in DER form, besides the default roots (or alone, with
    /// [`only_added_roots`](Self::only_added_roots)). A certificate that does not parse is
    /// reported by [`build`](Self::build).
    ///
    /// ```
    /// use laputa::tls::TlsConnector;
    /// # let der: Vec<u8> = {
    /// #     let key = rcgen::KeyPair::generate().unwrap();
    /// #     let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    /// #     params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    /// #     params.self_signed(&key).unwrap().der().to_vec()
    /// # };
    ///
    /// // `der` is a CA's certificate, DER-encoded (a `.crt` or `.der` file).
    /// let connector = TlsConnector::builder().add_root_der(der).only_added_roots().build()?;
    ///
    /// let error = TlsConnector::builder().add_root_der(b"not DER".to_vec()).build().unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn add_root_der(mut self, der: impl Into<CertificateDer<'static>>) -> Self {
        self.added_roots.push(der.into());
        self
    }

    /// Trusts only the roots added with [`add_roots_pem`](Self::add_roots_pem) and
    /// [`add_root_der`](Self::add_root_der): a private PKI, or a test.
    ///
    /// ```
    /// use laputa::tls::TlsConnector;
    ///
    /// // With no root added, nothing could be trusted: refused at once.
    /// assert!(TlsConnector::builder().only_added_roots().build().is_err());
    /// ```
    pub fn only_added_roots(mut self) -> Self {
        self.roots = Roots::OnlyAdded;
        self
    }

    /// Trusts the platform's roots (and the added ones): the default, unless the feature
    /// `webpki-roots` is on.
    ///
    /// ```
    /// use laputa::tls::TlsConnector;
    ///
    /// // Whatever features are on, the certificates the operating system trusts.
    /// let connector = TlsConnector::builder().platform_roots().build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn platform_roots(mut self) -> Self {
        self.roots = Roots::Platform;
        self
    }

    /// Trusts Mozilla's roots, compiled in by the feature `webpki-roots` (and the added ones):
    /// the default with that feature.
    ///
    /// ```
    /// use laputa::tls::TlsConnector;
    ///
    /// // The same on every machine, whatever it has installed.
    /// let connector = TlsConnector::builder().webpki_roots().build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(feature = "webpki-roots")]
    pub fn webpki_roots(mut self) -> Self {
        self.roots = Roots::Mozilla;
        self
    }

    /// Lets `callback` decide whether a server's certificate is accepted, as websocket-sharp's
    /// `ServerCertificateValidationCallback` does. It sees the chain the server sent (DER), the
    /// server name, and the verdict of the normal verification ([`ServerCertCheck`]); it
    /// returns `true` to accept. A refusal fails the handshake with the normal verdict's error,
    /// or `CertificateError::ApplicationVerificationFailure` if that verdict was a pass.
    ///
    /// Only the certificate is the callback's to judge: the server must still prove it holds
    /// the certificate's key (the handshake's signatures are verified as always).
    ///
    /// ```
    /// # #[cfg(feature = "blocking")] {
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_support/mod.rs")); }
    /// # let pki = support::Pki::new();
    /// # let server = support::serve_blocking(support::server_config(&pki.leaf, None));
    /// # let (addr, pinned) = (server.addr, pki.leaf.chain[0].clone());
    /// use laputa::tls::{self, rustls::pki_types::ServerName, TlsConnector};
    /// use std::net::TcpStream;
    ///
    /// // A server on `addr` has a certificate (`pinned`, DER) from a CA that nobody trusts:
    /// // accept that one certificate, for that name.
    /// let connector = TlsConnector::builder()
    ///     .verify_with(move |check| {
    ///         println!("the normal verdict: {:?}", check.verdict());
    ///         check.verdict().is_ok()
    ///             || (check.end_entity() == &pinned
    ///                 && check.server_name() == &ServerName::try_from("localhost").unwrap())
    ///     })
    ///     .build()?;
    /// let tls = tls::handshake_blocking(TcpStream::connect(addr)?, "localhost", &connector, None)?;
    /// # drop(tls);
    /// # let _ = server.join();
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn verify_with(mut self, callback: impl Fn(&ServerCertCheck<'_>) -> bool + Send + Sync + 'static) -> Self {
        self.callback = Some(Arc::new(callback));
        self
    }

    /// **Dangerous**: accepts any certificate, expired, self-signed or for another name, so
    /// that anyone on the path can read and change the traffic (the client example's
    /// `--insecure`, for tests only). Each handshake logs a warning. The server must still
    /// prove it holds its certificate's key; a [`verify_with`](Self::verify_with) callback still
    /// runs, with a passing verdict.
    ///
    /// ```
    /// use laputa::tls::TlsConnector;
    ///
    /// let insecure = TlsConnector::builder().danger_accept_any_certificate().build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn danger_accept_any_certificate(mut self) -> Self {
        self.accept_any = true;
        self
    }

    /// Presents a client certificate when the server asks for one: `chain` holds the
    /// certificate first, then its intermediates, and `key` its private key (PKCS#8, PKCS#1 or
    /// SEC1), both PEM. They may be the same text.
    ///
    /// ```
    /// use laputa::tls::TlsConnector;
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["client".to_string()]).unwrap().self_signed(&key).unwrap();
    /// # let (chain_pem, key_pem) = (cert.pem(), key.serialize_pem());
    ///
    /// // `chain_pem` and `key_pem` were read from client.crt and client.key.
    /// let connector = TlsConnector::builder().client_auth_pem(chain_pem.as_bytes(), key_pem.as_bytes())?.build()?;
    /// assert!(connector.config().client_auth_cert_resolver.has_certs());
    ///
    /// // A key that is not the certificate's is refused when the connector is built.
    /// let other = rcgen::KeyPair::generate().unwrap().serialize_pem();
    /// let built = TlsConnector::builder().client_auth_pem(chain_pem.as_bytes(), other.as_bytes())?.build();
    /// assert!(built.is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn client_auth_pem(self, chain: &[u8], key: &[u8]) -> io::Result<Self> {
        let chain = CertificateDer::pem_slice_iter(chain).collect::<Result<Vec<_>, _>>().map_err(invalid_input)?;
        if chain.is_empty() {
            return Err(invalid_input("no CERTIFICATE section in the client certificate's PEM"));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(invalid_input)?;
        Ok(self.client_auth_der(chain, key))
    }

    /// Presents a client certificate when the server asks for one, in DER form: the
    /// certificate first, then its intermediates, and its private key.
    ///
    /// ```
    /// use laputa::tls::{rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer}, TlsConnector};
    /// # let key = rcgen::KeyPair::generate().unwrap();
    /// # let cert = rcgen::CertificateParams::new(vec!["client".to_string()]).unwrap().self_signed(&key).unwrap();
    /// # let (cert_der, key_der) = (cert.der().to_vec(), key.serialize_der());
    ///
    /// // `cert_der` and `key_der` (PKCS#8) were read from client.der and client.key.der.
    /// let chain = vec![CertificateDer::from(cert_der)];
    /// let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der));
    /// let connector = TlsConnector::builder().client_auth_der(chain, key).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn client_auth_der(mut self, chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        self.client_auth = Some((chain, key));
        self
    }

    /// Uses another rustls crypto provider than `ring` (aws-lc-rs for FIPS, say). Its signature
    /// algorithms verify the server's signatures.
    ///
    /// ```
    /// use laputa::tls::{rustls, TlsConnector};
    /// use std::sync::Arc;
    ///
    /// // ring, with only its TLS 1.3 cipher suites.
    /// let mut provider = rustls::crypto::ring::default_provider();
    /// provider.cipher_suites.retain(|suite| suite.version() == &rustls::version::TLS13);
    /// let connector = TlsConnector::builder().crypto_provider(Arc::new(provider)).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn crypto_provider(mut self, provider: Arc<CryptoProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Builds the connector.
    ///
    /// ```
    /// use laputa::tls::TlsConnector;
    ///
    /// let connector = TlsConnector::builder().build()?; // the same as `TlsConnector::new()`
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self) -> io::Result<TlsConnector> {
        Ok(TlsConnector { config: Arc::new(self.client_config()?) })
    }

    fn client_config(self) -> io::Result<ClientConfig> {
        let provider = self.provider.unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
        let trust = if self.accept_any {
            Trust::Any
        } else {
            // Added roots are checked now, whatever verifier takes them.
            let mut roots = RootCertStore::empty();
            for root in &self.added_roots {
                roots.add(root.clone()).map_err(invalid_input)?;
            }
            match self.roots {
                Roots::Platform => Trust::Platform { extra: self.added_roots, verifier: OnceLock::new() },
                #[cfg(feature = "webpki-roots")]
                Roots::Mozilla => {
                    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                    Trust::Roots(webpki_verifier(roots, &provider)?)
                }
                Roots::OnlyAdded => Trust::Roots(webpki_verifier(roots, &provider)?),
            }
        };
        let verifier = Verifier { provider: Arc::clone(&provider), trust, callback: self.callback };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(invalid_input)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let mut config = match self.client_auth {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(invalid_input)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

fn webpki_verifier(roots: RootCertStore, provider: &Arc<CryptoProvider>) -> io::Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider)).build().map_err(invalid_input)
}

/// What a [`verify_with`](TlsConnectorBuilder::verify_with) callback is shown: the server's
/// certificate chain, the name it was checked against, and the normal verification's verdict.
///
/// ```
/// use laputa::tls::{rustls, ServerCertCheck, TlsConnector};
///
/// // Accepts what the normal verification accepts, and a self-signed certificate for
/// // "device.local" besides (its verdict is `UnknownIssuer`).
/// fn decide(check: &ServerCertCheck<'_>) -> bool {
///     let self_signed = matches!(
///         check.verdict(),
///         Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))
///     ) && check.intermediates().is_empty();
///     check.verdict().is_ok() || (self_signed && check.server_name().to_str() == "device.local")
/// }
/// let connector = TlsConnector::builder().verify_with(decide).build()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ServerCertCheck<'a> {
    pub(super) end_entity: &'a CertificateDer<'a>,
    pub(super) intermediates: &'a [CertificateDer<'a>],
    pub(super) server_name: &'a ServerName<'a>,
    pub(super) verdict: &'a Result<(), rustls::Error>,
}

impl<'a> ServerCertCheck<'a> {
    /// The server's own certificate (DER), the first of the chain it sent.
    ///
    /// ```
    /// use laputa::tls::{ServerCertCheck, TlsConnector};
    ///
    /// // Pins one certificate (DER bytes), whatever its issuer.
    /// fn pinned(expected: Vec<u8>) -> impl Fn(&ServerCertCheck<'_>) -> bool {
    ///     move |check| check.end_entity().as_ref() == expected.as_slice()
    /// }
    /// let connector = TlsConnector::builder().verify_with(pinned(vec![0x30, 0x82])).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn end_entity(&self) -> &'a CertificateDer<'a> {
        self.end_entity
    }

    /// The intermediate certificates the server sent after its own.
    ///
    /// ```
    /// use laputa::tls::TlsConnector;
    ///
    /// // Refuses a server that sends no intermediate certificate, whatever else holds.
    /// let connector = TlsConnector::builder().verify_with(|check| !check.intermediates().is_empty()).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn intermediates(&self) -> &'a [CertificateDer<'a>] {
        self.intermediates
    }

    /// The whole chain the server sent: its certificate, then the intermediates.
    ///
    /// ```
    /// use laputa::tls::TlsConnector;
    ///
    /// let connector = TlsConnector::builder()
    ///     .verify_with(|check| {
    ///         for (i, certificate) in check.chain().enumerate() {
    ///             println!("certificate {i}: {} bytes", certificate.len());
    ///         }
    ///         check.verdict().is_ok()
    ///     })
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn chain(&self) -> impl Iterator<Item = &'a CertificateDer<'a>> {
        std::iter::once(self.end_entity).chain(self.intermediates)
    }

    /// The name the certificate was checked against: the URL's host (a DNS name or an IP
    /// address).
    ///
    /// ```
    /// use laputa::tls::TlsConnector;
    ///
    /// // Trusts anything on the loopback address, and nothing else beyond the normal roots.
    /// let connector = TlsConnector::builder()
    ///     .verify_with(|check| check.verdict().is_ok() || check.server_name().to_str() == "127.0.0.1")
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn server_name(&self) -> &'a ServerName<'a> {
        self.server_name
    }

    /// What the normal verification said: a pass, or the rustls error it would have failed
    /// with (`UnknownIssuer`, `NotValidForName`, `Expired`...).
    ///
    /// ```
    /// use laputa::tls::{rustls::{CertificateError, Error}, TlsConnector};
    ///
    /// // Tolerates an expired certificate (a lab device whose clock is wrong), nothing else.
    /// let connector = TlsConnector::builder()
    ///     .verify_with(|check| match check.verdict() {
    ///         Ok(()) => true,
    ///         Err(Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. })) => true,
    ///         Err(_) => false,
    ///     })
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn verdict(&self) -> Result<(), &'a rustls::Error> {
        self.verdict.as_ref().map(|_| ())
    }
}
