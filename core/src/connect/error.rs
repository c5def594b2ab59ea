//! Why a connect failed, in one enum a user matches in one step.

use crate::handshake::HandshakeError;
use crate::http1::Http1Error;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use std::fmt;

/// Why the connect flow failed.
///
/// An answer other than the `101` is [`Status`](Self::Status) (from the server) or
/// [`Proxy`](Self::Proxy) (from the proxy), with its status, headers and the start of its body:
///
/// ```
/// use laputa_core::connect::ConnectError;
/// use laputa_core::http::StatusCode;
///
/// fn explain(err: &ConnectError) -> String {
///     match err {
///         ConnectError::Status { status, .. } if *status == StatusCode::UNAUTHORIZED => "wrong password".into(),
///         ConnectError::Status { status, body, .. } => format!("server said {status}: {}", String::from_utf8_lossy(body)),
///         ConnectError::Proxy { status, .. } => format!("proxy said {status}"),
///         ConnectError::Timeout => "too slow".into(),
///         other => other.to_string(),
///     }
/// }
/// assert_eq!(explain(&ConnectError::Timeout), "too slow");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server's final answer was not `101`: a `401` the credentials could not satisfy (or
    /// none were given), a redirect while redirects are off, any other status.
    Status {
        /// The status the server sent.
        status: StatusCode,
        /// Its headers.
        headers: Box<HeaderMap>,
        /// The start of its body: what came with the head, at most
        /// [`Config::max_handshake_size`](crate::Config::max_handshake_size) bytes.
        body: Bytes,
    },
    /// The proxy refused the tunnel: a `407` the proxy credentials could not satisfy (or none
    /// were given), or any other status but `2xx`.
    Proxy {
        /// The status the proxy sent.
        status: StatusCode,
        /// Its headers.
        headers: Box<HeaderMap>,
        /// The start of its body, as for [`Status`](Self::Status).
        body: Bytes,
    },
    /// The upgrade failed: the `101` broke RFC 6455, the answer was not HTTP or over the
    /// limits, or the request could not be built.
    Handshake(HandshakeError),
    /// The proxy's answer was not HTTP/1.1, was over the limits, or sent bytes where none may
    /// come (before the TLS handshake).
    ProxyResponse(Http1Error),
    /// A redirect that cannot be followed.
    Redirect(RedirectError),
    /// The deadline over the whole connect passed.
    Timeout,
    /// The connection closed before the answer was complete.
    UnexpectedEof,
    /// The flow was used after it produced its connection or its error.
    Finished,
}

/// Why a redirect was not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectError {
    /// More redirects than allowed (the limit given).
    TooMany(usize),
    /// From `wss://` to `ws://`: never followed, it would send in the clear what was to be
    /// protected.
    Downgrade,
    /// A `Location` that is not a URL, or not an `http`, `https`, `ws` or `wss` one.
    InvalidLocation,
}

impl ConnectError {
    /// The HTTP status of an answer that was not a `101`, from the server or the proxy.
    ///
    /// ```
    /// use laputa_core::connect::ConnectError;
    /// use laputa_core::http::{HeaderMap, StatusCode};
    ///
    /// let err = ConnectError::Proxy { status: StatusCode::FORBIDDEN, headers: Box::new(HeaderMap::new()), body: Default::default() };
    /// assert_eq!(err.http_status(), Some(StatusCode::FORBIDDEN));
    /// assert_eq!(ConnectError::Timeout.http_status(), None);
    /// ```
    pub fn http_status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } | Self::Proxy { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status { status, .. } => write!(f, "server answered {status} instead of 101"),
            Self::Proxy { status, .. } => write!(f, "proxy refused the tunnel: {status}"),
            Self::Handshake(err) => err.fmt(f),
            Self::ProxyResponse(err) => write!(f, "invalid proxy answer: {err}"),
            Self::Redirect(err) => err.fmt(f),
            Self::Timeout => f.write_str("the connect timed out"),
            Self::UnexpectedEof => f.write_str("the connection closed before the answer"),
            Self::Finished => f.write_str("the connect is already finished"),
        }
    }
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooMany(max) => write!(f, "more than {max} redirects"),
            Self::Downgrade => f.write_str("redirect from wss:// to ws:// refused"),
            Self::InvalidLocation => f.write_str("redirect to an invalid or unsupported location"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Handshake(err) => Some(err),
            Self::ProxyResponse(err) => Some(err),
            Self::Redirect(err) => Some(err),
            _ => None,
        }
    }
}

impl std::error::Error for RedirectError {}

impl From<HandshakeError> for ConnectError {
    fn from(err: HandshakeError) -> Self {
        Self::Handshake(err)
    }
}
