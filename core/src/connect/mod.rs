//! The connect flow: everything between a URL and an open WebSocket, decided once, sans-IO.
//!
//! A client that connects the way real clients must goes through a proxy (`CONNECT`, with the
//! proxy's `407` answered), TLS, the upgrade request (with cookies, and the server's `401`
//! answered), and redirects. [`ConnectFlow`] owns every one of those decisions; a driver only
//! does what it is told and feeds back what happened:
//!
//! - [`poll_action`](ConnectFlow::poll_action): open a TCP connection to `host:port`
//!   ([`Action::Connect`], dropping any previous one), or start TLS for a server name on the
//!   current one ([`Action::StartTls`]); then call [`connected`](ConnectFlow::connected) or
//!   [`tls_established`](ConnectFlow::tls_established);
//! - [`poll_transmit`](ConnectFlow::poll_transmit): bytes to write;
//! - [`handle_input`](ConnectFlow::handle_input) and [`handle_eof`](ConnectFlow::handle_eof):
//!   what was read; `Some(Established)` once the server accepted the upgrade;
//! - [`poll_timeout`](ConnectFlow::poll_timeout) and
//!   [`handle_timeout`](ConnectFlow::handle_timeout): one deadline over all of it (DNS and TCP
//!   included: a driver bounds them by it too).
//!
//! The proxy environment, the time and the randomness are handed in: the core reads no
//! environment, no clock and no OS state (except [`Rng::os`] when asked for).
//!
//! ```
//! use laputa_core::connect::{Action, ConnectFlow, Options};
//! use laputa_core::handshake::{Accept, ClientRequest, ServerHandshake};
//! use laputa_core::proxy::{Proxy, ProxyConfig};
//! use laputa_core::{Config, Rng};
//! use std::time::{Instant, SystemTime};
//!
//! let mut options = Options::default();
//! options.proxy = ProxyConfig::Fixed(Proxy::parse("http://proxy.corp:3128")?);
//! let request = ClientRequest::new("ws://example.com/chat")?;
//! let now = Instant::now();
//! let mut flow = ConnectFlow::with_rng(request, options, Config::default(), Rng::seeded(1), now, SystemTime::now())?;
//!
//! // 1. Connect to the proxy and ask it for a tunnel.
//! assert_eq!(flow.poll_action(), Some(Action::Connect { host: "proxy.corp".into(), port: 3128 }));
//! flow.connected();
//! let mut out = Vec::new();
//! flow.poll_transmit(&mut out);
//! assert!(out.starts_with(b"CONNECT example.com:80 HTTP/1.1\r\n"));
//! assert!(flow.handle_input(b"HTTP/1.1 200 Connection established\r\n\r\n")?.is_none());
//!
//! // 2. Through the tunnel, the upgrade request; the server (here in the same process) accepts.
//! out.clear();
//! flow.poll_transmit(&mut out);
//! assert!(out.starts_with(b"GET /chat HTTP/1.1\r\n"));
//! let mut server = ServerHandshake::new(Config::default(), now);
//! let mut answer = Vec::new();
//! server.handle_input(&out)?.expect("a complete request").accept(Accept::new())?.poll_transmit(now, &mut answer);
//! let established = flow.handle_input(&answer)?.expect("the server accepted");
//! assert_eq!(established.response.status(), 101);
//! assert_eq!(flow.poll_action(), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod redirect;
#[cfg(test)]
mod tests;

pub use error::{ConnectError, RedirectError};

use crate::auth::{self, Challenge, ClientAuth, Credentials};
use crate::cookies::Jar;
use crate::handshake::{ClientHandshake, ClientRequest, HandshakeError};
use crate::http1::{BodyDecoder, Framing, Http1Error, Limits, Progress, ResponseHead, ResponseReader};
use crate::proxy::{Proxy, ProxyConfig};
use crate::{Config, Connection, Rng};
use bytes::Bytes;
use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, StatusCode, Uri};
use std::time::{Instant, SystemTime};
use tracing::debug;

/// The most redirects followed by default once redirects are on (websocket-sharp's and
/// browsers' order of magnitude; curl's default is 50).
pub const DEFAULT_MAX_REDIRECTS: usize = 10;

/// What the connect flow may do beyond the upgrade request itself: credentials, proxy,
/// redirects and cookies. Everything is off or empty by default.
///
/// ```
/// use laputa_core::auth::Credentials;
/// use laputa_core::connect::{Options, DEFAULT_MAX_REDIRECTS};
/// use laputa_core::proxy::{ProxyConfig, ProxyEnv};
///
/// let mut options = Options::default();
/// options.credentials = Some(Credentials::new("nobita", "password"));
/// options.preauth = true; // Basic on the first request, without waiting for a 401
/// options.proxy = ProxyConfig::FromEnv(ProxyEnv::from_vars([("HTTPS_PROXY", "http://proxy:3128")]));
/// options.max_redirects = Some(DEFAULT_MAX_REDIRECTS);
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// Credentials for the server (websocket-sharp's `SetCredentials`): the answer to a `401`,
    /// Basic or Digest. Credentials in the URL (`ws://user:password@host/`) are used when this
    /// is `None`. They are never sent to another host, port or scheme after a redirect.
    pub credentials: Option<Credentials>,
    /// Send Basic credentials with the first request instead of waiting for a `401`
    /// (websocket-sharp's `preAuth`).
    pub preauth: bool,
    /// Which proxy to go through, if any (websocket-sharp's `SetProxy`, or the environment).
    pub proxy: ProxyConfig,
    /// Follow 301, 302, 303, 307 and 308 answers up to this many times (websocket-sharp's
    /// `EnableRedirection`); `None`, the default, treats them as failures.
    pub max_redirects: Option<usize>,
    /// Cookies sent as `Cookie` where they match (domain, path, secure); `Set-Cookie` answers
    /// are kept in it along the way, redirects included.
    pub cookies: Jar,
}

/// What the driver must do before the flow can go on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Drop the current connection, if any, and open a TCP connection to `host:port` (the
    /// driver resolves the name; each address's attempt is bounded by
    /// [`ConnectFlow::poll_timeout`]). Then call [`ConnectFlow::connected`].
    Connect {
        /// A name or an IP address (IPv6 without brackets).
        host: String,
        /// The port.
        port: u16,
    },
    /// Start TLS on the current connection (inside the proxy's tunnel, if there is one) for
    /// `server_name` (SNI and the certificate's name), then call
    /// [`ConnectFlow::tls_established`]. A failed TLS handshake fails the connect: it never
    /// falls back to plain TCP.
    StartTls {
        /// The target's host, as in the URL (IPv6 without brackets).
        server_name: String,
    },
}

/// The outcome of a connect: the WebSocket connection and what the server answered.
#[derive(Debug)]
#[non_exhaustive]
pub struct Established {
    /// The connection, already fed any bytes that followed the `101`.
    pub connection: Connection,
    /// The server's `101` response (its `Set-Cookie` headers are websocket-sharp's
    /// `HandshakeResponseCookies`: see [`crate::cookies::response_cookies`]).
    pub response: http::Response<()>,
    /// The URL connected to, after any redirects.
    pub url: Uri,
    /// The cookie jar, with every `Set-Cookie` the connect met.
    pub cookies: Jar,
}

/// The state of authentication with one party (the server or the proxy).
#[derive(Debug, Default)]
struct Auth {
    /// The answer to a challenge, set once one was chosen.
    client: Option<ClientAuth>,
    /// A `stale=true` challenge was answered once already.
    stale_retried: bool,
}

impl Auth {
    /// Takes up the challenges of a `401` or `407`: the strongest supported one the first
    /// time, a fresh nonce once after `stale=true`. False when there is nothing (more) to
    /// answer, so that a wrong password fails instead of looping: one answer per challenge.
    fn take_up(&mut self, challenges: &[Challenge]) -> bool {
        match &mut self.client {
            None => {
                self.client = auth::choose(challenges).and_then(ClientAuth::new);
                self.client.is_some()
            }
            Some(_) if self.stale_retried => false,
            Some(client) => {
                self.stale_retried = client.renew_stale(challenges);
                self.stale_retried
            }
        }
    }

    /// The `Authorization` value for the next request to the same party: a Digest answer
    /// counts its nonce on (`nc`), so each request gets a new one.
    fn next(
        &mut self,
        credentials: Option<&Credentials>,
        method: &Method,
        uri: &str,
        rng: &mut Rng,
    ) -> Option<HeaderValue> {
        Some(self.client.as_mut()?.answer(credentials?, method, uri, rng))
    }
}

/// Where the flow stands.
#[derive(Debug)]
enum Phase {
    /// Waiting for the driver to open the connection of [`Action::Connect`].
    Opening,
    /// `CONNECT` sent; reading the proxy's answer.
    Tunnel(ResponseReader),
    /// Reading the body of a `407` to its end, to send the answer on the same connection.
    TunnelBody(BodyDecoder),
    /// Waiting for the driver to start TLS.
    Tls,
    /// The upgrade request sent; reading the server's answer.
    Upgrade { reader: ResponseReader, handshake: Box<ClientHandshake> },
    /// Reading the body of a `401` to its end, to send the answer on the same connection.
    UpgradeBody(BodyDecoder),
    /// The flow produced its connection or its error.
    Finished,
}

/// The connect flow: proxy, TLS, upgrade, authentication, cookies and redirects, as a state
/// machine that a driver runs (see the [module documentation](self) for the loop).
#[derive(Debug)]
pub struct ConnectFlow {
    request: ClientRequest,
    options: Options,
    config: Config,
    rng: Rng,
    /// When the flow started: the handshakes it builds count from it.
    started: Instant,
    /// The wall-clock time for cookie expiry.
    wall: SystemTime,
    deadline: Option<Instant>,
    /// The proxy of the current route, if any.
    proxy: Option<Proxy>,
    server_auth: Auth,
    proxy_auth: Auth,
    /// Credentials taken from the URL, used when `options.credentials` is `None`.
    url_credentials: Option<Credentials>,
    redirects: usize,
    action: Option<Action>,
    transmit: Vec<u8>,
    /// A retry after a challenge is queued and the driver has not taken it yet.
    retry_queued: bool,
    /// The upgrade request could not be built.
    refused: Option<HandshakeError>,
    phase: Phase,
}

impl ConnectFlow {
    /// Starts a connect with keys and nonces from the operating system's random source. The
    /// deadline over the whole connect is `now` plus [`Config::handshake_timeout`]; `wall` is
    /// the current wall-clock time, for cookie expiry.
    ///
    /// ```
    /// use laputa_core::connect::{Action, ConnectFlow, Options};
    /// use laputa_core::handshake::ClientRequest;
    /// use laputa_core::Config;
    /// use std::time::{Instant, SystemTime};
    ///
    /// let request = ClientRequest::new("wss://example.com/chat")?;
    /// let now = Instant::now();
    /// let mut flow = ConnectFlow::new(request, Options::default(), Config::default(), now, SystemTime::now())?;
    /// assert_eq!(flow.poll_timeout(), Some(now + Config::default().handshake_timeout));
    /// assert_eq!(flow.poll_action(), Some(Action::Connect { host: "example.com".into(), port: 443 }));
    /// flow.connected();
    /// assert_eq!(flow.poll_action(), Some(Action::StartTls { server_name: "example.com".into() }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        request: ClientRequest,
        options: Options,
        config: Config,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Self, ConnectError> {
        Self::with_rng(request, options, config, Rng::os(), now, wall)
    }

    /// Same as [`new`](Self::new) with a given random source (keys, nonces, `cnonce`s, and the
    /// masks of the resulting connection): seeded, a test's bytes are repeatable.
    ///
    /// ```
    /// use laputa_core::connect::{ConnectFlow, Options};
    /// use laputa_core::handshake::ClientRequest;
    /// use laputa_core::{Config, Rng};
    /// use std::time::{Instant, SystemTime};
    ///
    /// let request_bytes = |seed| -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    ///     let request = ClientRequest::new("ws://example.com/")?;
    ///     let (now, wall) = (Instant::now(), SystemTime::now());
    ///     let mut flow = ConnectFlow::with_rng(request, Default::default(), Config::default(), Rng::seeded(seed), now, wall)?;
    ///     flow.poll_action();
    ///     flow.connected();
    ///     let mut out = Vec::new();
    ///     flow.poll_transmit(&mut out);
    ///     Ok(out)
    /// };
    /// assert_eq!(request_bytes(7)?, request_bytes(7)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_rng(
        request: ClientRequest,
        options: Options,
        config: Config,
        rng: Rng,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Self, ConnectError> {
        // Invalid builder input surfaces now rather than at the upgrade.
        request.check().map_err(ConnectError::Handshake)?;
        if untunnelable(&options, &request) {
            let why = format!("host not valid in a CONNECT request: {}", redirect::describe(request.uri()));
            return Err(ConnectError::Handshake(HandshakeError::InvalidUrl(why)));
        }
        let url_credentials = Credentials::from_uri(request.uri());
        let mut flow = Self {
            request,
            options,
            deadline: now.checked_add(config.handshake_timeout),
            config,
            rng,
            started: now,
            wall,
            proxy: None,
            server_auth: Auth::default(),
            proxy_auth: Auth::default(),
            url_credentials,
            redirects: 0,
            action: None,
            transmit: Vec::new(),
            retry_queued: false,
            refused: None,
            phase: Phase::Opening,
        };
        flow.open_route();
        Ok(flow)
    }

    /// What the driver must do now, once: `None` while the flow only needs bytes written
    /// ([`poll_transmit`](Self::poll_transmit)) and read.
    ///
    /// ```
    /// use laputa_core::connect::{Action, ConnectFlow, Options};
    /// use laputa_core::handshake::ClientRequest;
    /// use laputa_core::Config;
    /// use std::time::{Instant, SystemTime};
    ///
    /// let request = ClientRequest::new("ws://[::1]:9001/")?;
    /// let mut flow = ConnectFlow::new(request, Options::default(), Config::default(), Instant::now(), SystemTime::now())?;
    /// assert_eq!(flow.poll_action(), Some(Action::Connect { host: "::1".into(), port: 9001 }));
    /// assert_eq!(flow.poll_action(), None, "handed out once");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_action(&mut self) -> Option<Action> {
        self.action.take()
    }

    /// The TCP connection of [`Action::Connect`] is open.
    ///
    /// ```
    /// use laputa_core::connect::{ConnectFlow, Options};
    /// use laputa_core::handshake::ClientRequest;
    /// use laputa_core::Config;
    /// use std::time::{Instant, SystemTime};
    ///
    /// let request = ClientRequest::new("ws://example.com/")?;
    /// let mut flow = ConnectFlow::new(request, Options::default(), Config::default(), Instant::now(), SystemTime::now())?;
    /// flow.poll_action();
    /// flow.connected();
    /// let mut out = Vec::new();
    /// flow.poll_transmit(&mut out);
    /// assert!(out.starts_with(b"GET / HTTP/1.1\r\nHost: example.com\r\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connected(&mut self) {
        if !matches!(self.phase, Phase::Opening) {
            return;
        }
        match &self.proxy {
            Some(_) => self.send_connect(),
            None => self.after_tunnel(),
        }
    }

    /// The TLS handshake of [`Action::StartTls`] completed.
    ///
    /// ```
    /// use laputa_core::connect::{Action, ConnectFlow, Options};
    /// use laputa_core::handshake::ClientRequest;
    /// use laputa_core::Config;
    /// use std::time::{Instant, SystemTime};
    ///
    /// let request = ClientRequest::new("wss://example.com/chat")?;
    /// let mut flow = ConnectFlow::new(request, Options::default(), Config::default(), Instant::now(), SystemTime::now())?;
    /// flow.poll_action();
    /// flow.connected();
    /// assert!(matches!(flow.poll_action(), Some(Action::StartTls { .. })));
    /// flow.tls_established();
    /// let mut out = Vec::new();
    /// flow.poll_transmit(&mut out);
    /// assert!(out.starts_with(b"GET /chat HTTP/1.1\r\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tls_established(&mut self) {
        if matches!(self.phase, Phase::Tls) {
            self.send_upgrade();
        }
    }

    /// Appends the bytes to write to `buf`: nothing once the flow produced its connection or
    /// its error.
    ///
    /// ```
    /// use laputa_core::connect::{ConnectFlow, Options};
    /// use laputa_core::handshake::ClientRequest;
    /// use laputa_core::Config;
    /// use std::time::{Instant, SystemTime};
    ///
    /// let request = ClientRequest::new("ws://example.com/")?;
    /// let mut flow = ConnectFlow::new(request, Options::default(), Config::default(), Instant::now(), SystemTime::now())?;
    /// let mut out = Vec::new();
    /// flow.poll_transmit(&mut out);
    /// assert!(out.is_empty(), "nothing before the connection is open");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) {
        self.retry_queued = false;
        buf.append(&mut self.transmit);
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called: the deadline over the
    /// whole connect; `None` once it is over.
    ///
    /// ```
    /// use laputa_core::connect::{ConnectFlow, Options};
    /// use laputa_core::handshake::ClientRequest;
    /// use laputa_core::Config;
    /// use std::time::{Duration, Instant, SystemTime};
    ///
    /// let mut config = Config::default();
    /// config.handshake_timeout = Duration::from_secs(3);
    /// let now = Instant::now();
    /// let flow = ConnectFlow::new(ClientRequest::new("ws://example.com/")?, Options::default(), config, now, SystemTime::now())?;
    /// assert_eq!(flow.poll_timeout(), Some(now + Duration::from_secs(3)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline.filter(|_| !matches!(self.phase, Phase::Finished))
    }

    /// Fails with [`ConnectError::Timeout`] once `now` is past the deadline.
    ///
    /// ```
    /// use laputa_core::connect::{ConnectError, ConnectFlow, Options};
    /// use laputa_core::handshake::ClientRequest;
    /// use laputa_core::Config;
    /// use std::time::{Instant, SystemTime};
    ///
    /// let now = Instant::now();
    /// let mut flow = ConnectFlow::new(ClientRequest::new("ws://example.com/")?, Options::default(), Config::default(), now, SystemTime::now())?;
    /// let deadline = flow.poll_timeout().unwrap();
    /// assert!(flow.handle_timeout(now).is_ok());
    /// assert!(matches!(flow.handle_timeout(deadline), Err(ConnectError::Timeout)));
    /// assert_eq!(flow.poll_timeout(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnectError> {
        match self.poll_timeout() {
            Some(deadline) if now >= deadline => {
                debug!("connect timed out");
                Err(self.fail(ConnectError::Timeout))
            }
            _ => Ok(()),
        }
    }

    /// Feeds bytes read from the connection. `Some` once the server accepted the upgrade; the
    /// flow is spent after `Some` or an error.
    ///
    /// ```
    /// use laputa_core::connect::{ConnectError, ConnectFlow, Options};
    /// use laputa_core::handshake::ClientRequest;
    /// use laputa_core::http::StatusCode;
    /// use laputa_core::Config;
    /// use std::time::{Instant, SystemTime};
    ///
    /// let request = ClientRequest::new("ws://example.com/chat")?;
    /// let mut flow = ConnectFlow::new(request, Options::default(), Config::default(), Instant::now(), SystemTime::now())?;
    /// flow.poll_action();
    /// flow.connected();
    /// // No credentials were given, so a 401 is the answer.
    /// let err = flow.handle_input(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nwho?").unwrap_err();
    /// let ConnectError::Status { status, body, .. } = err else { panic!("{err}") };
    /// assert_eq!((status, &body[..]), (StatusCode::UNAUTHORIZED, &b"who?"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_input(&mut self, data: &[u8]) -> Result<Option<Established>, ConnectError> {
        self.step(data).map_err(|err| self.fail(err))
    }

    /// The connection ended. While the body of a challenge is read for a retry on the same
    /// connection, the flow goes on with a new connection instead; while an answer is awaited
    /// it is [`ConnectError::UnexpectedEof`].
    ///
    /// ```
    /// use laputa_core::connect::{Action, ConnectError, ConnectFlow, Options};
    /// use laputa_core::handshake::ClientRequest;
    /// use laputa_core::Config;
    /// use std::time::{Instant, SystemTime};
    ///
    /// let request = ClientRequest::new("ws://example.com/")?;
    /// let mut flow = ConnectFlow::new(request, Options::default(), Config::default(), Instant::now(), SystemTime::now())?;
    /// flow.poll_action();
    /// flow.connected();
    /// assert!(matches!(flow.handle_eof(), Err(ConnectError::UnexpectedEof)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_eof(&mut self) -> Result<Option<Established>, ConnectError> {
        let result = match &mut self.phase {
            Phase::TunnelBody(_) | Phase::UpgradeBody(_) => {
                // The connection ended before the retry could use it: a new one.
                self.open_route();
                return Ok(None);
            }
            Phase::Opening | Phase::Tls => return Ok(None),
            Phase::Finished => return Err(ConnectError::Finished),
            _ => Err(ConnectError::UnexpectedEof),
        };
        result.map_err(|err| self.fail(err))
    }

    /// Ends the flow with `err`.
    fn fail(&mut self, err: ConnectError) -> ConnectError {
        if !matches!(err, ConnectError::Finished) {
            debug!(%err, "connect failed");
        }
        self.phase = Phase::Finished;
        self.action = None;
        // A retry queued in the same read as the answer that ended the flow is not sent.
        self.transmit.clear();
        self.retry_queued = false;
        err
    }

    fn step(&mut self, data: &[u8]) -> Result<Option<Established>, ConnectError> {
        if let Some(err) = self.refused.take() {
            return Err(ConnectError::Handshake(err));
        }
        if self.retry_queued && !data.is_empty() {
            // An answer to a retry the driver has not even taken yet: the peer spoke out of
            // turn. Read as the retry's answer, a proxy's early 200 would have sent the
            // retry's CONNECT, proxy credentials and all, through the tunnel to the target.
            debug!("an answer arrived before the retry was sent");
            return Err(match self.phase {
                Phase::Tunnel(_) => {
                    ConnectError::ProxyResponse(Http1Error::InvalidFraming("answer before the request"))
                }
                _ => ConnectError::Handshake(HandshakeError::InvalidResponse("answer before the request")),
            });
        }
        match &mut self.phase {
            Phase::Tunnel(reader) => match reader.push(data).map_err(ConnectError::ProxyResponse)? {
                Some((head, used)) => self.on_proxy_answer(head, &data[used..]),
                None => Ok(None),
            },
            Phase::TunnelBody(decoder) => {
                let progress = decoder.push(data, &mut Vec::new());
                self.after_body(progress, data, true)
            }
            Phase::Upgrade { reader, .. } => {
                let Some((head, used)) = reader.push(data).map_err(response_error)? else { return Ok(None) };
                self.on_server_answer(head, &data[used..])
            }
            Phase::UpgradeBody(decoder) => {
                let progress = decoder.push(data, &mut Vec::new());
                self.after_body(progress, data, false)
            }
            // Nothing is expected while a connection or TLS is being set up: a peer that
            // speaks first is ignored until then, as the bytes of the handshake it cannot be.
            Phase::Opening | Phase::Tls => Ok(None),
            Phase::Finished => Err(ConnectError::Finished),
        }
    }

    // ---- the route: proxy, tunnel, TLS ----

    /// Starts (again) from a new TCP connection: to the proxy the target goes through, or to
    /// the target.
    fn open_route(&mut self) {
        let (host, port, secure) = (self.request.host(), self.request.port(), self.request.is_secure());
        self.proxy = self.options.proxy.select(host, port, secure).cloned();
        let (host, port) = match &self.proxy {
            Some(proxy) => (proxy.host().to_owned(), proxy.port()),
            None => (host.to_owned(), port),
        };
        debug!(%host, port, through_proxy = self.proxy.is_some(), "connecting");
        self.action = Some(Action::Connect { host, port });
        self.transmit.clear();
        self.retry_queued = false;
        self.phase = Phase::Opening;
    }

    /// Asks the proxy for a tunnel to the target (RFC 9110 section 9.3.6), with the answer to
    /// its last challenge if there was one. The request's target is `host:port`, which is
    /// also the URI a Digest answer covers.
    fn send_connect(&mut self) {
        let (host, port) = (self.request.host().to_owned(), self.request.port());
        let credentials = self.proxy.as_ref().and_then(Proxy::credentials);
        let authority = authority(&host, port);
        let authorization = self.proxy_auth.next(credentials, &Method::CONNECT, &authority, &mut self.rng);
        // The host is the URL's, checked by `untunnelable` before this route was taken.
        let request = crate::proxy::connect_request(&host, port, authorization.as_ref()).unwrap_or_default();
        self.transmit.extend_from_slice(&request);
        self.phase = Phase::Tunnel(ResponseReader::new(self.limits()));
    }

    /// The proxy answered `CONNECT`.
    fn on_proxy_answer(&mut self, head: ResponseHead, rest: &[u8]) -> Result<Option<Established>, ConnectError> {
        if head.status.is_success() {
            debug!(status = %head.status, "proxy tunnel established");
            if self.request.is_secure() && !rest.is_empty() {
                // The server speaks after the client's TLS hello: nothing can come first.
                return Err(ConnectError::ProxyResponse(Http1Error::InvalidFraming(
                    "data after the proxy's 200, before TLS",
                )));
            }
            // For a plain target, what came with the 200 is the start of the server's answer.
            self.after_tunnel();
            return self.go_on(rest);
        }
        if head.status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            let challenges = Challenge::parse_all(head.headers.get_all(PROXY_AUTHENTICATE));
            let has_credentials = self.proxy.as_ref().and_then(Proxy::credentials).is_some();
            if has_credentials && self.proxy_auth.take_up(&challenges) {
                debug!("answering the proxy's challenge");
                return self.retry_after(&head, &Method::CONNECT, rest, true);
            }
        }
        Err(ConnectError::Proxy { status: head.status, headers: Box::new(head.headers), body: self.body_start(rest) })
    }

    /// The tunnel is up (or there is none): TLS for a secure target, else the upgrade.
    fn after_tunnel(&mut self) {
        if self.request.is_secure() {
            self.action = Some(Action::StartTls { server_name: self.request.host().to_owned() });
            self.phase = Phase::Tls;
        } else {
            self.send_upgrade();
        }
    }

    // ---- the upgrade ----

    /// Sends the upgrade request: the application's request with the cookies that match and
    /// the server's credentials, if any are due.
    fn send_upgrade(&mut self) {
        let mut request = self.request.clone();
        // RFC 9110 section 11.7.2: proxy credentials are for the proxy; inside the tunnel they
        // would reach the server.
        request.remove_header(&PROXY_AUTHORIZATION);
        let target = request.target();
        let credentials = self.options.credentials.as_ref().or(self.url_credentials.as_ref());
        let authorization = match self.server_auth.next(credentials, &Method::GET, &target, &mut self.rng) {
            Some(answer) => Some(answer),
            None if self.options.preauth => credentials.map(auth::basic),
            None => None,
        };
        if let Some(value) = authorization {
            request.replace_header(AUTHORIZATION, value);
        }
        if let Some(cookies) = self.options.cookies.cookie_header(self.request.uri(), self.wall) {
            request.add_cookies(cookies);
        }
        // Each request gets its own key: a seeded source's clone repeats it, so the flow's own
        // source moves past what the clone draws for the key.
        let rng = self.rng.clone();
        self.rng.fill(&mut [0; 16]);
        let handshake = ClientHandshake::with_rng(request, self.config.clone(), rng, self.started);
        let mut handshake = match handshake {
            Ok(handshake) => handshake,
            Err(err) => {
                // The request was checked at `new`; what is added here is valid by
                // construction. Reported at the next input all the same.
                self.refused = Some(err);
                return;
            }
        };
        handshake.poll_transmit(&mut self.transmit);
        self.phase = Phase::Upgrade { reader: ResponseReader::new(self.limits()), handshake: Box::new(handshake) };
    }

    /// The server answered the upgrade request.
    fn on_server_answer(&mut self, head: ResponseHead, rest: &[u8]) -> Result<Option<Established>, ConnectError> {
        self.options.cookies.store_response(self.request.uri(), &head.headers, self.wall);
        let status = head.status;
        if status == StatusCode::UNAUTHORIZED {
            let challenges = Challenge::parse_all(head.headers.get_all(WWW_AUTHENTICATE));
            let has_credentials = self.options.credentials.is_some() || self.url_credentials.is_some();
            if has_credentials && self.server_auth.take_up(&challenges) {
                debug!("answering the server's challenge");
                return self.retry_after(&head, &Method::GET, rest, false);
            }
        }
        if status.is_redirection() && self.options.max_redirects.is_some() {
            if let Some(location) = head.headers.get(http::header::LOCATION) {
                return self.follow(status, location);
            }
        }
        let Phase::Upgrade { handshake, .. } = std::mem::replace(&mut self.phase, Phase::Finished) else {
            unreachable!("answers are read in the upgrade phase")
        };
        // The flow is spent, whatever the handshake says: nothing more is sent.
        self.transmit.clear();
        self.retry_queued = false;
        let mut handshake = handshake;
        match handshake.handle_response(head, rest) {
            Ok((connection, response)) => Ok(Some(Established {
                connection,
                response,
                url: self.request.uri().clone(),
                cookies: std::mem::take(&mut self.options.cookies),
            })),
            Err(HandshakeError::UnexpectedStatus { status, headers, body }) => {
                Err(ConnectError::Status { status, headers, body })
            }
            Err(err) => Err(ConnectError::Handshake(err)),
        }
    }

    /// Goes on after a challenge was answered: on the same connection once the body of the
    /// answer is read, if the connection persists; else on a new one.
    fn retry_after(
        &mut self,
        head: &ResponseHead,
        method: &Method,
        rest: &[u8],
        proxy: bool,
    ) -> Result<Option<Established>, ConnectError> {
        let framing = head.framing(method).ok().filter(|f| *f != Framing::ReadToClose);
        let Some(framing) = framing.filter(|_| head.persistent()) else {
            self.open_route();
            return Ok(None);
        };
        let mut decoder = BodyDecoder::new(framing, self.config.max_handshake_size as u64);
        let progress = decoder.push(rest, &mut Vec::new());
        self.phase = if proxy { Phase::TunnelBody(decoder) } else { Phase::UpgradeBody(decoder) };
        self.after_body(progress, rest, proxy)
    }

    /// Goes on after a read of a challenge's body (`data`, from its start or from where the
    /// previous read ended): the retry on the same connection once the body ended; on a new
    /// connection if it cannot be read (or is too long to wait for), whichever read shows it,
    /// so that how the answer was split into reads changes nothing.
    ///
    /// Bytes after the body, before the driver took the retry, cannot answer it: the peer
    /// spoke out of turn, and the connect fails (see `step`).
    fn after_body(
        &mut self,
        progress: Result<Progress, Http1Error>,
        data: &[u8],
        proxy: bool,
    ) -> Result<Option<Established>, ConnectError> {
        match progress {
            Ok(Progress::Done(used)) => {
                match proxy {
                    true => self.send_connect(),
                    false => self.send_upgrade(),
                }
                self.retry_queued = true;
                self.go_on(&data[used..])
            }
            Ok(Progress::NeedMore) => Ok(None),
            Err(_) => {
                self.open_route();
                Ok(None)
            }
        }
    }

    /// Reads what came after the proxy's `200` in the same input, as the start of the target's
    /// answer.
    fn go_on(&mut self, rest: &[u8]) -> Result<Option<Established>, ConnectError> {
        match rest.is_empty() {
            true => Ok(None),
            false => self.step(rest),
        }
    }

    /// A redirect: the next request goes to `location`, on a new connection.
    fn follow(&mut self, status: StatusCode, location: &HeaderValue) -> Result<Option<Established>, ConnectError> {
        let max = self.options.max_redirects.unwrap_or(0);
        if self.redirects >= max {
            return Err(ConnectError::Redirect(RedirectError::TooMany(max)));
        }
        let next = redirect::resolve(&self.request, location).map_err(ConnectError::Redirect)?;
        if untunnelable(&self.options, &next) {
            return Err(ConnectError::Redirect(RedirectError::InvalidLocation));
        }
        self.redirects += 1;
        debug!(%status, to = %redirect::describe(next.uri()), "following a redirect");
        let same_origin = redirect::same_origin(&self.request, &next);
        self.request = next;
        if !same_origin {
            // Credentials are for the origin that was asked for; another host, port or
            // scheme gets none of them, nor the application's own cookies and credentials.
            self.options.credentials = None;
            self.url_credentials = Credentials::from_uri(self.request.uri());
            self.request.remove_header(&AUTHORIZATION);
            self.request.remove_header(&COOKIE);
            self.request.remove_header(&PROXY_AUTHORIZATION);
        }
        self.server_auth = Auth::default();
        self.open_route();
        Ok(None)
    }

    /// The first bytes of an error answer's body, as much as came with its head (bounded).
    fn body_start(&self, rest: &[u8]) -> Bytes {
        Bytes::copy_from_slice(&rest[..rest.len().min(self.config.max_handshake_size)])
    }

    fn limits(&self) -> Limits {
        Limits {
            max_head_size: self.config.max_handshake_size,
            max_headers: self.config.max_headers,
            ..Limits::default()
        }
    }
}

/// `host:port`, an IPv6 host in brackets: the target of `CONNECT` and the URI its Digest
/// answer covers.
fn authority(host: &str, port: u16) -> String {
    match host.contains(':') {
        true => format!("[{host}]:{port}"),
        false => format!("{host}:{port}"),
    }
}

/// Whether `request` goes through a proxy and its host cannot be the target of a `CONNECT`:
/// `http::Uri` takes sub-delimiters and percent-encoding in a host name, which
/// [`connect_request`](crate::proxy::connect_request) refuses. Such a target is refused
/// before its route is taken, instead of waiting for the answer to a request never sent.
fn untunnelable(options: &Options, request: &ClientRequest) -> bool {
    let (host, port) = (request.host(), request.port());
    options.proxy.select(host, port, request.is_secure()).is_some()
        && crate::proxy::connect_request(host, port, None).is_err()
}

/// A server's answer that is not HTTP, or over the limits.
fn response_error(err: Http1Error) -> ConnectError {
    match err {
        Http1Error::HeadTooLarge => ConnectError::Handshake(HandshakeError::ResponseTooLarge),
        _ => ConnectError::Handshake(HandshakeError::InvalidResponse("malformed HTTP response")),
    }
}
