//! What a client connect is given, on every runtime: [`ClientBuilder`], one builder for the
//! URL, Origin, headers, cookies, subprotocols, credentials, proxy, redirects, limits and
//! timeouts (and TLS with the `rustls` feature), and [`IntoClientRequest`], so that `connect`
//! takes a `&str`, a `String`, an [`http::Uri`], an [`http::Request<()>`], a
//! [`ClientRequest`] or the builder.
//!
//! Every decision of the connect (which proxy, what to answer to a `401` or `407`, which
//! redirect to follow and what it strips, which cookies to send) is the core's
//! ([`laputa_core::connect`]); the adapters only run it.

use crate::Error;
use laputa_core::auth::Credentials;
use laputa_core::connect::Options;
use laputa_core::cookies::Cookie;
use laputa_core::handshake::ClientRequest;
use laputa_core::proxy::{Proxy, ProxyConfig, ProxyEnv};
use laputa_core::Config;
use std::time::{Duration, SystemTime};

/// One builder for everything a client connect may need.
///
/// ```
/// use laputa::ClientBuilder;
/// use std::time::Duration;
///
/// let builder = ClientBuilder::new("wss://example.com/chat")?
///     .origin("https://example.com")
///     .protocol("chat")
///     .cookie("session", "42")
///     .credentials("nobita", "password", false)
///     .proxy("http://proxy.corp:3128")?
///     .follow_redirects(10)
///     .timeout(Duration::from_secs(5));
/// assert_eq!(builder.request().host(), "example.com");
/// # Ok::<(), laputa::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    request: ClientRequest,
    options: Options,
    config: Config,
    /// Cookies for the first request's host, added to the jar at connect time (the jar takes
    /// the time then).
    cookies: Vec<Cookie<'static>>,
    tls: TlsSettings,
}

/// The TLS settings of a connect, as [`ClientBuilder::tls`] set them (the platform's verifier
/// when none were set); opaque, handed to the runtime that starts TLS.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    #[cfg(feature = "rustls")]
    pub(crate) connector: Option<crate::tls::TlsConnector>,
}

#[cfg(all(feature = "rustls", any(feature = "blocking", feature = "_async")))]
impl TlsSettings {
    /// The connector set, or the default one.
    pub(crate) fn connector(&self) -> std::borrow::Cow<'_, crate::tls::TlsConnector> {
        match &self.connector {
            Some(connector) => std::borrow::Cow::Borrowed(connector),
            None => std::borrow::Cow::Owned(crate::tls::TlsConnector::default()),
        }
    }
}

impl ClientBuilder {
    /// A connect to `url` (`ws://`, `wss://`; `http://` and `https://` as synonyms) with the
    /// default [`Config`], no proxy, no credentials but those in the URL, no redirects.
    ///
    /// ```
    /// use laputa::ClientBuilder;
    /// assert!(ClientBuilder::new("ws://example.com/").is_ok());
    /// assert!(ClientBuilder::new("ftp://example.com/").is_err());
    /// ```
    pub fn new(url: &str) -> Result<Self, Error> {
        Ok(Self::from_request(ClientRequest::new(url)?))
    }

    /// A connect for a prepared [`ClientRequest`].
    ///
    /// ```
    /// use laputa::{ClientBuilder, ClientRequest};
    /// let builder = ClientBuilder::from_request(ClientRequest::new("ws://example.com/")?.protocol("chat"));
    /// assert_eq!(builder.request().port(), 80);
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn from_request(request: ClientRequest) -> Self {
        Self {
            request,
            options: Options::default(),
            config: Config::default(),
            cookies: Vec::new(),
            tls: TlsSettings::default(),
        }
    }

    /// Sets the `Origin` header (websocket-sharp's `Origin`).
    ///
    /// ```
    /// let builder = laputa::ClientBuilder::new("ws://example.com/")?.origin("https://example.com");
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.request = self.request.origin(origin);
        self
    }

    /// Offers a subprotocol (several in order of preference).
    ///
    /// ```
    /// let builder = laputa::ClientBuilder::new("ws://example.com/")?.protocol("chat.v2").protocol("chat");
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.request = self.request.protocol(protocol);
        self
    }

    /// Adds a header to the upgrade request (not one the handshake sets itself: the connect
    /// fails with `InvalidRequest` then).
    ///
    /// ```
    /// use laputa::http::{HeaderName, HeaderValue};
    /// let builder = laputa::ClientBuilder::new("ws://example.com/")?
    ///     .header(HeaderName::from_static("x-client"), HeaderValue::from_static("demo"));
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    /// Sends a cookie to the URL's host (websocket-sharp's `SetCookie`); cookies the servers
    /// set on the way (redirects included) are kept and sent where they match.
    ///
    /// ```
    /// let builder = laputa::ClientBuilder::new("ws://example.com/")?.cookie("session", "42");
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn cookie(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.cookies.push(Cookie::new(name.into(), value.into()));
        self
    }

    /// Credentials for the server (websocket-sharp's `SetCredentials`): the answer to a `401`,
    /// Basic or Digest; with `preauth`, Basic goes with the first request. They never go to
    /// another host, port or scheme after a redirect.
    ///
    /// ```
    /// let builder = laputa::ClientBuilder::new("ws://example.com/")?.credentials("nobita", "password", true);
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>, preauth: bool) -> Self {
        self.options.credentials = Some(Credentials::new(user, password));
        self.options.preauth = preauth;
        self
    }

    /// Connects through the HTTP proxy at `url` (`http://[user:password@]host[:port]`) with
    /// `CONNECT` (websocket-sharp's `SetProxy`), for `ws://` and `wss://` alike.
    ///
    /// ```
    /// let builder = laputa::ClientBuilder::new("wss://example.com/")?.proxy("http://user:pw@proxy.corp:3128")?;
    /// assert!(laputa::ClientBuilder::new("ws://example.com/")?.proxy("socks5://proxy:1080").is_err());
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn proxy(mut self, url: &str) -> Result<Self, Error> {
        let proxy =
            Proxy::parse(url).map_err(|e| Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
        self.options.proxy = ProxyConfig::Fixed(proxy);
        Ok(self)
    }

    /// Proxy credentials, for the proxy set with [`proxy`](Self::proxy) (the answer to its
    /// `407`, Basic or Digest; never sent inside the tunnel).
    ///
    /// ```
    /// let builder = laputa::ClientBuilder::new("ws://example.com/")?
    ///     .proxy("http://proxy.corp:3128")?
    ///     .proxy_credentials("user", "pw");
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn proxy_credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        if let ProxyConfig::Fixed(proxy) = self.options.proxy {
            self.options.proxy = ProxyConfig::Fixed(proxy.with_credentials(user, password));
        }
        self
    }

    /// Takes the proxy from the environment, as curl and reqwest do: `HTTPS_PROXY` for `wss`,
    /// `HTTP_PROXY` for `ws`, `ALL_PROXY` otherwise, `NO_PROXY`, and none under CGI
    /// (`REQUEST_METHOD` set). The rules are the core's ([`ProxyEnv`]); this reads the
    /// variables.
    ///
    /// ```
    /// let builder = laputa::ClientBuilder::new("ws://example.com/")?.proxy_from_env();
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn proxy_from_env(mut self) -> Self {
        self.options.proxy = ProxyConfig::FromEnv(ProxyEnv::from_vars(std::env::vars()));
        self
    }

    /// Follows up to `max` redirects (websocket-sharp's `EnableRedirection`; off by default).
    /// `wss://` is never redirected to `ws://`.
    ///
    /// ```
    /// use laputa::{core::connect::DEFAULT_MAX_REDIRECTS, ClientBuilder};
    /// let builder = ClientBuilder::new("ws://example.com/")?.follow_redirects(DEFAULT_MAX_REDIRECTS);
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn follow_redirects(mut self, max: usize) -> Self {
        self.options.max_redirects = Some(max);
        self
    }

    /// The limits and timeouts of the connection ([`Config`]).
    ///
    /// ```
    /// let mut config = laputa::Config::default();
    /// config.max_message_size = 1 << 20;
    /// let builder = laputa::ClientBuilder::new("ws://example.com/")?.config(config);
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The deadline over the whole connect: name resolution, TCP, the proxy, TLS, the
    /// upgrade, authentication and redirects ([`Config::handshake_timeout`], 10 s by default).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = laputa::ClientBuilder::new("ws://example.com/")?.timeout(Duration::from_secs(3));
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.handshake_timeout = timeout;
        self
    }

    /// The TLS settings for `wss://` (trust roots, a verification callback, a client
    /// certificate); the platform's verifier by default.
    #[cfg(feature = "rustls")]
    pub fn tls(mut self, tls: crate::tls::TlsConnector) -> Self {
        self.tls.connector = Some(tls);
        self
    }

    /// The request as built so far.
    ///
    /// ```
    /// let builder = laputa::ClientBuilder::new("ws://example.com:9001/chat")?;
    /// assert_eq!(builder.request().port(), 9001);
    /// # Ok::<(), laputa::Error>(())
    /// ```
    pub fn request(&self) -> &ClientRequest {
        &self.request
    }

    /// The parts a driver needs: the request, the options (the jar holding the cookies given),
    /// the config and the TLS settings.
    #[allow(dead_code)] // the connect pipelines take it apart (next commit)
    pub(crate) fn into_parts(self, wall: SystemTime) -> Parts {
        let mut options = self.options;
        for cookie in self.cookies {
            options.cookies.add(self.request.uri(), cookie, wall);
        }
        Parts { request: self.request, options, config: self.config, tls: self.tls }
    }
}

/// A [`ClientBuilder`] taken apart for a driver.
#[derive(Debug)]
#[allow(dead_code)]
pub(crate) struct Parts {
    pub(crate) request: ClientRequest,
    pub(crate) options: Options,
    pub(crate) config: Config,
    pub(crate) tls: TlsSettings,
}

/// What `connect` takes: a URL (`&str`, `String`, [`http::Uri`]), an [`http::Request<()>`]
/// (its URI, and its headers: Origin, subprotocols, extension offers, cookies and the rest), a
/// [`ClientRequest`], or a [`ClientBuilder`].
///
/// ```
/// use laputa::{ClientBuilder, IntoClientRequest};
///
/// let request = http::Request::get("ws://example.com/chat")
///     .header("Origin", "https://example.com")
///     .header("Sec-WebSocket-Protocol", "chat, superchat")
///     .body(())?;
/// let builder: ClientBuilder = request.into_client_request()?;
/// assert_eq!(builder.request().uri().path(), "/chat");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait IntoClientRequest {
    /// The builder for this request.
    fn into_client_request(self) -> Result<ClientBuilder, Error>;
}

impl IntoClientRequest for ClientBuilder {
    fn into_client_request(self) -> Result<ClientBuilder, Error> {
        Ok(self)
    }
}

impl IntoClientRequest for ClientRequest {
    fn into_client_request(self) -> Result<ClientBuilder, Error> {
        Ok(ClientBuilder::from_request(self))
    }
}

impl IntoClientRequest for &str {
    fn into_client_request(self) -> Result<ClientBuilder, Error> {
        ClientBuilder::new(self)
    }
}

impl IntoClientRequest for String {
    fn into_client_request(self) -> Result<ClientBuilder, Error> {
        ClientBuilder::new(&self)
    }
}

impl IntoClientRequest for &String {
    fn into_client_request(self) -> Result<ClientBuilder, Error> {
        ClientBuilder::new(self)
    }
}

impl IntoClientRequest for http::Uri {
    fn into_client_request(self) -> Result<ClientBuilder, Error> {
        ClientBuilder::new(&self.to_string())
    }
}

impl IntoClientRequest for http::Request<()> {
    fn into_client_request(self) -> Result<ClientBuilder, Error> {
        use http::header::{
            CONNECTION, HOST, ORIGIN, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
            SEC_WEBSOCKET_VERSION, UPGRADE,
        };
        let mut request = ClientRequest::new(&self.uri().to_string())?;
        for (name, value) in self.headers() {
            let text = value.to_str().unwrap_or_default();
            if name == ORIGIN {
                request = request.origin(text);
            } else if name == SEC_WEBSOCKET_PROTOCOL {
                for protocol in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    request = request.protocol(protocol);
                }
            } else if name == SEC_WEBSOCKET_EXTENSIONS {
                request = request.extension_offer(text);
            } else if ![HOST, UPGRADE, CONNECTION, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION].contains(name) {
                // The handshake writes those itself, from the URI and its own key.
                request = request.header(name.clone(), value.clone());
            }
        }
        Ok(ClientBuilder::from_request(request))
    }
}
