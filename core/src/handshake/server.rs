//! The server side: read the upgrade request, then accept or reject it.

use super::{accept_key, limits, HandshakeError, VERSION};
use crate::deflate::{server_negotiate, PERMESSAGE_DEFLATE};
use crate::extensions::{parse_extensions, write_extension, Extension};
use crate::http1::{
    has_token, is_token, list_elements, push_header, push_headers, request_framing, single_value, write_response,
    Framing, Http1Error, RequestHead, RequestReader,
};
use crate::{Config, Connection, Rng, Role};
use base64::Engine as _;
use http::header::{
    CONNECTION, COOKIE, HOST, ORIGIN, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, SET_COOKIE, UPGRADE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Version};
use std::time::Instant;
use tracing::debug;

/// Reads a client's opening handshake (RFC 6455 section 4.2.1).
///
/// Feed it the bytes read from the socket until it yields an [`IncomingRequest`] or an error.
/// On [`HandshakeError::Rejected`], write [`HandshakeError::response_bytes`] and close.
///
/// ```
/// use laputa_core::handshake::{Accept, ServerHandshake};
/// use laputa_core::Config;
/// use std::time::Instant;
///
/// let mut handshake = ServerHandshake::new(Config::default(), Instant::now());
/// let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n";
/// let incoming = handshake.handle_input(request)?.expect("the head is complete");
/// assert_eq!(incoming.path(), "/chat");
/// assert_eq!(incoming.query(), Some("room=1"));
/// let connection = incoming.accept(Accept::new().protocol("chat"))?;
/// # let _ = connection;
/// # Ok::<(), laputa_core::handshake::HandshakeError>(())
/// ```
#[derive(Debug)]
pub struct ServerHandshake {
    config: Config,
    deadline: Option<Instant>,
    /// `None` once the handshake produced a request or an error.
    reader: Option<RequestReader>,
}

impl ServerHandshake {
    /// Starts waiting for a request; the deadline is `now` plus
    /// [`Config::handshake_timeout`].
    ///
    /// ```
    /// use laputa_core::handshake::ServerHandshake;
    /// use laputa_core::Config;
    /// use std::time::{Duration, Instant};
    ///
    /// let mut config = Config::default();
    /// config.handshake_timeout = Duration::from_secs(3);
    /// let now = Instant::now();
    /// let handshake = ServerHandshake::new(config, now);
    /// assert_eq!(handshake.poll_timeout(), Some(now + Duration::from_secs(3)));
    /// ```
    pub fn new(config: Config, now: Instant) -> Self {
        Self {
            deadline: now.checked_add(config.handshake_timeout),
            reader: Some(RequestReader::new(limits(&config))),
            config,
        }
    }

    /// Feeds bytes received from the client.
    ///
    /// `Ok(None)`: the head is not complete yet. `Ok(Some(_))`: the request is a valid upgrade;
    /// any bytes after its head are kept for the connection. `Err(Rejected { .. })`: answer with
    /// [`HandshakeError::response_bytes`]. After `Some` or an error the handshake is spent and
    /// further calls return [`HandshakeError::Finished`].
    ///
    /// ```
    /// use laputa_core::handshake::ServerHandshake;
    /// use laputa_core::http::StatusCode;
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let mut handshake = ServerHandshake::new(Config::default(), Instant::now());
    /// // The head may arrive in pieces.
    /// assert!(handshake.handle_input(b"GET /chat HTTP/1.1\r\nHost: example.com\r\n")?.is_none());
    /// let rest = b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    ///     Sec-WebSocket-Version: 13\r\n\r\n";
    /// let incoming = handshake.handle_input(rest)?.expect("the head is complete");
    /// assert_eq!(incoming.path(), "/chat");
    ///
    /// // A request that is not a WebSocket upgrade gets an error response.
    /// let mut handshake = ServerHandshake::new(Config::default(), Instant::now());
    /// let err = handshake.handle_input(b"GET /chat HTTP/1.1\r\nHost: example.com\r\n\r\n").unwrap_err();
    /// assert_eq!(err.http_status(), Some(StatusCode::BAD_REQUEST));
    /// let response = err.response_bytes().expect("a rejection has a response");
    /// assert!(response.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn handle_input(&mut self, data: &[u8]) -> Result<Option<IncomingRequest>, HandshakeError> {
        let mut reader = self.reader.take().ok_or(HandshakeError::Finished)?;
        match reader.push(data) {
            Ok(None) => {
                self.reader = Some(reader);
                Ok(None)
            }
            Ok(Some((head, end))) => IncomingRequest::parse(head, &data[end..], self.config.clone()).map(Some),
            Err(err) => Err(rejection(err)),
        }
        .inspect(|request| {
            if let Some(request) = request {
                debug!(path = request.path(), "upgrade request received");
            }
        })
        .inspect_err(|err| debug!(%err, "upgrade request refused"))
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called; `None` once the
    /// handshake is over (or if the timeout is too large to represent).
    ///
    /// ```
    /// use laputa_core::handshake::ServerHandshake;
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut handshake = ServerHandshake::new(Config::default(), now);
    /// assert_eq!(handshake.poll_timeout(), Some(now + Config::default().handshake_timeout));
    /// # let request = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    /// // Once a whole `request` has arrived there is nothing left to time out.
    /// assert!(handshake.handle_input(request)?.is_some());
    /// assert_eq!(handshake.poll_timeout(), None);
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.reader.as_ref().and(self.deadline)
    }

    /// Tells the handshake the time. Returns [`HandshakeError::Timeout`] (once) if the request
    /// is still incomplete at the deadline; the handshake is then spent.
    ///
    /// ```
    /// use laputa_core::handshake::{HandshakeError, ServerHandshake};
    /// use laputa_core::Config;
    /// use std::time::{Duration, Instant};
    ///
    /// let mut handshake = ServerHandshake::new(Config::default(), Instant::now());
    /// assert!(handshake.handle_input(b"GET /chat HTTP/1.1\r\n")?.is_none());
    /// let deadline = handshake.poll_timeout().expect("a deadline");
    /// assert_eq!(handshake.handle_timeout(deadline - Duration::from_millis(1)), Ok(()));
    /// assert_eq!(handshake.handle_timeout(deadline), Err(HandshakeError::Timeout));
    /// // The handshake is spent: the rest of the request comes too late.
    /// assert_eq!(handshake.handle_input(b"Host: example.com\r\n\r\n").unwrap_err(), HandshakeError::Finished);
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError> {
        match (&self.reader, self.deadline) {
            (Some(_), Some(deadline)) if now >= deadline => {
                debug!("upgrade request timed out: the head did not arrive in time");
                self.reader = None;
                Err(HandshakeError::Timeout)
            }
            _ => Ok(()),
        }
    }
}

/// The status for a head that could not be read.
fn rejection(err: Http1Error) -> HandshakeError {
    match err {
        Http1Error::HeadTooLarge => HandshakeError::rejected(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request head too large or too many headers",
        ),
        Http1Error::UnsupportedVersion => version_not_supported(),
        other => HandshakeError::rejected(other.status(), other.reason()),
    }
}

fn bad_request(reason: &'static str) -> HandshakeError {
    HandshakeError::rejected(StatusCode::BAD_REQUEST, reason)
}

fn version_not_supported() -> HandshakeError {
    HandshakeError::rejected(StatusCode::HTTP_VERSION_NOT_SUPPORTED, "WebSocket needs HTTP/1.1")
}

/// A valid upgrade request, waiting for the application to [`accept`](Self::accept) or
/// [`reject`](Self::reject) it.
///
/// The accessors give what an application usually checks before accepting: path and query,
/// `Origin`, cookies, offered subprotocols and extensions; [`request`](Self::request) has the
/// rest.
///
/// ```
/// use laputa_core::handshake::{Reject, ServerHandshake};
/// use laputa_core::http::StatusCode;
/// use laputa_core::Config;
/// use std::time::Instant;
///
/// let mut handshake = ServerHandshake::new(Config::default(), Instant::now());
/// let request = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
///     Origin: https://evil.example\r\n\r\n";
/// let incoming = handshake.handle_input(request)?.expect("a complete request");
/// // A page of another site opened this WebSocket: refuse it.
/// assert_ne!(incoming.origin(), Some("https://example.com"));
/// let response = incoming.reject(Reject::new(StatusCode::FORBIDDEN));
/// assert!(response.starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
/// # Ok::<(), laputa_core::handshake::HandshakeError>(())
/// ```
#[derive(Debug)]
pub struct IncomingRequest {
    request: Request<()>,
    /// The `Sec-WebSocket-Accept` value answering the client's key.
    accept_value: String,
    /// Bytes received after the head: the start of the WebSocket stream.
    leftover: Vec<u8>,
    config: Config,
}

impl IncomingRequest {
    /// Validates a complete head.
    fn parse(head: RequestHead, leftover: &[u8], config: Config) -> Result<Self, HandshakeError> {
        let request = upgrade_request(head)?;
        let accept_value = validate(request.headers())?;
        Ok(Self { request, accept_value, leftover: leftover.to_vec(), config })
    }

    /// Validates an upgrade request that another HTTP stack (hyper, axum) already parsed, with
    /// the same rules as [`ServerHandshake`]: GET, HTTP/1.1, a path or absolute target, and the
    /// WebSocket headers of RFC 6455 section 4.2.1. Accept it with
    /// [`accept_response`](Self::accept_response), since the other stack writes the 101 itself.
    ///
    /// ```
    /// use laputa_core::handshake::{Accept, IncomingRequest};
    /// use laputa_core::Config;
    ///
    /// let request = laputa_core::http::Request::get("/chat")
    ///     .header("Host", "example.com")
    ///     .header("Upgrade", "websocket")
    ///     .header("Connection", "Upgrade")
    ///     .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
    ///     .header("Sec-WebSocket-Version", "13")
    ///     .body(())
    ///     .unwrap();
    /// let incoming = IncomingRequest::from_request(request, Config::default())?;
    /// let (response, _connection) = incoming.accept_response(Accept::new())?;
    /// assert_eq!(response.status(), 101);
    /// assert_eq!(response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn from_request(request: Request<()>, config: Config) -> Result<Self, HandshakeError> {
        if request.version() != Version::HTTP_11 {
            return Err(version_not_supported());
        }
        if request.method() != Method::GET {
            return Err(HandshakeError::rejected(StatusCode::METHOD_NOT_ALLOWED, "method must be GET"));
        }
        if !request.uri().path().starts_with('/') {
            return Err(bad_request("request target must be a path or an absolute URI"));
        }
        let accept_value = validate(request.headers())?;
        Ok(Self { request, accept_value, leftover: Vec::new(), config })
    }

    /// Accepts the upgrade for another HTTP stack: returns the 101 response for it to send
    /// (with the same headers and checks as [`accept`](Self::accept)) and the server
    /// [`Connection`] to run over the upgraded stream once it has.
    ///
    /// ```
    /// use laputa_core::handshake::Accept;
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Protocol: chat\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// // The client offered `chat`.
    /// let (response, connection) = incoming.accept_response(Accept::new().protocol("chat"))?;
    /// assert_eq!(response.status(), 101);
    /// assert_eq!(response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /// assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    /// assert_eq!(connection.pending_transmit(), 0, "the other stack sends the response");
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn accept_response(self, accept: Accept) -> Result<(http::Response<()>, Connection), HandshakeError> {
        self.upgrade(accept, false).map(|(response, connection, _)| (response, connection))
    }

    /// Checks `accept`, builds the 101 (queued in the connection when `queue_head`) and the
    /// connection; gives the request back.
    fn upgrade(self, accept: Accept, queue_head: bool) -> Result<Upgraded, HandshakeError> {
        let deflate = self.negotiate_deflate(&accept);
        let extra = self.answer_headers(&accept, deflate.as_ref().map(|(_, answer)| answer))?;
        let mut response = http::Response::new(());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        let accept_value = HeaderValue::from_str(&self.accept_value).map_err(|_| bad_request("invalid key"))?;
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept_value);
        if let Some(protocol) = &accept.protocol {
            let value =
                HeaderValue::from_str(protocol).map_err(|_| HandshakeError::InvalidAccept("invalid subprotocol"))?;
            headers.insert(SEC_WEBSOCKET_PROTOCOL, value);
        }
        for (name, value) in &extra {
            headers.append(name, value.clone());
        }
        let head = queue_head.then(|| response_head(&self.accept_value, accept.protocol.as_deref(), &extra));
        let params = deflate.map(|(params, _)| params);
        let (mut connection, request) = self.into_connection(accept.protocol.as_deref(), params, accept.config);
        if let Some(head) = head {
            connection.queue_raw(&head);
        }
        Ok((response, connection, request))
    }

    /// The request: method (GET), URI (as sent: path and query, or absolute form), version
    /// (HTTP/1.1) and headers.
    ///
    /// ```
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     User-Agent: laputa-test\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// // The client sent `GET /chat?room=1 HTTP/1.1`.
    /// let request = incoming.request();
    /// assert_eq!(request.method(), "GET");
    /// assert_eq!(request.uri(), "/chat?room=1");
    /// assert_eq!(request.version(), laputa_core::http::Version::HTTP_11);
    /// assert_eq!(request.headers()["user-agent"], "laputa-test");
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn request(&self) -> &Request<()> {
        &self.request
    }

    /// The path of the request target, e.g. `/chat`.
    ///
    /// ```
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET ws://example.com/chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// // The client sent `GET ws://example.com/chat?room=1 HTTP/1.1`.
    /// assert_eq!(incoming.path(), "/chat");
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn path(&self) -> &str {
        self.request.uri().path()
    }

    /// The query of the request target without the `?`, if any.
    ///
    /// ```
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// // The client sent `GET /chat?room=1 HTTP/1.1`.
    /// assert_eq!(incoming.query(), Some("room=1"));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn query(&self) -> Option<&str> {
        self.request.uri().query()
    }

    /// All request headers.
    ///
    /// ```
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     Authorization: Bearer abc\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// // The client sent `Authorization: Bearer abc`.
    /// let token = incoming.headers().get("authorization").and_then(|value| value.to_str().ok());
    /// assert_eq!(token, Some("Bearer abc"));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        self.request.headers()
    }

    /// The `Origin` header (sent by browsers), if present and visible ASCII.
    ///
    /// ```
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     Origin: https://example.com\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// // The client, a page of https://example.com, sent `Origin: https://example.com`.
    /// assert_eq!(incoming.origin(), Some("https://example.com"));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn origin(&self) -> Option<&str> {
        self.headers().get(ORIGIN)?.to_str().ok()
    }

    /// The `(name, value)` pairs of every `Cookie` header (`name=value; name2=value2`), in order.
    /// Values are returned as sent (not unquoted or decoded); pairs without `=` are skipped.
    ///
    /// ```
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     Cookie: session=abc; theme=dark\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// // The client sent `Cookie: session=abc; theme=dark`.
    /// let session = incoming.cookies().find(|(name, _)| *name == "session").map(|(_, value)| value);
    /// assert_eq!(session, Some("abc"));
    /// assert_eq!(incoming.cookies().collect::<Vec<_>>(), [("session", "abc"), ("theme", "dark")]);
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        cookie_pairs(self.headers())
    }

    /// The subprotocols the client offered, across all `Sec-WebSocket-Protocol` headers, in
    /// order of preference, trimmed.
    ///
    /// ```
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Protocol: chat.v2, chat\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// // The client sent `Sec-WebSocket-Protocol: chat.v2, chat`.
    /// assert_eq!(incoming.protocols().collect::<Vec<_>>(), ["chat.v2", "chat"]);
    /// // The first one offered that this server speaks.
    /// let supported = ["chat", "superchat"];
    /// assert_eq!(incoming.protocols().find(|offered| supported.contains(offered)), Some("chat"));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn protocols(&self) -> impl Iterator<Item = &str> {
        // RFC 6455 section 4.1: each is a token; anything else could not be answered.
        list_elements(self.headers(), &SEC_WEBSOCKET_PROTOCOL).filter(|offered| is_token(offered))
    }

    /// The raw values of the `Sec-WebSocket-Extensions` headers, in order (each may hold several
    /// comma-separated offers with parameters). Values that are not visible ASCII are skipped.
    ///
    /// ```
    /// use laputa_core::extensions::parse_extensions;
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// // The client sent `Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo`.
    /// let raw: Vec<&str> = incoming.extension_offers().collect();
    /// assert_eq!(raw, ["permessage-deflate; client_max_window_bits, x-foo"]);
    /// let offers = parse_extensions(raw[0]).expect("valid offers");
    /// let names: Vec<&str> = offers.iter().map(|offer| offer.name.as_str()).collect();
    /// assert_eq!(names, ["permessage-deflate", "x-foo"]);
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn extension_offers(&self) -> impl Iterator<Item = &str> {
        self.headers().get_all(SEC_WEBSOCKET_EXTENSIONS).iter().filter_map(|value| value.to_str().ok())
    }

    /// Bytes that arrived after the request head: the start of the WebSocket stream.
    #[cfg(test)]
    pub(crate) fn leftover(&self) -> &[u8] {
        &self.leftover
    }

    /// Accepts the upgrade: returns a server [`Connection`] with the 101 response already queued
    /// for transmission and the bytes received after the request head already fed to it.
    ///
    /// Fails with [`HandshakeError::InvalidAccept`] if `accept.protocol` is not one of
    /// [`protocols`](Self::protocols) or `accept.headers` sets a header the handshake writes
    /// itself (`Upgrade`, `Connection`, `Sec-WebSocket-Accept`, `Sec-WebSocket-Protocol`).
    ///
    /// ```
    /// use laputa_core::handshake::{Accept, ServerHandshake};
    /// use laputa_core::{Config, Event, Message};
    /// use std::time::Instant;
    ///
    /// let mut handshake = ServerHandshake::new(Config::default(), Instant::now());
    /// let mut input = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ///     .to_vec();
    /// // The client's first frame, a masked text "Hello", came in the same read as its request.
    /// input.extend_from_slice(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    /// let incoming = handshake.handle_input(&input)?.expect("a complete request");
    /// let mut connection = incoming.accept(Accept::new())?;
    /// let mut out = Vec::new();
    /// connection.poll_transmit(Instant::now(), &mut out);
    /// assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    /// assert_eq!(connection.poll_event(), Some(Event::Message(Message::from("Hello"))));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn accept(self, accept: Accept) -> Result<Connection, HandshakeError> {
        let deflate = self.negotiate_deflate(&accept);
        let head = self.response_head(&accept, deflate.as_ref().map(|(_, answer)| answer))?;
        let params = deflate.map(|(params, _)| params);
        let (mut connection, _) = self.into_connection(accept.protocol.as_deref(), params, accept.config);
        connection.queue_raw(&head);
        Ok(connection)
    }

    /// Turns the server's decision into what to write: the one accept flow of every adapter.
    ///
    /// - `Ok(accept)` that [`accept`](Self::accept) takes: [`Answer::Upgrade`], the connection
    ///   with the 101 in its transmit queue.
    /// - `Ok(accept)` that it refuses (a subprotocol the client did not offer, a header the
    ///   handshake sets itself, an unencodable cookie): [`Answer::Refuse`] with a
    ///   `500 Internal Server Error`, since the fault is the server's, and the
    ///   [`HandshakeError::InvalidAccept`] that says why.
    /// - `Err(reject)`: [`Answer::Refuse`] with the rejection's response and
    ///   [`HandshakeError::Rejected`] carrying its status.
    ///
    /// A driver writes a refusal's `response` (within the close timeout), shuts down its write
    /// side, and reports the `error`.
    ///
    /// ```
    /// use laputa_core::handshake::{Accept, Answer, HandshakeError, ServerHandshake};
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let request = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    ///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    /// let incoming = || ServerHandshake::new(Config::default(), Instant::now()).handle_input(request);
    ///
    /// let Answer::Upgrade { mut connection, response, request } = incoming()?.unwrap().answer(Ok(Accept::new())) else {
    ///     panic!()
    /// };
    /// assert_eq!(response.status(), 101);
    /// assert_eq!(request.uri(), "/chat");
    /// let mut out = Vec::new();
    /// connection.poll_transmit(Instant::now(), &mut out);
    /// assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    ///
    /// // The client offered no subprotocol: the server's mistake, answered 500.
    /// let Answer::Refuse { response, error } = incoming()?.unwrap().answer(Ok(Accept::new().protocol("x"))) else {
    ///     panic!()
    /// };
    /// assert!(response.starts_with(b"HTTP/1.1 500 Internal Server Error\r\n"));
    /// assert!(matches!(error, HandshakeError::InvalidAccept(_)));
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn answer(self, decision: Result<Accept, Reject>) -> Answer {
        match decision {
            Ok(accept) => match self.upgrade(accept, true) {
                Ok((response, connection, request)) => Answer::Upgrade { connection, response, request },
                Err(error) => {
                    debug!(%error, "upgrade accepted with an invalid answer: 500");
                    let body = b"the server could not accept the upgrade\n";
                    let response = write_response(StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new(), body);
                    Answer::Refuse { response, error }
                }
            },
            Err(reject) => {
                let status = reject.status();
                let response = self.reject(reject);
                Answer::Refuse { response, error: HandshakeError::rejected(status, "rejected by the application") }
            }
        }
    }

    /// Refuses the upgrade: returns the complete HTTP response to write before closing. The
    /// response has `headers`, `Content-Length` for `body` (any `Content-Length` or
    /// `Transfer-Encoding` in `headers` is replaced) and `Connection: close` unless `headers`
    /// has a `Connection` header. `status` should be an error or redirect status.
    ///
    /// ```
    /// use laputa_core::handshake::Reject;
    /// use laputa_core::http::{header::WWW_AUTHENTICATE, HeaderValue, StatusCode};
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// // No credentials: ask for them instead of upgrading.
    /// assert!(incoming.headers().get("authorization").is_none());
    /// let reject = Reject::new(StatusCode::UNAUTHORIZED)
    ///     .header(WWW_AUTHENTICATE, HeaderValue::from_static("Basic"))
    ///     .body("who?");
    /// let response = incoming.reject(reject);
    /// assert_eq!(
    ///     response,
    ///     b"HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Basic\r\nConnection: close\r\n\
    ///       Content-Length: 4\r\n\r\nwho?"
    /// );
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn reject(self, reject: Reject) -> Vec<u8> {
        debug!(path = self.path(), status = %reject.0.status(), "upgrade refused by the application");
        write_response(reject.0.status(), reject.0.headers(), reject.0.body())
    }

    /// The connection an accepted upgrade opens, given the bytes that came after the request.
    /// The 101 response is the caller's to send or queue first.
    fn into_connection(
        mut self,
        protocol: Option<&str>,
        deflate: Option<crate::DeflateParams>,
        config: Option<Config>,
    ) -> (Connection, Request<()>) {
        debug!(path = self.path(), protocol, deflate = ?deflate, "upgrade accepted");
        let config = config.unwrap_or(self.config);
        let mut connection = match deflate {
            Some(params) => Connection::with_deflate(Role::Server, config, Rng::os(), params),
            None => Connection::new(Role::Server, config),
        };
        if !self.leftover.is_empty() {
            connection.handle_input(&self.leftover);
        }
        (connection, std::mem::take(&mut self.request))
    }

    /// permessage-deflate, when [`Config::deflate`] (of the accept's config, else the
    /// handshake's) enables it, the accept does not decline extensions, and the client offered
    /// something acceptable: the parameters and the answer for `Sec-WebSocket-Extensions`.
    /// Malformed extension headers are ignored (the offer is then simply not taken).
    fn negotiate_deflate(&self, accept: &Accept) -> Option<(crate::DeflateParams, Extension)> {
        if accept.no_extensions {
            return None;
        }
        let config = accept.config.as_ref().unwrap_or(&self.config).deflate.as_ref()?;
        let offers: Vec<Extension> =
            self.extension_offers().filter_map(|value| parse_extensions(value).ok()).flatten().collect();
        server_negotiate(&offers, config)
    }

    /// The 101 response for `accept`, after checking it against the request.
    pub(super) fn response_head(
        &self,
        accept: &Accept,
        deflate: Option<&Extension>,
    ) -> Result<Vec<u8>, HandshakeError> {
        let headers = self.answer_headers(accept, deflate)?;
        Ok(response_head(&self.accept_value, accept.protocol.as_deref(), &headers))
    }

    /// Checks `accept` against the request; the extra headers of the 101 response (the
    /// application's, and the permessage-deflate answer).
    fn answer_headers(&self, accept: &Accept, deflate: Option<&Extension>) -> Result<HeaderMap, HandshakeError> {
        if let Some(protocol) = &accept.protocol {
            // RFC 6455 section 4.2.2: the chosen subprotocol "MUST be derived from the values
            // received from the client in the |Sec-WebSocket-Protocol| header field".
            if !self.protocols().any(|offered| offered == protocol) {
                return Err(HandshakeError::InvalidAccept("subprotocol not offered by the client"));
            }
        }
        if RESERVED.iter().any(|name| accept.headers.contains_key(name)) {
            return Err(HandshakeError::InvalidAccept("header is set by the handshake itself"));
        }
        if accept.headers.get_all(SEC_WEBSOCKET_EXTENSIONS).iter().any(names_deflate) {
            // The client would compress and this connection would not decompress (or the
            // client would see it answered twice): the core alone negotiates it.
            return Err(HandshakeError::InvalidAccept(
                "permessage-deflate is negotiated by the core (Config::deflate)",
            ));
        }
        let mut headers = accept.headers.clone();
        for cookie in &accept.cookies {
            let value = HeaderValue::from_str(&cookie.to_string())
                .map_err(|_| HandshakeError::InvalidAccept("a cookie that is not a header value"))?;
            headers.append(SET_COOKIE, value);
        }
        if let Some(answer) = deflate {
            let value = HeaderValue::from_str(&write_extension(answer))
                .map_err(|_| HandshakeError::InvalidAccept("unencodable extension answer"))?;
            headers.append(SEC_WEBSOCKET_EXTENSIONS, value);
        }
        Ok(headers)
    }
}

/// Whether an extensions header answers with permessage-deflate (an unparsable one is taken to,
/// as the client may read it either way).
fn names_deflate(value: &HeaderValue) -> bool {
    let Ok(value) = value.to_str() else { return true };
    parse_extensions(value).map_or(true, |list| list.iter().any(|e| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE)))
}

/// Headers of the 101 response that [`Accept::headers`] may not set.
const RESERVED: [HeaderName; 4] = [UPGRADE, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_PROTOCOL];

/// The 101 response (RFC 6455 section 4.2.2, step 5).
fn response_head(accept_value: &str, protocol: Option<&str>, headers: &HeaderMap) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    push_header(&mut out, "Upgrade", b"websocket");
    push_header(&mut out, "Connection", b"Upgrade");
    push_header(&mut out, "Sec-WebSocket-Accept", accept_value.as_bytes());
    if let Some(protocol) = protocol {
        push_header(&mut out, "Sec-WebSocket-Protocol", protocol.as_bytes());
    }
    push_headers(&mut out, headers);
    out.extend_from_slice(b"\r\n");
    out
}

/// The request line checks of an upgrade request.
fn upgrade_request(head: RequestHead) -> Result<Request<()>, HandshakeError> {
    // RFC 6455 section 4.1: "The method of the request MUST be GET, and the HTTP version MUST
    // be at least 1.1."
    if head.version != Version::HTTP_11 {
        return Err(version_not_supported());
    }
    if head.method != Method::GET {
        return Err(HandshakeError::rejected(StatusCode::METHOD_NOT_ALLOWED, "method must be GET"));
    }
    // RFC 6455 section 4.1: the Request-URI "MUST match the /resource name/ [...] (a relative
    // URI) or be an absolute http/https URI"; both have a path starting with `/`.
    if !head.target.path().starts_with('/') {
        return Err(bad_request("request target must be a path or an absolute URI"));
    }
    Ok(head.into())
}

/// Checks the WebSocket-specific headers (RFC 6455 section 4.2.1) and returns the
/// `Sec-WebSocket-Accept` value.
fn validate(headers: &HeaderMap) -> Result<String, HandshakeError> {
    // "A |Host| header field containing the server's authority."
    if headers.get_all(HOST).iter().count() != 1 {
        return Err(bad_request("missing or duplicate Host header"));
    }
    // Bytes after the head belong to the WebSocket stream, so a body cannot be delimited.
    if !matches!(request_framing(Version::HTTP_11, headers), Ok(Framing::NoBody | Framing::Length(0))) {
        return Err(bad_request("upgrade request must not have a body"));
    }
    // "An |Upgrade| header field containing the value "websocket", treated as an ASCII
    // case-insensitive value."
    if !has_token(headers, &UPGRADE, "websocket") {
        return Err(bad_request("Upgrade header lacks the websocket token"));
    }
    // "A |Connection| header field that includes the token "Upgrade", treated as an ASCII
    // case-insensitive value."
    if !has_token(headers, &CONNECTION, "upgrade") {
        return Err(bad_request("Connection header lacks the upgrade token"));
    }
    let key = validate_key(headers)?;
    // "A |Sec-WebSocket-Version| header field, with a value of 13."
    if single_value(headers, &SEC_WEBSOCKET_VERSION) != Some(VERSION) {
        return Err(HandshakeError::rejected(StatusCode::UPGRADE_REQUIRED, "Sec-WebSocket-Version must be 13"));
    }
    Ok(accept_key(key.as_bytes()))
}

/// "A |Sec-WebSocket-Key| header field with a base64-encoded value that, when decoded, is 16
/// bytes in length." (RFC 6455 section 4.2.1)
fn validate_key(headers: &HeaderMap) -> Result<&str, HandshakeError> {
    let key = single_value(headers, &SEC_WEBSOCKET_KEY)
        .ok_or_else(|| bad_request("missing or duplicate Sec-WebSocket-Key"))?;
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(decoded) if decoded.len() == 16 => Ok(key),
        _ => Err(bad_request("Sec-WebSocket-Key is not 16 bytes in base64")),
    }
}

/// The `(name, value)` pairs of every `Cookie` header in `headers`, in order, as sent.
pub(crate) fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.trim(), value.trim()))
}

/// An application's refusal of an upgrade request: the HTTP response sent instead of the 101.
///
/// ```
/// use laputa_core::handshake::Reject;
/// use laputa_core::http::{header::WWW_AUTHENTICATE, HeaderValue, StatusCode};
///
/// let reject = Reject::new(StatusCode::UNAUTHORIZED)
///     .header(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"laputa\""))
///     .body("who are you?");
/// assert_eq!(reject.status(), StatusCode::UNAUTHORIZED);
/// ```
#[derive(Debug, Clone)]
pub struct Reject(Box<http::Response<Vec<u8>>>);

impl Reject {
    /// A response with `status` (an error or redirect status) and no body.
    ///
    /// ```
    /// use laputa_core::handshake::Reject;
    /// use laputa_core::http::StatusCode;
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// let response = incoming.reject(Reject::new(StatusCode::FORBIDDEN));
    /// assert_eq!(response, b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn new(status: StatusCode) -> Self {
        let mut response = http::Response::new(Vec::new());
        *response.status_mut() = status;
        Self(Box::new(response))
    }

    /// Adds a header (`WWW-Authenticate`, `Location`, `Set-Cookie`...).
    ///
    /// ```
    /// use laputa_core::handshake::Reject;
    /// use laputa_core::http::{header::LOCATION, HeaderValue, StatusCode};
    ///
    /// let reject = Reject::new(StatusCode::FOUND).header(LOCATION, HeaderValue::from_static("/login"));
    /// assert_eq!(reject.into_response().headers()[LOCATION], "/login");
    /// ```
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers_mut().append(name, value);
        self
    }

    /// Sets the body.
    ///
    /// ```
    /// use laputa_core::handshake::Reject;
    /// use laputa_core::http::StatusCode;
    ///
    /// let reject = Reject::new(StatusCode::SERVICE_UNAVAILABLE).body("try again later");
    /// assert_eq!(reject.into_response().body(), b"try again later");
    /// ```
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        *self.0.body_mut() = body.into();
        self
    }

    /// The status sent.
    ///
    /// ```
    /// use laputa_core::handshake::Reject;
    /// use laputa_core::http::StatusCode;
    ///
    /// let reject = Reject::new(StatusCode::TOO_MANY_REQUESTS);
    /// assert_eq!(reject.status(), StatusCode::TOO_MANY_REQUESTS);
    /// assert!(reject.status().is_client_error());
    /// ```
    pub fn status(&self) -> StatusCode {
        self.0.status()
    }

    /// The response, for an HTTP stack that writes responses itself.
    ///
    /// ```
    /// use laputa_core::handshake::Reject;
    /// use laputa_core::http::{header::WWW_AUTHENTICATE, HeaderValue, StatusCode};
    ///
    /// let response = Reject::new(StatusCode::UNAUTHORIZED)
    ///     .header(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"laputa\""))
    ///     .body("who are you?")
    ///     .into_response();
    /// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    /// assert_eq!(response.headers()[WWW_AUTHENTICATE], "Basic realm=\"laputa\"");
    /// assert_eq!(response.body(), b"who are you?");
    /// ```
    pub fn into_response(self) -> http::Response<Vec<u8>> {
        *self.0
    }
}

impl From<http::Response<Vec<u8>>> for Reject {
    fn from(response: http::Response<Vec<u8>>) -> Self {
        Self(Box::new(response))
    }
}

/// How to accept an upgrade: the chosen subprotocol and extra response headers (for example
/// `Set-Cookie`, or `Sec-WebSocket-Extensions` for an extension the application runs itself:
/// permessage-deflate is the core's, answered from [`Config::deflate`](crate::Config::deflate),
/// and an `Accept` that names it is refused).
///
/// ```
/// use laputa_core::handshake::Accept;
/// use laputa_core::http::{header::SET_COOKIE, HeaderValue};
/// let accept = Accept::new()
///     .protocol("chat")
///     .header(SET_COOKIE, HeaderValue::from_static("session=1"));
/// assert_eq!(accept.protocol.as_deref(), Some("chat"));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Accept {
    /// The subprotocol to answer with; it must be one the client offered.
    pub protocol: Option<String>,
    /// Extra headers of the 101 response.
    pub headers: HeaderMap,
    /// Cookies sent as `Set-Cookie` in the 101 response, after `headers`.
    pub cookies: Vec<cookie::Cookie<'static>>,
    /// The connection's [`Config`] (its limits, timers and permessage-deflate settings), in
    /// place of the one the handshake was read with.
    pub config: Option<Config>,
    /// Declines every extension offer (permessage-deflate included) for this connection.
    pub no_extensions: bool,
}

/// An accepted upgrade: the 101, the connection, the request given back.
type Upgraded = (http::Response<()>, Connection, Request<()>);

/// What to write for a decision on an upgrade request ([`IncomingRequest::answer`]).
#[derive(Debug)]
#[must_use]
// Made once per request and taken apart at once: boxing the connection would cost every
// accepted connection an allocation to save a refusal some stack.
#[allow(clippy::large_enum_variant)]
pub enum Answer {
    /// Accepted.
    Upgrade {
        /// The server connection, the 101 response in its transmit queue and any bytes that
        /// followed the request already fed to it.
        connection: Connection,
        /// The 101 response (its headers name the subprotocol and extensions agreed on).
        response: http::Response<()>,
        /// The request, given back (not copied) for the application's context.
        request: Request<()>,
    },
    /// Refused: write `response` (within the close timeout), shut down the write side, and
    /// report `error`.
    Refuse {
        /// The complete HTTP response: the rejection's, or a 500 for an accept that failed.
        response: Vec<u8>,
        /// Why: [`HandshakeError::Rejected`] with the status of a rejection, or the
        /// [`HandshakeError::InvalidAccept`] of an accept that could not be answered.
        error: HandshakeError,
    },
}

impl Accept {
    /// No subprotocol, no extra headers.
    ///
    /// ```
    /// use laputa_core::handshake::Accept;
    /// use std::time::Instant;
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Protocol: chat\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// // The client offered `chat`; accepting without a subprotocol is allowed too.
    /// let mut connection = incoming.accept(Accept::new())?;
    /// let mut out = Vec::new();
    /// connection.poll_transmit(Instant::now(), &mut out);
    /// assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    /// assert!(!String::from_utf8_lossy(&out).contains("Sec-WebSocket-Protocol"));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses the subprotocol `protocol`.
    ///
    /// ```
    /// use laputa_core::handshake::Accept;
    /// use std::time::Instant;
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// // The client offered `chat, superchat`.
    /// let mut connection = incoming.accept(Accept::new().protocol("superchat"))?;
    /// let mut out = Vec::new();
    /// connection.poll_transmit(Instant::now(), &mut out);
    /// assert!(String::from_utf8_lossy(&out).contains("\r\nSec-WebSocket-Protocol: superchat\r\n"));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = Some(protocol.into());
        self
    }

    /// Adds a response header (repeated names are all sent).
    ///
    /// ```
    /// use laputa_core::handshake::Accept;
    /// use laputa_core::http::{header::SET_COOKIE, HeaderValue};
    /// use std::time::Instant;
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// let accept = Accept::new()
    ///     .header(SET_COOKIE, HeaderValue::from_static("session=1"))
    ///     .header(SET_COOKIE, HeaderValue::from_static("theme=dark"));
    /// let mut connection = incoming.accept(accept)?;
    /// let mut out = Vec::new();
    /// connection.poll_transmit(Instant::now(), &mut out);
    /// assert!(String::from_utf8_lossy(&out).contains("\r\nset-cookie: session=1\r\nset-cookie: theme=dark\r\n"));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets a cookie: a `Set-Cookie` header in the 101 response (RFC 6265 section 4.1). A
    /// cookie whose text is not a valid header value fails the accept
    /// ([`HandshakeError::InvalidAccept`]).
    ///
    /// ```
    /// use laputa_core::handshake::Accept;
    /// use laputa_core::cookies::Cookie;
    /// use std::time::Instant;
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// let session = Cookie::build(("session", "42")).http_only(true).path("/").build();
    /// let mut connection = incoming.accept(Accept::new().cookie(session))?;
    /// let mut out = Vec::new();
    /// connection.poll_transmit(Instant::now(), &mut out);
    /// assert!(String::from_utf8_lossy(&out).contains("\r\nset-cookie: session=42; HttpOnly; Path=/\r\n"));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn cookie(mut self, cookie: cookie::Cookie<'_>) -> Self {
        self.cookies.push(cookie.into_owned());
        self
    }

    /// Runs the connection with `config` rather than the [`Config`] the handshake was read
    /// with: a service's own limits and timers, and its permessage-deflate settings for the
    /// negotiation of this very answer.
    ///
    /// ```
    /// use laputa_core::handshake::Accept;
    /// use laputa_core::Config;
    /// # let now = std::time::Instant::now();
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(Default::default(), now);
    /// # let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// let mut config = Config::default();
    /// config.max_message_size = 4096;
    /// let connection = incoming.accept(Accept::new().config(config))?;
    /// assert_eq!(connection.config().max_message_size, 4096);
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Declines every extension the client offered: no permessage-deflate for this
    /// connection, whatever [`Config::deflate`] says.
    ///
    /// ```
    /// use laputa_core::handshake::Accept;
    /// use laputa_core::{Config, DeflateConfig};
    /// use std::time::Instant;
    /// # let now = std::time::Instant::now();
    /// let mut config = Config::default();
    /// config.deflate = Some(DeflateConfig::default());
    /// # let mut handshake = laputa_core::handshake::ServerHandshake::new(config, now);
    /// # let request = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\
    /// #     \r\n";
    /// # let incoming = handshake.handle_input(request)?.expect("a complete request");
    /// // The client offered permessage-deflate, and `config` enables it.
    /// let mut connection = incoming.accept(Accept::new().no_extensions())?;
    /// let mut out = Vec::new();
    /// connection.poll_transmit(Instant::now(), &mut out);
    /// assert!(!String::from_utf8_lossy(&out).to_ascii_lowercase().contains("sec-websocket-extensions"));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn no_extensions(mut self) -> Self {
        self.no_extensions = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request of RFC 6455 section 1.2.
    const REQUEST: &[u8] = b"GET /chat?room=1 HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    fn server() -> ServerHandshake {
        ServerHandshake::new(Config::default(), Instant::now())
    }

    #[test]
    fn upgrades_accepted_refused_and_rejected_are_logged() {
        let logs = crate::test_log::logs_of(|| {
            let incoming = parse(REQUEST).unwrap().unwrap();
            incoming.accept(Accept::new().protocol("chat")).unwrap();
            let _ = parse(b"POST /chat HTTP/1.1\r\nHost: h\r\n\r\n");
            parse(REQUEST).unwrap().unwrap().reject(Reject::new(StatusCode::FORBIDDEN));
            let mut handshake = server();
            let deadline = handshake.poll_timeout().unwrap();
            let _ = handshake.handle_timeout(deadline);
        });
        assert!(logs.contains("upgrade request received path=\"/chat\""), "{logs}");
        assert!(logs.contains("upgrade accepted path=\"/chat\" protocol=\"chat\" deflate=None"), "{logs}");
        assert!(logs.contains("upgrade request refused err=request rejected (405 Method Not Allowed)"), "{logs}");
        assert!(logs.contains("upgrade refused by the application path=\"/chat\" status=403 Forbidden"), "{logs}");
        assert!(logs.contains("upgrade request timed out"), "{logs}");
        // Only the path: a query often carries credentials (`?token=...`).
        assert!(!logs.contains("room=1"), "{logs}");
    }

    fn parse(request: &[u8]) -> Result<Option<IncomingRequest>, HandshakeError> {
        server().handle_input(request)
    }

    /// The status of rejecting `request`.
    fn status(request: &[u8]) -> StatusCode {
        match parse(request) {
            Err(err) => err.http_status().unwrap(),
            Ok(ok) => panic!("accepted: {ok:?}"),
        }
    }

    /// [`REQUEST`] with the header line starting with `from` replaced by `to` (removed if `to`
    /// is empty).
    fn replace(from: &str, to: &str) -> Vec<u8> {
        let text = std::str::from_utf8(REQUEST).unwrap();
        let out: Vec<&str> = text
            .split("\r\n")
            .filter_map(|line| match line.starts_with(from) {
                true if to.is_empty() => None,
                true => Some(to),
                false => Some(line),
            })
            .collect();
        out.join("\r\n").into_bytes()
    }

    #[test]
    fn parses_rfc_sample_request() {
        let incoming = parse(REQUEST).unwrap().unwrap();
        assert_eq!(incoming.path(), "/chat");
        assert_eq!(incoming.query(), Some("room=1"));
        assert_eq!(incoming.origin(), Some("http://example.com"));
        assert_eq!(incoming.protocols().collect::<Vec<_>>(), ["chat", "superchat"]);
        assert_eq!(incoming.request().method(), Method::GET);
        assert_eq!(incoming.request().version(), Version::HTTP_11);
        assert_eq!(incoming.headers()[HOST], "server.example.com");
        assert_eq!(incoming.accept_value, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert!(incoming.leftover().is_empty());
        assert_eq!(incoming.extension_offers().count(), 0);
    }

    #[test]
    fn byte_by_byte_gives_the_same_request() {
        let mut handshake = server();
        let (last, init) = REQUEST.split_last().unwrap();
        for byte in init {
            assert!(handshake.handle_input(&[*byte]).unwrap().is_none());
        }
        let incoming = handshake.handle_input(&[*last]).unwrap().unwrap();
        let whole = parse(REQUEST).unwrap().unwrap();
        assert_eq!(incoming.request().uri(), whole.request().uri());
        assert_eq!(incoming.headers(), whole.headers());
        assert_eq!(incoming.accept_value, whole.accept_value);
    }

    #[test]
    fn leftover_bytes_are_preserved() {
        let mut handshake = server();
        let (a, b) = REQUEST.split_at(20);
        assert!(handshake.handle_input(a).unwrap().is_none());
        let mut rest = b.to_vec();
        rest.extend_from_slice(b"\x81\x85frame");
        let incoming = handshake.handle_input(&rest).unwrap().unwrap();
        assert_eq!(incoming.leftover(), b"\x81\x85frame");
        assert!(incoming.accept(Accept::new()).is_ok());
    }

    #[test]
    fn spent_after_result() {
        let mut handshake = server();
        assert!(handshake.handle_input(REQUEST).unwrap().is_some());
        assert_eq!(handshake.handle_input(b"x").unwrap_err(), HandshakeError::Finished);
        assert_eq!(handshake.poll_timeout(), None);
        let mut handshake = server();
        assert!(handshake.handle_input(b"POST / HTTP/1.1\r\n\r\n").is_err());
        assert_eq!(handshake.handle_input(REQUEST).unwrap_err(), HandshakeError::Finished);
    }

    #[test]
    fn accessors() {
        let request = b"GET ws://h/p HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
            Connection: upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\
            Sec-WebSocket-Version: 13\r\nCookie: a=1; b = 2 ;junk\r\nCookie: c=x=y\r\n\
            Sec-WebSocket-Protocol: one\r\nSec-WebSocket-Protocol: ,two , three\r\n\
            Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n\
            Sec-WebSocket-Extensions: x-bar\r\n\r\n";
        let incoming = parse(request).unwrap().unwrap();
        assert_eq!(incoming.path(), "/p");
        assert_eq!(incoming.query(), None);
        assert_eq!(incoming.origin(), None);
        let cookies: Vec<_> = incoming.cookies().collect();
        assert_eq!(cookies, [("a", "1"), ("b", "2"), ("c", "x=y")]);
        assert_eq!(incoming.protocols().collect::<Vec<_>>(), ["one", "two", "three"]);
        let offers: Vec<_> = incoming.extension_offers().collect();
        assert_eq!(offers, ["permessage-deflate; client_max_window_bits, x-foo", "x-bar"]);
    }

    #[test]
    fn token_lists_in_request() {
        let request = replace("Connection", "connection: keep-alive, UPGRADE");
        let request = String::from_utf8(request).unwrap().replace("Upgrade: websocket", "Upgrade: h2c,WebSocket");
        assert!(parse(request.as_bytes()).unwrap().is_some());
        assert_eq!(status(&replace("Connection", "Connection: keep-alive")), 400);
        assert_eq!(status(&replace("Connection", "Connection: upgraded")), 400);
    }

    #[test]
    fn rejection_statuses() {
        let post = String::from_utf8(REQUEST.to_vec()).unwrap().replacen("GET", "POST", 1);
        assert_eq!(status(post.as_bytes()), 405);
        let old = String::from_utf8(REQUEST.to_vec()).unwrap().replace("HTTP/1.1", "HTTP/1.0");
        assert_eq!(status(old.as_bytes()), 505);
        let new = String::from_utf8(REQUEST.to_vec()).unwrap().replace("HTTP/1.1", "HTTP/2.0");
        assert_eq!(status(new.as_bytes()), 505);
        assert_eq!(status(&replace("Sec-WebSocket-Key", "")), 400);
        assert_eq!(status(&replace("Sec-WebSocket-Key", "Sec-WebSocket-Key: c2hvcnQ=")), 400);
        assert_eq!(status(&replace("Sec-WebSocket-Key", "Sec-WebSocket-Key: !!")), 400);
        let two_keys = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";
        assert_eq!(status(&replace("Sec-WebSocket-Key", two_keys)), 400);
        assert_eq!(status(&replace("Upgrade", "Upgrade: h2c")), 400);
        assert_eq!(status(&replace("Upgrade", "")), 400);
        assert_eq!(status(&replace("Connection", "")), 400);
        assert_eq!(status(&replace("Host", "")), 400);
        assert_eq!(status(&replace("Host", "Host: a\r\nHost: b")), 400);
        assert_eq!(status(&replace("Origin", "Content-Length: 3")), 400);
        assert_eq!(status(&replace("Origin", "Transfer-Encoding: chunked")), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"), 400);
        assert_eq!(status(b"\x01\x02\r\n\r\n"), 400);
        assert!(parse(&replace("Origin", "Content-Length: 0")).unwrap().is_some());
        assert_eq!(status(&replace("Origin", "Content-Length: 0\r\nContent-Length: 5")), 400, "every value counts");
        let star = String::from_utf8(REQUEST.to_vec()).unwrap().replace("/chat?room=1", "*");
        assert_eq!(status(star.as_bytes()), 400);
        let authority_form = String::from_utf8(REQUEST.to_vec()).unwrap().replace("/chat?room=1", "h:80");
        assert_eq!(status(authority_form.as_bytes()), 400);
    }

    #[test]
    fn unsupported_version_gets_426_with_version_header() {
        let err = parse(&replace("Sec-WebSocket-Version", "Sec-WebSocket-Version: 12")).unwrap_err();
        assert_eq!(err.http_status(), Some(StatusCode::UPGRADE_REQUIRED));
        let response = String::from_utf8(err.response_bytes().unwrap()).unwrap();
        assert!(response.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(response.contains("\r\nsec-websocket-version: 13\r\n"));
        assert!(response.contains("\r\nupgrade: websocket\r\nconnection: Upgrade, close\r\n"), "{response}");
        assert_eq!(response.matches("onnection:").count(), 1, "{response}");
        assert_eq!(status(&replace("Sec-WebSocket-Version", "")), 426);
    }

    #[test]
    fn huge_header_line_rejected_without_buffering_it() {
        let mut handshake = server();
        assert!(handshake.handle_input(b"GET / HTTP/1.1\r\nX: ").unwrap().is_none());
        let chunk = vec![b'a'; 64 << 10];
        let mut fed = 0usize;
        let err = loop {
            assert!(fed < 20 << 20, "never rejected");
            match handshake.handle_input(&chunk) {
                Ok(None) => fed += chunk.len(),
                Ok(Some(_)) => panic!("accepted"),
                Err(err) => break err,
            }
        };
        assert_eq!(err.http_status(), Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
        assert_eq!(fed, 0, "rejected at the first chunk over the limit");
        // Byte-sized chunks are refused as soon as the limit is passed, too.
        let mut handshake = server();
        let limit = Config::default().max_handshake_size;
        for _ in 0..limit {
            assert!(handshake.handle_input(b"a").unwrap().is_none());
        }
        assert_eq!(
            handshake.handle_input(b"a").unwrap_err().http_status(),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
    }

    #[test]
    fn trickled_large_head_costs_linear_time() {
        // Re-scanning the buffer on every byte would cost ~2 * 10^9 comparisons here.
        let config = Config { max_handshake_size: 64 << 10, ..Config::default() };
        let padding = "a".repeat(60 << 10);
        let request = replace("Origin", &format!("X-Padding: {padding}"));
        let mut handshake = ServerHandshake::new(config, Instant::now());
        let (last, init) = request.split_last().unwrap();
        for byte in init {
            assert!(handshake.handle_input(&[*byte]).unwrap().is_none());
        }
        let incoming = handshake.handle_input(&[*last]).unwrap().unwrap();
        assert_eq!(incoming.headers()["x-padding"].len(), 60 << 10);
    }

    #[test]
    fn too_many_headers_get_431() {
        let mut request = REQUEST[..REQUEST.len() - 2].to_vec();
        for i in 0..121 {
            request.extend_from_slice(format!("X-Extra-{i}: v\r\n").as_bytes());
        }
        request.extend_from_slice(b"\r\n");
        // 8 headers of the sample plus 121 extras.
        assert_eq!(status(&request), 431);
        let config = Config { max_headers: 129, ..Config::default() };
        let mut handshake = ServerHandshake::new(config, Instant::now());
        assert!(handshake.handle_input(&request).unwrap().is_some());
    }

    #[test]
    fn timeout() {
        let start = Instant::now();
        let mut handshake = ServerHandshake::new(Config::default(), start);
        let deadline = start + Config::default().handshake_timeout;
        assert_eq!(handshake.poll_timeout(), Some(deadline));
        assert!(handshake.handle_input(&REQUEST[..10]).unwrap().is_none());
        assert_eq!(handshake.handle_timeout(deadline - std::time::Duration::from_millis(1)), Ok(()));
        assert_eq!(handshake.handle_timeout(deadline), Err(HandshakeError::Timeout));
        assert_eq!(handshake.poll_timeout(), None);
        assert_eq!(handshake.handle_timeout(deadline), Ok(()));
        assert_eq!(handshake.handle_input(&REQUEST[10..]).unwrap_err(), HandshakeError::Finished);
    }

    #[test]
    fn response_head_format() {
        let mut headers = HeaderMap::new();
        headers.insert(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_static("permessage-deflate"));
        let head = response_head("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", Some("chat"), &headers);
        assert_eq!(
            std::str::from_utf8(&head).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
             Sec-WebSocket-Protocol: chat\r\n\
             sec-websocket-extensions: permessage-deflate\r\n\r\n"
        );
    }

    #[test]
    fn accept_checks_protocol_and_headers() {
        let incoming = || parse(REQUEST).unwrap().unwrap();
        let head = incoming().response_head(&Accept::new().protocol("superchat"), None).unwrap();
        assert!(head.windows(30).any(|w| w == b"Sec-WebSocket-Protocol: superc"));
        let err = incoming().accept(Accept::new().protocol("Chat")).unwrap_err();
        assert!(matches!(err, HandshakeError::InvalidAccept(_)));
        let accept = Accept::new().header(SEC_WEBSOCKET_ACCEPT, HeaderValue::from_static("x"));
        assert!(matches!(incoming().accept(accept), Err(HandshakeError::InvalidAccept(_))));
        assert!(incoming().accept(Accept::new().protocol("chat")).is_ok());
        // permessage-deflate is the core's to answer: an application header naming it would
        // have the client compress for a connection that does not inflate.
        let extensions = |value| Accept::new().header(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_static(value));
        for claims_deflate in ["permessage-deflate", "x-foo, PerMessage-Deflate; server_no_context_takeover", "x;;"] {
            assert_eq!(
                incoming().accept(extensions(claims_deflate)).map(|_| ()),
                Err(HandshakeError::InvalidAccept("permessage-deflate is negotiated by the core (Config::deflate)")),
                "{claims_deflate}"
            );
        }
        assert!(incoming().accept(extensions("x-foo; bar=1")).is_ok());
        // Offers that are not tokens are not offers: they could not be answered.
        let odd = parse(&replace("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: a b, chat, x/y")).unwrap().unwrap();
        assert_eq!(odd.protocols().collect::<Vec<_>>(), ["chat"]);
        assert!(odd.accept(Accept::new().protocol("a b")).is_err());
    }

    #[test]
    fn reject_builds_response() {
        let incoming = parse(REQUEST).unwrap().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(http::header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
        let mut reject = Reject::new(StatusCode::UNAUTHORIZED).body("who?");
        for (name, value) in &headers {
            reject = reject.header(name.clone(), value.clone());
        }
        let out = incoming.reject(reject);
        assert_eq!(
            out,
            b"HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Basic\r\nConnection: close\r\n\
              Content-Length: 4\r\n\r\nwho?"
        );
    }

    /// An `http::Request` as hyper would hand it over: the RFC sample request.
    fn http_request() -> http::request::Builder {
        Request::get("/chat?room=1")
            .header(HOST, "server.example.com")
            .header(UPGRADE, "websocket")
            .header(CONNECTION, "Upgrade")
            .header(SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
            .header(SEC_WEBSOCKET_PROTOCOL, "chat, superchat")
            .header(SEC_WEBSOCKET_VERSION, "13")
    }

    #[test]
    fn parsed_request_accepted_with_same_headers_as_raw() {
        let incoming = IncomingRequest::from_request(http_request().body(()).unwrap(), Config::default()).unwrap();
        assert_eq!((incoming.path(), incoming.query()), ("/chat", Some("room=1")));
        let accept = Accept::new().protocol("chat").header(http::header::SET_COOKIE, HeaderValue::from_static("a=1"));
        let raw = String::from_utf8(incoming.response_head(&accept, None).unwrap()).unwrap();
        let (response, connection) = incoming.accept_response(accept).unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(connection.pending_transmit(), 0, "the other stack writes the 101");
        assert_eq!(connection.role(), Role::Server);
        for (name, value) in response.headers() {
            let line = format!("{}: {}\r\n", name, value.to_str().unwrap()).to_ascii_lowercase();
            assert!(raw.to_ascii_lowercase().contains(&line), "{line:?} missing from {raw:?}");
        }
        assert_eq!(response.headers().len(), raw.lines().count() - 2);
    }

    #[test]
    fn parsed_request_rejections() {
        let status = |request: Request<()>| match IncomingRequest::from_request(request, Config::default()) {
            Err(err) => err.http_status().unwrap(),
            Ok(ok) => panic!("accepted: {ok:?}"),
        };
        assert_eq!(status(http_request().method(Method::POST).body(()).unwrap()), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            status(http_request().version(Version::HTTP_10).body(()).unwrap()),
            StatusCode::HTTP_VERSION_NOT_SUPPORTED
        );
        assert_eq!(
            status(http_request().version(Version::HTTP_2).body(()).unwrap()),
            StatusCode::HTTP_VERSION_NOT_SUPPORTED
        );
        assert_eq!(status(http_request().uri("*").body(()).unwrap()), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(http_request().header(SEC_WEBSOCKET_VERSION, "8").body(()).unwrap()),
            StatusCode::UPGRADE_REQUIRED
        );
        let mut no_key = http_request().body(()).unwrap();
        no_key.headers_mut().remove(SEC_WEBSOCKET_KEY);
        assert_eq!(status(no_key), StatusCode::BAD_REQUEST);
        let incoming = IncomingRequest::from_request(http_request().body(()).unwrap(), Config::default()).unwrap();
        assert!(matches!(
            incoming.accept_response(Accept::new().protocol("other")),
            Err(HandshakeError::InvalidAccept(_))
        ));
    }
}
