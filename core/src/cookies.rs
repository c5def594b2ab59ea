//! Cookies of the opening handshake (RFC 6265): a jar that keeps `Set-Cookie` answers and picks
//! the cookies to send to a URL, with domain, path and secure matching.
//!
//! A client that follows redirects keeps the cookies each answer sets and sends them on the
//! requests that follow, as a browser would: [`Jar::store`] takes one `Set-Cookie` of the
//! response to a URL (RFC 6265 section 5.3), [`Jar::cookie_header`] makes the `Cookie` header
//! for the next one (section 5.4). Cookies are parsed by the `cookie` crate; the time is always
//! an argument, never read from the clock. [`response_cookies`] reads every `Set-Cookie` of a
//! response for the application (websocket-sharp's `HandshakeResponseCookies`).
//!
//! ```
//! use laputa_core::cookies::Jar;
//! use laputa_core::http::{HeaderValue, Uri};
//! use std::time::{Duration, SystemTime};
//!
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let mut jar = Jar::new();
//! // The answer to the first request (a redirect, say) sets two cookies.
//! let first: Uri = "wss://example.com/login".parse()?;
//! jar.store(&first, &HeaderValue::from_static("session=abc; Path=/; Secure; HttpOnly"), now);
//! jar.store(&first, &HeaderValue::from_static("lang=en; Domain=example.com; Max-Age=60"), now);
//!
//! // Both go back to the same host, in the order they were set...
//! assert_eq!(jar.cookie_header(&first, now).unwrap(), "session=abc; lang=en");
//! // ...only the domain cookie to another host of the domain...
//! let chat: Uri = "wss://chat.example.com/room".parse()?;
//! assert_eq!(jar.cookie_header(&chat, now).unwrap(), "lang=en");
//! // ...and nothing after it expired, nor to another domain.
//! assert_eq!(jar.cookie_header(&chat, now + Duration::from_secs(60)), None);
//! assert_eq!(jar.cookie_header(&"wss://example.org/".parse()?, now), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue, Uri};
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// The `cookie` crate's cookie, re-exported: what [`response_cookies`] returns and
/// [`Jar::add`] takes.
///
/// ```
/// use laputa_core::cookies::Cookie;
///
/// let cookie = Cookie::parse("a=b; Path=/")?;
/// assert_eq!((cookie.name(), cookie.value(), cookie.path()), ("a", "b", Some("/")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use cookie::Cookie;

/// Every `Set-Cookie` of a response, parsed; values that do not parse (or are not UTF-8) are
/// skipped. websocket-sharp's `HandshakeResponseCookies`: what the server set, for the
/// application to read, whether or not a [`Jar`] would keep it.
///
/// ```
/// use laputa_core::cookies::response_cookies;
/// use laputa_core::http::{header::SET_COOKIE, HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.append(SET_COOKIE, HeaderValue::from_static("session=abc; Path=/; HttpOnly"));
/// headers.append(SET_COOKIE, HeaderValue::from_static("no pair here"));
/// headers.append(SET_COOKIE, HeaderValue::from_static("theme=dark"));
/// let cookies = response_cookies(&headers);
/// assert_eq!(cookies.len(), 2);
/// assert_eq!((cookies[0].name(), cookies[0].value(), cookies[0].path()), ("session", "abc", Some("/")));
/// assert_eq!(cookies[1].name_value(), ("theme", "dark"));
/// ```
pub fn response_cookies(headers: &HeaderMap) -> Vec<Cookie<'static>> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| std::str::from_utf8(value.as_bytes()).ok())
        .filter_map(|value| Cookie::parse(value).ok().map(Cookie::into_owned))
        .collect()
}

/// How many cookies a [`Jar`] keeps, so that a server cannot make a client hold unbounded
/// memory. RFC 6265 section 6.1 asks for at least 50 cookies per domain, 3000 in all, and 4096
/// bytes per cookie; the defaults are 64, 3000 and 4096.
///
/// ```
/// use laputa_core::cookies::{Jar, JarLimits};
///
/// let mut limits = JarLimits::default();
/// limits.per_domain = 8;
/// let jar = Jar::with_limits(limits);
/// assert!(jar.is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct JarLimits {
    /// Most cookies with the same domain. Past it the one set longest ago goes first.
    pub per_domain: usize,
    /// Most cookies in the jar. Past it the one set longest ago goes first.
    pub total: usize,
    /// Largest cookie, as the bytes of its name, value, domain and path: a larger one is
    /// ignored.
    pub cookie_size: usize,
}

impl Default for JarLimits {
    fn default() -> Self {
        Self { per_domain: 64, total: 3000, cookie_size: 4096 }
    }
}

/// A cookie the jar keeps, with what RFC 6265 section 5.3 derived from its attributes and the
/// URL that set it.
///
/// ```
/// use laputa_core::cookies::Jar;
/// use laputa_core::http::{HeaderValue, Uri};
/// use std::time::SystemTime;
///
/// let mut jar = Jar::new();
/// let uri: Uri = "ws://www.example.com/chat/room".parse()?;
/// jar.store(&uri, &HeaderValue::from_static("id=7; Domain=.Example.COM"), SystemTime::UNIX_EPOCH);
/// let cookie = jar.iter().next().unwrap();
/// assert_eq!((cookie.name(), cookie.value()), ("id", "7"));
/// assert_eq!((cookie.domain(), cookie.host_only()), ("example.com", false));
/// assert_eq!(cookie.path(), "/chat", "the default path: the URL's path up to its last '/'");
/// assert!(!cookie.secure());
/// assert_eq!(cookie.expires(), None, "a session cookie");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Its `Debug` (and so the jar's) hides the value, which is often a session's credential.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCookie {
    name: String,
    value: String,
    /// Lower case; an IPv6 address without brackets.
    domain: String,
    host_only: bool,
    path: String,
    secure: bool,
    expires: Option<SystemTime>,
    /// When it was first stored (kept when replaced): the order of the `Cookie` header.
    created: u64,
    /// When it was last stored: the order of eviction.
    touched: u64,
}

impl fmt::Debug for StoredCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCookie")
            .field("name", &self.name)
            .field("value", &"<hidden>")
            .field("domain", &self.domain)
            .field("host_only", &self.host_only)
            .field("path", &self.path)
            .field("secure", &self.secure)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

impl StoredCookie {
    /// The cookie's name.
    ///
    /// ```
    /// # use laputa_core::cookies::Jar;
    /// # use std::time::SystemTime;
    /// let mut jar = Jar::new();
    /// jar.store(&"ws://a.test/".parse()?, &"n=v".parse()?, SystemTime::UNIX_EPOCH);
    /// assert_eq!(jar.iter().next().unwrap().name(), "n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cookie's value.
    ///
    /// ```
    /// # use laputa_core::cookies::Jar;
    /// # use std::time::SystemTime;
    /// let mut jar = Jar::new();
    /// jar.store(&"ws://a.test/".parse()?, &"n=v".parse()?, SystemTime::UNIX_EPOCH);
    /// assert_eq!(jar.iter().next().unwrap().value(), "v");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The host it was set by ([`host_only`](Self::host_only)), or the domain of its `Domain`
    /// attribute: lower case, an IPv6 address without brackets.
    ///
    /// ```
    /// # use laputa_core::cookies::Jar;
    /// # use std::time::SystemTime;
    /// let mut jar = Jar::new();
    /// jar.store(&"ws://[::1]:9000/".parse()?, &"n=v".parse()?, SystemTime::UNIX_EPOCH);
    /// assert_eq!(jar.iter().next().unwrap().domain(), "::1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Whether it goes to its [`domain`](Self::domain) only (no `Domain` attribute, or an IP
    /// address) rather than to the hosts below it too.
    ///
    /// ```
    /// # use laputa_core::cookies::Jar;
    /// # use std::time::SystemTime;
    /// let mut jar = Jar::new();
    /// jar.store(&"ws://a.test/".parse()?, &"n=v".parse()?, SystemTime::UNIX_EPOCH);
    /// assert!(jar.iter().next().unwrap().host_only());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn host_only(&self) -> bool {
        self.host_only
    }

    /// The paths it goes to: this one and those below it.
    ///
    /// ```
    /// # use laputa_core::cookies::Jar;
    /// # use std::time::SystemTime;
    /// let mut jar = Jar::new();
    /// jar.store(&"ws://a.test/x/y".parse()?, &"n=v; Path=/docs".parse()?, SystemTime::UNIX_EPOCH);
    /// assert_eq!(jar.iter().next().unwrap().path(), "/docs");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether it goes over `wss://` (and `https://`) only.
    ///
    /// ```
    /// # use laputa_core::cookies::Jar;
    /// # use std::time::SystemTime;
    /// let mut jar = Jar::new();
    /// jar.store(&"wss://a.test/".parse()?, &"n=v; Secure".parse()?, SystemTime::UNIX_EPOCH);
    /// assert!(jar.iter().next().unwrap().secure());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// When it expires, from `Max-Age` (which wins) or `Expires`; `None` for a session cookie
    /// (or an expiry later than a `SystemTime` can hold).
    ///
    /// ```
    /// # use laputa_core::cookies::Jar;
    /// use std::time::{Duration, SystemTime};
    ///
    /// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
    /// let mut jar = Jar::new();
    /// jar.store(&"ws://a.test/".parse()?, &"n=v; Max-Age=60".parse()?, now);
    /// assert_eq!(jar.iter().next().unwrap().expires(), Some(now + Duration::from_secs(60)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn expires(&self) -> Option<SystemTime> {
        self.expires
    }

    fn is_expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|expires| expires <= now)
    }
}

/// The cookie jar of a connect: the cookies set by the answers to its requests (a redirect's,
/// say) and by the application, and the `Cookie` header for each request.
///
/// Storage follows RFC 6265 section 5.3, with these choices:
///
/// - A `Domain` must domain-match the host that sets it, or the cookie is ignored. Without a
///   public suffix list, a `Domain` of a single label (`com`, `localhost`) is refused unless it
///   is the host itself (then the cookie is host-only, as section 5.3 step 5 does for public
///   suffixes); `Domain=co.uk` from `a.co.uk` would be kept, which matters little in a jar that
///   lives for one connect.
/// - A host that is an IP address only sets host-only cookies: a `Domain` naming another address
///   or a name is ignored (domain matching is for host names).
/// - From RFC 6265bis (draft-ietf-httpbis-rfc6265bis section 5.7): a `Secure` cookie set over
///   `ws://` is ignored, and a cookie set over `ws://` cannot replace or shadow a `Secure` one.
/// - Also from RFC 6265bis (section 4.1.3): a cookie named `__Secure-...` must be `Secure`,
///   one named `__Host-...` must also be host-only with `Path=/`, or it is ignored.
/// - A cookie replaces the stored one with the same name, domain, host-only flag and path (RFC
///   6265bis; RFC 6265 leaves the flag out), keeping its creation time.
/// - A cookie whose expiry is not after `now` is not stored, and deletes the one it would
///   replace: that is how a server deletes a cookie.
/// - Names and values with control characters or `;` (and names with `=`) are ignored, so the
///   `Cookie` header is always well-formed.
/// - Bounded by [`JarLimits`]: past a limit, expired cookies go first, then the ones set
///   longest ago.
///
/// ```
/// use laputa_core::cookies::Jar;
/// use laputa_core::http::Uri;
/// use std::time::SystemTime;
///
/// let now = SystemTime::UNIX_EPOCH;
/// let uri: Uri = "ws://example.com/".parse()?;
/// let mut jar = Jar::new();
/// assert!(jar.store(&uri, &"a=1".parse()?, now));
/// assert!(!jar.store(&uri, &"b=2; Domain=example.org".parse()?, now), "another domain");
/// assert!(!jar.store(&uri, &"c=3; Secure".parse()?, now), "Secure over ws://");
/// assert_eq!(jar.len(), 1);
/// assert!(jar.store(&uri, &"a=; Max-Age=0".parse()?, now), "deleted");
/// assert!(jar.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Jar {
    cookies: Vec<StoredCookie>,
    limits: JarLimits,
    /// The next value of `created`/`touched`.
    sequence: u64,
}

/// The request a cookie comes from or goes to.
struct Target<'a> {
    /// Lower case; an IP address in its canonical form, an IPv6 one without brackets.
    host: String,
    is_ip: bool,
    /// The URI's path ("" for none).
    path: &'a str,
    secure: bool,
}

impl<'a> Target<'a> {
    fn of(uri: &'a Uri) -> Option<Self> {
        let host = uri.host().filter(|host| !host.is_empty())?;
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        // An address in one spelling (`::1`, not `0:0::1`), so that host-only cookies compare
        // as strings.
        let (host, is_ip) = match host.parse::<IpAddr>() {
            Ok(addr) => (addr.to_string(), true),
            Err(_) => (host.to_ascii_lowercase(), false),
        };
        let secure = uri.scheme_str().is_some_and(|s| s.eq_ignore_ascii_case("wss") || s.eq_ignore_ascii_case("https"));
        Some(Self { host, is_ip, path: uri.path(), secure })
    }
}

/// Who hands a cookie to the jar.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A `Set-Cookie` of a response.
    Response,
    /// The application, before the first request.
    Application,
}

impl Jar {
    /// An empty jar with the default [`JarLimits`].
    ///
    /// ```
    /// use laputa_core::cookies::Jar;
    ///
    /// assert_eq!(Jar::new().len(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty jar with these limits.
    ///
    /// ```
    /// use laputa_core::cookies::{Jar, JarLimits};
    /// use std::time::SystemTime;
    ///
    /// let mut limits = JarLimits::default();
    /// limits.total = 1;
    /// let mut jar = Jar::with_limits(limits);
    /// let uri = "ws://a.test/".parse()?;
    /// jar.store(&uri, &"old=1".parse()?, SystemTime::UNIX_EPOCH);
    /// jar.store(&uri, &"new=2".parse()?, SystemTime::UNIX_EPOCH);
    /// assert_eq!(jar.cookie_header(&uri, SystemTime::UNIX_EPOCH).unwrap(), "new=2");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_limits(limits: JarLimits) -> Self {
        Self { limits, ..Self::default() }
    }

    /// Keeps one `Set-Cookie` value of the response to a request for `uri` (RFC 6265 section
    /// 5.3), at time `now`. Returns whether the jar took it into account: stored, replaced a
    /// cookie, or deleted one (an expired cookie). `false` when it is ignored: it does not
    /// parse, names another domain, breaks a rule of the [`Jar`], or is too large.
    ///
    /// ```
    /// use laputa_core::cookies::Jar;
    /// use laputa_core::http::{HeaderValue, Uri};
    /// use std::time::SystemTime;
    ///
    /// let uri: Uri = "wss://a.example.com/".parse()?;
    /// let mut jar = Jar::new();
    /// assert!(jar.store(&uri, &HeaderValue::from_static("id=1; Domain=example.com"), SystemTime::UNIX_EPOCH));
    /// assert!(!jar.store(&uri, &HeaderValue::from_static("id=2; Domain=b.example.com"), SystemTime::UNIX_EPOCH));
    /// assert!(!jar.store(&uri, &HeaderValue::from_static("no equals sign"), SystemTime::UNIX_EPOCH));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn store(&mut self, uri: &Uri, set_cookie: &HeaderValue, now: SystemTime) -> bool {
        let Some(target) = Target::of(uri) else { return false };
        let Ok(text) = std::str::from_utf8(set_cookie.as_bytes()) else { return false };
        let Ok(cookie) = Cookie::parse(text) else { return false };
        self.insert(&target, &cookie, now, Source::Response)
    }

    /// [`store`](Self::store)s every `Set-Cookie` of a response, in order; returns how many
    /// the jar took into account.
    ///
    /// ```
    /// use laputa_core::cookies::Jar;
    /// use laputa_core::http::{header::SET_COOKIE, HeaderMap, HeaderValue, Uri};
    /// use std::time::SystemTime;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.append(SET_COOKIE, HeaderValue::from_static("a=1"));
    /// headers.append(SET_COOKIE, HeaderValue::from_static("b=2; Domain=elsewhere.test"));
    /// let uri: Uri = "ws://a.test/".parse()?;
    /// let mut jar = Jar::new();
    /// assert_eq!(jar.store_response(&uri, &headers, SystemTime::UNIX_EPOCH), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn store_response(&mut self, uri: &Uri, headers: &HeaderMap, now: SystemTime) -> usize {
        headers.get_all(SET_COOKIE).iter().filter(|value| self.store(uri, value, now)).count()
    }

    /// Adds a cookie of the application's, to be sent to `uri`'s host (websocket-sharp's
    /// `SetCookie`). Without a `Domain` it is host-only; without a `Path` it goes to every
    /// path of the host (`/`), not only below `uri`'s. Otherwise the rules of
    /// [`store`](Self::store) apply, except that it may be `Secure` whatever `uri`'s scheme.
    ///
    /// ```
    /// use laputa_core::cookies::{Cookie, Jar};
    /// use laputa_core::http::Uri;
    /// use std::time::SystemTime;
    ///
    /// let now = SystemTime::UNIX_EPOCH;
    /// let uri: Uri = "wss://example.com/chat".parse()?;
    /// let mut jar = Jar::new();
    /// assert!(jar.add(&uri, Cookie::new("token", "xyz"), now));
    /// assert_eq!(jar.cookie_header(&"wss://example.com/other/path".parse()?, now).unwrap(), "token=xyz");
    /// assert_eq!(jar.cookie_header(&"wss://www.example.com/".parse()?, now), None, "host-only");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add(&mut self, uri: &Uri, cookie: Cookie<'_>, now: SystemTime) -> bool {
        let Some(target) = Target::of(uri) else { return false };
        self.insert(&target, &cookie, now, Source::Application)
    }

    /// The `Cookie` header for a request to `uri` at time `now` (RFC 6265 section 5.4): the
    /// cookies whose domain and path match, `Secure` ones only over `wss://` or `https://`, not
    /// expired; longer paths first, then those created earlier; `None` if there is none.
    ///
    /// ```
    /// use laputa_core::cookies::Jar;
    /// use laputa_core::http::Uri;
    /// use std::time::SystemTime;
    ///
    /// let now = SystemTime::UNIX_EPOCH;
    /// let uri: Uri = "wss://example.com/a/b".parse()?;
    /// let mut jar = Jar::new();
    /// jar.store(&uri, &"root=1; Path=/".parse()?, now);
    /// jar.store(&uri, &"deep=2; Path=/a".parse()?, now);
    /// jar.store(&uri, &"safe=3; Path=/; Secure".parse()?, now);
    /// assert_eq!(jar.cookie_header(&uri, now).unwrap(), "deep=2; root=1; safe=3");
    /// assert_eq!(jar.cookie_header(&"ws://example.com/".parse()?, now).unwrap(), "root=1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cookie_header(&self, uri: &Uri, now: SystemTime) -> Option<HeaderValue> {
        let target = Target::of(uri)?;
        let path = if target.path.is_empty() { "/" } else { target.path };
        let mut cookies: Vec<&StoredCookie> = self
            .cookies
            .iter()
            .filter(|c| {
                let domain_ok = if c.host_only { c.domain == target.host } else { domain_match(&target, &c.domain) };
                domain_ok && path_match(path, &c.path) && (!c.secure || target.secure) && !c.is_expired(now)
            })
            .collect();
        if cookies.is_empty() {
            return None;
        }
        // "Cookies with longer paths are listed before cookies with shorter paths. Among cookies
        // that have equal-length path fields, cookies with earlier creation-times are listed
        // before cookies with later creation-times."
        cookies.sort_by(|a, b| b.path.len().cmp(&a.path.len()).then(a.created.cmp(&b.created)));
        let mut header = Vec::new();
        for (i, cookie) in cookies.iter().enumerate() {
            if i > 0 {
                header.extend_from_slice(b"; ");
            }
            header.extend_from_slice(cookie.name.as_bytes());
            header.push(b'=');
            header.extend_from_slice(cookie.value.as_bytes());
        }
        // Names and values hold no control characters (see `valid_name`): always valid.
        HeaderValue::from_bytes(&header).ok()
    }

    /// How many cookies the jar holds, expired ones not yet evicted included.
    ///
    /// ```
    /// use laputa_core::cookies::Jar;
    ///
    /// assert_eq!(Jar::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    /// Whether the jar holds no cookie.
    ///
    /// ```
    /// use laputa_core::cookies::Jar;
    ///
    /// assert!(Jar::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// The cookies the jar holds, in no particular order.
    ///
    /// ```
    /// use laputa_core::cookies::Jar;
    /// use std::time::SystemTime;
    ///
    /// let mut jar = Jar::new();
    /// jar.store(&"ws://a.test/".parse()?, &"n=v".parse()?, SystemTime::UNIX_EPOCH);
    /// assert_eq!(jar.iter().map(|c| c.name()).collect::<Vec<_>>(), ["n"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &StoredCookie> {
        self.cookies.iter()
    }

    /// RFC 6265 section 5.3 steps 2 to 11, with the choices written on [`Jar`].
    fn insert(&mut self, target: &Target<'_>, cookie: &Cookie<'_>, now: SystemTime, source: Source) -> bool {
        let (name, value) = (cookie.name(), cookie.value());
        if !valid_name(name) || !valid_value(value) {
            return false;
        }

        // Step 3: "If the cookie-attribute-list contains an attribute with an attribute-name of
        // "Max-Age": ... Otherwise, if the cookie-attribute-list contains an attribute with an
        // attribute-name of "Expires": ..." A delta of zero or less is the earliest time.
        let (expires, expired) = if let Some(max_age) = cookie.max_age() {
            match u64::try_from(max_age.whole_seconds()) {
                Ok(secs) if secs > 0 => (now.checked_add(Duration::from_secs(secs)), false),
                _ => (None, true),
            }
        } else if let Some(date) = cookie.expires_datetime() {
            let unix = date.unix_timestamp();
            match system_time(unix) {
                Some(expires) => (Some(expires), expires <= now),
                // Before or after what a SystemTime holds.
                None => (None, unix < 0),
            }
        } else {
            (None, false)
        };

        // Steps 4 to 6: the domain. The cookie crate strips the one leading '.' that step
        // 5.2.3 strips.
        let domain_attribute = cookie.domain().map(|domain| {
            let domain = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')).unwrap_or(domain);
            domain.to_ascii_lowercase()
        });
        let (domain, host_only) = match domain_attribute.filter(|domain| !domain.is_empty()) {
            None => (target.host.clone(), true),
            // An address may only name itself.
            Some(domain) if target.is_ip => {
                if domain.parse::<IpAddr>().map(|addr| addr.to_string()).ok() != Some(target.host.clone()) {
                    return false;
                }
                (target.host.clone(), true)
            }
            // A single label that only the host itself may name (where step 5 would turn a
            // public suffix equal to the host into a host-only cookie).
            Some(domain) if !domain.contains('.') => {
                if domain != target.host {
                    return false;
                }
                (domain, true)
            }
            Some(domain) => {
                // "If the canonicalized request-host does not domain-match the domain-attribute:
                // Ignore the cookie entirely and abort these steps."
                if !domain_match(target, &domain) {
                    return false;
                }
                (domain, false)
            }
        };

        // Step 7: "If the attribute-value is empty or if the first character of the
        // attribute-value is not %x2F ("/"): Let cookie-path be the default-path." The
        // application's cookies default to every path.
        let path = match cookie.path() {
            Some(path) if path.starts_with('/') => path.to_owned(),
            _ if source == Source::Application => "/".to_owned(),
            _ => default_path(target.path).to_owned(),
        };

        // Step 8, and RFC 6265bis: a non-secure origin sets no Secure cookie and does not
        // overwrite one.
        let secure = cookie.secure() == Some(true);
        if source == Source::Response && !target.secure {
            if secure {
                return false;
            }
            let shadows_secure = self.cookies.iter().any(|c| {
                c.secure
                    && c.name == name
                    && (domain_match_str(&c.domain, &domain) || domain_match_str(&domain, &c.domain))
                    && path_match(&path, &c.path)
            });
            if shadows_secure {
                return false;
            }
        }

        // RFC 6265bis section 4.1.3: cookie name prefixes, which a server uses to know that a
        // cookie came from a secure origin ("__Secure-") and from this very host ("__Host-").
        if starts_with_ignore_case(name, "__Secure-") && !secure {
            return false;
        }
        if starts_with_ignore_case(name, "__Host-") && !(secure && host_only && path == "/") {
            return false;
        }

        if name.len() + value.len() + domain.len() + path.len() > self.limits.cookie_size {
            return false;
        }

        // Step 11: "If the cookie store contains a cookie with the same name, domain, and path
        // as the newly created cookie: ... Update the creation-time of the newly created cookie
        // to match the creation-time of the old-cookie. Remove the old-cookie." RFC 6265bis adds
        // the host-only flag, as browsers do: `Domain=h.test` does not replace h.test's
        // host-only cookie of the same name.
        let old = self
            .cookies
            .iter()
            .position(|c| c.name == name && c.domain == domain && c.host_only == host_only && c.path == path);
        let created = match old {
            Some(i) => self.cookies.swap_remove(i).created,
            None => self.sequence,
        };
        if expired {
            return true;
        }
        self.cookies.push(StoredCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            domain,
            host_only,
            path,
            secure,
            expires,
            created,
            touched: self.sequence,
        });
        self.sequence += 1;
        self.evict(now);
        true
    }

    /// The end of section 5.3: "If the cookie store exceeds some implementation-defined limit
    /// ... evict expired cookies first ... then the cookies that share a domain field with more
    /// than a predetermined number of other cookies ... then all cookies", oldest first.
    fn evict(&mut self, now: SystemTime) {
        let Some(last) = self.cookies.last() else { return };
        let domain = last.domain.clone();
        let per_domain = |cookies: &[StoredCookie]| cookies.iter().filter(|c| c.domain == domain).count();
        if self.cookies.len() <= self.limits.total && per_domain(&self.cookies) <= self.limits.per_domain {
            return;
        }
        self.cookies.retain(|c| !c.is_expired(now));
        while per_domain(&self.cookies) > self.limits.per_domain {
            self.remove_oldest(|c| c.domain == domain);
        }
        while self.cookies.len() > self.limits.total {
            self.remove_oldest(|_| true);
        }
    }

    fn remove_oldest(&mut self, which: impl Fn(&StoredCookie) -> bool) {
        let oldest = self.cookies.iter().enumerate().filter(|(_, c)| which(c)).min_by_key(|(_, c)| c.touched);
        if let Some((i, _)) = oldest {
            self.cookies.swap_remove(i);
        }
    }
}

/// RFC 6265 section 5.1.3: "The domain string and the string are identical", or the domain is a
/// suffix of the host after a '.' and the host is a host name, not an IP address.
fn domain_match(target: &Target<'_>, domain: &str) -> bool {
    target.host == domain || (!target.is_ip && is_label_suffix(&target.host, domain))
}

/// [`domain_match`] for a host given as a string.
fn domain_match_str(host: &str, domain: &str) -> bool {
    host == domain || (host.parse::<IpAddr>().is_err() && is_label_suffix(host, domain))
}

/// `host` ends with `.domain`.
fn is_label_suffix(host: &str, domain: &str) -> bool {
    host.strip_suffix(domain).is_some_and(|rest| rest.ends_with('.'))
}

/// RFC 6265 section 5.1.4: the request path and the cookie path are identical, or the cookie
/// path is a prefix of it that ends with '/' or is followed in it by '/'.
fn path_match(request_path: &str, cookie_path: &str) -> bool {
    match request_path.strip_prefix(cookie_path) {
        Some(rest) => rest.is_empty() || cookie_path.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

/// RFC 6265 section 5.1.4: "If the uri-path is empty or if the first character of the uri-path
/// is not a %x2F ("/") character, output %x2F ("/")"; "If the uri-path contains no more than one
/// %x2F ("/") character, output %x2F ("/")"; otherwise the uri-path up to, but not including,
/// its right-most '/'.
fn default_path(uri_path: &str) -> &str {
    if !uri_path.starts_with('/') {
        return "/";
    }
    match uri_path.rfind('/') {
        Some(0) | None => "/",
        Some(last) => &uri_path[..last],
    }
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.as_bytes().get(..prefix.len()).is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// A name the `Cookie` header can carry: not empty, no control character, `;` or `=`.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.bytes().any(|b| b.is_ascii_control() || b == b';' || b == b'=')
}

/// A value the `Cookie` header can carry: no control character or `;`.
fn valid_value(value: &str) -> bool {
    !value.bytes().any(|b| b.is_ascii_control() || b == b';')
}

/// Seconds since the Unix epoch as a `SystemTime`; `None` if it cannot hold them.
fn system_time(unix: i64) -> Option<SystemTime> {
    let magnitude = Duration::from_secs(unix.unsigned_abs());
    if unix >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(magnitude)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(magnitude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    /// Stores `set_cookie` as the answer to `url` at `T0`.
    fn set(jar: &mut Jar, url: &str, set_cookie: &str) -> bool {
        jar.store(&uri(url), &HeaderValue::from_str(set_cookie).unwrap(), at(T0))
    }

    /// The `Cookie` header for `url` at `T0`, "" for none.
    fn sent(jar: &Jar, url: &str) -> String {
        sent_at(jar, url, T0)
    }

    fn sent_at(jar: &Jar, url: &str, secs: u64) -> String {
        jar.cookie_header(&uri(url), at(secs))
            .map(|v| String::from_utf8(v.as_bytes().to_vec()).unwrap())
            .unwrap_or_default()
    }

    #[test]
    fn host_only_and_domain_cookies() {
        let mut jar = Jar::new();
        assert!(set(&mut jar, "ws://www.example.com/", "host=1"));
        assert!(set(&mut jar, "ws://www.example.com/", "dom=2; Domain=example.com"));
        assert!(set(&mut jar, "ws://www.example.com/", "self=3; Domain=www.example.com"));
        assert_eq!(sent(&jar, "ws://www.example.com/"), "host=1; dom=2; self=3");
        // Host-only: not to the parent, not to a child.
        assert_eq!(sent(&jar, "ws://example.com/"), "dom=2");
        assert_eq!(sent(&jar, "ws://a.www.example.com/"), "dom=2; self=3");
        assert_eq!(sent(&jar, "ws://other.example.com/"), "dom=2");
        // Never to a name that only ends with the same characters, nor elsewhere.
        assert_eq!(sent(&jar, "ws://notexample.com/"), "");
        assert_eq!(sent(&jar, "ws://example.org/"), "");
        // Host names compare case-insensitively; ports do not count (RFC 6265 section 8.5).
        assert_eq!(sent(&jar, "ws://WWW.Example.COM:8080/"), "host=1; dom=2; self=3");
    }

    #[test]
    fn refused_domains() {
        let mut jar = Jar::new();
        let host = "ws://a.example.com/";
        // Another domain, a sibling, a child, a bare suffix without its dot.
        assert!(!set(&mut jar, host, "x=1; Domain=example.org"));
        assert!(!set(&mut jar, host, "x=1; Domain=b.example.com"));
        assert!(!set(&mut jar, host, "x=1; Domain=z.a.example.com"));
        assert!(!set(&mut jar, host, "x=1; Domain=le.com"));
        assert!(!set(&mut jar, host, "x=1; Domain=ample.com"));
        // A single label: a stand-in for a public suffix list.
        assert!(!set(&mut jar, host, "x=1; Domain=com"));
        assert!(!set(&mut jar, "ws://a.localhost/", "x=1; Domain=localhost"));
        // A trailing dot is another name.
        assert!(!set(&mut jar, host, "x=1; Domain=example.com."));
        assert!(jar.is_empty());
        // The host itself, even a single label: host-only then.
        assert!(set(&mut jar, "ws://localhost/", "x=1; Domain=localhost"));
        assert!(set(&mut jar, "ws://com/", "y=1; Domain=.COM"));
        assert_eq!(sent(&jar, "ws://a.localhost/"), "");
        assert_eq!(sent(&jar, "ws://a.com/"), "");
        assert!(jar.iter().all(StoredCookie::host_only));
        // An empty Domain (or only a dot) is no Domain.
        assert!(set(&mut jar, host, "z=1; Domain="));
        assert!(set(&mut jar, host, "w=1; Domain=."));
        assert_eq!(sent(&jar, host), "z=1; w=1");
        assert_eq!(sent(&jar, "ws://b.a.example.com/"), "");
    }

    #[test]
    fn ip_hosts_are_host_only() {
        let mut jar = Jar::new();
        assert!(set(&mut jar, "ws://10.0.0.1/", "a=1"));
        assert!(set(&mut jar, "ws://10.0.0.1/", "b=2; Domain=10.0.0.1"));
        assert!(!set(&mut jar, "ws://10.0.0.1/", "c=3; Domain=0.0.1"));
        assert!(!set(&mut jar, "ws://10.0.0.1/", "c=3; Domain=example.com"));
        assert_eq!(sent(&jar, "ws://10.0.0.1/"), "a=1; b=2");
        assert_eq!(sent(&jar, "ws://110.0.0.1/"), "");
        assert!(jar.iter().all(StoredCookie::host_only));
        // A name ending like an address sets a domain cookie that no address receives.
        assert!(set(&mut jar, "ws://x.0.0.1/", "d=4; Domain=0.0.1"));
        assert_eq!(sent(&jar, "ws://10.0.0.1/"), "a=1; b=2");
        // IPv6, with brackets in the URL and in Domain or without.
        assert!(set(&mut jar, "ws://[::1]:9000/", "v6=1"));
        assert!(set(&mut jar, "ws://[::1]:9000/", "v6b=2; Domain=[::1]"));
        assert!(set(&mut jar, "ws://[::1]:9000/", "v6c=3; Domain=0:0::1"));
        assert!(!set(&mut jar, "ws://[::1]:9000/", "v6d=4; Domain=::2"));
        assert!(!set(&mut jar, "ws://[::1]:9000/", "v6e=5; Domain=1"));
        assert_eq!(sent(&jar, "ws://[::1]/"), "v6=1; v6b=2; v6c=3");
        assert_eq!(sent(&jar, "ws://[0:0:0::1]/"), "v6=1; v6b=2; v6c=3", "one address, two spellings");
        assert_eq!(sent(&jar, "ws://[::2]/"), "");
    }

    #[test]
    fn paths() {
        assert_eq!(default_path(""), "/");
        assert_eq!(default_path("chat"), "/");
        assert_eq!(default_path("/"), "/");
        assert_eq!(default_path("/chat"), "/");
        assert_eq!(default_path("/chat/"), "/chat");
        assert_eq!(default_path("/chat/room"), "/chat");
        assert_eq!(default_path("/a/b/c"), "/a/b");

        assert!(path_match("/", "/"));
        assert!(path_match("/docs", "/docs"));
        assert!(path_match("/docs/", "/docs"));
        assert!(path_match("/docs/web", "/docs"));
        assert!(path_match("/docs/web", "/docs/"));
        assert!(path_match("/anything", "/"));
        assert!(!path_match("/docsets", "/docs"));
        assert!(!path_match("/doc", "/docs"));
        assert!(!path_match("/", "/docs"));
        assert!(!path_match("/Docs", "/docs"), "paths are case-sensitive");

        let mut jar = Jar::new();
        // Default path from the URL that set it; Path attribute otherwise; a Path that does not
        // start with '/' is the default path.
        assert!(set(&mut jar, "ws://h.test/chat/room?x=1", "default=1"));
        assert!(set(&mut jar, "ws://h.test/chat/room", "explicit=2; Path=/api"));
        assert!(set(&mut jar, "ws://h.test/chat/room", "relative=3; Path=api"));
        assert!(set(&mut jar, "ws://h.test/chat/room", "empty=4; Path="));
        let paths: Vec<_> = jar.iter().map(|c| (c.name(), c.path())).collect();
        assert_eq!(paths, [("default", "/chat"), ("explicit", "/api"), ("relative", "/chat"), ("empty", "/chat")]);
        assert_eq!(sent(&jar, "ws://h.test/chat"), "default=1; relative=3; empty=4");
        assert_eq!(sent(&jar, "ws://h.test/chat/x/y"), "default=1; relative=3; empty=4");
        assert_eq!(sent(&jar, "ws://h.test/chatter"), "");
        assert_eq!(sent(&jar, "ws://h.test/api/v1?q"), "explicit=2");
        assert_eq!(sent(&jar, "ws://h.test/"), "");
        assert_eq!(sent(&jar, "ws://h.test"), "");
    }

    #[test]
    fn secure_cookies() {
        let mut jar = Jar::new();
        assert!(set(&mut jar, "wss://h.test/", "s=1; Secure"));
        assert!(set(&mut jar, "wss://h.test/", "p=2"));
        assert!(set(&mut jar, "https://h.test/", "h=3; Secure"));
        assert_eq!(sent(&jar, "wss://h.test/"), "s=1; p=2; h=3");
        assert_eq!(sent(&jar, "WSS://h.test/"), "s=1; p=2; h=3");
        assert_eq!(sent(&jar, "https://h.test/"), "s=1; p=2; h=3");
        assert_eq!(sent(&jar, "ws://h.test/"), "p=2");
        assert_eq!(sent(&jar, "http://h.test/"), "p=2");
        // RFC 6265bis: ws:// sets no Secure cookie...
        assert!(!set(&mut jar, "ws://h.test/", "t=4; Secure"));
        // ...and neither replaces nor shadows one, at its path or below...
        assert!(!set(&mut jar, "ws://h.test/", "s=evil"));
        assert!(!set(&mut jar, "ws://h.test/", "s=evil; Path=/deeper"));
        assert!(!set(&mut jar, "ws://sub.h.test/", "s=evil"));
        assert!(!set(&mut jar, "ws://sub.h.test/", "s=evil; Domain=h.test"));
        assert!(!set(&mut jar, "ws://h.test/", "s=; Max-Age=0"));
        assert_eq!(sent(&jar, "wss://h.test/"), "s=1; p=2; h=3");
        // ...but other names, or the same name for an unrelated domain, are fine.
        assert!(set(&mut jar, "ws://h.test/", "p=22"));
        assert!(set(&mut jar, "ws://other.test/", "s=9"));
        // wss:// may replace it with a non-secure one.
        assert!(set(&mut jar, "wss://h.test/", "s=10"));
        assert_eq!(sent(&jar, "ws://h.test/"), "s=10; p=22");
        // An application's cookie may be Secure whatever the scheme.
        assert!(jar.add(&uri("ws://app.test/"), Cookie::parse("a=1; Secure").unwrap(), at(T0)));
        assert_eq!(sent(&jar, "ws://app.test/"), "");
        assert_eq!(sent(&jar, "wss://app.test/"), "a=1");
    }

    #[test]
    fn name_prefixes() {
        let mut jar = Jar::new();
        assert!(set(&mut jar, "wss://h.test/", "__Secure-a=1; Secure"));
        assert!(!set(&mut jar, "wss://h.test/", "__Secure-b=1"));
        assert!(!set(&mut jar, "wss://h.test/", "__secure-c=1"));
        assert!(set(&mut jar, "wss://h.test/x/y", "__Host-d=1; Secure; Path=/"));
        assert!(!set(&mut jar, "wss://h.test/x/y", "__Host-e=1; Secure"), "default path /x");
        assert!(!set(&mut jar, "wss://h.test/", "__Host-f=1; Path=/"), "not Secure");
        assert!(!set(&mut jar, "wss://a.h.test/", "__Host-g=1; Secure; Path=/; Domain=h.test"));
        assert!(!set(&mut jar, "wss://h.test/", "__HOST-h=1; Secure; Path=/; Domain=h.test"));
        assert_eq!(sent(&jar, "wss://h.test/"), "__Secure-a=1; __Host-d=1");
    }

    #[test]
    fn expiry() {
        let mut jar = Jar::new();
        let url = "ws://h.test/";
        assert!(set(&mut jar, url, "session=1"));
        assert!(set(&mut jar, url, "minute=2; Max-Age=60"));
        // Max-Age wins over Expires, whichever comes first.
        assert!(set(&mut jar, url, "both=3; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=120"));
        assert!(set(&mut jar, url, "both2=4; Max-Age=120; Expires=Thu, 01 Jan 1970 00:00:01 GMT"));
        // Expires relative to the given time (T0 is 2023-11-14T22:13:20Z).
        assert!(set(&mut jar, url, "date=5; Expires=Tue, 14 Nov 2023 22:16:40 GMT"));
        // A Max-Age that is not a number is ignored, so Expires counts.
        assert!(set(&mut jar, url, "bad=6; Max-Age=soon; Expires=Tue, 14 Nov 2023 22:13:30 GMT"));
        // Far in the future: never in practice.
        assert!(set(&mut jar, url, "far=7; Max-Age=99999999999999999999"));
        assert!(set(&mut jar, url, "farther=8; Expires=Fri, 31 Dec 9999 23:59:59 GMT"));
        let everyone = "session=1; minute=2; both=3; both2=4; date=5; bad=6; far=7; farther=8";
        assert_eq!(sent_at(&jar, url, T0), everyone);
        assert_eq!(sent_at(&jar, url, T0 + 9), everyone);
        assert_eq!(sent_at(&jar, url, T0 + 10), "session=1; minute=2; both=3; both2=4; date=5; far=7; farther=8");
        assert_eq!(sent_at(&jar, url, T0 + 59), "session=1; minute=2; both=3; both2=4; date=5; far=7; farther=8");
        assert_eq!(sent_at(&jar, url, T0 + 60), "session=1; both=3; both2=4; date=5; far=7; farther=8");
        assert_eq!(sent_at(&jar, url, T0 + 120), "session=1; date=5; far=7; farther=8");
        assert_eq!(sent_at(&jar, url, T0 + 200), "session=1; far=7; farther=8");
        let minute = jar.iter().find(|c| c.name() == "minute").unwrap();
        assert_eq!(minute.expires(), Some(at(T0 + 60)));
        assert_eq!(jar.iter().find(|c| c.name() == "date").unwrap().expires(), Some(at(T0 + 200)));
        assert_eq!(jar.iter().find(|c| c.name() == "session").unwrap().expires(), None);
        // Already expired: not stored.
        let before = jar.len();
        assert!(set(&mut jar, url, "old=9; Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
        assert!(set(&mut jar, url, "zero=10; Max-Age=0"));
        assert!(set(&mut jar, url, "negative=11; Max-Age=-5"));
        assert!(set(&mut jar, url, "now=12; Expires=Tue, 14 Nov 2023 22:13:20 GMT"));
        assert!(set(&mut jar, url, "before1970=13; Expires=Wed, 31 Dec 1969 23:59:59 GMT"));
        assert!(set(&mut jar, url, "ancient=14; Expires=Wed, 01 Jan 1000 00:00:00 GMT"));
        assert_eq!(jar.len(), before);
    }

    #[test]
    fn replacement_and_deletion() {
        let mut jar = Jar::new();
        let url = "ws://h.test/";
        assert!(set(&mut jar, url, "a=1"));
        assert!(set(&mut jar, url, "b=2"));
        // Same name, domain and path: replaced in place, keeping its creation order.
        assert!(set(&mut jar, url, "a=3"));
        assert_eq!(jar.len(), 2);
        assert_eq!(sent(&jar, url), "a=3; b=2");
        // Another path, or a domain cookie, is another cookie.
        assert!(set(&mut jar, url, "a=4; Path=/x"));
        assert!(set(&mut jar, "ws://www.h.test/", "a=5; Domain=h.test"));
        assert_eq!(jar.len(), 4);
        assert_eq!(sent(&jar, "ws://h.test/x"), "a=4; a=3; b=2; a=5");
        // RFC 6265bis: the host-only flag is part of a cookie's identity (RFC 6265 would have
        // a=5 replace a=3). The same domain cookie set from the domain itself replaces a=5.
        assert!(set(&mut jar, url, "a=6; Domain=h.test"));
        assert_eq!(jar.len(), 4);
        assert_eq!(sent(&jar, "ws://www.h.test/"), "a=6");
        assert_eq!(sent(&jar, url), "a=3; b=2; a=6");
        // Deletion: an expired cookie that would replace one.
        assert!(set(&mut jar, url, "a=; Max-Age=0; Domain=h.test"));
        assert!(set(&mut jar, url, "b=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
        assert_eq!(sent(&jar, "ws://h.test/x"), "a=4; a=3");
        assert!(set(&mut jar, url, "a=; Max-Age=0"));
        assert_eq!(sent(&jar, "ws://h.test/x"), "a=4");
        // A deletion for another path deletes nothing.
        assert!(set(&mut jar, url, "a=; Max-Age=0; Path=/y"));
        assert_eq!(sent(&jar, "ws://h.test/x"), "a=4");
        assert_eq!(jar.len(), 1);
    }

    #[test]
    fn header_order() {
        let mut jar = Jar::new();
        let url = "ws://h.test/a/b/c";
        assert!(set(&mut jar, url, "first=1; Path=/"));
        assert!(set(&mut jar, url, "deepest=2; Path=/a/b/c"));
        assert!(set(&mut jar, url, "mid=3; Path=/a"));
        assert!(set(&mut jar, url, "second=4; Path=/"));
        assert!(set(&mut jar, url, "deeper=5; Path=/a/b"));
        assert!(set(&mut jar, url, "mid2=6; Path=/a/"));
        // Longer paths first; among equal lengths, earlier creation first.
        assert_eq!(sent(&jar, url), "deepest=2; deeper=5; mid2=6; mid=3; first=1; second=4");
        // Replacing keeps the creation time; deleting and setting again does not.
        assert!(set(&mut jar, url, "first=7; Path=/"));
        assert_eq!(sent(&jar, "ws://h.test/"), "first=7; second=4");
        assert!(set(&mut jar, url, "first=; Path=/; Max-Age=0"));
        assert!(set(&mut jar, url, "first=8; Path=/"));
        assert_eq!(sent(&jar, "ws://h.test/"), "second=4; first=8");
    }

    #[test]
    fn limits() {
        let limits = JarLimits { per_domain: 3, total: 5, cookie_size: 32 };
        let mut jar = Jar::with_limits(limits);
        for i in 0..4 {
            assert!(set(&mut jar, "ws://a.test/", &format!("a{i}=1")));
        }
        // Per domain: the one set longest ago goes.
        assert_eq!(sent(&jar, "ws://a.test/"), "a1=1; a2=1; a3=1");
        // Setting again refreshes: a1 is now the newest.
        assert!(set(&mut jar, "ws://a.test/", "a1=2"));
        assert!(set(&mut jar, "ws://a.test/", "a4=1"));
        assert_eq!(sent(&jar, "ws://a.test/"), "a1=2; a3=1; a4=1");
        // In all: the oldest of any domain goes.
        for i in 0..3 {
            assert!(set(&mut jar, "ws://b.test/", &format!("b{i}=1")));
        }
        assert_eq!(jar.len(), 5);
        assert_eq!(sent(&jar, "ws://a.test/"), "a1=2; a4=1");
        assert_eq!(sent(&jar, "ws://b.test/"), "b0=1; b1=1; b2=1");
        // Expired cookies go before any live one.
        assert!(set(&mut jar, "ws://c.test/", "short=1; Max-Age=1"));
        assert_eq!(sent(&jar, "ws://a.test/"), "a4=1", "a1 went: the oldest, nothing expired yet");
        assert!(jar.store(&uri("ws://c.test/"), &HeaderValue::from_static("late=1"), at(T0 + 5)));
        assert_eq!(sent_at(&jar, "ws://a.test/", T0 + 5), "a4=1", "short went: expired");
        assert_eq!(jar.len(), 5);
        assert_eq!(sent_at(&jar, "ws://c.test/", T0), "late=1");
        // Size: name, value, domain and path together.
        let mut jar = Jar::with_limits(limits);
        assert!(set(&mut jar, "ws://h.test/", &format!("n={}", "v".repeat(32 - 1 - 6 - 1))));
        assert!(!set(&mut jar, "ws://h.test/", &format!("n={}", "v".repeat(32 - 1 - 6))));
        assert!(!set(&mut jar, "ws://h.test/", "n=v; Path=/a-long-path-here/and-more"));
        assert_eq!(jar.len(), 1);
    }

    #[test]
    fn default_limits_hold() {
        let mut jar = Jar::new();
        for host in 0..60 {
            for i in 0..80 {
                jar.store(&uri(&format!("ws://h{host}.test/")), &format!("c{i}=v").parse().unwrap(), at(T0));
            }
        }
        assert_eq!(jar.len(), 3000);
        assert!(jar.iter().filter(|c| c.domain() == "h59.test").count() == 64);
        let big = format!("n={}", "v".repeat(4096));
        assert!(!set(&mut jar, "ws://h.test/", &big));
    }

    #[test]
    fn malformed_cookies() {
        let mut jar = Jar::new();
        let url = "ws://h.test/";
        for bad in ["", "novalue", "=v", " = v", "a\tb=1", "a=b\tc"] {
            assert!(!set(&mut jar, url, bad), "{bad:?}");
        }
        // Not UTF-8.
        assert!(!jar.store(&uri(url), &HeaderValue::from_bytes(b"a=\xff").unwrap(), at(T0)));
        // A URL without a host.
        assert!(!jar.store(&uri("/relative"), &HeaderValue::from_static("a=1"), at(T0)));
        assert_eq!(jar.cookie_header(&uri("/relative"), at(T0)), None);
        // An application cookie with characters the header cannot carry.
        assert!(!jar.add(&uri(url), Cookie::new("a", "b\r\nX: y"), at(T0)));
        assert!(!jar.add(&uri(url), Cookie::new("a;b", "c"), at(T0)));
        assert!(!jar.add(&uri(url), Cookie::new("a=b", "c"), at(T0)));
        assert!(!jar.add(&uri(url), Cookie::new("", "c"), at(T0)));
        assert!(jar.is_empty());
        // Quotes, spaces inside a value and UTF-8 are kept as sent.
        assert!(set(&mut jar, url, "q=\"quoted\""));
        assert!(set(&mut jar, url, "s=a b"));
        assert!(jar.add(&uri(url), Cookie::new("u", "é"), at(T0)));
        assert!(!format!("{jar:?}").contains("quoted"), "Debug hides values");
        assert_eq!(jar.cookie_header(&uri(url), at(T0)).unwrap().as_bytes(), "q=\"quoted\"; s=a b; u=é".as_bytes());
    }

    #[test]
    fn application_cookies() {
        let mut jar = Jar::new();
        let first = uri("wss://example.com/chat/room");
        assert!(jar.add(&first, Cookie::new("token", "t"), at(T0)));
        assert!(jar.add(&first, Cookie::parse("scoped=1; Path=/chat").unwrap(), at(T0)));
        assert!(jar.add(&first, Cookie::parse("wide=2; Domain=example.com").unwrap(), at(T0)));
        assert!(!jar.add(&first, Cookie::parse("foreign=3; Domain=example.org").unwrap(), at(T0)));
        assert!(jar.add(&first, Cookie::parse("brief=4; Max-Age=10").unwrap(), at(T0)));
        assert_eq!(sent(&jar, "wss://example.com/"), "token=t; wide=2; brief=4");
        assert_eq!(sent(&jar, "wss://example.com/chat/x"), "scoped=1; token=t; wide=2; brief=4");
        assert_eq!(sent(&jar, "wss://www.example.com/"), "wide=2");
        assert_eq!(sent_at(&jar, "wss://example.com/", T0 + 10), "token=t; wide=2");
    }

    #[test]
    fn reading_a_response() {
        let mut headers = HeaderMap::new();
        headers.append(SET_COOKIE, HeaderValue::from_static("a=1; Path=/; Secure; HttpOnly; SameSite=Lax"));
        headers.append(SET_COOKIE, HeaderValue::from_static("=nameless"));
        headers.append(SET_COOKIE, HeaderValue::from_bytes(b"utf8=\xc3\xa9").unwrap());
        headers.append(SET_COOKIE, HeaderValue::from_bytes(b"latin1=\xe9").unwrap());
        headers.append(SET_COOKIE, HeaderValue::from_static("b=2; Domain=elsewhere.test"));
        headers.append(http::HeaderName::from_static("set-cookie2"), HeaderValue::from_static("old=1"));
        let cookies = response_cookies(&headers);
        let pairs: Vec<_> = cookies.iter().map(|c| c.name_value()).collect();
        assert_eq!(pairs, [("a", "1"), ("utf8", "é"), ("b", "2")]);
        assert_eq!(cookies[0].http_only(), Some(true));
        assert_eq!(cookies[2].domain(), Some("elsewhere.test"));
        // The jar keeps what the rules allow of the same response.
        let mut jar = Jar::new();
        assert_eq!(jar.store_response(&uri("wss://h.test/"), &headers, at(T0)), 2);
        assert_eq!(sent(&jar, "wss://h.test/"), "a=1; utf8=é");
        assert!(response_cookies(&HeaderMap::new()).is_empty());
    }
}
