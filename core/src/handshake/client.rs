//! The client side: send the upgrade request, then check the server's answer.

use super::{accept_key, limits, HandshakeError, VERSION};
use crate::http1::{
    has_token, is_token, list_elements, push_header, push_headers, single_value, trim_ows, Http1Error, ResponseHead,
    ResponseReader,
};
use crate::{Config, Connection, Rng, Role};
use base64::Engine as _;
use bytes::Bytes;
use http::header::{
    CONNECTION, HOST, ORIGIN, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, Uri, Version};
use std::time::Instant;
use tracing::debug;

/// What to connect to and what to offer: the builder of a client's upgrade request.
///
/// ```
/// use laputa_core::handshake::ClientRequest;
/// let request = ClientRequest::new("wss://example.com/chat?room=1")?
///     .origin("https://example.com")
///     .protocol("chat")
///     .extension_offer("permessage-deflate; client_max_window_bits");
/// assert_eq!((request.host(), request.port(), request.is_secure()), ("example.com", 443, true));
/// # Ok::<(), laputa_core::handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientRequest {
    uri: Uri,
    /// The host without IPv6 brackets.
    host: String,
    port: u16,
    secure: bool,
    origin: Option<HeaderValue>,
    protocols: Vec<String>,
    extensions: Vec<HeaderValue>,
    headers: HeaderMap,
    /// The first invalid builder input, reported by [`ClientHandshake::new`].
    error: Option<&'static str>,
}

impl ClientRequest {
    /// Parses a `ws://` or `wss://` URL (`http://` and `https://` are taken as synonyms).
    ///
    /// The host is required; the port defaults to 80 (or 443 when secure); the path defaults to
    /// `/`. RFC 6455 section 3: "Fragment identifiers are meaningless in the context of
    /// WebSocket URIs and MUST NOT be used on these URIs", so a URL with `#` is refused.
    ///
    /// ```
    /// use laputa_core::handshake::{ClientRequest, HandshakeError};
    ///
    /// let request = ClientRequest::new("ws://example.com/chat")?;
    /// assert_eq!((request.host(), request.port(), request.uri().path()), ("example.com", 80, "/chat"));
    /// let err = ClientRequest::new("ws://example.com/chat#top").unwrap_err();
    /// assert!(matches!(err, HandshakeError::InvalidUrl(_)));
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn new(url: &str) -> Result<Self, HandshakeError> {
        let invalid = |why: &str| HandshakeError::InvalidUrl(format!("{why}: {url}"));
        if url.contains('#') {
            return Err(invalid("fragment not allowed"));
        }
        let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        let secure = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("ws" | "http") => false,
            Some("wss" | "https") => true,
            _ => return Err(invalid("scheme must be ws or wss")),
        };
        let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = match port_text(authority.as_str()) {
            None | Some("") => default_port(secure),
            Some(text) => text.parse().map_err(|_| invalid("invalid port"))?,
        };
        Ok(Self {
            host: host.to_owned(),
            port,
            secure,
            uri,
            origin: None,
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: HeaderMap::new(),
            error: None,
        })
    }

    /// Sets the `Origin` header.
    ///
    /// ```
    /// use laputa_core::handshake::{ClientHandshake, ClientRequest, HandshakeError};
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let request = ClientRequest::new("ws://example.com/chat")?.origin("https://example.com");
    /// let mut handshake = ClientHandshake::new(request, Config::default(), Instant::now())?;
    /// let mut out = Vec::new();
    /// handshake.poll_transmit(&mut out);
    /// assert!(String::from_utf8_lossy(&out).contains("\r\nOrigin: https://example.com\r\n"));
    ///
    /// // A value that cannot be sent is reported when the handshake starts.
    /// let request = ClientRequest::new("ws://example.com/chat")?.origin("https://example.com\r\nX-Evil: 1");
    /// let err = ClientHandshake::new(request, Config::default(), Instant::now()).unwrap_err();
    /// assert!(matches!(err, HandshakeError::InvalidRequest(_)));
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        match HeaderValue::try_from(origin.into()) {
            Ok(value) => self.origin = Some(value),
            Err(_) => self.fail("Origin has characters not allowed in a header"),
        }
        self
    }

    /// Offers a subprotocol; call several times to offer several, most preferred first.
    ///
    /// ```
    /// use laputa_core::handshake::{ClientHandshake, ClientRequest, HandshakeError};
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let request = ClientRequest::new("ws://example.com/chat")?.protocol("chat.v2").protocol("chat");
    /// let mut handshake = ClientHandshake::new(request, Config::default(), Instant::now())?;
    /// let mut out = Vec::new();
    /// handshake.poll_transmit(&mut out);
    /// assert!(String::from_utf8_lossy(&out).contains("\r\nSec-WebSocket-Protocol: chat.v2, chat\r\n"));
    ///
    /// // Offering one twice is reported when the handshake starts.
    /// let request = ClientRequest::new("ws://example.com/chat")?.protocol("chat").protocol("chat");
    /// let err = ClientHandshake::new(request, Config::default(), Instant::now()).unwrap_err();
    /// assert_eq!(err, HandshakeError::InvalidRequest("subprotocol offered twice"));
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        let protocol = protocol.into();
        // RFC 6455 section 4.1: the elements "MUST be non-empty strings with characters in the
        // range U+0021 to U+007E not including separator characters [...] and MUST all be
        // unique strings."
        if !is_token(&protocol) {
            self.fail("subprotocol is not a token");
        } else if self.protocols.contains(&protocol) {
            self.fail("subprotocol offered twice");
        } else {
            self.protocols.push(protocol);
        }
        self
    }

    /// Offers an extension: a raw `Sec-WebSocket-Extensions` element such as
    /// `permessage-deflate; client_max_window_bits`.
    ///
    /// ```
    /// use laputa_core::handshake::{ClientHandshake, ClientRequest};
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let request = ClientRequest::new("ws://example.com/chat")?
    ///     .extension_offer("x-foo; level=2")
    ///     .extension_offer("x-bar");
    /// let mut handshake = ClientHandshake::new(request, Config::default(), Instant::now())?;
    /// let mut out = Vec::new();
    /// handshake.poll_transmit(&mut out);
    /// assert!(String::from_utf8_lossy(&out).contains("\r\nSec-WebSocket-Extensions: x-foo; level=2, x-bar\r\n"));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn extension_offer(mut self, value: impl Into<String>) -> Self {
        match HeaderValue::try_from(value.into()) {
            Ok(value) if names_an_extension(&value) => self.extensions.push(value),
            _ => self.fail("extension offer is not a valid header value"),
        }
        self
    }

    /// Adds a header (for example `Authorization`, `Cookie` or `User-Agent`). Headers the
    /// handshake writes itself (`Host`, `Upgrade`, `Connection`, `Origin` and the
    /// `Sec-WebSocket-*` ones) are refused: use the dedicated methods.
    ///
    /// ```
    /// use laputa_core::handshake::{ClientHandshake, ClientRequest, HandshakeError};
    /// use laputa_core::http::{header, HeaderValue};
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let request = ClientRequest::new("ws://example.com/chat")?
    ///     .header(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
    /// let mut handshake = ClientHandshake::new(request, Config::default(), Instant::now())?;
    /// let mut out = Vec::new();
    /// handshake.poll_transmit(&mut out);
    /// assert!(String::from_utf8_lossy(&out).contains("\r\nauthorization: Bearer abc\r\n"));
    ///
    /// // A header the handshake writes itself is refused when the handshake starts.
    /// let request = ClientRequest::new("ws://example.com/chat")?.header(header::HOST, HeaderValue::from_static("h"));
    /// let err = ClientHandshake::new(request, Config::default(), Instant::now()).unwrap_err();
    /// assert_eq!(err, HandshakeError::InvalidRequest("header is set by the handshake itself"));
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        if RESERVED.contains(&name) {
            self.fail("header is set by the handshake itself");
        } else {
            self.headers.append(name, value);
        }
        self
    }

    /// The host to connect to, without brackets for IPv6 addresses.
    ///
    /// ```
    /// use laputa_core::handshake::ClientRequest;
    ///
    /// assert_eq!(ClientRequest::new("wss://example.com/chat")?.host(), "example.com");
    /// // Ready for `TcpStream::connect((request.host(), request.port()))`.
    /// let request = ClientRequest::new("ws://[::1]:9001/chat")?;
    /// assert_eq!((request.host(), request.port()), ("::1", 9001));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to.
    ///
    /// ```
    /// use laputa_core::handshake::ClientRequest;
    ///
    /// assert_eq!(ClientRequest::new("ws://example.com/chat")?.port(), 80);
    /// assert_eq!(ClientRequest::new("wss://example.com/chat")?.port(), 443);
    /// assert_eq!(ClientRequest::new("ws://example.com:9001/chat")?.port(), 9001);
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the URL asks for TLS (`wss://` or `https://`).
    ///
    /// ```
    /// use laputa_core::handshake::ClientRequest;
    ///
    /// // A driver wraps the TCP stream in TLS when this is true.
    /// assert!(ClientRequest::new("wss://example.com/chat")?.is_secure());
    /// assert!(ClientRequest::new("https://example.com/chat")?.is_secure());
    /// assert!(!ClientRequest::new("ws://example.com/chat")?.is_secure());
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The parsed URL.
    ///
    /// ```
    /// use laputa_core::handshake::ClientRequest;
    ///
    /// let request = ClientRequest::new("wss://example.com/chat?room=1")?;
    /// assert_eq!(request.uri().scheme_str(), Some("wss"));
    /// assert_eq!(request.uri().path(), "/chat");
    /// assert_eq!(request.uri().query(), Some("room=1"));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Records the first invalid builder input.
    fn fail(&mut self, why: &'static str) {
        self.error.get_or_insert(why);
    }

    /// The first invalid builder input, as the error [`ClientHandshake::new`] reports.
    pub(crate) fn check(&self) -> Result<(), HandshakeError> {
        self.error.map_or(Ok(()), |why| Err(HandshakeError::InvalidRequest(why)))
    }

    /// The same request for another URL (a redirect's): what the application asked for
    /// (Origin, subprotocols, extension offers, headers) goes along.
    pub(crate) fn redirected(&self, url: &str) -> Result<Self, HandshakeError> {
        let next = Self::new(url)?;
        Ok(Self { uri: next.uri, host: next.host, port: next.port, secure: next.secure, ..self.clone() })
    }

    /// Removes every `name` header the application added.
    pub(crate) fn remove_header(&mut self, name: &HeaderName) {
        self.headers.remove(name);
    }

    /// Sets `name` to `value` alone, in place of what the application added.
    pub(crate) fn replace_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.insert(name, value);
    }

    /// Adds cookies to the one `Cookie` header: RFC 6265 section 5.4, the client "MUST NOT
    /// attach more than one Cookie header field", so the application's and these are joined.
    pub(crate) fn add_cookies(&mut self, cookies: HeaderValue) {
        let mut joined: Vec<u8> = Vec::new();
        for value in self.headers.get_all(http::header::COOKIE) {
            joined.extend_from_slice(value.as_bytes());
            joined.extend_from_slice(b"; ");
        }
        joined.extend_from_slice(cookies.as_bytes());
        // Joined from valid values with "; ", the result is a valid value.
        if let Ok(value) = HeaderValue::from_bytes(&joined) {
            self.headers.insert(http::header::COOKIE, value);
        }
    }

    /// The request target: path (at least `/`) and query.
    pub(crate) fn target(&self) -> String {
        match self.uri.query() {
            Some(query) => format!("{}?{query}", self.uri.path()),
            None => self.uri.path().to_owned(),
        }
    }

    /// The `Host` header: host, in brackets if IPv6, and the port unless it is the default.
    fn host_header(&self) -> String {
        let host = match self.host.contains(':') {
            true => format!("[{}]", self.host),
            false => self.host.clone(),
        };
        match self.port == default_port(self.secure) {
            true => host,
            false => format!("{host}:{}", self.port),
        }
    }

    /// The complete request head with the given base64 key (RFC 6455 section 4.1).
    fn head(&self, key: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(format!("GET {} HTTP/1.1\r\n", self.target()).as_bytes());
        push_header(&mut out, "Host", self.host_header().as_bytes());
        push_header(&mut out, "Upgrade", b"websocket");
        push_header(&mut out, "Connection", b"Upgrade");
        push_header(&mut out, "Sec-WebSocket-Key", key.as_bytes());
        push_header(&mut out, "Sec-WebSocket-Version", VERSION.as_bytes());
        if let Some(origin) = &self.origin {
            push_header(&mut out, "Origin", origin.as_bytes());
        }
        if !self.protocols.is_empty() {
            push_header(&mut out, "Sec-WebSocket-Protocol", self.protocols.join(", ").as_bytes());
        }
        if !self.extensions.is_empty() {
            push_header(&mut out, "Sec-WebSocket-Extensions", &self.joined_extensions());
        }
        push_headers(&mut out, &self.headers);
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The extension offers, comma-separated.
    fn joined_extensions(&self) -> Vec<u8> {
        let offers: Vec<&[u8]> = self.extensions.iter().map(HeaderValue::as_bytes).collect();
        offers.join(&b", "[..])
    }
}

/// 443 for `wss://`, 80 for `ws://` (RFC 6455 section 3).
fn default_port(secure: bool) -> u16 {
    if secure {
        443
    } else {
        80
    }
}

/// Whether an extension offer is visible ASCII and starts with an extension name.
fn names_an_extension(offer: &HeaderValue) -> bool {
    offer.to_str().is_ok_and(|offer| extension_names(offer).next().is_some())
}

/// The text after the `:` that ends an authority, if any (`None` for `[::1]` or `host`).
fn port_text(authority: &str) -> Option<&str> {
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, rest)| rest);
    if host_port.ends_with(']') {
        return None;
    }
    host_port.rsplit_once(':').map(|(_, port)| port)
}

/// Headers of the request that [`ClientRequest::header`] may not set.
const RESERVED: [HeaderName; 8] = [
    HOST,
    UPGRADE,
    CONNECTION,
    ORIGIN,
    SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION,
    SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_EXTENSIONS,
];

/// The names of the extensions in a `Sec-WebSocket-Extensions` value: the part of each
/// comma-separated element before its first `;`.
fn extension_names(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').filter_map(|element| element.split(';').next()).map(trim_ows).filter(|name| !name.is_empty())
}

/// Runs the client's side of the opening handshake (RFC 6455 section 4.1).
///
/// Send the bytes of [`poll_transmit`](Self::poll_transmit), then feed the server's answer to
/// [`handle_input`](Self::handle_input) until it yields the [`Connection`].
///
/// ```
/// use laputa_core::handshake::{accept_key, ClientHandshake, ClientRequest};
/// use laputa_core::Config;
/// use std::time::Instant;
///
/// let request = ClientRequest::new("ws://example.com/chat")?;
/// let mut handshake = ClientHandshake::new(request, Config::default(), Instant::now())?;
/// let mut out = Vec::new();
/// handshake.poll_transmit(&mut out);
/// assert!(out.starts_with(b"GET /chat HTTP/1.1\r\nHost: example.com\r\n"));
///
/// // What a server would answer.
/// let text = String::from_utf8(out).unwrap();
/// let key = text.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).unwrap();
/// let response = format!(
///     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///      Sec-WebSocket-Accept: {}\r\n\r\n",
///     accept_key(key.as_bytes()),
/// );
/// let (connection, response) = handshake.handle_input(response.as_bytes())?.unwrap();
/// assert_eq!(response.status(), 101);
/// # let _ = connection;
/// # Ok::<(), laputa_core::handshake::HandshakeError>(())
/// ```
#[derive(Debug)]
pub struct ClientHandshake {
    /// The request head until [`poll_transmit`](Self::poll_transmit) hands it out.
    transmit: Vec<u8>,
    /// The `Sec-WebSocket-Accept` value the server must send.
    expected_accept: String,
    protocols: Vec<String>,
    extension_names: Vec<String>,
    deadline: Option<Instant>,
    /// `None` once the handshake produced a connection or an error.
    pending: Option<Pending>,
}

/// What the handshake needs until the response is complete.
#[derive(Debug)]
struct Pending {
    reader: ResponseReader,
    config: Config,
    rng: Rng,
}

impl ClientHandshake {
    /// Prepares the request with keys from the operating system's random source; the deadline
    /// is `now` plus [`Config::handshake_timeout`].
    ///
    /// Fails with [`HandshakeError::InvalidRequest`] if a builder method of `request` got an
    /// invalid value.
    ///
    /// ```
    /// use laputa_core::handshake::{ClientHandshake, ClientRequest, HandshakeError};
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let request = ClientRequest::new("ws://example.com/chat")?.protocol("chat");
    /// let handshake = ClientHandshake::new(request, Config::default(), now)?;
    /// assert_eq!(handshake.poll_timeout(), Some(now + Config::default().handshake_timeout));
    ///
    /// // Invalid builder input surfaces here.
    /// let request = ClientRequest::new("ws://example.com/chat")?.protocol("not a token");
    /// let err = ClientHandshake::new(request, Config::default(), now).unwrap_err();
    /// assert_eq!(err, HandshakeError::InvalidRequest("subprotocol is not a token"));
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn new(request: ClientRequest, config: Config, now: Instant) -> Result<Self, HandshakeError> {
        Self::with_rng(request, config, Rng::os(), now)
    }

    /// Same as [`new`](Self::new) with a given random source, which also masks the frames of
    /// the resulting [`Connection`].
    ///
    /// ```
    /// use laputa_core::handshake::{ClientHandshake, ClientRequest, HandshakeError};
    /// use laputa_core::{Config, Rng};
    /// use std::time::Instant;
    ///
    /// // A seeded source makes the request, key included, repeatable in a test.
    /// let request_bytes = |seed| -> Result<Vec<u8>, HandshakeError> {
    ///     let request = ClientRequest::new("ws://example.com/chat")?;
    ///     let rng = Rng::seeded(seed);
    ///     let mut handshake = ClientHandshake::with_rng(request, Config::default(), rng, Instant::now())?;
    ///     let mut out = Vec::new();
    ///     handshake.poll_transmit(&mut out);
    ///     Ok(out)
    /// };
    /// assert_eq!(request_bytes(7)?, request_bytes(7)?);
    /// assert_ne!(request_bytes(7)?, request_bytes(8)?);
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn with_rng(
        mut request: ClientRequest,
        config: Config,
        mut rng: Rng,
        now: Instant,
    ) -> Result<Self, HandshakeError> {
        // permessage-deflate is offered from the configuration, ahead of any raw offers.
        let request = match &config.deflate {
            Some(deflate) => {
                // Offers are in order of preference (RFC 6455 section 9.1).
                let raw = std::mem::take(&mut request.extensions);
                let mut request = request.extension_offer(crate::deflate::client_offer(deflate));
                request.extensions.extend(raw);
                request
            }
            None => request,
        };
        if let Some(why) = request.error {
            return Err(HandshakeError::InvalidRequest(why));
        }
        // RFC 6455 section 4.1: the key "MUST be a nonce consisting of a randomly selected
        // 16-byte value that has been base64-encoded".
        let mut nonce = [0u8; 16];
        rng.fill(&mut nonce);
        let key = base64::engine::general_purpose::STANDARD.encode(nonce);
        let names = request.extensions.iter().filter_map(|v| v.to_str().ok());
        Ok(Self {
            transmit: request.head(&key),
            expected_accept: accept_key(key.as_bytes()),
            extension_names: names.flat_map(extension_names).map(str::to_owned).collect(),
            protocols: request.protocols,
            deadline: now.checked_add(config.handshake_timeout),
            pending: Some(Pending { reader: ResponseReader::new(limits(&config)), config, rng }),
        })
    }

    /// Appends the request to `buf` the first time; does nothing afterwards.
    ///
    /// ```
    /// use laputa_core::handshake::{ClientHandshake, ClientRequest};
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let request = ClientRequest::new("ws://example.com/chat")?;
    /// let mut handshake = ClientHandshake::new(request, Config::default(), Instant::now())?;
    /// let mut out = Vec::new();
    /// handshake.poll_transmit(&mut out);
    /// assert!(out.starts_with(b"GET /chat HTTP/1.1\r\nHost: example.com\r\n"));
    /// assert!(out.ends_with(b"\r\n\r\n"));
    /// // The whole request came out at once: nothing more to send.
    /// let sent = out.len();
    /// handshake.poll_transmit(&mut out);
    /// assert_eq!(out.len(), sent);
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) {
        buf.append(&mut self.transmit);
    }

    /// Feeds bytes received from the server.
    ///
    /// `Ok(None)`: the response head is not complete yet. `Ok(Some(_))`: the server accepted; the
    /// client [`Connection`] has already been fed any bytes that followed the head. A non-101
    /// answer is [`HandshakeError::UnexpectedStatus`]. After `Some` or an error the handshake is
    /// spent and further calls return [`HandshakeError::Finished`].
    ///
    /// ```
    /// use laputa_core::handshake::{ClientHandshake, ClientRequest, HandshakeError};
    /// use laputa_core::{Config, Role};
    /// use std::time::Instant;
    ///
    /// let request = ClientRequest::new("ws://example.com/chat")?;
    /// let mut handshake = ClientHandshake::new(request, Config::default(), Instant::now())?;
    /// # let mut request = Vec::new();
    /// # handshake.poll_transmit(&mut request);
    /// # let mut server = laputa_core::handshake::ServerHandshake::new(Config::default(), Instant::now());
    /// # let incoming = server.handle_input(&request)?.expect("a complete request");
    /// # let mut answer = Vec::new();
    /// # incoming.accept(laputa_core::handshake::Accept::new())?.poll_transmit(Instant::now(), &mut answer);
    /// // `answer` holds the server's 101 response, which may arrive in pieces.
    /// let (start, rest) = answer.split_at(10);
    /// assert!(handshake.handle_input(start)?.is_none(), "the head is not complete");
    /// let (connection, response) = handshake.handle_input(rest)?.expect("the server accepted");
    /// assert_eq!(response.status(), 101);
    /// assert_eq!(connection.role(), Role::Client);
    /// assert_eq!(handshake.handle_input(b"more").unwrap_err(), HandshakeError::Finished);
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn handle_input(&mut self, data: &[u8]) -> Result<Option<(Connection, Response<()>)>, HandshakeError> {
        let mut pending = self.pending.take().ok_or(HandshakeError::Finished)?;
        match pending.reader.push(data) {
            Ok(None) => {
                self.pending = Some(pending);
                Ok(None)
            }
            Ok(Some((head, end))) => self.finish(pending, head, &data[end..]).map(Some),
            Err(err) => Err(response_error(err)),
        }
        .inspect_err(|err| debug!(%err, "upgrade failed"))
    }

    /// Takes the server's answer as a head already read with a
    /// [`ResponseReader`](crate::http1::ResponseReader), and `rest`, the bytes that followed it:
    /// for a driver that reads every response itself (a connect flow, whose proxy and
    /// authentication answers go through the same reader). The result is what
    /// [`handle_input`](Self::handle_input) gives for the whole response; a non-101 answer is
    /// [`HandshakeError::UnexpectedStatus`], whose body the driver can read to its end with
    /// [`ResponseHead::framing`] and a [`BodyDecoder`](crate::http1::BodyDecoder) from the head
    /// it kept a copy of. The handshake is spent afterwards.
    ///
    /// ```
    /// use laputa_core::handshake::{ClientHandshake, ClientRequest};
    /// use laputa_core::http::{Method, StatusCode};
    /// use laputa_core::http1::{BodyDecoder, Framing, Limits, Progress, ResponseReader};
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let request = ClientRequest::new("ws://example.com/chat")?;
    /// let mut handshake = ClientHandshake::new(request, Config::default(), Instant::now())?;
    /// let mut reader = ResponseReader::new(Limits::default());
    /// let answer = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"chat\"\r\n\
    ///     Content-Length: 4\r\n\r\nwho?";
    /// let (head, used) = reader.push(answer)?.expect("a complete head");
    /// let framing = head.framing(&Method::GET)?;
    /// let err = handshake.handle_response(head.clone(), &answer[used..]).unwrap_err();
    /// assert_eq!(err.http_status(), Some(StatusCode::UNAUTHORIZED));
    /// // Read the body to its end: the connection can carry the retry.
    /// let mut body = Vec::new();
    /// let done = BodyDecoder::new(framing, 64 << 10).push(&answer[used..], &mut body)?;
    /// assert_eq!((framing, done, &body[..]), (Framing::Length(4), Progress::Done(4), &b"who?"[..]));
    /// assert!(head.persistent());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_response(
        &mut self,
        head: ResponseHead,
        rest: &[u8],
    ) -> Result<(Connection, Response<()>), HandshakeError> {
        let pending = self.pending.take().ok_or(HandshakeError::Finished)?;
        self.finish(pending, head, rest).inspect_err(|err| debug!(%err, "upgrade failed"))
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called; `None` once the
    /// handshake is over (or if the timeout is too large to represent).
    ///
    /// ```
    /// use laputa_core::handshake::{ClientHandshake, ClientRequest};
    /// use laputa_core::Config;
    /// use std::time::{Duration, Instant};
    ///
    /// let mut config = Config::default();
    /// config.handshake_timeout = Duration::from_secs(5);
    /// let now = Instant::now();
    /// let handshake = ClientHandshake::new(ClientRequest::new("ws://example.com/chat")?, config, now)?;
    /// assert_eq!(handshake.poll_timeout(), Some(now + Duration::from_secs(5)));
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending.as_ref().and(self.deadline)
    }

    /// Tells the handshake the time. Returns [`HandshakeError::Timeout`] (once) if no complete
    /// response arrived by the deadline; the handshake is then spent.
    ///
    /// ```
    /// use laputa_core::handshake::{ClientHandshake, ClientRequest, HandshakeError};
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let request = ClientRequest::new("ws://example.com/chat")?;
    /// let mut handshake = ClientHandshake::new(request, Config::default(), now)?;
    /// let deadline = handshake.poll_timeout().expect("a deadline");
    /// assert_eq!(handshake.handle_timeout(now), Ok(()));
    /// assert_eq!(handshake.handle_timeout(deadline), Err(HandshakeError::Timeout));
    /// // The handshake is spent.
    /// assert_eq!(handshake.poll_timeout(), None);
    /// assert_eq!(handshake.handle_input(b"HTTP/1.1 101").unwrap_err(), HandshakeError::Finished);
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError> {
        match (&self.pending, self.deadline) {
            (Some(_), Some(deadline)) if now >= deadline => {
                debug!("upgrade timed out: no complete response arrived in time");
                self.pending = None;
                Err(HandshakeError::Timeout)
            }
            _ => Ok(()),
        }
    }

    /// Checks the complete response and builds the connection.
    fn finish(
        &self,
        pending: Pending,
        head: ResponseHead,
        rest: &[u8],
    ) -> Result<(Connection, Response<()>), HandshakeError> {
        let response = Response::from(head);
        // RFC 6455 section 4.1: "If the status code received from the server is not 101, the
        // client handles the response per HTTP [RFC2616] procedures."
        if response.status() != StatusCode::SWITCHING_PROTOCOLS {
            let body = &rest[..rest.len().min(pending.config.max_handshake_size)];
            return Err(HandshakeError::UnexpectedStatus {
                status: response.status(),
                headers: Box::new(response.into_parts().0.headers),
                body: Bytes::copy_from_slice(body),
            });
        }
        if response.version() != Version::HTTP_11 {
            return Err(HandshakeError::InvalidResponse("101 response is not HTTP/1.1"));
        }
        self.validate(response.headers())?;
        let deflate = accepted_deflate(response.headers(), pending.config.deflate.as_ref())?;
        let protocol = response.headers().get(SEC_WEBSOCKET_PROTOCOL).and_then(|value| value.to_str().ok());
        debug!(protocol, deflate = ?deflate, "upgrade accepted by the server");
        let mut connection = match deflate {
            Some(params) => Connection::with_deflate(Role::Client, pending.config, pending.rng, params),
            None => Connection::with_rng(Role::Client, pending.config, pending.rng),
        };
        if !rest.is_empty() {
            connection.handle_input(rest);
        }
        Ok((connection, response))
    }

    /// The checks of RFC 6455 section 4.1 on a 101 response; each failure means the client
    /// "MUST _Fail the WebSocket Connection_".
    fn validate(&self, headers: &HeaderMap) -> Result<(), HandshakeError> {
        // "If the response lacks an |Upgrade| header field or the |Upgrade| header field
        // contains a value that is not an ASCII case-insensitive match for the value
        // "websocket" [...]"
        let mut upgrade = list_elements(headers, &UPGRADE);
        let only_websocket = upgrade.next().is_some_and(|first| first.eq_ignore_ascii_case("websocket"));
        if !only_websocket || upgrade.next().is_some() {
            return Err(invalid("Upgrade header is not websocket"));
        }
        // "If the response lacks a |Connection| header field or the |Connection| header field
        // doesn't contain a token that is an ASCII case-insensitive match for the value
        // "Upgrade" [...]"
        if !has_token(headers, &CONNECTION, "upgrade") {
            return Err(invalid("Connection header lacks the upgrade token"));
        }
        // "If the response lacks a |Sec-WebSocket-Accept| header field or the
        // |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of [...]
        // but ignoring any leading and trailing whitespace [...]"
        match single_value(headers, &SEC_WEBSOCKET_ACCEPT) {
            None => return Err(invalid("missing or duplicate Sec-WebSocket-Accept")),
            Some(value) if value != self.expected_accept => return Err(invalid("wrong Sec-WebSocket-Accept")),
            Some(_) => {}
        }
        self.validate_protocol(headers)?;
        self.validate_extensions(headers)
    }

    /// "If the response includes a |Sec-WebSocket-Protocol| header field and this header field
    /// indicates the use of a subprotocol that was not present in the client's handshake [...]"
    fn validate_protocol(&self, headers: &HeaderMap) -> Result<(), HandshakeError> {
        // A value that is not visible ASCII names no subprotocol we offered (all are tokens).
        if headers.get_all(SEC_WEBSOCKET_PROTOCOL).iter().any(|value| value.to_str().is_err()) {
            return Err(invalid("server chose a subprotocol that was not offered"));
        }
        let mut chosen = list_elements(headers, &SEC_WEBSOCKET_PROTOCOL);
        match (chosen.next(), chosen.next()) {
            (None, _) => Ok(()),
            (Some(protocol), None) if self.protocols.iter().any(|p| p == protocol) => Ok(()),
            (Some(_), None) => Err(invalid("server chose a subprotocol that was not offered")),
            (Some(_), Some(_)) => Err(invalid("server chose several subprotocols")),
        }
    }

    /// "If the response includes a |Sec-WebSocket-Extensions| header field and this header
    /// field indicates the use of an extension that was not present in the client's handshake
    /// [...]"
    fn validate_extensions(&self, headers: &HeaderMap) -> Result<(), HandshakeError> {
        let values = headers.get_all(SEC_WEBSOCKET_EXTENSIONS).iter();
        for value in values {
            let value = value.to_str().map_err(|_| invalid("invalid Sec-WebSocket-Extensions"))?;
            let offered = |name: &str| self.extension_names.iter().any(|n| n.eq_ignore_ascii_case(name));
            if !extension_names(value).all(offered) {
                return Err(invalid("server chose an extension that was not offered"));
            }
        }
        Ok(())
    }
}

/// The permessage-deflate parameters the server answered with, checked against what we asked
/// (RFC 7692 section 5: a client MUST fail the connection on an answer it cannot accept).
fn accepted_deflate(
    headers: &HeaderMap,
    config: Option<&crate::DeflateConfig>,
) -> Result<Option<crate::DeflateParams>, HandshakeError> {
    let mut accepted = None;
    for value in headers.get_all(SEC_WEBSOCKET_EXTENSIONS) {
        let value = value.to_str().map_err(|_| invalid("invalid Sec-WebSocket-Extensions"))?;
        let extensions =
            crate::extensions::parse_extensions(value).map_err(|_| invalid("invalid Sec-WebSocket-Extensions"))?;
        for extension in extensions.iter().filter(|e| e.name == crate::deflate::PERMESSAGE_DEFLATE) {
            let defaults = crate::DeflateConfig::default();
            let params = crate::deflate::client_accept(extension, config.unwrap_or(&defaults))
                .map_err(|_| invalid("unacceptable permessage-deflate parameters"))?;
            if accepted.replace(params).is_some() {
                return Err(invalid("permessage-deflate answered twice"));
            }
        }
    }
    Ok(accepted)
}

fn invalid(why: &'static str) -> HandshakeError {
    HandshakeError::InvalidResponse(why)
}

/// The error for a response head that could not be read.
fn response_error(err: Http1Error) -> HandshakeError {
    match err {
        Http1Error::HeadTooLarge => HandshakeError::ResponseTooLarge,
        Http1Error::UnsupportedVersion => invalid("unsupported HTTP version"),
        other => invalid(other.reason()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::{Accept, ServerHandshake};

    fn handshake(request: ClientRequest) -> ClientHandshake {
        ClientHandshake::with_rng(request, Config::default(), Rng::seeded(1), Instant::now()).unwrap()
    }

    #[test]
    fn the_outcome_of_the_upgrade_is_logged() {
        let logs = crate::test_log::logs_of(|| {
            answer("Sec-WebSocket-Protocol: chat\r\n").unwrap().unwrap();
            let mut refused = handshake(ClientRequest::new("ws://h/").unwrap());
            let _ = refused.handle_input(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
            let mut late = handshake(ClientRequest::new("ws://h/").unwrap());
            let deadline = late.poll_timeout().unwrap();
            let _ = late.handle_timeout(deadline);
        });
        assert!(logs.contains("upgrade accepted by the server protocol=\"chat\" deflate=None"), "{logs}");
        assert!(logs.contains("upgrade failed err=") && logs.contains("401"), "{logs}");
        assert!(logs.contains("upgrade timed out"), "{logs}");
    }

    fn transmit(handshake: &mut ClientHandshake) -> String {
        let mut out = Vec::new();
        handshake.poll_transmit(&mut out);
        String::from_utf8(out).unwrap()
    }

    /// The key the seeded client sends.
    fn key(request: &str) -> &str {
        request.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).unwrap()
    }

    /// A 101 response to `request` with extra header lines.
    fn response(request: &str, extra: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
            accept_key(key(request).as_bytes())
        )
    }

    /// Runs a handshake offering `chat` and `superchat` against a server answering `extra`.
    fn answer(extra: &str) -> Result<Option<(Connection, Response<()>)>, HandshakeError> {
        let request = ClientRequest::new("ws://h/").unwrap().protocol("chat").protocol("superchat");
        let mut client = handshake(request);
        let sent = transmit(&mut client);
        client.handle_input(response(&sent, extra).as_bytes())
    }

    fn invalid_response(extra: &str) -> bool {
        matches!(answer(extra), Err(HandshakeError::InvalidResponse(_)))
    }

    #[test]
    fn urls() {
        let r = ClientRequest::new("ws://example.com").unwrap();
        assert_eq!((r.host(), r.port(), r.is_secure()), ("example.com", 80, false));
        assert_eq!((r.target(), r.host_header()), ("/".to_owned(), "example.com".to_owned()));
        let r = ClientRequest::new("wss://example.com:8443/a/b?x=1&y").unwrap();
        assert_eq!((r.host(), r.port(), r.is_secure()), ("example.com", 8443, true));
        assert_eq!(r.target(), "/a/b?x=1&y");
        assert_eq!(r.host_header(), "example.com:8443");
        assert_eq!(r.uri().path(), "/a/b");
        let r = ClientRequest::new("WSS://[::1]:443?q").unwrap();
        assert_eq!((r.host(), r.port(), r.is_secure()), ("::1", 443, true));
        assert_eq!((r.target(), r.host_header()), ("/?q".to_owned(), "[::1]".to_owned()));
        let r = ClientRequest::new("http://[::1]:81/").unwrap();
        assert_eq!(r.host_header(), "[::1]:81");
        let r = ClientRequest::new("ws://user:pw@h:").unwrap();
        assert_eq!((r.host(), r.port(), r.host_header().as_str()), ("h", 80, "h"));
        let r = ClientRequest::new("https://10.0.0.1").unwrap();
        assert_eq!((r.port(), r.host_header().as_str()), (443, "10.0.0.1"));
        for bad in ["ws://h/#frag", "ftp://h/", "/path", "ws://", "ws:///x", "", "ws://h:99999/"] {
            assert!(matches!(ClientRequest::new(bad), Err(HandshakeError::InvalidUrl(_))), "{bad}");
        }
    }

    #[test]
    fn request_bytes() {
        let request = ClientRequest::new("ws://example.com:8080/chat?x=1")
            .unwrap()
            .origin("http://example.com")
            .protocol("chat")
            .protocol("superchat")
            .extension_offer("permessage-deflate; client_max_window_bits")
            .extension_offer("x-foo")
            .header(http::header::USER_AGENT, HeaderValue::from_static("laputa"));
        let mut client = handshake(request);
        let sent = transmit(&mut client);
        let key = key(&sent).to_owned();
        let decoded = base64::engine::general_purpose::STANDARD.decode(&key).unwrap();
        assert_eq!(decoded.len(), 16);
        assert_eq!(
            sent,
            format!(
                "GET /chat?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\
                 Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
                 Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n\
                 user-agent: laputa\r\n\r\n"
            )
        );
        assert_eq!(transmit(&mut client), "", "sent only once");
        // Fresh keys for every handshake.
        let other = transmit(
            &mut ClientHandshake::new(ClientRequest::new("ws://h").unwrap(), Config::default(), Instant::now())
                .unwrap(),
        );
        assert_ne!(self::key(&other), key);
    }

    #[test]
    fn invalid_builder_inputs() {
        let base = || ClientRequest::new("ws://h/").unwrap();
        let cases = [
            base().protocol("a b"),
            base().protocol(""),
            base().protocol("chat").protocol("chat"),
            base().origin("http://x\r\nEvil: 1"),
            base().extension_offer("x\r\n"),
            base().extension_offer(" ; a"),
            base().header(SEC_WEBSOCKET_KEY, HeaderValue::from_static("x")),
            base().header(HOST, HeaderValue::from_static("x")),
        ];
        for request in cases {
            let result = ClientHandshake::new(request, Config::default(), Instant::now());
            assert!(matches!(result, Err(HandshakeError::InvalidRequest(_))));
        }
    }

    #[test]
    fn round_trip_with_server() {
        let request = ClientRequest::new("ws://example.com/chat?room=1")
            .unwrap()
            .origin("http://example.com")
            .protocol("chat")
            .protocol("superchat")
            .extension_offer("x-foo; a=1");
        let mut client = handshake(request);
        let mut sent = Vec::new();
        client.poll_transmit(&mut sent);

        let mut server = ServerHandshake::new(Config::default(), Instant::now());
        let incoming = server.handle_input(&sent).unwrap().unwrap();
        assert_eq!((incoming.path(), incoming.query()), ("/chat", Some("room=1")));
        assert_eq!(incoming.origin(), Some("http://example.com"));
        assert_eq!(incoming.protocols().collect::<Vec<_>>(), ["chat", "superchat"]);
        assert_eq!(incoming.extension_offers().collect::<Vec<_>>(), ["x-foo; a=1"]);

        let accept =
            Accept::new().protocol("superchat").header(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_static("x-foo"));
        let mut head = incoming.response_head(&accept, None).unwrap();
        head.extend_from_slice(b"\x81\x00");
        assert!(incoming.accept(accept).is_ok());

        let (_connection, response) = client.handle_input(&head).unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(response.headers()[SEC_WEBSOCKET_PROTOCOL], "superchat");
        assert_eq!(client.handle_input(b"x").unwrap_err(), HandshakeError::Finished);
        assert_eq!(client.poll_timeout(), None);
    }

    #[test]
    fn response_byte_by_byte() {
        let mut client = handshake(ClientRequest::new("ws://h/").unwrap());
        let sent = transmit(&mut client);
        let response = response(&sent, "");
        let (last, init) = response.as_bytes().split_last().unwrap();
        for byte in init {
            assert!(client.handle_input(&[*byte]).unwrap().is_none());
        }
        let (_, response) = client.handle_input(&[*last]).unwrap().unwrap();
        assert_eq!(response.status(), 101);
    }

    #[test]
    fn accepts_valid_variants() {
        assert!(answer("").unwrap().is_some());
        assert!(answer("Sec-WebSocket-Protocol: superchat\r\n").unwrap().is_some());
        // Token lists, case-insensitive, extra whitespace around the accept value.
        let mut client = handshake(ClientRequest::new("ws://h/").unwrap());
        let sent = transmit(&mut client);
        let text = format!(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n\
             sec-websocket-accept:   {}  \r\n\r\n",
            accept_key(key(&sent).as_bytes())
        );
        assert!(client.handle_input(text.as_bytes()).unwrap().is_some());
    }

    #[test]
    fn rejects_invalid_101() {
        let mut client = handshake(ClientRequest::new("ws://h/").unwrap());
        transmit(&mut client);
        let wrong = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert_eq!(
            client.handle_input(wrong.as_bytes()).unwrap_err(),
            HandshakeError::InvalidResponse("wrong Sec-WebSocket-Accept")
        );
        let mut client = handshake(ClientRequest::new("ws://h/").unwrap());
        let sent = transmit(&mut client);
        let missing_upgrade = response(&sent, "").replace("Upgrade: websocket\r\n", "");
        assert!(matches!(client.handle_input(missing_upgrade.as_bytes()), Err(HandshakeError::InvalidResponse(_))));
        assert!(invalid_response("Sec-WebSocket-Protocol: other\r\n"));
        assert!(invalid_response("Sec-WebSocket-Protocol: Chat\r\n"));
        assert!(invalid_response("Sec-WebSocket-Protocol: chat, superchat\r\n"));
        assert!(invalid_response("Sec-WebSocket-Accept: x\r\n"));
        // RFC 6455 section 4.1: the Upgrade value must be "websocket", nothing beside it.
        assert!(invalid_response("Upgrade: h2c\r\n"));
        assert!(invalid_response("Sec-WebSocket-Extensions: permessage-deflate\r\n"));
    }

    #[test]
    fn protocol_or_extension_when_none_offered() {
        for extra in ["Sec-WebSocket-Protocol: chat\r\n", "Sec-WebSocket-Extensions: x-foo\r\n"] {
            let mut client = handshake(ClientRequest::new("ws://h/").unwrap());
            let sent = transmit(&mut client);
            let result = client.handle_input(response(&sent, extra).as_bytes());
            assert!(matches!(result, Err(HandshakeError::InvalidResponse(_))), "{extra}");
        }
    }

    #[test]
    fn extension_names_must_be_offered() {
        let request = ClientRequest::new("ws://h/")
            .unwrap()
            .extension_offer("permessage-deflate; client_max_window_bits")
            .extension_offer("x-foo");
        let mut client = handshake(request);
        let sent = transmit(&mut client);
        let extra = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover, x-foo\r\n";
        assert!(client.handle_input(response(&sent, extra).as_bytes()).unwrap().is_some());
        let mut client = handshake(ClientRequest::new("ws://h/").unwrap().extension_offer("x-foo"));
        let sent = transmit(&mut client);
        let extra = "Sec-WebSocket-Extensions: x-foo, x-bar\r\n";
        assert!(client.handle_input(response(&sent, extra).as_bytes()).is_err());
    }

    /// The configured permessage-deflate offer is the preferred one: it comes before the
    /// application's own offers.
    #[test]
    fn configured_deflate_is_offered_first() {
        let config = Config { deflate: Some(crate::DeflateConfig::default()), ..Config::default() };
        let request = ClientRequest::new("ws://h/").unwrap().extension_offer("x-foo").extension_offer("x-bar");
        let mut client = ClientHandshake::with_rng(request, config, Rng::seeded(1), Instant::now()).unwrap();
        let sent = transmit(&mut client);
        assert!(
            sent.contains("\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo, x-bar\r\n"),
            "{sent}"
        );
    }

    /// RFC 9110 section 15.2: "A client MUST be able to parse one or more 1xx responses
    /// received prior to a final response, even if the client does not expect one."
    #[test]
    fn early_hints_before_101_in_every_split() {
        let mut client = handshake(ClientRequest::new("ws://h/").unwrap());
        let sent = transmit(&mut client);
        let mut input = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n".to_vec();
        input.extend_from_slice(response(&sent, "").as_bytes());
        input.extend_from_slice(b"\x81\x02hi");
        for split in 0..=input.len() {
            let mut client = handshake(ClientRequest::new("ws://h/").unwrap());
            transmit(&mut client);
            let (a, b) = input.split_at(split);
            let (mut connection, response) = match client.handle_input(a).unwrap() {
                Some(mut done) => {
                    done.0.handle_input(b);
                    done
                }
                None => client.handle_input(b).unwrap().expect("the 101 is complete"),
            };
            assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS, "split at {split}");
            assert!(!response.headers().contains_key(http::header::LINK), "the 103's headers are not the 101's");
            assert_eq!(connection.poll_event(), Some(crate::Event::Message("hi".into())), "split at {split}");
        }
    }

    #[test]
    fn interim_responses_are_bounded_by_max_handshake_size() {
        let config = Config { max_handshake_size: 1024, ..Config::default() };
        let request = ClientRequest::new("ws://h/").unwrap();
        let mut client = ClientHandshake::with_rng(request, config, Rng::seeded(1), Instant::now()).unwrap();
        let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
        let mut fed = 0;
        let err = loop {
            match client.handle_input(interim) {
                Ok(None) => fed += interim.len(),
                Ok(Some(_)) => panic!("upgraded"),
                Err(err) => break err,
            }
        };
        assert_eq!(err, HandshakeError::ResponseTooLarge);
        assert!(fed <= 1024 && fed + interim.len() > 1024, "{fed}");
        // A final answer after interim ones is still an unexpected status, with its body.
        let mut client = handshake(ClientRequest::new("ws://h/").unwrap());
        let err = client.handle_input(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n\r\nbody").unwrap_err();
        assert!(
            matches!(err, HandshakeError::UnexpectedStatus { status, ref body, .. } if status == 404 && body == "body")
        );
    }

    #[test]
    fn response_read_by_the_caller() {
        let mut client = handshake(ClientRequest::new("ws://h/").unwrap().protocol("chat"));
        let sent = transmit(&mut client);
        let mut reader = ResponseReader::new(crate::http1::Limits::default());
        let answer = response(&sent, "Sec-WebSocket-Protocol: chat\r\n");
        let (head, used) = reader.push(answer.as_bytes()).unwrap().unwrap();
        let (_connection, response) = client.handle_response(head.clone(), &answer.as_bytes()[used..]).unwrap();
        assert_eq!(response.headers()[SEC_WEBSOCKET_PROTOCOL], "chat");
        assert_eq!(client.handle_response(head, b"").unwrap_err(), HandshakeError::Finished);
        assert_eq!(client.poll_timeout(), None);
        // A wrong accept value fails as through handle_input.
        let mut client = handshake(ClientRequest::new("ws://h/").unwrap());
        let mut head = crate::http1::ResponseHead::new(StatusCode::SWITCHING_PROTOCOLS);
        head.headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        head.headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        head.headers.insert(SEC_WEBSOCKET_ACCEPT, HeaderValue::from_static("x"));
        assert_eq!(client.handle_response(head, b"").unwrap_err(), invalid("wrong Sec-WebSocket-Accept"));
    }

    #[test]
    fn non_101_keeps_headers_and_body() {
        let mut client = handshake(ClientRequest::new("ws://h/").unwrap());
        transmit(&mut client);
        let answer = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\n\
                       Content-Length: 6\r\n\r\ndenied";
        match client.handle_input(answer).unwrap_err() {
            HandshakeError::UnexpectedStatus { status, headers, body } => {
                assert_eq!(status, StatusCode::UNAUTHORIZED);
                assert_eq!(headers[http::header::WWW_AUTHENTICATE], "Basic realm=\"x\"");
                assert_eq!(body, "denied");
            }
            other => panic!("{other:?}"),
        }
        // Also for HTTP/1.0 answers, such as a proxy's.
        let mut client = handshake(ClientRequest::new("ws://h/").unwrap());
        let err = client.handle_input(b"HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n").unwrap_err();
        assert_eq!(err.http_status(), Some(StatusCode::FOUND));
    }

    #[test]
    fn response_bounds() {
        let mut config = Config { max_handshake_size: 100, ..Config::default() };
        let request = ClientRequest::new("ws://h/").unwrap();
        let mut client = ClientHandshake::with_rng(request, config.clone(), Rng::seeded(1), Instant::now()).unwrap();
        assert!(client.handle_input(&[b'a'; 60]).unwrap().is_none());
        assert_eq!(client.handle_input(&[b'a'; 60]).unwrap_err(), HandshakeError::ResponseTooLarge);
        config.max_headers = 2;
        let request = ClientRequest::new("ws://h/").unwrap();
        let mut client = ClientHandshake::with_rng(request, config, Rng::seeded(1), Instant::now()).unwrap();
        let answer = b"HTTP/1.1 101 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(client.handle_input(answer).unwrap_err(), HandshakeError::ResponseTooLarge);
        let mut client = handshake(ClientRequest::new("ws://h/").unwrap());
        assert!(matches!(client.handle_input(b"garbage\r\n\r\n"), Err(HandshakeError::InvalidResponse(_))));
    }

    #[test]
    fn timeout() {
        let start = Instant::now();
        let request = ClientRequest::new("ws://h/").unwrap();
        let mut client = ClientHandshake::with_rng(request, Config::default(), Rng::seeded(1), start).unwrap();
        let deadline = start + Config::default().handshake_timeout;
        assert_eq!(client.poll_timeout(), Some(deadline));
        assert_eq!(client.handle_timeout(start), Ok(()));
        assert_eq!(client.handle_timeout(deadline), Err(HandshakeError::Timeout));
        assert_eq!(client.poll_timeout(), None);
        assert_eq!(client.handle_input(b"HTTP/1.1").unwrap_err(), HandshakeError::Finished);
    }
}
