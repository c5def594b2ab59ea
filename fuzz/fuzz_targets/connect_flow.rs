//! The connect flow (`laputa_core::connect::ConnectFlow`) run by a simulated driver against a
//! proxy and servers whose answers are arbitrary: a script of reads, EOFs and timeouts.
//!
//! Input: two option bytes, then the script.
//!
//! - Byte 0: bit 0 `wss`; bits 1-2 the proxy (none; a fixed one without credentials; a fixed
//!   one with credentials, twice); bits 3-4 the server's credentials (none; given; given, with
//!   preauth; in the URL, with preauth); bit 5 redirects on; bit 6 an application cookie for the
//!   first host in the jar and a `Cookie` header of the application's; bit 7 the application's
//!   own `Authorization` and `Proxy-Authorization` headers.
//! - Byte 1: bits 0-1 the redirect limit (0 to 3, when on); bits 2-3 the URL (`URLS`); bits
//!   4-5 the limits (default; 1024 bytes of head; 512 bytes and 8 headers; 256 and 8).
//! - The script, events one after another, each a kind byte (its low three bits):
//!   `DATA` (0, 5, 6, 7), two split bytes, then bytes up to `DELIM` (or the end): one read,
//!   every `@A` in it replaced by the `Sec-WebSocket-Accept` that the last upgrade request sent
//!   asks for; `ACCEPT` (1), two split bytes: the harness answers the last upgrade request
//!   itself with `ServerHandshake` (kind bit 3: a `103` first; bit 4: a `Set-Cookie`; bit 5:
//!   a text frame after it); `EOF` (2); `TIMEOUT` (3): `handle_timeout` at the deadline; `TICK`
//!   (4): `handle_timeout` just before it.
//!
//! The simulated driver performs every action at once (`Connect` then `connected`, `StartTls`
//! then `tls_established`), writes what the flow transmits after each event, and records it all
//! (the transcript).
//!
//! Checked, besides no panic:
//! - nothing is queued to transmit while an action is pending (so nothing goes out between
//!   `Connect` and `connected`, or between `StartTls` and `tls_established`), but for one known
//!   case (see `Driver::drive`);
//! - connections, upgrade requests and `CONNECT`s stay within the bound the options allow (one
//!   per redirect, two answers per challenged party: one, and one more after `stale=true`);
//! - what is sent is whole requests: `CONNECT` only to the proxy, before TLS, without the
//!   server's `Authorization` or cookies, and with `Proxy-Authorization` only when the proxy
//!   has credentials; an upgrade request never carries `Proxy-Authorization` nor two `Cookie`
//!   header fields, goes to the host and port the connection (or its tunnel) leads to, with TLS
//!   started for that host whenever the target is secure (the first URL is `wss`, or TLS was
//!   ever started: there is no way back to `ws`);
//! - to another origin (scheme, host or port) than the first URL's, an upgrade request carries
//!   none of the application's credentials (its `Authorization` header, the given credentials
//!   in Basic or in Digest's `username`, nor, unless a `Location` with credentials was read,
//!   any `Authorization` at all) nor its `Cookie` header; to another host, never the cookie
//!   the application put in the jar (unless an answer set a cookie of that name);
//! - an error is one the events can cause (a redirect error only with redirects on, a proxy's
//!   only with a proxy, `UnexpectedEof` only at an EOF, `Timeout` only at the deadline);
//! - `Established` is a `101` for the URL of the last upgrade request (which went over TLS if
//!   that URL is `wss`); after it or an error the flow is spent: input, EOF and timeouts give
//!   `Finished` (or nothing), no action, nothing to transmit, no deadline;
//! - the same script with each read split at its two points (no driver action in between: the
//!   reads come from the same connection) gives the same transcript and outcome. Bytes that
//!   follow, in the same read, an answer that makes the flow drop the connection are ignored
//!   either way; bytes after a proxy's `200` for a `wss` target (which a driver would hand to
//!   TLS) fail the connect either way.
#![no_main]

use laputa_core::auth::{self, Challenge, Credentials};
use laputa_core::connect::{Action, ConnectError, ConnectFlow, Established, Options, RedirectError};
use laputa_core::cookies::{Cookie, Jar};
use laputa_core::handshake::{accept_key, Accept, ClientRequest, ServerHandshake};
use laputa_core::http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, SET_COOKIE};
use laputa_core::http::{HeaderValue, StatusCode};
use laputa_core::http1::Http1Error;
use laputa_core::proxy::{Proxy, ProxyConfig};
use laputa_core::{Config, Event, Rng};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

const SEED: u64 = 0xc0_4e_c7;
/// Ends the bytes of a `DATA` event (0xF5 is never in UTF-8 text).
const DELIM: &[u8] = b"\xF5\xF5";
const ACCEPT: u8 = 1;
const EOF: u8 = 2;
const TIMEOUT: u8 = 3;
const TICK: u8 = 4;

/// The first URL: `{scheme}://{credentials}{rest}`.
const URLS: [&str; 4] = ["example.com/chat", "example.com:8080/a/b?q=1", "[::1]:9001/", "10.0.0.1/x"];
const PROXY: (&str, u16) = ("proxy.test", 3128);
const PROXY_USER: (&str, &str) = ("pxuser", "pxpass");
const USER: (&str, &str) = ("alice", "s3cret");
/// The application's own headers and cookie: none may reach another origin (or host).
const APP_AUTHORIZATION: &str = "Bearer apptoken";
const APP_PROXY_AUTHORIZATION: &str = "Basic YXBwOnByb3h5";
const APP_COOKIE_HEADER: &str = "hdr_secret=1";
const JAR_COOKIE: (&str, &str) = ("app_secret", "1");

/// The time every run starts at, the same for both runs of an input.
fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn wall() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fuzz_target!(|data: &[u8]| {
    let [opts, more, script @ ..] = data else { return };
    let setup = Setup::new(*opts, *more);
    let steps = parse(script);

    // First run: each read whole; the script's answers are made concrete as they come.
    let mut driver = Driver::new(&setup);
    let mut concrete = Vec::new();
    for step in &steps {
        if driver.outcome.is_some() {
            break;
        }
        let event = driver.materialize(step);
        driver.apply(&event, false);
        concrete.push(event);
    }
    let (whole, whole_transcript) = driver.finish();

    // Second run: the same reads, each split at its two points.
    let mut driver = Driver::new(&setup);
    for event in &concrete {
        if driver.outcome.is_some() {
            break;
        }
        driver.apply(event, true);
    }
    let (split, split_transcript) = driver.finish();
    assert_eq!(whole, split, "splitting the reads changed the outcome");
    assert_eq!(whole_transcript, split_transcript, "splitting the reads changed what was sent");
});

/// The options an input chose, and what follows from them.
struct Setup {
    request: ClientRequest,
    options: Options,
    config: Config,
    proxy: bool,
    proxy_credentials: bool,
    server_credentials: bool,
    /// The redirect limit; 0 when redirects are off.
    redirects: usize,
    /// The application's cookie and `Cookie` header are on.
    cookies: bool,
}

impl Setup {
    fn new(opts: u8, more: u8) -> Self {
        let secure = opts & 1 != 0;
        let proxy_mode = (opts >> 1) & 3;
        let credentials_mode = (opts >> 3) & 3;
        let scheme = if secure { "wss" } else { "ws" };
        let userinfo = if credentials_mode == 3 { format!("{}:{}@", USER.0, USER.1) } else { String::new() };
        let url = format!("{scheme}://{userinfo}{}", URLS[usize::from((more >> 2) & 3)]);
        let mut request = ClientRequest::new(&url).expect("the URLs are valid");
        if opts & 0x80 != 0 {
            request = request
                .header(AUTHORIZATION, HeaderValue::from_static(APP_AUTHORIZATION))
                .header(PROXY_AUTHORIZATION, HeaderValue::from_static(APP_PROXY_AUTHORIZATION));
        }
        let cookies = opts & 0x40 != 0;
        let mut options = Options::default();
        if cookies {
            request = request.header(COOKIE, HeaderValue::from_static(APP_COOKIE_HEADER));
            let mut jar = Jar::new();
            assert!(jar.add(request.uri(), Cookie::new(JAR_COOKIE.0, JAR_COOKIE.1), wall()));
            options.cookies = jar;
        }
        if proxy_mode != 0 {
            let mut proxy = Proxy::new(PROXY.0, PROXY.1).expect("a valid proxy");
            if proxy_mode >= 2 {
                proxy = proxy.with_credentials(PROXY_USER.0, PROXY_USER.1);
            }
            options.proxy = ProxyConfig::Fixed(proxy);
        }
        if matches!(credentials_mode, 1 | 2) {
            options.credentials = Some(Credentials::new(USER.0, USER.1));
        }
        options.preauth = credentials_mode >= 2;
        let redirects = usize::from(more & 3);
        if opts & 0x20 != 0 {
            options.max_redirects = Some(redirects);
        }
        let mut config = Config::default();
        match (more >> 4) & 3 {
            0 => {}
            1 => config.max_handshake_size = 1024,
            2 => (config.max_handshake_size, config.max_headers) = (512, 8),
            _ => (config.max_handshake_size, config.max_headers) = (256, 8),
        }
        Self {
            request,
            config,
            proxy: proxy_mode != 0,
            proxy_credentials: proxy_mode >= 2,
            server_credentials: credentials_mode != 0,
            redirects: options.max_redirects.unwrap_or(0),
            cookies,
            options,
        }
    }

    fn flow(&self) -> ConnectFlow {
        let (request, options, config) = (self.request.clone(), self.options.clone(), self.config.clone());
        ConnectFlow::with_rng(request, options, config, Rng::seeded(SEED), start(), wall()).expect("a valid request")
    }

    /// Visits of an origin: the first URL and each redirect.
    fn visits(&self) -> usize {
        1 + self.redirects
    }

    /// Most answers to the server's challenges: two per visit (one, and one more after
    /// `stale=true`) where there are credentials (a redirect's URL may bring some).
    fn server_retries(&self) -> usize {
        2 * usize::from(self.server_credentials) + 2 * self.redirects
    }

    /// Most answers to the proxy's challenges, over the whole flow.
    fn proxy_retries(&self) -> usize {
        2 * usize::from(self.proxy_credentials)
    }

    fn max_connections(&self) -> usize {
        self.visits() + self.server_retries() + self.proxy_retries()
    }
}

/// A step of the script, as the input gives it.
enum Step<'a> {
    Data { bytes: &'a [u8], a: u8, b: u8 },
    Accept { flags: u8, a: u8, b: u8 },
    Eof,
    Timeout,
    Tick,
}

fn parse(mut script: &[u8]) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    while let [kind, rest @ ..] = script {
        script = rest;
        let step = match kind & 7 {
            ACCEPT => {
                let [a, b, rest @ ..] = script else { break };
                script = rest;
                Step::Accept { flags: kind >> 3, a: *a, b: *b }
            }
            EOF => Step::Eof,
            TIMEOUT => Step::Timeout,
            TICK => Step::Tick,
            // DATA: 0, and 5 to 7.
            _ => {
                let [a, b, rest @ ..] = script else { break };
                let end = rest.windows(DELIM.len()).position(|w| w == DELIM).unwrap_or(rest.len());
                script = rest.get(end + DELIM.len()..).unwrap_or_default();
                Step::Data { bytes: &rest[..end], a: *a, b: *b }
            }
        };
        steps.push(step);
    }
    steps
}

/// A step made concrete: the same for both runs.
enum Concrete {
    Input { bytes: Vec<u8>, a: u8, b: u8 },
    Eof,
    Timeout,
    Tick,
}

/// What the driver saw happen, in order.
#[derive(PartialEq)]
enum Entry {
    Connect(String, u16),
    StartTls(String),
    Sent(Vec<u8>),
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(host, port) => write!(f, "Connect({host}:{port})"),
            Self::StartTls(name) => write!(f, "StartTls({name})"),
            Self::Sent(bytes) => write!(f, "Sent({:?})", String::from_utf8_lossy(bytes)),
        }
    }
}

/// How a run ended.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The script ended first.
    Pending,
    /// The status, the final URL, the cookies and the events of the connection from the bytes
    /// that came with the `101`.
    Established { status: StatusCode, url: String, cookies: Vec<(String, String)>, events: Vec<Event> },
    /// The error; for an answer that was not a `101`, only its status and headers (how much of
    /// its body came with the head depends on the reads).
    Failed(String),
    /// Bytes after the proxy's `200`, before TLS.
    BytesBeforeTls,
}

/// The current connection, as the driver knows it.
#[derive(Default)]
struct Conn {
    /// Where it was opened to.
    endpoint: (String, u16),
    /// The server name TLS was started for.
    tls: Option<String>,
    /// The target of the `CONNECT` sent on it, if any.
    tunnel: Option<(String, u16)>,
    /// An upgrade request went out on it.
    upgraded: bool,
}

/// What caused a flow call, for the errors it may give.
#[derive(Clone, Copy, PartialEq)]
enum Cause {
    Input,
    Eof,
    Timeout,
}

struct Driver<'s> {
    setup: &'s Setup,
    flow: ConnectFlow,
    transcript: Vec<Entry>,
    conn: Conn,
    connections: usize,
    tls_starts: usize,
    upgrades: usize,
    connects: usize,
    /// The last upgrade request sent.
    last_upgrade: Option<Vec<u8>>,
    /// Its origin: secure, host, port.
    last_origin: Option<(bool, String, u16)>,
    /// Every byte fed so far.
    fed: Vec<u8>,
    /// An action taken from the flow between the pieces of a read, performed after it.
    stashed: Option<Action>,
    outcome: Option<Outcome>,
}

impl<'s> Driver<'s> {
    fn new(setup: &'s Setup) -> Self {
        let mut driver = Self {
            setup,
            flow: setup.flow(),
            transcript: Vec::new(),
            conn: Conn::default(),
            connections: 0,
            tls_starts: 0,
            upgrades: 0,
            connects: 0,
            last_upgrade: None,
            last_origin: None,
            fed: Vec::new(),
            stashed: None,
            outcome: None,
        };
        assert_eq!(driver.flow.poll_timeout(), start().checked_add(setup.config.handshake_timeout));
        driver.drive();
        driver
    }

    /// Makes a step concrete against what the flow sent so far.
    fn materialize(&self, step: &Step<'_>) -> Concrete {
        match *step {
            Step::Data { bytes, a, b } => {
                let accept = self.expected_accept();
                Concrete::Input { bytes: substitute(bytes, accept.as_deref()), a, b }
            }
            Step::Accept { flags, a, b } => Concrete::Input { bytes: self.accept(flags), a, b },
            Step::Eof => Concrete::Eof,
            Step::Timeout => Concrete::Timeout,
            Step::Tick => Concrete::Tick,
        }
    }

    /// The `Sec-WebSocket-Accept` the last upgrade request asks for.
    fn expected_accept(&self) -> Option<String> {
        let request = String::from_utf8_lossy(self.last_upgrade.as_ref()?).into_owned();
        let key = header_values(&request, "sec-websocket-key").next()?;
        Some(accept_key(key.as_bytes()))
    }

    /// A server's `101` to the last upgrade request (nothing if there is none, or the server
    /// refuses it).
    fn accept(&self, flags: u8) -> Vec<u8> {
        let Some(request) = &self.last_upgrade else { return Vec::new() };
        let mut server = ServerHandshake::new(Config::default(), start());
        let Ok(Some(incoming)) = server.handle_input(request) else { return Vec::new() };
        let mut accept = Accept::new();
        if flags & 2 != 0 {
            accept = accept.header(SET_COOKIE, HeaderValue::from_static("srv=1; Path=/"));
        }
        let Ok(mut connection) = incoming.accept(accept) else { return Vec::new() };
        let mut out = Vec::new();
        if flags & 1 != 0 {
            out.extend_from_slice(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n");
        }
        connection.poll_transmit(start(), &mut out);
        if flags & 4 != 0 {
            out.extend_from_slice(b"\x81\x02hi");
        }
        out
    }

    fn apply(&mut self, event: &Concrete, split: bool) {
        match event {
            Concrete::Input { bytes, a, b } => {
                let pieces = match split {
                    true => split3(bytes, *a, *b),
                    false => vec![&bytes[..]],
                };
                self.feed(&pieces);
            }
            Concrete::Eof => {
                let result = self.flow.handle_eof();
                self.result(result, Cause::Eof);
            }
            Concrete::Timeout => {
                let deadline = self.flow.poll_timeout().expect("a deadline while the flow runs");
                let result = self.flow.handle_timeout(deadline);
                assert_eq!(result, Err(ConnectError::Timeout));
                self.failed(ConnectError::Timeout, Cause::Timeout);
            }
            Concrete::Tick => {
                let deadline = self.flow.poll_timeout().expect("a deadline while the flow runs");
                let before = deadline.checked_sub(Duration::from_millis(1)).unwrap_or(deadline);
                if before < deadline {
                    assert_eq!(self.flow.handle_timeout(before), Ok(()));
                }
                assert_eq!(self.flow.poll_timeout(), Some(deadline), "one deadline throughout");
            }
        }
        if self.outcome.is_none() {
            self.drive();
        }
    }

    /// Feeds the pieces of one read, back to back: no action is performed between them (the
    /// connection they came from is dropped, or handed to TLS, once the flow asks for that).
    fn feed(&mut self, pieces: &[&[u8]]) {
        for (i, piece) in pieces.iter().enumerate() {
            self.fed.extend_from_slice(piece);
            match self.flow.handle_input(piece) {
                Ok(None) => {}
                Ok(Some(established)) => {
                    let later: Vec<u8> = pieces[i + 1..].concat();
                    self.fed.extend_from_slice(&later);
                    self.established(established, &later);
                    return;
                }
                Err(err) => {
                    self.failed(err, Cause::Input);
                    return;
                }
            }
            if self.stashed.is_none() {
                self.stashed = self.flow.poll_action();
            }
            if pieces[i + 1..].iter().all(|p| p.is_empty()) {
                continue;
            }
            match &self.stashed {
                None => {}
                Some(Action::StartTls { .. }) => {
                    // The rest of the read would go to TLS, which fails on it.
                    self.stashed = None;
                    self.outcome = Some(Outcome::BytesBeforeTls);
                    return;
                }
                // The connection is dropped: what else it carried is not read.
                Some(_) => return,
            }
        }
    }

    /// Performs every action the flow asks for and writes what it transmits.
    fn drive(&mut self) {
        loop {
            let action = self.stashed.take().or_else(|| self.flow.poll_action());
            let mut out = Vec::new();
            self.flow.poll_transmit(&mut out);
            let Some(action) = action else {
                self.sent(out);
                return;
            };
            // Nothing may be queued while a connection or TLS is to be set up: a retry's
            // CONNECT queued before a proxy's early 200 once went through the tunnel.
            assert!(out.is_empty(), "{:?} queued while {action:?} is pending", String::from_utf8_lossy(&out));
            match action {
                Action::Connect { host, port } => {
                    self.connections += 1;
                    assert!(
                        self.connections <= self.setup.max_connections(),
                        "{} connections, at most {} expected",
                        self.connections,
                        self.setup.max_connections()
                    );
                    if self.setup.proxy {
                        assert_eq!((host.as_str(), port), PROXY, "a fixed proxy is always used");
                    }
                    self.transcript.push(Entry::Connect(host.clone(), port));
                    self.conn = Conn { endpoint: (host, port), ..Conn::default() };
                    self.flow.connected();
                }
                Action::StartTls { server_name } => {
                    assert!(self.conn.tls.is_none(), "TLS started twice on one connection");
                    assert!(!self.conn.upgraded, "TLS after an upgrade request");
                    assert_eq!(self.setup.proxy, self.conn.tunnel.is_some(), "TLS inside the tunnel, if any");
                    let (host, _) = self.conn.tunnel.as_ref().unwrap_or(&self.conn.endpoint);
                    assert!(server_name.eq_ignore_ascii_case(host), "TLS for {server_name}, connected to {host}");
                    self.tls_starts += 1;
                    self.transcript.push(Entry::StartTls(server_name.clone()));
                    self.conn.tls = Some(server_name);
                    self.flow.tls_established();
                }
                other => panic!("an action the driver does not know: {other:?}"),
            }
        }
    }

    /// Checks and records what the flow transmitted.
    fn sent(&mut self, out: Vec<u8>) {
        if out.is_empty() {
            return;
        }
        let mut rest = &out[..];
        while !rest.is_empty() {
            let end = rest.windows(4).position(|w| w == b"\r\n\r\n").expect("whole requests") + 4;
            let head = String::from_utf8_lossy(&rest[..end]).into_owned();
            if head.starts_with("CONNECT ") {
                self.check_connect(&head);
            } else if head.starts_with("GET ") {
                self.check_upgrade(&head);
                self.last_upgrade = Some(rest[..end].to_vec());
            } else {
                panic!("not a request the flow sends: {head:?}");
            }
            rest = &rest[end..];
        }
        match self.transcript.last_mut() {
            Some(Entry::Sent(sent)) => sent.extend_from_slice(&out),
            _ => self.transcript.push(Entry::Sent(out)),
        }
    }

    fn check_connect(&mut self, head: &str) {
        self.connects += 1;
        assert!(
            self.connects <= self.connections + self.setup.proxy_retries(),
            "{} CONNECTs on {} connections",
            self.connects,
            self.connections
        );
        assert!(self.setup.proxy, "CONNECT without a proxy: {head:?}");
        assert!(self.conn.tls.is_none() && !self.conn.upgraded, "CONNECT inside the tunnel: {head:?}");
        let target = head.split(' ').nth(1).expect("a request line");
        let (host, port) = split_host(target);
        let port = port.expect("CONNECT names the port");
        if let Some(tunnel) = &self.conn.tunnel {
            assert_eq!(tunnel, &(host.clone(), port), "a retry asks for the same tunnel");
        }
        self.conn.tunnel = Some((host, port));
        for name in ["authorization", "cookie"] {
            assert_eq!(header_values(head, name).next(), None, "{name} to the proxy: {head:?}");
        }
        if !self.setup.proxy_credentials {
            assert_eq!(header_values(head, "proxy-authorization").next(), None, "{head:?}");
        }
    }

    fn check_upgrade(&mut self, head: &str) {
        self.upgrades += 1;
        let setup = self.setup;
        assert!(
            self.upgrades <= setup.visits() + setup.server_retries(),
            "{} upgrade requests, at most {} expected",
            self.upgrades,
            setup.visits() + setup.server_retries()
        );
        self.conn.upgraded = true;
        assert_eq!(header_values(head, "proxy-authorization").next(), None, "to the server: {head:?}");
        // RFC 6265 section 5.4: "the user agent MUST NOT attach more than one Cookie header
        // field".
        assert!(header_values(head, "cookie").count() <= 1, "two Cookie header fields: {head:?}");
        // Where it goes: the tunnel's target, or the connection's.
        let host_header = header_values(head, "host").next().expect("a Host header");
        let secure = self.conn.tls.is_some();
        let (host, port) = split_host(host_header);
        let port = port.unwrap_or(if secure { 443 } else { 80 });
        let route = match (&self.conn.tunnel, setup.proxy) {
            (Some(tunnel), true) => tunnel.clone(),
            (None, true) => panic!("an upgrade request to the proxy: {head:?}"),
            (_, false) => self.conn.endpoint.clone(),
        };
        assert!(
            route.0.eq_ignore_ascii_case(&host) && route.1 == port,
            "an upgrade request for {host}:{port} on a connection to {route:?}"
        );
        if let Some(name) = &self.conn.tls {
            assert!(name.eq_ignore_ascii_case(&host), "TLS for {name}, a request for {host}");
        }
        // Once secure, always secure.
        if setup.request.is_secure() || self.tls_starts > 0 {
            assert!(secure, "an upgrade request in the clear after wss: {head:?}");
        }
        // Credentials and cookies stay with their origin.
        let first = &setup.request;
        let same_origin =
            secure == first.is_secure() && host.eq_ignore_ascii_case(first.host()) && port == first.port();
        if !same_origin {
            let location_credentials = self.fed_location_with_userinfo();
            for value in header_values(head, "authorization") {
                assert!(location_credentials, "Authorization to another origin: {head:?}");
                assert!(
                    !is_application_authorization(value),
                    "the application's credentials to another origin: {head:?}"
                );
            }
            if setup.cookies && !self.fed_contains(b"hdr_secret") {
                let cookies: Vec<&str> = header_values(head, "cookie").collect();
                assert!(!cookies.iter().any(|c| c.contains(APP_COOKIE_HEADER)), "the Cookie header to another origin");
            }
        }
        if setup.cookies
            && canonical_host(&host) != canonical_host(first.host())
            && !self.fed_contains(JAR_COOKIE.0.as_bytes())
        {
            let cookies: Vec<&str> = header_values(head, "cookie").collect();
            assert!(!cookies.iter().any(|c| c.contains(JAR_COOKIE.0)), "the jar's cookie to another host: {head:?}");
        }
        self.last_origin = Some((secure, host, port));
    }

    /// Whether a `Location` header line with `@` (credentials in a URL) was read.
    fn fed_location_with_userinfo(&self) -> bool {
        self.fed
            .split(|&b| b == b'\n')
            .any(|line| line.len() >= 9 && line[..9].eq_ignore_ascii_case(b"location:") && line.contains(&b'@'))
    }

    fn fed_contains(&self, needle: &[u8]) -> bool {
        self.fed.windows(needle.len()).any(|w| w == needle)
    }

    fn result(&mut self, result: Result<Option<Established>, ConnectError>, cause: Cause) {
        match result {
            Ok(None) => {}
            Ok(Some(established)) => self.established(established, &[]),
            Err(err) => self.failed(err, cause),
        }
    }

    fn established(&mut self, mut established: Established, later: &[u8]) {
        assert_eq!(established.response.status(), StatusCode::SWITCHING_PROTOCOLS);
        let (secure, host, port) = self.last_origin.clone().expect("an upgrade request was sent");
        let url = ClientRequest::new(&established.url.to_string()).expect("the final URL is valid");
        assert_eq!(url.is_secure(), secure, "a {} URL over {}", established.url, if secure { "TLS" } else { "TCP" });
        assert!(
            url.host().eq_ignore_ascii_case(&host) && url.port() == port,
            "{} is not {host}:{port}",
            established.url
        );
        established.connection.handle_input(later);
        let events = std::iter::from_fn(|| established.connection.poll_event()).collect();
        let cookies = established.cookies.iter().map(|c| (c.name().to_owned(), c.value().to_owned())).collect();
        self.spent();
        self.outcome = Some(Outcome::Established {
            status: established.response.status(),
            url: established.url.to_string(),
            cookies,
            events,
        });
    }

    fn failed(&mut self, err: ConnectError, cause: Cause) {
        let setup = self.setup;
        let outcome = match err {
            ConnectError::Status { status, headers, .. } => {
                assert_ne!(status, StatusCode::SWITCHING_PROTOCOLS);
                Outcome::Failed(format!("server {status} {headers:?}"))
            }
            ConnectError::Proxy { status, headers, .. } => {
                assert!(setup.proxy && !status.is_success());
                Outcome::Failed(format!("proxy {status} {headers:?}"))
            }
            ConnectError::ProxyResponse(Http1Error::InvalidFraming("data after the proxy's 200, before TLS")) => {
                assert!(setup.proxy);
                Outcome::BytesBeforeTls
            }
            ConnectError::ProxyResponse(err) => {
                assert!(setup.proxy);
                Outcome::Failed(format!("proxy {err:?}"))
            }
            ConnectError::Redirect(err) => {
                assert!(setup.options.max_redirects.is_some(), "redirects are off");
                if let RedirectError::TooMany(max) = err {
                    assert_eq!(max, setup.redirects);
                }
                Outcome::Failed(format!("{err:?}"))
            }
            ConnectError::Timeout => {
                assert!(cause == Cause::Timeout, "a timeout before the deadline");
                Outcome::Failed("timeout".into())
            }
            ConnectError::UnexpectedEof => {
                assert!(cause == Cause::Eof, "an EOF without one");
                Outcome::Failed("eof".into())
            }
            ConnectError::Finished => panic!("Finished while the flow ran"),
            other => Outcome::Failed(format!("{other:?}")),
        };
        self.spent();
        self.outcome = Some(outcome);
    }

    /// After its result, the flow does nothing more.
    fn spent(&mut self) {
        assert!(matches!(self.flow.handle_input(b"HTTP/1.1 200 OK\r\n\r\n"), Err(ConnectError::Finished)));
        assert!(matches!(self.flow.handle_eof(), Err(ConnectError::Finished)));
        assert_eq!(self.flow.poll_timeout(), None);
        assert_eq!(self.flow.handle_timeout(start() + Duration::from_secs(1 << 20)), Ok(()));
        assert_eq!(self.flow.poll_action(), None);
        self.stashed = None;
        let mut out = Vec::new();
        self.flow.poll_transmit(&mut out);
        assert!(out.is_empty(), "{:?} to send after the result", String::from_utf8_lossy(&out));
    }

    fn finish(self) -> (Outcome, Vec<Entry>) {
        (self.outcome.unwrap_or(Outcome::Pending), self.transcript)
    }
}

/// Whether an `Authorization` value carries the application's credentials: its own header,
/// or the given user's Basic or Digest answer.
fn is_application_authorization(value: &str) -> bool {
    let basic = auth::basic(&Credentials::new(USER.0, USER.1));
    if value == basic || value == APP_AUTHORIZATION {
        return true;
    }
    let Ok(value) = HeaderValue::from_str(value) else { return false };
    Challenge::parse_credentials(&value).is_some_and(|c| c.param("username") == Some(USER.0))
}

/// The values of header `name` in a request head.
fn header_values<'a>(head: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> {
    head.split("\r\n").skip(1).filter_map(move |line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// `host[:port]` or `[v6][:port]`: the host without brackets, and the port if there is one.
fn split_host(text: &str) -> (String, Option<u16>) {
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']').expect("a closing bracket");
            (host, after.strip_prefix(':'))
        }
        None => match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        },
    };
    (host.to_owned(), port.and_then(|p| p.parse().ok()))
}

/// A host as a cookie jar compares it: lower case, no final dot, an IP address in its
/// canonical form.
fn canonical_host(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => host,
    }
}

/// `bytes` with every `@A` replaced by `accept`.
fn substitute(bytes: &[u8], accept: Option<&str>) -> Vec<u8> {
    let Some(accept) = accept else { return bytes.to_vec() };
    let mut out = Vec::with_capacity(bytes.len() + 32);
    let mut rest = bytes;
    while let Some(i) = rest.windows(2).position(|w| w == b"@A") {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(accept.as_bytes());
        rest = &rest[i + 2..];
    }
    out.extend_from_slice(rest);
    out
}

/// `bytes` in three pieces, at the points `a` and `b` choose.
fn split3(bytes: &[u8], a: u8, b: u8) -> Vec<&[u8]> {
    let a = (usize::from(a) * bytes.len()) / 256;
    let b = a + (usize::from(b) * (bytes.len() - a)) / 256;
    vec![&bytes[..a], &bytes[a..b], &bytes[b..]]
}
