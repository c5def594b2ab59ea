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
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// #[derive(Default)]
    /// struct Room;
    ///
    /// impl Behavior for Room {
    ///     fn on_open(&mut self, session: &Session) {
    ///         // The 101 is on its way: what is sent here is the first thing the client reads.
    ///         session.send(format!("welcome, {}", session.id()));
    ///         session.subscribe("lobby");
    ///     }
    ///
    ///     fn on_message(&mut self, session: &Session, message: Message) {
    ///         session.sessions().publish("lobby", message);
    ///     }
    /// }
    ///
    /// let service = Service::new(|| Room::default());
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// #     let server = laputa::server::Server::builder().bind("127.0.0.1:0").service("/chat", service)?;
    /// #     let server = server.start::<laputa::tokio::Tokio>().await?;
    /// #     let url = format!("ws://{}/chat?name=Sheeta", server.local_addr());
    /// #     let (mut ws, _) = laputa::tokio::connect(url.as_str()).await?;
    /// #     ws.send("hello").await?;
    /// #     let _reply = ws.recv().await?;
    /// #     server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// #     Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn on_open(&mut self, session: &Session) {
        let _ = session;
    }

    /// A whole message arrived.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// #[derive(Default)]
    /// struct Room {
    ///     said: usize,
    /// }
    ///
    /// impl Behavior for Room {
    ///     fn on_message(&mut self, session: &Session, message: Message) {
    ///         // State of this session alone lives in `self`.
    ///         self.said += 1;
    ///         session.send(format!("message {}: {} bytes", self.said, message.payload().len()));
    ///     }
    /// }
    ///
    /// let service = Service::new(|| Room::default());
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// #     let server = laputa::server::Server::builder().bind("127.0.0.1:0").service("/chat", service)?;
    /// #     let server = server.start::<laputa::tokio::Tokio>().await?;
    /// #     let url = format!("ws://{}/chat?name=Sheeta", server.local_addr());
    /// #     let (mut ws, _) = laputa::tokio::connect(url.as_str()).await?;
    /// #     ws.send("hello").await?;
    /// #     let _reply = ws.recv().await?;
    /// #     server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// #     Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn on_message(&mut self, session: &Session, message: Message);

    /// A ping arrived; only when the service's `Config::emit_pings` is set (the pong is already
    /// queued).
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// use laputa::core::bytes::Bytes;
    ///
    /// #[derive(Default)]
    /// struct Room;
    ///
    /// impl Behavior for Room {
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    ///
    ///     // Called only with `Config::emit_pings` in the service's admission.
    ///     fn on_ping(&mut self, session: &Session, payload: Bytes) {
    ///         tracing::trace!(id = %session.id(), len = payload.len(), "ping (already answered)");
    ///     }
    /// }
    ///
    /// let service = Service::new(|| Room::default());
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// #     let server = laputa::server::Server::builder().bind("127.0.0.1:0").service("/chat", service)?;
    /// #     let server = server.start::<laputa::tokio::Tokio>().await?;
    /// #     let url = format!("ws://{}/chat?name=Sheeta", server.local_addr());
    /// #     let (mut ws, _) = laputa::tokio::connect(url.as_str()).await?;
    /// #     ws.send("hello").await?;
    /// #     server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// #     Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn on_ping(&mut self, session: &Session, payload: Bytes) {
        let _ = (session, payload);
    }

    /// The session failed: the peer broke the protocol or a limit, or the socket failed. Called
    /// once, before [`on_close`](Self::on_close).
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// #[derive(Default)]
    /// struct Room;
    ///
    /// impl Behavior for Room {
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    ///
    ///     fn on_error(&mut self, session: &Session, error: &laputa::Error) {
    ///         // A broken protocol, a limit, a socket that failed: `on_close` follows.
    ///         tracing::warn!(id = %session.id(), %error, "session failed");
    ///     }
    /// }
    ///
    /// let service = Service::new(|| Room::default());
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// #     let server = laputa::server::Server::builder().bind("127.0.0.1:0").service("/chat", service)?;
    /// #     let server = server.start::<laputa::tokio::Tokio>().await?;
    /// #     let url = format!("ws://{}/chat?name=Sheeta", server.local_addr());
    /// #     let (mut ws, _) = laputa::tokio::connect(url.as_str()).await?;
    /// #     ws.send("hello").await?;
    /// #     server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// #     Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn on_error(&mut self, session: &Session, error: &Error) {
        let _ = (session, error);
    }

    /// The session is over; called exactly once, last.
    ///
    /// ```
    /// use laputa::server::{Behavior, Service, Session};
    /// use laputa::Message;
    ///
    /// use laputa::Closed;
    ///
    /// #[derive(Default)]
    /// struct Room;
    ///
    /// impl Behavior for Room {
    ///     fn on_message(&mut self, _: &Session, _: Message) {}
    ///
    ///     fn on_close(&mut self, session: &Session, closed: &Closed) {
    ///         // Last call: the session has left its service's sessions and topics already or
    ///         // is about to; tell the others.
    ///         session.sessions().broadcast_except(session.id(), format!("{} left ({})", session.id(), closed.code));
    ///     }
    /// }
    ///
    /// let service = Service::new(|| Room::default());
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// #     let server = laputa::server::Server::builder().bind("127.0.0.1:0").service("/chat", service)?;
    /// #     let server = server.start::<laputa::tokio::Tokio>().await?;
    /// #     let url = format!("ws://{}/chat?name=Sheeta", server.local_addr());
    /// #     let (mut ws, _) = laputa::tokio::connect(url.as_str()).await?;
    /// #     ws.send("hello").await?;
    /// #     server.stop(laputa::CloseCode::GOING_AWAY, "").await;
    /// #     Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
