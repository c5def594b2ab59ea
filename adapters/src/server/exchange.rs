//! One connection's HTTP/1.1 phase, written once for every driver: the core's `ServerConn`
//! (parsing, framing, keep-alive, pipelining, errors), the server's HTTP admission (the core's
//! `Admission::admit_request`) before the handlers, the application's handlers answering each
//! request in order, a streamed body (a file) fed to the connection as its output drains, the
//! write-stall deadline, and the hand-off of a WebSocket upgrade. A driver only moves bytes and
//! time: it asks [`Exchange::step`] what to do, does it (write `conn`'s output, shut down the
//! write side, read into `conn` until [`Exchange::poll_timeout`]), and takes the upgrade:
//!
//! ```text
//! loop match exchange.step(high_water) {
//!     Write        -> write conn.transmit(now), advancing past what the socket took
//!                     (waiting at most until poll_timeout, then handle_timeout)
//!     Shutdown     -> shut down the write side; exchange.shut_down()
//!     Wait         -> read into conn.handle_input / handle_eof while conn.wants_input(),
//!                     waiting at most until poll_timeout, then handle_timeout
//!     Upgrade(req) -> Shared::upgrade, then the session
//!     Done         -> drop the socket
//! }
//! ```

use super::builder::{Peer, Shared};
use super::http::{BodySink, HttpRequest, HttpResponse, HttpRoutes, ResponseBody, StreamHandler};
use laputa_core::bytes::{Bytes, BytesMut};
use laputa_core::handshake::Reject;
use laputa_core::http1::{BodyKind, HttpEvent, ServerConn};
use laputa_core::server::{Admission, User};
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How much of a streamed body is read at a time.
const BODY_CHUNK: usize = 64 * 1024;

/// An upgrade request and the bytes that came after it.
pub(crate) type UpgradeRequest = (http::Request<()>, Bytes);

/// What a driver does next for an [`Exchange`].
#[derive(Debug)]
pub(crate) enum Step {
    /// Write what `conn.transmit(now)` holds, advancing past what the socket takes, waiting
    /// at most until [`Exchange::poll_timeout`].
    Write,
    /// Shut down the write side, then [`Exchange::shut_down`].
    Shutdown,
    /// Read into `conn` while it [`wants_input`](ServerConn::wants_input), waiting at most
    /// until [`Exchange::poll_timeout`].
    Wait,
    /// Everything before it is written: hand the upgrade to `Shared::upgrade`.
    Upgrade(Box<UpgradeRequest>),
    /// The connection is over: drop the socket.
    Done,
}

pub(crate) struct Exchange {
    pub(crate) conn: ServerConn,
    routes: Arc<HttpRoutes>,
    /// Checks every plain request passes before its handler sees it.
    admission: Option<Admission>,
    peer: Peer,
    /// A request whose body is arriving, and who sent it.
    collecting: Option<Collecting>,
    /// A response body being read from its source: what is left of it.
    streaming: Option<(Box<dyn Read + Send>, u64)>,
    upgrade: Option<UpgradeRequest>,
    /// The core asked for the write side to be shut down; the driver has not yet.
    shutdown_owed: bool,
    /// How long output may wait with none of it written (`Config::write_stall_timeout`).
    write_stall: Option<Duration>,
    /// Since when output waits, and `conn.transmitted()` then.
    waiting: Option<(Instant, u64)>,
    /// The client stopped reading past the write-stall deadline.
    stalled: bool,
}

/// What admission gave a plain request: its user and the cookies to set.
type Admitted = (Option<User>, Vec<laputa_core::cookies::Cookie<'static>>);

/// A request whose body is arriving.
enum Collecting {
    /// Held whole for a handler.
    Whole(Box<(http::Request<()>, BytesMut, Admitted)>),
    /// Handed piece by piece to a stream handler's sink; the cookies to set on its response.
    Stream(Box<dyn BodySink>, Vec<laputa_core::cookies::Cookie<'static>>),
}

impl Exchange {
    /// The HTTP phase of a connection accepted at `now` from `peer`, with `shared`'s routes,
    /// limits, admission and write-stall timeout.
    pub(crate) fn new(shared: &Shared, peer: Peer, now: Instant) -> Self {
        Self {
            conn: ServerConn::new(shared.http_limits, now),
            routes: shared.http.clone(),
            admission: shared.http_admission.clone(),
            peer,
            collecting: None,
            streaming: None,
            upgrade: None,
            shutdown_owed: false,
            write_stall: shared.handshake.write_stall_timeout,
            waiting: None,
            stalled: false,
        }
    }

    /// Runs the connection as far as it goes without I/O (answers requests, feeds a streamed
    /// body while the output is below `high_water`) and says what the driver does next.
    pub(crate) fn step(&mut self, high_water: usize) -> Step {
        if self.stalled {
            return Step::Done;
        }
        self.process(high_water);
        let now = Instant::now();
        if self.conn.wants_transmit() && self.conn.pending_transmit() == 0 {
            self.conn.transmit(now); // a clock reading starts the timer it waits for
        }
        self.note_progress(now);
        if self.conn.pending_transmit() > 0 {
            return Step::Write;
        }
        if self.conn.poll_shutdown() {
            self.shutdown_owed = true;
        }
        if self.shutdown_owed {
            return Step::Shutdown;
        }
        if self.conn.is_finished() {
            return Step::Done;
        }
        match self.take_upgrade() {
            Some(upgrade) => Step::Upgrade(Box::new(upgrade)),
            None => Step::Wait,
        }
    }

    /// The driver shut down the write side.
    pub(crate) fn shut_down(&mut self) {
        self.shutdown_owed = false;
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due: the core's next deadline, or the
    /// write-stall deadline of output that waits.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let stall = self.waiting.zip(self.write_stall).and_then(|((since, _), stall)| since.checked_add(stall));
        match (self.conn.poll_timeout(), stall) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Tells the connection the time, once [`poll_timeout`](Self::poll_timeout) passed. Output
    /// that waited past the write-stall deadline with none of it written ends the connection.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.note_progress(now);
        let stall = self.waiting.zip(self.write_stall).and_then(|((since, _), stall)| since.checked_add(stall));
        if stall.is_some_and(|deadline| now >= deadline) {
            tracing::debug!(remote = %self.peer.remote_addr, "HTTP client reads nothing: connection dropped");
            self.stalled = true;
            return;
        }
        if self.conn.poll_timeout().is_some_and(|deadline| now >= deadline) {
            self.conn.handle_timeout(now);
        }
    }

    /// Restarts the write-stall wait when output went out, starts it when output begins to
    /// wait, ends it when none waits.
    fn note_progress(&mut self, now: Instant) {
        let written = self.conn.transmitted();
        self.waiting = match self.waiting {
            _ if self.conn.pending_transmit() == 0 => None,
            Some((since, before)) if before == written => Some((since, before)),
            _ => Some((now, written)),
        };
    }

    /// Answers every request ready, in order, and feeds a streamed body while the connection
    /// holds less than `high_water` bytes of output. Stops at an upgrade, and takes no new
    /// request while `high_water` bytes wait: a client that sends requests and reads no
    /// answers holds no more than that.
    fn process(&mut self, high_water: usize) {
        loop {
            if self.streaming.is_some() && !self.stream_body(high_water) {
                return; // waits for the output to drain
            }
            if self.upgrade.is_some() || self.conn.pending_transmit() >= high_water {
                return;
            }
            let Some(event) = self.conn.poll_event() else { return };
            match event {
                HttpEvent::Request { request, body, expects_continue } => {
                    let admitted = match self.admit(&request) {
                        Ok(admitted) => admitted,
                        Err(reject) => {
                            // Answered before its body: the core drains or closes.
                            self.respond(HttpResponse::from_reject(reject));
                            continue;
                        }
                    };
                    if let Some(handler) = self.routes.stream_handler(request.method()).cloned() {
                        self.start_stream(&handler, request, body.has_body(), expects_continue, admitted);
                    } else if body.has_body() {
                        if expects_continue {
                            self.conn.accept_body();
                        }
                        self.collecting = Some(Collecting::Whole(Box::new((request, BytesMut::new(), admitted))));
                    } else {
                        self.answer(request, Bytes::new(), admitted);
                    }
                }
                HttpEvent::BodyData(data) => match &mut self.collecting {
                    Some(Collecting::Whole(whole)) => whole.1.extend_from_slice(&data),
                    Some(Collecting::Stream(sink, _)) => sink.data(&data),
                    None => {}
                },
                HttpEvent::BodyEnd { .. } => match self.collecting.take() {
                    Some(Collecting::Whole(whole)) => {
                        let (request, body, admitted) = *whole;
                        self.answer(request, body.freeze(), admitted)
                    }
                    Some(Collecting::Stream(sink, cookies)) => self.finish_stream(sink, cookies),
                    None => {}
                },
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
    fn take_upgrade(&mut self) -> Option<UpgradeRequest> {
        if self.conn.pending_transmit() > 0 {
            return None;
        }
        self.upgrade.take()
    }

    /// The server's HTTP admission of a plain request: who sent it and the cookies to set, or
    /// the core's refusal.
    fn admit(&self, request: &http::Request<()>) -> Result<Admitted, Reject> {
        let Some(admission) = &self.admission else { return Ok((None, Vec::new())) };
        let now_secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        match admission.admit_request(request, now_secs) {
            Ok(admitted) => Ok((admitted.user, admitted.cookies)),
            Err(reject) => {
                tracing::debug!(status = %reject.status(), path = request.uri().path(), remote = %self.peer.remote_addr, "HTTP request refused");
                Err(reject)
            }
        }
    }

    /// A request for a stream handler: its sink takes the body as it arrives (a `100 Continue`
    /// goes out once the handler took it), or the handler's refusal is answered at once.
    fn start_stream(
        &mut self,
        handler: &StreamHandler,
        head: http::Request<()>,
        has_body: bool,
        expects_continue: bool,
        (user, cookies): Admitted,
    ) {
        let request = HttpRequest {
            head,
            body: Bytes::new(),
            remote_addr: self.peer.remote_addr,
            secure: self.peer.secure,
            user,
        };
        let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&request)));
        match started {
            Ok(Ok(sink)) if has_body => {
                if expects_continue {
                    self.conn.accept_body();
                }
                self.collecting = Some(Collecting::Stream(sink, cookies));
            }
            Ok(Ok(sink)) => self.finish_stream(sink, cookies),
            Ok(Err(refusal)) => self.respond(refusal),
            Err(_) => {
                tracing::error!(method = %request.method(), path = request.path(), "stream handler panicked: 500");
                self.respond(HttpResponse::new(http::StatusCode::INTERNAL_SERVER_ERROR));
            }
        }
    }

    fn finish_stream(&mut self, sink: Box<dyn BodySink>, cookies: Vec<laputa_core::cookies::Cookie<'static>>) {
        let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.finish()));
        let mut response = finished.unwrap_or_else(|_| HttpResponse::new(http::StatusCode::INTERNAL_SERVER_ERROR));
        for cookie in cookies {
            response = response.cookie(cookie);
        }
        self.respond(response);
    }

    fn answer(&mut self, head: http::Request<()>, body: Bytes, (user, cookies): Admitted) {
        let request = HttpRequest { head, body, remote_addr: self.peer.remote_addr, secure: self.peer.secure, user };
        let mut response = self.routes.answer(&request);
        for cookie in cookies {
            response = response.cookie(cookie);
        }
        tracing::debug!(method = %request.method(), path = request.path(), status = %response.status_code(), "HTTP");
        self.respond(response);
    }

    fn respond(&mut self, response: HttpResponse) {
        let HttpResponse { head, body } = response;
        let mut head = *head;
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
/// sends it). It has a resolution of one second, so each thread formats it once a second and
/// hands out copies (as hyper does), not a new `String` and `HeaderValue` per response.
fn date_now() -> http::HeaderValue {
    thread_local! {
        static DATE: std::cell::RefCell<Option<(u64, http::HeaderValue)>> = const { std::cell::RefCell::new(None) };
    }
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
    DATE.with_borrow_mut(|cached| match cached {
        Some((at, value)) if *at == secs => value.clone(),
        _ => cached.insert((secs, date_at(secs))).1.clone(),
    })
}

/// The `Date` header's value `secs` seconds after the Unix epoch.
fn date_at(secs: u64) -> http::HeaderValue {
    let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs));
    http::HeaderValue::from_str(&date).unwrap_or(http::HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

#[cfg(test)]
mod tests {
    use super::{date_at, date_now};

    #[test]
    fn the_date_is_an_http_date_and_the_same_within_a_second() {
        assert_eq!(date_at(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(date_at(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        let (first, second) = (date_now(), date_now());
        let parsed = |value: &http::HeaderValue| httpdate::parse_http_date(value.to_str().unwrap()).unwrap();
        // Two readings a second apart at most: the second is never the earlier.
        assert!(parsed(&second) >= parsed(&first));
        let secs = parsed(&second).duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(second, date_at(secs));
    }
}
