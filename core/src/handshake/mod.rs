//! The opening handshake (RFC 6455 section 4), sans-IO.
//!
//! [`ServerHandshake`] reads a client's upgrade request and yields an [`IncomingRequest`], which
//! the application accepts (getting a [`Connection`](crate::Connection)) or rejects (getting the
//! bytes of an HTTP error response). [`ClientHandshake`] produces the upgrade request for a
//! [`ClientRequest`] and checks the server's answer.
//!
//! Neither side touches a socket or reads a clock: received bytes go in through `handle_input`,
//! bytes to send come out as plain buffers, and the current time is an argument of `new` and
//! `handle_timeout`. Both sides search for the end of the HTTP head only in newly received bytes,
//! so a peer trickling its head one byte at a time costs linear time, and both refuse a head over
//! [`Config::max_handshake_size`](crate::Config::max_handshake_size) bytes as soon as it grows
//! past the limit. Heads are read and written with [`crate::http1`]; the client skips interim
//! `1xx` responses before the server's answer (RFC 9110 section 15.2), all of them together
//! bounded by the same limit.

mod client;
mod server;

pub use client::{ClientHandshake, ClientRequest};
pub(crate) use server::cookie_pairs;
pub use server::{Accept, Answer, IncomingRequest, Reject, ServerHandshake};

use crate::http1::{write_response, Limits};
use base64::Engine as _;
use bytes::Bytes;
use http::header::CONNECTION;
use http::{HeaderMap, HeaderValue, StatusCode};
use sha1::{Digest, Sha1};
use std::fmt;
use std::time::Instant;

/// The GUID of RFC 6455 section 1.3, appended to the client's key to form the accept value.
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The protocol version this crate speaks. RFC 6455 section 4.1: "The request MUST include a
/// header field with the name |Sec-WebSocket-Version|. The value of this header field MUST be
/// 13."
const VERSION: &str = "13";

/// The value of `Sec-WebSocket-Accept` for a given `Sec-WebSocket-Key` (RFC 6455 section 4.2.2):
/// the base64 encoding of the SHA-1 of the key, as sent (not decoded), followed by the GUID
/// `258EAFA5-E914-47DA-95CA-C5AB0DC85B11`.
///
/// ```
/// use laputa_core::handshake::accept_key;
/// assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID);
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// The HTTP limits of either side: heads bounded by
/// [`Config::max_handshake_size`](crate::Config::max_handshake_size) and
/// [`Config::max_headers`](crate::Config::max_headers); a request line by the head size alone,
/// so that a head that is one long line is answered 431, as every head too large.
fn limits(config: &crate::Config) -> Limits {
    Limits {
        max_head_size: config.max_handshake_size,
        max_headers: config.max_headers,
        max_request_line: config.max_handshake_size,
    }
}

/// Why the opening handshake failed.
///
/// A server that gets [`HandshakeError::Rejected`] writes
/// [`response_bytes`](HandshakeError::response_bytes) to the client and closes the connection.
///
/// ```
/// use laputa_core::handshake::{HandshakeError, ServerHandshake};
/// use laputa_core::http::StatusCode;
/// use laputa_core::Config;
/// use std::time::Instant;
///
/// let mut handshake = ServerHandshake::new(Config::default(), Instant::now());
/// let err = handshake.handle_input(b"POST /chat HTTP/1.1\r\nHost: example.com\r\n\r\n").unwrap_err();
/// assert!(matches!(err, HandshakeError::Rejected { status, .. } if status == StatusCode::METHOD_NOT_ALLOWED));
/// let response = err.response_bytes().expect("a rejection has a response");
/// assert!(response.starts_with(b"HTTP/1.1 405 Method Not Allowed\r\n"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Server side: the client's request is not a valid WebSocket upgrade. `status` is the HTTP
    /// status to answer with: 400 (malformed request, missing or duplicate `Host`, missing
    /// `Upgrade`/`Connection` tokens, bad `Sec-WebSocket-Key`, a request body), 405 (method not
    /// GET), 426 (`Sec-WebSocket-Version` not 13), 431 (head or header count over the limits),
    /// 505 (not HTTP/1.1).
    Rejected {
        /// The HTTP status of the error response.
        status: StatusCode,
        /// A short explanation, sent as the response body.
        reason: &'static str,
    },
    /// The handshake deadline ([`Config::handshake_timeout`](crate::Config::handshake_timeout))
    /// passed.
    Timeout,
    /// Client side: the server answered with a status other than 101. Redirects and
    /// authentication challenges (3xx, 401, 407) arrive here with their headers.
    UnexpectedStatus {
        /// The status the server sent.
        status: StatusCode,
        /// The response's headers (boxed to keep the error, and every `Result` carrying it,
        /// small).
        headers: Box<HeaderMap>,
        /// The bytes that followed the head in the same input, at most
        /// [`Config::max_handshake_size`](crate::Config::max_handshake_size) of them.
        body: Bytes,
    },
    /// Client side: a 101 response that breaks RFC 6455 section 4.1 (missing tokens, wrong
    /// `Sec-WebSocket-Accept`, a subprotocol or extension the client did not offer), or a response
    /// that is not valid HTTP.
    InvalidResponse(&'static str),
    /// Client side: the response head exceeded
    /// [`Config::max_handshake_size`](crate::Config::max_handshake_size) bytes or
    /// [`Config::max_headers`](crate::Config::max_headers) headers.
    ResponseTooLarge,
    /// Client side: the URL given to [`ClientRequest::new`] is not a WebSocket URL.
    InvalidUrl(String),
    /// Client side, local misuse: a [`ClientRequest`] builder method got a value that cannot be
    /// sent (a subprotocol that is not a token or is offered twice, a value with control
    /// characters, a header the handshake sets itself).
    InvalidRequest(&'static str),
    /// Server side, local misuse: the [`Accept`] named a subprotocol the client did not offer, or
    /// set a header the handshake sets itself.
    InvalidAccept(&'static str),
    /// `handle_input` was called after the handshake already produced its result or error.
    Finished,
}

impl HandshakeError {
    /// The HTTP status involved: the one to answer with for [`HandshakeError::Rejected`], the one
    /// received for [`HandshakeError::UnexpectedStatus`]; `None` otherwise.
    ///
    /// ```
    /// use laputa_core::handshake::{ClientHandshake, ClientRequest, HandshakeError};
    /// use laputa_core::http::StatusCode;
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let request = ClientRequest::new("ws://example.com/chat")?;
    /// let mut handshake = ClientHandshake::new(request, Config::default(), Instant::now())?;
    /// let err = handshake.handle_input(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n").unwrap_err();
    /// assert_eq!(err.http_status(), Some(StatusCode::UNAUTHORIZED));
    /// assert_eq!(HandshakeError::Timeout.http_status(), None);
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn http_status(&self) -> Option<StatusCode> {
        match self {
            Self::Rejected { status, .. } | Self::UnexpectedStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// For [`HandshakeError::Rejected`], the complete HTTP response to send before closing the
    /// connection: status line, `Connection: close`, `Content-Length`, and a short text body.
    /// A 405 carries `Allow: GET`; a 426 carries `Sec-WebSocket-Version: 13`, as RFC 6455
    /// section 4.4 asks, and `Upgrade: websocket`, as RFC 9110 asks. `None` for every other
    /// variant.
    ///
    /// ```
    /// use laputa_core::handshake::HandshakeError;
    /// use laputa_core::http::StatusCode;
    /// let err = HandshakeError::Rejected { status: StatusCode::UPGRADE_REQUIRED, reason: "version" };
    /// let bytes = err.response_bytes().unwrap();
    /// assert!(bytes.starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
    /// ```
    pub fn response_bytes(&self) -> Option<Vec<u8>> {
        let response = self.response()?;
        Some(write_response(response.status(), response.headers(), response.body()))
    }

    /// For [`HandshakeError::Rejected`], the error response as an [`http::Response`], for an
    /// HTTP stack that writes responses itself (its framing headers are left to that stack).
    /// `None` for every other variant.
    ///
    /// ```
    /// use laputa_core::handshake::HandshakeError;
    /// use laputa_core::http::StatusCode;
    /// let err = HandshakeError::Rejected { status: StatusCode::METHOD_NOT_ALLOWED, reason: "method" };
    /// let response = err.response().unwrap();
    /// assert_eq!(response.headers()["allow"], "GET");
    /// ```
    pub fn response(&self) -> Option<http::Response<Vec<u8>>> {
        let Self::Rejected { status, reason } = self else {
            return None;
        };
        let mut headers = HeaderMap::new();
        if *status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(http::header::ALLOW, HeaderValue::from_static("GET"));
        }
        if *status == StatusCode::UPGRADE_REQUIRED {
            // RFC 6455 section 4.4: the server "MUST" answer an unsupported version with "a
            // |Sec-WebSocket-Version| header field containing all versions it supports".
            headers.insert(http::header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static(VERSION));
            // RFC 9110 section 15.5.22: a 426 "MUST send an Upgrade header field", and section
            // 7.8: its sender "MUST also send an "upgrade" connection option".
            headers.insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(CONNECTION, HeaderValue::from_static("Upgrade, close"));
        }
        let mut response = http::Response::new(format!("{reason}\n").into_bytes());
        *response.status_mut() = *status;
        *response.headers_mut() = headers;
        Some(response)
    }

    /// A server-side rejection.
    pub(crate) fn rejected(status: StatusCode, reason: &'static str) -> Self {
        Self::Rejected { status, reason }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected { status, reason } => write!(f, "request rejected ({status}): {reason}"),
            Self::Timeout => f.write_str("the handshake timed out"),
            Self::UnexpectedStatus { status, .. } => {
                write!(f, "server answered {status} instead of 101")
            }
            Self::InvalidResponse(why) => write!(f, "invalid handshake response: {why}"),
            Self::ResponseTooLarge => f.write_str("handshake response too large"),
            Self::InvalidUrl(why) => write!(f, "invalid WebSocket URL: {why}"),
            Self::InvalidRequest(why) => write!(f, "invalid client request: {why}"),
            Self::InvalidAccept(why) => write!(f, "invalid accept: {why}"),
            Self::Finished => f.write_str("the handshake is already finished"),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// What a driver needs from either side of the opening handshake, so that one drive loop serves
/// both: write what `poll_transmit` gives, feed what it reads, honour the deadline.
///
/// ```
/// use laputa_core::handshake::{Accept, ClientHandshake, ClientRequest, Handshake, HandshakeError, ServerHandshake};
/// use laputa_core::Config;
/// use std::time::Instant;
///
/// // One drive loop for either side: `reads` stands in for what arrives on the socket, `sent`
/// // for what is written to it.
/// fn drive<H: Handshake>(
///     hs: &mut H,
///     reads: &[&[u8]],
///     sent: &mut Vec<u8>,
/// ) -> Result<Option<H::Output>, HandshakeError> {
///     hs.poll_transmit(sent);
///     for read in reads {
///         if let Some(done) = hs.handle_input(read)? {
///             return Ok(Some(done));
///         }
///         hs.poll_transmit(sent);
///     }
///     Ok(None) // a real driver keeps reading, and calls `handle_timeout` at `poll_timeout`
/// }
///
/// let now = Instant::now();
/// let mut client = ClientHandshake::new(ClientRequest::new("ws://example.com/chat")?, Config::default(), now)?;
/// let mut request = Vec::new();
/// assert!(drive(&mut client, &[], &mut request)?.is_none());
///
/// let mut server = ServerHandshake::new(Config::default(), now);
/// let (start, end) = request.split_at(20); // the request may arrive in pieces
/// let incoming = drive(&mut server, &[start, end], &mut Vec::new())?.expect("a complete request");
/// assert_eq!(incoming.path(), "/chat");
/// let mut response = Vec::new();
/// incoming.accept(Accept::new())?.poll_transmit(now, &mut response);
///
/// let (_connection, response) = drive(&mut client, &[&response], &mut request)?.expect("a complete response");
/// assert_eq!(response.status(), 101);
/// # Ok::<(), HandshakeError>(())
/// ```
pub trait Handshake {
    /// What the handshake produces: the connection (client) or the request to decide on (server).
    type Output;

    /// Feeds bytes read from the peer; `Some` once the handshake is complete.
    ///
    /// ```
    /// use laputa_core::handshake::{Handshake, ServerHandshake};
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let mut server = ServerHandshake::new(Config::default(), Instant::now());
    /// let request: &[u8] = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    ///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    /// let (start, end) = request.split_at(30);
    /// assert!(Handshake::handle_input(&mut server, start)?.is_none(), "the head is not complete");
    /// let incoming = Handshake::handle_input(&mut server, end)?.expect("the head is complete");
    /// assert_eq!(incoming.path(), "/chat");
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    fn handle_input(&mut self, data: &[u8]) -> Result<Option<Self::Output>, HandshakeError>;

    /// Appends bytes to send (the client's request; nothing for a server).
    ///
    /// ```
    /// use laputa_core::handshake::{ClientHandshake, ClientRequest, Handshake, ServerHandshake};
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut client = ClientHandshake::new(ClientRequest::new("ws://example.com/chat")?, Config::default(), now)?;
    /// let mut out = Vec::new();
    /// Handshake::poll_transmit(&mut client, &mut out);
    /// assert!(out.starts_with(b"GET /chat HTTP/1.1\r\n"));
    ///
    /// // A server answers through the connection it accepts, so it has nothing to send here.
    /// let mut server = ServerHandshake::new(Config::default(), now);
    /// let mut out = Vec::new();
    /// Handshake::poll_transmit(&mut server, &mut out);
    /// assert!(out.is_empty());
    /// # Ok::<(), laputa_core::handshake::HandshakeError>(())
    /// ```
    fn poll_transmit(&mut self, buf: &mut Vec<u8>);

    /// The handshake deadline.
    ///
    /// ```
    /// use laputa_core::handshake::{Handshake, ServerHandshake};
    /// use laputa_core::Config;
    /// use std::time::{Duration, Instant};
    ///
    /// let mut config = Config::default();
    /// config.handshake_timeout = Duration::from_secs(5);
    /// let now = Instant::now();
    /// let server = ServerHandshake::new(config, now);
    /// assert_eq!(Handshake::poll_timeout(&server), Some(now + Duration::from_secs(5)));
    /// ```
    fn poll_timeout(&self) -> Option<Instant>;

    /// Fails with [`HandshakeError::Timeout`] once `now` is past the deadline.
    ///
    /// ```
    /// use laputa_core::handshake::{Handshake, HandshakeError, ServerHandshake};
    /// use laputa_core::Config;
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut server = ServerHandshake::new(Config::default(), now);
    /// let deadline = Handshake::poll_timeout(&server).expect("a deadline");
    /// assert_eq!(Handshake::handle_timeout(&mut server, now), Ok(()));
    /// assert_eq!(Handshake::handle_timeout(&mut server, deadline), Err(HandshakeError::Timeout));
    /// assert_eq!(Handshake::poll_timeout(&server), None, "the handshake is over");
    /// ```
    fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError>;
}

impl Handshake for ClientHandshake {
    type Output = (crate::Connection, http::Response<()>);

    fn handle_input(&mut self, data: &[u8]) -> Result<Option<Self::Output>, HandshakeError> {
        ClientHandshake::handle_input(self, data)
    }

    fn poll_transmit(&mut self, buf: &mut Vec<u8>) {
        ClientHandshake::poll_transmit(self, buf)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        ClientHandshake::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError> {
        ClientHandshake::handle_timeout(self, now)
    }
}

impl Handshake for ServerHandshake {
    type Output = IncomingRequest;

    fn handle_input(&mut self, data: &[u8]) -> Result<Option<Self::Output>, HandshakeError> {
        ServerHandshake::handle_input(self, data)
    }

    fn poll_transmit(&mut self, _buf: &mut Vec<u8>) {}

    fn poll_timeout(&self) -> Option<Instant> {
        ServerHandshake::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError> {
        ServerHandshake::handle_timeout(self, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_sample() {
        // RFC 6455 section 1.3.
        assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn rejection_responses() {
        let err = HandshakeError::rejected(StatusCode::METHOD_NOT_ALLOWED, "method must be GET");
        assert_eq!(err.http_status(), Some(StatusCode::METHOD_NOT_ALLOWED));
        let text = String::from_utf8(err.response_bytes().unwrap()).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 405 Method Not Allowed\r\nallow: GET\r\nConnection: close\r\n\
             Content-Length: 19\r\n\r\nmethod must be GET\n"
        );
        let err = HandshakeError::rejected(StatusCode::UPGRADE_REQUIRED, "version");
        let text = String::from_utf8(err.response_bytes().unwrap()).unwrap();
        assert!(text.contains("\r\nsec-websocket-version: 13\r\n"), "{text}");
        assert_eq!(HandshakeError::Timeout.response_bytes(), None);
        assert_eq!(HandshakeError::Timeout.http_status(), None);
    }
}
