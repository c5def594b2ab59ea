//! Plain HTTP requests on the server's port (websocket-sharp's `HttpServer`): handlers per
//! method, a document root, and the types they see. The protocol (parsing, framing,
//! keep-alive, pipelining, errors) is the core's `http1::ServerConn`; this module holds what the
//! application gives: handlers, files, responses.

use crate::files::DocumentRoot;
use laputa_core::bytes::Bytes;
use laputa_core::server::{query, route_method, MethodRoute, User};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue, ALLOW, CONTENT_TYPE, SET_COOKIE};
use http::{HeaderMap, Method, StatusCode};

/// A plain HTTP request, whole (its body read, up to the server's body limit), as a handler
/// sees it.
///
/// ```no_run
/// use laputa::server::{HttpRequest, HttpResponse};
///
/// fn greet(request: &HttpRequest) -> HttpResponse {
///     let name = request.query_param("name").unwrap_or_else(|| "stranger".into());
///     HttpResponse::text(format!("Hello, {name}! You sent {} bytes.", request.body().len()))
/// }
/// ```
#[derive(Debug)]
pub struct HttpRequest {
    pub(crate) head: http::Request<()>,
    pub(crate) body: Bytes,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) secure: bool,
    pub(crate) user: Option<User>,
}

impl HttpRequest {
    /// A request, for tests of handlers.
    ///
    /// ```
    /// use laputa::server::HttpRequest;
    ///
    /// let head = http::Request::post("/echo?x=1").body(()).unwrap();
    /// let request = HttpRequest::new(head, "hi".into(), "127.0.0.1:9000".parse().unwrap());
    /// assert_eq!((request.path(), request.query(), request.text()), ("/echo", Some("x=1"), Some("hi")));
    /// ```
    pub fn new(head: http::Request<()>, body: Bytes, remote_addr: SocketAddr) -> Self {
        Self { head, body, remote_addr, secure: false, user: None }
    }

    /// The request line and headers.
    pub fn request(&self) -> &http::Request<()> {
        &self.head
    }

    /// The method.
    pub fn method(&self) -> &Method {
        self.head.method()
    }

    /// The path, such as `/index.html` (not decoded).
    pub fn path(&self) -> &str {
        self.head.uri().path()
    }

    /// The query, without the `?`.
    pub fn query(&self) -> Option<&str> {
        self.head.uri().query()
    }

    /// A query parameter, percent-decoded (`+` is a space), as the core's
    /// [`query::param`](laputa_core::server::query::param) reads it.
    pub fn query_param(&self, name: &str) -> Option<String> {
        Some(query::param(self.query()?, name)?.into_owned())
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.head.headers()
    }

    /// A header's value as text, if present and visible ASCII.
    pub fn header(&self, name: impl http::header::AsHeaderName) -> Option<&str> {
        self.head.headers().get(name)?.to_str().ok()
    }

    /// The cookies sent, as (name, value) pairs.
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        super::session::cookie_pairs(self.head.headers())
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body as text, if it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// The client's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote_addr
    }

    /// Whether the request came over TLS.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The authenticated user, when the server asks for HTTP authentication.
    pub fn user(&self) -> Option<&User> {
        self.user.as_ref()
    }
}

/// What a response's body is made of.
pub(crate) enum ResponseBody {
    Empty,
    Bytes(Bytes),
    /// `len` bytes read from a reader (a file, usually), sent as they are read.
    Reader {
        reader: Box<dyn Read + Send>,
        len: u64,
    },
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseBody::Empty => f.write_str("Empty"),
            ResponseBody::Bytes(bytes) => write!(f, "Bytes({})", bytes.len()),
            ResponseBody::Reader { len, .. } => write!(f, "Reader({len})"),
        }
    }
}

/// A handler's answer: a status, headers and a body from bytes, a reader of known length, or a
/// file.
///
/// ```
/// use laputa::server::HttpResponse;
/// use http::StatusCode;
///
/// let created = HttpResponse::text("made")
///     .status(StatusCode::CREATED)
///     .header(http::header::LOCATION, http::HeaderValue::from_static("/things/1"));
/// assert_eq!(created.status_code(), StatusCode::CREATED);
/// ```
#[derive(Debug)]
pub struct HttpResponse {
    /// Boxed: a response moves through handlers' `Result`s, which stay small.
    pub(crate) head: Box<http::Response<()>>,
    pub(crate) body: ResponseBody,
}

impl HttpResponse {
    /// An empty response with `status`.
    ///
    /// ```
    /// let gone = laputa::server::HttpResponse::new(http::StatusCode::GONE);
    /// # let _ = gone;
    /// ```
    pub fn new(status: StatusCode) -> Self {
        let mut head = http::Response::new(());
        *head.status_mut() = status;
        Self { head: Box::new(head), body: ResponseBody::Empty }
    }

    /// `200 OK` with `text` as `text/plain; charset=utf-8`.
    ///
    /// ```
    /// let hello = laputa::server::HttpResponse::text("hello");
    /// # let _ = hello;
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Self::bytes("text/plain; charset=utf-8", text.into())
    }

    /// `200 OK` with `html` as `text/html; charset=utf-8`.
    ///
    /// ```
    /// let page = laputa::server::HttpResponse::html("<h1>Laputa</h1>");
    /// # let _ = page;
    /// ```
    pub fn html(html: impl Into<String>) -> Self {
        Self::bytes("text/html; charset=utf-8", html.into())
    }

    /// `200 OK` with `body` of `content_type`.
    ///
    /// ```
    /// let json = laputa::server::HttpResponse::bytes("application/json", r#"{"ok":true}"#);
    /// # let _ = json;
    /// ```
    pub fn bytes(content_type: &'static str, body: impl Into<Bytes>) -> Self {
        Self::new(StatusCode::OK)
            .header(CONTENT_TYPE, HeaderValue::from_static(content_type))
            .with_body(ResponseBody::Bytes(body.into()))
    }

    /// `200 OK` with `len` bytes read from `reader` (a stream of known length), sent as read.
    ///
    /// ```
    /// let body = std::io::Cursor::new(vec![7u8; 1000]);
    /// let response = laputa::server::HttpResponse::reader(body, 1000);
    /// # let _ = response;
    /// ```
    pub fn reader(reader: impl Read + Send + 'static, len: u64) -> Self {
        Self::new(StatusCode::OK).with_body(ResponseBody::Reader { reader: Box::new(reader), len })
    }

    /// `200 OK` with a file's contents, its content type guessed from its name.
    ///
    /// ```no_run
    /// let logo = laputa::server::HttpResponse::file("static/logo.png")?;
    /// # let _ = logo;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn file(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let content_type = laputa_core::files::content_type(&path.to_string_lossy());
        Ok(Self::reader(file, len).header(CONTENT_TYPE, content_type))
    }

    /// Sets the status.
    pub fn status(mut self, status: StatusCode) -> Self {
        *self.head.status_mut() = status;
        self
    }

    /// The status.
    pub fn status_code(&self) -> StatusCode {
        self.head.status()
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.head.headers_mut().append(name, value);
        self
    }

    /// Adds a `Set-Cookie` (an unencodable cookie is left out).
    ///
    /// ```
    /// use laputa::server::HttpResponse;
    ///
    /// let response = HttpResponse::text("welcome").cookie(laputa::core::cookies::Cookie::new("session", "abc123"));
    /// # let _ = response;
    /// ```
    pub fn cookie(self, cookie: laputa_core::cookies::Cookie<'_>) -> Self {
        match HeaderValue::from_str(&cookie.to_string()) {
            Ok(value) => self.header(SET_COOKIE, value),
            Err(_) => self,
        }
    }

    /// The response's head (status and headers).
    pub fn head(&self) -> &http::Response<()> {
        &self.head
    }

    fn with_body(mut self, body: ResponseBody) -> Self {
        self.body = body;
        self
    }

    /// A response from the core's refusal of a request (its status, headers and body).
    pub(crate) fn from_reject(reject: laputa_core::handshake::Reject) -> Self {
        let (parts, body) = reject.into_response().into_parts();
        let mut response = Self::new(parts.status);
        *response.head.headers_mut() = parts.headers;
        if !body.is_empty() {
            if !response.head.headers().contains_key(CONTENT_TYPE) {
                response = response.header(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            }
            response.body = ResponseBody::Bytes(body.into());
        }
        response
    }

    /// A response from the document root's answer.
    fn from_file(file: crate::files::FileResponse) -> Self {
        let (answer, body) = file.into_parts();
        let (status, headers, range) = answer.into_parts();
        let mut response = Self::new(status);
        *response.head.headers_mut() = headers;
        if let (Some(range), Some(body)) = (range, body) {
            response.body = ResponseBody::Reader { reader: Box::new(body), len: range.len };
        }
        response
    }
}

/// A handler of plain HTTP requests: websocket-sharp's `OnGet`, `OnPost`, ... events. It runs
/// on the connection's task (or thread) and must not block for long; a closure of a request
/// is one.
///
/// ```
/// use laputa::server::{HttpHandler, HttpRequest, HttpResponse};
///
/// struct Version;
///
/// impl HttpHandler for Version {
///     fn handle(&self, _: &HttpRequest) -> HttpResponse {
///         HttpResponse::text(env!("CARGO_PKG_VERSION"))
///     }
/// }
/// ```
pub trait HttpHandler: Send + Sync + 'static {
    /// Answers `request`.
    fn handle(&self, request: &HttpRequest) -> HttpResponse;
}

impl<F> HttpHandler for F
where
    F: Fn(&HttpRequest) -> HttpResponse + Send + Sync + 'static,
{
    fn handle(&self, request: &HttpRequest) -> HttpResponse {
        self(request)
    }
}

/// A request body taken piece by piece as it arrives, for an upload too large to hold whole
/// (the body as a stream): [`ServerBuilder::on_stream`](super::ServerBuilder::on_stream) makes
/// one per request from its head. Its methods run on the connection's task (or thread) and must
/// not block for long.
///
/// ```
/// use laputa::server::{BodySink, HttpResponse};
///
/// /// Counts the bytes of an upload and their sum, holding none of them.
/// #[derive(Default)]
/// struct Checksum {
///     len: u64,
///     sum: u64,
/// }
///
/// impl BodySink for Checksum {
///     fn data(&mut self, chunk: &[u8]) {
///         self.len += chunk.len() as u64;
///         self.sum = chunk.iter().fold(self.sum, |sum, &byte| sum.wrapping_add(u64::from(byte)));
///     }
///
///     fn finish(self: Box<Self>) -> HttpResponse {
///         HttpResponse::text(format!("{} bytes, sum {}", self.len, self.sum))
///     }
/// }
/// ```
pub trait BodySink: Send + 'static {
    /// The next piece of the body, in order.
    fn data(&mut self, chunk: &[u8]);

    /// The body ended: the response.
    fn finish(self: Box<Self>) -> HttpResponse;
}

/// What [`ServerBuilder::on_stream`](super::ServerBuilder::on_stream) takes: from a request's
/// head (its body empty), the sink of its body, or the response to refuse it with at once.
pub(crate) type StreamHandler = Arc<dyn Fn(&HttpRequest) -> Result<Box<dyn BodySink>, HttpResponse> + Send + Sync>;

/// What a server does with plain requests: a handler per method, and a document root for
/// `GET` and `HEAD` not otherwise handled.
#[derive(Default, Clone)]
pub(crate) struct HttpRoutes {
    handlers: Vec<(Method, Arc<dyn HttpHandler>)>,
    streams: Vec<(Method, StreamHandler)>,
    document_root: Option<Arc<DocumentRoot>>,
}

impl fmt::Debug for HttpRoutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRoutes")
            .field("methods", &self.handlers.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>())
            .field("document_root", &self.document_root.as_ref().map(|root| root.path().to_owned()))
            .finish()
    }
}

impl HttpRoutes {
    pub(crate) fn set_handler(&mut self, method: Method, handler: Arc<dyn HttpHandler>) {
        self.handlers.retain(|(m, _)| *m != method);
        self.handlers.push((method, handler));
    }

    pub(crate) fn set_stream_handler(&mut self, method: Method, handler: StreamHandler) {
        self.streams.retain(|(m, _)| *m != method);
        self.streams.push((method, handler));
    }

    /// The stream handler of `method`, if any: it takes the body as it arrives.
    pub(crate) fn stream_handler(&self, method: &Method) -> Option<&StreamHandler> {
        self.streams.iter().find(|(m, _)| m == method).map(|(_, handler)| handler)
    }

    pub(crate) fn set_document_root(&mut self, root: DocumentRoot) {
        self.document_root = Some(Arc::new(root));
    }

    fn handler(&self, method: &Method) -> Option<&Arc<dyn HttpHandler>> {
        self.handlers.iter().find(|(m, _)| m == method).map(|(_, handler)| handler)
    }

    /// Answers a plain request as the core's [`route_method`] decides: its method's handler
    /// (`HEAD` falls back to `GET`'s: the core sends the head only), else the document root,
    /// else `404` or `405` with `Allow`. A handler that panics answers `500`.
    pub(crate) fn answer(&self, request: &HttpRequest) -> HttpResponse {
        let method = request.method();
        let handled = self.handlers.iter().map(|(m, _)| m).chain(self.streams.iter().map(|(m, _)| m));
        match route_method(method, |m| self.handler(m), self.document_root.is_some(), handled) {
            MethodRoute::Handler(handler) => {
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.handle(request))) {
                    Ok(response) => response,
                    Err(_) => {
                        tracing::error!(method = %method, path = request.path(), "HTTP handler panicked: 500");
                        HttpResponse::new(StatusCode::INTERNAL_SERVER_ERROR)
                    }
                }
            }
            MethodRoute::Files => {
                let Some(root) = &self.document_root else {
                    return HttpResponse::new(StatusCode::NOT_FOUND);
                };
                match root.open(request.path(), method, request.headers()) {
                    Ok(file) => HttpResponse::from_file(file),
                    Err(error) => {
                        tracing::warn!(%error, path = request.path(), "document root: 500");
                        HttpResponse::new(StatusCode::INTERNAL_SERVER_ERROR)
                    }
                }
            }
            MethodRoute::NotAllowed { allow } => HttpResponse::new(StatusCode::METHOD_NOT_ALLOWED).header(ALLOW, allow),
            route => HttpResponse::new(route.status().unwrap_or(StatusCode::NOT_FOUND)),
        }
    }
}
