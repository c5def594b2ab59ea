//! Parsed heads: [`RequestHead`] and [`ResponseHead`], built from a complete head with httparse.

use super::framing::{request_framing, response_framing, Framing};
use super::tokens::{has_token, list_elements};
use super::write::{push_headers, push_status_line};
use super::Http1Error;
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};

/// The head of a request: request line and header fields.
///
/// [`RequestReader`](super::RequestReader) yields it; build one with [`new`](Self::new) to send
/// it with [`write`](Self::write).
///
/// ```
/// use laputa_core::http::{header, HeaderValue, Method};
/// use laputa_core::http1::RequestHead;
///
/// // The request a client sends an HTTP proxy to open a tunnel (RFC 9110 section 9.3.6).
/// let mut head = RequestHead::new(Method::CONNECT, "example.com:443".parse().unwrap());
/// head.headers.insert(header::HOST, HeaderValue::from_static("example.com:443"));
/// let mut out = Vec::new();
/// head.write(&mut out);
/// assert_eq!(out, b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The request target as sent: origin form (`/path?query`), absolute form
    /// (`http://host/path`), authority form (`host:port`, for `CONNECT`) or `*`.
    pub target: Uri,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The header fields, repeated names kept in order.
    pub headers: HeaderMap,
}

impl RequestHead {
    /// An HTTP/1.1 request with no header fields.
    ///
    /// ```
    /// use laputa_core::http::{Method, Version};
    /// use laputa_core::http1::RequestHead;
    ///
    /// let head = RequestHead::new(Method::GET, "/chat".parse().unwrap());
    /// assert_eq!((head.version, head.headers.len()), (Version::HTTP_11, 0));
    /// ```
    pub fn new(method: Method, target: Uri) -> Self {
        Self { method, target, version: Version::HTTP_11, headers: HeaderMap::new() }
    }

    /// How the request's body is framed (RFC 9112 section 6.3, rules 4 to 6): chunked, a
    /// `Content-Length`, or no body. Errors are for the server to answer with their
    /// [`status`](Http1Error::status) and close.
    ///
    /// ```
    /// use laputa_core::http1::{Framing, Limits, RequestReader};
    ///
    /// let mut reader = RequestReader::new(Limits::default());
    /// let input = b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
    /// let (head, _) = reader.push(input)?.expect("a complete head");
    /// assert_eq!(head.framing()?, Framing::Length(5));
    /// # Ok::<(), laputa_core::http1::Http1Error>(())
    /// ```
    pub fn framing(&self) -> Result<Framing, Http1Error> {
        request_framing(self.version, &self.headers)
    }

    /// Whether the connection stays open after the response to this request (RFC 9112
    /// section 9.3): not if it has `Connection: close`; for HTTP/1.1 otherwise yes; for HTTP/1.0
    /// only with `Connection: keep-alive`. A request with both `Content-Length` and
    /// `Transfer-Encoding` never does ("the server MUST close the connection after responding to
    /// such a request").
    ///
    /// ```
    /// use laputa_core::http::{header::CONNECTION, HeaderValue, Method, Version};
    /// use laputa_core::http1::RequestHead;
    ///
    /// let mut head = RequestHead::new(Method::GET, "/".parse().unwrap());
    /// assert!(head.persistent());
    /// head.headers.insert(CONNECTION, HeaderValue::from_static("close"));
    /// assert!(!head.persistent());
    /// head.headers.clear();
    /// head.version = Version::HTTP_10;
    /// assert!(!head.persistent());
    /// ```
    pub fn persistent(&self) -> bool {
        persistent(self.version, &self.headers)
    }

    /// Appends the head: `METHOD target HTTP/1.x`, the header fields in order (names as
    /// [`HeaderName`] holds them, lower case), and the empty line. A version other than HTTP/1.0
    /// is written as HTTP/1.1.
    ///
    /// ```
    /// use laputa_core::http::{header, HeaderValue, Method};
    /// use laputa_core::http1::RequestHead;
    ///
    /// let mut head = RequestHead::new(Method::GET, "/chat?room=1".parse().unwrap());
    /// head.headers.insert(header::HOST, HeaderValue::from_static("example.com"));
    /// let mut out = Vec::new();
    /// head.write(&mut out);
    /// assert_eq!(out, b"GET /chat?room=1 HTTP/1.1\r\nhost: example.com\r\n\r\n");
    /// ```
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.to_string().as_bytes());
        out.extend_from_slice(version_text(self.version));
        out.extend_from_slice(b"\r\n");
        push_headers(out, &self.headers);
        out.extend_from_slice(b"\r\n");
    }
}

impl From<RequestHead> for http::Request<()> {
    /// The head as an [`http::Request`] without a body.
    ///
    /// ```
    /// use laputa_core::http::Method;
    /// use laputa_core::http1::RequestHead;
    ///
    /// let request: laputa_core::http::Request<()> = RequestHead::new(Method::GET, "/chat".parse().unwrap()).into();
    /// assert_eq!((request.method(), request.uri().path()), (&Method::GET, "/chat"));
    /// ```
    fn from(head: RequestHead) -> Self {
        let mut request = http::Request::new(());
        *request.method_mut() = head.method;
        *request.uri_mut() = head.target;
        *request.version_mut() = head.version;
        *request.headers_mut() = head.headers;
        request
    }
}

/// The head of a response: status line and header fields.
///
/// [`ResponseReader`](super::ResponseReader) yields it; build one with [`new`](Self::new) to send
/// it with [`write`](Self::write).
///
/// ```
/// use laputa_core::http::{Method, StatusCode};
/// use laputa_core::http1::{Framing, Limits, ResponseReader};
///
/// let mut reader = ResponseReader::new(Limits::default());
/// let input = b"HTTP/1.1 407 Proxy Authentication Required\r\n\
///     Proxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 6\r\n\r\ndenied";
/// let (head, used) = reader.push(input)?.expect("a complete head");
/// assert_eq!(head.status, StatusCode::PROXY_AUTHENTICATION_REQUIRED);
/// assert_eq!(head.headers["proxy-authenticate"], "Basic realm=\"corp\"");
/// assert_eq!(head.framing(&Method::CONNECT)?, Framing::Length(6));
/// assert_eq!(&input[used..], b"denied");
/// # Ok::<(), laputa_core::http1::Http1Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseHead {
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The status code.
    pub status: StatusCode,
    /// The header fields, repeated names kept in order.
    pub headers: HeaderMap,
}

impl ResponseHead {
    /// An HTTP/1.1 response with no header fields.
    ///
    /// ```
    /// use laputa_core::http::{StatusCode, Version};
    /// use laputa_core::http1::ResponseHead;
    ///
    /// let head = ResponseHead::new(StatusCode::OK);
    /// assert_eq!((head.version, head.headers.len()), (Version::HTTP_11, 0));
    /// ```
    pub fn new(status: StatusCode) -> Self {
        Self { version: Version::HTTP_11, status, headers: HeaderMap::new() }
    }

    /// How the body that follows this head is framed (RFC 9112 section 6.3), given the method
    /// of the request it answers: none after `HEAD`, a `1xx`, `204` or `304`, or a `2xx` to
    /// `CONNECT`; else chunked, a `Content-Length`, or everything until the connection closes.
    /// An error means the response cannot be framed: close the connection and discard it.
    ///
    /// ```
    /// use laputa_core::http::Method;
    /// use laputa_core::http1::{Framing, Limits, ResponseReader};
    ///
    /// let mut reader = ResponseReader::new(Limits::default());
    /// let (head, _) = reader.push(b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n")?.unwrap();
    /// assert_eq!(head.framing(&Method::GET)?, Framing::Chunked);
    /// assert_eq!(head.framing(&Method::HEAD)?, Framing::NoBody);
    /// # Ok::<(), laputa_core::http1::Http1Error>(())
    /// ```
    pub fn framing(&self, request_method: &Method) -> Result<Framing, Http1Error> {
        response_framing(request_method, self.version, self.status, &self.headers)
    }

    /// Whether the server keeps the connection open after this response (RFC 9112
    /// section 9.3), so that a retry (the answer to a `401` or `407`) may be sent on it once
    /// the body is read: not with `Connection: close`; for HTTP/1.1 otherwise yes; for HTTP/1.0
    /// only with `Connection: keep-alive`. Not either when both `Content-Length` and
    /// `Transfer-Encoding` were sent (RFC 9112 section 6.3: such a message "ought to be handled
    /// as an error"), nor when the body is read until the connection closes
    /// ([`Framing::ReadToClose`]), which the caller sees from [`framing`](Self::framing).
    ///
    /// ```
    /// use laputa_core::http1::{Limits, ResponseReader};
    ///
    /// let mut reader = ResponseReader::new(Limits::default());
    /// let (head, _) = reader.push(b"HTTP/1.0 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")?.unwrap();
    /// assert!(!head.persistent(), "HTTP/1.0 closes unless asked to keep alive");
    /// let (head, _) = reader.push(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")?.unwrap();
    /// assert!(head.persistent());
    /// # Ok::<(), laputa_core::http1::Http1Error>(())
    /// ```
    pub fn persistent(&self) -> bool {
        persistent(self.version, &self.headers)
    }

    /// Appends the head: `HTTP/1.x code reason`, the header fields in order (names lower
    /// case), and the empty line. Framing headers are the caller's: see
    /// [`write_response`](super::write_response) for a complete response with its body.
    ///
    /// ```
    /// use laputa_core::http::{header, HeaderValue, StatusCode};
    /// use laputa_core::http1::ResponseHead;
    ///
    /// let mut head = ResponseHead::new(StatusCode::OK);
    /// head.headers.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
    /// let mut out = Vec::new();
    /// head.write(&mut out);
    /// assert_eq!(out, b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
    /// ```
    pub fn write(&self, out: &mut Vec<u8>) {
        push_status_line(out, self.version, self.status);
        push_headers(out, &self.headers);
        out.extend_from_slice(b"\r\n");
    }
}

impl From<ResponseHead> for http::Response<()> {
    /// The head as an [`http::Response`] without a body.
    ///
    /// ```
    /// use laputa_core::http::StatusCode;
    /// use laputa_core::http1::ResponseHead;
    ///
    /// let response: laputa_core::http::Response<()> = ResponseHead::new(StatusCode::FOUND).into();
    /// assert_eq!(response.status(), StatusCode::FOUND);
    /// ```
    fn from(head: ResponseHead) -> Self {
        let mut response = http::Response::new(());
        *response.status_mut() = head.status;
        *response.version_mut() = head.version;
        *response.headers_mut() = head.headers;
        response
    }
}

/// `" HTTP/1.0"` or `" HTTP/1.1"`, for a request line.
fn version_text(version: Version) -> &'static [u8] {
    if version == Version::HTTP_10 {
        b" HTTP/1.0"
    } else {
        b" HTTP/1.1"
    }
}

/// RFC 9112 section 9.3, for either side.
fn persistent(version: Version, headers: &HeaderMap) -> bool {
    // "If the "close" connection option is present [...], the connection will not persist after
    // the current response"
    if has_token(headers, &CONNECTION, "close") {
        return false;
    }
    if headers.contains_key(TRANSFER_ENCODING) && headers.contains_key(CONTENT_LENGTH) {
        return false;
    }
    // "else, if the received protocol is HTTP/1.1 (or later), the connection will persist [...];
    // else, if the received protocol is HTTP/1.0, the "keep-alive" connection option is present,
    // [...] the connection will persist"
    version != Version::HTTP_10 || list_elements(headers, &CONNECTION).any(|o| o.eq_ignore_ascii_case("keep-alive"))
}

/// Parses a complete request head (as a reader found it, ending with its empty line).
pub(super) fn parse_request(head: &[u8], max_headers: usize) -> Result<RequestHead, Http1Error> {
    let mut storage = header_storage(head, max_headers);
    let mut parsed = httparse::Request::new(&mut storage);
    complete(parsed.parse(head), head, "malformed HTTP request")?;
    let method = Method::from_bytes(parsed.method.unwrap_or_default().as_bytes())
        .map_err(|_| Http1Error::Malformed("malformed HTTP request"))?;
    let target =
        parsed.path.unwrap_or_default().parse().map_err(|_| Http1Error::Malformed("invalid request target"))?;
    Ok(RequestHead { method, target, version: version(parsed.version), headers: header_map(parsed.headers)? })
}

/// Parses a complete response head (as a reader found it, ending with its empty line).
pub(super) fn parse_response(head: &[u8], max_headers: usize) -> Result<ResponseHead, Http1Error> {
    let mut storage = header_storage(head, max_headers);
    let mut parsed = httparse::Response::new(&mut storage);
    complete(parsed.parse(head), head, "malformed HTTP response")?;
    let status = parsed
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or(Http1Error::Malformed("invalid status code"))?;
    Ok(ResponseHead { version: version(parsed.version), status, headers: header_map(parsed.headers)? })
}

/// Room for the header lines of `head`: at most `max_headers`, and no more than it can hold (a
/// header line is at least 3 bytes, `a:\n`), so that a large limit allocates nothing large.
pub(super) fn header_storage(head: &[u8], max_headers: usize) -> Vec<httparse::Header<'static>> {
    vec![httparse::EMPTY_HEADER; max_headers.min(head.len() / 3 + 1)]
}

/// Checks that httparse read the whole head: the reader ends a head at its first CRLF CRLF, and
/// a parser that ends it elsewhere (at a bare `\n\n`) disagrees on where the body starts, which
/// is how requests are smuggled.
fn complete(status: httparse::Result<usize>, head: &[u8], malformed: &'static str) -> Result<(), Http1Error> {
    match status {
        Ok(httparse::Status::Complete(len)) if len == head.len() => Ok(()),
        Ok(_) => Err(Http1Error::Malformed(malformed)),
        Err(err) => Err(parse_error(err, malformed)),
    }
}

/// Maps an httparse error.
pub(super) fn parse_error(err: httparse::Error, malformed: &'static str) -> Http1Error {
    match err {
        httparse::Error::TooManyHeaders => Http1Error::HeadTooLarge,
        httparse::Error::Version => Http1Error::UnsupportedVersion,
        _ => Http1Error::Malformed(malformed),
    }
}

/// httparse only reads HTTP/1.0 and HTTP/1.1.
fn version(minor: Option<u8>) -> Version {
    match minor {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    }
}

/// Copies parsed header lines into a [`HeaderMap`], keeping repeated names.
pub(super) fn header_map(raw: &[httparse::Header<'_>]) -> Result<HeaderMap, Http1Error> {
    let mut map = HeaderMap::new();
    for header in raw {
        let name = HeaderName::from_bytes(header.name.as_bytes());
        let value = HeaderValue::from_bytes(header.value);
        let (Ok(name), Ok(value)) = (name, value) else {
            return Err(Http1Error::Malformed("invalid header field"));
        };
        map.try_append(name, value).map_err(|_| Http1Error::HeadTooLarge)?;
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(head: &[u8]) -> Result<RequestHead, Http1Error> {
        parse_request(head, 64)
    }

    fn response(head: &[u8]) -> Result<ResponseHead, Http1Error> {
        parse_response(head, 64)
    }

    #[test]
    fn request_heads() {
        let head = request(b"POST /a?b=1 HTTP/1.0\r\nHost: h\r\nX: 1\r\nx: 2\r\n\r\n").unwrap();
        assert_eq!((head.method, head.version), (Method::POST, Version::HTTP_10));
        assert_eq!(head.target, "/a?b=1");
        assert_eq!(head.headers.get_all("x").iter().collect::<Vec<_>>(), ["1", "2"]);
        let connect = request(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n").unwrap();
        assert_eq!(connect.target.authority().map(|a| a.as_str()), Some("example.com:443"));
        assert_eq!(request(b"OPTIONS * HTTP/1.1\r\n\r\n").unwrap().target, "*");
        assert_eq!(request(b"PURGE http://h/p HTTP/1.1\r\n\r\n").unwrap().method.as_str(), "PURGE");
    }

    #[test]
    fn request_errors() {
        assert_eq!(request(b"GET / HTTP/1.2\r\n\r\n"), Err(Http1Error::UnsupportedVersion));
        assert_eq!(request(b"GET / HTTP/2.0\r\n\r\n"), Err(Http1Error::UnsupportedVersion));
        assert_eq!(
            request(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"),
            Err(Http1Error::Malformed("malformed HTTP request"))
        );
        assert_eq!(request(b"G@T / HTTP/1.1\r\n\r\n"), Err(Http1Error::Malformed("malformed HTTP request")));
        assert_eq!(request(b"GET  / HTTP/1.1\r\n\r\n"), Err(Http1Error::Malformed("malformed HTTP request")));
        // Obsolete line folding is refused (RFC 9112 section 5.2).
        assert!(request(b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n").is_err());
        // httparse would end this head at the bare "\n\n": the rest would be lost or smuggled.
        assert_eq!(
            request(b"GET / HTTP/1.1\r\nA: b\n\nC: d\r\n\r\n"),
            Err(Http1Error::Malformed("malformed HTTP request"))
        );
        let many = b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n";
        assert_eq!(parse_request(many, 2), Err(Http1Error::HeadTooLarge));
        assert!(parse_request(many, 3).is_ok());
        assert!(parse_request(many, usize::MAX).is_ok(), "a large limit allocates nothing large");
    }

    #[test]
    fn response_heads() {
        let head = response(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n").unwrap();
        assert_eq!((head.version, head.status), (Version::HTTP_11, StatusCode::SWITCHING_PROTOCOLS));
        let head = response(b"HTTP/1.0 200\r\n\r\n").unwrap();
        assert_eq!((head.version, head.status), (Version::HTTP_10, StatusCode::OK));
        assert_eq!(response(b"HTTP/1.1 099 X\r\n\r\n"), Err(Http1Error::Malformed("invalid status code")));
        assert_eq!(response(b"garbage\r\n\r\n"), Err(Http1Error::UnsupportedVersion));
        assert_eq!(response(b"HTTP/1.1 20 OK\r\n\r\n"), Err(Http1Error::Malformed("malformed HTTP response")));
        assert_eq!(response(b"HTTP/1.1 200 OK\r\n"), Err(Http1Error::Malformed("malformed HTTP response")));
    }

    #[test]
    fn persistence() {
        let persistent = |head: &[u8]| response(head).unwrap().persistent();
        assert!(persistent(b"HTTP/1.1 200 OK\r\n\r\n"));
        assert!(!persistent(b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\n\r\n"));
        assert!(!persistent(b"HTTP/1.0 200 OK\r\n\r\n"));
        assert!(persistent(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n"));
        assert!(!persistent(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"));
        assert!(request(b"GET / HTTP/1.1\r\n\r\n").unwrap().persistent());
        assert!(!request(b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n").unwrap().persistent());
    }

    #[test]
    fn written_heads_read_back() {
        let mut head = RequestHead::new(Method::PUT, "http://h:81/x?y".parse().unwrap());
        head.version = Version::HTTP_10;
        head.headers.append("a", HeaderValue::from_static("1"));
        head.headers.append("a", HeaderValue::from_static("2"));
        head.headers.append("b", HeaderValue::from_static(""));
        let mut out = Vec::new();
        head.write(&mut out);
        assert_eq!(out, b"PUT http://h:81/x?y HTTP/1.0\r\na: 1\r\na: 2\r\nb: \r\n\r\n");
        assert_eq!(request(&out).unwrap(), head);

        let mut head = ResponseHead::new(StatusCode::from_u16(599).unwrap());
        head.headers.append("set-cookie", HeaderValue::from_static("a=1"));
        let mut out = Vec::new();
        head.write(&mut out);
        assert_eq!(out, b"HTTP/1.1 599 \r\nset-cookie: a=1\r\n\r\n");
        assert_eq!(response(&out).unwrap(), head);
    }
}
