//! One connection's HTTP/1.1 phase, written once for every driver: the core's `ServerConn`
//! (parsing, framing, keep-alive, pipelining, errors), the application's handlers answering each
//! request in order, a streamed body (a file) fed to the connection as its output drains, and
//! the hand-off of a WebSocket upgrade. A driver only moves bytes and time: it feeds input to
//! `conn`, calls [`Exchange::process`], writes `conn`'s output, and takes the upgrade once
//! everything before it is written.

use super::builder::Peer;
use super::http::{HttpRequest, HttpResponse, HttpRoutes, ResponseBody};
use laputa_core::bytes::{Bytes, BytesMut};
use laputa_core::http1::{BodyKind, HttpEvent, ServerConn, ServerLimits};
use std::io::Read;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// How much of a streamed body is read at a time.
const BODY_CHUNK: usize = 64 * 1024;

/// An upgrade request and the bytes that came after it.
pub(crate) type UpgradeRequest = (http::Request<()>, Bytes);

pub(crate) struct Exchange {
    pub(crate) conn: ServerConn,
    routes: Arc<HttpRoutes>,
    peer: Peer,
    /// A request whose body is arriving.
    collecting: Option<(http::Request<()>, BytesMut)>,
    /// A response body being read from its source: what is left of it.
    streaming: Option<(Box<dyn Read + Send>, u64)>,
    upgrade: Option<UpgradeRequest>,
}

impl Exchange {
    pub(crate) fn new(limits: ServerLimits, now: Instant, routes: Arc<HttpRoutes>, peer: Peer) -> Self {
        Self { conn: ServerConn::new(limits, now), routes, peer, collecting: None, streaming: None, upgrade: None }
    }

    /// Answers every request ready, in order, and feeds a streamed body while the connection
    /// holds less than `high_water` bytes of output. Stops at an upgrade.
    pub(crate) fn process(&mut self, high_water: usize) {
        loop {
            if self.streaming.is_some() && !self.stream_body(high_water) {
                return; // waits for the output to drain
            }
            if self.upgrade.is_some() {
                return;
            }
            let Some(event) = self.conn.poll_event() else { return };
            match event {
                HttpEvent::Request { request, body, expects_continue } => {
                    if body.has_body() {
                        if expects_continue {
                            self.conn.accept_body();
                        }
                        self.collecting = Some((request, BytesMut::new()));
                    } else {
                        self.answer(request, Bytes::new());
                    }
                }
                HttpEvent::BodyData(data) => {
                    if let Some((_, body)) = &mut self.collecting {
                        body.extend_from_slice(&data);
                    }
                }
                HttpEvent::BodyEnd { .. } => {
                    if let Some((request, body)) = self.collecting.take() {
                        self.answer(request, body.freeze());
                    }
                }
                HttpEvent::Upgrade { request, leftover } => self.upgrade = Some((request, leftover)),
                // The core answered it (and closes).
                HttpEvent::Error(error) => {
                    tracing::debug!(%error, remote = %self.peer.remote_addr, "HTTP request refused")
                }
                _ => {}
            }
        }
    }

    /// The upgrade request, once everything answered before it is written.
    pub(crate) fn take_upgrade(&mut self) -> Option<UpgradeRequest> {
        if self.conn.pending_transmit() > 0 {
            return None;
        }
        self.upgrade.take()
    }

    fn answer(&mut self, head: http::Request<()>, body: Bytes) {
        let request =
            HttpRequest { head, body, remote_addr: self.peer.remote_addr, secure: self.peer.secure, user: None };
        let response = self.routes.answer(&request);
        tracing::debug!(method = %request.method(), path = request.path(), status = %response.status_code(), "HTTP");
        self.respond(response);
    }

    fn respond(&mut self, response: HttpResponse) {
        let HttpResponse { mut head, body } = response;
        head.headers_mut().insert(http::header::DATE, date_now());
        let result = match body {
            ResponseBody::Bytes(bytes) => self.conn.respond_full(head, bytes),
            ResponseBody::Reader { reader, len } => {
                let started = self.conn.respond(head, BodyKind::Length(len));
                if started.is_ok() {
                    self.streaming = Some((reader, len));
                }
                started
            }
            ResponseBody::Empty => {
                // A head-only answer (HEAD, from the document root) says the length a GET gets.
                let declared =
                    head.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
                match declared {
                    Some(len) => self.conn.respond(head, BodyKind::Length(len)).and_then(|()| self.conn.finish_body()),
                    None => self.conn.respond(head, BodyKind::Empty),
                }
            }
        };
        if let Err(error) = result {
            tracing::debug!(?error, "response not sent: the connection closes");
        }
    }

    /// Reads the streamed body into the connection while its output is below `high_water`;
    /// true once the body is whole (or failed: the connection then closes).
    fn stream_body(&mut self, high_water: usize) -> bool {
        let Some((reader, left)) = &mut self.streaming else { return true };
        while *left > 0 && self.conn.pending_transmit() < high_water {
            let mut chunk = vec![0; BODY_CHUNK.min(*left as usize)];
            match reader.read(&mut chunk) {
                Ok(0) | Err(_) => {
                    // The source ended early: the core closes the connection rather than
                    // frame a short body.
                    tracing::warn!(missing = *left, "response body ended early");
                    let _ = self.conn.finish_body();
                    self.streaming = None;
                    return true;
                }
                Ok(n) => {
                    chunk.truncate(n);
                    *left -= n as u64;
                    if self.conn.send_body_bytes(chunk.into()).is_err() {
                        self.streaming = None;
                        return true;
                    }
                }
            }
        }
        if *left > 0 {
            return false;
        }
        self.streaming = None;
        let _ = self.conn.finish_body();
        true
    }
}

/// The `Date` header of a response (RFC 9110 section 6.6.1: an origin server with a clock
/// sends it).
fn date_now() -> http::HeaderValue {
    let date = httpdate::fmt_http_date(SystemTime::now());
    http::HeaderValue::from_str(&date).unwrap_or(http::HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}
