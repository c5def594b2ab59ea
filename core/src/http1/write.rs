//! Head and body writers: a complete response, header lines, and the chunked coding.
//!
//! Request and response heads are written by [`RequestHead::write`](super::RequestHead::write)
//! and [`ResponseHead::write`](super::ResponseHead::write). Everything written comes from
//! [`http`] types, whose names and values cannot hold a CR or LF, so nothing written here can
//! inject a header line.

use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, StatusCode, Version};

/// Appends `name: value\r\n`. The name is written as given, for heads whose spelling is fixed
/// (the upgrade request writes `Sec-WebSocket-Key`): callers pass a literal token and a value
/// without CR or LF.
pub(crate) fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Appends every header of `headers`, in order.
pub(crate) fn push_headers(out: &mut Vec<u8>, headers: &HeaderMap) {
    for (name, value) in headers {
        push_header(out, name.as_str(), value.as_bytes());
    }
}

/// Appends `HTTP/1.x <code> <reason>\r\n` (HTTP/1.0 for [`Version::HTTP_10`], else HTTP/1.1).
pub(crate) fn push_status_line(out: &mut Vec<u8>, version: Version, status: StatusCode) {
    let version = if version == Version::HTTP_10 { "HTTP/1.0" } else { "HTTP/1.1" };
    let reason = status.canonical_reason().unwrap_or("");
    out.extend_from_slice(format!("{version} {} {reason}\r\n", status.as_str()).as_bytes());
}

/// A complete HTTP/1.1 response to send before closing the connection (an error, a
/// redirect, an authentication challenge): the status line, `headers` without any framing
/// headers (computed here), `Connection: close` unless `headers` has a `Connection`,
/// `Content-Length`, and the body.
///
/// A `1xx` or `204` response gets neither `Content-Length` nor body (RFC 9110 section 8.6: "A
/// server MUST NOT send a Content-Length header field in any response with a status code of
/// 1xx (Informational) or 204 (No Content)").
///
/// ```
/// use laputa_core::http::{header::WWW_AUTHENTICATE, HeaderMap, HeaderValue, StatusCode};
/// use laputa_core::http1::write_response;
///
/// let mut headers = HeaderMap::new();
/// headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"laputa\""));
/// let response = write_response(StatusCode::UNAUTHORIZED, &headers, b"who?");
/// assert_eq!(
///     response,
///     b"HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Basic realm=\"laputa\"\r\n\
///       Connection: close\r\nContent-Length: 4\r\n\r\nwho?"
/// );
/// ```
pub fn write_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + body.len());
    push_status_line(&mut out, Version::HTTP_11, status);
    for (name, value) in headers {
        if name != CONTENT_LENGTH && name != TRANSFER_ENCODING {
            push_header(&mut out, name.as_str(), value.as_bytes());
        }
    }
    if !headers.contains_key(CONNECTION) {
        push_header(&mut out, "Connection", b"close");
    }
    let bodiless = status.is_informational() || status == StatusCode::NO_CONTENT;
    if !bodiless {
        push_header(&mut out, "Content-Length", body.len().to_string().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    if !bodiless {
        out.extend_from_slice(body);
    }
    out
}

/// Appends one chunk of a chunked body (RFC 9112 section 7.1): the size in hex, CRLF, the
/// data, CRLF. An empty `data` writes nothing, since a zero-size chunk ends the body: end it
/// with [`write_last_chunk`].
///
/// ```
/// use laputa_core::http1::{write_chunk, write_last_chunk, BodyDecoder, Framing, Progress};
///
/// let mut wire = Vec::new();
/// write_chunk(&mut wire, b"hello, ");
/// write_chunk(&mut wire, b"");
/// write_chunk(&mut wire, b"world");
/// write_last_chunk(&mut wire, &Default::default());
/// assert_eq!(wire, b"7\r\nhello, \r\n5\r\nworld\r\n0\r\n\r\n");
///
/// let mut body = Vec::new();
/// let progress = BodyDecoder::new(Framing::Chunked, 1024).push(&wire, &mut body)?;
/// assert_eq!((progress, &body[..]), (Progress::Done(wire.len()), &b"hello, world"[..]));
/// # Ok::<(), laputa_core::http1::Http1Error>(())
/// ```
pub fn write_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends the end of a chunked body: the zero-size chunk, the trailer fields, and the empty
/// line.
///
/// ```
/// use laputa_core::http::{HeaderMap, HeaderValue};
/// use laputa_core::http1::write_last_chunk;
///
/// let mut trailers = HeaderMap::new();
/// trailers.insert("x-checksum", HeaderValue::from_static("42"));
/// let mut wire = Vec::new();
/// write_last_chunk(&mut wire, &trailers);
/// assert_eq!(wire, b"0\r\nx-checksum: 42\r\n\r\n");
/// ```
pub fn write_last_chunk(out: &mut Vec<u8>, trailers: &HeaderMap) {
    out.extend_from_slice(b"0\r\n");
    push_headers(out, trailers);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn write_response_computes_framing_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("999"));
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
        let out = write_response(StatusCode::UNAUTHORIZED, &headers, b"no");
        assert_eq!(out, b"HTTP/1.1 401 Unauthorized\r\nconnection: keep-alive\r\nContent-Length: 2\r\n\r\nno");
    }

    #[test]
    fn bodiless_statuses_have_no_content_length() {
        let out = write_response(StatusCode::NO_CONTENT, &HeaderMap::new(), b"ignored");
        assert_eq!(out, b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        let out = write_response(StatusCode::CONTINUE, &HeaderMap::new(), b"");
        assert_eq!(out, b"HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n");
        let out = write_response(StatusCode::NOT_FOUND, &HeaderMap::new(), b"");
        assert_eq!(out, b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    }

    #[test]
    fn status_lines() {
        let mut out = Vec::new();
        push_status_line(&mut out, Version::HTTP_10, StatusCode::OK);
        push_status_line(&mut out, Version::HTTP_2, StatusCode::from_u16(799).unwrap());
        assert_eq!(out, b"HTTP/1.0 200 OK\r\nHTTP/1.1 799 \r\n");
    }

    #[test]
    fn chunks_in_hex() {
        let mut out = Vec::new();
        write_chunk(&mut out, &[b'a'; 0x1f]);
        assert!(out.starts_with(b"1f\r\naaa"));
        assert!(out.ends_with(b"a\r\n"));
        assert_eq!(out.len(), 2 + 2 + 0x1f + 2);
    }
}
