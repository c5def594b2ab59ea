//! HTTP proxies: which proxy a target goes through, from settings or from the environment handed
//! in as data (the core reads no environment), and the `CONNECT` request that opens the tunnel.
//!
//! A client reaches a `ws://` or `wss://` server through an HTTP proxy by asking the proxy for a
//! tunnel (`CONNECT host:port`, RFC 9110 section 9.3.6) and then speaking to the server inside
//! it: TLS for `wss://`, then the opening handshake. This module decides whether and through
//! which proxy ([`ProxyConfig::select`]) and writes the request ([`connect_request`]); the
//! connect flow sends it and reads the proxy's answer.
//!
//! ```
//! use laputa_core::proxy::{connect_request, ProxyConfig, ProxyEnv};
//!
//! // What an adapter hands in: `ProxyEnv::from_vars(std::env::vars())`.
//! let env = ProxyEnv::from_vars([
//!     ("HTTPS_PROXY", "http://user:p%40ss@proxy.corp:3128"),
//!     ("NO_PROXY", "localhost, .internal"),
//! ]);
//! let config = ProxyConfig::FromEnv(env);
//!
//! // wss://echo.example.com goes through the proxy; ws:// has none (no HTTP_PROXY or ALL_PROXY).
//! let proxy = config.select("echo.example.com", 443, true).expect("HTTPS_PROXY applies");
//! assert_eq!((proxy.host(), proxy.port()), ("proxy.corp", 3128));
//! let credentials = proxy.credentials().expect("from the URL");
//! assert_eq!((credentials.user(), credentials.password()), ("user", "p@ss"));
//! assert!(config.select("echo.example.com", 80, false).is_none());
//! // NO_PROXY: direct.
//! assert!(config.select("db.internal", 443, true).is_none());
//!
//! // The first bytes written to the proxy.
//! let request = connect_request("echo.example.com", 443, None)?;
//! assert_eq!(request, b"CONNECT echo.example.com:443 HTTP/1.1\r\nHost: echo.example.com:443\r\n\r\n");
//! # Ok::<(), laputa_core::proxy::ProxyError>(())
//! ```

mod no_proxy;

pub use no_proxy::NoProxy;

use crate::auth::Credentials;
use http::HeaderValue;
use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

/// An HTTP proxy: where to connect, and the credentials to answer its `407` with, if any.
///
/// Only `http://` proxies are supported: the connection to the proxy itself is plain TCP, and a
/// `wss://` target is still encrypted end to end inside the tunnel. `https://` proxies (TLS to
/// the proxy) and SOCKS proxies are refused with [`ProxyError::UnsupportedScheme`].
///
/// ```
/// use laputa_core::proxy::Proxy;
///
/// let proxy: Proxy = "http://proxy.corp:3128".parse()?;
/// assert_eq!((proxy.host(), proxy.port()), ("proxy.corp", 3128));
/// assert!(proxy.credentials().is_none());
/// // websocket-sharp's `SetProxy(url, user, password)`.
/// let proxy = proxy.with_credentials("alice", "secret");
/// assert_eq!(proxy.credentials().map(|c| c.user()), Some("alice"));
/// // Logs never show the password.
/// assert!(!format!("{proxy:?}").contains("secret"));
/// assert_eq!(proxy.to_string(), "http://proxy.corp:3128");
/// # Ok::<(), laputa_core::proxy::ProxyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// A name or an IP address; IPv6 without brackets.
    host: String,
    port: u16,
    credentials: Option<Credentials>,
}

impl Proxy {
    /// The default port of an `http://` proxy, as of any `http://` URL. (1080 is SOCKS's.)
    ///
    /// ```
    /// use laputa_core::proxy::Proxy;
    ///
    /// assert_eq!(Proxy::parse("http://proxy.corp")?.port(), Proxy::DEFAULT_PORT);
    /// # Ok::<(), laputa_core::proxy::ProxyError>(())
    /// ```
    pub const DEFAULT_PORT: u16 = 80;

    /// A proxy at `host:port`, without credentials. `host` is a name or an IP address; an IPv6
    /// address may be given with or without brackets.
    ///
    /// ```
    /// use laputa_core::proxy::{Proxy, ProxyError};
    ///
    /// let proxy = Proxy::new("[2001:db8::1]", 3128)?;
    /// assert_eq!(proxy.host(), "2001:db8::1");
    /// assert_eq!(proxy.to_string(), "http://[2001:db8::1]:3128");
    /// assert_eq!(Proxy::new("proxy corp", 3128), Err(ProxyError::InvalidHost));
    /// assert_eq!(Proxy::new("proxy.corp", 0), Err(ProxyError::InvalidPort));
    /// # Ok::<(), ProxyError>(())
    /// ```
    pub fn new(host: &str, port: u16) -> Result<Self, ProxyError> {
        if port == 0 {
            return Err(ProxyError::InvalidPort);
        }
        let host = valid_host(host).ok_or(ProxyError::InvalidHost)?;
        Ok(Self { host: host.to_owned(), port, credentials: None })
    }

    /// Parses a proxy URL: `[http://][user[:password]@]host[:port][/]`.
    ///
    /// Without a scheme the URL is taken as `http://`, as curl and reqwest do with the values of
    /// proxy variables. The port defaults to 80. The user and password are percent-decoded (a
    /// `@`, `:` or `/` in them must be written `%40`, `%3A`, `%2F`) and must be UTF-8 once
    /// decoded; a user without a password has the empty password. A path, query or fragment
    /// is ignored. Surrounding whitespace is trimmed.
    ///
    /// ```
    /// use laputa_core::proxy::{Proxy, ProxyError};
    ///
    /// let proxy = Proxy::parse("http://dom%5Cuser:p%40ss%3Aword@10.0.0.1:8080/")?;
    /// assert_eq!((proxy.host(), proxy.port()), ("10.0.0.1", 8080));
    /// let credentials = proxy.credentials().unwrap();
    /// assert_eq!((credentials.user(), credentials.password()), ("dom\\user", "p@ss:word"));
    ///
    /// assert_eq!(Proxy::parse("proxy.corp")?.to_string(), "http://proxy.corp:80");
    /// assert!(matches!(Proxy::parse("https://proxy.corp"), Err(ProxyError::UnsupportedScheme(s)) if s == "https"));
    /// assert!(matches!(Proxy::parse("socks5://proxy.corp"), Err(ProxyError::UnsupportedScheme(_))));
    /// assert_eq!(Proxy::parse("http://proxy.corp:99999"), Err(ProxyError::InvalidPort));
    /// # Ok::<(), ProxyError>(())
    /// ```
    pub fn parse(url: &str) -> Result<Self, ProxyError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(ProxyError::Empty);
        }
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if is_scheme(scheme) => {
                if !scheme.eq_ignore_ascii_case("http") {
                    return Err(ProxyError::UnsupportedScheme(scheme.to_ascii_lowercase()));
                }
                rest
            }
            // `1http://host`: neither a scheme nor an authority.
            Some(_) => return Err(ProxyError::InvalidHost),
            None => url,
        };
        // RFC 3986 section 3.2: the authority ends at the first `/`, `?` or `#`; the userinfo
        // before it ends at the last `@`.
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let (host, port) = split_host_port(host_port)?;
        let mut proxy = Self::new(host, port.unwrap_or(Self::DEFAULT_PORT))?;
        if let Some(userinfo) = userinfo.filter(|userinfo| !userinfo.is_empty()) {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let user = percent_decode(user).ok_or(ProxyError::InvalidCredentials)?;
            let password = percent_decode(password).ok_or(ProxyError::InvalidCredentials)?;
            proxy.credentials = Some(Credentials::new(user, password));
        }
        Ok(proxy)
    }

    /// Replaces the credentials, for example those of the URL, with these.
    ///
    /// ```
    /// use laputa_core::proxy::Proxy;
    ///
    /// let proxy = Proxy::parse("http://old:old@proxy.corp")?.with_credentials("new", "pass");
    /// assert_eq!(proxy.credentials().map(|c| (c.user(), c.password())), Some(("new", "pass")));
    /// # Ok::<(), laputa_core::proxy::ProxyError>(())
    /// ```
    #[must_use]
    pub fn with_credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::new(user, password));
        self
    }

    /// The proxy's host name or IP address, an IPv6 address without brackets: what to resolve
    /// and connect to.
    ///
    /// ```
    /// use laputa_core::proxy::Proxy;
    ///
    /// assert_eq!(Proxy::parse("http://[::1]:3128")?.host(), "::1");
    /// # Ok::<(), laputa_core::proxy::ProxyError>(())
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    ///
    /// ```
    /// use laputa_core::proxy::Proxy;
    ///
    /// assert_eq!(Proxy::parse("http://[::1]:3128")?.port(), 3128);
    /// # Ok::<(), laputa_core::proxy::ProxyError>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The credentials to answer the proxy's `407` with (through
    /// [`auth::ClientAuth`](crate::auth::ClientAuth)), from the URL or
    /// [`with_credentials`](Self::with_credentials).
    ///
    /// ```
    /// use laputa_core::proxy::Proxy;
    ///
    /// assert!(Proxy::parse("http://proxy.corp")?.credentials().is_none());
    /// let proxy = Proxy::parse("http://alice@proxy.corp")?;
    /// assert_eq!(proxy.credentials().map(|c| (c.user(), c.password())), Some(("alice", "")));
    /// # Ok::<(), laputa_core::proxy::ProxyError>(())
    /// ```
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }
}

impl FromStr for Proxy {
    type Err = ProxyError;

    fn from_str(url: &str) -> Result<Self, ProxyError> {
        Self::parse(url)
    }
}

/// `http://host:port`, never the credentials.
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}", Authority(&self.host, self.port))
    }
}

/// Why a proxy URL or a `CONNECT` target cannot be used. Never carries the URL, which may hold
/// a password.
///
/// ```
/// use laputa_core::proxy::{Proxy, ProxyError};
///
/// let err = Proxy::parse("https://proxy.corp").unwrap_err();
/// assert_eq!(err, ProxyError::UnsupportedScheme("https".into()));
/// assert!(err.to_string().contains("not supported"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The URL is empty or only whitespace.
    Empty,
    /// A scheme other than `http` (lower-cased): `https` (TLS to the proxy) and SOCKS are not
    /// supported.
    UnsupportedScheme(String),
    /// The host is missing or is neither a name (letters, digits, `-`, `.`, `_`, `~`) nor an IP
    /// address (IPv6 in brackets in a URL).
    InvalidHost,
    /// The port is not a number from 1 to 65535.
    InvalidPort,
    /// The user or password is not UTF-8 once percent-decoded.
    InvalidCredentials,
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty proxy URL"),
            Self::UnsupportedScheme(scheme) if scheme == "https" => f.write_str(
                "https:// proxies (TLS to the proxy) are not supported: use an http:// proxy, \
                 through which wss:// stays encrypted end to end",
            ),
            Self::UnsupportedScheme(scheme) => {
                write!(f, "proxy scheme {scheme:?} is not supported: only http:// proxies are")
            }
            Self::InvalidHost => f.write_str("not a valid host name or IP address"),
            Self::InvalidPort => f.write_str("proxy port is not a number from 1 to 65535"),
            Self::InvalidCredentials => f.write_str("proxy user or password is not UTF-8 once percent-decoded"),
        }
    }
}

impl std::error::Error for ProxyError {}

/// How a client picks its proxy: none, one for every connection, or from the environment.
///
/// ```
/// use laputa_core::proxy::{Proxy, ProxyConfig};
///
/// assert!(ProxyConfig::default().select("example.com", 443, true).is_none());
/// let fixed = ProxyConfig::Fixed(Proxy::parse("http://proxy.corp:3128")?);
/// // A fixed proxy applies to every target, localhost included.
/// assert_eq!(fixed.select("localhost", 80, false).map(|p| p.port()), Some(3128));
/// # Ok::<(), laputa_core::proxy::ProxyError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxyConfig {
    /// Connect directly (the default).
    #[default]
    None,
    /// Always through this proxy: websocket-sharp's `SetProxy(url, user, password)`.
    Fixed(Proxy),
    /// As the environment says: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`.
    FromEnv(ProxyEnv),
}

impl ProxyConfig {
    /// The proxy to reach `host:port` through, or `None` to connect directly. `secure` is true
    /// for `wss://` (and `https://`) targets. `host` is a name or an IP address, an IPv6
    /// address with or without brackets.
    ///
    /// ```
    /// use laputa_core::proxy::{ProxyConfig, ProxyEnv};
    ///
    /// let config = ProxyConfig::FromEnv(ProxyEnv::from_vars([("ALL_PROXY", "proxy.corp:3128")]));
    /// assert!(config.select("example.com", 443, true).is_some());
    /// assert!(config.select("example.com", 80, false).is_some());
    /// ```
    pub fn select(&self, host: &str, port: u16, secure: bool) -> Option<&Proxy> {
        match self {
            Self::None => None,
            Self::Fixed(proxy) => Some(proxy),
            Self::FromEnv(env) => env.select(host, port, secure),
        }
    }
}

/// The proxy settings of an environment, handed in as data: the core never reads the process
/// environment; an adapter calls `ProxyEnv::from_vars(std::env::vars())`.
///
/// The rules, as reqwest (through hyper-util) applies them:
///
/// - `wss://` targets use `HTTPS_PROXY`, `ws://` targets `HTTP_PROXY`; both fall back to
///   `ALL_PROXY`.
/// - For each, the upper-case name is read before the lower-case one (`HTTPS_PROXY`, then
///   `https_proxy`). curl reads the lower-case name first, and never reads `HTTP_PROXY` in
///   upper case, because a CGI program finds a request's `Proxy:` header there (httpoxy,
///   CVE-2016-5385). laputa follows reqwest instead and guards against httpoxy as it does: see
///   the next rule.
/// - Nothing at all is used when `REQUEST_METHOD` is set, which marks a CGI program: no proxy,
///   whatever the other variables say.
/// - An empty value counts as unset. A value that is not a usable proxy URL ([`Proxy::parse`]:
///   an `https://` or SOCKS proxy, say) is skipped as if unset, so the next name in the order
///   applies, and is listed in [`ignored`](Self::ignored) (and logged) so that an application
///   can say why it connected directly.
/// - `NO_PROXY`, else `no_proxy`, lists the targets reached directly: see [`NoProxy`].
///
/// ```
/// use laputa_core::proxy::ProxyEnv;
///
/// let env = ProxyEnv::from_vars([
///     ("https_proxy", "http://lower:3128"),
///     ("HTTPS_PROXY", "http://upper:3128"),
///     ("ALL_PROXY", "http://all:3128"),
///     ("no_proxy", "*.internal"),
/// ]);
/// assert_eq!(env.select("example.com", 443, true).map(|p| p.host()), Some("upper"));
/// assert_eq!(env.select("example.com", 80, false).map(|p| p.host()), Some("all"));
/// assert!(env.select("ci.internal", 443, true).is_none());
///
/// // A CGI program: the environment may come from the request.
/// let cgi = ProxyEnv::from_vars([("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:80")]);
/// assert!(cgi.select("example.com", 80, false).is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    /// For `ws://`.
    http: Option<Proxy>,
    /// For `wss://`.
    https: Option<Proxy>,
    no_proxy: NoProxy,
    cgi: bool,
    ignored: Vec<(&'static str, ProxyError)>,
}

/// The variables read for each kind of target, in order.
const HTTP_VARS: [&str; 4] = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];
const HTTPS_VARS: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];
const NO_PROXY_VARS: [&str; 2] = ["NO_PROXY", "no_proxy"];

impl ProxyEnv {
    /// Reads the proxy variables out of `(name, value)` pairs; other names are ignored. Names
    /// are compared exactly; when one occurs twice, the last value counts.
    ///
    /// ```
    /// use laputa_core::proxy::ProxyEnv;
    ///
    /// let env = ProxyEnv::from_vars(vec![
    ///     ("PATH".to_string(), "/usr/bin".to_string()),
    ///     ("http_proxy".to_string(), "http://proxy.corp:8080".to_string()),
    /// ]);
    /// assert_eq!(env.select("example.com", 80, false).map(|p| p.port()), Some(8080));
    /// assert!(env.select("example.com", 443, true).is_none());
    /// ```
    pub fn from_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        const NAMES: [&str; 9] = [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
            "REQUEST_METHOD",
        ];
        let mut values: [Option<String>; NAMES.len()] = Default::default();
        for (name, value) in vars {
            if let Some(i) = NAMES.iter().position(|n| *n == name.as_ref()) {
                values[i] = Some(value.as_ref().to_owned());
            }
        }
        let raw = |name: &str| NAMES.iter().position(|n| *n == name).and_then(|i| values[i].as_deref());
        // Empty and blank values count as unset.
        let get = |name: &str| raw(name).map(str::trim).filter(|value| !value.is_empty());

        let mut env = Self::default();
        if raw("REQUEST_METHOD").is_some() {
            env.cgi = true;
            if NAMES.iter().any(|name| *name != "REQUEST_METHOD" && get(name).is_some()) {
                tracing::warn!("proxy variables ignored: REQUEST_METHOD is set (a CGI program, httpoxy)");
            }
            return env;
        }
        let pick = |names: [&'static str; 4], ignored: &mut Vec<(&'static str, ProxyError)>| {
            for name in names {
                let Some(value) = get(name) else { continue };
                match Proxy::parse(value) {
                    Ok(proxy) => return Some(proxy),
                    Err(err) => {
                        if !ignored.iter().any(|(n, _)| *n == name) {
                            tracing::warn!(variable = name, error = %err, "proxy variable ignored");
                            ignored.push((name, err));
                        }
                    }
                }
            }
            None
        };
        let mut ignored = Vec::new();
        env.http = pick(HTTP_VARS, &mut ignored);
        env.https = pick(HTTPS_VARS, &mut ignored);
        env.ignored = ignored;
        env.no_proxy = NO_PROXY_VARS.iter().find_map(|name| get(name)).map(NoProxy::parse).unwrap_or_default();
        env
    }

    /// The proxy for `host:port`, or `None` to connect directly: the proxy for `wss://`
    /// (`secure`) or `ws://` targets unless `NO_PROXY` matches the target.
    ///
    /// ```
    /// use laputa_core::proxy::ProxyEnv;
    ///
    /// let env = ProxyEnv::from_vars([("ALL_PROXY", "proxy.corp"), ("NO_PROXY", "10.0.0.0/8")]);
    /// assert!(env.select("10.1.2.3", 443, true).is_none());
    /// assert_eq!(env.select("192.0.2.1", 443, true).map(|p| p.host()), Some("proxy.corp"));
    /// ```
    pub fn select(&self, host: &str, port: u16, secure: bool) -> Option<&Proxy> {
        let proxy = if secure { self.https.as_ref() } else { self.http.as_ref() }?;
        if self.no_proxy.matches(host, port) {
            return None;
        }
        Some(proxy)
    }

    /// The proxy for `ws://` targets, before `NO_PROXY`.
    ///
    /// ```
    /// use laputa_core::proxy::ProxyEnv;
    ///
    /// let env = ProxyEnv::from_vars([("HTTP_PROXY", "http://proxy.corp:8080")]);
    /// assert_eq!(env.http().map(|p| p.port()), Some(8080));
    /// assert!(env.https().is_none());
    /// ```
    pub fn http(&self) -> Option<&Proxy> {
        self.http.as_ref()
    }

    /// The proxy for `wss://` targets, before `NO_PROXY`.
    ///
    /// ```
    /// use laputa_core::proxy::ProxyEnv;
    ///
    /// let env = ProxyEnv::from_vars([("https_proxy", "http://proxy.corp:8443")]);
    /// assert_eq!(env.https().map(|p| p.port()), Some(8443));
    /// assert!(env.http().is_none());
    /// ```
    pub fn https(&self) -> Option<&Proxy> {
        self.https.as_ref()
    }

    /// The targets reached directly.
    ///
    /// ```
    /// use laputa_core::proxy::ProxyEnv;
    ///
    /// let env = ProxyEnv::from_vars([("no_proxy", "localhost")]);
    /// assert!(env.no_proxy().matches("localhost", 80));
    /// ```
    pub fn no_proxy(&self) -> &NoProxy {
        &self.no_proxy
    }

    /// Whether `REQUEST_METHOD` was set, so that every proxy variable was ignored.
    ///
    /// ```
    /// use laputa_core::proxy::ProxyEnv;
    ///
    /// assert!(ProxyEnv::from_vars([("REQUEST_METHOD", "POST")]).is_cgi());
    /// assert!(!ProxyEnv::from_vars([("PATH", "/bin")]).is_cgi());
    /// ```
    pub fn is_cgi(&self) -> bool {
        self.cgi
    }

    /// The proxy variables whose values were skipped, with the reason, in the order they were
    /// read (those for `ws://` targets first, then those for `wss://`).
    ///
    /// ```
    /// use laputa_core::proxy::{ProxyEnv, ProxyError};
    ///
    /// let env = ProxyEnv::from_vars([("HTTPS_PROXY", "https://proxy.corp"), ("ALL_PROXY", "http://fallback")]);
    /// assert_eq!(env.ignored(), [("HTTPS_PROXY", ProxyError::UnsupportedScheme("https".into()))]);
    /// // The next variable in the order applies instead.
    /// assert_eq!(env.https().map(|p| p.host()), Some("fallback"));
    /// ```
    pub fn ignored(&self) -> &[(&'static str, ProxyError)] {
        &self.ignored
    }
}

/// The `CONNECT` request that asks a proxy for a tunnel to `host:port`; the connect flow writes
/// it to the proxy and reads the answer. RFC 9110 section 9.3.6: "the request-target consists
/// of only the host and port number of the tunnel destination, separated by a colon"; the
/// `Host` header carries the same authority. An IPv6 `host` may be given with or without
/// brackets and is written with them.
///
/// `proxy_authorization` is the `Proxy-Authorization` value, if the proxy asked for one (or
/// preemptively). It is sent to the proxy only: nothing of this request reaches the tunnel.
///
/// ```
/// use laputa_core::http::HeaderValue;
/// use laputa_core::proxy::{connect_request, ProxyError};
///
/// let auth = HeaderValue::from_static("Basic YWxpY2U6c2VjcmV0");
/// let request = connect_request("::1", 8443, Some(&auth))?;
/// assert_eq!(
///     request,
///     b"CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\nProxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n"
/// );
/// // A host that would break the request line is refused.
/// assert_eq!(connect_request("example.com\r\nX: y", 443, None), Err(ProxyError::InvalidHost));
/// # Ok::<(), ProxyError>(())
/// ```
pub fn connect_request(
    host: &str,
    port: u16,
    proxy_authorization: Option<&HeaderValue>,
) -> Result<Vec<u8>, ProxyError> {
    let host = valid_host(host).ok_or(ProxyError::InvalidHost)?;
    let authority = Authority(host, port).to_string();
    let mut request = Vec::with_capacity(64 + 2 * authority.len());
    request.extend_from_slice(b"CONNECT ");
    request.extend_from_slice(authority.as_bytes());
    request.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    request.extend_from_slice(authority.as_bytes());
    request.extend_from_slice(b"\r\n");
    if let Some(value) = proxy_authorization {
        // A HeaderValue holds no CR, LF or NUL, so it cannot end the header early.
        request.extend_from_slice(b"Proxy-Authorization: ");
        request.extend_from_slice(value.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    Ok(request)
}

/// `host:port`, an IPv6 host in brackets (RFC 3986 section 3.2.2).
struct Authority<'a>(&'a str, u16);

impl fmt::Display for Authority<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.contains(':') {
            write!(f, "[{}]:{}", self.0, self.1)
        } else {
            write!(f, "{}:{}", self.0, self.1)
        }
    }
}

/// `host` without brackets if it is an IPv6 address (bracketed or not) or a name made of
/// RFC 3986 unreserved characters (which covers IPv4 addresses and DNS names in ASCII form).
fn valid_host(host: &str) -> Option<&str> {
    let unbracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    if let Some(v6) = unbracketed {
        return v6.parse::<Ipv6Addr>().is_ok().then_some(v6);
    }
    if host.parse::<Ipv6Addr>().is_ok() {
        return Some(host);
    }
    let name_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    (!host.is_empty() && host.bytes().all(name_byte)).then_some(host)
}

/// Splits `host[:port]` (`[v6][:port]`); an empty port is no port (RFC 3986 section 3.2.3).
fn split_host_port(host_port: &str) -> Result<(&str, Option<u16>), ProxyError> {
    let (host, port) = if host_port.starts_with('[') {
        match host_port.find(']') {
            Some(end) => {
                let (host, rest) = host_port.split_at(end + 1);
                match rest.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None if rest.is_empty() => (host, None),
                    None => return Err(ProxyError::InvalidHost),
                }
            }
            None => return Err(ProxyError::InvalidHost),
        }
    } else {
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        };
        // An IPv6 address in a URL needs brackets, which also tell its colons from the port's.
        if host.contains(':') {
            return Err(ProxyError::InvalidHost);
        }
        (host, port)
    };
    let port = match port.filter(|port| !port.is_empty()) {
        None => None,
        Some(port) if port.bytes().all(|b| b.is_ascii_digit()) => {
            Some(port.parse().map_err(|_| ProxyError::InvalidPort)?)
        }
        Some(_) => return Err(ProxyError::InvalidPort),
    };
    Ok((host, port))
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 section 3.1).
fn is_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Percent-decodes `%XX` sequences; a `%` not followed by two hex digits stays as it is (as
/// browsers and the `percent-encoding` crate do). `None` if the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(high), Some(low)) => {
                // Two hex digits make at most 0xff.
                out.push(u8::try_from(high * 16 + low).unwrap_or_default());
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> ProxyEnv {
        ProxyEnv::from_vars(vars.iter().copied())
    }

    /// The proxy host chosen for a `wss://` and a `ws://` target.
    fn chosen(env: &ProxyEnv) -> (Option<&str>, Option<&str>) {
        (env.select("example.com", 443, true).map(Proxy::host), env.select("example.com", 80, false).map(Proxy::host))
    }

    #[test]
    fn precedence() {
        // Each kind of target reads its own variable, then ALL_PROXY.
        assert_eq!(chosen(&env(&[("HTTPS_PROXY", "s")])), (Some("s"), None));
        assert_eq!(chosen(&env(&[("HTTP_PROXY", "h")])), (None, Some("h")));
        assert_eq!(chosen(&env(&[("ALL_PROXY", "a")])), (Some("a"), Some("a")));
        assert_eq!(chosen(&env(&[("all_proxy", "a")])), (Some("a"), Some("a")));
        assert_eq!(
            chosen(&env(&[("HTTPS_PROXY", "s"), ("HTTP_PROXY", "h"), ("ALL_PROXY", "a")])),
            (Some("s"), Some("h"))
        );
        assert_eq!(chosen(&env(&[("HTTP_PROXY", "h"), ("ALL_PROXY", "a")])), (Some("a"), Some("h")));
        // Upper case before lower case, for every variable, HTTP_PROXY included.
        assert_eq!(chosen(&env(&[("https_proxy", "lo"), ("HTTPS_PROXY", "UP")])), (Some("UP"), None));
        assert_eq!(chosen(&env(&[("http_proxy", "lo"), ("HTTP_PROXY", "UP")])), (None, Some("UP")));
        assert_eq!(chosen(&env(&[("all_proxy", "lo"), ("ALL_PROXY", "UP")])), (Some("UP"), Some("UP")));
        // The lower-case specific variable still beats the upper-case fallback.
        assert_eq!(chosen(&env(&[("https_proxy", "s"), ("ALL_PROXY", "a")])), (Some("s"), Some("a")));
        // Empty and blank values count as unset.
        assert_eq!(chosen(&env(&[("HTTPS_PROXY", ""), ("https_proxy", "lo")])), (Some("lo"), None));
        assert_eq!(chosen(&env(&[("HTTPS_PROXY", "  "), ("ALL_PROXY", "a")])), (Some("a"), Some("a")));
        // Names are exact: no other spelling, no other variable.
        assert_eq!(chosen(&env(&[("Https_Proxy", "x"), ("PROXY", "x"), ("ws_proxy", "x")])), (None, None));
        // The last of two equal names counts.
        assert_eq!(chosen(&env(&[("HTTPS_PROXY", "first"), ("HTTPS_PROXY", "last")])), (Some("last"), None));
    }

    #[test]
    fn unusable_values_are_skipped_and_listed() {
        let env =
            env(&[("HTTPS_PROXY", "https://tls.proxy"), ("https_proxy", "http://lower"), ("ALL_PROXY", "socks5://s")]);
        assert_eq!(chosen(&env), (Some("lower"), None));
        // In the order read: the variables for ws:// first.
        assert_eq!(
            env.ignored(),
            [
                ("ALL_PROXY", ProxyError::UnsupportedScheme("socks5".into())),
                ("HTTPS_PROXY", ProxyError::UnsupportedScheme("https".into())),
            ]
        );
        // ALL_PROXY is read for both kinds of target but listed once.
        let env = self::env(&[("ALL_PROXY", "http://bad:port")]);
        assert_eq!(env.ignored(), [("ALL_PROXY", ProxyError::InvalidPort)]);
        assert_eq!(chosen(&env), (None, None));
    }

    #[test]
    fn httpoxy() {
        // CVE-2016-5385: in a CGI program HTTP_PROXY may come from the request's `Proxy:` header.
        let all = [
            ("HTTP_PROXY", "http://evil"),
            ("HTTPS_PROXY", "http://p"),
            ("ALL_PROXY", "http://p"),
            ("http_proxy", "http://p"),
        ];
        let mut vars = all.to_vec();
        vars.push(("REQUEST_METHOD", "GET"));
        let cgi = env(&vars);
        assert!(cgi.is_cgi());
        assert_eq!(chosen(&cgi), (None, None));
        assert!(cgi.http().is_none() && cgi.https().is_none());
        // Set but empty still marks CGI.
        vars.push(("REQUEST_METHOD", ""));
        assert_eq!(chosen(&env(&vars)), (None, None));
        // Without it, the same variables apply.
        let plain = env(&all);
        assert!(!plain.is_cgi());
        assert_eq!(chosen(&plain), (Some("p"), Some("evil")));
    }

    #[test]
    fn no_proxy_from_env() {
        let vars = [("ALL_PROXY", "p"), ("NO_PROXY", "example.com"), ("no_proxy", "other.test")];
        assert_eq!(chosen(&env(&vars)), (None, None));
        assert!(env(&vars).select("other.test", 443, true).is_some(), "NO_PROXY wins over no_proxy");
        assert!(env(&[("ALL_PROXY", "p"), ("no_proxy", "example.com")]).select("a.example.com", 1, true).is_none());
        // An empty NO_PROXY counts as unset.
        assert!(env(&[("ALL_PROXY", "p"), ("NO_PROXY", ""), ("no_proxy", "*")]).select("x", 1, true).is_none());
        // NO_PROXY without a proxy changes nothing.
        assert_eq!(chosen(&env(&[("NO_PROXY", "*")])), (None, None));
        // NO_PROXY does not apply to a fixed proxy.
        let fixed = ProxyConfig::Fixed(Proxy::new("p", 1).unwrap());
        assert!(fixed.select("example.com", 443, true).is_some());
    }

    #[test]
    fn proxy_urls() {
        let parsed = |url: &str| Proxy::parse(url).map(|p| (p.host().to_owned(), p.port()));
        let ok = |host: &str, port| Ok((host.to_owned(), port));
        assert_eq!(parsed("http://proxy.corp:3128"), ok("proxy.corp", 3128));
        assert_eq!(parsed("HTTP://Proxy.Corp:3128/"), ok("Proxy.Corp", 3128));
        assert_eq!(parsed("http://proxy.corp"), ok("proxy.corp", 80));
        assert_eq!(parsed("http://proxy.corp:"), ok("proxy.corp", 80));
        assert_eq!(parsed("proxy.corp:3128"), ok("proxy.corp", 3128));
        assert_eq!(parsed("  proxy.corp:3128\n"), ok("proxy.corp", 3128));
        assert_eq!(parsed("http://proxy.corp:3128/some/path?q#f"), ok("proxy.corp", 3128));
        assert_eq!(parsed("http://10.0.0.1:8080"), ok("10.0.0.1", 8080));
        assert_eq!(parsed("http://[::1]:8080"), ok("::1", 8080));
        assert_eq!(parsed("http://[::1]"), ok("::1", 80));
        assert_eq!(parsed("[2001:db8::1]:3128"), ok("2001:db8::1", 3128));
        assert_eq!(parsed("http://under_score.local"), ok("under_score.local", 80));
        // Malformed.
        assert_eq!(parsed(""), Err(ProxyError::Empty));
        assert_eq!(parsed(" \t"), Err(ProxyError::Empty));
        assert_eq!(parsed("http://"), Err(ProxyError::InvalidHost));
        assert_eq!(parsed("http://:3128"), Err(ProxyError::InvalidHost));
        assert_eq!(parsed("http://user:pass@"), Err(ProxyError::InvalidHost));
        assert_eq!(parsed("http://proxy corp"), Err(ProxyError::InvalidHost));
        assert_eq!(parsed("http://proxy.corp:3128:1"), Err(ProxyError::InvalidHost));
        assert_eq!(parsed("http://::1:8080"), Err(ProxyError::InvalidHost));
        assert_eq!(parsed("http://[::1"), Err(ProxyError::InvalidHost));
        assert_eq!(parsed("http://[::1]x"), Err(ProxyError::InvalidHost));
        assert_eq!(parsed("http://[proxy.corp]"), Err(ProxyError::InvalidHost));
        assert_eq!(parsed("http://pröxy.corp"), Err(ProxyError::InvalidHost));
        assert_eq!(parsed("http://proxy\r\n.corp"), Err(ProxyError::InvalidHost));
        assert_eq!(parsed("http://proxy.corp\r\nX: y"), Err(ProxyError::InvalidPort));
        assert_eq!(parsed("http://proxy.corp:0"), Err(ProxyError::InvalidPort));
        assert_eq!(parsed("http://proxy.corp:65536"), Err(ProxyError::InvalidPort));
        assert_eq!(parsed("http://proxy.corp:-1"), Err(ProxyError::InvalidPort));
        assert_eq!(parsed("http://proxy.corp:+1"), Err(ProxyError::InvalidPort));
        assert_eq!(parsed("http://proxy.corp:http"), Err(ProxyError::InvalidPort));
        assert_eq!(parsed("https://proxy.corp"), Err(ProxyError::UnsupportedScheme("https".into())));
        assert_eq!(parsed("HTTPS://proxy.corp"), Err(ProxyError::UnsupportedScheme("https".into())));
        assert_eq!(parsed("socks5h://proxy.corp:1080"), Err(ProxyError::UnsupportedScheme("socks5h".into())));
        assert_eq!(parsed("ftp://proxy.corp"), Err(ProxyError::UnsupportedScheme("ftp".into())));
        // `://` after something that is not a scheme.
        assert_eq!(parsed("1http://proxy.corp"), Err(ProxyError::InvalidHost));
    }

    #[test]
    fn credentials_in_urls() {
        let creds = |url: &str| {
            Proxy::parse(url).map(|p| p.credentials().map(|c| (c.user().to_owned(), c.password().to_owned())))
        };
        let some = |u: &str, p: &str| Ok(Some((u.to_owned(), p.to_owned())));
        assert_eq!(creds("http://proxy.corp"), Ok(None));
        assert_eq!(creds("http://@proxy.corp"), Ok(None));
        assert_eq!(creds("http://alice:secret@proxy.corp"), some("alice", "secret"));
        assert_eq!(creds("alice:secret@proxy.corp:3128"), some("alice", "secret"));
        assert_eq!(creds("http://alice@proxy.corp"), some("alice", ""));
        assert_eq!(creds("http://alice:@proxy.corp"), some("alice", ""));
        assert_eq!(creds("http://:secret@proxy.corp"), some("", "secret"));
        // Percent-encoded, in either part; the password may hold a colon once decoded.
        assert_eq!(creds("http://dom%5Calice:p%40ss%3Aw%2Ford@proxy.corp"), some("dom\\alice", "p@ss:w/ord"));
        assert_eq!(creds("http://%C3%A9l%C3%A8ve:%E2%82%AC@proxy.corp"), some("élève", "€"));
        assert_eq!(creds("http://a%20b:c%2bd@proxy.corp"), some("a b", "c+d"));
        // A colon after the first one belongs to the password.
        assert_eq!(creds("http://alice:a:b@proxy.corp"), some("alice", "a:b"));
        // An unencoded `@` in the password: the last `@` ends the userinfo.
        assert_eq!(creds("http://alice:p@ss@proxy.corp"), some("alice", "p@ss"));
        // A `%` without two hex digits after it stays.
        assert_eq!(creds("http://alice:100%25%@proxy.corp"), some("alice", "100%%"));
        assert_eq!(creds("http://alice:%4@proxy.corp"), some("alice", "%4"));
        // Not UTF-8 once decoded.
        assert_eq!(creds("http://alice:%ff@proxy.corp"), Err(ProxyError::InvalidCredentials));
        assert_eq!(creds("http://%C3@proxy.corp"), Err(ProxyError::InvalidCredentials));
        // Neither the Display nor the Debug of a proxy shows the password.
        let proxy = Proxy::parse("http://alice:hunter2@proxy.corp").unwrap();
        assert_eq!(proxy.to_string(), "http://proxy.corp:80");
        let debug = format!("{proxy:?}");
        assert!(debug.contains("alice") && !debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn connect_requests() {
        let text = |host: &str, port| connect_request(host, port, None).map(|r| String::from_utf8(r).unwrap());
        assert_eq!(
            text("example.com", 443).unwrap(),
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
        );
        assert_eq!(text("10.0.0.1", 80).unwrap(), "CONNECT 10.0.0.1:80 HTTP/1.1\r\nHost: 10.0.0.1:80\r\n\r\n");
        let v6 = "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n";
        assert_eq!(text("2001:db8::1", 443).unwrap(), v6);
        assert_eq!(text("[2001:db8::1]", 443).unwrap(), v6);
        for bad in ["", "a b", "a/b", "a@b", "a:b", "[a]", "[::1", "exa\nmple", "a?b", "ex%41"] {
            assert_eq!(text(bad, 443), Err(ProxyError::InvalidHost), "{bad:?}");
        }
        let auth = HeaderValue::from_static("Digest username=\"a\", realm=\"r\"");
        assert_eq!(
            connect_request("example.com", 443, Some(&auth)).unwrap(),
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\
              Proxy-Authorization: Digest username=\"a\", realm=\"r\"\r\n\r\n"
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("").as_deref(), Some(""));
        assert_eq!(percent_decode("%41%62c").as_deref(), Some("Abc"));
        assert_eq!(percent_decode("%").as_deref(), Some("%"));
        assert_eq!(percent_decode("%%41").as_deref(), Some("%A"));
        assert_eq!(percent_decode("%g1").as_deref(), Some("%g1"));
        assert_eq!(percent_decode("%00").as_deref(), Some("\0"));
        assert_eq!(percent_decode("%FF"), None);
    }
}
