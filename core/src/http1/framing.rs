//! How a message body is delimited (RFC 9112 section 6.3), decided from the head alone.

use super::tokens::trim_ows;
use super::Http1Error;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, Method, StatusCode, Version};

/// How the body after a head is delimited (RFC 9112 section 6.3). Given to a
/// [`BodyDecoder`](super::BodyDecoder).
///
/// ```
/// use laputa_core::http::Method;
/// use laputa_core::http1::{Framing, Limits, ResponseReader};
///
/// let mut reader = ResponseReader::new(Limits::default());
/// // No Content-Length, no Transfer-Encoding: the body ends when the server closes.
/// let (head, _) = reader.push(b"HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n")?.unwrap();
/// assert_eq!(head.framing(&Method::GET)?, Framing::ReadToClose);
/// # Ok::<(), laputa_core::http1::Http1Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// No body at all: what follows the head is the next message (or, after a `101` or a `2xx`
    /// to `CONNECT`, the other protocol).
    NoBody,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// The chunked transfer coding (RFC 9112 section 7.1), ended by a zero-size chunk and
    /// trailers.
    Chunked,
    /// A response body that ends when the server closes the connection; the connection cannot
    /// be reused.
    ReadToClose,
}

/// The framing of a request's body from its version and header fields (RFC 9112 section 6.3,
/// rules 4 to 6), strictly: what could be read two ways is an error for the server to answer
/// with [`Http1Error::status`] before closing the connection.
///
/// - `Transfer-Encoding` whose final coding is chunked, and chunked alone: [`Framing::Chunked`].
///   Final coding not chunked: 400 ("the server MUST respond with the 400 (Bad Request) status
///   code and then close the connection"); other codings before chunked: 501, as this module
///   decodes none of them (RFC 9112 section 6.1: "A server that receives a request message with
///   a transfer coding it does not understand SHOULD respond with 501 (Not Implemented)").
/// - Both `Transfer-Encoding` and `Content-Length`: 400 (such a request "might indicate an
///   attempt to perform request smuggling"; "A server MAY reject" it).
/// - `Transfer-Encoding` in an HTTP/1.0 request: 400 ("MUST treat the message as if the framing
///   is faulty").
/// - A valid `Content-Length`: [`Framing::Length`]; an invalid one, or several that differ: 400.
/// - Neither: [`Framing::NoBody`] ("the message body length is zero").
///
/// ```
/// use laputa_core::http::{HeaderMap, HeaderValue, Version};
/// use laputa_core::http1::{request_framing, Framing, Http1Error};
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(request_framing(Version::HTTP_11, &headers)?, Framing::NoBody);
/// headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
/// assert_eq!(request_framing(Version::HTTP_11, &headers)?, Framing::Chunked);
/// headers.insert("content-length", HeaderValue::from_static("5"));
/// let err = request_framing(Version::HTTP_11, &headers).unwrap_err();
/// assert_eq!(err.status(), 400);
/// # Ok::<(), Http1Error>(())
/// ```
pub fn request_framing(version: Version, headers: &HeaderMap) -> Result<Framing, Http1Error> {
    if headers.contains_key(TRANSFER_ENCODING) {
        if headers.contains_key(CONTENT_LENGTH) {
            return Err(Http1Error::InvalidFraming("both Content-Length and Transfer-Encoding"));
        }
        if version == Version::HTTP_10 {
            return Err(Http1Error::InvalidFraming("Transfer-Encoding in an HTTP/1.0 message"));
        }
        return match transfer_codings(headers) {
            Codings::Chunked => Ok(Framing::Chunked),
            Codings::ChunkedAfterOthers => Err(Http1Error::UnsupportedTransferCoding),
            Codings::NotChunked => Err(Http1Error::InvalidFraming("final transfer coding is not chunked")),
        };
    }
    Ok(content_length(headers)?.map_or(Framing::NoBody, Framing::Length))
}

/// The framing of a response's body, given the method of the request it answers (RFC 9112
/// section 6.3, rules 1 to 7):
///
/// 1. After `HEAD`, and for `1xx`, `204` and `304`: [`Framing::NoBody`].
/// 2. A `2xx` to `CONNECT`: [`Framing::NoBody`] ("the connection becomes a tunnel immediately
///    after the empty line that concludes the header fields").
/// 3. `Transfer-Encoding` overrides `Content-Length`.
/// 4. `Transfer-Encoding` whose final coding is chunked: [`Framing::Chunked`] (earlier codings,
///    such as gzip, stay in the decoded bytes); otherwise [`Framing::ReadToClose`] ("the message
///    body length is determined by reading the connection until it is closed by the server").
///    In an HTTP/1.0 response it is an error ("as if the framing is faulty").
/// 5. A valid `Content-Length`: [`Framing::Length`]; an invalid one, or several that differ, is
///    an error ("the user agent MUST close the connection to the server and discard the
///    received response").
/// 7. Otherwise: [`Framing::ReadToClose`].
///
/// ```
/// use laputa_core::http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
/// use laputa_core::http1::{response_framing, Framing};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("content-length", HeaderValue::from_static("12"));
/// let framing = |method, status| response_framing(&method, Version::HTTP_11, status, &headers);
/// assert_eq!(framing(Method::GET, StatusCode::UNAUTHORIZED)?, Framing::Length(12));
/// assert_eq!(framing(Method::HEAD, StatusCode::OK)?, Framing::NoBody);
/// assert_eq!(framing(Method::CONNECT, StatusCode::OK)?, Framing::NoBody);
/// assert_eq!(framing(Method::CONNECT, StatusCode::PROXY_AUTHENTICATION_REQUIRED)?, Framing::Length(12));
/// # Ok::<(), laputa_core::http1::Http1Error>(())
/// ```
pub fn response_framing(
    request_method: &Method,
    version: Version,
    status: StatusCode,
    headers: &HeaderMap,
) -> Result<Framing, Http1Error> {
    if request_method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || (request_method == Method::CONNECT && status.is_success())
    {
        return Ok(Framing::NoBody);
    }
    if headers.contains_key(TRANSFER_ENCODING) {
        if version == Version::HTTP_10 {
            return Err(Http1Error::InvalidFraming("Transfer-Encoding in an HTTP/1.0 message"));
        }
        return Ok(match transfer_codings(headers) {
            Codings::Chunked | Codings::ChunkedAfterOthers => Framing::Chunked,
            Codings::NotChunked => Framing::ReadToClose,
        });
    }
    Ok(content_length(headers)?.map_or(Framing::ReadToClose, Framing::Length))
}

/// What the `Transfer-Encoding` fields list.
#[derive(Debug, PartialEq, Eq)]
enum Codings {
    /// `chunked` alone.
    Chunked,
    /// Other codings, then `chunked` once, last.
    ChunkedAfterOthers,
    /// No coding, a final coding other than chunked, chunked twice, or a value that cannot be
    /// read.
    NotChunked,
}

/// Reads the codings of every `Transfer-Encoding` field, in order (names are case-insensitive;
/// parameters are ignored). "A sender MUST NOT apply the chunked transfer coding more than once
/// to a message body" (RFC 9112 section 6.1), so a second `chunked` is not chunked framing.
fn transfer_codings(headers: &HeaderMap) -> Codings {
    let mut codings = 0usize;
    let mut chunked_at = None;
    for value in headers.get_all(TRANSFER_ENCODING) {
        let Ok(value) = value.to_str() else { return Codings::NotChunked };
        for element in value.split(',').map(trim_ows).filter(|e| !e.is_empty()) {
            let name = trim_ows(element.split(';').next().unwrap_or_default());
            if name.eq_ignore_ascii_case("chunked") {
                if chunked_at.is_some() {
                    return Codings::NotChunked;
                }
                chunked_at = Some(codings);
            }
            codings += 1;
        }
    }
    match chunked_at {
        Some(0) if codings == 1 => Codings::Chunked,
        Some(at) if at + 1 == codings => Codings::ChunkedAfterOthers,
        _ => Codings::NotChunked,
    }
}

/// The value of the `Content-Length` fields, if any (RFC 9110 section 8.6): `1*DIGIT`, the same
/// value however often it is repeated (in several fields or as a list, "42, 42"), else an error.
fn content_length(headers: &HeaderMap) -> Result<Option<u64>, Http1Error> {
    let invalid = Http1Error::InvalidFraming("invalid Content-Length");
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        let value = value.to_str().map_err(|_| invalid)?;
        for element in value.split(',').map(trim_ows) {
            let n = parse_decimal(element).ok_or(invalid)?;
            if length.replace(n).is_some_and(|previous| previous != n) {
                return Err(Http1Error::InvalidFraming("differing Content-Length values"));
            }
        }
    }
    Ok(length)
}

/// `1*DIGIT` as a `u64`; `None` if empty, not all digits, or too large.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.bytes().try_fold(0u64, |n, digit| n.checked_mul(10)?.checked_add(u64::from(digit - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(lines: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in lines {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn request(lines: &[(&'static str, &'static str)]) -> Result<Framing, Http1Error> {
        request_framing(Version::HTTP_11, &headers(lines))
    }

    fn response(lines: &[(&'static str, &'static str)]) -> Result<Framing, Http1Error> {
        response_framing(&Method::GET, Version::HTTP_11, StatusCode::OK, &headers(lines))
    }

    const TE: &str = "transfer-encoding";
    const CL: &str = "content-length";

    #[test]
    fn request_rules() {
        assert_eq!(request(&[]), Ok(Framing::NoBody));
        assert_eq!(request(&[(CL, "0")]), Ok(Framing::Length(0)));
        assert_eq!(request(&[(CL, "18446744073709551615")]), Ok(Framing::Length(u64::MAX)));
        assert_eq!(request(&[(TE, "chunked")]), Ok(Framing::Chunked));
        assert_eq!(request(&[(TE, " Chunked ")]), Ok(Framing::Chunked));
        assert_eq!(
            request(&[(TE, "chunked"), (CL, "5")]),
            Err(Http1Error::InvalidFraming("both Content-Length and Transfer-Encoding"))
        );
        let not_final = Err(Http1Error::InvalidFraming("final transfer coding is not chunked"));
        assert_eq!(request(&[(TE, "gzip")]), not_final);
        assert_eq!(request(&[(TE, "chunked, gzip")]), not_final);
        assert_eq!(request(&[(TE, "chunked"), (TE, "gzip")]), not_final);
        assert_eq!(request(&[(TE, "chunked, chunked")]), not_final);
        assert_eq!(request(&[(TE, "")]), not_final);
        assert_eq!(request(&[(TE, "chunkedx")]), not_final);
        assert_eq!(request(&[(TE, "gzip, chunked")]), Err(Http1Error::UnsupportedTransferCoding));
        assert_eq!(request(&[(TE, "gzip"), (TE, "chunked")]), Err(Http1Error::UnsupportedTransferCoding));
        assert_eq!(
            request_framing(Version::HTTP_10, &headers(&[(TE, "chunked")])),
            Err(Http1Error::InvalidFraming("Transfer-Encoding in an HTTP/1.0 message"))
        );
        assert_eq!(request_framing(Version::HTTP_10, &headers(&[(CL, "3")])), Ok(Framing::Length(3)));
    }

    #[test]
    fn content_length_values() {
        let invalid = Err(Http1Error::InvalidFraming("invalid Content-Length"));
        let differing = Err(Http1Error::InvalidFraming("differing Content-Length values"));
        assert_eq!(request(&[(CL, "42, 42")]), Ok(Framing::Length(42)));
        assert_eq!(request(&[(CL, "42"), (CL, "042")]), Ok(Framing::Length(42)));
        assert_eq!(request(&[(CL, "42"), (CL, "43")]), differing);
        assert_eq!(request(&[(CL, "42, 43")]), differing);
        for bad in ["", "-1", "+1", "1 2", "0x10", "1.0", "42,", "18446744073709551616"] {
            assert_eq!(request(&[(CL, bad)]), invalid, "{bad:?}");
            assert_eq!(response(&[(CL, bad)]), invalid, "{bad:?}");
        }
        let mut map = HeaderMap::new();
        map.insert(CONTENT_LENGTH, HeaderValue::from_bytes(b"1\xff").unwrap());
        assert_eq!(request_framing(Version::HTTP_11, &map), invalid);
    }

    #[test]
    fn response_rules() {
        let framing = |method: Method, status: u16, lines: &[(&'static str, &'static str)]| {
            response_framing(&method, Version::HTTP_11, StatusCode::from_u16(status).unwrap(), &headers(lines))
        };
        // Rule 1: no body, whatever the headers say.
        for status in [100, 103, 199, 204, 304] {
            assert_eq!(framing(Method::GET, status, &[(CL, "5")]), Ok(Framing::NoBody), "{status}");
        }
        assert_eq!(framing(Method::HEAD, 200, &[(TE, "chunked")]), Ok(Framing::NoBody));
        // Rule 2: a 2xx to CONNECT is a tunnel; a 407 to it has a body.
        assert_eq!(framing(Method::CONNECT, 200, &[(CL, "5")]), Ok(Framing::NoBody));
        assert_eq!(framing(Method::CONNECT, 299, &[]), Ok(Framing::NoBody));
        assert_eq!(framing(Method::CONNECT, 407, &[(CL, "5")]), Ok(Framing::Length(5)));
        // Rules 3 and 4.
        assert_eq!(response(&[(TE, "chunked"), (CL, "5")]), Ok(Framing::Chunked));
        assert_eq!(response(&[(TE, "gzip, chunked")]), Ok(Framing::Chunked));
        assert_eq!(response(&[(TE, "chunked, gzip")]), Ok(Framing::ReadToClose));
        assert_eq!(response(&[(TE, "chunked, chunked")]), Ok(Framing::ReadToClose));
        assert_eq!(response(&[(TE, "identity")]), Ok(Framing::ReadToClose));
        assert_eq!(
            response_framing(&Method::GET, Version::HTTP_10, StatusCode::OK, &headers(&[(TE, "chunked")])),
            Err(Http1Error::InvalidFraming("Transfer-Encoding in an HTTP/1.0 message"))
        );
        // Rules 5 and 7.
        assert_eq!(response(&[(CL, "7")]), Ok(Framing::Length(7)));
        assert_eq!(framing(Method::GET, 401, &[]), Ok(Framing::ReadToClose));
        assert_eq!(framing(Method::GET, 101, &[]), Ok(Framing::NoBody));
    }
}
