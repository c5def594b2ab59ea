//! Why an HTTP/1.1 message could not be read, and the status a server answers with.

use http::StatusCode;
use std::fmt;

/// Why an HTTP/1.1 head or body could not be read.
///
/// Every error is final for the connection: what follows cannot be framed, so a server answers
/// with [`status`](Self::status) (as h11 does) and closes, and a client closes. Readers and the
/// body decoder return the same error again if fed more.
///
/// ```
/// use laputa_core::http::StatusCode;
/// use laputa_core::http1::{write_response, Http1Error, Limits, RequestReader};
///
/// let mut reader = RequestReader::new(Limits::default());
/// let err = reader.push(b"GET / HTTP/2.0\r\nHost: example.com\r\n\r\n").unwrap_err();
/// assert_eq!(err, Http1Error::UnsupportedVersion);
/// assert_eq!(err.status(), StatusCode::HTTP_VERSION_NOT_SUPPORTED);
/// // What a server sends before closing.
/// let response = write_response(err.status(), &Default::default(), err.reason().as_bytes());
/// assert!(response.starts_with(b"HTTP/1.1 505 HTTP Version Not Supported\r\n"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Http1Error {
    /// Not valid HTTP/1.x: a bad start line, header line, status code or request target (400).
    Malformed(&'static str),
    /// A head over [`Limits::max_head_size`](super::Limits::max_head_size) bytes (its interim
    /// `1xx` heads included) or [`Limits::max_headers`](super::Limits::max_headers) header lines
    /// (431).
    HeadTooLarge,
    /// A request line over [`Limits::max_request_line`](super::Limits::max_request_line) bytes
    /// (414, URI Too Long).
    RequestLineTooLong,
    /// An HTTP version other than 1.0 and 1.1 (505).
    UnsupportedVersion,
    /// The body's length cannot be determined (RFC 9112 section 6.3): an invalid or ambiguous
    /// `Content-Length`, both `Content-Length` and `Transfer-Encoding` in a request, a request
    /// whose final transfer coding is not chunked, `Transfer-Encoding` in an HTTP/1.0 message
    /// (400).
    InvalidFraming(&'static str),
    /// A request with a transfer coding other than chunked, which this module does not decode
    /// (501).
    UnsupportedTransferCoding,
    /// The chunked coding is broken: a chunk size that is not hex or overflows, a missing CRLF,
    /// a control character in a chunk extension, malformed trailers (400).
    InvalidChunk(&'static str),
    /// The body is larger than the decoder's maximum (413).
    BodyTooLarge,
    /// Chunk extensions or trailer fields over their bounds (431).
    TrailersTooLarge,
    /// The connection ended before the body did (400, though usually nobody is left to answer).
    Incomplete,
    /// A request method the server does not know (501; RFC 9110 section 9.1: "An origin server
    /// that receives a request method that is unrecognized or not implemented SHOULD respond
    /// with the 501 (Not Implemented) status code"). See
    /// [`ServerConn`](super::ServerConn) for the methods it knows.
    UnknownMethod,
    /// A request head that did not arrive within the server's request timeout, or a body
    /// that stopped for longer than its body timeout (408).
    Timeout,
}

impl Http1Error {
    /// The status a server answers with before closing: 400, 408, 413, 414, 431, 501 or 505. A
    /// client has nobody to answer; it closes the connection.
    ///
    /// ```
    /// use laputa_core::http::StatusCode;
    /// use laputa_core::http1::{Limits, RequestReader};
    ///
    /// let mut limits = Limits::default();
    /// limits.max_request_line = 32;
    /// let mut reader = RequestReader::new(limits);
    /// let err = reader.push(format!("GET /{} HTTP/1.1\r\n", "a".repeat(40)).as_bytes()).unwrap_err();
    /// assert_eq!(err.status(), StatusCode::URI_TOO_LONG);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Malformed(_) | Self::InvalidFraming(_) | Self::InvalidChunk(_) | Self::Incomplete => {
                StatusCode::BAD_REQUEST
            }
            Self::HeadTooLarge | Self::TrailersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::RequestLineTooLong => StatusCode::URI_TOO_LONG,
            Self::UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            Self::UnsupportedTransferCoding | Self::UnknownMethod => StatusCode::NOT_IMPLEMENTED,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    /// A short explanation, fit for the body of the error response.
    ///
    /// ```
    /// use laputa_core::http1::Http1Error;
    /// assert_eq!(Http1Error::BodyTooLarge.reason(), "body too large");
    /// assert_eq!(Http1Error::InvalidChunk("chunk size is not hex").reason(), "chunk size is not hex");
    /// ```
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(why) | Self::InvalidFraming(why) | Self::InvalidChunk(why) => why,
            Self::HeadTooLarge => "head too large or too many headers",
            Self::RequestLineTooLong => "request line too long",
            Self::UnsupportedVersion => "unsupported HTTP version",
            Self::UnsupportedTransferCoding => "unsupported transfer coding",
            Self::BodyTooLarge => "body too large",
            Self::TrailersTooLarge => "chunk extensions or trailers too large",
            Self::Incomplete => "the connection ended before the body",
            Self::UnknownMethod => "unknown method",
            Self::Timeout => "the request did not arrive in time",
        }
    }
}

impl fmt::Display for Http1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid HTTP/1.1 message ({}): {}", self.status().as_u16(), self.reason())
    }
}

impl std::error::Error for Http1Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_display() {
        let cases = [
            (Http1Error::Malformed("x"), 400),
            (Http1Error::InvalidFraming("x"), 400),
            (Http1Error::InvalidChunk("x"), 400),
            (Http1Error::Incomplete, 400),
            (Http1Error::BodyTooLarge, 413),
            (Http1Error::RequestLineTooLong, 414),
            (Http1Error::HeadTooLarge, 431),
            (Http1Error::TrailersTooLarge, 431),
            (Http1Error::UnsupportedTransferCoding, 501),
            (Http1Error::UnknownMethod, 501),
            (Http1Error::Timeout, 408),
            (Http1Error::UnsupportedVersion, 505),
        ];
        for (err, status) in cases {
            assert_eq!(err.status().as_u16(), status, "{err:?}");
        }
        assert_eq!(
            Http1Error::Malformed("bad start line").to_string(),
            "invalid HTTP/1.1 message (400): bad start line"
        );
    }
}
