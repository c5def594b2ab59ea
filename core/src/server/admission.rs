//! A service's checks of an upgrade request, and the accept they lead to.

use crate::auth::{Secret, ServerAuth, Verdict};
use crate::handshake::{cookie_pairs, Accept, IncomingRequest, Reject};
use crate::Config;
use cookie::Cookie;
use http::header::{HOST, ORIGIN, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use std::fmt;
use std::sync::Arc;
use tracing::debug;

type HeaderCheck = Arc<dyn Fn(Option<&str>) -> bool + Send + Sync>;
type CookieCheck = Arc<dyn Fn(&CookieView<'_>, &mut Vec<Cookie<'static>>) -> bool + Send + Sync>;
type FindUser = Arc<dyn Fn(&str) -> Option<UserSecret> + Send + Sync>;

/// What a service checks before it accepts an upgrade, and how it accepts it
/// (websocket-sharp's `WebSocketBehavior` settings: `Protocol`, `OriginValidator`,
/// `CookiesValidator`, `IgnoreExtensions`, and the server's authentication).
///
/// [`admit`](Self::admit) runs the checks in a fixed order, the first refusal winning:
///
/// 1. `Host` ([`host`](Self::host)): `400 Bad Request`.
/// 2. Authentication ([`auth`](Self::auth)): `401 Unauthorized` with the challenges (with
///    `stale=true` when only the nonce had expired), `400` for a malformed `Authorization`.
/// 3. `Origin` ([`origin`](Self::origin)): `403 Forbidden`.
/// 4. Cookies ([`cookies`](Self::cookies)): `400 Bad Request`.
///
/// Then the [`Accept`]: the subprotocol chosen from [`protocols`](Self::protocols), the extra
/// headers, the cookies to set, the service's [`Config`] and whether extensions are declined.
/// `Clone` is cheap (the checks are shared).
///
/// ```
/// use laputa_core::handshake::ServerHandshake;
/// use laputa_core::server::Admission;
/// use laputa_core::Config;
/// use std::time::Instant;
///
/// let admission = Admission::new()
///     .protocols(["chat.v2", "chat"])
///     .origin(|origin| origin == Some("https://example.com"));
/// let request = |origin: &str| {
///     let head = format!(
///         "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
///          Sec-WebSocket-Protocol: chat, chat.v2\r\nOrigin: {origin}\r\n\r\n"
///     );
///     ServerHandshake::new(Config::default(), Instant::now()).handle_input(head.as_bytes()).unwrap().unwrap()
/// };
/// let admitted = admission.admit(&request("https://example.com"), 0).expect("admitted");
/// assert_eq!(admitted.accept.protocol.as_deref(), Some("chat"), "the client's first that we speak");
/// assert_eq!(admission.admit(&request("https://evil.example"), 0).unwrap_err().status(), 403);
/// ```
#[derive(Clone, Default)]
pub struct Admission {
    protocols: Vec<String>,
    host: Option<HeaderCheck>,
    origin: Option<HeaderCheck>,
    cookies: Option<CookieCheck>,
    headers: HeaderMap,
    ignore_extensions: bool,
    config: Option<Config>,
    auth: Option<(Arc<ServerAuth>, FindUser)>,
}

impl fmt::Debug for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admission")
            .field("protocols", &self.protocols)
            .field("host_check", &self.host.is_some())
            .field("origin_check", &self.origin.is_some())
            .field("cookie_check", &self.cookies.is_some())
            .field("headers", &self.headers)
            .field("ignore_extensions", &self.ignore_extensions)
            .field("config", &self.config)
            .field("auth", &self.auth.as_ref().map(|(auth, _)| auth))
            .finish()
    }
}

impl AsRef<Admission> for Admission {
    fn as_ref(&self) -> &Admission {
        self
    }
}

impl Admission {
    /// Accepts any valid upgrade request, with no subprotocol, and permessage-deflate as the
    /// handshake's [`Config`] says.
    ///
    /// ```
    /// use laputa_core::server::Admission;
    ///
    /// let admission = Admission::new();
    /// assert!(format!("{admission:?}").contains("protocols: []"));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The subprotocols this service speaks. The first one in the client's order of preference
    /// that is in this list is chosen (RFC 6455 section 4.2.2 leaves the choice to the server;
    /// the client's order is what it asked for); with none in common the request is accepted
    /// without a subprotocol, and the client decides whether that will do.
    ///
    /// ```
    /// use laputa_core::server::Admission;
    ///
    /// let admission = Admission::new().protocols(["chat", "superchat"]);
    /// assert!(format!("{admission:?}").contains(r#"protocols: ["chat", "superchat"]"#));
    /// ```
    pub fn protocols<I: IntoIterator<Item = S>, S: Into<String>>(mut self, offered: I) -> Self {
        self.protocols = offered.into_iter().map(Into::into).collect();
        self
    }

    /// Checks the `Host` header (its value, `None` if it is not visible ASCII): `false` refuses
    /// with `400 Bad Request`. Against DNS rebinding, a service reachable by name only.
    ///
    /// ```
    /// use laputa_core::server::Admission;
    ///
    /// let admission = Admission::new().host(|host| matches!(host, Some("example.com" | "example.com:443")));
    /// # let _ = admission;
    /// ```
    pub fn host(mut self, check: impl Fn(Option<&str>) -> bool + Send + Sync + 'static) -> Self {
        self.host = Some(Arc::new(check));
        self
    }

    /// Checks the `Origin` header (RFC 6455 section 10.2: the page a browser's client came
    /// from; `None` when absent, as from non-browser clients): `false` refuses with
    /// `403 Forbidden`.
    ///
    /// ```
    /// use laputa_core::server::Admission;
    ///
    /// // Browsers only from our site; other clients (no Origin) too.
    /// let admission = Admission::new().origin(|origin| origin.is_none_or(|o| o == "https://example.com"));
    /// # let _ = admission;
    /// ```
    pub fn origin(mut self, check: impl Fn(Option<&str>) -> bool + Send + Sync + 'static) -> Self {
        self.origin = Some(Arc::new(check));
        self
    }

    /// Checks the request's cookies and chooses cookies to set: `check` sees the cookies sent
    /// and pushes any to send back as `Set-Cookie` in the 101; `false` refuses with
    /// `400 Bad Request` (websocket-sharp's `CookiesValidator`).
    ///
    /// ```
    /// use laputa_core::cookies::Cookie;
    /// use laputa_core::server::Admission;
    ///
    /// let admission = Admission::new().cookies(|sent, set| {
    ///     if sent.get("session").is_none() {
    ///         set.push(Cookie::build(("session", "new")).http_only(true).build());
    ///     }
    ///     sent.get("banned").is_none()
    /// });
    /// # let _ = admission;
    /// ```
    pub fn cookies(
        mut self,
        check: impl Fn(&CookieView<'_>, &mut Vec<Cookie<'static>>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.cookies = Some(Arc::new(check));
        self
    }

    /// Adds a header to the 101 response (not one the handshake sets itself: such an accept is
    /// answered `500`, see [`IncomingRequest::answer`]).
    ///
    /// ```
    /// use laputa_core::http::{HeaderName, HeaderValue};
    /// use laputa_core::server::Admission;
    ///
    /// let admission = Admission::new().header(HeaderName::from_static("x-server"), HeaderValue::from_static("laputa"));
    /// assert!(format!("{admission:?}").contains("x-server"));
    /// ```
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Declines permessage-deflate (and any extension) for this service, whatever the
    /// [`Config`] says (websocket-sharp's `IgnoreExtensions`).
    ///
    /// ```
    /// use laputa_core::server::Admission;
    ///
    /// let admission = Admission::new().ignore_extensions(true);
    /// assert!(format!("{admission:?}").contains("ignore_extensions: true"));
    /// ```
    pub fn ignore_extensions(mut self, ignore: bool) -> Self {
        self.ignore_extensions = ignore;
        self
    }

    /// The [`Config`] of this service's connections (limits, timers, permessage-deflate), in
    /// place of the one the handshake was read with ([`Accept::config`]).
    ///
    /// ```
    /// use laputa_core::server::Admission;
    /// use laputa_core::Config;
    ///
    /// let mut config = Config::default();
    /// config.max_message_size = 4096;
    /// let admission = Admission::new().config(config);
    /// assert!(format!("{admission:?}").contains("max_message_size: 4096"));
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// The [`Config`] given with [`config`](Self::config), if any.
    ///
    /// ```
    /// use laputa_core::server::Admission;
    /// use laputa_core::Config;
    ///
    /// assert!(Admission::new().session_config().is_none());
    /// let admission = Admission::new().config(Config::default());
    /// assert_eq!(admission.session_config().map(|c| c.close_timeout), Some(Config::default().close_timeout));
    /// ```
    pub fn session_config(&self) -> Option<&Config> {
        self.config.as_ref()
    }

    /// Requires authentication with `auth` (Basic, Digest, or both); `find` gives a user's
    /// [`UserSecret`] (password or Digest hashes, and roles), `None` for an unknown user. The
    /// authenticated [`User`] is in [`Admitted::user`]. `auth` may be an `Arc<ServerAuth>`
    /// shared by several services (its nonces and replay table are then shared).
    ///
    /// ```
    /// use laputa_core::auth::ServerAuth;
    /// use laputa_core::server::{Admission, UserSecret};
    ///
    /// let admission = Admission::new().auth(ServerAuth::digest("chat", &[7; 32]), |user| {
    ///     (user == "alice").then(|| UserSecret::password("wonderland").roles(["admin"]))
    /// });
    /// assert!(format!("{admission:?}").contains(r#"realm: "chat""#));
    /// ```
    pub fn auth(
        mut self,
        auth: impl Into<Arc<ServerAuth>>,
        find: impl Fn(&str) -> Option<UserSecret> + Send + Sync + 'static,
    ) -> Self {
        self.auth = Some((auth.into(), Arc::new(find)));
        self
    }

    /// Decides on `request` at `now_secs` (seconds since any fixed epoch, the same for every
    /// call: Digest nonces carry it): the checks in the order given on [`Admission`], then the
    /// [`Accept`] and the authenticated user; or the [`Reject`] to answer with.
    ///
    /// ```
    /// use laputa_core::handshake::ServerHandshake;
    /// use laputa_core::server::Admission;
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let head = b"GET /chat HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    /// let request = ServerHandshake::new(Config::default(), Instant::now()).handle_input(head)?.unwrap();
    /// let admission = Admission::new().host(|host| host == Some("example.com"));
    /// assert_eq!(admission.admit(&request, 0).unwrap_err().status(), 400);
    /// assert!(Admission::new().admit(&request, 0).is_ok());
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn admit(&self, request: &IncomingRequest, now_secs: u64) -> Result<Admitted, Reject> {
        let checked = self.check(request.request(), now_secs)?;
        let mut accept = Accept::new();
        accept.cookies = checked.cookies;
        accept.protocol =
            request.protocols().find(|offered| self.protocols.iter().any(|ours| ours == offered)).map(Into::into);
        accept.headers = self.headers.clone();
        accept.config = self.config.clone();
        accept.no_extensions = self.ignore_extensions;
        Ok(Admitted { accept, user: checked.user })
    }

    /// Decides on a plain HTTP request (not an upgrade) at `now_secs`, with the checks
    /// [`admit`](Self::admit) runs, in the same order: `Host` (400), authentication (401 with
    /// the challenges, `stale=true` for an expired nonce, replays refused; 400 for a malformed
    /// `Authorization`), `Origin` (403), cookies (400). Digest's `uri` must be the request
    /// target as sent, and its response covers the request's method. The subprotocols, extra
    /// headers, `Config` and extension switch are the upgrade's and play no part.
    ///
    /// ```
    /// use laputa_core::auth::{basic, Credentials, ServerAuth};
    /// use laputa_core::http::{header::AUTHORIZATION, Request};
    /// use laputa_core::server::{Admission, UserSecret};
    ///
    /// let admission = Admission::new().auth(ServerAuth::basic("files"), |user| {
    ///     (user == "alice").then(|| UserSecret::password("wonderland").roles(["reader"]))
    /// });
    /// let anonymous = Request::put("/notes/1").header("Host", "example.com").body(())?;
    /// let refused = admission.admit_request(&anonymous, 0).unwrap_err();
    /// assert_eq!(refused.status(), 401);
    /// let challenge = refused.into_response().headers()["www-authenticate"].to_str()?.to_owned();
    /// assert!(challenge.starts_with("Basic realm="), "{challenge}");
    ///
    /// let signed = Request::put("/notes/1")
    ///     .header("Host", "example.com")
    ///     .header(AUTHORIZATION, basic(&Credentials::new("alice", "wonderland")))
    ///     .body(())?;
    /// let admitted = admission.admit_request(&signed, 0).expect("alice");
    /// assert_eq!(admitted.user.as_ref().map(|user| user.name()), Some("alice"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn admit_request(&self, request: &http::Request<()>, now_secs: u64) -> Result<AdmittedRequest, Reject> {
        self.check(request, now_secs)
    }

    /// The checks shared by upgrades and plain requests, in their order.
    fn check(&self, request: &http::Request<()>, now_secs: u64) -> Result<AdmittedRequest, Reject> {
        let path = request.uri().path();
        let headers = request.headers();
        if let Some(check) = &self.host {
            if !check(headers.get(HOST).and_then(|value| value.to_str().ok())) {
                debug!(path, "Host refused: 400");
                return Err(refuse(StatusCode::BAD_REQUEST, "this server does not serve this host"));
            }
        }
        let user = match &self.auth {
            Some((auth, find)) => Some(authenticate(auth, find, request, now_secs)?),
            None => None,
        };
        if let Some(check) = &self.origin {
            if !check(headers.get(ORIGIN).and_then(|value| value.to_str().ok())) {
                debug!(path, "Origin refused: 403");
                return Err(refuse(StatusCode::FORBIDDEN, "origin not allowed"));
            }
        }
        let mut cookies = Vec::new();
        if let Some(check) = &self.cookies {
            if !check(&CookieView::from_headers(headers), &mut cookies) {
                debug!(path, "cookies refused: 400");
                return Err(refuse(StatusCode::BAD_REQUEST, "cookies refused"));
            }
        }
        Ok(AdmittedRequest { user, cookies })
    }
}

/// The `401`, `400` or user of an authentication.
fn authenticate(auth: &ServerAuth, find: &FindUser, request: &http::Request<()>, now: u64) -> Result<User, Reject> {
    let uri = request.uri().to_string();
    let path = request.uri().path();
    let mut roles = Vec::new();
    let verdict = auth.verify_secret(request.headers(), request.method(), &uri, now, |name| {
        let found = find(name)?;
        roles = found.roles;
        Some(found.secret)
    });
    match verdict {
        Verdict::Authenticated { user } => Ok(User { name: user, roles }),
        Verdict::Challenge { stale } => {
            debug!(path, stale, "authentication required: 401");
            let mut reject = refuse(StatusCode::UNAUTHORIZED, "authentication required");
            for challenge in auth.challenge(now, stale) {
                reject = reject.header(WWW_AUTHENTICATE, challenge);
            }
            Err(reject)
        }
        Verdict::BadRequest => {
            debug!(path, "malformed Authorization: 400");
            Err(refuse(StatusCode::BAD_REQUEST, "malformed Authorization header"))
        }
    }
}

fn refuse(status: StatusCode, why: &str) -> Reject {
    Reject::new(status).body(format!("{why}\n"))
}

/// What [`Admission::admit`] gives for a request it lets in.
///
/// ```
/// use laputa_core::handshake::ServerHandshake;
/// use laputa_core::server::Admission;
/// use laputa_core::Config;
/// use std::time::Instant;
///
/// let head = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// let request = ServerHandshake::new(Config::default(), Instant::now()).handle_input(head)?.unwrap();
/// let admitted = Admission::new().admit(&request, 0).expect("no checks");
/// assert_eq!(admitted.user, None, "no authentication asked");
/// let _connection = request.accept(admitted.accept)?;
/// # Ok::<(), laputa_core::handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Admitted {
    /// How to accept: give it to [`IncomingRequest::answer`] (or `accept`).
    pub accept: Accept,
    /// The authenticated user, when the service asks for authentication.
    pub user: Option<User>,
}

/// What [`Admission::admit_request`] gives for a plain request it lets in: the user, and the
/// cookies the [`cookies`](Admission::cookies) check chose to set (as `Set-Cookie` on the
/// response).
///
/// ```
/// use laputa_core::cookies::Cookie;
/// use laputa_core::http::Request;
/// use laputa_core::server::Admission;
///
/// let admission = Admission::new().cookies(|sent, set| {
///     if sent.get("visitor").is_none() {
///         set.push(Cookie::new("visitor", "1"));
///     }
///     true
/// });
/// let request = Request::get("/").header("Host", "example.com").body(())?;
/// let admitted = admission.admit_request(&request, 0).expect("no refusal");
/// assert_eq!(admitted.user, None, "no authentication asked");
/// assert_eq!(admitted.cookies[0].to_string(), "visitor=1");
/// # Ok::<(), laputa_core::http::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct AdmittedRequest {
    /// The authenticated user, when the admission asks for authentication.
    pub user: Option<User>,
    /// Cookies to set on the response.
    pub cookies: Vec<Cookie<'static>>,
}

/// An authenticated user: the name the client sent and the roles its [`UserSecret`] named.
///
/// ```
/// use laputa_core::server::User;
///
/// let user = User::new("alice", ["admin"]);
/// assert_eq!((user.name(), user.roles()), ("alice", &["admin".to_owned()][..]));
/// assert!(user.has_role("admin") && !user.has_role("guest"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    name: String,
    roles: Vec<String>,
}

impl User {
    /// A user named `name` with `roles`.
    ///
    /// ```
    /// use laputa_core::server::User;
    ///
    /// assert!(User::new("bob", Vec::<String>::new()).roles().is_empty());
    /// ```
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(name: impl Into<String>, roles: I) -> Self {
        Self { name: name.into(), roles: roles.into_iter().map(Into::into).collect() }
    }

    /// The user name.
    ///
    /// ```
    /// use laputa_core::server::User;
    ///
    /// assert_eq!(User::new("alice", ["a"]).name(), "alice");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The roles, in the order given.
    ///
    /// ```
    /// use laputa_core::server::User;
    ///
    /// assert_eq!(User::new("alice", ["a", "b"]).roles(), ["a", "b"]);
    /// ```
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Whether the user has `role`.
    ///
    /// ```
    /// use laputa_core::server::User;
    ///
    /// assert!(User::new("alice", ["a"]).has_role("a"));
    /// ```
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// What a server stores of a user: the password or the Digest hashes ([`Secret`]), and the
/// user's roles. `Debug` does not print the secret.
///
/// ```
/// use laputa_core::auth::{digest_ha1, DigestAlgorithm};
/// use laputa_core::server::UserSecret;
///
/// let plain = UserSecret::password("wonderland").roles(["admin"]);
/// let hashed = UserSecret::digest_hashes(
///     digest_ha1(DigestAlgorithm::Md5, "alice", "chat", "wonderland"),
///     digest_ha1(DigestAlgorithm::Sha256, "alice", "chat", "wonderland"),
/// );
/// assert!(!format!("{plain:?}{hashed:?}").contains("wonderland"));
/// ```
#[derive(Debug, Clone)]
pub struct UserSecret {
    secret: Secret,
    roles: Vec<String>,
}

impl UserSecret {
    /// The user's password, no roles.
    ///
    /// ```
    /// use laputa_core::server::UserSecret;
    ///
    /// let secret = UserSecret::password("wonderland");
    /// # let _ = secret;
    /// ```
    pub fn password(password: impl Into<String>) -> Self {
        Self { secret: Secret::password(password), roles: Vec::new() }
    }

    /// `H(username:realm:password)` for MD5 and SHA-256 in hex ([`Secret::digest_hashes`],
    /// computed with [`digest_ha1`](crate::auth::digest_ha1)), no roles. They serve Digest with
    /// either algorithm, and Basic.
    ///
    /// ```
    /// use laputa_core::server::UserSecret;
    ///
    /// let secret = UserSecret::digest_hashes("939e7578ed9e3c518a452acee763bce9", "...");
    /// # let _ = secret;
    /// ```
    pub fn digest_hashes(md5_hex: impl Into<String>, sha256_hex: impl Into<String>) -> Self {
        Self { secret: Secret::digest_hashes(md5_hex, sha256_hex), roles: Vec::new() }
    }

    /// Sets the user's roles.
    ///
    /// ```
    /// use laputa_core::server::UserSecret;
    ///
    /// let secret = UserSecret::password("p").roles(["reader", "writer"]);
    /// assert!(format!("{secret:?}").contains(r#"["reader", "writer"]"#));
    /// ```
    pub fn roles<I: IntoIterator<Item = S>, S: Into<String>>(mut self, roles: I) -> Self {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }
}

/// The cookies of a request, for [`Admission::cookies`]: the `name=value` pairs of its
/// `Cookie` headers, in order, values as sent. `Debug` prints the names only (values are often
/// session secrets).
///
/// ```
/// use laputa_core::handshake::ServerHandshake;
/// use laputa_core::server::CookieView;
/// use laputa_core::Config;
/// use std::time::Instant;
///
/// let head = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
///     Cookie: session=abc; theme=dark\r\n\r\n";
/// let request = ServerHandshake::new(Config::default(), Instant::now()).handle_input(head)?.unwrap();
/// let cookies = CookieView::new(&request);
/// assert_eq!(cookies.get("session"), Some("abc"));
/// assert_eq!(cookies.len(), 2);
/// assert_eq!(format!("{cookies:?}"), r#"CookieView { names: ["session", "theme"] }"#);
/// # Ok::<(), laputa_core::handshake::HandshakeError>(())
/// ```
#[derive(Clone)]
pub struct CookieView<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl fmt::Debug for CookieView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieView")
            .field("names", &self.pairs.iter().map(|(name, _)| name).collect::<Vec<_>>())
            .finish()
    }
}

impl<'a> CookieView<'a> {
    /// The cookies of `request` ([`IncomingRequest::cookies`]).
    ///
    /// ```
    /// # use laputa_core::handshake::ServerHandshake;
    /// # use laputa_core::server::CookieView;
    /// # let head = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    /// # let request = ServerHandshake::new(Default::default(), std::time::Instant::now()).handle_input(head)?.unwrap();
    /// // The request sent no Cookie header.
    /// assert!(CookieView::new(&request).is_empty());
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn new(request: &'a IncomingRequest) -> Self {
        Self::from_headers(request.headers())
    }

    /// The cookies of a request's headers.
    fn from_headers(headers: &'a HeaderMap) -> Self {
        Self { pairs: cookie_pairs(headers).collect() }
    }

    /// The value of the first cookie named `name`.
    ///
    /// ```
    /// # use laputa_core::handshake::ServerHandshake;
    /// # use laputa_core::server::CookieView;
    /// # let head = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: a=1; a=2\r\n\r\n";
    /// # let request = ServerHandshake::new(Default::default(), std::time::Instant::now()).handle_input(head)?.unwrap();
    /// // The request sent `Cookie: a=1; a=2`.
    /// assert_eq!(CookieView::new(&request).get("a"), Some("1"));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(n, _)| *n == name).map(|(_, value)| *value)
    }

    /// Every `(name, value)` pair, in order.
    ///
    /// ```
    /// # use laputa_core::handshake::ServerHandshake;
    /// # use laputa_core::server::CookieView;
    /// # let head = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: a=1; b=2\r\n\r\n";
    /// # let request = ServerHandshake::new(Default::default(), std::time::Instant::now()).handle_input(head)?.unwrap();
    /// // The request sent `Cookie: a=1; b=2`.
    /// assert_eq!(CookieView::new(&request).iter().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.pairs.iter().copied()
    }

    /// How many pairs were sent.
    ///
    /// ```
    /// # use laputa_core::handshake::ServerHandshake;
    /// # use laputa_core::server::CookieView;
    /// # let head = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: a=1\r\n\r\n";
    /// # let request = ServerHandshake::new(Default::default(), std::time::Instant::now()).handle_input(head)?.unwrap();
    /// // The request sent `Cookie: a=1`.
    /// assert_eq!(CookieView::new(&request).len(), 1);
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether no cookie was sent.
    ///
    /// ```
    /// # use laputa_core::handshake::ServerHandshake;
    /// # use laputa_core::server::CookieView;
    /// # let head = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: a=1\r\n\r\n";
    /// # let request = ServerHandshake::new(Default::default(), std::time::Instant::now()).handle_input(head)?.unwrap();
    /// assert!(!CookieView::new(&request).is_empty());
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}
