//! What every session driver does, async or threaded: open a session, move its outbound queue
//! into the core as the socket takes bytes, hand the core's events to the behaviour, and end it.

use super::behavior::Behavior;
use super::outbox::{Completion, Outbox, Outgoing};
use super::service::Mounted;
use super::session::{Session, SessionContext, SessionId, Shared};
use crate::Error;
use laputa_core::server::User;
use laputa_core::{Closed, Connection, Event, State};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::SystemTime;

/// What a driver knows of a connection when its session opens.
pub(crate) struct Opening {
    pub(crate) request: http::Request<()>,
    pub(crate) response: http::Response<()>,
    pub(crate) user: Option<User>,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) local_addr: SocketAddr,
    pub(crate) secure: bool,
    #[cfg(feature = "rustls")]
    pub(crate) certificates: Option<super::builder::ClientCertificates>,
}

/// A session as its driver holds it: the handle, the behaviour, and completions waiting for
/// their bytes to be written.
pub(crate) struct Pump {
    pub(crate) session: Session,
    behavior: Box<dyn Behavior>,
    /// Completions with the transmit position their message ends at, in order.
    completions: VecDeque<(u64, Completion)>,
    /// The connection's close handshake began: the queue refuses messages.
    refused: bool,
    /// A message was refused by the connection: the completions after it are told `false`.
    lost: bool,
    /// The session's error, told to the behaviour before `on_close`.
    error_told: bool,
    closed_told: bool,
}

impl Pump {
    /// Registers a new session of `mounted` and calls `on_open`.
    pub(crate) fn open(mounted: &Mounted, opening: Opening) -> Self {
        let header = |name| opening.response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let context = SessionContext {
            protocol: header(http::header::SEC_WEBSOCKET_PROTOCOL),
            extensions: header(http::header::SEC_WEBSOCKET_EXTENSIONS),
            request: opening.request,
            user: opening.user,
            remote_addr: opening.remote_addr,
            local_addr: opening.local_addr,
            secure: opening.secure,
            #[cfg(feature = "rustls")]
            certificates: opening.certificates,
            started: SystemTime::now(),
        };
        let service = &mounted.service;
        let sessions = mounted.sessions.clone();
        let outbox = Outbox::new(service.outbox_limit, service.slow_consumer, sessions.counters().clone());
        let session = Session(Arc::new(Shared {
            id: SessionId::random(),
            context,
            outbox,
            sessions,
            active: AtomicBool::new(true),
            topics: Mutex::default(),
            send_timeout: service.send_timeout,
        }));
        session.0.sessions.insert(&session);
        tracing::debug!(id = %session.id(), path = %mounted.path, "session opened");
        let mut pump = Self {
            session,
            behavior: service.behavior(),
            completions: VecDeque::new(),
            refused: false,
            lost: false,
            error_told: false,
            closed_told: false,
        };
        pump.behavior.on_open(&pump.session);
        pump
    }

    /// Moves queued items into `connection` while it holds at most `high_water` bytes of
    /// output; when the queue is empty, `waker` is woken by the next push.
    pub(crate) fn drain(&mut self, connection: &mut Connection, high_water: usize, waker: Option<&Waker>) {
        self.refuse_if_closing(connection);
        let counters = self.session.0.sessions.counters();
        loop {
            // Above the high-water mark only pings and closes go in: a slow session's close
            // must reach the core even while its peer reads nothing.
            let outbox = &self.session.0.outbox;
            let item =
                if connection.pending_transmit() <= high_water { outbox.pop(waker) } else { outbox.pop_control(waker) };
            let Some(item) = item else { break };
            let (result, sent) = match item {
                Outgoing::Prepared(message) => (connection.send_prepared(&message), message.len()),
                Outgoing::Message(message) => {
                    let len = message.payload().len();
                    (connection.send(message), len)
                }
                Outgoing::Ping(payload) => (connection.ping(&payload), 0),
                Outgoing::Close(code, reason) => (connection.close(code, &reason), 0),
                Outgoing::Completion(done) if self.lost => {
                    done(false);
                    continue;
                }
                Outgoing::Completion(done) => {
                    self.completions.push_back((connection.transmit_end(), done));
                    continue;
                }
            };
            match result {
                Ok(()) if sent > 0 => counters.sent(sent),
                Ok(()) => {}
                // The connection is closing: what is left cannot be sent.
                Err(error) => {
                    self.lost |= sent > 0;
                    tracing::trace!(%error, "session: queued item not sent");
                }
            }
        }
        self.settle(connection);
    }

    /// Once the connection is closing, whoever began it, nothing queued or sent from then on
    /// can go out: the queue refuses it, so that `Sent` and completions say so.
    fn refuse_if_closing(&mut self, connection: &Connection) {
        if !self.refused && connection.state() != State::Open {
            self.refused = true;
            self.session.0.outbox.refuse();
        }
    }

    /// Tells completions whose bytes are written, and closes the queue once the connection
    /// is closing.
    pub(crate) fn settle(&mut self, connection: &Connection) {
        self.refuse_if_closing(connection);
        let written = connection.transmitted();
        while self.completions.front().is_some_and(|(end, _)| *end <= written) {
            let (_, done) = self.completions.pop_front().expect("checked");
            done(true);
        }
    }

    /// Hands one event of the core to the behaviour.
    pub(crate) fn event(&mut self, event: Event) {
        let session = &self.session;
        match event {
            Event::Message(message) => {
                session.mark_active();
                session.0.sessions.counters().received(message.payload().len());
                self.behavior.on_message(session, message);
            }
            Event::Ping(payload) => {
                session.mark_active();
                self.behavior.on_ping(session, payload);
            }
            Event::Pong(_) | Event::CloseReceived(_) => session.mark_active(),
            Event::Closed(closed) => self.closed(&closed, None),
            _ => {}
        }
    }

    /// The session is over: `on_error` (when it failed) and `on_close`, once.
    pub(crate) fn closed(&mut self, closed: &Closed, error: Option<Error>) {
        if !self.error_told {
            let error = error.or_else(|| closed.error.is_some().then(|| Error::Closed(closed.clone())));
            if let Some(error) = error {
                self.error_told = true;
                self.behavior.on_error(&self.session, &error);
            }
        }
        if !self.closed_told {
            self.closed_told = true;
            self.session.0.outbox.end();
            self.behavior.on_close(&self.session, closed);
        }
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        if !self.closed_told {
            self.closed(&abnormal(), None);
        }
        self.session.0.outbox.end();
        for (_, done) in self.completions.drain(..) {
            done(false);
        }
        self.session.0.sessions.remove(&self.session);
        tracing::debug!(id = %self.session.id(), "session ended");
    }
}

/// How a session that ended without a `Closed` event (a broken socket) is reported.
pub(crate) fn abnormal() -> Closed {
    Closed::new(laputa_core::CloseCode::ABNORMAL, "", false)
}
