//! One HTTP/1.1 connection, server side, sans-IO: [`ServerConn`].
//!
//! The driver feeds it the bytes it reads and the time, polls [`HttpEvent`]s for the
//! application, and writes what it queues; the application answers each request with
//! [`ServerConn::respond`] (then [`send_body`](ServerConn::send_body) and
//! [`finish_body`](ServerConn::finish_body) for a body it streams). Everything HTTP/1.1 asks of a
//! server is here, once, for every adapter: keep-alive, pipelined requests answered strictly in
//! order, request bodies (`Content-Length`, chunked) streamed and bounded, responses framed
//! (`Content-Length`, chunked, or until the close for an HTTP/1.0 client), `Expect:
//! 100-continue`, `HEAD`, `Connection: close` from either side, errors answered with their
//! status, and the timers (a head that never ends, an idle keep-alive connection, the lingering
//! close).
//!
//! Methods sort into four groups, as on [`Connection`](crate::Connection):
//!
//! - input: [`handle_input`](ServerConn::handle_input), [`handle_eof`](ServerConn::handle_eof),
//!   [`handle_timeout`](ServerConn::handle_timeout);
//! - the application's commands: [`respond`](ServerConn::respond),
//!   [`respond_full`](ServerConn::respond_full), [`send_body`](ServerConn::send_body),
//!   [`send_body_bytes`](ServerConn::send_body_bytes), [`finish_body`](ServerConn::finish_body),
//!   [`accept_body`](ServerConn::accept_body);
//! - output: [`poll_event`](ServerConn::poll_event), [`transmit`](ServerConn::transmit) (or
//!   [`poll_transmit`](ServerConn::poll_transmit)), [`poll_shutdown`](ServerConn::poll_shutdown),
//!   [`poll_timeout`](ServerConn::poll_timeout);
//! - getters: [`wants_input`](ServerConn::wants_input),
//!   [`wants_transmit`](ServerConn::wants_transmit), [`is_finished`](ServerConn::is_finished),
//!   [`unanswered`](ServerConn::unanswered), [`transmitted`](ServerConn::transmitted).
//!
//! # The drive loop
//!
//! ```text
//! loop {
//!     1. if conn.wants_input(): read (waiting at most until conn.poll_timeout(); past it,
//!        conn.handle_timeout(now))
//!          n > 0  -> conn.handle_input(&buf[..n])
//!          n == 0 -> conn.handle_eof()
//!     2. while let Some(event) = conn.poll_event()  -> to the application, whose answers
//!        (respond, send_body, finish_body, accept_body) go straight to conn; an answer can make
//!        new events ready (the next pipelined request, a body that waited for 100-continue, an
//!        upgrade that waited for earlier responses), so poll again after commands
//!     3. conn.transmit(now)                         -> write its chunks, advance past what was written
//!     4. if conn.poll_shutdown()                    -> shut down the TCP write side
//!     5. if conn.is_finished()                      -> drop the socket; done
//!        after HttpEvent::Upgrade: once transmit is empty, hand the socket, the request and
//!        the leftover bytes to the WebSocket side
//! }
//! ```
//!
//! Requests are parsed as [`poll_event`](ServerConn::poll_event) is called, one event at a time,
//! so unread input waits in the connection (bounded by what the driver reads while
//! [`wants_input`](ServerConn::wants_input) says so), and at most
//! [`ServerLimits::max_pipelined`] requests are read ahead of their responses. The core has no
//! clock: a `Date` header is the application's (or the adapter's) to add.
//!
//! # Example
//!
//! A request, its response, and a second request on the same connection:
//!
//! ```
//! use laputa_core::http::{Response, StatusCode};
//! use laputa_core::http1::{BodyKind, HttpEvent, ServerConn, ServerLimits};
//! use std::time::Instant;
//!
//! let now = Instant::now();
//! let mut conn = ServerConn::new(ServerLimits::default(), now);
//! conn.handle_input(b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello");
//!
//! let Some(HttpEvent::Request { request, body, .. }) = conn.poll_event() else { panic!() };
//! assert_eq!((request.uri().path(), body), ("/echo", BodyKind::Length(5)));
//! let Some(HttpEvent::BodyData(data)) = conn.poll_event() else { panic!() };
//! assert_eq!(&data[..], b"hello");
//! assert!(matches!(conn.poll_event(), Some(HttpEvent::BodyEnd { .. })));
//! assert!(conn.poll_event().is_none());
//!
//! // A streamed, chunked answer.
//! conn.respond(Response::new(()), BodyKind::Chunked)?;
//! conn.send_body(b"hel")?;
//! conn.send_body(b"lo")?;
//! conn.finish_body()?;
//! let mut out = Vec::new();
//! conn.poll_transmit(now, &mut out);
//! assert_eq!(out, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n");
//!
//! // Kept alive: the next request on the same connection.
//! conn.handle_input(b"GET /bye HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
//! assert!(matches!(conn.poll_event(), Some(HttpEvent::Request { .. })));
//! conn.respond_full(Response::builder().status(StatusCode::NO_CONTENT).body(())?, &b""[..])?;
//! out.clear();
//! conn.poll_transmit(now, &mut out);
//! assert_eq!(out, b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
//! assert!(conn.poll_shutdown(), "the client asked to close: shut down the write side");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Pipelined requests are read as they come and answered in order: each response is for the
//! oldest request not yet answered.
//!
//! ```
//! use laputa_core::http::Response;
//! use laputa_core::http1::{HttpEvent, ServerConn, ServerLimits};
//! use std::time::Instant;
//!
//! let now = Instant::now();
//! let mut conn = ServerConn::new(ServerLimits::default(), now);
//! conn.handle_input(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
//! let mut paths = Vec::new();
//! while let Some(event) = conn.poll_event() {
//!     if let HttpEvent::Request { request, .. } = event {
//!         paths.push(request.uri().path().to_owned());
//!     }
//! }
//! assert_eq!(paths, ["/a", "/b"]);
//! assert_eq!(conn.unanswered(), 2);
//! for path in &paths {
//!     conn.respond_full(Response::new(()), path.clone().into_bytes())?;
//! }
//! let mut out = Vec::new();
//! conn.poll_transmit(now, &mut out);
//! assert_eq!(
//!     out,
//!     b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n/aHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n/b"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A WebSocket upgrade request is handed to the WebSocket side with the bytes that came after
//! it, once every request before it is answered:
//!
//! ```
//! use laputa_core::handshake::{Accept, IncomingRequest};
//! use laputa_core::http::Response;
//! use laputa_core::http1::{HttpEvent, ServerConn, ServerLimits};
//! use laputa_core::{Config, Event, Message};
//! use std::time::Instant;
//!
//! let now = Instant::now();
//! let mut conn = ServerConn::new(ServerLimits::default(), now);
//! let mut input = b"GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n\
//!     GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//!     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
//!     .to_vec();
//! // The client's first frame, a masked text "Hello", in the same read.
//! input.extend_from_slice(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
//! conn.handle_input(&input);
//!
//! assert!(matches!(conn.poll_event(), Some(HttpEvent::Request { .. })));
//! assert!(conn.poll_event().is_none(), "the upgrade waits for the page's response");
//! conn.respond_full(Response::new(()), &b"<html>"[..])?;
//! let Some(HttpEvent::Upgrade { request, leftover }) = conn.poll_event() else { panic!() };
//!
//! // Write what is queued (the page), then the 101 and the WebSocket connection.
//! let mut out = Vec::new();
//! conn.poll_transmit(now, &mut out);
//! assert!(out.ends_with(b"<html>"));
//! let mut ws = IncomingRequest::from_request(request, Config::default())?.accept(Accept::new())?;
//! ws.handle_input(&leftover);
//! ws.poll_transmit(now, &mut out);
//! assert!(out.ends_with(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"));
//! assert_eq!(ws.poll_event(), Some(Event::Message(Message::from("Hello"))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::body::{BodyDecoder, Progress};
use super::framing::Framing;
use super::head::RequestHead;
use super::reader::{Limits, RequestReader};
use super::tokens::has_token;
use super::write::{push_header, push_status_line};
use super::Http1Error;
use crate::transmit::{TransmitQueue, SHARE_MIN};
use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, Method, StatusCode, Version};
use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};
use tracing::debug;

/// An input buffer that grew past this is released once it is empty.
const KEEP_INPUT_CAPACITY: usize = 64 << 10;

/// The interim response to `Expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The methods a [`ServerConn`] passes to the application; others get 501.
const KNOWN_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::OPTIONS,
    Method::TRACE,
    Method::CONNECT,
    Method::PATCH,
];

/// Bounds and timeouts of a [`ServerConn`], with safe defaults.
///
/// ```
/// use laputa_core::http1::ServerLimits;
/// use std::time::Duration;
///
/// let mut limits = ServerLimits::default();
/// limits.max_body = 16 << 20; // uploads up to 16 MiB
/// limits.request_timeout = Duration::from_secs(5);
/// assert_eq!(limits.max_pipelined, 16);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerLimits {
    /// Longest request line in bytes (default 8 KiB). Over it: 414.
    pub max_request_line: usize,
    /// Largest request head in bytes, its empty line included (default 16 KiB). Over it: 431.
    pub max_head_size: usize,
    /// Most header lines in a request head (default 64). Over it: 431.
    pub max_headers: usize,
    /// Largest request body in bytes, after decoding (default 1 MiB). A `Content-Length` over it
    /// is answered 413 before the request reaches the application; a chunked body that grows
    /// past it ends with [`HttpEvent::Error`] and 413. Bodies are streamed, never buffered
    /// whole: this is policy, not memory.
    pub max_body: u64,
    /// Most bytes of a request body discarded after its response so that the connection can
    /// carry the next request (default 256 KiB). A body not read by the application is drained
    /// up to this; past it (or when a `Content-Length` says it would pass it) the connection
    /// closes after the response instead.
    pub max_drain: u64,
    /// Most requests read ahead of their responses (default 16): past it, further pipelined
    /// requests wait unread in the input until responses catch up.
    pub max_pipelined: usize,
    /// Input held unparsed before [`ServerConn::wants_input`] says to stop reading (default
    /// 64 KiB): input waits while the application has not polled it, while pipelined requests
    /// wait for responses, and while a body waits for `100 Continue`.
    pub max_buffered_input: usize,
    /// How long a request head may take to arrive, from its first byte to its empty line, and
    /// how long a new connection may wait before its first byte (default 10 s). A head cut off
    /// gets 408; a connection that sent nothing is closed quietly. A duration too large to add
    /// to an `Instant` means none.
    pub request_timeout: Duration,
    /// How long a kept-alive connection may stay idle between requests (default 60 s); it is
    /// then closed quietly.
    pub keep_alive_timeout: Duration,
    /// How long a request body may go without a byte arriving while the connection waits for
    /// it (default 30 s), so that a client that stops in the middle of a body cannot hold the
    /// connection. Past it the request gets 408, or, when it was already answered (a body
    /// being drained), the connection closes. The clock runs only while the connection waits
    /// for the client: not while a body waits for `100 Continue`, nor while bytes received wait
    /// for the application. A duration too large to add to an `Instant` means none.
    pub body_timeout: Duration,
    /// After the last response, once the write side is shut down, how long the connection
    /// keeps reading (and discarding) until the client closes (default 2 s), so that a client
    /// still sending (pipelined requests after a `Connection: close`, an unread body) does not
    /// get a TCP reset that destroys the response before it reads it (RFC 9112 section 9.6).
    pub linger: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_request_line: 8 << 10,
            max_head_size: 16 << 10,
            max_headers: 64,
            max_body: 1 << 20,
            max_drain: 256 << 10,
            max_pipelined: 16,
            max_buffered_input: 64 << 10,
            request_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            linger: Duration::from_secs(2),
        }
    }
}

/// How a message body is framed: of a request, as [`HttpEvent::Request`] says; of a response,
/// as [`ServerConn::respond`] is told.
///
/// ```
/// use laputa_core::http1::BodyKind;
/// assert!(BodyKind::Chunked.has_body());
/// assert!(!BodyKind::Length(0).has_body());
/// assert!(!BodyKind::Empty.has_body());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// No body.
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// A body whose length is not known in advance: chunked (or, to an HTTP/1.0 client, until
    /// the connection closes).
    Chunked,
}

impl BodyKind {
    /// Whether any body bytes follow.
    ///
    /// ```
    /// use laputa_core::http1::BodyKind;
    /// assert!(BodyKind::Length(1).has_body());
    /// ```
    pub fn has_body(self) -> bool {
        !matches!(self, Self::Empty | Self::Length(0))
    }
}

/// What [`ServerConn::poll_event`] yields.
///
/// For each request: [`Request`](Self::Request), then, if it has a body,
/// [`BodyData`](Self::BodyData) events and [`BodyEnd`](Self::BodyEnd) (or
/// [`Error`](Self::Error) when the body is broken). A request without a body has no body events.
/// Once the response to a request is finished, the rest of its body is discarded and no more
/// body events come for it.
#[derive(Debug)]
#[non_exhaustive]
pub enum HttpEvent {
    /// A request head. Answer it with [`ServerConn::respond`], in order.
    Request {
        /// The method, target, version and header fields.
        request: http::Request<()>,
        /// How its body is framed.
        body: BodyKind,
        /// The client sent `Expect: 100-continue` (HTTP/1.1, with a body) and waits for `100
        /// Continue` before it sends the body: no body event comes until the application calls
        /// [`ServerConn::accept_body`]. A response without it closes the connection after it.
        expects_continue: bool,
    },
    /// Bytes of the current request's body, decoded.
    BodyData(Bytes),
    /// The current request's body ended.
    BodyEnd {
        /// The trailer fields of a chunked body (empty for other bodies, or when it had none).
        trailers: HeaderMap,
    },
    /// A WebSocket upgrade request (`GET`, HTTP/1.1, `Upgrade: websocket`, `Connection:
    /// upgrade`, no body), yielded once every request before it is answered. The connection
    /// reads nothing more: write what [`ServerConn::transmit`] still holds, then hand `request`
    /// to the WebSocket side (`IncomingRequest::from_request`) and feed it `leftover`, the
    /// bytes that came after the request. Refusing it through [`ServerConn::respond`] instead
    /// answers it as any request, and the connection closes after that response.
    Upgrade {
        /// The upgrade request.
        request: http::Request<()>,
        /// The bytes received after it: the start of the WebSocket stream.
        leftover: Bytes,
    },
    /// The client sent something that cannot be served: the core answers with
    /// [`Http1Error::status`] (a complete response with `Connection: close`) once the
    /// responses before it are sent, and the connection closes. When the current request's
    /// body broke while its response was already started, the connection closes after that
    /// response instead.
    Error(Http1Error),
}

/// A command of the application that the connection cannot carry out; nothing was queued.
///
/// ```
/// use laputa_core::http::Response;
/// use laputa_core::http1::{BodyKind, ResponseError, ServerConn, ServerLimits};
/// use std::time::Instant;
///
/// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
/// assert_eq!(conn.respond(Response::new(()), BodyKind::Empty), Err(ResponseError::NoRequest));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseError {
    /// No request waits for a response (or the connection is closing).
    NoRequest,
    /// The previous response is not finished: finish it first.
    InProgress,
    /// No response is in progress: [`ServerConn::respond`] first.
    NoResponse,
    /// More body bytes than the `Content-Length` given to [`ServerConn::respond`].
    BodyTooLong,
    /// [`ServerConn::finish_body`] before all the bytes of the `Content-Length` were sent. The
    /// response cannot be completed: the connection closes after what was queued.
    BodyTooShort,
    /// A status that a response may not have here: `1xx` (the core sends `100 Continue`
    /// itself, and upgrades belong to the WebSocket side), or a `2xx` to `CONNECT` (a tunnel).
    InvalidStatus,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoRequest => "no request waits for a response",
            Self::InProgress => "the previous response is not finished",
            Self::NoResponse => "no response is in progress",
            Self::BodyTooLong => "more body bytes than the Content-Length",
            Self::BodyTooShort => "fewer body bytes than the Content-Length",
            Self::InvalidStatus => "a status this response may not have (1xx, or 2xx to CONNECT)",
        })
    }
}

impl std::error::Error for ResponseError {}

/// Whether `100 Continue` is owed to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Continue {
    /// Not expected, or already sent.
    No,
    /// Expected; the application has not accepted the body.
    Expected,
    /// Accepted: sent as soon as the request is the oldest unanswered.
    Wanted,
}

/// A request read and not yet answered.
#[derive(Debug)]
struct Pending {
    head_method: bool,
    connect: bool,
    version: Version,
    /// The request lets the connection persist.
    keep_alive: bool,
    /// Its body is still being read.
    body_open: bool,
    cont: Continue,
    upgrade: bool,
    /// The core answers it with this error's status.
    error: Option<Http1Error>,
}

impl Pending {
    fn failed(error: Http1Error, head_method: bool) -> Self {
        Self {
            head_method,
            connect: false,
            version: Version::HTTP_11,
            keep_alive: false,
            body_open: false,
            cont: Continue::No,
            upgrade: false,
            error: Some(error),
        }
    }
}

/// What is done with the body being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyMode {
    /// Handed to the application as events.
    Deliver,
    /// Held until the application accepts it (`Expect: 100-continue`).
    AwaitContinue,
    /// Its request is answered: discarded, at most this many bytes more.
    Drain(u64),
}

/// What the connection reads next.
#[derive(Debug)]
enum Read {
    /// A request head.
    Head,
    /// A request body.
    Body(BodyDecoder, BodyMode),
    /// An upgrade request, yielded once every request before it is answered.
    HeldUpgrade(Box<http::Request<()>>),
    /// An upgrade was yielded: nothing more is read.
    Upgraded,
    /// Nothing more is read: the connection closes once every pending request is answered.
    Stopped,
}

/// The response being sent, to the oldest pending request.
#[derive(Debug)]
struct Outgoing {
    framing: OutFraming,
    /// Body bytes are counted but not sent (`HEAD`, `204`, `304`).
    discard: bool,
    /// The connection closes after it.
    close: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutFraming {
    /// Bytes left of a `Content-Length`.
    Length(u64),
    Chunked,
    /// Until the connection closes (a body of unknown length to an HTTP/1.0 client).
    ToClose,
}

/// Which timer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimerKind {
    None,
    /// Waiting for the first byte of a request: closed quietly when it passes.
    Idle,
    /// A head has begun: 408 when it passes.
    Head,
    /// A body waits for its next bytes: 408 (or the close) when it passes.
    Body,
    /// Shut down, reading until the client closes.
    Linger,
}

/// One HTTP/1.1 connection, server side. See the [module docs](self) for the drive loop and
/// examples.
///
/// ```
/// use laputa_core::http1::{HttpEvent, ServerConn, ServerLimits};
/// use std::time::Instant;
///
/// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
/// conn.handle_input(b"BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n");
/// assert!(matches!(conn.poll_event(), Some(HttpEvent::Error(_))));
/// let mut out = Vec::new();
/// conn.poll_transmit(Instant::now(), &mut out);
/// assert!(out.starts_with(b"HTTP/1.1 501 Not Implemented\r\nConnection: close\r\n"));
/// assert!(conn.poll_shutdown());
/// ```
#[derive(Debug)]
pub struct ServerConn {
    limits: ServerLimits,
    reader: RequestReader,
    /// Received bytes not parsed yet.
    input: BytesMut,
    read: Read,
    eof: bool,
    /// An event ready before the next one is parsed.
    next: Option<HttpEvent>,
    /// Requests read and not answered, oldest first.
    pending: VecDeque<Pending>,
    response: Option<Outgoing>,
    transmit: TransmitQueue,
    /// A request head was read on this connection.
    served_any: bool,
    shutdown: bool,
    finished: bool,
    /// The latest clock reading.
    now: Instant,
    timer: TimerKind,
    /// When the timer fires; `None` until anchored to a clock reading (or for no timer).
    deadline: Option<Instant>,
    anchored: bool,
}

impl ServerConn {
    /// A connection accepted at `now`, waiting for its first request.
    ///
    /// ```
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let conn = ServerConn::new(ServerLimits::default(), now);
    /// assert_eq!(conn.poll_timeout(), Some(now + ServerLimits::default().request_timeout));
    /// ```
    pub fn new(limits: ServerLimits, now: Instant) -> Self {
        let reader_limits = Limits {
            max_head_size: limits.max_head_size,
            max_headers: limits.max_headers,
            max_request_line: limits.max_request_line,
        };
        let mut conn = Self {
            limits,
            reader: RequestReader::new(reader_limits),
            input: BytesMut::new(),
            read: Read::Head,
            eof: false,
            next: None,
            pending: VecDeque::new(),
            response: None,
            transmit: TransmitQueue::default(),
            served_any: false,
            shutdown: false,
            finished: false,
            now,
            timer: TimerKind::None,
            deadline: None,
            anchored: false,
        };
        conn.refresh_timer();
        conn.clock(now);
        conn
    }

    /// The limits the connection was made with.
    ///
    /// ```
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// let conn = ServerConn::new(ServerLimits::default(), std::time::Instant::now());
    /// assert_eq!(conn.limits().max_body, 1 << 20);
    /// ```
    pub fn limits(&self) -> &ServerLimits {
        &self.limits
    }

    // ---- input ----

    /// Feeds bytes read from the client. They are parsed as [`poll_event`](Self::poll_event)
    /// is called. Once the connection reads nothing more (closing, lingering), input is
    /// discarded.
    ///
    /// ```
    /// use laputa_core::http1::{HttpEvent, ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// conn.handle_input(b"GET / HTTP/1.1\r\n");
    /// assert!(conn.poll_event().is_none());
    /// conn.handle_input(b"Host: h\r\n\r\n");
    /// assert!(matches!(conn.poll_event(), Some(HttpEvent::Request { .. })));
    /// ```
    pub fn handle_input(&mut self, data: &[u8]) {
        if !matches!(self.read, Read::Stopped | Read::Upgraded) && !self.finished {
            self.input.extend_from_slice(data);
        }
        self.refresh_timer();
    }

    /// The client closed its side. Requests already read are still answered; a head or body
    /// cut short is not (a body cut short ends with [`HttpEvent::Error`]).
    ///
    /// ```
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// conn.handle_eof();
    /// assert!(conn.poll_event().is_none());
    /// assert!(conn.poll_shutdown());
    /// assert!(conn.is_finished());
    /// ```
    pub fn handle_eof(&mut self) {
        self.eof = true;
        if self.shutdown {
            self.finished = true;
        }
        self.refresh_timer();
    }

    /// Tells the connection the time; call it when [`poll_timeout`](Self::poll_timeout)
    /// passes. A head not complete by its deadline, or a body that stalls past the body
    /// timeout, is answered 408 (and
    /// [`HttpEvent::Error`]`(`[`Http1Error::Timeout`]`)` is yielded); an idle connection is
    /// closed quietly; a lingering one is finished.
    ///
    /// ```
    /// use laputa_core::http1::{Http1Error, HttpEvent, ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut conn = ServerConn::new(ServerLimits::default(), now);
    /// conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n");
    /// assert!(conn.poll_event().is_none());
    /// conn.transmit(now); // a clock reading: the head timer starts
    /// conn.handle_timeout(conn.poll_timeout().unwrap());
    /// assert!(matches!(conn.poll_event(), Some(HttpEvent::Error(Http1Error::Timeout))));
    /// let mut out = Vec::new();
    /// conn.poll_transmit(now, &mut out);
    /// assert!(out.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"));
    /// ```
    pub fn handle_timeout(&mut self, now: Instant) {
        self.clock(now);
        if self.deadline.is_some_and(|deadline| now >= deadline) {
            self.deadline = None;
            match self.timer {
                TimerKind::None => {}
                TimerKind::Idle => {
                    debug!("idle HTTP connection closed");
                    self.stop_reading();
                }
                TimerKind::Head => {
                    debug!("request head timed out");
                    self.next = Some(self.fail(Http1Error::Timeout, false));
                }
                TimerKind::Body => {
                    if let Read::Body(_, mode) = self.read {
                        debug!("request body stalled");
                        self.next = self.body_failed(Http1Error::Timeout, mode);
                    }
                }
                TimerKind::Linger => self.finished = true,
            }
        }
        self.refresh_timer();
    }

    // ---- output ----

    /// The next event, parsing buffered input as needed; `None` when more input (or an answer
    /// from the application) is needed.
    ///
    /// ```
    /// use laputa_core::http1::{BodyKind, HttpEvent, ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// conn.handle_input(b"PUT /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
    /// let Some(HttpEvent::Request { body, .. }) = conn.poll_event() else { panic!() };
    /// assert_eq!(body, BodyKind::Chunked);
    /// let Some(HttpEvent::BodyData(data)) = conn.poll_event() else { panic!() };
    /// assert_eq!(&data[..], b"hi");
    /// assert!(matches!(conn.poll_event(), Some(HttpEvent::BodyEnd { .. })));
    /// ```
    pub fn poll_event(&mut self) -> Option<HttpEvent> {
        let event = self.next.take().or_else(|| self.parse());
        self.refresh_timer();
        event
    }

    /// The bytes waiting to be written (see [`TransmitQueue`]): write its chunks and advance
    /// past what the socket took. `now` is a clock reading, which starts the timers.
    ///
    /// ```
    /// use laputa_core::bytes::Buf;
    /// use laputa_core::http::Response;
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    /// conn.poll_event();
    /// conn.respond_full(Response::new(()), &b"hi"[..])?;
    /// let queue = conn.transmit(Instant::now());
    /// assert_eq!(queue.remaining(), 40);
    /// queue.advance(40);
    /// assert!(!conn.wants_transmit());
    /// # Ok::<(), laputa_core::http1::ResponseError>(())
    /// ```
    pub fn transmit(&mut self, now: Instant) -> &mut TransmitQueue {
        self.clock(now);
        &mut self.transmit
    }

    /// The bytes waiting to be written, appended to `buf` (and taken from the queue); how
    /// many.
    ///
    /// ```
    /// use laputa_core::http::Response;
    /// use laputa_core::http1::{BodyKind, ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// conn.handle_input(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
    /// conn.poll_event();
    /// conn.respond_full(Response::new(()), &b"not sent to HEAD"[..])?;
    /// let mut out = Vec::new();
    /// conn.poll_transmit(Instant::now(), &mut out);
    /// assert_eq!(out, b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n");
    /// # Ok::<(), laputa_core::http1::ResponseError>(())
    /// ```
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> usize {
        let queue = self.transmit(now);
        let n = queue.remaining();
        buf.reserve(n);
        while queue.has_remaining() {
            let chunk = queue.chunk();
            let len = chunk.len();
            buf.extend_from_slice(chunk);
            queue.advance(len);
        }
        n
    }

    /// Whether to shut down the TCP write side now: true once, when the connection closes and
    /// everything queued was written. The connection then lingers, reading and discarding,
    /// until the client closes or [`ServerLimits::linger`] passes.
    ///
    /// ```
    /// use laputa_core::http::Response;
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut conn = ServerConn::new(ServerLimits::default(), now);
    /// conn.handle_input(b"GET / HTTP/1.0\r\n\r\n");
    /// conn.poll_event();
    /// conn.respond_full(Response::new(()), &b"bye"[..])?;
    /// assert!(!conn.poll_shutdown(), "the response is not written yet");
    /// conn.poll_transmit(now, &mut Vec::new());
    /// assert!(conn.poll_shutdown());
    /// assert!(!conn.poll_shutdown(), "once");
    /// assert!(!conn.is_finished(), "lingering");
    /// conn.handle_eof();
    /// assert!(conn.is_finished());
    /// # Ok::<(), laputa_core::http1::ResponseError>(())
    /// ```
    pub fn poll_shutdown(&mut self) -> bool {
        if self.shutdown || !self.is_closing() || !self.transmit.is_empty() {
            return false;
        }
        self.shutdown = true;
        if self.eof || self.limits.linger.is_zero() {
            self.finished = true;
        }
        self.refresh_timer();
        true
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next; `None` when no
    /// timer runs (the application is answering, a body waits for `100 Continue`).
    ///
    /// ```
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut conn = ServerConn::new(ServerLimits::default(), now);
    /// conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    /// conn.poll_event();
    /// assert_eq!(conn.poll_timeout(), None, "the application is answering");
    /// ```
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.timer, self.anchored) {
            (TimerKind::None, _) => None,
            (_, true) => self.deadline,
            // Not anchored to a clock reading yet: no later than this; handle_timeout anchors.
            (kind, false) => self.now.checked_add(self.duration(kind)),
        }
    }

    // ---- commands ----

    /// Starts the response to the oldest request not yet answered. Framing headers are the
    /// core's: `Content-Length` and `Transfer-Encoding` in `head` are ignored, and written from
    /// `body`:
    ///
    /// - [`BodyKind::Empty`] (`Content-Length: 0`) and [`BodyKind::Length`]`(0)`: the response
    ///   is complete at once.
    /// - [`BodyKind::Length`]`(n)`: exactly `n` bytes follow, through
    ///   [`send_body`](Self::send_body), then [`finish_body`](Self::finish_body).
    /// - [`BodyKind::Chunked`]: chunked; to an HTTP/1.0 client, the raw body and the connection
    ///   closes after it.
    ///
    /// A response to `HEAD`, and a `204` or `304`, has its head only: body bytes given are
    /// dropped. `Connection: close` is added when the connection closes after this response:
    /// the client asked (or is HTTP/1.0 without `keep-alive`, which gets `Connection:
    /// keep-alive` otherwise), `head` has it, the request's body waits for a `100 Continue`
    /// not sent (the client may or may not send it), its unread rest is over
    /// [`ServerLimits::max_drain`], or nothing more will be read. `head`'s version is ignored
    /// (HTTP/1.1 is written).
    ///
    /// ```
    /// use laputa_core::http::{header, Response, StatusCode};
    /// use laputa_core::http1::{BodyKind, ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// conn.handle_input(b"GET /old HTTP/1.1\r\nHost: h\r\n\r\n");
    /// conn.poll_event();
    /// let moved = Response::builder().status(StatusCode::MOVED_PERMANENTLY).header(header::LOCATION, "/new");
    /// conn.respond(moved.body(())?, BodyKind::Empty)?;
    /// let mut out = Vec::new();
    /// conn.poll_transmit(Instant::now(), &mut out);
    /// assert_eq!(out, b"HTTP/1.1 301 Moved Permanently\r\nlocation: /new\r\nContent-Length: 0\r\n\r\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn respond(&mut self, head: http::Response<()>, body: BodyKind) -> Result<(), ResponseError> {
        let result = self.start_response(&head, body);
        self.refresh_timer();
        result
    }

    /// A complete response with this body (`Content-Length`).
    ///
    /// ```
    /// use laputa_core::http::Response;
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    /// conn.poll_event();
    /// conn.respond_full(Response::new(()), "hello")?;
    /// let mut out = Vec::new();
    /// conn.poll_transmit(Instant::now(), &mut out);
    /// assert!(out.ends_with(b"Content-Length: 5\r\n\r\nhello"));
    /// # Ok::<(), laputa_core::http1::ResponseError>(())
    /// ```
    pub fn respond_full(&mut self, head: http::Response<()>, body: impl Into<Bytes>) -> Result<(), ResponseError> {
        let body = body.into();
        self.respond(head, BodyKind::Length(body.len() as u64))?;
        if !body.is_empty() {
            self.send_body_bytes(body)?;
            self.finish_body()?;
        }
        Ok(())
    }

    /// Sends bytes of the response body (copied into the transmit queue).
    ///
    /// ```
    /// use laputa_core::http::Response;
    /// use laputa_core::http1::{BodyKind, ResponseError, ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    /// conn.poll_event();
    /// conn.respond(Response::new(()), BodyKind::Length(3))?;
    /// conn.send_body(b"ab")?;
    /// assert_eq!(conn.send_body(b"cd"), Err(ResponseError::BodyTooLong));
    /// conn.send_body(b"c")?;
    /// conn.finish_body()?;
    /// # Ok::<(), ResponseError>(())
    /// ```
    pub fn send_body(&mut self, data: &[u8]) -> Result<(), ResponseError> {
        let Some(out) = self.body_room(data.len())? else { return Ok(()) };
        if out == OutFraming::Chunked {
            push_chunk_size(&mut self.transmit, data.len());
            self.transmit.push_slice(data);
            self.transmit.push_slice(b"\r\n");
        } else {
            self.transmit.push_slice(data);
        }
        Ok(())
    }

    /// Sends bytes of the response body; from 8 KiB they are queued as they are, without a
    /// copy, and written with a vectored write.
    ///
    /// ```
    /// use laputa_core::bytes::Bytes;
    /// use laputa_core::http::Response;
    /// use laputa_core::http1::{BodyKind, ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// conn.handle_input(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
    /// conn.poll_event();
    /// conn.respond(Response::new(()), BodyKind::Chunked)?;
    /// conn.send_body_bytes(Bytes::from(vec![b'x'; 64 << 10]))?;
    /// conn.finish_body()?;
    /// let mut out = Vec::new();
    /// conn.poll_transmit(Instant::now(), &mut out);
    /// assert!(out.ends_with(b"xx\r\n0\r\n\r\n"));
    /// # Ok::<(), laputa_core::http1::ResponseError>(())
    /// ```
    pub fn send_body_bytes(&mut self, data: Bytes) -> Result<(), ResponseError> {
        let Some(out) = self.body_room(data.len())? else { return Ok(()) };
        if out == OutFraming::Chunked {
            push_chunk_size(&mut self.transmit, data.len());
        }
        if data.len() >= SHARE_MIN {
            self.transmit.push_shared(&[], &data);
        } else {
            self.transmit.push_slice(&data);
        }
        if out == OutFraming::Chunked {
            self.transmit.push_slice(b"\r\n");
        }
        Ok(())
    }

    /// Ends the response body (the last chunk of a chunked one). A `Content-Length` body must
    /// be complete: [`ResponseError::BodyTooShort`] otherwise, and the connection closes after
    /// what was queued.
    ///
    /// ```
    /// use laputa_core::http::Response;
    /// use laputa_core::http1::{BodyKind, ResponseError, ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    /// conn.poll_event();
    /// conn.respond(Response::new(()), BodyKind::Length(10))?;
    /// conn.send_body(b"short")?;
    /// assert_eq!(conn.finish_body(), Err(ResponseError::BodyTooShort));
    /// conn.poll_transmit(Instant::now(), &mut Vec::new());
    /// assert!(conn.poll_shutdown());
    /// # Ok::<(), ResponseError>(())
    /// ```
    pub fn finish_body(&mut self) -> Result<(), ResponseError> {
        let out = self.response.as_ref().ok_or(ResponseError::NoResponse)?;
        let result = match (out.framing, out.discard) {
            (OutFraming::Length(left), false) if left > 0 => {
                debug!(missing = left, "response body shorter than its Content-Length: closing");
                self.response = None;
                self.pending.clear();
                self.stop_reading();
                Err(ResponseError::BodyTooShort)
            }
            (OutFraming::Chunked, false) => {
                self.transmit.push_slice(b"0\r\n\r\n");
                self.complete_response();
                Ok(())
            }
            _ => {
                self.complete_response();
                Ok(())
            }
        };
        self.refresh_timer();
        result
    }

    /// Lets the body of the request being read come: for a request that expects it
    /// ([`HttpEvent::Request`]'s `expects_continue`), `100 Continue` is sent (as
    /// soon as the responses before it are) and body events follow. Nothing for other
    /// requests.
    ///
    /// ```
    /// use laputa_core::http1::{HttpEvent, ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// conn.handle_input(b"PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    /// let Some(HttpEvent::Request { expects_continue: true, .. }) = conn.poll_event() else { panic!() };
    /// let mut out = Vec::new();
    /// assert_eq!(conn.poll_transmit(Instant::now(), &mut out), 0, "no 100 before the application asks");
    /// conn.accept_body();
    /// conn.poll_transmit(Instant::now(), &mut out);
    /// assert_eq!(out, b"HTTP/1.1 100 Continue\r\n\r\n");
    /// conn.handle_input(b"ok");
    /// assert!(matches!(conn.poll_event(), Some(HttpEvent::BodyData(_))));
    /// ```
    pub fn accept_body(&mut self) {
        if let Read::Body(_, mode @ BodyMode::AwaitContinue) = &mut self.read {
            *mode = BodyMode::Deliver;
            if let Some(request) = self.pending.back_mut() {
                request.cont = Continue::Wanted;
            }
            self.advance();
        }
        self.refresh_timer();
    }

    // ---- getters ----

    /// Whether the driver should read: false after an upgrade, and while
    /// [`ServerLimits::max_buffered_input`] bytes wait unparsed.
    ///
    /// ```
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut limits = ServerLimits::default();
    /// limits.max_buffered_input = 16;
    /// let mut conn = ServerConn::new(limits, Instant::now());
    /// conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    /// assert!(!conn.wants_input(), "poll the events first");
    /// conn.poll_event();
    /// assert!(conn.wants_input());
    /// ```
    pub fn wants_input(&self) -> bool {
        match self.read {
            Read::Upgraded => false,
            _ => !self.finished && self.input.len() < self.limits.max_buffered_input,
        }
    }

    /// Whether [`transmit`](Self::transmit) has something to write, or wants a clock reading
    /// to start a timer.
    ///
    /// ```
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// assert!(!conn.wants_transmit());
    /// ```
    pub fn wants_transmit(&self) -> bool {
        !self.transmit.is_empty() || (self.timer != TimerKind::None && !self.anchored)
    }

    /// Bytes queued and not yet written.
    ///
    /// ```
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// let conn = ServerConn::new(ServerLimits::default(), std::time::Instant::now());
    /// assert_eq!(conn.pending_transmit(), 0);
    /// ```
    pub fn pending_transmit(&self) -> usize {
        self.transmit.remaining()
    }

    /// Bytes of output the driver has taken from [`transmit`](Self::transmit) (advanced past)
    /// since the connection was made: a driver that sees it move knows the client reads (a
    /// write-stall deadline restarts).
    ///
    /// ```
    /// use laputa_core::bytes::Buf;
    /// use laputa_core::http::Response;
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// conn.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    /// conn.poll_event();
    /// conn.respond_full(Response::new(()), &b"hi"[..])?;
    /// conn.transmit(Instant::now()).advance(10);
    /// assert_eq!((conn.transmitted(), conn.pending_transmit()), (10, 30));
    /// # Ok::<(), laputa_core::http1::ResponseError>(())
    /// ```
    pub fn transmitted(&self) -> u64 {
        self.transmit.written()
    }

    /// Bytes received and not parsed yet (at most [`ServerLimits::max_buffered_input`] and one
    /// read more, for a driver that reads only while [`wants_input`](Self::wants_input)).
    ///
    /// ```
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// use std::time::Instant;
    ///
    /// let mut conn = ServerConn::new(ServerLimits::default(), Instant::now());
    /// conn.handle_input(b"GET / HTTP/1.1\r\n");
    /// assert_eq!(conn.buffered_input(), 16);
    /// conn.poll_event();
    /// assert_eq!(conn.buffered_input(), 0, "the head reader holds it now");
    /// ```
    pub fn buffered_input(&self) -> usize {
        self.input.len()
    }

    /// How many requests were read and not yet answered (the one being answered included).
    ///
    /// ```
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// let conn = ServerConn::new(ServerLimits::default(), std::time::Instant::now());
    /// assert_eq!(conn.unanswered(), 0);
    /// ```
    pub fn unanswered(&self) -> usize {
        self.pending.len()
    }

    /// Whether the connection is over: shut down and the client closed (or the linger time
    /// passed). Drop the socket.
    ///
    /// ```
    /// use laputa_core::http1::{ServerConn, ServerLimits};
    /// let conn = ServerConn::new(ServerLimits::default(), std::time::Instant::now());
    /// assert!(!conn.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    // ---- parsing ----

    /// Whether the connection closes as soon as its output is written: it reads nothing more
    /// and every request read is answered.
    fn is_closing(&self) -> bool {
        matches!(self.read, Read::Stopped) && self.pending.is_empty() && self.response.is_none()
    }

    /// Reads nothing more; what is buffered is dropped.
    fn stop_reading(&mut self) {
        self.read = Read::Stopped;
        self.input = BytesMut::new();
    }

    /// Parses the next event from the input.
    fn parse(&mut self) -> Option<HttpEvent> {
        loop {
            match &mut self.read {
                Read::Head => {
                    if self.pending.len() >= self.limits.max_pipelined.max(1) {
                        return None;
                    }
                    if self.input.is_empty() {
                        if self.eof {
                            debug!(partial = self.reader.buffered(), "client closed between requests");
                            self.stop_reading();
                        }
                        return None;
                    }
                    match self.reader.push(&self.input) {
                        Ok(None) => {
                            self.consume(self.input.len());
                        }
                        Ok(Some((head, used))) => {
                            self.consume(used);
                            self.served_any = true;
                            // The next head gets a timer of its own.
                            self.timer = TimerKind::None;
                            if let Some(event) = self.on_head(head) {
                                return Some(event);
                            }
                        }
                        Err(err) => return Some(self.fail(err, false)),
                    }
                }
                Read::Body(decoder, mode) => {
                    if *mode == BodyMode::AwaitContinue {
                        return None;
                    }
                    if self.input.is_empty() {
                        if !self.eof {
                            return None;
                        }
                        if let Err(err) = decoder.push_eof() {
                            let mode = *mode;
                            return self.body_failed(err, mode);
                        }
                    }
                    let mut body = Vec::new();
                    let progress = match decoder.push(&self.input, &mut body) {
                        Ok(progress) => progress,
                        Err(err) => {
                            let mode = *mode;
                            return self.body_failed(err, mode);
                        }
                    };
                    let trailers = decoder.take_trailers();
                    let draining = match mode {
                        BodyMode::Drain(left) => match left.checked_sub(body.len() as u64) {
                            Some(rest) => {
                                *left = rest;
                                true
                            }
                            None => {
                                debug!("unread request body over max_drain: closing");
                                self.stop_reading();
                                return None;
                            }
                        },
                        _ => false,
                    };
                    let done = match progress {
                        Progress::NeedMore => {
                            self.consume(self.input.len());
                            false
                        }
                        Progress::Done(used) => {
                            self.consume(used);
                            true
                        }
                    };
                    if draining {
                        if done {
                            self.read = Read::Head;
                        }
                        continue;
                    }
                    if done {
                        self.body_ended();
                        let end = HttpEvent::BodyEnd { trailers: trailers.unwrap_or_default() };
                        if body.is_empty() {
                            return Some(end);
                        }
                        self.next = Some(end);
                    }
                    if body.is_empty() {
                        return None;
                    }
                    return Some(HttpEvent::BodyData(Bytes::from(body)));
                }
                Read::HeldUpgrade(_) => {
                    if !self.pending.is_empty() {
                        return None;
                    }
                    let Read::HeldUpgrade(request) = std::mem::replace(&mut self.read, Read::Upgraded) else {
                        unreachable!("matched above")
                    };
                    return Some(self.upgrade(*request));
                }
                Read::Upgraded | Read::Stopped => return None,
            }
        }
    }

    /// Drops `n` parsed bytes of input.
    fn consume(&mut self, n: usize) {
        self.input.advance(n);
        if self.input.is_empty() && self.input.capacity() > KEEP_INPUT_CAPACITY {
            self.input = BytesMut::new();
        }
    }

    /// A complete head: checks it, and yields its event (or holds an upgrade).
    fn on_head(&mut self, head: RequestHead) -> Option<HttpEvent> {
        let head_method = head.method == Method::HEAD;
        if !KNOWN_METHODS.contains(&head.method) {
            debug!(method = %head.method, "unknown method");
            return Some(self.fail(Http1Error::UnknownMethod, false));
        }
        if let Err(err) = check_host(&head) {
            return Some(self.fail(err, head_method));
        }
        let framing = match head.framing() {
            Ok(framing) => framing,
            Err(err) => return Some(self.fail(err, head_method)),
        };
        let body = match framing {
            Framing::Length(n) if n > self.limits.max_body => {
                return Some(self.fail(Http1Error::BodyTooLarge, head_method));
            }
            Framing::Length(0) | Framing::NoBody | Framing::ReadToClose => BodyKind::Empty,
            Framing::Length(n) => BodyKind::Length(n),
            Framing::Chunked => BodyKind::Chunked,
        };
        let keep_alive = head.persistent();
        let version = head.version;
        if body == BodyKind::Empty && is_websocket_upgrade(&head) {
            let request = http::Request::from(head);
            if self.pending.is_empty() {
                self.read = Read::Upgraded;
                return Some(self.upgrade(request));
            }
            self.read = Read::HeldUpgrade(Box::new(request));
            return None;
        }
        // RFC 9110 section 10.1.1: "A server that receives a 100-continue expectation in an
        // HTTP/1.0 request MUST ignore that expectation."
        let expects_continue =
            body.has_body() && version == Version::HTTP_11 && has_token(&head.headers, &EXPECT, "100-continue");
        self.pending.push_back(Pending {
            head_method,
            connect: head.method == Method::CONNECT,
            version,
            keep_alive,
            body_open: body.has_body(),
            cont: if expects_continue { Continue::Expected } else { Continue::No },
            upgrade: false,
            error: None,
        });
        self.read = if body.has_body() {
            let mode = if expects_continue { BodyMode::AwaitContinue } else { BodyMode::Deliver };
            Read::Body(BodyDecoder::new(framing, self.limits.max_body), mode)
        } else if keep_alive {
            Read::Head
        } else {
            // RFC 9112 section 9.6: a server that receives "close" "MUST NOT process any
            // further requests received on that connection".
            self.input = BytesMut::new();
            Read::Stopped
        };
        Some(HttpEvent::Request { request: head.into(), body, expects_continue })
    }

    /// Yields the upgrade: the request waits for its answer (a refusal through `respond`) or
    /// for the driver to hand the connection over.
    fn upgrade(&mut self, request: http::Request<()>) -> HttpEvent {
        debug!(path = request.uri().path(), "WebSocket upgrade request");
        self.pending.push_back(Pending {
            head_method: false,
            connect: false,
            version: Version::HTTP_11,
            keep_alive: false,
            body_open: false,
            cont: Continue::No,
            upgrade: true,
            error: None,
        });
        HttpEvent::Upgrade { request, leftover: self.input.split().freeze() }
    }

    /// The body being delivered ended.
    fn body_ended(&mut self) {
        let keep_alive = match self.pending.back_mut() {
            Some(request) => {
                request.body_open = false;
                request.keep_alive
            }
            None => true,
        };
        if keep_alive {
            self.read = Read::Head;
        } else {
            self.stop_reading();
        }
    }

    /// A body could not be read.
    fn body_failed(&mut self, err: Http1Error, mode: BodyMode) -> Option<HttpEvent> {
        debug!(%err, "request body failed");
        if let BodyMode::Drain(_) = mode {
            // Its request is answered: nobody to tell.
            self.stop_reading();
            return None;
        }
        let answering = self.pending.len() == 1 && self.response.is_some();
        if let Some(request) = self.pending.back_mut() {
            request.body_open = false;
            if !answering {
                request.error = Some(err);
            }
        }
        self.stop_reading();
        self.advance();
        Some(HttpEvent::Error(err))
    }

    /// A head that cannot be served: answered in order with the error's status, then the
    /// connection closes.
    fn fail(&mut self, err: Http1Error, head_method: bool) -> HttpEvent {
        debug!(%err, "bad request");
        self.pending.push_back(Pending::failed(err, head_method));
        self.stop_reading();
        self.advance();
        HttpEvent::Error(err)
    }

    // ---- responding ----

    fn start_response(&mut self, head: &http::Response<()>, body: BodyKind) -> Result<(), ResponseError> {
        if self.response.is_some() {
            return Err(ResponseError::InProgress);
        }
        let request = self.pending.front().ok_or(ResponseError::NoRequest)?;
        let status = head.status();
        if status.is_informational() || (request.connect && status.is_success()) {
            return Err(ResponseError::InvalidStatus);
        }
        let bodiless = request.head_method || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
        let unread = match &self.read {
            Read::Body(decoder, _) if request.body_open => decoder.remaining().unwrap_or(0),
            _ => 0,
        };
        // HTTP/1.0 has no chunked coding: such a body ends when the connection closes.
        let to_close = request.version == Version::HTTP_10 && body == BodyKind::Chunked;
        let close = !request.keep_alive
            || has_token(head.headers(), &CONNECTION, "close")
            || request.upgrade
            || (request.body_open && request.cont == Continue::Expected)
            || unread > self.limits.max_drain
            || to_close
            || (matches!(self.read, Read::Stopped) && self.pending.len() == 1);

        let mut out = Vec::with_capacity(128);
        push_status_line(&mut out, Version::HTTP_11, status);
        for (name, value) in head.headers() {
            if name != CONTENT_LENGTH && name != TRANSFER_ENCODING {
                push_header(&mut out, name.as_str(), value.as_bytes());
            }
        }
        if close && !has_token(head.headers(), &CONNECTION, "close") {
            push_header(&mut out, "Connection", b"close");
        } else if !close && request.version == Version::HTTP_10 && !has_token(head.headers(), &CONNECTION, "keep-alive")
        {
            push_header(&mut out, "Connection", b"keep-alive");
        }
        // RFC 9110 section 8.6: no Content-Length in a 204; a 304 describes what a GET would
        // have sent, which this response does not know.
        let framing_header = status != StatusCode::NO_CONTENT && status != StatusCode::NOT_MODIFIED;
        let framing = match body {
            BodyKind::Empty | BodyKind::Length(0) => {
                if framing_header {
                    push_header(&mut out, "Content-Length", b"0");
                }
                OutFraming::Length(0)
            }
            BodyKind::Length(n) => {
                if framing_header {
                    push_header(&mut out, "Content-Length", n.to_string().as_bytes());
                }
                OutFraming::Length(n)
            }
            BodyKind::Chunked if request.version == Version::HTTP_10 => OutFraming::ToClose,
            BodyKind::Chunked => {
                if framing_header {
                    push_header(&mut out, "Transfer-Encoding", b"chunked");
                }
                OutFraming::Chunked
            }
        };
        out.extend_from_slice(b"\r\n");
        self.transmit.push_slice(&out);
        if let Some(request) = self.pending.front_mut() {
            if request.cont == Continue::Expected && request.body_open {
                // The final response instead of 100: the body will not be read.
                request.cont = Continue::No;
                self.read = Read::Stopped;
                self.input = BytesMut::new();
            }
        }
        self.response = Some(Outgoing { framing, discard: bodiless, close });
        if framing == OutFraming::Length(0) {
            self.complete_response();
        }
        Ok(())
    }

    /// Checks that `n` body bytes may be sent now; the framing to write them in, or `None` to
    /// drop them.
    fn body_room(&mut self, n: usize) -> Result<Option<OutFraming>, ResponseError> {
        let out = self.response.as_mut().ok_or(ResponseError::NoResponse)?;
        if out.discard {
            return Ok(None);
        }
        if let OutFraming::Length(left) = &mut out.framing {
            *left = left.checked_sub(n as u64).ok_or(ResponseError::BodyTooLong)?;
        }
        Ok(if n == 0 { None } else { Some(out.framing) })
    }

    /// The response in progress is complete: its request is answered.
    fn complete_response(&mut self) {
        let Some(out) = self.response.take() else { return };
        let request = self.pending.pop_front();
        let close = out.close || out.framing == OutFraming::ToClose;
        if close {
            self.pending.clear();
            self.stop_reading();
        } else if request.is_some_and(|request| request.body_open) {
            // Its body is the one being read: drain the rest (bounded), then the next request.
            if let Read::Body(_, mode) = &mut self.read {
                *mode = BodyMode::Drain(self.limits.max_drain);
            }
        }
        self.advance();
    }

    /// Answers what the core answers at the front of the queue: errors, and `100 Continue`.
    fn advance(&mut self) {
        if self.response.is_some() {
            return;
        }
        let Some(request) = self.pending.front_mut() else { return };
        if let Some(err) = request.error {
            let head_method = request.head_method;
            self.pending.clear();
            self.transmit.push_slice(&error_response(err, head_method));
            self.stop_reading();
        } else if request.cont == Continue::Wanted {
            request.cont = Continue::No;
            self.transmit.push_slice(CONTINUE);
        }
    }

    // ---- timers ----

    fn duration(&self, kind: TimerKind) -> Duration {
        match kind {
            TimerKind::None => Duration::ZERO,
            TimerKind::Idle if self.served_any => self.limits.keep_alive_timeout,
            TimerKind::Idle | TimerKind::Head => self.limits.request_timeout,
            TimerKind::Body => self.limits.body_timeout,
            TimerKind::Linger => self.limits.linger,
        }
    }

    /// The timer the state calls for.
    fn wanted_timer(&self) -> TimerKind {
        if self.finished {
            return TimerKind::None;
        }
        if self.shutdown {
            return TimerKind::Linger;
        }
        match self.read {
            Read::Head if self.pending.len() >= self.limits.max_pipelined.max(1) => TimerKind::None,
            Read::Head if self.reader.buffered() > 0 || !self.input.is_empty() => TimerKind::Head,
            Read::Head if self.pending.is_empty() && self.next.is_none() => TimerKind::Idle,
            // Restarted by every read: input received makes it `None` until parsed.
            Read::Body(_, BodyMode::Deliver | BodyMode::Drain(_)) if self.input.is_empty() && !self.eof => {
                TimerKind::Body
            }
            _ => TimerKind::None,
        }
    }

    /// Switches to the timer the state calls for; a new one starts at the next clock reading.
    fn refresh_timer(&mut self) {
        let wanted = self.wanted_timer();
        if wanted != self.timer {
            self.timer = wanted;
            self.deadline = None;
            self.anchored = false;
        }
    }

    /// A clock reading: starts a timer waiting for one.
    fn clock(&mut self, now: Instant) {
        self.now = now;
        if !self.anchored && self.timer != TimerKind::None {
            self.anchored = true;
            self.deadline = now.checked_add(self.duration(self.timer));
        }
    }
}

/// RFC 9112 section 3.2: "A server MUST respond with a 400 (Bad Request) status code to any
/// HTTP/1.1 request message that lacks a Host header field and to any request message that
/// contains more than one Host header field line or a Host header field with an invalid field
/// value."
fn check_host(head: &RequestHead) -> Result<(), Http1Error> {
    let mut hosts = head.headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if head.version == Version::HTTP_10 => Ok(()),
        (None, _) => Err(Http1Error::Malformed("missing Host header")),
        (Some(_), Some(_)) => Err(Http1Error::Malformed("more than one Host header")),
        // An empty Host is valid when the target has no authority (RFC 9110 section 7.2).
        (Some(host), None) if host.is_empty() => Ok(()),
        (Some(host), None) => match http::uri::Authority::try_from(host.as_bytes()) {
            Ok(authority) if !authority.as_str().contains('@') => Ok(()),
            _ => Err(Http1Error::Malformed("invalid Host header")),
        },
    }
}

/// A WebSocket upgrade request (RFC 6455 section 4.1), as far as the HTTP side tells: the
/// WebSocket side checks the rest.
fn is_websocket_upgrade(head: &RequestHead) -> bool {
    head.method == Method::GET
        && head.version == Version::HTTP_11
        && has_token(&head.headers, &UPGRADE, "websocket")
        && has_token(&head.headers, &CONNECTION, "upgrade")
}

/// The complete response the core sends for an error, before closing.
fn error_response(err: Http1Error, head_method: bool) -> Vec<u8> {
    let reason = err.reason();
    let mut out = Vec::with_capacity(128 + reason.len());
    push_status_line(&mut out, Version::HTTP_11, err.status());
    push_header(&mut out, "Connection", b"close");
    push_header(&mut out, "Content-Type", b"text/plain; charset=utf-8");
    push_header(&mut out, "Content-Length", (reason.len() + 1).to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    if !head_method {
        out.extend_from_slice(reason.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Queues a chunk-size line: the size in hex and CRLF, without allocating.
fn push_chunk_size(queue: &mut TransmitQueue, n: usize) {
    let mut line = [0u8; 2 * std::mem::size_of::<usize>() + 2];
    let digits = (usize::BITS - n.leading_zeros()).div_ceil(4).max(1) as usize;
    for (i, slot) in line[..digits].iter_mut().enumerate() {
        let shift = 4 * (digits - 1 - i);
        *slot = b"0123456789abcdef"[(n >> shift) & 0xf];
    }
    line[digits..digits + 2].copy_from_slice(b"\r\n");
    queue.push_slice(&line[..digits + 2]);
}

#[cfg(test)]
mod tests;
