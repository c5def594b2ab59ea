//! What a service does with its sessions: the hooks of websocket-sharp's `WebSocketBehavior`.

use super::session::Session;
use crate::Error;
use laputa_core::bytes::Bytes;
use laputa_core::{Closed, Message};

/// A service's behaviour: one value per session (made by the service's factory), whose hooks
/// the session's driver calls in order. Hooks are synchronous and must not block: they run on
/// the task (or thread) that drives the session. Sending from a hook only queues; work that must
/// wait is spawned on the runtime with a clone of the [`Session`].
///
/// websocket-sharp's `Laputa` service:
///
/// ```
/// use laputa::server::{Behavior, Session};
/// use laputa::Message;
///
/// struct Laputa;
///
/// impl Behavior for Laputa {
///     fn on_message(&mut self, session: &Session, message: Message) {
///         let reply = if message.as_text() == Some("BALUS") {
///             "Are you kidding? I've been balused already..."
///         } else {
///             "I'm not available now."
///         };
///         session.send(reply);
///     }
/// }
/// ```
///
/// A closure of a session and a message is a behaviour with only `on_message`:
///
/// ```
/// use laputa::server::{Service, Session};
/// use laputa::Message;
///
/// let echo = Service::new(|| |session: &Session, message: Message| {
///     session.send(message);
/// });
/// # let _ = echo;
/// ```
pub trait Behavior: Send + 'static {
    /// The session is open: the 101 is on its way.
    fn on_open(&mut self, session: &Session) {
        let _ = session;
    }

    /// A whole message arrived.
    fn on_message(&mut self, session: &Session, message: Message);

    /// A ping arrived; only when the service's `Config::emit_pings` is set (the pong is already
    /// queued).
    fn on_ping(&mut self, session: &Session, payload: Bytes) {
        let _ = (session, payload);
    }

    /// The session failed: the peer broke the protocol or a limit, or the socket failed. Called
    /// once, before [`on_close`](Self::on_close).
    fn on_error(&mut self, session: &Session, error: &Error) {
        let _ = (session, error);
    }

    /// The session is over; called exactly once, last.
    fn on_close(&mut self, session: &Session, closed: &Closed) {
        let _ = (session, closed);
    }
}

impl<F> Behavior for F
where
    F: FnMut(&Session, Message) + Send + 'static,
{
    fn on_message(&mut self, session: &Session, message: Message) {
        self(session, message)
    }
}
